#!/bin/bash
# e2e_fault_kill: the card process dies at random points of a validation,
# round after round.  Each round starts the card from its image with a
# fault: either it dies right after processing APDU k of the tap (before
# answering it; --test-exit-after-apdus, k random in 1..3: SELECT, MUTUAL
# AUTHENTICATE, CONSUME), or it answers slowly and is SIGKILLed a random
# moment after command k reached it (inside the command, or after its
# answer: between commands, or after the tap).  `ocp use --journal` must
# then either have finished the tap or fail as a removed card (exit 4),
# never anything else; the card is started again from its image and the
# tap retried, which must finish it with the same sequence number and
# charge exactly once.  At the end the journal and the card agree
# (e2e_journal_matches_card).  terminal_loop.sh pulls the card under a
# running `ocp terminal`; this one kills it inside single commands.
#
# Rounds: 20; 200 with OCP_TEST_FULL=1; OCP_FAULT_ROUNDS overrides both
# (fewer under OCP_E2E_VALGRIND=1, where each ocp run takes seconds).
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
J="$E2E_TMP/counter.db"
IMG="$E2E_TMP/card.img"
CARDLOG="$OCP_RUN_DIR/ocp-card-35963.log"
INITIAL=100000000
if [[ ${OCP_TEST_FULL:-0} == 1 ]]; then ROUNDS=200; else ROUNDS=20; fi
ROUNDS=${OCP_FAULT_ROUNDS:-$ROUNDS}

e2e_card_start "$IMG" 35963
"$OCP" -r "$READER0" --keys "$KEYS" issue --name 张三 \
    --cert 11010119800101123X42 --district 110105 --pin 2468 \
    --entitlement "0x0401:assistive:balance:$INITIAL" >/dev/null || fail issue
card_stop 35963

# One tap of the clinic counter; the trace (stderr) shows which commands
# were answered.  `timeout`: a hang fails the test instead of stalling it.
tap() { # AMOUNT OUT ERR
    timeout 300 "$OCP" -r "$READER0" --keys "$KEYS" --terminal-id 0x0C00000A \
        --trace --json use --role assistive --service 0x0401 --amount "$1" \
        --journal "$J" >"$2" 2>"$3"
}
# Commands the card received since byte $1 of its log (-vv logs each one's
# header as it arrives, before processing it).
received() { tail -c +"$(($1 + 1))" "$CARDLOG" 2>/dev/null | grep -c '^ocp-card: > ' || true; }
# Answers the host got, from its trace ("< (...)" is a failed exchange).
answered() { grep '^< ' "$1" | grep -vc '^< (' || true; }
pending() { sqlite3 "$J" "SELECT COUNT(*) FROM attempts WHERE outcome='pending'"; }

before=0 mid=0 between=0 after=0 recovered=0 exitkills=0
left=$INITIAL
RANDOM=20261129 # the same "random" points on every run
for round in $(seq "$ROUNDS"); do
    amount=$((100 + RANDOM % 900))
    k=$((1 + RANDOM % 3))
    off=$(stat -c %s "$CARDLOG" 2>/dev/null || echo 0)
    if ((RANDOM % 2)); then
        exitkills=$((exitkills + 1))
        e2e_card_start "$IMG" 35963 -v --test-exit-after-apdus "$k" >/dev/null
        set +e
        tap "$amount" "$E2E_TMP/out" "$E2E_TMP/err"
        rc=$?
        set -e
    else
        # 40 ms per answer, and the kill 0-59 ms after command k arrived:
        # inside that command or after its answer.
        e2e_card_start "$IMG" 35963 -v --test-response-delay-ms 40 >/dev/null
        card=$(<"$OCP_RUN_DIR/ocp-card-35963.pid")
        tap "$amount" "$E2E_TMP/out" "$E2E_TMP/err" &
        host=$!
        while (($(received "$off") < k)) && kill -0 $host 2>/dev/null; do
            sleep 0.005
        done
        sleep "$(printf '0.%03d' $((RANDOM % 60)))"
        kill -KILL "$card" 2>/dev/null || true
        set +e
        wait $host
        rc=$?
        set -e
    fi
    card_stop 35963 >/dev/null 2>&1 || true # gone already: wait for the reader
    got=$(received "$off")
    ans=$(answered "$E2E_TMP/err")
    case $rc in
    0) after=$((after + 1)) ;;
    4)
        if ((got == 0)); then
            before=$((before + 1))
        elif ((got > ans)); then
            mid=$((mid + 1))
        else
            between=$((between + 1))
        fi
        ;;
    *) fail "round $round: the torn tap ended with exit $rc, not 0 or 4: $(cat "$E2E_TMP/err")" ;;
    esac
    spent=$amount
    if ((rc == 0)); then
        [[ $(json "$E2E_TMP/out" 'j["remaining"]') == $((left - amount)) ]] ||
            fail "round $round: tap before the kill: $(cat "$E2E_TMP/out")"
        left=$((left - amount))
        continue
    fi
    torn_seq=$(sqlite3 "$J" "SELECT seq FROM attempts WHERE outcome='pending'")
    # The card again, from its image, calm; the holder taps again.
    e2e_card_start "$IMG" 35963 >/dev/null
    tap "$amount" "$E2E_TMP/out" "$E2E_TMP/err" ||
        fail "round $round: the retry failed: $(cat "$E2E_TMP/err")"
    card_stop 35963
    [[ $(json "$E2E_TMP/out" 'j["result"]') == accepted ]] ||
        fail "round $round: retry not accepted: $(cat "$E2E_TMP/out")"
    [[ $(json "$E2E_TMP/out" 'j["remaining"]') == $((left - spent)) ]] ||
        fail "round $round: charged $((left - $(json "$E2E_TMP/out" 'j["remaining"]'))) for one tap of $amount (k=$k)"
    if [[ -n $torn_seq ]]; then
        [[ $(json "$E2E_TMP/out" 'j["seq"]') == "$torn_seq" ]] ||
            fail "round $round: the retry did not finish pending seq $torn_seq"
    fi
    [[ $(json "$E2E_TMP/out" 'j["recovered"]') == True ]] && recovered=$((recovered + 1))
    (($(pending) == 0)) || fail "round $round: an attempt is still pending"
    left=$((left - spent))
done

e2e_card_start "$IMG" 35963 >/dev/null
e2e_journal_matches_card "$KEYS" assistive "$INITIAL" "$J"
card_stop 35963
echo "rounds $ROUNDS ($exitkills died after APDU k, $((ROUNDS - exitkills)) SIGKILLed):" \
    "kills before the first command $before, inside a command $mid," \
    "between commands $between, after the tap $after;" \
    "retries that found the torn consumption already on the card $recovered"
((mid >= 1)) || fail "no kill landed inside a command: nothing torn was tested"
((recovered >= 1)) || fail "no torn consumption was recovered: the idempotent retry went untested"
echo PASS
