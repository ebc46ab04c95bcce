# shellcheck shell=bash
# Shared by the e2e scripts: strict mode, the pcscd helpers, a scratch
# directory, and a trap that stops the card whatever happens.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/pcscd.sh"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocp-e2e.XXXXXX")
READER0="Virtual PCD 00 00"
SELECT_OCP="00A4040005F04F435001"

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
