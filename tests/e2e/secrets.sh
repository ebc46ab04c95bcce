#!/bin/bash
# e2e_secrets: every subcommand at the highest verbosity and with --trace;
# no PIN, no card key, no master key, no session key and no clerk's
# password may appear in any output, in the journal, in the registry or in
# ocp-card's log.  The keys are the
# development store's, recomputed here from docs/KEYS.md; the session keys
# of every session in the traces are recomputed from the challenges and
# MUTUAL AUTHENTICATE commands the traces show (docs/PROTOCOL.md 1.2).
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
OUT="$E2E_TMP/all-output"
PIN=480753
NEWPIN=913462
CARD=4F4350000000C0DE
run() {
    local rc=0
    "$OCP" -r "$READER0" --keys "$KEYS" -v -v --trace "$@" >>"$OUT" 2>&1 || rc=$?
    echo "$rc ocp $*" >>"$E2E_TMP/runs"
}

e2e_card_start "$E2E_TMP/card.img" 35963 --card-id $CARD -vv
run issue --name 周九 --cert 11010119800101123X42 --district 110105 --pin $PIN \
    --entitlement 0x0101:transit:pass --entitlement 0x0201:medical:counter:2:month
run info
for role in transit medical issuer; do run read --role $role; run log --role $role; done
OCP_PIN=$PIN run read --role kiosk
OCP_PIN=$PIN run --terminal-id 0x0C000001 use --role medical --service 0x0201 \
    --ask-pin --journal "$E2E_TMP/j-med.db"
run --terminal-id 0x0B000001 use --role transit --service 0x0101 --journal "$E2E_TMP/j.db"
run --terminal-id 0x0B000001 use --role transit --service 0x0101 --seq 9
OCP_PIN=$PIN OCP_NEW_PIN=$NEWPIN run pin change
OCP_NEW_PIN=$PIN run pin unblock
run grant --credit 2:1
run update --name 周九九
run renew --years 3
run readers
run keys list
run keys card
run hotlist add 4F43500000000099 --list "$E2E_TMP/stop.txt"
run hotlist export --list "$E2E_TMP/stop.txt" --out "$E2E_TMP/hot" --version 1
run hotlist verify "$E2E_TMP/hot"
run --terminal-id 0x0B000001 terminal --role transit --service 0x0101 \
    --journal "$E2E_TMP/j.db" --hotlist "$E2E_TMP/hot" --count 1
# The desk with a registry: the clerk's password is a secret too.
DB="sqlite:$E2E_TMP/registry.db"
CLERKPW=clerk-word-60217
OCP_NEW_CLERK_PASSWORD=$CLERKPW run --db "$DB" registry clerk add desk1 \
    --name 柜员 --permissions credit,lifecycle,registry,audit
OCP_CLERK_PASSWORD=$CLERKPW run --db "$DB" --clerk desk1 grant --credit 2:1
OCP_CLERK_PASSWORD=$CLERKPW run --db "$DB" --clerk desk1 block
OCP_CLERK_PASSWORD=$CLERKPW run --db "$DB" --clerk desk1 registry trail
run unblock
run terminate --yes
# Every run must have done its job: a leak check over failed runs proves
# little.
if grep -v '^0 ' "$E2E_TMP/runs"; then
    fail "the runs above did not succeed"
fi
sqlite3 "$E2E_TMP/j-med.db" .dump >>"$OUT"
sqlite3 "$E2E_TMP/j.db" .dump >>"$OUT"
sqlite3 "$E2E_TMP/registry.db" .dump >>"$OUT"
cat "$OCP_RUN_DIR/ocp-card-35963.log" >>"$OUT"
[[ $(wc -l <"$OUT") -gt 50 ]] || fail "too little output to judge"
grep -q "bytes protected" "$OUT" || fail "no trace in the output"

# What must never appear: the PINs (as text and as APDU bytes), every
# development master and card key of this card, and the three session keys
# of every session the traces show, in the usual spellings; the clerk's
# password.
/usr/bin/python3 - "$OUT" "$CARD" "$PIN" "$NEWPIN" "$(dirname "$0")" "$CLERKPW" <<'PY' || fail "a secret leaked"
import re, sys
out, card, pins, here = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3:5], sys.argv[5]
sys.path.insert(0, here)
import pyscard_validator as v        # the independent terminal's key maths
raw = open(out, "rb").read().decode("utf-8", "replace")
text = raw.upper()
flat = text.replace(" ", "")
secrets = {"clerk password": sys.argv[6].upper()}
for pin in pins:
    secrets["PIN " + pin] = pin
    secrets["PIN bytes " + pin] = pin.encode().hex().upper()
for suite in (1, 2):
    for slot in range(1, 11):
        master = v.dev_master_key(suite, slot, 1)
        secrets["master %d/%d" % (suite, slot)] = master.hex().upper()
        key = v.card_key(suite, master, card, slot, 1)
        secrets["card key %d/%d" % (suite, slot)] = key.hex().upper()

# Sessions: RC from the last SELECT answer (offset 20) or GET CHALLENGE,
# then MUTUAL AUTHENTICATE 00 82 suite role 19 | version RH terminal time.
sessions = 0
rc = None
last_cmd = None
for line in raw.splitlines():
    m = re.match(r"^([<>])((?: [0-9A-F]{2})+)\s*$", line.strip())
    if not m:
        continue
    b = bytes.fromhex(m.group(2).replace(" ", ""))
    if m.group(1) == ">":
        last_cmd = b
        if b[:2] == b"\x00\x82" and len(b) >= 30 and rc is not None:
            suite, role, version = b[2], b[3], b[5]
            rh, term, dt = b[6:14], b[14:18], b[18:22]
            if version == 0:
                continue            # the blank card's transport key
            ctx = rh + rc + bytes([role]) + term + dt
            key = v.card_key(suite, v.dev_master_key(suite, role, version),
                             card, role, version)
            for name, const in (("S-ENC", 4), ("S-MAC", 6), ("S-RMAC", 7)):
                secrets["%s of session %d" % (name, sessions)] = \
                    v.kdf(suite, key, const, 128, ctx).hex().upper()
            # The recomputation is right only if it gives the cryptogram
            # the terminal sent.
            s_mac = v.kdf(suite, key, 6, 128, ctx)
            if v.kdf(suite, s_mac, 1, 64, ctx) != b[22:30]:
                print("session %d: recomputed keys do not match" % sessions)
                sys.exit(1)
            sessions += 1
    elif last_cmd is not None and len(b) >= 2:
        data = b[:-2]
        if last_cmd[:4] == b"\x00\xA4\x04\x00" and len(data) >= 28:
            rc = data[20:28]
        elif last_cmd[:2] == b"\x00\x84" and len(data) >= 8:
            rc = data[:8]
if sessions < 10:
    print("only %d sessions found in the traces" % sessions)
    sys.exit(1)
leaks = [name for name, s in secrets.items() if s in text or s in flat]
if leaks:
    print("leaked:", ", ".join(leaks))
    sys.exit(1)
print("checked %d secrets (%d sessions) against %d bytes of output"
      % (len(secrets), sessions, len(text)))
PY
echo PASS
