#!/bin/bash
# e2e_secrets: every card-touching subcommand at the highest verbosity and
# with --trace; no PIN, no card key and no master key may appear in any
# output, in the journal or in ocp-card's log.  The keys are the
# development store's, recomputed here from docs/KEYS.md.
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
OUT="$E2E_TMP/all-output"
PIN=480753
NEWPIN=913462
CARD=4F4350000000C0DE
run() { "$OCP" -r "$READER0" --keys "$KEYS" -v -v --trace "$@" >>"$OUT" 2>&1 || true; }

e2e_card_start "$E2E_TMP/card.img" 35963 --card-id $CARD -vv
run issue --name 周九 --cert 11010119800101123X42 --district 110105 --pin $PIN \
    --entitlement 0x0101:transit:pass --entitlement 0x0201:medical:counter:2:month
run info
for role in transit medical issuer; do run read --role $role; run log --role $role; done
OCP_PIN=$PIN run read --role kiosk
OCP_PIN=$PIN run --terminal-id 0x0C000001 use --role medical --service 0x0201 \
    --ask-pin --journal "$E2E_TMP/j.db"
run --terminal-id 0x0B000001 use --role transit --service 0x0101 --journal "$E2E_TMP/j.db"
run --terminal-id 0x0B000001 use --role transit --service 0x0101 --seq 9
OCP_PIN=$PIN OCP_NEW_PIN=$NEWPIN run pin change
OCP_NEW_PIN=$PIN run pin unblock
run grant --credit 2:1
run update --name 周九九
run renew --years 3
run keys list
run keys card
sqlite3 "$E2E_TMP/j.db" .dump >>"$OUT"
cat "$OCP_RUN_DIR/ocp-card-35963.log" >>"$OUT"
[[ $(wc -l <"$OUT") -gt 50 ]] || fail "too little output to judge"
grep -q "bytes protected" "$OUT" || fail "no trace in the output"

# What must never appear: the PINs (as text and as APDU bytes) and every
# development master and card key of this card, in the usual spellings.
/usr/bin/python3 - "$OUT" "$CARD" "$PIN" "$NEWPIN" "$(dirname "$0")" <<'PY' || fail "a secret leaked"
import sys
out, card, pins, here = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3:5], sys.argv[5]
sys.path.insert(0, here)
import pyscard_validator as v        # the independent terminal's key maths
text = open(out, "rb").read().decode("utf-8", "replace").upper()
flat = text.replace(" ", "")
secrets = {}
for pin in pins:
    secrets["PIN " + pin] = pin
    secrets["PIN bytes " + pin] = pin.encode().hex().upper()
for suite in (1, 2):
    for slot in range(1, 11):
        master = v.dev_master_key(suite, slot, 1)
        secrets["master %d/%d" % (suite, slot)] = master.hex().upper()
        key = v.card_key(suite, master, card, slot, 1)
        secrets["card key %d/%d" % (suite, slot)] = key.hex().upper()
leaks = [name for name, s in secrets.items() if s in text or s in flat]
if leaks:
    print("leaked:", ", ".join(leaks))
    sys.exit(1)
print("checked %d secrets against %d bytes of output" % (len(secrets), len(text)))
PY
echo PASS
