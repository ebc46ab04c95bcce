#!/bin/bash
# cli_no_usb: `ocp readers` and `ocp -r usb:...` on a machine with no such
# reader (CI has no USB at all): plain answers, at once, never a hang.
#   cli_no_usb.sh OCP-BINARY
set -uo pipefail
ocp=$1
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

out=$(timeout 10 "$ocp" readers 2>/dev/null)
rc=$?
((rc == 0 || rc == 3)) || fail "ocp readers exited $rc"
if [[ ! -d /sys/bus/usb ]]; then
    grep -qx "no USB CCID reader found" <<<"$out" ||
        fail "no USB, but ocp readers said: $out"
else
    grep -Eq "^(no USB CCID reader found|usb:[0-9a-f]{4}:[0-9a-f]{4}:[0-9]+: )" \
        <<<"$out" || fail "ocp readers said: $out"
fi

json=$(timeout 10 "$ocp" --json readers 2>/dev/null)
python3 -c 'import json, sys; j = json.loads(sys.argv[1]); assert isinstance(j["usb_ccid"], list)' \
    "$json" || fail "ocp --json readers: $json"

err=$(timeout 10 "$ocp" -r usb:ffff:fffe info 2>&1 >/dev/null)
rc=$?
((rc == 3)) || fail "ocp -r usb:ffff:fffe info exited $rc: $err"
grep -q "no USB CCID reader ffff:fffe:0 found" <<<"$err" || fail "said: $err"

err=$(timeout 10 "$ocp" -r usb:nonsense info 2>&1 >/dev/null)
rc=$?
((rc == 2)) || fail "ocp -r usb:nonsense info exited $rc: $err"
echo "cli_no_usb: PASS"
