# shellcheck shell=bash
#
# A private pcscd and virtual cards for tests and demos (DESIGN.md section 7).
# Source this file; it defines functions only.
#
#   pcscd_start            start `pcscd -f -i` (as root), wait until it answers
#   pcscd_stop             stop the pcscd that pcscd_start started
#   card_start IMAGE [PORT] [ocp-card args...]
#                          start build/bin/ocp-card on IMAGE behind vpcd PORT
#                          (35963 = "Virtual PCD 00 00", 35964 = "... 00 01")
#                          and wait until the reader reports the card present
#   card_stop [PORT]       stop that card and wait until the reader is empty
#   card_reader [PORT]     print the reader name that belongs to PORT
#
# Settings (environment):
#   OCP_BUILD_DIR   build tree with bin/ocp-card and bin/pcsc-wait
#                   (default: <repository>/build)
#   OCP_RUN_DIR     where PID files and logs go (default: $OCP_BUILD_DIR/e2e-run)
#
# The PIDs live in files, not variables, so the pcscd started by one script
# (a ctest fixture) is known as ours to the scripts that run after it.

_ocp_repo_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

: "${OCP_BUILD_DIR:=$(_ocp_repo_root)/build}"
: "${OCP_RUN_DIR:=$OCP_BUILD_DIR/e2e-run}"

_ocp_die() {
    echo "pcscd.sh: $*" >&2
    return 1
}

# A zombie (our exited child, not yet reaped) counts as gone.
_ocp_alive() { # PID
    local stat
    [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

_ocp_pcscd_pidfile() { echo "$OCP_RUN_DIR/pcscd.pid"; }

# Waits up to $2 seconds (tenths) for process $1 to be gone.
_ocp_wait_gone() { # PID SECONDS
    local pid=$1 tenths=$(($2 * 10))
    while _ocp_alive "$pid" && ((tenths-- > 0)); do
        sleep 0.1
    done
    ! _ocp_alive "$pid"
}

# Stops process $1: TERM, then KILL after $2 seconds.  Returns its exit
# status when it is our child, 0 otherwise.
_ocp_kill_wait() { # PID SECONDS
    local pid=$1 rc=0
    _ocp_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    if ! _ocp_wait_gone "$pid" "$2"; then
        echo "pcscd.sh: process $pid ignored SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
        _ocp_wait_gone "$pid" 2
    fi
    if jobs -p | grep -qx "$pid"; then
        wait "$pid" 2>/dev/null
        rc=$?
    fi
    return "$rc"
}

_ocp_pcsc_wait() {
    local bin="$OCP_BUILD_DIR/bin/pcsc-wait"
    [[ -x "$bin" ]] || {
        _ocp_die "$bin is missing: build the tree first (cmake --build)"
        return 1
    }
    "$bin" "$@"
}

# Starts a private pcscd and waits until it answers a PC/SC call.
pcscd_start() {
    local pidfile pid other='' log
    pidfile=$(_ocp_pcscd_pidfile)
    mkdir -p "$OCP_RUN_DIR" || return 1
    if [[ -f "$pidfile" ]]; then
        pid=$(<"$pidfile")
        if _ocp_alive "$pid" && [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == pcscd ]]; then
            # Ours, from an earlier step (the ctest fixture): reuse it.
            _ocp_pcsc_wait service 10
            return
        fi
        rm -f "$pidfile"
    fi
    # pgrep also lists zombies: a pcscd that just exited under a parent
    # that reaps late is not running.
    for pid in $(pgrep -x pcscd); do
        _ocp_alive "$pid" && other=$pid
    done
    if [[ -n "$other" ]]; then
        _ocp_die "another pcscd (pid $other) is already running on /run/pcscd;" \
            "stop it first, or use it directly without pcscd_start"
        return 1
    fi
    [[ $(id -u) -eq 0 ]] || {
        _ocp_die "pcscd must run as root (it creates /run/pcscd)"
        return 1
    }
    log="$OCP_RUN_DIR/pcscd.log"
    # stdin/stdout/stderr away from the caller: ctest waits for its pipes to
    # close, and pcscd outlives the fixture script that starts it.
    pcscd -f -i </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    if ! _ocp_pcsc_wait service 10; then
        _ocp_alive "$pid" && kill -KILL "$pid" 2>/dev/null
        rm -f "$pidfile"
        _ocp_die "pcscd did not answer within 10 s; its log ($log) ends:"
        tail -n 20 "$log" >&2
        return 1
    fi
}

# Stops the pcscd that pcscd_start started (and only that one).
pcscd_stop() {
    local pidfile pid
    pidfile=$(_ocp_pcscd_pidfile)
    [[ -f "$pidfile" ]] || return 0
    pid=$(<"$pidfile")
    if _ocp_alive "$pid" && [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == pcscd ]]; then
        _ocp_kill_wait "$pid" 5 || true
    fi
    rm -f "$pidfile"
}

card_reader() { # [PORT]
    case "${1:-35963}" in
    35963) echo "Virtual PCD 00 00" ;;
    35964) echo "Virtual PCD 00 01" ;;
    *)
        _ocp_die "no vpcd reader is configured for port $1"
        return 1
        ;;
    esac
}

# Starts ocp-card and waits until pcscd sees the card (it polls every 400 ms).
card_start() { # IMAGE [PORT] [ocp-card args...]
    local image=$1 port=${2:-35963} reader pid log bin
    [[ -n "$image" ]] || {
        _ocp_die "usage: card_start IMAGE [PORT] [ocp-card args...]"
        return 1
    }
    shift
    (($# > 0)) && shift
    reader=$(card_reader "$port") || return 1
    bin="$OCP_BUILD_DIR/bin/ocp-card"
    [[ -x "$bin" ]] || {
        _ocp_die "$bin is missing: build the tree first"
        return 1
    }
    # Another card in this slot (an ocp-card that outlived its test) would
    # answer in place of ours, with the same development keys: refuse.
    if ! _ocp_pcsc_wait absent "$reader" 2 >/dev/null 2>&1; then
        _ocp_die "\"$reader\" already has a card: an earlier ocp-card still runs? ($(pgrep -a ocp-card | grep -v defunct | tr '\n' ' '))"
        return 1
    fi
    mkdir -p "$OCP_RUN_DIR" || return 1
    log="$OCP_RUN_DIR/ocp-card-$port.log"
    "$bin" --image "$image" --port "$port" -v "$@" </dev/null >>"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$OCP_RUN_DIR/ocp-card-$port.pid"
    if ! _ocp_pcsc_wait present "$reader" 10; then
        if ! _ocp_alive "$pid"; then
            _ocp_die "ocp-card exited early; its log ($log) ends:"
        else
            _ocp_die "the card did not appear in \"$reader\" within 10 s; log ($log):"
            _ocp_kill_wait "$pid" 2
        fi
        tail -n 20 "$log" >&2
        rm -f "$OCP_RUN_DIR/ocp-card-$port.pid"
        return 1
    fi
}

# Stops the card started on PORT and waits until its reader is empty.
# Returns ocp-card's exit status when it was started by this shell.
card_stop() { # [PORT]
    local port=${1:-35963} pidfile pid rc=0
    pidfile="$OCP_RUN_DIR/ocp-card-$port.pid"
    [[ -f "$pidfile" ]] || return 0
    pid=$(<"$pidfile")
    _ocp_kill_wait "$pid" 5 || rc=$?
    rm -f "$pidfile"
    if [[ -f "$(_ocp_pcscd_pidfile)" ]]; then
        _ocp_pcsc_wait absent "$(card_reader "$port")" 5 || rc=1
    fi
    return "$rc"
}
