#!/bin/bash
# The chip's compact constant-time AES-128 and SM4 (firmware/port/compact)
# beside OpenSSL on this machine, keyed per block as the port is called;
# prints `name value unit` lines (docs/FIRMWARE.md).
#
#   OCP_BUILD_DIR=build tests/bench/compact_crypto.sh
set -euo pipefail
exec "${OCP_BUILD_DIR:?}/bin/bench_compact_crypto" "$@"
