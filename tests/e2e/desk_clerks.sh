#!/bin/bash
# e2e_desk_clerks: the desk with a registry (docs/CLI.md, "The desk and its
# registry"), through pcscd, on SQLite and then on the `postgres` fixture's
# server.  The first clerk without a login, then never again; a desk
# command refused before the card is touched without a clerk, with a wrong
# password, without the permission, by a disabled clerk (the card read
# before and after is the same); one trail row per command, with its
# fields; a credit above the threshold and a PIN unblock wait for a second
# clerk, who is never the requester; the approval is spent once, on that
# card and amount only; a trail that cannot be written after the card
# changed is said, with the row, and exit 11; the trail read is logged.
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"

# by CLERK CMD...: ocp on $DB and the card in the reader, as CLERK (each
# clerk's password is "CLERK-password"; "nobody" has none)
by() {
    local who=$1
    shift
    OCP_CLERK_PASSWORD="$who-password" "$OCP" -r "$READER0" --keys "$KEYS" \
        --db "$DB" --clerk "$who" "$@"
}
# anon CMD...: the same with no clerk at all
anon() { "$OCP" -r "$READER0" --keys "$KEYS" --db "$DB" "$@"; }
# expect CODE CMD...: CMD exits with CODE (stdout in out.txt, stderr in
# err.txt)
expect() {
    local want=$1 rc=0
    shift
    "$@" >"$E2E_TMP/out.txt" 2>"$E2E_TMP/err.txt" || rc=$?
    ((rc == want)) || fail "$* exited $rc, not $want: $(cat "$E2E_TMP/err.txt")"
}
# snap NAME: the card as the issuer reads it, in NAME.json
snap() {
    "$OCP" -r "$READER0" --keys "$KEYS" --json read --role issuer \
        >"$E2E_TMP/$1.json" || fail "reading the card"
}
unchanged() { # BEFORE WHAT: the card still reads as snap BEFORE did
    snap now
    cmp -s "$E2E_TMP/$1.json" "$E2E_TMP/now.json" ||
        fail "$2 changed the card: $(cat "$E2E_TMP/$1.json") -> $(cat "$E2E_TMP/now.json")"
}
# trail_is CARD EXPR: the card's trail (read by root, --json) satisfies the
# Python expression EXPR over `rows` and `last`
trail_is() {
    local card=$1 expr=$2
    by root --json registry trail --card "$card" >"$E2E_TMP/trail.json" ||
        fail "reading the trail"
    /usr/bin/python3 - "$E2E_TMP/trail.json" "$expr" <<'PY' ||
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
last = rows[-1] if rows else None
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
        fail "trail of $card: $expr: $(cat "$E2E_TMP/trail.json")"
}
trail_rows() { # CARD: how many rows the card's trail has
    by root --json registry trail --card "$1" | wc -l
}
# A PIN tried wrong until the card blocks it.
block_pin() {
    local i
    for i in 1 2 3; do
        OCP_PIN=0000 "$OCP" -r "$READER0" --keys "$KEYS" read --role kiosk \
            >/dev/null 2>&1 && fail "a wrong PIN was accepted"
    done
    expect 5 env OCP_PIN="$1" "$OCP" -r "$READER0" --keys "$KEYS" read --role kiosk
}
approval_id() { json "$E2E_TMP/out.txt" 'j["approval_needed"]'; }

