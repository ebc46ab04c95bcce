#!/bin/bash
# e2e_select_opensc: a client nobody here wrote (OpenSC's opensc-tool)
# selects the application on a fresh virtual card through pcscd and vpcd.
. "$(dirname "$0")/common.sh"

e2e_card_start "$E2E_TMP/card.img" 35963
# Exactly the command of the issue: SELECT by AID, no Le (case 3); the
# card answers with its data all the same.
out=$(opensc-tool -r "$READER0" -s "${SELECT_OCP}" 2>&1) ||
    fail "opensc-tool failed: $out"
echo "$out"
grep -q 'SW1=0x90, SW2=0x00' <<<"$out" || fail "SELECT was not answered 90 00"
# 28 bytes of answer data: the first line of the hex dump starts with the
# response format byte 01.
grep -qE '^01 ' <<<"$out" || fail "SELECT answer carries no data"
card_stop 35963 || fail "ocp-card did not stop cleanly"
echo PASS
