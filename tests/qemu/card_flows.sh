#!/bin/bash
# qemu_card_flows: the card issue's e2e suite (tests/e2e/test_e2e_card.c:
# issuance from blank, every role, each kind of consumption, the repeat,
# the log and refusals by domain, PIN block and unblock, 1000 real power
# cycles) against the Cortex-M image under QEMU, through pcscd, vpcd and the
# bridge, after opensc-tool's SELECT.  Then the round-trip time of one APDU
# on that stack, and the chip's stack high-water mark after it all, which
# must not exceed the static bound the build computed.
. "$(dirname "$0")/qemu.sh"

card_log="$OCP_RUN_DIR/ocp-card-35963.log"
offs_before=0
[[ -f "$card_log" ]] && offs_before=$(grep -c 'power off' "$card_log" || true)

chip_start "$E2E_TMP/card.img"
# A client nobody here wrote (OpenSC) selects the application on the chip.
out=$(opensc-tool -r "$READER0" -s "$SELECT_OCP" 2>&1) ||
    fail "opensc-tool failed: $out"
grep -q 'SW1=0x90, SW2=0x00' <<<"$out" || fail "opensc-tool: SELECT not answered 90 00: $out"
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
# The cross-check: what the chip used never exceeds the static bound the
# build computed over the call graph.
bound=$(sed -n 's/.*worst case \([0-9]*\) from reset.*/\1/p' \
    "$OCP_BUILD_DIR/bin/ocp-card-cortexm.footprint.txt")
[[ -n "$bound" ]] || fail "no static stack bound in the build's footprint"
((${stack%% *} <= bound)) ||
    fail "the chip used ${stack%% *} bytes of stack, above the static bound $bound"
echo "stack_static_bound $bound bytes"
echo PASS
