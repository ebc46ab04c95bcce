#!/bin/bash
# Runs the PKCS#11 key-store test against a SoftHSM2 token of its own:
# a temporary directory holds softhsm2.conf and the token, so the test
# never sees (or touches) any other token on the machine.
#   usage: run.sh TEST-BINARY [MODULE]
set -euo pipefail

bin=${1:?usage: run.sh TEST-BINARY [MODULE]}
module=${2:-/usr/lib/softhsm/libsofthsm2.so}

if [[ ! -r $module ]]; then
    echo "run.sh: no PKCS#11 module at $module (Debian package softhsm2)" >&2
    exit 1
fi
command -v softhsm2-util >/dev/null || {
    echo "run.sh: softhsm2-util missing (Debian package softhsm2)" >&2
    exit 1
}

dir=$(mktemp -d /tmp/ocp-pkcs11-XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/tokens"
cat >"$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF=$dir/softhsm2.conf

softhsm2-util --init-token --free --label ocp-test --pin 1234 \
    --so-pin 5678 >/dev/null

"$bin" "pkcs11:token=ocp-test?pin-value=1234&module-path=$module"
