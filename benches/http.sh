#!/usr/bin/env bash
# The reads under load: seeds (or reuses) a PostgreSQL database and a SQLite
# file, starts a release server on each, drives wrk at 64 connections on five
# scenarios and pgbench on the database floor, and writes benches/RESULTS.md.
#
#   benches/http.sh                      # 100,000 customers, 1,000,000 orders, 20 s per scenario
#   CUSTOMERS=10000 ORDERS=100000 DURATION=10 benches/http.sh
#
# Settings (environment): PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# CUSTOMERS, ORDERS, DURATION (seconds per scenario), CONNECTIONS (64), POOL (10),
# BACKENDS ("postgres sqlite"), RESEED=1 to seed again.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
CUSTOMERS=${CUSTOMERS:-100000}
ORDERS=${ORDERS:-1000000}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
POOL=${POOL:-10}
BACKENDS=${BACKENDS:-postgres sqlite}
PORT=${PORT:-18090}
work=target/bench-http
mkdir -p "$work"

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --release --locked -q
bin=target/release/rapport

export RAPPORT__AUTH__JWT_SECRET=bench-secret-bench-secret-bench-secret
export RAPPORT__DATABASE__MAX_CONNECTIONS=$POOL
export RAPPORT__SERVER__ADDR=127.0.0.1:$PORT
# Access logs off: a load test measures the service, not the terminal.
export RAPPORT__LOG__FILTER=warn
# wrk sends tens of thousands of requests a minute with one token.
export RAPPORT__RATE_LIMIT__TOKEN_PER_MINUTE=0 RAPPORT__RATE_LIMIT__IP_PER_MINUTE=0
pg_db="rapport_bench_${CUSTOMERS}_${ORDERS}"
pg_url="${PG_ADMIN_URL%/*}/$pg_db"
sqlite_file="$work/bench_${CUSTOMERS}_${ORDERS}.db"

url_of() { if [ "$1" = postgres ]; then echo "$pg_url"; else echo "sqlite://$sqlite_file?mode=rwc"; fi; }

# Seeds a database unless a seeded one is there, then gives a thousand buyers
# contacts, interactions and open feedback (the seed has orders only), and
# computes RFM.
prepare() {
  local backend=$1 url
  url=$(url_of "$backend")
  local fresh=0
  if [ "$backend" = postgres ]; then
    if [ -n "${RESEED:-}" ]; then psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)"; fi
    if ! psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$pg_db'" | grep -q 1; then
      psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $pg_db"
      fresh=1
    fi
  else
    if [ -n "${RESEED:-}" ]; then rm -f "$sqlite_file"*; fi
    [ -f "$sqlite_file" ] || fresh=1
  fi
  if [ $fresh = 1 ]; then
    echo "== seeding $backend: $CUSTOMERS customers, $ORDERS orders"
    DATABASE_URL=$url "$bin" seed --customers "$CUSTOMERS" --orders "$ORDERS"
    echo "== contacts, interactions, feedback and RFM for the hot set"
    DATABASE_URL=$url "$bin" bench hot-set --customers 1000 >/dev/null
  fi
  DATABASE_URL=$url "$bin" bench hot-set --customers 1000 --ids-only > "$work/ids-$backend.txt"
}

rss_peak_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# Runs one wrk scenario; prints "rps p50_ms p99_ms errors".
scenario() {
  local name=$1 backend=$2 token=$3 out
  out=$(SCENARIO=$name IDS="$work/ids-$backend.txt" TOKEN=$token \
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s benches/http.lua "http://127.0.0.1:$PORT" | grep '^RESULT')
  read -r _ requests duration errors p50 p99 <<<"$out"
  awk -v r="$requests" -v d="$duration" -v e="$errors" -v p50="$p50" -v p99="$p99" \
    'BEGIN { printf "%.0f %.1f %.1f %d\n", r / (d / 1e6), p50 / 1000, p99 / 1000, e }'
}

# pgbench on one single-row lookup by a unique key, as many clients as the pool.
floor() {
  cat > "$work/floor.sql" <<'SQL'
\set i random(0, :customers - 1)
SELECT * FROM customer WHERE external_id = 'seed-c-' || :i;
SQL
  pgbench -n -M prepared -c "$POOL" -j 2 -T "$DURATION" -D customers="$CUSTOMERS" -f "$work/floor.sql" "$pg_url" 2>/dev/null |
    awk '/^tps/ { printf "%.0f\n", $3 }'
}

cores=$(nproc)
rows=()
floor_rps=""
for backend in $BACKENDS; do
  prepare "$backend"
  if [ "$backend" = postgres ]; then
    echo "== floor: pgbench -M prepared, $POOL clients"
    floor_rps=$(floor)
    echo "floor: $floor_rps tps"
    rows+=("| postgres | floor: pgbench single-row select, $POOL clients | $floor_rps | | | 0 | | 1.00 |")
  fi
  token=$("$bin" token --role admin --ttl 2h)
  DATABASE_URL=$(url_of "$backend") "$bin" serve > "$work/server-$backend.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  by_id_rps=""
  for name in by_id list overview graphql_360 post_interaction; do
    read -r rps p50 p99 errors <<<"$(scenario "$name" "$backend" "$token")"
    [ "$name" = by_id ] && by_id_rps=$rps
    rss=$(rss_peak_mib "$server")
    floor_ratio=""
    [ "$backend" = postgres ] && floor_ratio=$(awk -v a="$rps" -v f="$floor_rps" 'BEGIN { printf "%.2f", a / f }')
    a_ratio=$(awk -v a="$rps" -v b="$by_id_rps" 'BEGIN { printf "%.2f", a / b }')
    echo "$backend $name: $rps req/s, p50 $p50 ms, p99 $p99 ms, $errors errors, peak RSS $rss MiB"
    rows+=("| $backend | $name | $rps | $p50 | $p99 | $errors | $rss | ${floor_ratio:-–} | $a_ratio |")
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
  trap - EXIT
done

{
  echo "# HTTP read benchmarks"
  echo
  echo "\`benches/http.sh\` on $(date -u +%Y-%m-%d), $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "$CUSTOMERS customers and $ORDERS orders, wrk at $CONNECTIONS connections for $DURATION s per scenario,"
  echo "pool of $POOL connections, release build, log level warn. The hot set is 1,000 buyers with 2 contacts,"
  echo "12 interactions and 2 open feedback items each; requests pick one of them at random."
  echo
  echo "| database | scenario | req/s | p50 ms | p99 ms | errors | server peak RSS MiB | × floor | × by_id |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Scenarios: by_id \`GET /customers/{id}\`; list \`GET /customers?limit=50&<filter>\` (tag, stage, sort);"
  echo "overview \`GET /customers/{id}/overview\`; graphql_360 the customer with contacts, last 10 orders and"
  echo "interactions, open feedback, RFM and order summary; post_interaction \`POST /customers/{id}/interactions\`."
  echo "The floor is pgbench \`-M prepared\` selecting one customer row by its unique external id."
} > benches/RESULTS.md
cat benches/RESULTS.md
