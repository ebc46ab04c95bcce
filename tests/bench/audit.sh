#!/bin/bash
# The back-office audit against raw CMAC over the same bytes (bench_audit):
# 1 M genuine records over 100 k cards uploaded in signed batches, then the
# audit and raw EVP_MAC CMAC side by side, on SQLite and on a private
# PostgreSQL server (started here unless one of ours already runs); prints
# `name value unit` lines.  Arguments go to bench_audit (-c CARDS,
# -p PER-CARD, -b sqlite|pgsql|both).
#
#   OCP_BUILD_DIR=build tests/bench/audit.sh
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib/postgres.sh"

postgres_run "$OCP_BUILD_DIR/bin/bench_audit" "$@"
