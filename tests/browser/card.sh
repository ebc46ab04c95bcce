#!/bin/bash
# card.sh in|out IMAGE: the browser tests insert and remove the virtual card
# (ocp-card on vpcd port 35963) through the same helpers as the e2e tests.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib/pcscd.sh"
case "${1:-}" in
in) card_start "$2" 35963 ;;
out) card_stop 35963 ;;
*)
    echo "usage: card.sh in|out IMAGE" >&2
    exit 2
    ;;
esac
