#!/usr/bin/env bash
# Pacing against a rate-limited provider: 1,000 `tenant.created` deliveries against a stand-in
# for Airbyte that allows 20 requests a second, answers each in 100 ms and refuses the rest with
# a 429 without Retry-After; one instance on SQLite and on Postgres, then two instances sharing
# one Postgres. Prints each run's figures (time against the ideal 50 s, calls, refusals,
# listings). It drives the fault-suite scenario `faults::pacing` on the release binary.
#
#   bash benches/pacing.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin tenantgate
export TENANTGATE_BIN="$PWD/target/release/tenantgate"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
cargo test -q --test api faults::pacing -- --nocapture --test-threads 1 2>&1 | grep '^fault-summary' | sed 's/^fault-summary //'
