#!/bin/bash
# e2e_cli_renew_onto: renewal onto a new card with two readers, at a desk
# with a registry: the new card carries what was left on the old one, the
# old card ends terminated, and the registry records both (the new card
# with what it holds, so the audit knows it and a replacement can start
# from it).
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
READER1="Virtual PCD 00 01"
cleanup_second() { card_stop 35964 >/dev/null 2>&1 || true; }
trap 'cleanup_second; e2e_cleanup' EXIT

DB="sqlite:$E2E_TMP/registry.db"
export OCP_CLERK=desk1 OCP_CLERK_PASSWORD="desk1 password"
OCP_NEW_CLERK_PASSWORD="desk1 password" "$OCP" --db "$DB" registry clerk add \
    desk1 --name 柜员 --permissions issue,lifecycle,registry >/dev/null ||
    fail "the desk's clerk"
e2e_card_start "$E2E_TMP/old.img" 35963 --card-id 4F43500000000E01
card_start "$E2E_TMP/new.img" 35964 --card-id 4F43500000000E02
"$OCP" -r "$READER0" --keys "$KEYS" --db "$DB" issue --name "王五" \
    --cert 11010119700101123471 --district 110108 --pin 2468 \
    --entitlement 0x0201:medical:counter:2:month \
    --entitlement 0x0401:assistive:balance:500000 >/dev/null || fail issue
"$OCP" -r "$READER0" --keys "$KEYS" --terminal-id 0x0C000001 use \
    --role assistive --service 0x0401 --amount 120000 --seq 1 >/dev/null ||
    fail "use"
OCP_PIN=1234 "$OCP" -r "$READER0" --keys "$KEYS" --db "$DB" --json renew \
    --onto "$READER1" --years 5 >"$E2E_TMP/renew.json" || fail "renew onto"
[[ $(json "$E2E_TMP/renew.json" 'j["onto_new_card"]') == True ]] || fail "not onto"

"$OCP" -r "$READER0" --json info >"$E2E_TMP/old.json"
[[ $(json "$E2E_TMP/old.json" 'j["state"]') == terminated ]] ||
    fail "old card not terminated"
OCP_PIN=1234 "$OCP" -r "$READER1" --keys "$KEYS" --json read --role kiosk \
    >"$E2E_TMP/new.json" || fail "read new card"
[[ $(json "$E2E_TMP/new.json" 'j["holder"]["name"]') == "王五" ]] || fail "holder"
[[ $(json "$E2E_TMP/new.json" '[e.get("balance_fen") for e in j["entitlements"] if e["kind"]=="balance"][0]') == 380000 ]] ||
    fail "balance not carried: $(cat "$E2E_TMP/new.json")"
# The registry: the old card terminated, the new one active with the
# balance it holds (not the one issued).
sql() { sqlite3 "$E2E_TMP/registry.db" "$1"; }
[[ $(sql "SELECT card_id, state FROM cards ORDER BY card_id" | tr '\n' ' ') == "4F43500000000E01|terminated 4F43500000000E02|active " ]] ||
    fail "cards in the registry: $(sql "SELECT * FROM cards")"
[[ $(sql "SELECT service, known_remaining FROM entitlements WHERE card_id = '4F43500000000E02' ORDER BY service" | tr '\n' ' ') == "513|2 1025|380000 " ]] ||
    fail "the new card's entitlements: $(sql "SELECT * FROM entitlements")"
# Running it again changes nothing and says it is done.
OCP_PIN=1234 "$OCP" -r "$READER0" --keys "$KEYS" renew --onto "$READER1" \
    --years 5 >/dev/null 2>&1 && fail "a terminated card renewed again"
card_stop 35964
echo PASS
