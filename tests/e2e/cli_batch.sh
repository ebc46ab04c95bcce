#!/bin/bash
# e2e_cli_batch: ocp issue --holder and --batch through pcscd.  The batch
# waits for each blank card and for its removal (this script plays the
# clerk, inserting and removing virtual cards), reports bad rows with line
# and column, and a second run after an interruption issues nobody twice.
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
export OCP_CATALOGUE="$(dirname "$0")/../../docs/catalogue.json"
DATA="$(dirname "$0")/../unit/data"

# One holder from a JSON file.
e2e_card_start "$E2E_TMP/one.img" 35963
OCP_PIN=2468 "$OCP" -r "$READER0" --keys "$KEYS" --json issue \
    --holder "$DATA/holder_ok.json" >"$E2E_TMP/one.json" || fail "issue --holder"
[[ $(json "$E2E_TMP/one.json" 'j["entitlements"]') == 6 ]] || fail "entitlements"
card_stop 35963
# A malformed holder file: line and column, exit 2, no card touched.
printf '{\n  "name": "x",\n  "certificate": 12,\n  "district": "110105"\n}\n' >"$E2E_TMP/bad.json"
set +e
"$OCP" -r "$READER0" --keys "$KEYS" issue --holder "$E2E_TMP/bad.json" 2>"$E2E_TMP/err"
rc=$?
set -e
((rc == 2)) && grep -q "bad.json:3:" "$E2E_TMP/err" || fail "bad holder file: $rc $(cat "$E2E_TMP/err")"

# A batch of three good rows and one bad one.
{
    head -1 "$DATA/batch_ok.csv"
    sed -n '2p;4p' "$DATA/batch_ok.csv"
    echo 'Bad Row,123,110105,AES,1234,10,'
    sed -n '5p' "$DATA/batch_ok.csv"
} >"$E2E_TMP/batch.csv"

clerk() { # COUNT: insert blank cards one by one, each until it is issued
    local i=0 done_lines
    while ((i < $1)); do
        i=$((i + 1))
        e2e_card_start "$E2E_TMP/batch$i.img" 35963 >/dev/null
        for _ in $(seq 100); do
            done_lines=$(grep -c '^done' "$E2E_TMP/batch.csv.progress" 2>/dev/null || true)
            ((done_lines >= i)) && break
            sleep 0.1
        done
        card_stop 35963
    done
}
clerk 3 &
clerk_pid=$!
set +e
OCP_PIN=2468 timeout 60 "$OCP" -r "$READER0" --keys "$KEYS" --json issue \
    --batch "$E2E_TMP/batch.csv" >"$E2E_TMP/batch.out" 2>"$E2E_TMP/batch.err"
rc=$?
set -e
wait "$clerk_pid" || fail "the clerk failed"
((rc == 1)) || fail "batch exit code $rc (one bad row): $(cat "$E2E_TMP/batch.err")"
grep -q 'batch.csv:4:' "$E2E_TMP/batch.err" || fail "bad row not reported with its line"
[[ $(grep -c '"result": *"issued"' "$E2E_TMP/batch.out") == 3 ]] ||
    fail "three cards not issued: $(cat "$E2E_TMP/batch.out")"
[[ $(grep -c '^done' "$E2E_TMP/batch.csv.progress") == 3 ]] || fail "progress"

# Run again: everything is done already; no card is asked for.
set +e
OCP_PIN=2468 timeout 20 "$OCP" -r "$READER0" --keys "$KEYS" --json issue \
    --batch "$E2E_TMP/batch.csv" >"$E2E_TMP/again.out" 2>/dev/null
set -e
grep -q '"already_done": *3' "$E2E_TMP/again.out" ||
    fail "second run: $(cat "$E2E_TMP/again.out")"
echo PASS
