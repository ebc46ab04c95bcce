#!/bin/bash
# e2e_cli_errors: each kind of bad input or missing part gets a clear
# message and the documented exit code (docs/CLI.md).
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
check() { # WANT-CODE MESSAGE-FRAGMENT COMMAND...
    local want=$1 msg=$2 rc
    shift 2
    set +e
    "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    set -e
    ((rc == want)) || fail "'$*' exited $rc, expected $want: $(cat "$E2E_TMP/err")"
    grep -qi -- "$msg" "$E2E_TMP/err" ||
        fail "'$*': message lacks '$msg': $(cat "$E2E_TMP/err")"
}

# No PC/SC service at all: point libpcsclite at a socket nobody serves.
check 3 "not running\|service" env PCSCLITE_CSOCK_NAME="$E2E_TMP/nothing" "$OCP" info
check 3 "reader" "$OCP" -r "No Such Reader" info
check 3 "reader" "$OCP" -r 7 info
# A reader with no card in it (vpcd's second slot, no card started there).
check 4 "card" "$OCP" -r "Virtual PCD 00 01" info

e2e_card_start "$E2E_TMP/card.img" 35963
check 2 "usage" "$OCP" frobnicate
check 2 "" "$OCP" issue --name x
check 2 "at most 48" "$OCP" --keys "$KEYS" issue --name \
    "这是一个非常非常非常非常非常非常长的名字超过四十八字节" \
    --cert 11010119800101123X42 --district 110105 --pin 2468
check 2 "20 characters" "$OCP" --keys "$KEYS" issue --name 张三 --cert 123 \
    --district 110105 --pin 2468
check 2 "bad entitlement" "$OCP" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X42 --district 110105 --pin 2468 \
    --entitlement 0x0101:nowhere:pass
# The card refuses what it must refuse: a category/grade that the
# certificate number does not carry, a district out of range.
check 9 "refused\|data" "$OCP" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X92 --district 110105 --pin 2468
check 9 "refused\|data" "$OCP" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X42 --district 999 --pin 2468
check 2 "PIN" "$OCP" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X42 --district 110105 --pin 12
"$OCP" --keys "$KEYS" issue --name 张三 --cert 11010119800101123X42 \
    --district 110105 --pin 2468 --entitlement 0x0101:transit:pass >/dev/null
# Issuing an issued card is refused.
check 9 "may not" "$OCP" --keys "$KEYS" issue --name 李四 \
    --cert 11010119800101123X42 --district 110105 --pin 2468
# Not entitled: a service the card does not carry.
check 6 "entitle" "$OCP" --keys "$KEYS" use --role transit --service 0x0102 --seq 1
# Another issuer's key: the signature does not verify.
set +e
"$OCP" --keys "dev:$E2E_TMP/other" --json info >"$E2E_TMP/out" 2>&1
rc=$?
set -e
((rc == 9)) && grep -q '"signature": *"INVALID"' "$E2E_TMP/out" ||
    fail "foreign issuer key: exit $rc, $(cat "$E2E_TMP/out")"
# Wrong PIN, then blocked after three.
for left in 2 1; do
    check 5 "$left tries left" env OCP_PIN=0000 "$OCP" --keys "$KEYS" read --role kiosk
done
check 5 "blocked" env OCP_PIN=0000 "$OCP" --keys "$KEYS" read --role kiosk
check 5 "blocked" env OCP_PIN=2468 "$OCP" --keys "$KEYS" read --role kiosk
echo PASS
