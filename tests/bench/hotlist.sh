#!/bin/bash
# The signed hotlist's look-up (bench_hotlist): 1 000 000 entries written
# and signed with the development key store, opened as a terminal does,
# then a million listed and a million unlisted cards looked up; prints
# `name value unit` lines and fails unless the look-up is exact.
# Arguments go to bench_hotlist (-n ENTRIES, -q QUERIES).
#
#   OCP_BUILD_DIR=build tests/bench/hotlist.sh
set -euo pipefail
"$OCP_BUILD_DIR/bin/bench_hotlist" "$@"
