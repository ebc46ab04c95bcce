#!/bin/bash
# e2e_cli_desk: the desk's subcommands through the real pcscd, with --json
# checked field by field, and what each role may not see absent from both
# the text and the JSON output.
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
ocp() { "$OCP" -r "$READER0" --keys "$KEYS" "$@"; }
expect() { # WHAT GOT WANT
    [[ "$2" == "$3" ]] || fail "$1: got '$2', expected '$3'"
}

e2e_card_start "$E2E_TMP/card.img" 35963
ocp --json issue --name "李四" --cert 11010119900101123442 --district 110105 \
    --pin 2468 --entitlement 0x0101:transit:pass \
    --entitlement 0x0201:medical:counter:2:month \
    --entitlement 0x0401:assistive:balance:500000 >"$E2E_TMP/issue.json" ||
    fail "issue failed"
expect "issue state" "$(json "$E2E_TMP/issue.json" 'j["state"]')" active

# Transit sees only transit entitlements and no holder at all.
ocp --json read --role transit >"$E2E_TMP/transit.json" || fail "read transit"
expect "transit holder" "$(json "$E2E_TMP/transit.json" '"holder" in j')" False
expect "transit entitlements" \
    "$(json "$E2E_TMP/transit.json" '[e["service"] for e in j["entitlements"]]')" \
    "['0x0101']"
ocp read --role transit >"$E2E_TMP/transit.txt" || fail "read transit text"
for secret in 11010119900101123442 "李四" category grade physical; do
    ! grep -q "$secret" "$E2E_TMP/transit.txt" "$E2E_TMP/transit.json" ||
        fail "transit output shows '$secret'"
done

# Every service role: no name, no certificate number, ever; the disability
# only for the roles that serve it.
for role in transit medical rehab assistive subsidy venue; do
    ocp --json read --role "$role" >"$E2E_TMP/r.json" || fail "read $role"
    ocp read --role "$role" >"$E2E_TMP/r.txt" || fail "read $role text"
    for secret in 11010119900101123442 "李四" 110105; do
        ! grep -q "$secret" "$E2E_TMP/r.json" "$E2E_TMP/r.txt" ||
            fail "$role output shows '$secret'"
    done
    case $role in
    medical | rehab | assistive)
        [[ $(json "$E2E_TMP/r.json" 'j["holder"]["category"]') == 4 ]] ||
            fail "$role lacks the category" ;;
    *)
        [[ $(json "$E2E_TMP/r.json" '"holder" in j') == False ]] ||
            fail "$role sees the holder" ;;
    esac
done

# The reader list, as JSON.
ocp --json readers >"$E2E_TMP/readers.json" || fail readers
expect "reader 0" "$(json "$E2E_TMP/readers.json" 'j["readers"][0]["name"]')" "$READER0"
expect "card present" "$(json "$E2E_TMP/readers.json" 'j["readers"][0]["card"]')" True

# --trace shows APDUs but never the PIN or protected payloads.
OCP_PIN=2468 ocp --trace read --role kiosk >/dev/null 2>"$E2E_TMP/trace"
grep -q "bytes protected" "$E2E_TMP/trace" || fail "trace shows no protected APDU"
grep -q "^> 00 A4 04 00" "$E2E_TMP/trace" || fail "trace lacks SELECT"
! grep -qi "32 34 36 38\|2468" "$E2E_TMP/trace" || fail "trace shows the PIN"

# Medical sees category and grade, not the name or the number.
ocp --json read --role medical >"$E2E_TMP/medical.json" || fail "read medical"
expect "medical category" "$(json "$E2E_TMP/medical.json" 'j["holder"]["category"]')" 4
expect "medical grade" "$(json "$E2E_TMP/medical.json" 'j["holder"]["grade"]')" 2
expect "medical fields" "$(json "$E2E_TMP/medical.json" 'sorted(j["holder"])')" \
    "['category', 'category_name', 'grade']"
ocp read --role medical | grep -q "李四" && fail "medical text shows the name"

