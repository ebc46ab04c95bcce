#!/bin/bash
# qemu_cli_nvm: the chip's memory under QEMU, through the ocp command.
#  1. `ocp issue` personalises the chip; every role authenticates; a
#     consumption, its repeat (same terminal and sequence: no second debit),
#     a debit from a balance, a wrong and a right PIN, the log.
#  2. QEMU stopped and started again: the card is exactly as it was.
#  3. The power cut at each page write of a consumption (the image's test
#     option cut=N:B: write N since reset gets B of its 64 bytes through,
#     then the chip stops): lost, torn half way, or complete with the chip
#     stopping right after it.  After the next power-up the card is in the
#     old state or the new one, never in between, and the sweep sees both.
#  4. QEMU killed with SIGKILL in the middle of a run of consumptions, at a
#     random moment: the same holds.
# "Old or new" is checked by an invariant that every consumption keeps: the
# balance plus 100 for each debit (the card's transaction counter, less the
# one transit use) is the initial balance, and the newest log record is the
# debit that left that balance.
. "$(dirname "$0")/qemu.sh"

KEYS="dev:$E2E_TMP/keys"
IMG="$E2E_TMP/card.img"
INITIAL=500000
ocp() { "$OCP" -r "$READER0" --keys "$KEYS" "$@"; }
expect() { # WHAT GOT WANT
    [[ "$2" == "$3" ]] || fail "$1: got '$2', expected '$3'"
}
debit() { # SEQ: one debit of 100 fen from the balance
    ocp --terminal-id 0x0C000011 --json use --role assistive --service 0x0401 \
        --amount 100 --seq "$1"
}
# Prints the number of debits the card committed, after checking the
# invariant.
debits_on_card() {
    ocp --json read --role issuer >"$E2E_TMP/read.json" || fail "read issuer"
    ocp --json log --role issuer >"$E2E_TMP/log.json" || fail "log issuer"
    /usr/bin/python3 - "$INITIAL" "$E2E_TMP/read.json" "$E2E_TMP/log.json" <<'PY'
import json, sys
initial = int(sys.argv[1])
card = json.load(open(sys.argv[2]))
log = json.load(open(sys.argv[3]))["log"]
balance = [e for e in card["entitlements"] if e["service"] == "0x0401"][0]["balance_fen"]
# Counter 1 was the transit pass; every later one is a debit.  The counter
# rather than the number of records: the log keeps only the newest 32.
newest = max(log, key=lambda l: l["counter"])
debits = newest["counter"] - 1
if balance + 100 * debits != initial:
    sys.exit("balance %d after %d debits: torn state" % (balance, debits))
if debits and (newest["service"], newest["amount"], newest["remaining"]) != ("0x0401", 100, balance):
    sys.exit("the newest log record %s does not leave the balance %d" % (newest, balance))
print(debits)
PY
}

t0=$SECONDS
# ---- 1. the flows through the chip ----------------------------------------
chip_start "$IMG"
ocp --json issue --name "王五" --cert 11010119850101123442 --district 110105 \
    --pin 2468 --entitlement 0x0101:transit:pass \
    --entitlement "0x0401:assistive:balance:$INITIAL" >"$E2E_TMP/issue.json" ||
    fail "ocp issue through the chip failed"
expect "issued state" "$(json "$E2E_TMP/issue.json" 'j["state"]')" active
for role in issuer transit medical rehab assistive subsidy venue; do
    ocp --json read --role "$role" >/dev/null || fail "read as $role"
done
ocp --terminal-id 0x0B000001 --json use --role transit --service 0x0101 \
    --seq 1 >"$E2E_TMP/use1.json" || fail "consumption"
ocp --terminal-id 0x0B000001 --json use --role transit --service 0x0101 \
    --seq 1 >"$E2E_TMP/use1r.json" || fail "repeated consumption"
expect "first use repeat" "$(json "$E2E_TMP/use1.json" 'j["repeat"]')" False
expect "retry repeat" "$(json "$E2E_TMP/use1r.json" 'j["repeat"]')" True
expect "retry counter" "$(json "$E2E_TMP/use1r.json" 'j["counter"]')" \
    "$(json "$E2E_TMP/use1.json" 'j["counter"]')"
