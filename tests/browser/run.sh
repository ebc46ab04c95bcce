#!/bin/bash
# browser_kiosk: the kiosk page (kiosk/www) in Debian's Chromium, driven by
# playwright-core, against the real bridge (`ocp serve`) and a virtual card
# behind the real pcscd.  This script issues the card and records what it
# holds; kiosk.test.cjs starts the bridge and the browser and runs the
# flows (docs/TESTING.md, label browser).
. "$(dirname "$0")/../e2e/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    fail "node and npm are needed (scripts/lib/deps.sh installs them)"
fi
[[ -x /usr/bin/chromium ]] || fail "/usr/bin/chromium is missing (Debian package chromium)"

# playwright-core and axe-core from the committed lock file, in the build
# tree: the build runs `npm ci` (tests/browser/CMakeLists.txt); here again
# only if they are missing or older than the lock file, from npm's cache.
MODULES="$OCP_BUILD_DIR/tests/browser-node"
if ! cmp -s "$HERE/package-lock.json" "$MODULES/package-lock.json" ||
    [[ ! -d "$MODULES/node_modules/playwright-core" ]]; then
    mkdir -p "$MODULES"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$MODULES/"
    (cd "$MODULES" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) ||
        fail "npm ci failed"
fi

KEYS="$E2E_TMP/keys"
IMAGE="$E2E_TMP/card.img"
PIN=2468
e2e_card_start "$IMAGE" 35963
"$OCP" -r "$READER0" --keys "dev:$KEYS" issue \
    --name "赵六" --cert 11010119850101123413 --district 110101 --pin "$PIN" \
    --entitlement 0x0101:transit:pass \
    --entitlement 0x0201:medical:counter:2:month \
    --entitlement 0x0103:transit:balance:120000 >/dev/null || fail issue
# Two uses, so the page has a log to show and a balance below the grant.
"$OCP" -r "$READER0" --keys "dev:$KEYS" --terminal-id 0x0B000001 \
    use --role transit --service 0x0101 --seq 1 >/dev/null || fail "use 0x0101"
"$OCP" -r "$READER0" --keys "dev:$KEYS" --terminal-id 0x0B000001 \
    use --role transit --service 0x0103 --seq 2 --amount 1550 >/dev/null ||
    fail "use 0x0103"
OCP_PIN=$PIN "$OCP" -r "$READER0" --keys "dev:$KEYS" --json read --role kiosk \
    >"$E2E_TMP/expected-read.json" || fail "read --role kiosk"
OCP_PIN=$PIN "$OCP" -r "$READER0" --keys "dev:$KEYS" --json log --role kiosk \
    >"$E2E_TMP/expected-log.json" || fail "log --role kiosk"

# The speech program the bridge runs instead of espeak-ng: it writes down
# what it was asked to say.
SPOKEN="$E2E_TMP/spoken.txt"
: >"$SPOKEN"
printf '#!/bin/sh\n{ printf "ARGS %%s\\n" "$*"; cat; printf "\\n--END--\\n"; } >>"%s"\n' \
    "$SPOKEN" >"$E2E_TMP/speak.sh"
chmod +x "$E2E_TMP/speak.sh"

SHOTS="$OCP_BUILD_DIR/browser-screenshots"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"

export NODE_PATH="$MODULES/node_modules"
export KIOSK_OCP="$OCP" KIOSK_KEYS="dev:$KEYS" KIOSK_READER="$READER0"
export KIOSK_WWW="$SRC/kiosk/www" KIOSK_PIN="$PIN" KIOSK_IMAGE="$IMAGE"
export KIOSK_CARD_SH="$HERE/card.sh" KIOSK_TMP="$E2E_TMP"
export KIOSK_SPEECH_CMD="$E2E_TMP/speak.sh" KIOSK_SPOKEN="$SPOKEN"
export KIOSK_SHOTS="$SHOTS" KIOSK_CATALOGUE="$SRC/docs/catalogue.json"
export KIOSK_EXPECTED_READ="$E2E_TMP/expected-read.json"
export KIOSK_EXPECTED_LOG="$E2E_TMP/expected-log.json"
set +e
node --test --test-concurrency=1 --test-reporter=spec "$HERE/kiosk.test.cjs"
rc=$?
set -e
[[ -f "$E2E_TMP/latency.txt" ]] && cat "$E2E_TMP/latency.txt"
echo "screenshots: $(find "$SHOTS" -name '*.png' | wc -l) in $SHOTS"
((rc == 0)) || fail "browser tests failed"
echo PASS
