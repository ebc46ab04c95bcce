#!/bin/bash
# ccid_cli_terminal: `ocp terminal` over a USB CCID reader (the device model
# behind ocp-ccid-model), through a card pulled mid-tap with its last
# answer lost, the reader unplugged mid-tap and plugged back, and a stalled
# endpoint: the loop says what happened, as it does over PC/SC, and goes
# on; afterwards every consumption on the card is one accepted journal row.
#   cli_terminal.sh OCP-CCID-MODEL
. "$(dirname "$0")/common.sh" "$1"

run "insert card.img" issue --name 张三 --cert 11010119800101123X42 \
    --district 110105 --pin 2468 \
    --entitlement 0x0401:assistive:balance:1000000 >/dev/null || fail issue

run "insert card.img   # tap 1: accepted
remove
lose 3            # tap 2: CONSUME runs on the card, its answer is lost
insert card.img
wait              # (the card left with the answer)
insert card.img   # tap 3 finishes tap 2
remove
unplug-at 2       # tap 4: the reader goes away at MUTUAL AUTHENTICATE
insert card.img
wait              # the removal wait finds no reader,
wait              # nor does the wait for the next card: said once
replug
remove
insert card.img   # tap 5 finishes tap 4's journaled attempt
remove
stall 2           # tap 6: the bulk-in endpoint stalls for good
insert card.img
replug            # (the removal wait) a reader that enumerates afresh
remove
insert card.img   # tap 7: accepted
stop              # the operator stops the loop" \
    --terminal-id 0x0C000009 terminal --role assistive --service 0x0401 \
    --amount 100 --journal j.db >out 2>err
rc=$?
((rc == 0)) || fail "terminal exited $rc: $(cat err)"

accepted=$(grep -c '^ACCEPTED' out)
((accepted == 4)) || fail "$accepted taps accepted, not 4: $(cat out)"
grep -q 'seq 2 .*(finished an earlier, torn tap)' out ||
    fail "the torn tap was not finished: $(cat out)"
grep -q '^ocp terminal: tap interrupted (The card was removed' err ||
    fail "the pulled card: $(cat err)"
grep -q '^ocp terminal: tap interrupted (There is no such card reader' err ||
    fail "the unplugged reader mid-tap: $(cat err)"
[[ $(grep -c 'reader: There is no such card reader. (no USB CCID reader 1209:0ccd:0 found); waiting' err) == 1 ]] ||
    fail "the missing reader is not said once: $(cat err)"
grep -q '^ocp terminal: tap interrupted (.*[Tt]ransport' err ||
    fail "the stalled endpoint: $(cat err)"

# The journal: four accepted attempts, sequence 1 to 4, nothing pending.
[[ $(sqlite3 j.db "SELECT group_concat(seq || ':' || outcome || ':' || remaining, ' ') FROM attempts ORDER BY seq") == \
    "1:accepted:999900 2:accepted:999800 3:accepted:999700 4:accepted:999600" ]] ||
    fail "journal: $(sqlite3 j.db 'SELECT * FROM attempts')"

# The card, read back: the balance the journal says, and its log holds
# exactly the four transactions of this terminal.
run "insert card.img" --json read --role assistive >card.json ||
    fail "reading the card back"
run "insert card.img" --json log --role assistive >log.json ||
    fail "reading the card's log"
python3 - <<'PY' || fail "the card disagrees with the journal"
import json
card = json.load(open("card.json"))
log = json.load(open("log.json"))["log"]
left = card["entitlements"][0]["balance_fen"]
assert left == 999600, left
mine = sorted(l["counter"] for l in log if l["terminal"] == "0x0C000009")
assert mine == [1, 2, 3, 4], mine
assert all(l["amount"] == 100 for l in log if l["terminal"] == "0x0C000009")
PY
echo "ccid_cli_terminal: PASS"
