#!/usr/bin/env bash
# Loyalty under load, on PostgreSQL, against a release server through the
# HTTP API: earn from orders (an import of ACCOUNTS orders into an enabled
# program, then POST /orders under wrk), redemptions on one hot account
# under 32 clients, and redemptions spread over ACCOUNTS accounts (by
# external id, as a partner's checkout) under 64 clients. Every redemption
# carries a fresh Idempotency-Key; the audit must be clean after each run
# and no answer may be other than 201 (the accounts hold enough points).
# Writes benches/LOYALTY.md.
#
#   benches/loyalty.sh                       # 10,000 accounts, 10 s per run
#   ACCOUNTS=2000 DURATION=5 benches/loyalty.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
ACCOUNTS=${ACCOUNTS:-10000}
DURATION=${DURATION:-10}
PORT=${PORT:-18098}
work=target/bench-loyalty
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
export RAPPORT__DATABASE__MAX_CONNECTIONS=${MAX_CONNECTIONS:-32}
# Only what is measured runs.
for job in RFM SEGMENT_REFRESH SURVEY_TRIGGERS WEBHOOK_FANOUT WEBHOOK_DELIVERY LOYALTY_EXPIRY LOYALTY_TIER_REVIEW; do
  export "RAPPORT__JOBS__${job}_INTERVAL_SECS=0"
done

db=rapport_bench_loyalty
url="${PG_ADMIN_URL%/*}/$db"
psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
DATABASE_URL=$url "$bin" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
admin=$(DATABASE_URL=$url "$bin" token --role admin --ttl 2h)
partner=$(DATABASE_URL=$url "$bin" token --role partner --partner-id bench-shop --ttl 2h)
api() {
  curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}
api PUT /api/v1/loyalty/program '{"enabled": true, "earn_rates": [{"currency": "EUR", "points_per_unit": 1}]}' >/dev/null

python3 - "$work" "$ACCOUNTS" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/customers.csv", "w") as f:
    f.write("external_id,name\n")
    for i in range(n):
        f.write(f"l-{i},Member {i}\n")
with open(f"{work}/orders.csv", "w") as f:
    f.write("external_id,customer_external_id,amount_minor,currency\n")
    for i in range(n):
        f.write(f"lo-{i},l-{i},100000,EUR\n")
PY
upload() {
  curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/imports/$1" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: text/csv' --data-binary "@$2" -o "$work/report.json"
}
upload customers "$work/customers.csv"
started=$(date +%s.%N)
upload orders "$work/orders.csv"
ended=$(date +%s.%N)
import_rate=$(python3 -c "import json; r=json.load(open('$work/report.json')); assert r['failed'] == 0, r; print(f\"{r['rows'] / ($ended - $started):.0f}\")")
echo "earn from orders (import, ${ACCOUNTS} orders of 1,000 points): $import_rate orders/s"

# The hot account: l-0 holds 1,000 points from its order; a bonus makes it plenty.
hot=$(api GET /api/v1/customers/by-external-id/l-0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/customers/$hot/loyalty/adjust" -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' -H "Idempotency-Key: bench-hot" \
  -d '{"points": 100000000, "reason_code": "bench"}' -o /dev/null

audit_clean() {
  api GET /api/v1/loyalty/audit | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["clean"], r; print(r["entries"])'
}

# Keys carry the run, the wrk thread and a counter: unique across threads.
cat > "$work/redeem.lua" <<LUA
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local run = os.getenv("RUN")
local accounts = tonumber(os.getenv("ACCOUNTS"))
local hot = os.getenv("HOT")
request = function()
  n = n + 1
  local path
  if hot ~= nil and hot ~= "" then
    path = "/api/v1/customers/" .. hot .. "/loyalty/redeem"
  else
    path = "/api/v1/customers/by-external-id/l-" .. math.random(0, accounts - 1) .. "/loyalty/redeem"
  end
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer $partner",
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = run .. "-" .. tostring(tid) .. "-" .. n,
  }, '{"points": 1}')
end
LUA
cat > "$work/order.lua" <<LUA
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
local accounts = tonumber(os.getenv("ACCOUNTS"))
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/orders", {
    ["Authorization"] = "Bearer $admin",
    ["Content-Type"] = "application/json",
  }, '{"customer_external_id": "l-' .. math.random(0, accounts - 1) .. '", "external_id": "w-' .. tostring(tid) .. '-' .. n .. '", "amount_minor": 2500, "currency": "EUR"}')
end
LUA

rows=()
measure() { # label connections script [HOT]
  local label=$1 conns=$2 script=$3 hot=${4:-}
  RUN="r$(date +%s%N)" ACCOUNTS=$ACCOUNTS HOT=$hot wrk -t2 -c"$conns" -d"${DURATION}s" --latency -s "$work/$script" \
    "http://127.0.0.1:$PORT" > "$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then cat "$work/wrk.out"; echo "non-2xx answers: $label"; exit 1; fi
  local rps p50 p99 entries
  rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$work/wrk.out")
  p50=$(awk '$1 == "50%" { print $2 }' "$work/wrk.out")
  p99=$(awk '$1 == "99%" { print $2 }' "$work/wrk.out")
  entries=$(audit_clean)
  echo "$label: $rps/s, p50 $p50, p99 $p99, audit clean over $entries entries"
  rows+=("| $label | $conns | $rps | $p50 | $p99 | clean ($entries entries) |")
}
measure "redeem, one hot account" 32 redeem.lua "$hot"
measure "redeem, $ACCOUNTS accounts by external id" 64 redeem.lua
measure "earn from POST /orders, $ACCOUNTS accounts" 16 order.lua

{
  echo "# Loyalty benchmarks"
  echo
  echo "\`benches/loyalty.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL, release build, log level warn, wrk and the"
  echo "server on the same machine. Every redemption is \`POST …/loyalty/redeem\` of 1 point with a fresh"
  echo "\`Idempotency-Key\` (required), as a partner; any answer but 201 fails the run, and \`GET /loyalty/audit\`"
  echo "(balance = ledger sum, lots = their moves, entries numbered without a gap) must be clean after each run."
  echo
  echo "Earn from orders, by import: $ACCOUNTS orders in one CSV upload, each earning 1,000 points in the"
  echo "order's transaction: **$import_rate orders/s**."
  echo
  echo "| run | connections | per second | p50 | p99 | audit after |"
  echo "|---|---:|---:|---:|---:|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Run as \`benches/loyalty.sh\` (defaults: $ACCOUNTS accounts, $DURATION s per run)."
} > benches/LOYALTY.md
cat benches/LOYALTY.md