# scenario DB-URI SQL-FUNCTION CARD1 CARD2
scenario() {
    DB=$1
    local sql=$2 c1=$3 c2=$4 n p m q u
    echo "---- ${DB%%:*}"
    anon registry init >/dev/null || fail "registry init"

    # ---- no clerk yet: nothing changes a card; the first clerk ------------
    e2e_card_start "$E2E_TMP/$c1.img" 35963 --card-id "$c1"
    expect 13 anon issue --name 王五 --cert 11010119850101123441 \
        --district 110105 --pin 2468 --entitlement 0x0101:transit:pass
    grep -q -- "--clerk" "$E2E_TMP/err.txt" || fail "no hint: $(cat "$E2E_TMP/err.txt")"
    [[ $("$OCP" -r "$READER0" --json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])') == blank ]] ||
        fail "the refused issue touched the blank card"
    # The first clerk needs the registry permission, and there is one first.
    expect 2 env OCP_NEW_CLERK_PASSWORD=root-password "$OCP" --db "$DB" \
        registry clerk add root --name 管理员 --permissions audit
    OCP_NEW_CLERK_PASSWORD=root-password "$OCP" --db "$DB" registry clerk add \
        root --name 管理员 --permissions registry,audit >/dev/null ||
        fail "the first clerk"
    expect 13 env OCP_NEW_CLERK_PASSWORD=x-password "$OCP" --db "$DB" \
        registry clerk add mallory --name x --permissions registry
    local who perms
    while read -r who perms; do
        OCP_NEW_CLERK_PASSWORD="$who-password" by root registry clerk add \
            "$who" --name "clerk $who" --permissions "$perms" >/dev/null ||
            fail "adding $who"
    done <<'EOF'
wang issue,grant,credit,pin,lifecycle,approve
li approve,pin
zhao grant
chen issue,grant,credit,pin,lifecycle
EOF
    OCP_NEW_CLERK_PASSWORD=x-password expect 13 by wang registry clerk \
        add sun --name x --permissions issue
    OCP_NEW_CLERK_PASSWORD=x-password expect 2 by root registry clerk \
        add sun --name x --permissions issue,fly
    by root --json registry clerk list >"$E2E_TMP/clerks.json" || fail "clerk list"
    ! grep -q scrypt "$E2E_TMP/clerks.json" || fail "the listing shows password hashes"
    /usr/bin/python3 - "$E2E_TMP/clerks.json" <<'PY' || fail "clerk list: $(cat "$E2E_TMP/clerks.json")"
import json, sys
rows = {r["clerk"]: r for r in map(json.loads, open(sys.argv[1]))}
assert sorted(rows) == ["chen", "li", "root", "wang", "zhao"], rows
assert rows["li"]["permissions"] == ["approve", "pin"], rows["li"]
assert all(r["disabled_at"] is None for r in rows.values())
PY

    # ---- issue: one row, no holder fields, no PIN --------------------------
    by wang issue --name 王五 --cert 11010119850101123441 --district 110105 \
        --pin 2468 --entitlement 0x0101:transit:pass \
        --entitlement 0x0201:medical:counter:5:month \
        --entitlement 0x0401:assistive:balance:10000 >/dev/null || fail "issue"
    trail_is "$c1" 'len(rows) == 1 and last["action"] == "issue" and last["clerk"] == "wang" and last["card_id"] == "'"$c1"'" and last["detail"]["suite"] == "AES" and [e["service"] for e in last["detail"]["entitlements"]] == ["0x0101", "0x0201", "0x0401"] and last["approval_id"] is None and last["at"].endswith("Z")'
    ! grep -q -e 王五 -e 11010119850101123441 -e 2468 -e 110105 "$E2E_TMP/trail.json" ||
        fail "holder data or PIN in the trail: $(cat "$E2E_TMP/trail.json")"
    snap base

    # ---- refused before the card is touched ----------------------------------
    by root registry clerk disable chen >/dev/null || fail "disable chen"
    expect 13 anon grant --credit 3:100
    grep -q "credit permission" "$E2E_TMP/err.txt" || fail "no clerk: $(cat "$E2E_TMP/err.txt")"
    expect 13 env OCP_CLERK_PASSWORD=wrong-password "$OCP" -r "$READER0" \
        --keys "$KEYS" --db "$DB" --clerk wang grant --credit 3:100
    grep -q "not logged in" "$E2E_TMP/err.txt" || fail "wrong password: $(cat "$E2E_TMP/err.txt")"
    expect 13 by nobody grant --credit 3:100
    expect 13 by zhao grant --credit 3:100
    grep -q "needs the credit permission" "$E2E_TMP/err.txt" ||
        fail "missing permission: $(cat "$E2E_TMP/err.txt")"
    expect 13 by li block
    expect 13 by chen block
    grep -q "not logged in" "$E2E_TMP/err.txt" || fail "disabled: $(cat "$E2E_TMP/err.txt")"
    expect 13 by chen update --district 110106
    unchanged base "a refused command"
    [[ $(trail_rows "$c1") == 1 ]] || fail "a refused command left a trail row"

    # ---- each command, one row -------------------------------------------------
    by root registry set approval-threshold 1000 >/dev/null || fail "threshold"
    expect 13 by wang registry set approval-threshold 99999999
    by wang update --district 110106 >/dev/null || fail update
    trail_is "$c1" 'last["action"] == "update" and last["detail"] == {"fields": ["district"]}'
    ! grep -q 110106 "$E2E_TMP/trail.json" || fail "the new district is in the trail"
    by wang grant --entitlement 0x0301:rehab:counter:10:year >/dev/null || fail grant
    trail_is "$c1" 'last["action"] == "grant" and last["detail"]["slot"] == 4 and last["detail"]["entitlement"]["service"] == "0x0301" and last["detail"]["entitlement"]["limit"] == 10'
    by wang grant --credit 3:500 >/dev/null || fail "credit under the threshold"
    trail_is "$c1" 'last["action"] == "credit" and last["detail"] == {"amount": 500, "slot": 3} and last["approval_id"] is None'
    by wang grant --revoke 4 >/dev/null || fail revoke
    trail_is "$c1" 'last["action"] == "revoke" and last["detail"] == {"slot": 4}'
    local expiry_before
    expiry_before=$("$sql" card "$c1")
    by wang renew --years 5 >/dev/null || fail renew
    trail_is "$c1" 'last["action"] == "renew" and len(last["detail"]["expiry_date"]) == 10'
    # The registry's record of the card follows the desk: expiry, state.
    [[ $("$sql" card "$c1") != "$expiry_before" && $("$sql" card "$c1") == active\|* ]] ||
        fail "the registry did not record the renewal: $expiry_before -> $("$sql" card "$c1")"
    by wang block >/dev/null || fail block
    trail_is "$c1" 'last["action"] == "block" and last["detail"] == {"from": "active", "to": "blocked"}'
    [[ $("$sql" card "$c1") == blocked\|* ]] || fail "registry state after block: $("$sql" card "$c1")"
    by wang unblock >/dev/null || fail unblock
    trail_is "$c1" 'last["action"] == "unblock" and last["detail"] == {"from": "blocked", "to": "active"}'
    [[ $("$sql" card "$c1") == active\|* ]] || fail "registry state after unblock: $("$sql" card "$c1")"
    OCP_PIN=2468 OCP_NEW_PIN=1357 by wang pin change >/dev/null || fail "pin change"
    trail_is "$c1" 'last["action"] == "pin-change" and last["detail"] == {}'
    ! grep -q -e 2468 -e 1357 "$E2E_TMP/trail.json" || fail "a PIN in the trail"
    [[ $(trail_rows "$c1") == 9 ]] || fail "not one row per command: $(trail_rows "$c1")"

    # ---- a credit above the threshold --------------------------------------------
    snap before
    expect 14 by wang --json grant --credit 3:5000
    grep -q "approval [0-9]* needed: a second clerk runs .ocp --clerk OTHER registry approve" \
        "$E2E_TMP/err.txt" || fail "approval message: $(cat "$E2E_TMP/err.txt")"
    n=$(approval_id)
    unchanged before "a credit waiting for approval"
    by li --json registry approvals >"$E2E_TMP/aps.json" || fail approvals
    [[ $(json "$E2E_TMP/aps.json" '(j["approval"], j["action"], j["amount"], j["requested_by"], j["approved_by"])') == "($n, 'credit', 5000, 'wang', None)" ]] ||
        fail "approvals: $(cat "$E2E_TMP/aps.json")"
    expect 13 by wang grant --credit 3:5000 --approval "$n" # not approved yet
    expect 13 by wang registry approve "$n"                  # the requester
    grep -q "requester" "$E2E_TMP/err.txt" || fail "own approval: $(cat "$E2E_TMP/err.txt")"
    expect 13 by zhao registry approve "$n"                  # no approve permission
    by li registry approve "$n" >/dev/null || fail "li approves"
    expect 13 by li registry approve "$n"                    # once
    trail_is "$c1" 'last["action"] == "approve" and last["clerk"] == "li" and last["approval_id"] == '"$n"
    expect 13 by wang grant --credit 3:6000 --approval "$n" # another amount
    expect 13 by zhao grant --credit 3:5000 --approval "$n" # another clerk
    unchanged before "a credit the approval does not cover"
    by wang --json grant --credit 3:5000 --approval "$n" >/dev/null || fail "approved credit"
    trail_is "$c1" 'last["action"] == "credit" and last["detail"] == {"amount": 5000, "slot": 3} and last["approval_id"] == '"$n"' and last["clerk"] == "wang"'
    snap after
    [[ $(json "$E2E_TMP/after.json" 'j["entitlements"][2]["balance_fen"]') == 15500 ]] ||
        fail "balance: $(cat "$E2E_TMP/after.json")"
    expect 13 by wang grant --credit 3:5000 --approval "$n" # spent
    unchanged after "a spent approval"
    # An approval for this card does not serve another card.
    expect 14 by wang --json grant --credit 3:2000
    m=$(approval_id)
    by li registry approve "$m" >/dev/null || fail "approve $m"
    card_stop 35963
    e2e_card_start "$E2E_TMP/$c2.img" 35963 --card-id "$c2"
    by wang issue --name 赵六 --cert 11010119950101123421 --district 110105 \
        --pin 2468 --entitlement 0x0401:assistive:balance:100 >/dev/null ||
        fail "issue the second card"
    snap other
    expect 13 by wang grant --credit 1:2000 --approval "$m"
    unchanged other "an approval for another card"
    # An approved unblock of this card, for the first card to refuse.
    expect 14 by wang --json pin unblock
    u=$(approval_id)
    by li registry approve "$u" >/dev/null || fail "approve $u"
    # Without a registry the desk works as before: no clerk, no approval.
    "$OCP" -r "$READER0" --keys "$KEYS" grant --credit 1:2000 >/dev/null ||
        fail "a credit without a registry"
    expect 2 "$OCP" -r "$READER0" --keys "$KEYS" grant --credit 1:2000 --approval "$m"
    card_stop 35963
    e2e_card_start "$E2E_TMP/$c1.img" 35963 --card-id "$c1"
    by wang grant --credit 3:2000 --approval "$m" >/dev/null ||
        fail "the refused use spent the approval"

    # ---- a PIN unblock ------------------------------------------------------
    block_pin 1357
    snap before
    expect 14 by wang --json pin unblock # asks no PIN: none is set
    p=$(approval_id)
    unchanged before "an unblock waiting for approval"
    expect 5 env OCP_PIN=1357 "$OCP" -r "$READER0" --keys "$KEYS" read --role kiosk
    expect 13 by wang registry approve "$p"
    OCP_NEW_PIN=8642 expect 13 by wang pin unblock --approval "$u" # another card's
    OCP_NEW_PIN=8642 expect 13 by wang pin unblock --approval "$n" # a credit's, spent
    by li registry approve "$p" >/dev/null || fail "li approves the unblock"
    expect 14 by wang --json grant --credit 3:3000
    q=$(approval_id)
    by li registry approve "$q" >/dev/null || fail "approve $q"
    OCP_NEW_PIN=8642 expect 13 by wang pin unblock --approval "$q" # a credit's
    expect 5 env OCP_PIN=1357 "$OCP" -r "$READER0" --keys "$KEYS" read --role kiosk
    OCP_NEW_PIN=8642 by wang pin unblock --approval "$p" >/dev/null || fail "approved unblock"
    trail_is "$c1" 'last["action"] == "pin-unblock" and last["approval_id"] == '"$p"' and last["detail"] == {}'
    ! grep -q 8642 "$E2E_TMP/trail.json" || fail "the new PIN is in the trail"
    OCP_PIN=8642 "$OCP" -r "$READER0" --keys "$KEYS" read --role kiosk >/dev/null ||
        fail "the new PIN"
    OCP_NEW_PIN=1111 expect 13 by wang pin unblock --approval "$p" # spent
    OCP_PIN=8642 "$OCP" -r "$READER0" --keys "$KEYS" read --role kiosk >/dev/null ||
        fail "a spent approval changed the PIN"

    # ---- the card changed, the trail cannot be written ----------------------
    local rows
    rows=$(trail_rows "$c1")
    "$sql" no_trail
    expect 11 by wang block
    grep -q "the card changed, but the desk trail did not record it" "$E2E_TMP/err.txt" &&
        grep -q '"action":"block","card_id":"'"$c1"'"' "$E2E_TMP/err.txt" ||
        fail "trail failure: $(cat "$E2E_TMP/err.txt")"
    "$sql" trail_back
    snap now
    [[ $(json "$E2E_TMP/now.json" 'j["state"]') == blocked ]] || fail "the card is the truth"
    [[ $(trail_rows "$c1") == "$rows" ]] || fail "a row appeared"

    # ---- reading the trail --------------------------------------------------
    expect 13 by wang registry trail
    by root registry trail >"$E2E_TMP/trail.txt" || fail "trail text"
    grep -q " clerk-add " "$E2E_TMP/trail.txt" && grep -q " pin-unblock " "$E2E_TMP/trail.txt" ||
        fail "trail text: $(cat "$E2E_TMP/trail.txt")"
    [[ $("$sql" access) -ge 1 ]] || fail "reading the trail was not logged"
    by wang terminate --yes >/dev/null || fail terminate
    trail_is "$c1" 'last["action"] == "terminate" and last["detail"]["to"] == "terminated"'
    card_stop 35963
}

# ---- SQLite ------------------------------------------------------------------
sqlite_sql() {
    local f=${DB#sqlite:}
    case $1 in
    no_trail) sqlite3 "$f" "CREATE TRIGGER no_trail BEFORE INSERT ON actions BEGIN SELECT RAISE(ABORT, 'the trail is off'); END" ;;
    trail_back) sqlite3 "$f" "DROP TRIGGER no_trail" ;;
    access) sqlite3 "$f" "SELECT COUNT(*) FROM access_log WHERE who = 'root' AND what = 'desk trail'" ;;
    card) sqlite3 "$f" "SELECT state || '|' || expiry_date FROM cards WHERE card_id = '$2'" ;;
    esac
}
scenario "sqlite:$E2E_TMP/registry.db" sqlite_sql 4F43500000000D01 4F43500000000D02

