#!/bin/bash
# e2e_card_flows: test_e2e_card on a blank card through pcscd and vpcd:
# issuance, every role, consumption, repeat, log, refusals, PIN and 1000
# power cycles.  The card's own log must show those power cycles: a reset
# that only warm-reset the card would prove nothing about its DRBG.
. "$(dirname "$0")/common.sh"

card_log="$OCP_RUN_DIR/ocp-card-35963.log"
offs_before=0
[[ -f "$card_log" ]] && offs_before=$(grep -c 'power off' "$card_log" || true)

e2e_card_start "$E2E_TMP/card.img" 35963
"$OCP_BUILD_DIR/bin/test_e2e_card" "$READER0" ||
    fail "test_e2e_card failed"
card_stop 35963 || fail "ocp-card did not stop cleanly"

offs=$(($(grep -c 'power off' "$card_log" || true) - offs_before))
echo "the card saw $offs power-offs"
((offs >= 1000)) || fail "only $offs power-offs reached the card; expected >= 1000"
echo PASS
