#!/bin/bash
# ccid_cli_batch: `ocp issue --batch` over a USB CCID reader (the device
# model behind ocp-ccid-model): card after card, one pulled in the middle
# of its issuance, a second run that refuses to finish that holder on
# another card, a third on the right card, and a reader unplugged while
# the batch waits (exit 3, as over PC/SC).  The report lines, the progress
# journal and the cards read back tell the same story.
#   cli_batch.sh OCP-CCID-MODEL
data=$(cd "$(dirname "$0")/../unit/data" && pwd)
. "$(dirname "$0")/common.sh" "$1"
export OCP_CATALOGUE=$data/../../../docs/catalogue.json
export OCP_PIN=2468
card_id() { # IMAGE: the card's id, as the reader sees it
    run "insert $1" --json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["card_id"])'
}

# Three good rows and a bad one (row 3).
{
    head -1 "$data/batch_ok.csv"
    sed -n '2p;4p' "$data/batch_ok.csv"
    echo 'Bad Row,123,110105,AES,1234,10,'
    sed -n '5p' "$data/batch_ok.csv"
} >batch.csv

# Run 1: row 1 on b1; b2 is pulled in the middle of row 2's issuance; the
# bad row asks for no card; row 4 on b4.
run "insert b1.img
remove
pull 4
insert b2.img
wait
insert b4.img
remove" issue --batch batch.csv >run1.out 2>run1.err
rc=$?
((rc == 1)) || fail "run 1 exited $rc: $(cat run1.err)"
grep -q '^\[1/4\] 张三: issued card ' run1.out || fail "row 1: $(cat run1.out)"
grep -q '^\[4/4\] 赵六: issued card ' run1.out || fail "row 4: $(cat run1.out)"
grep -q '^\[2/4\] 王小明: The card was removed' run1.err ||
    fail "row 2 not reported as pulled: $(cat run1.err)"
grep -q '^\[3/4\] batch.csv:4:' run1.err || fail "bad row: $(cat run1.err)"
grep -qx 'batch: 4 rows, 2 issued, 0 done before, 2 failed' run1.out ||
    fail "run 1 report: $(cat run1.out)"
b2=$(card_id b2.img)
grep -q "^start 44030419900315789353 $b2\$" batch.csv.progress ||
    fail "row 2's start on b2 not journaled: $(cat batch.csv.progress)"

# Run 2: another card offered for row 2: refused, nothing issued.
run "insert b4.img
remove" issue --batch batch.csv >run2.out 2>run2.err
rc=$?
((rc == 1)) || fail "run 2 exited $rc"
grep -q "王小明 was being issued on card $b2 when the last run stopped" run2.err ||
    fail "run 2 did not insist on b2: $(cat run2.err)"
grep -qx 'batch: 4 rows, 0 issued, 2 done before, 2 failed' run2.out ||
    fail "run 2 report: $(cat run2.out)"

# Run 3: b2 again: row 2 finished on it.
run "insert b2.img
remove" issue --batch batch.csv >run3.out 2>run3.err
rc=$?
((rc == 1)) || fail "run 3 exited $rc (the bad row stays bad)"
grep -q "^\[2/4\] 王小明: issued card $b2 " run3.out || fail "row 2: $(cat run3.out)"
grep -qx 'batch: 4 rows, 1 issued, 2 done before, 1 failed' run3.out ||
    fail "run 3 report: $(cat run3.out)"
[[ $(grep -c '^done' batch.csv.progress) == 3 ]] || fail "progress: $(cat batch.csv.progress)"

# Each card, read back as the issuer: its holder, active.
for pair in b1.img:张三 b2.img:王小明 b4.img:赵六; do
    img=${pair%%:*} name=${pair#*:}
    run "insert $img" --json read --role issuer >read.json || fail "reading $img"
    python3 - "$name" <<'PY' || fail "$img does not hold $name: $(cat read.json)"
import json, sys
card = json.load(open("read.json"))
assert card["holder"]["name"] == sys.argv[1], card["holder"]
assert card["state"] == "active", card["state"]
PY
done

# Run 4: the reader is unplugged while the batch waits for a card: the
# reader's error, exit 3, as over PC/SC.
{
    head -1 "$data/batch_ok.csv"
    sed -n '3p' "$data/batch_ok.csv"
} >one.csv
run "unplug" issue --batch one.csv >run4.out 2>run4.err
rc=$?
((rc == 3)) || fail "run 4 exited $rc: $(cat run4.err)"
grep -q '^ocp issue: the reader was unplugged' run4.err || fail "run 4: $(cat run4.err)"
grep -qx 'batch: 1 rows, 0 issued, 0 done before, 1 failed' run4.out ||
    fail "run 4 report: $(cat run4.out)"
echo "ccid_cli_batch: PASS"
