#!/usr/bin/env bash
# Runs the README's quick start as a new user would, from a fresh clone: start the server,
# replay the Frontegg fixtures (accepted, then duplicate), query the admin API.
#
# QUICKSTART_PROFILE picks the cargo profile flag: the README says `--release`; CI passes an
# empty value to reuse the test build instead of compiling everything a third time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
profile=${QUICKSTART_PROFILE---release}

# The commands below must stay the README's commands.
for line in 'cargo run --release -- serve' 'cargo run --release -- replay fixtures/frontegg' \
            'curl -s localhost:8000/api/admin/events -H "authorization: Bearer $(cat data/credentials/admin-token)"'; do
  grep -qF -- "$line" "$repo/README.md" || { echo "README no longer shows: $line" >&2; exit 1; }
done

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

git clone -q "$repo" "$work/tenantgate"
cd "$work/tenantgate"
export CARGO_TARGET_DIR="$repo/target"
unset DATABASE_URL PORT RUST_LOG TENANTGATE_ENV
for v in $(env | sed -n 's/^\(TENANTGATE[A-Z_]*\)=.*/\1/p'); do unset "$v"; done

# Build first, so that the readiness wait below measures start-up, not compilation.
cargo build -q $profile
echo "==> cargo run $profile -- serve"
cargo run -q $profile -- serve > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  curl -sf localhost:8000/readyz > /dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; echo "the server exited" >&2; exit 1; }
  sleep 0.5
done
curl -sf localhost:8000/readyz | grep -q '"backend":"sqlite"' || { cat "$work/serve.log"; echo "/readyz is not ready on sqlite" >&2; exit 1; }

fixtures=$(ls fixtures/frontegg/*.json | wc -l)
echo "==> cargo run $profile -- replay fixtures/frontegg"
first=$(cargo run -q $profile -- replay fixtures/frontegg)
echo "$first"
[ "$(echo "$first" | grep -cE ' (accepted|ignored) ')" -eq "$fixtures" ] || { echo "not every fixture was accepted" >&2; exit 1; }
second=$(cargo run -q $profile -- replay fixtures/frontegg)
echo "$second"
[ "$(echo "$second" | grep -c ' duplicate ')" -eq "$fixtures" ] || { echo "a replay was not reported duplicate" >&2; exit 1; }

[ "$(stat -c %a data/credentials/admin-token)" = 600 ] || { echo "the generated admin token is readable by others" >&2; exit 1; }
grep -q 'Development credentials generated in data/credentials/' "$work/serve.log" || { cat "$work/serve.log"; echo "serve did not say where it keeps its credentials" >&2; exit 1; }
echo "==> curl /api/admin/events"
events=$(curl -s localhost:8000/api/admin/events -H "authorization: Bearer $(cat data/credentials/admin-token)")
count=$(echo "$events" | grep -o '"id":' | wc -l)
[ "$count" -eq "$fixtures" ] || { echo "admin API lists $count events, expected $fixtures: $events" >&2; exit 1; }
curl -sf localhost:8000/api/admin/tenants -H "authorization: Bearer $(cat data/credentials/admin-token)" > /dev/null
status=$(curl -s -o /dev/null -w '%{http_code}' localhost:8000/api/admin/events -H 'authorization: Bearer dev-only-admin-token-not-for-production')
[ "$status" = 401 ] || { echo "the formerly published admin token answered $status" >&2; exit 1; }
echo "quick start: ok ($fixtures fixtures accepted, then duplicate; admin API lists them)"
