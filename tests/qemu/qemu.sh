# shellcheck shell=bash
# Shared by the qemu tests: the e2e helpers (tests/e2e/common.sh: strict
# mode, pcscd, card_start/card_stop, a scratch directory) plus the chip, the
# Cortex-M image under qemu-system-arm, with ocp-card --qemu as the bridge
# between vpcd and its UART (docs/FIRMWARE.md).
#
#   qemu_start IMAGE [WORDS...]  start the chip on IMAGE (WORDS go on its
#                                command line before it, e.g. cut=3:32)
#   qemu_stop                    stop it (SIGTERM), wait until it is gone
#   qemu_wait_exit               wait until it exits by itself; its exit
#                                status goes to QEMU_RC
#   chip_start IMAGE [WORDS...]  qemu_start, then the bridge on vpcd 35963,
#                                waiting until pcscd sees the card
#   chip_stop                    stop the bridge, then the chip
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/common.sh"

QEMU_IMAGE_ELF="$OCP_BUILD_DIR/bin/ocp-card-cortexm.elf"
QEMU_SERIAL_PORT=${QEMU_SERIAL_PORT:-35980}
QEMU_LOG="$E2E_TMP/qemu.log"
QEMU_PID=
[[ -f "$QEMU_IMAGE_ELF" ]] || fail "$QEMU_IMAGE_ELF is missing: build the tree"
command -v qemu-system-arm >/dev/null || fail "qemu-system-arm is missing"

qemu_start() { # IMAGE [WORDS...]
    local image=$1
    shift
    # nodelay: the UART sends a byte at a time; with Nagle on QEMU's
    # socket every answer would wait for the bridge's delayed ACK.
    qemu-system-arm -M mps2-an385 -display none -monitor none \
        -chardev "socket,id=card,host=127.0.0.1,port=$QEMU_SERIAL_PORT,server=on,wait=off,nodelay=on" \
        -serial chardev:card \
        -semihosting-config enable=on,target=native \
        -kernel "$QEMU_IMAGE_ELF" -append "$* $image" \
        </dev/null >>"$QEMU_LOG" 2>&1 &
    QEMU_PID=$!
}

qemu_stop() {
    [[ -n "$QEMU_PID" ]] || return 0
    kill -TERM "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=
}

qemu_wait_exit() {
    QEMU_RC=0
    wait "$QEMU_PID" || QEMU_RC=$?
    QEMU_PID=
}

chip_start() { # IMAGE [WORDS...]
    qemu_start "$@"
    E2E_CARD_STARTED=1
    card_start "$1" 35963 --qemu "127.0.0.1:$QEMU_SERIAL_PORT"
}

chip_stop() {
    # The bridge first: it powers the chip off on its way out, which makes
    # the chip report its stack high-water mark.
    card_stop 35963 || true
    qemu_stop
}

qemu_cleanup() {
    [[ -n "$QEMU_PID" ]] && kill -KILL "$QEMU_PID" 2>/dev/null
    # Keep the chip's console (stack reports) beside the run's other logs.
    [[ -f "$QEMU_LOG" ]] && cat "$QEMU_LOG" >>"$OCP_RUN_DIR/qemu.log"
    e2e_cleanup
}
trap qemu_cleanup EXIT

# The largest stack high-water mark the chip reported in this test.
qemu_stack_high_water() {
    grep -o 'ocp-fw: stack [0-9]* of [0-9]*' "$QEMU_LOG" |
        awk '{ if ($3 > m) { m = $3; of = $5 } } END { print m " of " of }'
}
