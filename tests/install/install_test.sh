#!/bin/bash
# test_install: `cmake --install` into a scratch prefix, then build the kiosk
# example against it twice, with pkg-config and with find_package(ocp), as
# an integrator would.  Also checks the SONAME and that internals are hidden.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ocp-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
lib=$(ls "$tmp"/prefix/lib*/libocp.so.0* | head -1)
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[[ $soname == libocp.so.0 ]] || { echo "SONAME is '$soname'"; exit 1; }
# Only the API is exported: no protocol internals, no applet.
if nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^ocp_' | grep -q .; then
    echo "symbols outside the ocp_ API are exported:"
    nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^ocp_'
    exit 1
fi
for internal in ocp_sm_begin ocp_cmac ocp_card_process hl_sign; do
    ! nm -D --defined-only "$lib" | grep -qw "$internal" ||
        { echo "internal symbol $internal is exported"; exit 1; }
done
[[ -f $tmp/prefix/include/ocp/wire.h && ! -e $tmp/prefix/include/ocp/inproc.h ]] ||
    { echo "installed headers are wrong"; exit 1; }

export PKG_CONFIG_PATH=$(dirname "$(ls "$tmp"/prefix/lib*/pkgconfig/ocp.pc)")
cc -std=c99 -Wall -Werror -o "$tmp/kiosk_pc" "$src/docs/examples/kiosk_example.c" \
    $(pkg-config --cflags ocp) $(pkg-config --libs ocp)
LD_LIBRARY_PATH=$(dirname "$lib") "$tmp/kiosk_pc" 2>/dev/null && {
    echo "kiosk example without arguments should fail"; exit 1; } || true

mkdir "$tmp/consumer"
cat >"$tmp/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(ocp REQUIRED)
add_executable(kiosk "$src/docs/examples/kiosk_example.c")
target_link_libraries(kiosk PRIVATE ocp::ocp)
CMAKE
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
echo "installed, SONAME $soname, built with pkg-config and find_package: PASS"
