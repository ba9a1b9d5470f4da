#!/usr/bin/env bash
# The proof under load and fault, written to benches/PROOF.md:
#   - three instances on one PostgreSQL database under a mixed load whose
#     writes carry Idempotency-Key and are retried on another instance after a
#     failure; in turn SIGKILL of one instance, SIGTERM of one, PostgreSQL
#     restarted, PostgreSQL stopped for 10 s;
#   - three instances started at once on an empty database, 5 rounds;
#   - a 10-minute soak on PostgreSQL and one on SQLite, all jobs on.
# It restarts and stops the local PostgreSQL cluster (pg_ctlcluster): run it
# on a machine where nothing else uses it.
#
#   benches/proof.sh                 # everything (about 25 minutes)
#   SOAK_MINUTES=2 benches/proof.sh  # shorter soaks
set -euo pipefail
cd "$(dirname "$0")/.."
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
SOAK_MINUTES=${SOAK_MINUTES:-10}
cargo build --release --locked -q
run() { python3 benches/proof.py "$@" --pg-admin-url "$PG_ADMIN_URL"; }
faults=$(run faults)
cold=$(run cold --rounds 5)
soak_pg=$(run soak --database postgres --minutes "$SOAK_MINUTES")
soak_sqlite=$(run soak --database sqlite --minutes "$SOAK_MINUTES")
{
  echo "# The proof under load and fault"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores, release build, PostgreSQL $(psql "$PG_ADMIN_URL" -qtAc 'SHOW server_version'). Command: \`benches/proof.sh\`."
  echo
  echo "## Faults"
  echo
  echo "Three instances, 16 client threads (20 % list reads, 20 % customer 360, 10 % feedback report,"
  echo "15 % interactions, 15 % orders, 10 % feedback, 10 % loyalty redemptions). A write that fails is sent again with"
  echo "its Idempotency-Key to the next instance. Per fault: from the fault to recovery (\"during\")"
  echo "and the 10 s after (\"after\"). *Resets in flight* are requests whose connection broke before"
  echo "an answer; under SIGKILL they are the kill itself (the client retries them elsewhere)."
  echo
  echo "$faults"
  echo
  echo "## Cold start"
  echo
  echo "$cold"
  echo
  echo "## Soak"
  echo
  echo "$soak_pg"
  echo
  echo "$soak_sqlite"
} > benches/PROOF.md
cat benches/PROOF.md
