#!/bin/bash
# e2e_kiosk_example: the documented kiosk example, linked to the shared
# libocp, reads an issued card through pcscd with the holder's PIN.
. "$(dirname "$0")/common.sh"

e2e_card_start "$E2E_TMP/card.img" 35963
"$OCP" -r "$READER0" --keys "dev:$E2E_TMP/keys" issue \
    --name "赵六" --cert 11010119850101123413 --district 110101 --pin 2468 \
    --entitlement 0x0201:medical:counter:2:month >/dev/null || fail issue
out=$(OCP_PIN=2468 "$OCP_BUILD_DIR/bin/kiosk_example" "$READER0" "$E2E_TMP/keys") ||
    fail "kiosk example failed"
echo "$out"
grep -q "赵六" <<<"$out" || fail "no holder name"
grep -q "service 0x0201: 2 left" <<<"$out" || fail "no entitlement"
set +e
OCP_PIN=1111 "$OCP_BUILD_DIR/bin/kiosk_example" "$READER0" "$E2E_TMP/keys" 2>"$E2E_TMP/err"
rc=$?
set -e
((rc == 1)) && grep -q "2 tries left" "$E2E_TMP/err" || fail "wrong PIN not reported"
echo PASS
