#!/bin/bash
# e2e_replace: `ocp replace` for a lost card, through pcscd and the
# registry (SQLite).  Card A is issued with --db, used at two terminals,
# synced; one more tap stays in a terminal's journal.  A is "lost" (its
# ocp-card stops), a blank card B goes into the same reader and
# `ocp replace --card A` issues it with what the registry knows: the
# counter and the balance as last uploaded (not the unsynced tap).  The
# registry shows A replaced by B and on the hotlist.  Then A turns up at a
# terminal that has not synced the hotlist: the tap goes through, and the
# audit flags it `replaced` once it is uploaded, while the tap made before
# the replacement and uploaded after it is not flagged.  Publishing the
# hotlist and syncing closes the window: the terminal blocks A.
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
DB="sqlite:$E2E_TMP/registry.db"
TM=0x0C000001 # the clinic's counter (medical)
TA=0x0C000002 # the assistive-devices counter
A=4F43500000000A01
B=4F43500000000A02

reg() { "$OCP" --db "$DB" --keys "$KEYS" "$@"; }
sql() { sqlite3 "$E2E_TMP/registry.db" "$1"; }
# tap TERMINAL ROLE SERVICE [options]: one tap of the card in the reader
tap() {
    local t=$1 role=$2 service=$3
    shift 3
    "$OCP" -r "$READER0" --keys "$KEYS" --terminal-id "$t" --json use \
        --role "$role" --service "$service" --journal "$E2E_TMP/j-$t.db" "$@" \
        >"$E2E_TMP/tap.json" || fail "tap at $t: $(cat "$E2E_TMP/tap.json")"
    [[ $(json "$E2E_TMP/tap.json" 'j["result"]') == accepted ]] ||
        fail "tap at $t not accepted: $(cat "$E2E_TMP/tap.json")"
}
sync_t() {
    local t=$1
    shift
    reg --terminal-id "$t" --json sync --journal "$E2E_TMP/j-$t.db" \
        --terminal-key "$E2E_TMP/$t.pem" "$@" >"$E2E_TMP/sync.json" ||
        fail "sync $t: $(cat "$E2E_TMP/sync.json")"
}
expect() {
    local want=$1 rc=0
    shift
    "$@" >"$E2E_TMP/out.txt" 2>"$E2E_TMP/err.txt" || rc=$?
    ((rc == want)) || fail "$* exited $rc, not $want: $(cat "$E2E_TMP/err.txt")"
}

reg registry init >/dev/null || fail "registry init"
# The desk's clerk (docs/CLI.md, "The desk and its registry"): the
# registry's first, added without a login; every desk command below logs
# it in.
export OCP_CLERK=desk1 OCP_CLERK_PASSWORD="desk1 password"
OCP_NEW_CLERK_PASSWORD="desk1 password" "$OCP" --db "$DB" registry clerk add \
    desk1 --name 柜员 --permissions issue,grant,registry,audit >/dev/null ||
    fail "the desk's clerk"
reg registry terminal enrol $TM --operator clinic-3 --kind counter \
    --key-out "$E2E_TMP/$TM.pem" >/dev/null || fail "enrol $TM"
reg registry terminal enrol $TA --operator aids-centre --kind counter \
    --key-out "$E2E_TMP/$TA.pem" >/dev/null || fail "enrol $TA"

# ---- card A: issued, used, synced; one tap left unsynced ----------------
e2e_card_start "$E2E_TMP/a.img" 35963 --card-id $A
"$OCP" -r "$READER0" --keys "$KEYS" --db "$DB" issue --name 王五 \
    --cert 11010119850101123441 --district 110105 --pin 2468 \
    --entitlement 0x0201:medical:counter:5:month \
    --entitlement 0x0401:assistive:balance:10000 >/dev/null || fail "issue A"
tap $TM medical 0x0201
tap $TM medical 0x0201
tap $TA assistive 0x0401 --amount 2500
sync_t $TM
sync_t $TA
# Made before the replacement, uploaded after it.
tap $TM medical 0x0201
[[ $(json "$E2E_TMP/tap.json" 'j["remaining"]') == 2 ]] ||
    fail "A's counter: $(cat "$E2E_TMP/tap.json")"
card_stop 35963

# ---- the replacement --------------------------------------------------
expect 2 "$OCP" --keys "$KEYS" replace --card $A --name 王五 \
    --cert 11010119850101123441 --district 110105 --pin 1357 # no --db
expect 2 reg replace --card 4F43500000000AFF --name 王五 \
    --cert 11010119850101123441 --district 110105 --pin 1357 # unknown