# The kiosk with the PIN sees everything; a wrong PIN exits 5.
OCP_PIN=2468 ocp --json read --role kiosk >"$E2E_TMP/kiosk.json" || fail "read kiosk"
expect "kiosk name" "$(json "$E2E_TMP/kiosk.json" 'j["holder"]["name"]')" "李四"
expect "kiosk entitlements" "$(json "$E2E_TMP/kiosk.json" 'len(j["entitlements"])')" 3
set +e
OCP_PIN=1111 ocp read --role kiosk >/dev/null 2>"$E2E_TMP/err"
rc=$?
set -e
expect "wrong PIN exit code" "$rc" 5
grep -q "2 tries left" "$E2E_TMP/err" || fail "wrong PIN message: $(cat "$E2E_TMP/err")"

# Use, then the log as two domains.
ocp --terminal-id 0x0B000001 use --role transit --service 0x0101 --seq 1 >/dev/null
ocp --terminal-id 0x0C000001 use --role medical --service 0x0201 --seq 1 >/dev/null
ocp --json log --role transit >"$E2E_TMP/log.json" || fail "log transit"
expect "transit log" "$(json "$E2E_TMP/log.json" '[l["domain"] for l in j["log"]]')" "['transit']"
ocp --json log --role issuer >"$E2E_TMP/log.json" || fail "log issuer"
expect "issuer log" "$(json "$E2E_TMP/log.json" 'len(j["log"])')" 2

# Grant, credit, revoke.
ocp --json grant --entitlement 0x0701:venue:counter:12:year >"$E2E_TMP/g.json" || fail grant
slot=$(json "$E2E_TMP/g.json" 'j["slot"]')
expect "grant slot" "$slot" 4
ocp grant --credit 3:100000 >/dev/null || fail credit
OCP_PIN=2468 ocp --json read --role kiosk >"$E2E_TMP/kiosk.json"
expect "balance after credit" \
    "$(json "$E2E_TMP/kiosk.json" '[e["balance_fen"] for e in j["entitlements"] if e["kind"]=="balance"][0]')" 600000
ocp grant --revoke 4 >/dev/null || fail revoke

# Update the holder: re-signed, still valid.
ocp update --name "李四光" >/dev/null || fail update
ocp --json info >"$E2E_TMP/info.json" || fail info
expect "signature after update" "$(json "$E2E_TMP/info.json" 'j["signature"]')" valid
OCP_PIN=2468 ocp --json read --role kiosk >"$E2E_TMP/kiosk.json"
expect "updated name" "$(json "$E2E_TMP/kiosk.json" 'j["holder"]["name"]')" "李四光"

# Renew in place.
ocp --json renew --expiry 2040-06-30 >"$E2E_TMP/renew.json" || fail renew
expect "renewed expiry" "$(json "$E2E_TMP/renew.json" 'j["expiry_date"]')" 2040-06-30
ocp --json info >"$E2E_TMP/info.json"
expect "signature after renew" "$(json "$E2E_TMP/info.json" 'j["signature"]')" valid
expect "info expiry" "$(json "$E2E_TMP/info.json" 'j["expiry_date"]')" 2040-06-30

# PIN change by the holder, unblock by the issuer.
OCP_PIN=2468 OCP_NEW_PIN=8642 ocp pin change >/dev/null || fail "pin change"
OCP_PIN=8642 ocp read --role kiosk >/dev/null || fail "new PIN refused"
OCP_NEW_PIN=1357 ocp pin unblock >/dev/null || fail "pin unblock"

# Block, unblock, terminate.
ocp block >/dev/null || fail block
set +e
ocp --terminal-id 0x0B000001 use --role transit --service 0x0101 --seq 2 >/dev/null 2>&1
rc=$?
set -e
expect "use on a blocked card" "$rc" 7
ocp unblock >/dev/null || fail unblock
set +e
ocp terminate >/dev/null 2>&1
rc=$?
set -e
expect "terminate without --yes" "$rc" 2
ocp --json terminate --yes >"$E2E_TMP/t.json" || fail terminate
expect "terminated" "$(json "$E2E_TMP/t.json" 'j["state"]')" terminated
echo PASS
