#!/usr/bin/env bash
# The console's pages with one million events in PostgreSQL: for each page, REQUESTS sequential
# requests (what one operator does) after WARMUP, timed by curl on one keep-alive connection;
# prints p50 / p95 / max per page.
#
#   bash benches/console.sh      # EVENTS=1000000 TENANTS=20000 REQUESTS=200 WARMUP=20
#
# 1. a fresh database (tenantgate_console_bench on 127.0.0.1:5432), migrated by `tenantgate
#    migrate`, seeded by benches/console-seed.sql (generate_series: events over 30 days with
#    their attempts, mappings, users, SSO, audit entries, subscriptions and deliveries), then
#    VACUUM ANALYZE;
# 2. the release server on it, TENANTGATE_ENV=production with credentials made up for the run
#    (environment variables only), workers and notification delivery off so the data stays put;
# 3. signs in with the admin token (POST /console/sign-in) and times every page.
# The database is dropped at the end unless KEEP=1; REUSE=1 measures an existing one as it is
# (a build with a new migration applies it at start). BIN= measures another binary (a build
# from before a change, in the same sitting); ONLY=regex measures only the pages whose name matches.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
TENANTS=${TENANTS:-20000}
REQUESTS=${REQUESTS:-200}
WARMUP=${WARMUP:-20}
ONLY=${ONLY:-.}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=${BENCH_DB:-tenantgate_console_bench}
PORT=${BENCH_PORT:-18090}
URL="$PG/$DB"
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ] && [ "${REUSE:-0}" != 1 ]; then
    psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${BIN:-}" ]; then
  cargo build --release -q --bin tenantgate
  BIN=${CARGO_TARGET_DIR:-target}/release/tenantgate
fi
unset TENANTGATE_ENV RUST_LOG DATABASE_URL
export TENANTGATE_CONFIG_DIR=$PWD/config

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; PostgreSQL $(psql -qAt "$PG/postgres" -c 'SHOW server_version'); load $(cut -d' ' -f1-3 /proc/loadavg)"
# The production profile, with credentials for this run only (environment variables, never a
# file): the development profile would generate its own in data/credentials/.
token=$(openssl rand -hex 32)
export TENANTGATE_ENV=production DATABASE_URL="$URL" PORT=$PORT \
  TENANTGATE__ADMIN__TOKENS="$token" \
  TENANTGATE__SOURCES__FRONTEGG__SECRETS="$(openssl rand -hex 32)" \
  TENANTGATE__NOTIFICATIONS__ENCRYPTION_KEYS="$(openssl rand -base64 32)" \
  TENANTGATE__LOG__LEVEL=warn
if [ "${REUSE:-0}" != 1 ]; then
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
  $BIN migrate >/dev/null
  started=$(date +%s)
  psql -q -v events="$EVENTS" -v tenants="$TENANTS" -f benches/console-seed.sql "$URL"
  echo "seeded $EVENTS events in $(( $(date +%s) - started )) s"
fi

# Workers and notification delivery off: the data stays as seeded.
TENANTGATE__WORKER__ENABLED=false TENANTGATE__NOTIFICATIONS__ENABLED=false $BIN serve >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$PORT/readyz" >/dev/null || { cat "$work/serve.log"; exit 1; }

cookie=$(curl -s -o /dev/null -D - --data-urlencode "token=$token" "http://127.0.0.1:$PORT/console/sign-in" \
  | sed -n 's/^set-cookie: tenantgate_session=\([^;]*\).*/\1/ip')
[ -n "$cookie" ] || { echo "sign-in failed" >&2; cat "$work/serve.log"; exit 1; }

