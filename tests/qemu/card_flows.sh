#!/bin/bash
# qemu_card_flows: the card issue's e2e suite (tests/e2e/test_e2e_card.c:
# issuance from blank, every role, each kind of consumption, the repeat,
# the log and refusals by domain, PIN block and unblock, 1000 real power
# cycles) against the Cortex-M image under QEMU, through pcscd, vpcd and the
# bridge.  Then the round-trip time of one APDU on that stack, and the
# chip's stack high-water mark after it all.
. "$(dirname "$0")/qemu.sh"

card_log="$OCP_RUN_DIR/ocp-card-35963.log"
offs_before=0
[[ -f "$card_log" ]] && offs_before=$(grep -c 'power off' "$card_log" || true)

chip_start "$E2E_TMP/card.img"
"$OCP_BUILD_DIR/bin/test_e2e_card" "$READER0" || fail "test_e2e_card failed"
"$OCP_BUILD_DIR/bin/bench_select_rtt" "$READER0" 500 ||
    fail "bench_select_rtt failed"
chip_stop

offs=$(($(grep -c 'power off' "$card_log" || true) - offs_before))
echo "the chip saw $offs power-offs"
((offs >= 1000)) || fail "only $offs power-offs reached the chip; expected >= 1000"
stack=$(qemu_stack_high_water)
[[ -n "$stack" ]] || fail "the chip reported no stack high-water mark"
echo "stack_high_water $stack bytes"
echo PASS
