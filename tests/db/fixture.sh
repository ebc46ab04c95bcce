#!/bin/bash
# ctest fixture `postgres`: start or stop the private PostgreSQL server
# shared by the db tests (scripts/lib/postgres.sh), or run a command with
# the server's URI in OCP_TEST_PG_URI.
#
#   fixture.sh start | stop | run COMMAND [ARGS...]
set -u
. "$(dirname "$0")/../../scripts/lib/postgres.sh"

case "${1:-}" in
start)
    # The URI holds the server's password: not for the test log.
    postgres_start >/dev/null
    ;;
stop) postgres_stop ;;
run)
    shift
    uri=$(postgres_uri) || exit 1
    export OCP_TEST_PG_URI=$uri
    exec "$@"
    ;;
*)
    echo "usage: fixture.sh start|stop|run COMMAND..." >&2
    exit 2
    ;;
esac