grep -q "not in the registry" "$E2E_TMP/err.txt" || fail "unknown card: $(cat "$E2E_TMP/err.txt")"
e2e_card_start "$E2E_TMP/b.img" 35963 --card-id $B
reg -r "$READER0" --json replace --card $A --name 王五 \
    --cert 11010119850101123441 --district 110105 --pin 1357 \
    >"$E2E_TMP/replace.json" || fail "replace: $(cat "$E2E_TMP/replace.json")"
cat "$E2E_TMP/replace.json"
/usr/bin/python3 - "$E2E_TMP/replace.json" <<'PY' || fail "replace output: $(cat "$E2E_TMP/replace.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["card_id"] == "4F43500000000A02" and j["replaces"] == "4F43500000000A01", j
assert j["old_card_replaced"] is True and j["state"] == "active", j
e = {x["service"]: x for x in j["entitlements"]}
assert e["0x0201"]["remaining"] == 3 and e["0x0201"]["limit"] == 5, e
assert e["0x0401"]["balance_fen"] == 7500, e
PY
# B holds what the registry knew of A (the unsynced tap is not in it).
"$OCP" -r "$READER0" --keys "$KEYS" --json read --role issuer >"$E2E_TMP/b.json" ||
    fail "read B"
/usr/bin/python3 - "$E2E_TMP/b.json" <<'PY' || fail "B: $(cat "$E2E_TMP/b.json")"
import json, sys
j = json.load(open(sys.argv[1]))
e = {x["service"]: x for x in j["entitlements"]}
assert e["0x0201"]["kind"] == "counter" and e["0x0201"]["remaining"] == 3, e
assert e["0x0201"]["period"] == "month" and e["0x0201"]["limit"] == 5, e
assert e["0x0401"]["kind"] == "balance" and e["0x0401"]["balance_fen"] == 7500, e
assert j["holder"]["name"] == "王五", j
PY
# The registry: A replaced by B and listed; B recorded with its values.
[[ $(sql "SELECT state, replaced_by, replaced_at IS NOT NULL FROM cards WHERE card_id = '$A'") == "replaced|$B|1" ]] ||
    fail "A in the registry: $(sql "SELECT * FROM cards")"
[[ $(sql "SELECT COUNT(*) FROM hotlist WHERE card_id = '$A' AND removed_at IS NULL") == 1 ]] ||
    fail "A not on the hotlist: $(sql "SELECT * FROM hotlist")"
[[ $(sql "SELECT state FROM cards WHERE card_id = '$B'") == active ]] || fail "B not recorded"
[[ $(sql "SELECT service, known_remaining FROM entitlements WHERE card_id = '$B' ORDER BY slot" | tr '\n' ' ') == "513|3 1025|7500 " ]] ||
    fail "B's entitlements: $(sql "SELECT * FROM entitlements")"
# The desk trail: the new card's row names the old card, not the holder.
reg --json registry trail --card $B >"$E2E_TMP/trail.json" || fail "trail"
[[ $(json "$E2E_TMP/trail.json" 'j["action"], j["clerk"], j["detail"]["replaces"], j["detail"]["old_card_replaced"], len(j["detail"]["entitlements"])') == "('replace', 'desk1', '$A', True, 2)" ]] ||
    fail "trail: $(cat "$E2E_TMP/trail.json")"
! grep -q -e 王五 -e 1357 "$E2E_TMP/trail.json" || fail "holder data in the trail"
# Once only.
expect 2 reg -r "$READER0" replace --card $A --name 王五 \
    --cert 11010119850101123441 --district 110105 --pin 1357
grep -q "replaced already" "$E2E_TMP/err.txt" || fail "second replace: $(cat "$E2E_TMP/err.txt")"
card_stop 35963

