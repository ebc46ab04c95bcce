#!/bin/bash
# The storage layer on both backends (bench_db): ROWS records inserted in
# one transaction and read back, on SQLite and on a private PostgreSQL
# server (started here unless one of ours already runs); prints
# `name value unit` lines.
#
#   OCP_BUILD_DIR=build tests/bench/db.sh [ROWS]
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib/postgres.sh"

postgres_run "$OCP_BUILD_DIR/bin/bench_db" "${1:-100000}"
