#!/bin/bash
# e2e_image_refused: ocp-card refuses a damaged image at start-up, before it
# connects to vpcd, with exit code 2 and a message naming the image.
. "$(dirname "$0")/common.sh"

card="$OCP_BUILD_DIR/bin/ocp-card"

expect_refused() { # IMAGE PATTERN
    local out rc=0
    out=$(timeout 10 "$card" --image "$1" --once 2>&1) || rc=$?
    echo "$out"
    ((rc == 2)) || fail "$1: exit code $rc, expected 2"
    grep -qE "$2" <<<"$out" || fail "$1: message does not match /$2/"
}

# A good image first: ocp-card makes it before it tries to connect (port 1
# refuses, so it only retries until we stop it).
"$card" --image "$E2E_TMP/good.img" --port 1 >/dev/null 2>&1 &
maker=$!
for _ in $(seq 50); do
    [[ -s "$E2E_TMP/good.img" ]] && break
    sleep 0.1
done
sleep 0.2 # the header is written right after the erased file
kill -TERM "$maker"
wait "$maker" || fail "ocp-card exited with $? on SIGTERM"
[[ $(stat -c %s "$E2E_TMP/good.img") -eq 8192 ]] || fail "no image was made"

# A truncated image: the good one cut to half.
head -c 4096 "$E2E_TMP/good.img" >"$E2E_TMP/truncated.img"
expect_refused "$E2E_TMP/truncated.img" "image .*truncated.img is damaged"

# Garbage of the right size: no valid format header.
head -c 8192 /dev/urandom >"$E2E_TMP/garbage.img"
expect_refused "$E2E_TMP/garbage.img" "image .*garbage.img is damaged"

# A well-formed header of another format version (byte 4 of page 0; the
# page's CRC-32 over its first 60 bytes, big-endian, in bytes 60..63).
python3 - "$E2E_TMP/good.img" "$E2E_TMP/version9.img" <<'PY'
import sys, zlib
img = bytearray(open(sys.argv[1], "rb").read())
img[4] = 9
img[60:64] = zlib.crc32(bytes(img[:60])).to_bytes(4, "big")
open(sys.argv[2], "wb").write(img)
PY
expect_refused "$E2E_TMP/version9.img" \
    "image .*version9.img has format version 9, this ocp-card reads version 1"

# The refused images are left as they were.
[[ $(stat -c %s "$E2E_TMP/truncated.img") -eq 4096 ]] ||
    fail "the truncated image was changed"
echo PASS
