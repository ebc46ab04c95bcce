#!/bin/bash
# ctest fixture `pcscd`: start or stop the private pcscd shared by the e2e
# tests.  The PID is kept in $OCP_RUN_DIR/pcscd.pid (scripts/lib/pcscd.sh).
set -u
. "$(dirname "$0")/../../scripts/lib/pcscd.sh"

case "${1:-}" in
start) pcscd_start ;;
stop) pcscd_stop ;;
*)
    echo "usage: fixture.sh start|stop" >&2
    exit 2
    ;;
esac
