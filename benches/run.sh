#!/usr/bin/env bash
# The benchmarks, in one run: tenantgate's acknowledgement throughput and latency against the
# ceiling that PostgreSQL itself sets on the same machine, in the same run; then the pipeline.
#
#   bash benches/run.sh       # DURATION=20 CONCURRENCY="32 4" ROUNDS=3 BACKLOG=50000 REQUESTS=600000
#
# For each concurrency C, ROUNDS times (the ceiling moves with the disk's flush latency from
# minute to minute, so each round measures both sides back to back and the median ratio is
# reported):
#   1. ceiling: pgbench runs a single-row INSERT … ON CONFLICT DO NOTHING of the inbox row shape
#      (same columns, a ~1 KiB payload), C clients, DURATION seconds, into a fresh database
#      (each side starts after a CHECKPOINT);
#   2. tenantgate: `serve` (release, workers off: ingest only) on another fresh database,
#      loaded by `tenantgate bench ingest` at C for DURATION seconds;
#   3. the rows in the inbox are counted: every acknowledged event must be there.
# Then the same load on the SQLite default. Peak resident memory is read from /proc.
# Last, `tenantgate bench pipeline` on a fresh database: a stored backlog of BACKLOG events drained
# by the default workers to a local stand-in for Airbyte, then idle end-to-end latency.
set -euo pipefail
shopt -s inherit_errexit # a failing step inside $(…) (fresh_db, stop_server) stops the script too
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
CONCURRENCY=${CONCURRENCY:-"32 4"}
ROUNDS=${ROUNDS:-3}
BACKLOG=${BACKLOG:-50000}
# Pre-built requests per load run: enough that a fast machine does not run out before DURATION.
REQUESTS=${REQUESTS:-600000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
PORT=${BENCH_PORT:-18080}
BIN=target/release/tenantgate
work=$(mktemp -d)
server=
# `server` is still set here after `rss=$(stop_server)`, which stops it in a subshell.
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cargo build --release -q
unset TENANTGATE_ENV RUST_LOG
export TENANTGATE_CONFIG_DIR=$PWD/config TENANTGATE__LOG__LEVEL=warn PORT=$PORT

fresh_db() { # name → url, migrated; then a checkpoint, so that neither side of a round pays for
  # flushing what the other one (or the previous round) left dirty
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
  DATABASE_URL="$PG/$1" $BIN migrate >/dev/null
  psql -q "$PG/postgres" -c "CHECKPOINT" >/dev/null
  echo "$PG/$1"
}

start_server() { # database url
  DATABASE_URL="$1" TENANTGATE__WORKER__ENABLED=false $BIN serve >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -sf "localhost:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  cat "$work/serve.log"; exit 1
}

stop_server() { # prints peak RSS in MB
  local hwm
  hwm=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$server/status")
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  echo "$hwm"
}

payload=$(head -c 1000 < /dev/zero | tr '\0' 'x')
cat > "$work/insert.sql" <<SQL
INSERT INTO webhook_events (source, idempotency_key, body_sha256, event_type, kind, tenant_id, user_id,
  occurred_at, received_at, order_at, payload, status, next_attempt_at)
VALUES ('frontegg', md5(random()::text || clock_timestamp()::text), md5(random()::text), 'frontegg.user.activated',
  'user_activated', 'tenant-' || (random() * 5000)::int, md5(random()::text), now(), now(), now(),
  '{"eventKey":"frontegg.user.activated","pad":"$payload"}', 'pending', now())
ON CONFLICT DO NOTHING;
SQL

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; $(psql -qAt "$PG/postgres" -c 'SHOW server_version') PostgreSQL; duration ${DURATION}s"
for c in $CONCURRENCY; do
  ratios=()
  for round in $(seq 1 "$ROUNDS"); do
    url=$(fresh_db tenantgate_bench_pgbench)
    ceiling=$(pgbench -n -M prepared -c "$c" -j 2 -T "$DURATION" -f "$work/insert.sql" "$url" 2>/dev/null \
              | awk '/^tps/ {print int($3)}')
    url=$(fresh_db tenantgate_bench_ingest)
    start_server "$url"
    report=$($BIN bench ingest --url "http://127.0.0.1:$PORT" --scheme hmac-sha256 --concurrency "$c" --duration "$DURATION" --requests "$REQUESTS" --json)
    rss=$(stop_server)
    rows=$(psql -qAt "$url" -c "SELECT count(*) FROM webhook_events")
    ok=$(echo "$report" | sed -n 's/.*"ok":\([0-9]*\).*/\1/p')
    refused=$(echo "$report" | sed -n 's/.*"non_2xx":\([0-9]*\).*/\1/p')
    [ "$refused" = 0 ] || { echo "the server refused $refused deliveries: its figures mean nothing" >&2; exit 1; }
    rate=$(echo "$report" | sed -n 's/.*"per_second":\([0-9.]*\).*/\1/p')
    ratio=$(awk "BEGIN {printf \"%.2f\", $rate / $ceiling}")
    ratios+=("$ratio")
    echo "postgres c=$c round $round: pgbench ceiling ${ceiling} inserts/s; tenantgate $report; rows $rows (acknowledged $ok); ratio $ratio; peak RSS ${rss} MB"
    [ "$rows" -ge "$ok" ] || { echo "LOST EVENTS: $ok acknowledged, $rows stored" >&2; exit 1; }
  done
  echo "postgres c=$c: median ratio $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') over $ROUNDS rounds (${ratios[*]})"
done

sqlite="$work/bench.db"
start_server "sqlite://$sqlite"
# The same database URL for the load generator: it signs with the secret the server uses, which
# in development is generated beside the SQLite file.
report=$(DATABASE_URL="sqlite://$sqlite" $BIN bench ingest --url "http://127.0.0.1:$PORT" --scheme hmac-sha256 --concurrency 32 --duration "$DURATION" --requests "$REQUESTS" --json)
rss=$(stop_server)
echo "sqlite c=32: tenantgate $report; peak RSS ${rss} MB"
refused=$(echo "$report" | sed -n 's/.*"non_2xx":\([0-9]*\).*/\1/p')
[ "$refused" = 0 ] || { echo "the SQLite run was refused $refused times: its figures mean nothing" >&2; exit 1; }

url=$(fresh_db tenantgate_bench_pipeline)
DATABASE_URL="$url" $BIN bench pipeline --backlog "$BACKLOG" 2>"$work/pipeline.log" | sed 's/^/pipeline: /' \
  || { cat "$work/pipeline.log" >&2; exit 1; }
