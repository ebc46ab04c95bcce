#!/bin/bash
# e2e_backoffice: the back office through the ocp command, on records that
# real taps made through pcscd: a registry made, terminals enrolled, a card
# issued and recorded, taps at two terminals, sync and audit (one missing
# record while a terminal has not synced, none after), a re-sync storing
# nothing twice, syncs killed with SIGKILL round after round, published
# hotlist and catalogue, the registry as the hotlist's source,
# settlement, backup, purge and restore, a revoked
# terminal, an unreachable registry, and one run on the fixture's
# PostgreSQL server (backup and restore there too).
. "$(dirname "$0")/common.sh"

KEYS="dev:$E2E_TMP/keys"
DB="sqlite:$E2E_TMP/registry.db"
T1=0x0B000001
T2=0x0B000002
T3=0x0C000003
CARD=4F43500000000B01
# Kill rounds on each backend: 10; 100 with OCP_TEST_FULL=1 (scripts/test
# --full); OCP_E2E_KILL_ROUNDS overrides both.
if [[ ${OCP_TEST_FULL:-0} == 1 ]]; then ROUNDS=100; else ROUNDS=10; fi
ROUNDS=${OCP_E2E_KILL_ROUNDS:-$ROUNDS}
SRC=$(cd "$(dirname "$0")/../.." && pwd)

reg() { "$OCP" --db "$DB" --keys "$KEYS" "$@"; }
# tap TERMINAL: one transit tap of the card in the reader at that terminal
tap() {
    "$OCP" -r "$READER0" --keys "$KEYS" --terminal-id "$1" --json use \
        --role transit --service 0x0101 --journal "$E2E_TMP/j-$1.db" \
        >"$E2E_TMP/tap.json" || fail "tap at $1: $(cat "$E2E_TMP/tap.json")"
    [[ $(json "$E2E_TMP/tap.json" 'j["result"]') == accepted ]] ||
        fail "tap at $1 not accepted: $(cat "$E2E_TMP/tap.json")"
}
# sync TERMINAL [options]: the terminal's sync against $DB, JSON in sync.json
sync_t() {
    local t=$1
    shift
    reg --terminal-id "$t" --json sync --journal "$E2E_TMP/j-$t.db" \
        --terminal-key "$E2E_TMP/$t.pem" "$@" >"$E2E_TMP/sync.json"
}
# expect CODE CMD...: CMD exits with CODE (its stderr kept in err.txt)
expect() {
    local want=$1 rc=0
    shift
    "$@" >"$E2E_TMP/out.txt" 2>"$E2E_TMP/err.txt" || rc=$?
    ((rc == want)) || fail "$* exited $rc, not $want: $(cat "$E2E_TMP/err.txt")"
}
uses() { sqlite3 "$E2E_TMP/registry.db" "SELECT COUNT(*) FROM uses"; }
# The journal rows the registry must hold: every attempt that sent a
# CONSUME (accepted, or pending when the answer never came).
journaled() {
    local n=0 f
    for f in "$@"; do
        n=$((n + $(sqlite3 "$f" "SELECT COUNT(*) FROM attempts WHERE outcome IN ('accepted','pending')")))
    done
    echo $n
}

# ---- a registry, three terminals ----------------------------------------
reg --json registry init >"$E2E_TMP/init.json" || fail "registry init"
# The schema version this libocp writes (ocp/registry.h), not a copy of it
# that goes stale when the schema moves on.
SCHEMA=$(sed -n 's/^#define OCP_REGISTRY_SCHEMA \([0-9]*\).*/\1/p' \
    "$SRC/hostlib/include/ocp/registry.h")
[[ -n $SCHEMA ]] || fail "no OCP_REGISTRY_SCHEMA in ocp/registry.h"
[[ $(json "$E2E_TMP/init.json" 'j["backend"], j["schema_version"]') == "('sqlite', $SCHEMA)" ]] ||
    fail "init: $(cat "$E2E_TMP/init.json")"
