#!/bin/bash
# e2e_scriptor_malformed: pcsc-tools' scriptor sends a SELECT whose Lc says
# 5 bytes while only 2 follow; the card answers 67 00 and keeps serving:
# the next, valid SELECT gets 90 00 in the same connection.
. "$(dirname "$0")/common.sh"

e2e_card_start "$E2E_TMP/card.img" 35963
out=$(printf '%s\n' '00 A4 04 00 05 F0 4F' '00 A4 04 00 05 F0 4F 43 50 01 00' |
    scriptor -r "$READER0" 2>&1) || fail "scriptor failed: $out"
echo "$out"
# scriptor prints "< <response> SW1 SW2 : <text>" after each command.
mapfile -t answers < <(grep -E '^< ' <<<"$out" || true)
((${#answers[@]} == 2)) || fail "expected 2 answers, got ${#answers[@]}"
grep -qE '^< 67 00 :' <<<"${answers[0]}" ||
    fail "malformed APDU not answered 67 00: ${answers[0]}"
# The data of the second answer wraps over two lines; its SW closes the output.
grep -qE '90 00 : Normal processing' <<<"$out" ||
    fail "valid SELECT after the malformed one not answered 90 00"
card_stop 35963 || fail "ocp-card did not stop cleanly"
echo PASS
