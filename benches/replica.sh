#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL cluster, on another port, for
# the tests and the proof: `pg_basebackup -R` into a second data directory,
# started with pg_ctl. Prints the replica's URL. A replica already answering
# on the port is reused. Run as root (it allows replication connections from
# 127.0.0.1 in the primary's pg_hba.conf if they are not yet) or as postgres.
#
#   benches/replica.sh                       # postgres://postgres@127.0.0.1:5433/postgres
#   PRIMARY_URL=… REPLICA_PORT=5434 benches/replica.sh
set -euo pipefail
PRIMARY_URL=${PRIMARY_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${REPLICA_PORT:-5433}
DIR=${REPLICA_DIR:-${TMPDIR:-/tmp}/rapport-replica-$PORT}
url="postgres://postgres@127.0.0.1:$PORT/postgres"
password=$(printf '%s' "$PRIMARY_URL" | sed -n 's|^[a-z]*://[^:/@]*:\([^@]*\)@.*|\1|p')
[ -n "$password" ] && export PGPASSWORD=$password
exec 9>"${TMPDIR:-/tmp}/rapport-replica-$PORT.lock"
flock 9
if pg_isready -h 127.0.0.1 -p "$PORT" -q; then
  echo "$url"
  exit 0
fi
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bin=$(dirname "$(readlink -f "$(command -v pg_basebackup)")")
[ -x "$bin/pg_ctl" ] || bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
rules=$(psql "$PRIMARY_URL" -qtAc "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND address IN ('127.0.0.1', 'all') OR (type = 'local' AND 'replication' = ANY(database))")
if [ "$rules" = 0 ]; then
  hba=$(psql "$PRIMARY_URL" -qtAc 'SHOW hba_file')
  echo "host replication all 127.0.0.1/32 trust" >> "$hba"
  psql "$PRIMARY_URL" -qtAc 'SELECT pg_reload_conf()' >/dev/null
fi
rm -rf "$DIR"
mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
chmod 700 "$DIR"
host_port=${PRIMARY_URL#*@}
host_port=${host_port%%/*}
as_postgres pg_basebackup -h "${host_port%%:*}" -p "${host_port##*:}" -U postgres -D "$DIR" -R -X stream -c fast
# Debian keeps the configuration outside the data directory: give the copy its own.
as_postgres sh -c "printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' > '$DIR/pg_hba.conf'; : > '$DIR/pg_ident.conf'; : > '$DIR/postgresql.conf'"
# (fd 9, the lock, is not handed to the server, or it would hold the lock for good)
as_postgres "$bin/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -o "-p $PORT -c listen_addresses=127.0.0.1 -c hot_standby=on" start >/dev/null 9>&-
echo "$url"