reg registry init | grep -q "sqlite, schema version $SCHEMA" || fail "init again"
# The desk's clerk, the registry's first (docs/CLI.md, "The desk and its
# registry"): `issue --db` below logs it in.
export OCP_CLERK=desk1 OCP_CLERK_PASSWORD="desk1 password"
OCP_NEW_CLERK_PASSWORD="desk1 password" reg registry clerk add desk1 \
    --name 柜员 --permissions issue,registry >/dev/null || fail "the desk's clerk"
# From now on the registry's administration is a clerk's with `registry`:
# without one, or with a wrong password, nothing is enrolled or purged.
expect 13 env -u OCP_CLERK "$OCP" --db "$DB" --keys "$KEYS" registry \
    terminal enrol $T1 --operator bus-line-7 --kind validator \
    --key-out "$E2E_TMP/$T1.pem"
[[ ! -e $E2E_TMP/$T1.pem ]] || fail "a refused enrolment left a key file"
expect 13 env OCP_CLERK_PASSWORD=wrong-password "$OCP" --db "$DB" registry purge
expect 13 env -u OCP_CLERK "$OCP" --db "$DB" --keys "$KEYS" hotlist add 4F43500000000B01
reg registry terminal enrol $T1 --operator bus-line-7 --kind validator \
    --key-out "$E2E_TMP/$T1.pem" >/dev/null || fail "enrol T1"
reg registry terminal enrol $T2 --operator bus-line-7 --kind validator \
    --key-out "$E2E_TMP/$T2.pem" >/dev/null || fail "enrol T2"
reg --json registry terminal enrol $T3 --operator clinic-3 --kind counter \
    --suite SM --key-out "$E2E_TMP/$T3.pem" >"$E2E_TMP/enrol3.json" || fail "enrol T3"
[[ $(json "$E2E_TMP/enrol3.json" 'j["suite"], j["terminal_id"]') == "('SM', '0x0C000003')" ]] ||
    fail "enrol T3: $(cat "$E2E_TMP/enrol3.json")"
[[ $(stat -c %a "$E2E_TMP/$T1.pem") == 600 ]] || fail "terminal key not 0600"
grep -q "PRIVATE KEY" "$E2E_TMP/$T1.pem" || fail "no private key in the key file"
# The same id again: refused, and no key file is left for it.
expect 1 reg registry terminal enrol $T1 --operator x --kind validator \
    --key-out "$E2E_TMP/again.pem"
[[ ! -e $E2E_TMP/again.pem ]] || fail "a refused enrolment left its key file"
expect 2 reg registry terminal enrol 0x0B000009 --operator x --kind toaster \
    --key-out "$E2E_TMP/x.pem"
reg --json registry terminal list >"$E2E_TMP/list.json" || fail "terminal list"
/usr/bin/python3 - "$E2E_TMP/list.json" <<'PY' || fail "list: $(cat "$E2E_TMP/list.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["terminal_id"] for r in rows] == ["0x0B000001", "0x0B000002", "0x0C000003"]
assert rows[2]["operator"] == "clinic-3" and rows[2]["kind"] == "counter"
assert all(r["revoked_at"] is None and r["last_sync"] is None and
           r["clock_offset_s"] is None and r["enrolled_at"].endswith("Z")
           for r in rows)
PY

# ---- a card, issued and recorded; taps at T1, T1, T2, T1, T1 ------------
e2e_card_start "$E2E_TMP/card.img" 35963 --card-id $CARD
"$OCP" -r "$READER0" --keys "$KEYS" --db "$DB" issue --name 王五 \
    --cert 11010119850101123441 --district 110105 --pin 2468 \
    --entitlement 0x0101:transit:pass >/dev/null || fail "issue"
[[ $(sqlite3 "$E2E_TMP/registry.db" "SELECT card_id, suite, txmac_version, state FROM cards") == "$CARD|1|1|active" ]] ||
    fail "card not recorded: $(sqlite3 "$E2E_TMP/registry.db" 'SELECT * FROM cards')"