# ---- PostgreSQL: the fixture's server, a database of our own ----------------
PG_ADMIN=$(OCP_RUN_DIR="$OCP_BUILD_DIR/db-run" bash "$(dirname "$0")/../db/fixture.sh" \
    run printenv OCP_TEST_PG_URI) || fail "no PostgreSQL fixture server"
PG_NAME=ocp_clerks_$$
PG="${PG_ADMIN/\/ocp\?//$PG_NAME?}"
[[ $PG != "$PG_ADMIN" ]] || fail "unexpected fixture URI form"
psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_NAME" || fail "create database"
pg_cleanup() {
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_NAME" >/dev/null 2>&1 || true
    e2e_cleanup
}
trap pg_cleanup EXIT
pg_sql() {
    case $1 in
    no_trail) psql -q "$PG" -c "CREATE FUNCTION no_trail() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN RAISE EXCEPTION 'the trail is off'; END \$\$; CREATE TRIGGER no_trail BEFORE INSERT ON actions FOR EACH ROW EXECUTE FUNCTION no_trail()" ;;
    trail_back) psql -q "$PG" -c "DROP TRIGGER no_trail ON actions; DROP FUNCTION no_trail()" ;;
    access) psql -tAq "$PG" -c "SELECT COUNT(*) FROM access_log WHERE who = 'root' AND what = 'desk trail'" ;;
    card) psql -tAq "$PG" -c "SELECT state || '|' || expiry_date FROM cards WHERE card_id = '$2'" ;;
    esac
}
scenario "$PG" pg_sql 4F43500000000D11 4F43500000000D12
echo PASS
