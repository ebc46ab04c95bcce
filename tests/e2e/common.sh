# shellcheck shell=bash
# Shared by the e2e scripts: strict mode, the pcscd helpers, a scratch
# directory, and a trap that stops the card whatever happens.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/pcscd.sh"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ocp-e2e.XXXXXX")
READER0="Virtual PCD 00 00"
SELECT_OCP="00A4040005F04F435001"

# The ocp command under test.  With OCP_E2E_VALGRIND=1 (scripts/test --full)
# every run of it goes through valgrind, which makes it exit 99 on a memory
# error or a definite leak; the logs go next to the build.
OCP="$OCP_BUILD_DIR/bin/ocp"
if [[ ${OCP_E2E_VALGRIND:-0} == 1 ]]; then
    mkdir -p "$E2E_TMP/bin"
    # (valgrind.supp: a PC/SC worker thread left blocked by a mute card
    # is alive at exit, by design.)
    printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=%s --log-file=%s "%s" "$@"\n' \
        "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/valgrind.supp" \
        "$OCP_BUILD_DIR/valgrind-e2e.%p.log" "$OCP" >"$E2E_TMP/bin/ocp"
    chmod +x "$E2E_TMP/bin/ocp"
    OCP="$E2E_TMP/bin/ocp"
fi

# Only a card this script started is stopped: the PID files are shared by
# every test of the run, and another test may own the slot by now.
E2E_CARD_STARTED=0
e2e_card_start() {
    E2E_CARD_STARTED=1
    card_start "$@"
}
e2e_cleanup() {
    ((E2E_CARD_STARTED)) && { card_stop 35963 >/dev/null 2>&1 || true; }
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

# json FILE EXPR: a Python expression over the JSON in FILE (as j).
json() {
    /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# e2e_journal_matches_card KEYS ROLE INITIAL JOURNAL...
# After fault injection: the terminals' journals (one per terminal) and the
# card in READER0 tell one story.  Nothing is left pending, no transaction
# is journaled twice, the units gone from the card's first entitlement
# (INITIAL before the first tap) are exactly the accepted rows' amounts,
# the newest accepted row's remaining is the card's, and every record of
# these terminals that the card's log still keeps (the newest
# OCP_LOG_RECORDS) is one accepted row of its terminal with the same
# counter and amount, and the other way round.  Prints the figures; fails
# otherwise.
e2e_journal_matches_card() {
    local keys=$1 role=$2 initial=$3
    shift 3
    "$OCP" -r "$READER0" --keys "$keys" --json read --role issuer \
        >"$E2E_TMP/check-read.json" || fail "reading the card for the check"
    "$OCP" -r "$READER0" --keys "$keys" --json log --role "$role" \
        >"$E2E_TMP/check-log.json" || fail "reading the card's log for the check"
    /usr/bin/python3 - "$initial" "$E2E_TMP/check-read.json" \
        "$E2E_TMP/check-log.json" "$@" <<'PY' || fail "the journals and the card disagree"
import json, sqlite3, sys
initial = int(sys.argv[1])
card = json.load(open(sys.argv[2]))
log = json.load(open(sys.argv[3]))["log"]
e = card["entitlements"][0]
left = e["balance_fen"] if "balance_fen" in e else e["remaining"]
bad, everyone = [], []
for path in sys.argv[4:]:
    db = sqlite3.connect(path)
    (tid,) = db.execute("SELECT value FROM meta WHERE key='terminal_id'").fetchone()
    rows = db.execute("SELECT seq, counter, amount, remaining FROM attempts"
                      " WHERE outcome='accepted' ORDER BY counter").fetchall()
    pending = db.execute("SELECT COUNT(*) FROM attempts"
                         " WHERE outcome='pending'").fetchone()[0]
    mine = [l for l in log if l["terminal"] == "0x%08X" % tid]
    print("terminal 0x%08X: %d accepted, %d pending; the card's log keeps %d"
          " of its records" % (tid, len(rows), pending, len(mine)))
    if pending:
        bad.append("0x%08X: %d attempts still pending" % (tid, pending))
    if len({r[0] for r in rows}) != len(rows):
        bad.append("0x%08X: a sequence number accepted twice" % tid)
    by_counter = {r[1]: r for r in rows}
    for l in mine:
        r = by_counter.get(l["counter"])
        if r is None or r[2] != l["amount"]:
            bad.append("card log record %s has no matching accepted row" % l)
    if mine:
        oldest = min(l["counter"] for l in mine)
        kept = {l["counter"] for l in mine}
        for r in rows:
            if r[1] >= oldest and r[1] not in kept:
                bad.append("0x%08X: accepted row %s is not on the card" % (tid, r))
    everyone += rows
spent, journaled = initial - left, sum(r[2] for r in everyone)
print("card: %d units spent; journals: %d" % (spent, journaled))
if len({r[1] for r in everyone}) != len(everyone):
    bad.append("a card transaction journaled twice")
if spent != journaled:
    bad.append("the card spent %d, the journals account for %d" % (spent, journaled))
if everyone and max(everyone, key=lambda r: r[1])[3] != left:
    bad.append("the newest accepted row's remaining is not the card's %d" % left)
for b in bad:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}