# Its entitlement too (slot, service, domain, kind), for the audit's
# window check.
[[ $(sqlite3 "$E2E_TMP/registry.db" "SELECT slot, service, domain, kind FROM entitlements") == "1|257|2|1" ]] ||
    fail "entitlements not recorded: $(sqlite3 "$E2E_TMP/registry.db" 'SELECT * FROM entitlements')"
for t in $T1 $T1 $T2 $T1 $T1; do tap $t; done

# Only T1 syncs: T2's record is missing, and the audit says exactly that.
sync_t $T1 || fail "sync T1"
[[ $(json "$E2E_TMP/sync.json" 'j["batches"], j["stored"], j["duplicates"], j["conflicts"]') == "(1, 4, 0, 0)" ]] ||
    fail "sync T1: $(cat "$E2E_TMP/sync.json")"
offset=$(json "$E2E_TMP/sync.json" 'abs(j["clock_offset_s"])')
((offset <= 5)) || fail "clock offset $offset s on one machine"
expect 12 reg --json audit
/usr/bin/python3 - "$E2E_TMP/out.txt" <<'PY' || fail "audit with T2 unsynced: $(cat "$E2E_TMP/out.txt")"
import json, sys
j = json.load(open(sys.argv[1]))
s, f = j["summary"], j["findings"]
assert len(f) == 1, f
assert f[0]["kind"] == "missing" and f[0]["card_id"] == "4F43500000000B01", f
assert f[0]["counter"] == 3 and f[0]["count"] == 1 and f[0]["detail"], f
assert set(f[0]) == {"kind", "card_id", "terminal_id", "seq", "counter", "count", "detail"}
assert s["records"] == 4 and s["consumptions"] == 4 and s["genuine"] == 4, s
assert s["findings"] == 1 and s["by_kind"]["missing"] == 1, s
assert sum(s["by_kind"].values()) == 1, s
PY
# The text form: a table for the card, and the summary.
expect 12 reg audit
grep -q "^card $CARD" "$E2E_TMP/out.txt" && grep -q "^  missing " "$E2E_TMP/out.txt" &&
    grep -q "^findings: 1 (.*missing 1" "$E2E_TMP/out.txt" || fail "audit text: $(cat "$E2E_TMP/out.txt")"
cat "$E2E_TMP/out.txt" # the log shows what an operator sees

# T2 syncs (in text, for the log): nothing is missing any more.
reg --terminal-id $T2 sync --journal "$E2E_TMP/j-$T2.db" \
    --terminal-key "$E2E_TMP/$T2.pem" | tee "$E2E_TMP/sync.txt" || fail "sync T2"
grep -q "^terminal 0B000002: 1 batch sent; 1 records stored, 0 duplicates" "$E2E_TMP/sync.txt" ||
    fail "sync T2 text"
reg --json audit >"$E2E_TMP/audit.json" || fail "audit after T2 synced: $(cat "$E2E_TMP/audit.json")"
[[ $(json "$E2E_TMP/audit.json" 'len(j["findings"]), j["summary"]["genuine"]') == "(0, 5)" ]] ||
    fail "audit: $(cat "$E2E_TMP/audit.json")"

# T1 again: nothing new, nothing stored twice.
sync_t $T1 || fail "sync T1 again"
[[ $(json "$E2E_TMP/sync.json" 'j["batches"], j["stored"], j["duplicates"]') == "(0, 0, 0)" ]] ||
    fail "second sync: $(cat "$E2E_TMP/sync.json")"
[[ $(uses) == 5 ]] || fail "registry holds $(uses) records, not 5"

# ---- published files ----------------------------------------------------
"$OCP" --keys "$KEYS" hotlist add 4F43500000000BFF --list "$E2E_TMP/stop.txt" >/dev/null
"$OCP" --keys "$KEYS" hotlist export --list "$E2E_TMP/stop.txt" \
    --out "$E2E_TMP/hot3" --version 3 >/dev/null || fail "hotlist export"
