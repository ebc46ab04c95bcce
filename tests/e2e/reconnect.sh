#!/bin/bash
# e2e_reconnect: pcscd goes away and comes back while ocp-card runs; the card
# reconnects by itself (back-off up to 1 s), pcscd finds it present again
# within a few seconds, and SELECT works.
. "$(dirname "$0")/common.sh"

reconnect_cleanup() {
    card_stop 35963 >/dev/null 2>&1 || true
    # Leave a pcscd behind for the rest of the suite even when we failed
    # between the stop and the start.
    pcscd_start >/dev/null 2>&1 || true
    rm -rf "$E2E_TMP"
}
trap reconnect_cleanup EXIT

select_ok() {
    local out
    out=$(opensc-tool -r "$READER0" -s "${SELECT_OCP}00" 2>&1) || {
        echo "$out" >&2
        return 1
    }
    grep -q 'SW1=0x90, SW2=0x00' <<<"$out"
}

e2e_card_start "$E2E_TMP/card.img" 35963
select_ok || fail "SELECT before the restart failed"
card_pid=$(<"$OCP_RUN_DIR/ocp-card-35963.pid")

pcscd_stop
kill -0 "$card_pid" || fail "ocp-card exited when pcscd stopped"
sleep 0.5
pcscd_start || fail "pcscd did not come back"
start=$(date +%s%N)
"$OCP_BUILD_DIR/bin/pcsc-wait" present "$READER0" 5 ||
    fail "the card did not come back within 5 s"
echo "card present again after $((($(date +%s%N) - start) / 1000000)) ms"
kill -0 "$card_pid" || fail "ocp-card died"
select_ok || fail "SELECT after the restart failed"
card_stop 35963 || fail "ocp-card did not stop cleanly"
echo PASS
