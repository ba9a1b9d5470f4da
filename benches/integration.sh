#!/usr/bin/env bash
# The integration surface under load, on PostgreSQL and SQLite, against a
# release server: bulk import (rows/s and the server's peak RSS, at two file
# sizes to show memory stays flat), webhook deliveries/s to a local receiver,
# and what an Idempotency-Key costs on POST /interactions (wrk, with and
# without). Writes benches/INTEGRATION.md.
#
#   benches/integration.sh                         # 100,000 customers, 1,000,000 orders
#   CUSTOMERS=20000 ORDERS=100000 benches/integration.sh
#
# Settings (environment): PG_ADMIN_URL, CUSTOMERS, ORDERS, DELIVERIES (2000),
# DURATION (wrk seconds, 10), BACKENDS ("postgres sqlite").
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
CUSTOMERS=${CUSTOMERS:-100000}
ORDERS=${ORDERS:-1000000}
DELIVERIES=${DELIVERIES:-2000}
DURATION=${DURATION:-10}
BACKENDS=${BACKENDS:-postgres sqlite}
PORT=${PORT:-18095}
RECEIVER_PORT=${RECEIVER_PORT:-18096}
work=target/bench-integration
mkdir -p "$work"

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --release --locked -q
bin=target/release/rapport

export RAPPORT__AUTH__JWT_SECRET=bench-secret-bench-secret-bench-secret
export RAPPORT__SERVER__ADDR=127.0.0.1:$PORT
export RAPPORT__LOG__FILTER=warn
export RAPPORT__RATE_LIMIT__TOKEN_PER_MINUTE=0 RAPPORT__RATE_LIMIT__IP_PER_MINUTE=0
export RAPPORT__WEBHOOKS__ALLOW_PRIVATE_NETWORKS=127.0.0.1
export RAPPORT__WEBHOOKS__MAX_IN_FLIGHT_PER_WEBHOOK=32
# Only what is measured runs: the fan-out and sender every second.
export RAPPORT__JOBS__RFM_INTERVAL_SECS=0 RAPPORT__JOBS__SEGMENT_REFRESH_INTERVAL_SECS=0

# The upload files: customers c-0…, orders spread over them.
python3 - "$work" "$CUSTOMERS" "$ORDERS" <<'PY'
import sys
work, customers, orders = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def write(path, n):
    with open(path, "w") as f:
        f.write("external_id,name,email,city,tags\n")
        for i in range(n):
            f.write(f"c-{i},Customer {i},c{i}@example.com,Lyon,bench;import\n")