expect "retry certificate" "$(json "$E2E_TMP/use1r.json" 'j["certificate"]')" \
    "$(json "$E2E_TMP/use1.json" 'j["certificate"]')"
debit 1 >"$E2E_TMP/debit.json" || fail "debit"
expect "balance after a debit" "$(json "$E2E_TMP/debit.json" 'j["remaining"]')" \
    $((INITIAL - 100))
set +e
OCP_PIN=1111 ocp log --role kiosk >/dev/null 2>"$E2E_TMP/err"
rc=$?
set -e
expect "wrong PIN exit code" "$rc" 5
grep -q "2 tries left" "$E2E_TMP/err" || fail "wrong PIN: $(cat "$E2E_TMP/err")"
OCP_PIN=2468 ocp --json log --role kiosk >"$E2E_TMP/kiosk-log.json" ||
    fail "log with the right PIN"
expect "log records" "$(json "$E2E_TMP/kiosk-log.json" 'len(j["log"])')" 2
ocp --json read --role issuer >"$E2E_TMP/before.json"
ocp --json log --role issuer >"$E2E_TMP/log-before.json"
chip_stop
echo "flows: $((SECONDS - t0)) s"

# ---- 2. QEMU restarted: the memory survived --------------------------------
chip_start "$IMG"
ocp --json read --role issuer >"$E2E_TMP/after.json"
ocp --json log --role issuer >"$E2E_TMP/log-after.json"
cmp -s "$E2E_TMP/before.json" "$E2E_TMP/after.json" ||
    fail "the card changed across a QEMU restart: $(diff "$E2E_TMP/before.json" "$E2E_TMP/after.json")"
cmp -s "$E2E_TMP/log-before.json" "$E2E_TMP/log-after.json" ||
    fail "the log changed across a QEMU restart"
n=$(debits_on_card) || fail "invariant after the restart"
expect "debits after the restart" "$n" 1
chip_stop
echo "restart: $((SECONDS - t0)) s"

# ---- 3. the power cut at every page write of a debit -----------------------
seq=10 old=0 new=0 writes=0
for cut in 1 2 3 4 5 6 7 8; do
    for torn in 0 32 64; do
        seq=$((seq + 1))
        chip_start "$IMG" "cut=$cut:$torn"
        if debit "$seq" >/dev/null 2>&1; then
            # The debit took fewer writes than the cut: the sweep is done.
            writes=$((cut - 1))
            chip_stop
            break 2
        fi
        qemu_wait_exit
        expect "chip exit status at cut $cut:$torn" "$QEMU_RC" 9
        card_stop 35963 || true # the bridge saw the chip go (exit 4)
        chip_start "$IMG"
        m=$(debits_on_card) || fail "after the cut at write $cut ($torn bytes)"
        if ((m == n)); then
            old=$((old + 1))
        elif ((m == n + 1)); then
            new=$((new + 1))
        else
            fail "cut $cut:$torn: $n debits before, $m after"
        fi
        echo "cut at write $cut, $torn bytes through: $([[ $m == "$n" ]] && echo old || echo new) state"
        n=$m
        chip_stop
    done
done
((writes > 0)) || fail "every cut of the sweep fell inside the debit: it never completed"
((old > 0 && new > 0)) || fail "the sweep saw $old old and $new new states; expected both"
echo "a debit (with the power cycle's DRBG step) writes $writes pages;" \
    "cuts gave $old old and $new new states"
echo "cuts: $((SECONDS - t0)) s"

# ---- 4. SIGKILL at a random moment of a run of debits ----------------------
for round in 1 2 3; do
    chip_start "$IMG"
    (
        while debit $((seq += 1)) >/dev/null 2>&1; do :; done
    ) &
    runner=$!
    sleep "0.$((RANDOM % 6 + 2))"
    kill -KILL "$QEMU_PID"
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=
    wait "$runner" || true
    seq=$((seq + 100))
    card_stop 35963 || true
    chip_start "$IMG"
    m=$(debits_on_card) || fail "after SIGKILL round $round"
    ((m >= n)) || fail "SIGKILL round $round lost debits: $n before, $m after"
    echo "SIGKILL round $round: $((m - n)) debits committed before the kill"
    n=$m
    chip_stop
done
echo "kills: $((SECONDS - t0)) s"
echo "stack_high_water $(qemu_stack_high_water) bytes"
echo PASS
