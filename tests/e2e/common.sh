# shellcheck shell=bash
# Shared by the e2e scripts: strict mode, the pcscd helpers, a scratch
# directory, and a trap that stops the card whatever happens.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/pcscd.sh"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocp-e2e.XXXXXX")
READER0="Virtual PCD 00 00"
SELECT_OCP="00A4040005F04F435001"

# The ocp command under test.  With OCP_E2E_VALGRIND=1 (scripts/test --full)
# every run of it goes through valgrind, which makes it exit 99 on a memory
# error or a definite leak; the logs go next to the build.
OCP="$OCP_BUILD_DIR/bin/ocp"
if [[ ${OCP_E2E_VALGRIND:-0} == 1 ]]; then
    mkdir -p "$E2E_TMP/bin"
    printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --log-file=%s "%s" "$@"\n' \
        "$OCP_BUILD_DIR/valgrind-e2e.%p.log" "$OCP" >"$E2E_TMP/bin/ocp"
    chmod +x "$E2E_TMP/bin/ocp"
    OCP="$E2E_TMP/bin/ocp"
fi

# Only a card this script started is stopped: the PID files are shared by
# every test of the run, and another test may own the slot by now.
E2E_CARD_STARTED=0
e2e_card_start() {
    E2E_CARD_STARTED=1
    card_start "$@"
}
e2e_cleanup() {
    ((E2E_CARD_STARTED)) && { card_stop 35963 >/dev/null 2>&1 || true; }
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

# json FILE EXPR: a Python expression over the JSON in FILE (as j).
json() {
    /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
