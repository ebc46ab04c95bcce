#!/bin/bash
# The storage layer on both backends (bench_db): ROWS records inserted in
# one transaction and read back, on SQLite and on a private PostgreSQL
# server (started here unless one of ours already runs); prints
# `name value unit` lines.
#
#   OCP_BUILD_DIR=build tests/bench/db.sh [ROWS]
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib/postgres.sh"

started=0
cleanup() {
    ((started)) && postgres_stop
    return 0
}
trap cleanup EXIT
if ! _ocp_pg_ready 2>/dev/null; then
    postgres_start >/dev/null
    started=1
fi
OCP_TEST_PG_URI=$(postgres_uri) "$OCP_BUILD_DIR/bin/bench_db" "${1:-100000}"
