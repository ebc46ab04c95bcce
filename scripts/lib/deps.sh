# shellcheck shell=bash
#
# Debian packages the project needs, installed only when missing, so the
# scripts run on a fresh Debian 12 machine as root and cost nothing on a
# machine that has them.

# Build and test dependencies of scripts/test and scripts/demo.
# (libmicrohttpd-dev, for `ocp serve`, pulls in libmicrohttpd12.)
OCP_PACKAGES_BUILD=(build-essential cmake pkg-config libssl-dev
    libpcsclite-dev libcmocka-dev libjansson-dev libp11-kit-dev
    libsqlite3-dev sqlite3 libpq-dev libusb-1.0-0-dev libmicrohttpd-dev)
# espeak-ng: the kiosk page's "read aloud" (ocp serve).
OCP_PACKAGES_RUN=(pcscd vsmartcard-vpcd opensc pcsc-tools python3-pyscard
    softhsm2 postgresql espeak-ng)
# scripts/test only: the constant-time checks run under valgrind; the
# Cortex-M image is cross-compiled and its tests (label qemu) run it under
# QEMU's mps2-an385; the kiosk bridge's tests (label kiosk) talk to it
# with curl.
OCP_PACKAGES_TEST=(valgrind gcc-arm-none-eabi libnewlib-arm-none-eabi
    qemu-system-arm curl)
# The kiosk page's browser tests (label browser): Debian's Chromium, a
# font with Chinese glyphs for its screenshots, and Node.js with npm for
# playwright-core (Debian's nodejs and npm only where no node is installed,
# so a Node.js from elsewhere is kept).
OCP_PACKAGES_TEST+=(chromium fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || OCP_PACKAGES_TEST+=(nodejs npm)
OCP_PACKAGES_FUZZ=(clang libclang-rt-14-dev llvm-14)
OCP_PACKAGES_FULL=("${OCP_PACKAGES_FUZZ[@]}")

# A pcscd that really runs (zombies of earlier runs, which this machine's
# init does not reap, do not count).
ocp_pcscd_running() {
    local pid state
    for pid in $(pgrep -x pcscd); do
        state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || continue
        [[ $state != Z ]] && return 0
    done
    return 1
}

ocp_install_packages() { # PACKAGE...
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) != 0 ]]; then
        echo "missing Debian packages: ${missing[*]} (run as root to install)" >&2
        return 1
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null &&
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        {
            echo "apt-get install failed for: ${missing[*]}" >&2
            return 1
        }
}
