#!/bin/bash
# e2e_terminal_loop: a clinic counter loop that keeps running while the
# card is pulled at random moments (20 times, mid-tap included), pcscd is
# restarted under it (its reader vanishes and comes back), and still every
# consumption on the card is journaled exactly once.
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
PULLS=${OCP_TERMINAL_PULLS:-20}
J="$E2E_TMP/counter.db"

e2e_card_start "$E2E_TMP/a.img" 35963
"$OCP" -r "$READER0" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X42 --district 110105 --pin 2468 \
    --entitlement 0x0401:assistive:balance:1000000 >/dev/null || fail issue
card_stop 35963

"$OCP" -r "$READER0" --keys "$KEYS" --terminal-id 0x0C000009 terminal \
    --role assistive --service 0x0401 --amount 100 --journal "$J" \
    >"$E2E_TMP/loop.out" 2>"$E2E_TMP/loop.err" &
loop=$!
trap 'kill $loop 2>/dev/null || true; e2e_cleanup' EXIT

RANDOM=7 # the same "random" moments on every run
for i in $(seq "$PULLS"); do
    # Slow answers (150 ms each) so that many pulls land inside a tap.
    e2e_card_start "$E2E_TMP/a.img" 35963 --test-response-delay-ms 150 >/dev/null
    sleep "0.$((RANDOM % 99))"
    card_stop 35963 # pulled: before, during or after the tap
    if ((i == PULLS / 2)); then
        pcscd_stop # the reader vanishes under the running loop
        sleep 0.5
        pcscd_start
    fi
done
# A last, calm tap finishes whatever is still pending.
e2e_card_start "$E2E_TMP/a.img" 35963 >/dev/null
sleep 1.5
kill -TERM $loop
wait $loop || fail "the loop did not stop cleanly: $(tail "$E2E_TMP/loop.err")"
kill -0 $loop 2>/dev/null && fail "loop still running"

accepted=$(sqlite3 "$J" "SELECT COUNT(*) FROM attempts WHERE outcome='accepted'")
torn=$(grep -c "tap interrupted" "$E2E_TMP/loop.err" || true)
recovered=$(grep -c "finished an earlier, torn tap" "$E2E_TMP/loop.out" || true)
echo "taps accepted $accepted, torn $torn, finished later $recovered"
((accepted >= 1)) || fail "no tap was accepted"
((torn >= 1)) || fail "no pull landed in the middle of a tap: the test tested nothing torn"
# Nothing pending, nothing journaled twice, every consumption on the card
# one accepted row.
e2e_journal_matches_card "$KEYS" assistive 1000000 "$J"
echo PASS
