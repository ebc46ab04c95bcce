#!/bin/bash
# One APDU round trip through pcscd + vpcd + ocp-card: starts a private
# pcscd (unless ours already runs) and a card on a fresh image, runs
# bench_select_rtt, stops what it started.  Prints the benchmark's
# `name value unit` lines on stdout.
#
#   OCP_BUILD_DIR=build tests/bench/select_rtt.sh [COUNT]
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib/pcscd.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ocp-bench.XXXXXX")
started_pcscd=0
cleanup() {
    card_stop 35963 >/dev/null 2>&1 || true
    ((started_pcscd)) && pcscd_stop
    rm -rf "$tmp"
}
trap cleanup EXIT

if [[ ! -f "$OCP_RUN_DIR/pcscd.pid" ]]; then
    pcscd_start
    started_pcscd=1
else
    pcscd_start # ours already: only checks that it answers
fi
# card_start logs at -v: connection events only, nothing per APDU.
card_start "$tmp/card.img" 35963
"$OCP_BUILD_DIR/bin/bench_select_rtt" "$(card_reader 35963)" "${1:-1000}"
