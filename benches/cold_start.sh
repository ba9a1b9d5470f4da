#!/usr/bin/env bash
# Cold start: three instances started at once on an empty PostgreSQL
# database, ROUNDS times; counts the instances that came up (ready) and
# the ones that exited. Every one should come up: migrations take turns
# under an advisory lock.
#
#   benches/cold_start.sh              # 15 rounds, debug build
#   ROUNDS=5 BIN=target/release/rapport benches/cold_start.sh
set -u
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
ROUNDS=${ROUNDS:-15}
BIN=${BIN:-target/debug/rapport}
[ "$BIN" = target/debug/rapport ] && cargo build --locked -q
db=rapport_cold_start
url="${PG_ADMIN_URL%/*}/$db"
work=target/bench-cold-start
mkdir -p "$work"
export RAPPORT__AUTH__JWT_SECRET=cold-start-secret-cold-start-secret-xx RAPPORT__LOG__FILTER=error
up=0 failed=0
for _ in $(seq 1 "$ROUNDS"); do
  psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
  pids=()
  for i in 1 2 3; do
    DATABASE_URL=$url RAPPORT__SERVER__ADDR=127.0.0.1:$((18200 + i)) "$BIN" serve > "$work/instance_$i.log" 2>&1 &
    pids+=($!)
  done
  for i in 1 2 3; do
    ready=0
    for _ in $(seq 1 150); do
      if curl -fs "http://127.0.0.1:$((18200 + i))/readyz" >/dev/null 2>&1; then ready=1; break; fi
      kill -0 "${pids[$((i - 1))]}" 2>/dev/null || break
      sleep 0.1
    done
    if [ "$ready" = 1 ]; then up=$((up + 1)); else failed=$((failed + 1)); tail -3 "$work/instance_$i.log"; fi
  done
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
done
psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
echo "$ROUNDS rounds of 3 instances on an empty database: $up came up, $failed exited"