reg --json registry publish hotlist "$E2E_TMP/hot3" >"$E2E_TMP/pub.json" || fail "publish hotlist"
[[ $(json "$E2E_TMP/pub.json" 'j["version"]') == 3 ]] || fail "published version"
# An older one, and a forged one, are refused.
"$OCP" --keys "$KEYS" hotlist export --list "$E2E_TMP/stop.txt" \
    --out "$E2E_TMP/hot2" --version 2 >/dev/null
expect 1 reg registry publish hotlist "$E2E_TMP/hot2"
cp "$E2E_TMP/hot3" "$E2E_TMP/forged"
printf '\x01' | dd of="$E2E_TMP/forged" bs=1 seek=30 conv=notrunc 2>/dev/null
expect 13 reg registry publish hotlist "$E2E_TMP/forged"
reg registry publish catalogue "$SRC/docs/catalogue.json" >/dev/null ||
    fail "publish catalogue"
expect 2 reg registry publish catalogue "$E2E_TMP/stop.txt"
echo stale >"$E2E_TMP/hot.bin"
sync_t $T1 --hotlist-out "$E2E_TMP/hot.bin" --catalogue-out "$E2E_TMP/cat.json" ||
    fail "sync with downloads: $(cat "$E2E_TMP/sync.json")"
cmp -s "$E2E_TMP/hot.bin" "$E2E_TMP/hot3" || fail "downloaded hotlist differs"
cmp -s "$E2E_TMP/cat.json" "$SRC/docs/catalogue.json" || fail "catalogue differs"
[[ $(json "$E2E_TMP/sync.json" 'j["hotlist"]["version"], j["catalogue"]["version"]') == "(3, 1)" ]] ||
    fail "downloads: $(cat "$E2E_TMP/sync.json")"
[[ ! -e $E2E_TMP/hot.bin.tmp ]] || fail "temporary file left"
"$OCP" --keys "$KEYS" hotlist verify "$E2E_TMP/hot.bin" >/dev/null || fail "downloaded hotlist"

