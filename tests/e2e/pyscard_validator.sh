#!/bin/bash
# e2e_pyscard_validator: a bus validator written by someone else, from
# docs/PROTOCOL.md alone, in Python over pyscard, validates a card that
# `ocp issue` personalised: three command/response pairs each time, and a
# retry with the same sequence number gives back the first certificate with
# the repeat flag (80) instead of a second consumption.
. "$(dirname "$0")/common.sh"

PY=/usr/bin/python3
VALIDATOR="$(dirname "$0")/pyscard_validator.py"
TERMINAL=0x7E570001

[[ -f "$VALIDATOR" ]] || fail "$VALIDATOR is missing"

# json_get JSON KEY: one field of the validator's --json line.
json_get() {
    "$PY" -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}

# validate SEQ: runs the validator; prints its JSON line, fails unless it
# exits 0 with 3 round trips.
validate() {
    local out rc=0
    out=$("$PY" "$VALIDATOR" --reader "$READER0" --service 0x0101 \
        --terminal-id "$TERMINAL" --seq "$1" --json) || rc=$?
    echo "validator seq $1: $out" >&2
    ((rc == 0)) || fail "the validator exited $rc for seq $1"
    [[ $(json_get "$out" result) == accepted ]] ||
        fail "seq $1 not accepted"
    [[ $(json_get "$out" round_trips) == 3 ]] ||
        fail "seq $1 took $(json_get "$out" round_trips) round trips, not 3"
    echo "$out"
}

e2e_card_start "$E2E_TMP/card.img" 35963
"$OCP" --reader "$READER0" --keys "dev:$E2E_TMP/keys" \
    issue --name "张三丰" --cert 11010119800101123X42 --district 110105 \
    --pin 2468 --entitlement 0x0101:transit:pass ||
    fail "ocp issue failed"

first=$(validate 1)
second=$(validate 1)
third=$(validate 1)

# The first consumes: counter 1, no repeat flag.
[[ $(json_get "$first" counter) == 1 ]] ||
    fail "first validation: counter $(json_get "$first" counter), not 1"
((0x$(json_get "$first" flags) & 0x80)) &&
    fail "first validation carries the repeat flag"
cert=$(json_get "$first" certificate)
# A retry consumes nothing: same counter, same certificate, flag 80, and
# the authentication already showed the terminal its own transaction.
check_repeat() { # NAME JSON
    [[ $(json_get "$2" flags) == 80 ]] ||
        fail "$1 validation: flags $(json_get "$2" flags), not 80"
    [[ $(json_get "$2" certificate) == "$cert" ]] ||
        fail "$1 validation: certificate $(json_get "$2" certificate), not $cert"
    [[ $(json_get "$2" counter) == 1 ]] ||
        fail "$1 validation: counter $(json_get "$2" counter), not 1"
    [[ $(json_get "$2" last_transaction.ours) == True ]] ||
        fail "$1 validation: the card did not report seq 1 as the last transaction"
    [[ $(json_get "$2" last_transaction.certificate) == "$cert" ]] ||
        fail "$1 validation: the last transaction's certificate differs"
}
check_repeat second "$second"
check_repeat third "$third"
card_stop 35963 || fail "ocp-card did not stop cleanly"
echo PASS
