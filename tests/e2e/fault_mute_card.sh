#!/bin/bash
# e2e_fault_mute_card: a card that never answers.  Through pcscd and vpcd,
# SCardTransmit to such a card blocks for ever (measured: still blocked
# after 150 s), so libocp gives each PC/SC call a deadline (--card-timeout,
# ocp_pcsc_connect_timeout).  Checked here:
#  - `ocp info` and `ocp use` on a card mute from its first command give up
#    after the timeout with exit 10 and say why, even while pcscd is still
#    stuck on the first one;
#  - a card that commits CONSUME and then hangs: the tap times out, the
#    attempt stays pending, and the next tap finishes it without charging
#    twice;
#  - `ocp terminal` reports each mute tap and serves the next card, and
#    once the mute card has left it holds no extra thread or descriptor
#    (the abandoned PC/SC call is freed by its worker).
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
IMG="$E2E_TMP/card.img"
CARDLOG="$OCP_RUN_DIR/ocp-card-35963.log"
INITIAL=500000
# Process start under valgrind (scripts/test --full) takes seconds.
if [[ ${OCP_E2E_VALGRIND:-0} == 1 ]]; then SLACK_MS=15000; else SLACK_MS=3000; fi

e2e_card_start "$IMG" 35963
"$OCP" -r "$READER0" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X42 --district 110105 --pin 2468 \
    --entitlement "0x0401:assistive:balance:$INITIAL" >/dev/null || fail issue
card_stop 35963

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# The mute card sleeps with SIGTERM blocked; it goes with SIGKILL.
kill_card() {
    kill -KILL "$(<"$OCP_RUN_DIR/ocp-card-35963.pid")" 2>/dev/null || true
    card_stop 35963 >/dev/null 2>&1 || true
}
# expect_timeout WHAT SECONDS ocp-args...: exit 10, said so, in time.
expect_timeout() {
    local what=$1 secs=$2 start rc took
    shift 2
    start=$(now_ms)
    set +e
    timeout 120 "$OCP" -r "$READER0" --keys "$KEYS" --card-timeout "$secs" \
        "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    set -e
    took=$(($(now_ms) - start))
    echo "$what: exit $rc after $took ms (--card-timeout $secs)"
    ((rc == 10)) || fail "$what: exit $rc, not 10: $(cat "$E2E_TMP/err")"
    grep -q -- "--card-timeout" "$E2E_TMP/err" || fail "$what: no clear error: $(cat "$E2E_TMP/err")"
    ((took >= secs * 1000)) || fail "$what: gave up before the timeout"
    ((took < secs * 1000 + SLACK_MS)) || fail "$what: took $took ms"
}

# 1. Mute from the first command (SELECT is never answered).
e2e_card_start "$IMG" 35963 --test-response-delay-ms 600000 >/dev/null
expect_timeout "info, mute card" 2 info
# pcscd itself is still blocked in the first program's exchange: the
# connect or the transaction of the second waits, and gives up as well.
expect_timeout "use, mute card, pcscd still stuck" 2 --terminal-id 0x0C00000B \
    use --role assistive --service 0x0401 --amount 100 --journal "$E2E_TMP/j.db"
kill_card
[[ $(sqlite3 "$E2E_TMP/j.db" "SELECT COUNT(*) FROM attempts") == 0 ]] ||
    fail "an attempt was journaled for a card that never answered SELECT"

# 2. The card commits CONSUME (its third command) and hangs before the
# answer: frozen with SIGSTOP inside its 300 ms answer delay.
off=$(stat -c %s "$CARDLOG")
e2e_card_start "$IMG" 35963 -v --test-response-delay-ms 300 >/dev/null
card=$(<"$OCP_RUN_DIR/ocp-card-35963.pid")
use() {
    timeout 120 "$OCP" -r "$READER0" --keys "$KEYS" --terminal-id 0x0C00000B \
        --card-timeout 2 --json use --role assistive --service 0x0401 \
        --amount 700 --journal "$E2E_TMP/j.db"
}
use >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
host=$!
processed() { tail -c +"$((off + 1))" "$CARDLOG" | grep -c '^ocp-card: < ' || true; }
while (($(processed) < 3)) && kill -0 $host 2>/dev/null; do
    sleep 0.01