# ---- syncs killed with SIGKILL at random moments -----------------------
# kill_rounds DB COUNT TERMINAL...: ROUNDS rounds, each two taps at one of
# the terminals, a sync to DB killed at a random moment within the time
# the last whole sync took (so the kills spread over the run however fast
# the machine is), then a sync to the end.  After every round the
# registry (COUNT prints its records) must hold each journal record
# exactly once.  Where the kill fell is read off the registry and the
# journal: before the registry's commit, between the commit and the
# journal's mark (the case the design is about), or after.
kill_rounds() {
    local db=$1 count=$2 round t had now unmarked t0 expected
    local before=0 between=0 after=0 span_ms=30
    shift 2
    local terms=("$@") journals=()
    for t in "${terms[@]}"; do journals+=("$E2E_TMP/j-$t.db"); done
    for ((round = 1; round <= ROUNDS; round++)); do
        t=${terms[$((round % ${#terms[@]}))]}
        tap "$t"
        tap "$t"
        had=$($count)
        "$OCP" --db "$db" --terminal-id "$t" sync --journal "$E2E_TMP/j-$t.db" \
            --terminal-key "$E2E_TMP/$t.pem" >/dev/null 2>&1 &
        victim=$!
        sleep "$(printf '0.%03d' $((RANDOM % span_ms)))"
        kill -9 $victim 2>/dev/null || true
        wait $victim 2>/dev/null || true
        now=$($count)
        unmarked=$(sqlite3 "$E2E_TMP/j-$t.db" "SELECT COUNT(*) FROM attempts WHERE seq IS NOT NULL AND uploaded = 0")
        if ((unmarked == 0)); then
            after=$((after + 1))
        elif ((now > had)); then
            between=$((between + 1))
        else
            before=$((before + 1))
        fi
        t0=$(date +%s%N)
        "$OCP" --db "$db" --keys "$KEYS" --terminal-id "$t" --json sync \
            --journal "$E2E_TMP/j-$t.db" --terminal-key "$E2E_TMP/$t.pem" \
            >"$E2E_TMP/sync.json" || fail "round $round: the sync after the kill failed"
        span_ms=$((($(date +%s%N) - t0) / 1000000 + 1))
        ((span_ms < 1000)) || span_ms=999
        [[ $(json "$E2E_TMP/sync.json" 'j["conflicts"]') == 0 ]] || fail "round $round: conflicts"
        expected=$(journaled "${journals[@]}")
        [[ $($count) == "$expected" ]] ||
            fail "round $round: the registry holds $($count) records, the journals $expected"
    done
    echo "kills: $before before the registry's commit, $between between commit and journal mark, $after after the mark ($ROUNDS rounds, $count)"
}
kill_rounds "$DB" uses $T1 $T2
reg --json audit >"$E2E_TMP/audit.json" || fail "audit after the kills: $(cat "$E2E_TMP/audit.json")"
expected=$(journaled "$E2E_TMP/j-$T1.db" "$E2E_TMP/j-$T2.db")
[[ $(json "$E2E_TMP/audit.json" 'j["summary"]["records"], j["summary"]["genuine"], len(j["findings"])') == "($expected, $expected, 0)" ]] ||
    fail "after the kills, expected $expected records: $(cat "$E2E_TMP/audit.json")"
[[ $(sqlite3 "$E2E_TMP/registry.db" "SELECT COUNT(*) FROM use_conflicts") == 0 ]] || fail "conflicts stored"
[[ $(sqlite3 "$E2E_TMP/registry.db" "SELECT COUNT(DISTINCT counter) FROM uses") == "$expected" ]] ||
    fail "a card counter stored twice"
reg audit --progress >/dev/null 2>"$E2E_TMP/progress.txt" || fail "audit --progress"
grep -q "^audit: $expected of $expected records (100%)" "$E2E_TMP/progress.txt" ||
    fail "no progress line: $(cat "$E2E_TMP/progress.txt")"
echo "registry: $expected records, each once; audit clean"

# ---- settlement, backup, purge, restore ----------------------------------
reg --json report --from 2026-01-01 --to 2036-12-31 >"$E2E_TMP/report.json" ||
    fail "report: $(cat "$E2E_TMP/report.json")"
[[ $(json "$E2E_TMP/report.json" 'sum(l["uses"] for l in j["lines"]), sum(l["amount"] for l in j["lines"]), sum(l["excluded"] for l in j["lines"])') == "($expected, $expected, 0)" ]] ||
    fail "report: $(cat "$E2E_TMP/report.json")"
reg report --from 2026-01-01 --to 2036-12-31 --csv >"$E2E_TMP/report.csv" || fail "report --csv"
[[ $(head -1 "$E2E_TMP/report.csv") == operator,service,domain,uses,amount,excluded ]] ||
    fail "csv header: $(head -1 "$E2E_TMP/report.csv")"
[[ $(grep -c ",0x0101,transit," "$E2E_TMP/report.csv") -ge 1 ]] || fail "csv: $(cat "$E2E_TMP/report.csv")"
expect 2 reg report --from 2026-02-01 --to 2026-01-01
reg registry backup "$E2E_TMP/registry.bak" >/dev/null || fail "backup"
[[ $(stat -c %a "$E2E_TMP/registry.bak") == 600 ]] || fail "the backup is readable by others"
# Nothing is older than the retention period yet: purge keeps everything.
reg --json registry purge >"$E2E_TMP/purge.json" || fail "purge"
[[ $(json "$E2E_TMP/purge.json" 'j["uses"]') == 0 ]] || fail "purge: $(cat "$E2E_TMP/purge.json")"
# The administration is in the trail too, under the clerk who did it.
admin_trail_has() { # ACTION[=COUNT]...
    reg --json registry trail >"$E2E_TMP/admin-trail.json" || fail "trail"
    /usr/bin/python3 - "$E2E_TMP/admin-trail.json" "$@" <<'PY' ||
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done = [r["action"] for r in rows if r["clerk"] == "desk1"]
for want in sys.argv[2:]:
    action, _, count = want.partition("=")
    assert done.count(action) == int(count or 1), (want, done)
PY
        fail "admin trail lacks $*: $(cat "$E2E_TMP/admin-trail.json")"
}
admin_trail_has terminal-enrol=3 publish=2 backup purge
# A disaster: records lost.  The backup brings them back, and they audit
# clean again.
sqlite3 "$E2E_TMP/registry.db" "DELETE FROM uses; DELETE FROM batches"
expect 2 reg registry restore "$E2E_TMP/registry.bak"
reg registry restore "$E2E_TMP/registry.bak" --yes >/dev/null || fail "restore"
reg --json audit >"$E2E_TMP/audit.json" || fail "audit after restore: $(cat "$E2E_TMP/audit.json")"
[[ $(json "$E2E_TMP/audit.json" 'j["summary"]["records"], len(j["findings"])') == "($expected, 0)" ]] ||
    fail "restored registry: $(cat "$E2E_TMP/audit.json")"

# ---- a revoked terminal -----------------------------------------------
# T3 taps, then T1, and T3 is revoked before it syncs: its upload is
# refused, its journal keeps the record, and the audit sees the gap it
# leaves once T1 has synced.
tap $T3
tap $T1
reg registry terminal revoke $T3 >/dev/null || fail "revoke"
expect 1 reg registry terminal revoke $T3
# The restore went back to before the purge; its own row and the revoke
# are after it.
admin_trail_has terminal-enrol=3 restore terminal-revoke
expect 13 sync_t $T3
grep -q "revoked" "$E2E_TMP/err.txt" || fail "no reason given: $(cat "$E2E_TMP/err.txt")"
[[ $(sqlite3 "$E2E_TMP/j-$T3.db" "SELECT COUNT(*) FROM attempts WHERE uploaded = 0") == 1 ]] ||
    fail "the refused record was marked uploaded"
[[ $(uses) == "$expected" ]] || fail "a revoked terminal's record was stored"
# An id the registry never enrolled, with a real key: refused the same.
cp "$E2E_TMP/$T1.pem" "$E2E_TMP/0x0B0000FF.pem"
expect 13 sync_t 0x0B0000FF
sync_t $T1 || fail "T1 after the revocation"
expect 12 reg --json audit
[[ $(json "$E2E_TMP/out.txt" '[f["kind"] for f in j["findings"]]') == "['missing']" ]] ||
    fail "audit after the revoked tap: $(cat "$E2E_TMP/out.txt")"
reg --json registry terminal list >"$E2E_TMP/list.json"
/usr/bin/python3 - "$E2E_TMP/list.json" <<'PY' || fail "list: $(cat "$E2E_TMP/list.json")"
import json, sys
rows = {r["terminal_id"]: r for r in map(json.loads, open(sys.argv[1]))}
assert rows["0x0C000003"]["revoked_at"] is not None
assert rows["0x0C000003"]["last_sync"] is None
assert rows["0x0B000001"]["last_sync"] is not None
assert abs(rows["0x0B000001"]["clock_offset_s"]) <= 5
PY

# ---- the registry as the hotlist's source ---------------------------------
# The card is reported lost: the desk lists it in the registry, the back
# office signs and publishes the list, T1's sync brings it down, and T1
# refuses the card and blocks it with the cryptogram made for it.
reg hotlist add $CARD --reason "reported lost" >/dev/null || fail "registry hotlist add"
expect 2 reg hotlist add 4F43500000000BEE # not a card the registry knows
reg --json hotlist export --out "$E2E_TMP/hot10" --version 10 --publish >"$E2E_TMP/hx.json" ||
    fail "registry hotlist export: $(cat "$E2E_TMP/hx.json")"
[[ $(json "$E2E_TMP/hx.json" 'j["cards"], j["published"]') == "(1, True)" ]] ||
    fail "export: $(cat "$E2E_TMP/hx.json")"
admin_trail_has hotlist-add hotlist-export
sync_t $T1 --hotlist-out "$E2E_TMP/hot.bin" || fail "sync for the hotlist"
[[ $(json "$E2E_TMP/sync.json" 'j["hotlist"]["version"]') == 10 ]] || fail "hotlist not downloaded"
"$OCP" -r "$READER0" --keys "$KEYS" --terminal-id $T1 --json use --role transit \
    --service 0x0101 --journal "$E2E_TMP/j-$T1.db" --hotlist "$E2E_TMP/hot.bin" \
    >"$E2E_TMP/h.json" && fail "a hotlisted card was accepted"
[[ $(json "$E2E_TMP/h.json" 'j["blocked_now"]') == True ]] || fail "not blocked: $(cat "$E2E_TMP/h.json")"
"$OCP" -r "$READER0" --json info | grep -q '"state": *"blocked"' || fail "card not blocked"
reg hotlist remove $CARD >/dev/null || fail "registry hotlist remove"
expect 2 reg hotlist remove $CARD
card_stop 35963

# ---- an unreachable registry ---------------------------------------------
# A socket directory with no server in it: refused at once, exit 11.
mkdir "$E2E_TMP/nopg"
NOPG="postgresql://ocp:secret-word@/ocp?host=$E2E_TMP/nopg"
start=$SECONDS
expect 11 "$OCP" --db "$NOPG" --terminal-id $T1 sync --journal "$E2E_TMP/j-$T1.db" \
    --terminal-key "$E2E_TMP/$T1.pem"
((SECONDS - start <= 5)) || fail "an unreachable registry took $((SECONDS - start)) s"
grep -q "registry" "$E2E_TMP/err.txt" || fail "no clear message: $(cat "$E2E_TMP/err.txt")"
! grep -q "secret-word" "$E2E_TMP/err.txt" || fail "the password is in the message"
expect 11 "$OCP" --db "$NOPG" --keys "$KEYS" audit
expect 11 env OCP_DB="$NOPG" "$OCP" registry terminal list

# ---- PostgreSQL: the fixture's server, a database of our own -------------
PG_ADMIN=$(OCP_RUN_DIR="$OCP_BUILD_DIR/db-run" bash "$(dirname "$0")/../db/fixture.sh" \
    run printenv OCP_TEST_PG_URI) || fail "no PostgreSQL fixture server"
PG_NAME=ocp_e2e_$$
PG="${PG_ADMIN/\/ocp\?//$PG_NAME?}"
[[ $PG != "$PG_ADMIN" ]] || fail "unexpected fixture URI form"
psql -q "$PG_ADMIN" -c "CREATE DATABASE $PG_NAME" || fail "create database"
pg_cleanup() {
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PG_NAME" >/dev/null 2>&1 || true
    e2e_cleanup
}
trap pg_cleanup EXIT
pg() { "$OCP" --db "$PG" --keys "$KEYS" "$@"; }
pg --json registry init >"$E2E_TMP/init.json" || fail "init on PostgreSQL"
[[ $(json "$E2E_TMP/init.json" 'j["backend"]') == postgresql ]] || fail "backend"
OCP_NEW_CLERK_PASSWORD="desk1 password" pg registry clerk add desk1 \
    --name 柜员 --permissions issue,registry >/dev/null || fail "the desk's clerk on PostgreSQL"
pg registry terminal enrol 0x0B000011 --operator bus-line-9 --kind validator \
    --key-out "$E2E_TMP/pg.pem" >/dev/null || fail "enrol on PostgreSQL"
e2e_card_start "$E2E_TMP/card2.img" 35963 --card-id 4F43500000000B02
"$OCP" -r "$READER0" --keys "$KEYS" --db "$PG" issue --suite SM --name 赵六 \
    --cert 11010119950101123421 --district 110105 --pin 2468 \
    --entitlement 0x0101:transit:pass >/dev/null || fail "issue onto PostgreSQL"
for i in 1 2 3; do tap 0x0B000011; done
# The terminal syncs with a login of its own (docs/BACKOFFICE.md 9b): it
# may sync, and nothing else.
expect 2 pg registry terminal login 0x0B000011 # no --password-out
pg --json registry terminal login 0x0B000011 --password-out "$E2E_TMP/pg.pw" \
    >"$E2E_TMP/login.json" || fail "terminal login: $(cat "$E2E_TMP/login.json")"
[[ $(json "$E2E_TMP/login.json" 'j["login"]') == ocp_t_0b000011 ]] ||
    fail "login: $(cat "$E2E_TMP/login.json")"
[[ $(stat -c %a "$E2E_TMP/pg.pw") == 600 ]] || fail "the password file is not 0600"
! grep -q "$(cat "$E2E_TMP/pg.pw")" "$E2E_TMP/login.json" || fail "the password was printed"
TPG="postgresql://ocp_t_0b000011:$(cat "$E2E_TMP/pg.pw")@${PG#*@}"
expect 11 "$OCP" --db "$TPG" registry terminal list # not the terminal's business
"$OCP" --db "$TPG" --keys "$KEYS" --terminal-id 0x0B000011 --json sync \
    --journal "$E2E_TMP/j-0x0B000011.db" --terminal-key "$E2E_TMP/pg.pem" \
    >"$E2E_TMP/sync.json" || fail "sync to PostgreSQL with the terminal's login: $(cat "$E2E_TMP/sync.json")"
[[ $(json "$E2E_TMP/sync.json" 'j["stored"]') == 3 ]] || fail "pg sync: $(cat "$E2E_TMP/sync.json")"
pg --json audit >"$E2E_TMP/audit.json" || fail "audit on PostgreSQL: $(cat "$E2E_TMP/audit.json")"
[[ $(json "$E2E_TMP/audit.json" 'j["summary"]["records"], j["summary"]["genuine"], len(j["findings"])') == "(3, 3, 0)" ]] ||
    fail "pg audit: $(cat "$E2E_TMP/audit.json")"
[[ $(psql -tAq "$PG" -c "SELECT COUNT(*) FROM uses") == 3 ]] || fail "rows on the server"
# Syncs killed on PostgreSQL too, with the terminal's own login.
pg_uses() { psql -tAq "$PG" -c "SELECT COUNT(*) FROM uses"; }
cp "$E2E_TMP/pg.pem" "$E2E_TMP/0x0B000011.pem"
kill_rounds "$TPG" pg_uses 0x0B000011
card_stop 35963
pg --json audit >"$E2E_TMP/audit.json" || fail "audit after the kills on PostgreSQL"
PGN=$(pg_uses)
[[ $(json "$E2E_TMP/audit.json" 'j["summary"]["records"], j["summary"]["genuine"], len(j["findings"])') == "($PGN, $PGN, 0)" ]] ||
    fail "pg audit after the kills: $(cat "$E2E_TMP/audit.json")"
# pg_dump's backup and pg_restore over a registry that lost its records.
pg registry backup "$E2E_TMP/pg.bak" >/dev/null || fail "backup on PostgreSQL"
psql -q "$PG" -c "DELETE FROM uses" || fail "delete"
pg registry restore "$E2E_TMP/pg.bak" --yes >/dev/null || fail "restore on PostgreSQL"
pg --json audit >"$E2E_TMP/audit.json" || fail "audit after restore on PostgreSQL"
[[ $(json "$E2E_TMP/audit.json" 'j["summary"]["records"], len(j["findings"])') == "($PGN, 0)" ]] ||
    fail "pg restored: $(cat "$E2E_TMP/audit.json")"
pg --json report --from 2026-01-01 --to 2036-12-31 >"$E2E_TMP/report.json" || fail "pg report"
[[ $(json "$E2E_TMP/report.json" '[(l["operator"], l["uses"]) for l in j["lines"]]') == "[('bus-line-9', $PGN)]" ]] ||
    fail "pg report: $(cat "$E2E_TMP/report.json")"
echo PASS
