#!/usr/bin/env bash
# Survey results and sends at scale, on PostgreSQL, against a release server:
# an NPS survey with RESPONSES responses spread over CUSTOMERS customers and
# the last year, then the full results call (weekly trend over the year,
# broken down by tier) timed RUNS times; and invitations of a CSAT survey to
# a segment of every customer, the fatigue rules applied. Writes
# benches/SURVEYS.md.
#
#   benches/surveys.sh                                  # 100,000 customers, 1,000,000 responses
#   CUSTOMERS=10000 RESPONSES=100000 benches/surveys.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
CUSTOMERS=${CUSTOMERS:-100000}
RESPONSES=${RESPONSES:-1000000}
RUNS=${RUNS:-5}
PORT=${PORT:-18097}
work=target/bench-surveys
mkdir -p "$work"
cargo build --release --locked -q
bin=target/release/rapport

export RAPPORT__AUTH__JWT_SECRET=bench-secret-bench-secret-bench-secret
export RAPPORT__SERVER__ADDR=127.0.0.1:$PORT
export RAPPORT__LOG__FILTER=warn
export RAPPORT__RATE_LIMIT__TOKEN_PER_MINUTE=0 RAPPORT__RATE_LIMIT__IP_PER_MINUTE=0
# Only what is measured runs.
export RAPPORT__JOBS__RFM_INTERVAL_SECS=0 RAPPORT__JOBS__SEGMENT_REFRESH_INTERVAL_SECS=0
export RAPPORT__JOBS__SURVEY_TRIGGERS_INTERVAL_SECS=0

db=rapport_bench_surveys
url="${PG_ADMIN_URL%/*}/$db"
psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
DATABASE_URL=$url "$bin" seed --customers "$CUSTOMERS" --orders 0 > "$work/seed.log"

DATABASE_URL=$url "$bin" serve > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
token=$(DATABASE_URL=$url "$bin" token --role admin --ttl 2h)
api() {
  curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

# Tiers as RFM would spread them (seeded customers have no orders here).
psql "$url" -qc "UPDATE customer SET value_tier = CASE WHEN abs(hashtext(id::text)) % 10 < 2 THEN 'key'
  WHEN abs(hashtext(id::text)) % 10 < 5 THEN 'important' ELSE 'general' END"
nps=$(api POST /api/v1/surveys '{"name": "Relationship NPS", "kind": "nps"}' | id_of)
api PATCH "/api/v1/surveys/$nps" '{"status": "active"}' >/dev/null

# The responses, written in SQL: each customer answered RESPONSES/CUSTOMERS
# times over the last year, scores spread over 0-10.
per=$(( RESPONSES / CUSTOMERS ))
loaded_started=$(date +%s.%N)
psql "$url" -q <<SQL
INSERT INTO survey_invitation (id, survey_id, customer_id, kind, token_hash, channel, source, exempt, status,
                               expires_at, sent_at, last_sent_at, reminders, created_by, created_at)
SELECT gen_random_uuid(), '$nps', c.id, 'nps', md5(c.id::text || g) || md5(g || c.id::text), 'email', 'manual',
       false, 'completed', t.at + interval '14 days', t.at, t.at, 0, 'bench', t.at
FROM (SELECT id, row_number() OVER () AS rn FROM customer) c
CROSS JOIN generate_series(1, $per) g
CROSS JOIN LATERAL (SELECT now() - ((c.rn * 7 + g * 37) % 365) * interval '1 day' - g * interval '1 minute' AS at) t;
INSERT INTO survey_response (id, invitation_id, survey_id, customer_id, status, score, answers, language, channel,
                             started_at, updated_at, finished_at)
SELECT gen_random_uuid(), i.id, i.survey_id, i.customer_id, 'completed', s.score, jsonb_build_object('score', s.score),
       'en', 'email', i.sent_at, i.sent_at, i.sent_at
FROM survey_invitation i
CROSS JOIN LATERAL (SELECT abs(hashtext(i.id::text)) % 11 AS score) s
WHERE i.survey_id = '$nps';
ANALYZE survey_invitation, survey_response, customer;
SQL
loaded=$(psql "$url" -Atc "SELECT COUNT(*) FROM survey_response")
echo "loaded $loaded responses in $(awk -v s="$loaded_started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }') s"

from=$(date -u -d '-365 days' +%Y-%m-%dT%H:%M:%SZ)
path="/api/v1/surveys/$nps/results?group_by=tier&interval=week&from=$from"
api GET "$path" > "$work/results.json"
python3 - "$work/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("responses", r["responses"], "nps", r["nps"], "weeks", len(r["trend"]), "groups", [g["key"] for g in r["groups"]])
PY
times=()
for _ in $(seq 1 "$RUNS"); do
  t=$(curl -fsS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT$path" -H "Authorization: Bearer $token")
  times+=("$t")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "results (weekly trend over a year, by tier): runs ${times[*]} s, median $median s"

# Invitations to a segment of every customer, with the fatigue rules on:
# the NPS sends above hold back those asked in the last 14 days.
segment=$(api POST /api/v1/segments '{"name": "Everyone", "kind": "static"}' | id_of)
psql "$url" -qc "INSERT INTO segment_member (segment_id, customer_id, entered_at) SELECT '$segment', id, now() FROM customer"
csat=$(api POST /api/v1/surveys '{"name": "Service CSAT", "kind": "csat"}' | id_of)
api PATCH "/api/v1/surveys/$csat" '{"status": "active"}' >/dev/null
started=$(date +%s.%N)
api POST "/api/v1/surveys/$csat/invitations" "{\"segment_id\": \"$segment\", \"return_tokens\": false}" > "$work/sent.json"
ended=$(date +%s.%N)
read -r invited skipped secs rate <<<"$(python3 - "$work/sent.json" "$started" "$ended" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = float(sys.argv[3]) - float(sys.argv[2])
skipped = sum(x["count"] for x in r["skipped"])
print(r["invited"], skipped, f"{s:.1f}", f"{(r['invited'] + skipped) / s:.0f}")
PY
)"
echo "invitations to $CUSTOMERS customers: $invited invited, $skipped held back, $secs s, $rate customers/s"
rss=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server/status")

{
  echo "# Survey benchmarks"
  echo
  echo "\`benches/surveys.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL, release build, client and"
  echo "server on the same machine. $CUSTOMERS seeded customers; $loaded NPS responses (and as many"
  echo "invitations) written in SQL over the last year. The results call asks for the weekly trend over the"
  echo "year (54 weekly intervals, the first and last partial) broken down by tier; the send invites a segment of every customer to a CSAT"
  echo "survey with the fatigue rules on."
  echo
  echo "| what | figure |"
  echo "|---|---:|"
  echo "| results, group_by=tier, weekly trend, median of $RUNS | $median s |"
  echo "| results, each run (s) | ${times[*]} |"
  echo "| invitations: invited / held back by fatigue | $invited / $skipped |"
  echo "| invitations: seconds, customers per second | $secs s, $rate/s |"
  echo "| server peak RSS | $rss MiB |"
} > benches/SURVEYS.md
cat benches/SURVEYS.md