# What the pages are asked about: the busiest tenant, a dead event of it (eight failed attempts,
# neighbours, an audit entry), one of its users, the tenant whose events all lie twenty days back,
# a rare kind, a day ten days ago (and a cursor at its noon), a cursor half way down the list, a
# failing subscription.
q() { psql -qAt "$URL" -c "$1"; }
bulk_tenant=$(q "SELECT tenant_id FROM webhook_events WHERE id = (SELECT max(id) / 3 + 1 FROM webhook_events)")
bulk_events=$(q "SELECT count(*) FROM webhook_events WHERE tenant_id = '$bulk_tenant'")
tenant=$(q "SELECT tenant_id FROM webhook_events WHERE tenant_id <> '$bulk_tenant' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
tenant_events=$(q "SELECT count(*) FROM webhook_events WHERE tenant_id = '$tenant'")
event=$(q "SELECT max(id) FROM webhook_events WHERE tenant_id = '$tenant' AND status = 'dead'")
user=$(q "SELECT user_id FROM webhook_events WHERE tenant_id = '$tenant' AND user_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
day=$(q "SELECT to_char(date_trunc('day', timezone('utc', now()) - interval '10 days'), 'YYYY-MM-DD')")
next_day=$(q "SELECT to_char(date_trunc('day', timezone('utc', now()) - interval '9 days'), 'YYYY-MM-DD')")
cursor=$(q "SELECT max(id) / 2 FROM webhook_events")
day_cursor=$(q "SELECT max(id) FROM webhook_events WHERE received_at < timestamp '$day 12:00'")
subscription=sub_bench4
echo "busiest tenant $tenant ($tenant_events events), event $event, user $user, day $day, cursor $cursor; tenant of the bulk import twenty days ago $bulk_tenant ($bulk_events events)"

pages=(
  "overview|/console"
  "events|/console/events"
  "events status=dead|/console/events?status=dead"
  "events kind=tenant_deleted|/console/events?kind=tenant_deleted"
  "events tenant|/console/events?tenant=$tenant"
  "events user|/console/events?user=$user"
  "events tenant (bulk import 20 days ago)|/console/events?tenant=$bulk_tenant"
  "events q (user id)|/console/events?q=$user"
  "events q (tenant id, bulk import)|/console/events?q=$bulk_tenant"
  "events since/until (one day)|/console/events?since=${day}T00:00&until=${next_day}T00:00"
  "events since/until, cursor at noon|/console/events?since=${day}T00:00&until=${next_day}T00:00&cursor=$day_cursor"
  "events until (ten days ago)|/console/events?until=${day}T00:00"
  "events cursor (half way)|/console/events?cursor=$cursor"
  "events status=dead, cursor|/console/events?status=dead&cursor=$cursor"
  "event detail|/console/events/$event"
  "rows (live tail)|/console/events/rows"
  "rows status=dead|/console/events/rows?status=dead"
  "replay preview status=dead|/console/events/replay?status=dead"
  "replay preview kind=tenant_deleted|/console/events/replay?kind=tenant_deleted"
  "replay preview tenant|/console/events/replay?tenant=$tenant"
  "replay preview, no filter|/console/events/replay"
  "tenants|/console/tenants"
  "tenants status=provisioning|/console/tenants?status=provisioning"
  "tenants status=tombstone|/console/tenants?status=tombstone"
  "tenant detail|/console/tenants/$tenant"
  "tenant detail (bulk import)|/console/tenants/$bulk_tenant"
  "subscriptions|/console/subscriptions"
  "subscription detail|/console/subscriptions/$subscription"
  "refusals|/console/refusals"
)

measure() { # name path: REQUESTS timings after WARMUP, on one connection
  local name=$1 path=$2 status
  status=$(curl -s -o /dev/null -w '%{http_code}' -b "tenantgate_session=$cookie" "http://127.0.0.1:$PORT$path")
  if [ "$status" = 404 ]; then
    printf '| %s | (no such page: 404) | | | |\n' "$name"
    return
  fi
  [ "$status" = 200 ] || { echo "$name: $path answered $status" >&2; exit 1; }
  for _ in $(seq 1 $((WARMUP + REQUESTS))); do
    printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$PORT" "$path"
  done >"$work/curl.cfg"
  curl -s -K "$work/curl.cfg" -b "tenantgate_session=$cookie" -w '%{http_code} %{time_total}\n' \
    | tail -n "$REQUESTS" >"$work/times"
  if grep -qv '^200 ' "$work/times"; then
    echo "$name: $path answered $(grep -v '^200 ' "$work/times" | cut -d' ' -f1 | sort | uniq -c | tr '\n' ' ')" >&2
    exit 1
  fi
  cut -d' ' -f2 "$work/times" | sort -n | awk -v name="$name" '
    { t[NR] = $1 * 1000 }
    END {
      p50 = t[int((NR * 50 + 99) / 100)]; p95 = t[int((NR * 95 + 99) / 100)]
      printf "| %s | %.1f | %.1f | %.1f |%s\n", name, p50, p95, t[NR], (p95 >= 100 ? " **over 100 ms** |" : " |")
    }'
}

echo
echo "$REQUESTS sequential requests per page after $WARMUP (ms):"
echo
echo "| page | p50 | p95 | max | |"
echo "|---|---|---|---|---|"
for entry in "${pages[@]}"; do
  name=${entry%%|*}
  [[ $name =~ $ONLY ]] || continue
  measure "$name" "${entry#*|}"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
