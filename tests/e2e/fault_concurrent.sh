#!/bin/bash
# e2e_fault_concurrent: two ocp programs on the same reader at once, round
# after round: two terminals (other ids, other journals) validating, a desk
# reading the card or its log while a terminal validates, a terminal loop
# and a single tap, and two taps of one terminal sharing its journal.
# Each subcommand runs inside one exclusive PC/SC transaction, so pcscd
# must serialise them: both finish, each with the right answer, no session
# is corrupted (a secure-messaging error would show as exit 8), and the
# card's balance drops by exactly what the journals accepted.
#
# Rounds: 20; 200 with OCP_TEST_FULL=1; OCP_FAULT_ROUNDS overrides both.
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
INITIAL=100000000
if [[ ${OCP_TEST_FULL:-0} == 1 ]]; then ROUNDS=200; else ROUNDS=20; fi
ROUNDS=${OCP_FAULT_ROUNDS:-$ROUNDS}
A1=100  # terminal 1's fare
A2=1000 # terminal 2's: the balance tells which terminal charged

e2e_card_start "$E2E_TMP/card.img" 35963
"$OCP" -r "$READER0" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X42 --district 110105 --pin 2468 \
    --entitlement "0x0401:assistive:balance:$INITIAL" >/dev/null || fail issue

ocp() { timeout 120 "$OCP" -r "$READER0" --keys "$KEYS" --json "$@"; }
use1() { ocp --terminal-id 0x0C000011 use --role assistive --service 0x0401 \
    --amount $A1 --journal "$E2E_TMP/t1.db"; }
use2() { ocp --terminal-id 0x0C000012 use --role assistive --service 0x0401 \
    --amount $A2 --journal "$E2E_TMP/t2.db"; }
loop3() { ocp --terminal-id 0x0C000013 terminal --role assistive \
    --service 0x0401 --amount $A1 --journal "$E2E_TMP/t3.db" --count 1; }
desk_read() { ocp read --role issuer; }
desk_log() { ocp log --role assistive; }

# Both at once; each one's output in a.json / b.json, exit codes in ra, rb.
pair() {
    "$1" >"$E2E_TMP/a.json" 2>"$E2E_TMP/a.err" &
    local pa=$!
    "$2" >"$E2E_TMP/b.json" 2>"$E2E_TMP/b.err" &
    local pb=$!
    set +e
    wait $pa
    ra=$?
    wait $pb
    rb=$?
    set -e
    ((ra == 0)) || fail "round $round: $1 beside $2: exit $ra: $(cat "$E2E_TMP/a.err")"
    ((rb == 0)) || fail "round $round: $2 beside $1: exit $rb: $(cat "$E2E_TMP/b.err")"
}
accepted() { # FILE: an accepted tap; prints its remaining
    [[ $(json "$1" 'j["result"]') == accepted ]] ||
        fail "round $round: not accepted: $(cat "$1")"
    json "$1" 'j["remaining"]'
}

left=$INITIAL
for round in $(seq "$ROUNDS"); do
    case $((round % 5)) in
    0)
        pair use1 use2
        ra=$(accepted "$E2E_TMP/a.json")
        rb=$(accepted "$E2E_TMP/b.json")
        # One after the other, in either order.
        [[ $ra == $((left - A1)) && $rb == $((left - A1 - A2)) ||
            $rb == $((left - A2)) && $ra == $((left - A1 - A2)) ]] ||
            fail "round $round: remaining $ra and $rb from $left"
        left=$((left - A1 - A2))
        ;;
    1)
        pair desk_read use1
        seen=$(json "$E2E_TMP/a.json" 'j["entitlements"][0]["balance_fen"]')
        [[ $seen == "$left" || $seen == $((left - A1)) ]] ||
            fail "round $round: the desk read $seen, around a tap from $left"
        [[ $(accepted "$E2E_TMP/b.json") == $((left - A1)) ]] ||
            fail "round $round: tap beside the desk: $(cat "$E2E_TMP/b.json")"
        left=$((left - A1))
        ;;
    2)
        pair desk_log use2
        top=$(json "$E2E_TMP/a.json" 'max(l["counter"] for l in j["log"]) if j["log"] else 0')
        [[ $(accepted "$E2E_TMP/b.json") == $((left - A2)) ]] ||
            fail "round $round: tap beside the log: $(cat "$E2E_TMP/b.json")"
        counter=$(json "$E2E_TMP/b.json" 'j["counter"]')
        # The log was read wholly before the tap or wholly after it.
        ((top == counter - 1 || top == counter)) ||
            fail "round $round: the log's newest record $top, the tap's $counter"
        left=$((left - A2))
        ;;
    3)
        pair loop3 use2
        [[ $(wc -l <"$E2E_TMP/a.json") == 1 ]] || fail "round $round: terminal printed $(cat "$E2E_TMP/a.json")"
        ra=$(accepted "$E2E_TMP/a.json")
        rb=$(accepted "$E2E_TMP/b.json")
        [[ $ra == $((left - A1)) && $rb == $((left - A1 - A2)) ||
            $rb == $((left - A2)) && $ra == $((left - A1 - A2)) ]] ||
            fail "round $round: remaining $ra and $rb from $left"
        left=$((left - A1 - A2))
        ;;
    4)
        # One terminal, two processes, one journal: SQLite and the card
        # each see them one after the other; two sequence numbers.
        pair use1 use1
        ra=$(accepted "$E2E_TMP/a.json")
        rb=$(accepted "$E2E_TMP/b.json")
        [[ $ra == $((left - A1)) && $rb == $((left - 2 * A1)) ||
            $rb == $((left - A1)) && $ra == $((left - 2 * A1)) ]] ||
            fail "round $round: remaining $ra and $rb from $left"
        [[ $(json "$E2E_TMP/a.json" 'j["seq"]') != $(json "$E2E_TMP/b.json" 'j["seq"]') ]] ||
            fail "round $round: two taps with one sequence number"
        left=$((left - 2 * A1))
        ;;
    esac
done
e2e_journal_matches_card "$KEYS" assistive "$INITIAL" \
    "$E2E_TMP/t1.db" "$E2E_TMP/t2.db" "$E2E_TMP/t3.db"
card_stop 35963
echo "rounds $ROUNDS, two programs on one reader in each: all finished, card and journals agree"
echo PASS