# ---- A turns up at a terminal that has not synced the hotlist ----------
# The audit compares a use's minute with the replacement's second: wait
# for the next minute so that this tap is dated after the replacement.
sleep $((61 - 10#$(date +%S)))
e2e_card_start "$E2E_TMP/a.img" 35963 --card-id $A
tap $TM medical 0x0201
sync_t $TM
[[ $(json "$E2E_TMP/sync.json" 'j["stored"]') == 2 ]] || fail "late sync: $(cat "$E2E_TMP/sync.json")"
expect 12 reg --json audit
/usr/bin/python3 - "$E2E_TMP/out.txt" <<'PY' || fail "audit: $(cat "$E2E_TMP/out.txt")"
import json, sys
j = json.load(open(sys.argv[1]))
f = j["findings"]
# Only the tap after the replacement (A's counter 5); the one before it
# (counter 4), uploaded at the same time, is A's genuine use.
assert [(x["kind"], x["card_id"], x["counter"]) for x in f] == \
    [("replaced", "4F43500000000A01", 5)], f
assert j["summary"]["by_kind"]["replaced"] == 1, j["summary"]
PY

# ---- what B owes, and which terminals may still accept A ---------------
# Counter 4 (before the replacement, synced after it) and counter 5 (after
# it) were not carried over: both are B's debits.  No hotlist has been
# published since the replacement: both counters are open windows.
report() {
    reg --json report --from 2026-01-01 --to 2036-12-31 >"$E2E_TMP/report.json" ||
        fail "report: $(cat "$E2E_TMP/report.json")"
}
report
/usr/bin/python3 - "$E2E_TMP/report.json" <<'PY' || fail "report: $(cat "$E2E_TMP/report.json")"
import json, sys
j = json.load(open(sys.argv[1]))
d = [(x["old_card"], x["new_card"], x["counter"], x["service"], x["amount"], x["settled"])
     for x in j["replaced_card_uses"]]
assert d == [("4F43500000000A01", "4F43500000000A02", 4, "0x0201", 1, False),
             ("4F43500000000A01", "4F43500000000A02", 5, "0x0201", 1, False)], d
w = sorted((x["card"], x["terminal"], x["hotlist_published_at"]) for x in j["open_windows"])
assert w == [("4F43500000000A01", 0x0C000001, 0), ("4F43500000000A01", 0x0C000002, 0)], w
PY

# ---- closing the window ------------------------------------------------
reg --json hotlist export --out "$E2E_TMP/hot1" --version 1 --publish \
    >"$E2E_TMP/hx.json" || fail "hotlist export"
[[ $(json "$E2E_TMP/hx.json" 'j["cards"], j["published"]') == "(1, True)" ]] ||
    fail "export: $(cat "$E2E_TMP/hx.json")"
sync_t $TM --hotlist-out "$E2E_TMP/hot.bin"
"$OCP" -r "$READER0" --keys "$KEYS" --terminal-id $TM --json use --role medical \
    --service 0x0201 --journal "$E2E_TMP/j-$TM.db" --hotlist "$E2E_TMP/hot.bin" \
    >"$E2E_TMP/h.json" && fail "the replaced card was accepted after the hotlist sync"
[[ $(json "$E2E_TMP/h.json" 'j["blocked_now"]') == True ]] || fail "A not blocked: $(cat "$E2E_TMP/h.json")"
card_stop 35963
# The clinic's counter took the list; the devices counter has not yet.
report
[[ $(json "$E2E_TMP/report.json" '[(x["terminal"], x["hotlist_version"]) for x in j["open_windows"]]') == "[($((TA)), 0)]" ]] ||
    fail "open windows after one sync: $(cat "$E2E_TMP/report.json")"
sync_t $TA --hotlist-out "$E2E_TMP/hot-ta.bin"
report
[[ $(json "$E2E_TMP/report.json" 'len(j["open_windows"])') == 0 ]] ||
    fail "windows still open: $(cat "$E2E_TMP/report.json")"

# ---- the desk settles B's debits at the holder's next visit -------------
e2e_card_start "$E2E_TMP/b.img" 35963 --card-id $B
expect 2 "$OCP" -r "$READER0" --keys "$KEYS" settle # the debits are in the registry
reg -r "$READER0" --json settle >"$E2E_TMP/settle.json" ||
    fail "settle: $(cat "$E2E_TMP/settle.json")"
[[ $(json "$E2E_TMP/settle.json" '[(x["service"], x["owed"], x["taken"], x["remaining"]) for x in j["settled"]]') == "[('0x0201', 2, 2, 1)]" ]] ||
    fail "settle: $(cat "$E2E_TMP/settle.json")"
"$OCP" -r "$READER0" --keys "$KEYS" --json read --role issuer >"$E2E_TMP/b.json" || fail "read B"
[[ $(json "$E2E_TMP/b.json" '[x["remaining"] for x in j["entitlements"] if x["service"] == "0x0201"]') == "[1]" ]] ||
    fail "B after settling: $(cat "$E2E_TMP/b.json")"
# Once only: nothing is open any more, and the trail has the row.
reg -r "$READER0" --json settle >"$E2E_TMP/settle.json" || fail "settle again"
[[ $(json "$E2E_TMP/settle.json" 'j["settled"]') == "[]" ]] || fail "settled twice: $(cat "$E2E_TMP/settle.json")"
[[ $(sql "SELECT known_remaining FROM entitlements WHERE card_id = '$B' AND service = 513") == 1 ]] ||
    fail "B's known value: $(sql "SELECT * FROM entitlements WHERE card_id = '$B'")"
reg --json registry trail --card $B >"$E2E_TMP/trail.json" || fail "trail"
grep -q '"settle"' "$E2E_TMP/trail.json" || fail "no settle row: $(cat "$E2E_TMP/trail.json")"
report
[[ $(json "$E2E_TMP/report.json" '[x["settled"] for x in j["replaced_card_uses"]]') == "[True, True]" ]] ||
    fail "debits not settled: $(cat "$E2E_TMP/report.json")"
card_stop 35963
echo PASS
