#!/usr/bin/env bash
# Runs the README's quick start as a new user would, from a fresh clone: start the server,
# replay the Frontegg fixtures (accepted, then duplicate), query the admin API.
#
# QUICKSTART_PROFILE picks the cargo profile flag: the README says `--release`; CI passes an
# empty value to reuse the test build instead of compiling everything a third time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
profile=${QUICKSTART_PROFILE---release}
token='dev-only-admin-token-not-for-production'

# The commands below must stay the README's commands.
for line in 'cargo run --release -- serve' 'cargo run --release -- replay fixtures/frontegg' \
            "curl -s localhost:8000/api/admin/events -H 'authorization: Bearer $token'"; do
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

echo "==> curl /api/admin/events"
events=$(curl -s localhost:8000/api/admin/events -H "authorization: Bearer $token")
count=$(echo "$events" | grep -o '"id":' | wc -l)
[ "$count" -eq "$fixtures" ] || { echo "admin API lists $count events, expected $fixtures: $events" >&2; exit 1; }
curl -sf localhost:8000/api/admin/tenants -H "authorization: Bearer $token" > /dev/null
echo "quick start: ok ($fixtures fixtures accepted, then duplicate; admin API lists them)"
