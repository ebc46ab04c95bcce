#!/bin/bash
# A bus validation through pcscd + vpcd + ocp-card beside three bare round
# trips on the same connection; prints `name value unit` lines.
#
#   OCP_BUILD_DIR=build tests/bench/validation.sh [COUNT]
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
fi
card_start "$tmp/card.img" 35963
"$OCP_BUILD_DIR/bin/bench_validation" "$(card_reader 35963)" "$tmp/keys" "${1:-300}"
# Process start of the ocp command, apart from the tap itself.
start=$(date +%s%N)
for _ in $(seq 50); do "$OCP_BUILD_DIR/bin/ocp" --help >/dev/null; done
echo "ocp_process_start_ms $(( ($(date +%s%N) - start) / 50 / 1000 )) us" |
    awk '{printf "%s %.2f ms\n", $1, $2 / 1000}'