done
kill -STOP "$card"
stopped=$(now_ms)
set +e
wait $host
rc=$?
set -e
echo "CONSUME committed, answer never sent: exit $rc after $(($(now_ms) - stopped)) ms"
((rc == 10)) || fail "hung CONSUME: exit $rc: $(cat "$E2E_TMP/err")"
[[ $(sqlite3 "$E2E_TMP/j.db" "SELECT outcome FROM attempts") == pending ]] ||
    fail "the timed-out tap is not pending in the journal"
kill_card
e2e_card_start "$IMG" 35963 >/dev/null
use >"$E2E_TMP/out" || fail "the retap failed"
card_stop 35963
[[ $(json "$E2E_TMP/out" 'j["recovered"]') == True &&
    $(json "$E2E_TMP/out" 'j["seq"]') == 1 &&
    $(json "$E2E_TMP/out" 'j["remaining"]') == $((INITIAL - 700)) ]] ||
    fail "after the hung CONSUME: $(cat "$E2E_TMP/out")"
[[ $(sqlite3 "$E2E_TMP/j.db" "SELECT COUNT(*) FROM attempts WHERE outcome='pending'") == 0 ]] ||
    fail "still pending after the retap"

# 3. The terminal loop meets mute cards between good ones.
"$OCP" -r "$READER0" --keys "$KEYS" --terminal-id 0x0C00000C --card-timeout 1 \
    terminal --role assistive --service 0x0401 --amount 100 \
    --journal "$E2E_TMP/t.db" >"$E2E_TMP/loop.out" 2>"$E2E_TMP/loop.err" &
loop=$!
trap 'kill $loop 2>/dev/null || true; e2e_cleanup' EXIT
# wait_for FILE PATTERN COUNT SECONDS
wait_for() {
    local tenths=$(($4 * 10))
    while (($(grep -c "$2" "$1" || true) < $3)); do
        ((tenths-- > 0)) || fail "waited $4 s for '$2' in $(basename "$1"): $(cat "$1")"
        kill -0 $loop 2>/dev/null || fail "the terminal loop died: $(cat "$E2E_TMP/loop.err")"
        sleep 0.1
    done
}
e2e_card_start "$IMG" 35963 >/dev/null
wait_for "$E2E_TMP/loop.out" ACCEPTED 1 30
card_stop 35963
sleep 1.5 # the loop sees the card leave (1 s polls)
fds=$(ls /proc/$loop/fd | wc -l)
tasks=$(ls /proc/$loop/task | wc -l)
for n in 1 2 3; do
    e2e_card_start "$IMG" 35963 --test-response-delay-ms 600000 >/dev/null
    present=$(now_ms)
    wait_for "$E2E_TMP/loop.err" "did not answer" "$n" 30
    echo "terminal: mute tap $n given up $(($(now_ms) - present)) ms after the card was present"
    # Meanwhile the abandoned call still blocks its worker thread.
    (($(ls /proc/$loop/task | wc -l) == tasks + 1)) ||
        fail "mute tap $n: $(ls /proc/$loop/task | wc -l) threads while the card hangs, $tasks before"
    kill_card
    sleep 1.5
    # The worker left blocked in SCardTransmit returned when the card went,
    # and freed its context: nothing of the mute tap is left.
    (($(ls /proc/$loop/task | wc -l) == tasks)) ||
        fail "mute tap $n: $(ls /proc/$loop/task | wc -l) threads, $tasks before"
    (($(ls /proc/$loop/fd | wc -l) == fds)) ||
        fail "mute tap $n: $(ls /proc/$loop/fd | wc -l) descriptors open, $fds before"
done
e2e_card_start "$IMG" 35963 >/dev/null
wait_for "$E2E_TMP/loop.out" ACCEPTED 2 30
card_stop 35963
kill -TERM $loop
wait $loop || fail "the loop did not stop cleanly: $(tail "$E2E_TMP/loop.err")"
echo "terminal: $(grep -c ACCEPTED "$E2E_TMP/loop.out") accepted, $(grep -c 'did not answer' "$E2E_TMP/loop.err") mute taps given up; $tasks thread(s) and $fds descriptors before and after"
echo PASS