write(f"{work}/customers-small.csv", max(customers // 10, 1))
write(f"{work}/customers.csv", customers)
with open(f"{work}/orders.csv", "w") as f:
    f.write("external_id,customer_external_id,amount_minor,currency,ordered_at\n")
    for i in range(orders):
        f.write(f"o-{i},c-{i % customers},{100 + i % 9000},EUR,2026-0{1 + i % 9}-1{i % 10}T10:00:00Z\n")
PY

rss_peak_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

start_server() {
  DATABASE_URL=$1 "$bin" serve > "$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "server did not start"; cat "$work/server.log"; exit 1
}

# Uploads a file; prints "rows seconds rows_per_s peak_rss_mib".
import() {
  local path=$1 file=$2 started ended
  started=$(date +%s.%N)
  curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/imports/$path" -H "Authorization: Bearer $token" \
    -H 'Content-Type: text/csv' --data-binary "@$file" -o "$work/report.json"
  ended=$(date +%s.%N)
  python3 - "$work/report.json" "$started" "$ended" "$(rss_peak_mib "$server")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = float(sys.argv[3]) - float(sys.argv[2])
assert r["failed"] == 0, r
print(r["rows"], f"{s:.1f}", f"{r['rows'] / s:.0f}", sys.argv[4])
PY
}

rows=()
for backend in $BACKENDS; do
  if [ "$backend" = postgres ]; then
    db="rapport_bench_integration"
    psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
    url="${PG_ADMIN_URL%/*}/$db"
  else
    rm -f "$work/bench.db"*
    url="sqlite://$work/bench.db?mode=rwc"
  fi
  token=$("$bin" token --role admin --ttl 2h)
  start_server "$url"
  read -r n s rps rss <<<"$(import customers "$work/customers-small.csv")"
  echo "$backend import customers (small): $n rows in $s s, $rps rows/s, peak RSS $rss MiB"
  rows+=("| $backend | import customers | $n | $s | $rps | $rss |")
  read -r n s rps rss <<<"$(import customers "$work/customers.csv")"
  echo "$backend import customers: $n rows in $s s, $rps rows/s, peak RSS $rss MiB"
  rows+=("| $backend | import customers | $n | $s | $rps | $rss |")
  read -r n s rps rss <<<"$(import orders "$work/orders.csv")"
  echo "$backend import orders: $n rows in $s s, $rps rows/s, peak RSS $rss MiB"
  rows+=("| $backend | import orders | $n | $s | $rps | $rss |")

  # Webhook deliveries: a receiver that answers 204 and counts.
  python3 - "$RECEIVER_PORT" "$DELIVERIES" > "$work/receiver.out" <<'PY' &
import asyncio, sys, time
port, want = int(sys.argv[1]), int(sys.argv[2])
state = {"n": 0, "first": None}
async def handle(reader, writer):
    while True:
        head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
        if not head:
            break
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        state["n"] += 1
        state["first"] = state["first"] or time.time()
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        if state["n"] == want:
            print(f"{want} {time.time() - state['first']:.2f}", flush=True)
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()
try:
    asyncio.run(main())
except Exception:
    pass
PY
  receiver=$!
  sleep 0.5
  curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/webhooks" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    -d "{\"url\": \"http://127.0.0.1:$RECEIVER_PORT/hook\", \"event_types\": [\"customer.created\"]}" >/dev/null
  python3 - "$DELIVERIES" > "$work/hooks.csv" <<'PY'
import sys
print("external_id,name")
for i in range(int(sys.argv[1])):
    print(f"w-{i},Hooked {i}")
PY
  curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/imports/customers" -H "Authorization: Bearer $token" \
    -H 'Content-Type: text/csv' --data-binary "@$work/hooks.csv" -o /dev/null
  for _ in $(seq 1 600); do
    [ -s "$work/receiver.out" ] && break
    sleep 0.5
  done
  read -r delivered secs < "$work/receiver.out"
  dps=$(awk -v n="$delivered" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  echo "$backend webhook deliveries: $delivered in $secs s, $dps/s"
  rows+=("| $backend | webhook deliveries (first to last arrival) | $delivered | $secs | $dps | $(rss_peak_mib "$server") |")
  kill "$receiver" 2>/dev/null || true

  # Idempotency-Key on POST /interactions: the same requests with and without.
  # Spread over 100 customers: one customer's row, updated by every POST,
  # would measure its lock rather than the key.
  ids=$(curl -fsS "http://127.0.0.1:$PORT/api/v1/customers?limit=100" -H "Authorization: Bearer $token" |
    python3 -c 'import json,sys; print(",".join("\"%s\"" % c["id"] for c in json.load(sys.stdin)["items"]))')
  # Each wrk thread has its own Lua state (and the same random seed), so
  # keys carry the thread's number to stay unique across threads.
  cat > "$work/post.lua" <<LUA
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local run = os.time()
local ids = {$ids}
request = function()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  local headers = {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/json"}
  if os.getenv("KEYED") == "1" then headers["Idempotency-Key"] = "k-" .. run .. "-" .. tostring(tid) .. "-" .. n end
  return wrk.format("POST", "/api/v1/customers/" .. id .. "/interactions", headers,
    '{"channel":"phone","direction":"outbound","summary":"Bench call"}')
end
LUA
  for keyed in 0 1; do
    KEYED=$keyed wrk -t2 -c16 -d"${DURATION}s" -s "$work/post.lua" "http://127.0.0.1:$PORT" > "$work/wrk.out"
    rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$work/wrk.out")
    # Every answer must be a 201: a failed request is not throughput.
    if grep -q "Non-2xx" "$work/wrk.out"; then cat "$work/wrk.out"; echo "non-2xx answers"; exit 1; fi
    label=$([ $keyed = 1 ] && echo "with Idempotency-Key" || echo "without key")
    echo "$backend POST interactions $label: $rps req/s"
    rows+=("| $backend | POST /interactions (100 customers), 16 connections, $label | | $DURATION | $rps | $(rss_peak_mib "$server") |")
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
done

{
  echo "# Integration benchmarks"
  echo
  echo "\`benches/integration.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, release build, log level warn,"
  echo "client and server on the same machine. Imports are one request each (CSV, spooled to disk, batches of"
  echo "500); the small customer file is a tenth of the large one, to show the server's peak RSS does not grow"
  echo "with the file. Deliveries: one subscription, a local receiver answering 204, timed from the first"
  echo "arrival to the last. The Idempotency-Key rows send the same POST with and without a fresh key each."
  echo
  echo "| database | what | rows | seconds | per second | server peak RSS MiB |"
  echo "|---|---|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} > benches/INTEGRATION.md
cat benches/INTEGRATION.md
