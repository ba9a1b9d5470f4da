#!/usr/bin/env bash
# The needs report on PostgreSQL against a release server: CUSTOMERS seeded
# customers (a fifth of them key tier) with NEEDS needs spread over them —
# every urgency × importance, status, owner and due date, a fifth delivered
# over the last year — then GET /analytics/needs timed RUNS times, and the
# unmet job run once. Writes benches/NEEDS.md.
#
#   benches/needs.sh                         # 100,000 customers, 500,000 needs
#   CUSTOMERS=10000 NEEDS=50000 benches/needs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
CUSTOMERS=${CUSTOMERS:-100000}
NEEDS=${NEEDS:-500000}
RUNS=${RUNS:-20}
PORT=${PORT:-18097}
work=target/bench-needs
mkdir -p "$work"
cargo build --release --locked -q
bin=target/release/rapport

export RAPPORT__AUTH__JWT_SECRET=bench-secret-bench-secret-bench-secret
export RAPPORT__SERVER__ADDR=127.0.0.1:$PORT
export RAPPORT__LOG__FILTER=warn
export RAPPORT__RATE_LIMIT__TOKEN_PER_MINUTE=0 RAPPORT__RATE_LIMIT__IP_PER_MINUTE=0
for job in RFM SEGMENT_REFRESH SURVEY_TRIGGERS WEBHOOK_FANOUT WEBHOOK_DELIVERY LOYALTY_EXPIRY LOYALTY_TIER_REVIEW \
  HEALTH_RECOMPUTE CADENCE_FOLLOW_UP CARE_MOMENTS NEEDS_UNMET SLA_SWEEP; do
  export "RAPPORT__JOBS__${job}_INTERVAL_SECS=0"
done

db=rapport_bench_needs
url="${PG_ADMIN_URL%/*}/$db"
psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
DATABASE_URL=$url "$bin" seed --customers "$CUSTOMERS" --orders 0 > "$work/seed.log"
psql "$url" -q <<SQL
UPDATE customer SET value_tier = 'key' WHERE abs(hashtext(id::text)) % 5 = 0;
CREATE TEMP TABLE numbered AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM customer;
CREATE INDEX ON numbered (n);
INSERT INTO need (id, customer_id, title, kind, urgency, importance, quadrant, source, owner_id, due_on,
                  status, closed_at, created_by, created_at, updated_at)
SELECT gen_random_uuid(), c.id, 'Need ' || g.i, CASE WHEN g.i % 3 = 0 THEN 'core' ELSE 'secondary' END,
       u.level, i.level,
       CASE WHEN i.level <> 'low' AND u.w + i.w >= 5 THEN 'do_now' WHEN i.level <> 'low' THEN 'plan'
            WHEN u.level <> 'low' THEN 'delegate' ELSE 'later' END,
       'other', 'agent-' || (g.i % 40), CASE WHEN g.i % 4 = 0 THEN current_date + (g.i % 90) - 45 END,
       s.status, CASE WHEN s.status IN ('delivered', 'declined', 'withdrawn') THEN t.at END,
       'bench', t.at, t.at
FROM generate_series(1, $NEEDS) AS g(i)
JOIN numbered c ON c.n = g.i % $CUSTOMERS
CROSS JOIN LATERAL (SELECT now() - make_interval(days => ((g.i::bigint * 7919) % 400)::int) AS at) t
CROSS JOIN LATERAL (SELECT (ARRAY['high','medium','low'])[1 + g.i % 3] AS level,
                           (ARRAY[3,2,1])[1 + g.i % 3] AS w) u
CROSS JOIN LATERAL (SELECT (ARRAY['high','medium','low'])[1 + (g.i / 3) % 3] AS level,
                           (ARRAY[3,2,1])[1 + (g.i / 3) % 3] AS w) i
CROSS JOIN LATERAL (SELECT (ARRAY['open','in_progress','proposed','confirmed','delivered','declined','withdrawn',
                                  'open','in_progress','delivered'])[1 + (g.i / 9) % 10] AS status) s;
ANALYZE;
SQL
echo "seeded: $(psql "$url" -qtAc 'SELECT COUNT(*) FROM customer') customers, $(psql "$url" -qtAc 'SELECT COUNT(*) FROM need') needs"

DATABASE_URL=$url "$bin" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
admin=$(DATABASE_URL=$url "$bin" token --role admin --ttl 2h)
: > "$work/times"
for _ in $(seq 1 "$RUNS"); do
  curl -fsS -o "$work/report.json" -w '%{time_total}\n' -H "Authorization: Bearer $admin" \
    "http://127.0.0.1:$PORT/api/v1/analytics/needs" >> "$work/times"
done
curl -fsS -X POST -o "$work/unmet.json" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d '{}' "http://127.0.0.1:$PORT/api/v1/jobs/needs_unmet/run"
# Again after the job rewrote half the rows (their dead versions not yet vacuumed).
: > "$work/times_after"
for _ in $(seq 1 "$RUNS"); do
  curl -fsS -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $admin" \
    "http://127.0.0.1:$PORT/api/v1/analytics/needs" >> "$work/times_after"
done

python3 - "$work" "$CUSTOMERS" "$NEEDS" <<'PY' | tee benches/NEEDS.md
import json, statistics, sys
work, customers, needs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = sorted(float(t) * 1000 for t in open(f"{work}/times"))
after = sorted(float(t) * 1000 for t in open(f"{work}/times_after"))
report = json.load(open(f"{work}/report.json"))
job = json.load(open(f"{work}/unmet.json"))
def p90_of(ts):
    return ts[max(0, -(-len(ts) * 9 // 10) - 1)]
p90 = p90_of(times)
print("# Needs report benchmark\n")
print(f"`benches/needs.sh` on PostgreSQL, release server: {customers:,} customers, {needs:,} needs.\n")
print("| measure | value |\n| --- | --- |")
print(f"| GET /analytics/needs, median of {len(times)} | {statistics.median(times):.0f} ms |")
print(f"| GET /analytics/needs, p90 | {p90:.0f} ms |")
print(f"| GET /analytics/needs, first (cold) | {float(open(f'{work}/times').readline()) * 1000:.0f} ms |")
print(f"| GET /analytics/needs after the job, median of {len(after)} | {statistics.median(after):.0f} ms |")
print(f"| GET /analytics/needs after the job, p90 | {p90_of(after):.0f} ms |")
print(f"| needs_unmet job, first run | {job.get('last_duration_ms', 0) / 1000:.1f} s ({job.get('last_summary', '')}) |")
print(f"\nOpen needs: {report['ages']['open']:,}; key customers with unmet do-now needs listed: "
      f"{len(report['key_customers_unmet_do_now'])}.")
import datetime, os
print(f"\nMeasured {datetime.date.today()} on {os.cpu_count()} cores (the target: under 500 ms). The second pair "
      "of figures comes after the unmet job rewrote half the rows, before autovacuum cleaned their old versions.")
PY
