# shellcheck shell=bash
# Shared by the ccid_cli_* scripts: strict mode, a scratch directory
# (kept with KEEP=1), fail, and `run`, which plays a scenario on the
# device model behind ocp-ccid-model (docs/TESTING.md).
#   . common.sh OCP-CCID-MODEL
set -uo pipefail
ocp=$1
tmp=$(mktemp -d)
trap '[[ -n ${KEEP:-} ]] || rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
cd "$tmp" || exit 1
run() { # SCENARIO-TEXT ARGS...: ocp with the reader playing the scenario
    printf '%s\n' "$1" >scenario
    shift
    OCP_TEST_USB_MODEL=$tmp/scenario timeout 60 "$ocp" -r usb:1209:0ccd \
        --keys "dev:$tmp/keys" "$@"
}
