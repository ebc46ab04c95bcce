#!/bin/bash
# e2e_kiosk_bridge_pcscd: pcscd dies under a running `ocp serve` with the
# holder's view open: the view ends, the API answers 503 no_reader, the
# bridge keeps running, and when pcscd is back the card is seen again and
# its PIN opens a new view (docs/KIOSK.md 1.4).  It restarts the shared
# pcscd, so it runs alone (SERIAL), as e2e_reconnect does.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/kiosk_lib.sh"

KEYS="dev:$E2E_TMP/keys"
PIN=7306152
bridge_cleanup() {
    # Leave a pcscd behind for the rest of the suite even when we failed
    # between the stop and the start.
    pcscd_start >/dev/null 2>&1 || true
    kiosk_cleanup
}
trap bridge_cleanup EXIT

e2e_card_start "$E2E_TMP/card.img" 35963
"$OCP" -r "$READER0" --keys "$KEYS" issue --name "Pat Doe" \
    --cert 11010119850101123413 --district 110101 --pin "$PIN" \
    --entitlement 0x0101:transit:pass >/dev/null || fail issue

kiosk_start pcscd -r "$READER0" --keys "$KEYS" -- --no-speech
sse_start "$E2E_TMP/events"
sse_wait "$E2E_TMP/events" card '"state":"present"'
expect 200 POST /api/pin/verify "{\"pin\":\"$PIN\"}"
expect 200 GET /api/holder

pcscd_stop
sse_wait "$E2E_TMP/events" reader '"state":"unavailable"' 5
sse_wait "$E2E_TMP/events" card '"state":"absent"'
sse_wait "$E2E_TMP/events" session '"reason":"removed"'
expect 401 GET /api/holder
expect 503 GET /api/card
body_is 'j["error"]=="no_reader"'
expect 503 GET /api/readers
expect 503 POST /api/pin/verify "{\"pin\":\"$PIN\"}"
kill -0 "$KIOSK_PID" || fail "ocp serve died with pcscd"

pcscd_start || fail "pcscd did not come back"
"$OCP_BUILD_DIR/bin/pcsc-wait" present "$READER0" 10 || fail "the card did not come back"
sse_wait "$E2E_TMP/events" reader '"state":"available"' 10
for ((i = 0; i < 50; i++)); do
    [[ $(grep -c -x 'data: {"state":"present","reader":"Virtual PCD 00 00"}' "$E2E_TMP/events") == 2 ]] && break
    sleep 0.1
done
[[ $(grep -c -x 'data: {"state":"present","reader":"Virtual PCD 00 00"}' "$E2E_TMP/events") == 2 ]] ||
    fail "the card was not reported present again: $(cat "$E2E_TMP/events")"
expect 200 GET /api/card
body_is 'j["state"]=="active" and j["pin_tries_left"]==3'
expect 200 POST /api/pin/verify "{\"pin\":\"$PIN\"}"
expect 200 GET /api/holder
body_is 'j["name"]=="Pat Doe"'
kiosk_stop
grep -qF "$PIN" "$KIOSK_LOG" && fail "the PIN is in the log"
echo PASS
