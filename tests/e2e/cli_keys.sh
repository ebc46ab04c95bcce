#!/bin/bash
# e2e_cli_keys: ocp keys with the key file and with a PKCS#11 token
# (SoftHSM2 in its own configuration), and cards issued and used with each.
. "$(dirname "$0")/common.sh"

KF="$E2E_TMP/desk.keys"
export OCP_KEY_PASSPHRASE="correct horse battery"
code() { # WANT COMMAND...: run, expect exit code WANT
    local want=$1 rc
    shift
    set +e
    "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    set -e
    ((rc == want)) || fail "'$*' exited $rc, expected $want: $(cat "$E2E_TMP/err")"
}

# The key file: created 0600, listed without values, rotated.
"$OCP" --keys "file:$KF" keys create >/dev/null || fail "keys create"
[[ $(stat -c %a "$KF") == 600 ]] || fail "key file mode $(stat -c %a "$KF")"
"$OCP" --keys "file:$KF" --json keys list >"$E2E_TMP/list.json" || fail "keys list"
/usr/bin/python3 - "$E2E_TMP/list.json" <<'PY' || fail "keys list content"
import json, sys
j = json.load(open(sys.argv[1]))
keys = j["keys"]
assert len(keys) == 20, len(keys)                    # 2 suites x 10 slots
assert all(set(k) == {"suite", "slot", "version", "current", "kcv"} for k in keys)
assert all(len(k["kcv"]) == 6 for k in keys)
PY
"$OCP" --keys "file:$KF" keys rotate --suite AES --slot transit >/dev/null || fail rotate
"$OCP" --keys "file:$KF" --json keys list | grep -q '"slot": *"transit", *"version": *2' ||
    fail "rotation not listed"
"$OCP" --keys "file:$KF" keys export-issuer --suite SM --out "$E2E_TMP/sm.pem" ||
    fail "export-issuer"
grep -q "BEGIN PUBLIC KEY" "$E2E_TMP/sm.pem" || fail "issuer key not PEM"
batch=$("$OCP" --keys "file:$KF" keys batch 4F435000) || fail "batch"
[[ ${#batch} == 32 ]] || fail "batch key '$batch'"

# Refusals: wrong passphrase, a file others can read.
code 8 env OCP_KEY_PASSPHRASE=wrong "$OCP" --keys "file:$KF" keys list
grep -qi "passphrase" "$E2E_TMP/err" || fail "wrong passphrase message"
chmod 644 "$KF"
code 1 "$OCP" --keys "file:$KF" keys list
grep -q "chmod 600" "$E2E_TMP/err" || fail "mode message: $(cat "$E2E_TMP/err")"
chmod 600 "$KF"

# A card from the card maker's batch, issued (SM suite) and used.
e2e_card_start "$E2E_TMP/card.img" 35963 --card-id 4F43500000000007 --batch-key "$batch"
"$OCP" -r "$READER0" --keys "file:$KF" issue --suite SM --name 钱七 \
    --cert 11010119800101123X42 --district 110105 --pin 2468 \
    --entitlement 0x0101:transit:pass >/dev/null || fail "issue with the key file"
"$OCP" -r "$READER0" --keys "file:$KF" --json info | grep -q '"signature": *"valid"' ||
    fail "signature with the key file"
"$OCP" -r "$READER0" --keys "file:$KF" --terminal-id 0x0B000001 use \
    --role transit --service 0x0101 --seq 1 >/dev/null || fail "use with the key file"
# Key change: the SM card holds SM transit version 1; rotate it in the
# store and bring the card up to date.
"$OCP" --keys "file:$KF" keys rotate --suite SM --slot transit >/dev/null || fail rotate2
"$OCP" -r "$READER0" --keys "file:$KF" --json keys card >"$E2E_TMP/kc.json" || fail "keys card"
grep -q '"changed": *1' "$E2E_TMP/kc.json" || fail "keys card: $(cat "$E2E_TMP/kc.json")"
"$OCP" -r "$READER0" --json info | grep -q '"state": *"active"' || fail "card state"
"$OCP" -r "$READER0" --keys "file:$KF" --terminal-id 0x0B000001 use \
    --role transit --service 0x0101 --seq 2 >/dev/null || fail "use after key change"
"$OCP" -r "$READER0" --keys "file:$KF" --json keys card | grep -q '"changed": *0' ||
    fail "a second keys card changed something"
card_stop 35963

# A PKCS#11 token: keys made inside it; an AES card issued and used.
export SOFTHSM2_CONF="$E2E_TMP/softhsm2.conf"
mkdir -p "$E2E_TMP/tokens"
echo "directories.tokendir = $E2E_TMP/tokens" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label ocp-desk --pin 1234 --so-pin 5678 >/dev/null
URI="pkcs11:token=ocp-desk?pin-value=1234"
"$OCP" --keys "$URI" keys create >/dev/null || fail "keys create in the token"
"$OCP" --keys "$URI" --json keys list | grep -q '"suite": *"AES"' || fail "token list"
# The token has no batch keys: blank cards come from the development batch.
/usr/bin/python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes(range(16)))' \
    "$E2E_TMP/batch.bin"
pkcs11-tool --module /usr/lib/softhsm/libsofthsm2.so --login --pin 1234 \
    --write-object "$E2E_TMP/batch.bin" --type secrkey \
    --key-type AES:16 --label ocp-batch-4F435000 --sensitive \
    --usage-sign >/dev/null 2>&1 || fail "batch key import"
e2e_card_start "$E2E_TMP/card2.img" 35963 --card-id 4F43500000000008
"$OCP" -r "$READER0" --keys "$URI" issue --name 孙八 \
    --cert 11010119800101123X42 --district 110105 --pin 2468 \
    --entitlement 0x0201:medical:counter:2:month >/dev/null || fail "issue with the token"
"$OCP" -r "$READER0" --keys "$URI" --terminal-id 0x0C000001 use --role medical \
    --service 0x0201 --seq 1 >/dev/null || fail "use with the token"
# The token has no SM4: an SM card cannot be issued from it, and says why.
card_stop 35963
e2e_card_start "$E2E_TMP/card3.img" 35963 --card-id 4F43500000000009
code 8 "$OCP" -r "$READER0" --keys "$URI" issue --suite SM --name 周九 \
    --cert 11010119800101123X42 --district 110105 --pin 2468
grep -q "SM4\|GM/T" "$E2E_TMP/err" || fail "SM refusal message: $(cat "$E2E_TMP/err")"
echo PASS
