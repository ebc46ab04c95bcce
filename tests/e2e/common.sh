# shellcheck shell=bash
# Shared by the e2e scripts: strict mode, the pcscd helpers, a scratch
# directory, and a trap that stops the card whatever happens.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/pcscd.sh"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocp-e2e.XXXXXX")
READER0="Virtual PCD 00 00"
SELECT_OCP="00A4040005F04F435001"

e2e_cleanup() {
    card_stop 35963 >/dev/null 2>&1 || true
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
