# shellcheck shell=bash
# Shared by the kiosk bridge tests (kiosk_bridge*.sh): start and stop
# `ocp serve` on a free port, call its API with curl, read its events.
# Source after common.sh.

# A page of our own, so these tests depend on the bridge only (the real
# page has its own tests in tests/browser).
KIOSK_WWW=$E2E_TMP/www
mkdir -p "$KIOSK_WWW/js"
printf '<!doctype html>\n<meta name="ocp-token" content="__OCP_TOKEN__">\n<p>test page</p>\n' \
    >"$KIOSK_WWW/index.html"
printf 'console.log("page");\n' >"$KIOSK_WWW/js/app.js"
printf 'secret\n' >"$KIOSK_WWW/.hidden.js"
printf 'not served\n' >"$KIOSK_WWW/notes.txt"

KIOSK_PID=
KIOSK_SSE_PID=
kiosk_cleanup() {
    [[ -n $KIOSK_SSE_PID ]] && kill "$KIOSK_SSE_PID" 2>/dev/null
    [[ -n $KIOSK_PID ]] && kill "$KIOSK_PID" 2>/dev/null && wait "$KIOSK_PID" 2>/dev/null
    e2e_cleanup
}
trap kiosk_cleanup EXIT

# kiosk_start NAME [ocp global options...] -- [serve options...]
# Starts the bridge; its stdout and stderr go to $E2E_TMP/NAME.out/.log.
# Sets KIOSK_PID, PORT, BASE (http://127.0.0.1:PORT) and TOKEN (read from
# the page, as the browser gets it).
kiosk_start() {
    local name=$1 global=() i
    shift
    while (($# > 0)) && [[ $1 != -- ]]; do
        global+=("$1")
        shift
    done
    (($# > 0)) && shift
    KIOSK_LOG=$E2E_TMP/$name.log
    "$OCP" "${global[@]}" serve --listen 127.0.0.1:0 --www "$KIOSK_WWW" "$@" \
        >"$E2E_TMP/$name.out" 2>"$KIOSK_LOG" &
    KIOSK_PID=$!
    for ((i = 0; i < 100; i++)); do
        grep -q '^serving ' "$E2E_TMP/$name.out" 2>/dev/null && break
        kill -0 "$KIOSK_PID" 2>/dev/null || {
            cat "$KIOSK_LOG" >&2
            fail "ocp serve exited before listening"
        }
        sleep 0.1
    done
    PORT=$(sed -n 's#^serving http://127\.0\.0\.1:\([0-9]*\)/$#\1#p' "$E2E_TMP/$name.out")
    [[ -n $PORT ]] || fail "ocp serve did not print its address"
    BASE=http://127.0.0.1:$PORT
    TOKEN=$(curl -sf "$BASE/" | sed -n 's/.*name="ocp-token" content="\([^"]*\)".*/\1/p')
    [[ $TOKEN =~ ^[0-9a-f]{64}$ ]] || fail "no token in the page: '$TOKEN'"
}

# kiosk_stop: SIGTERM; the bridge must exit 0 within 5 s.
kiosk_stop() {
    local i rc
    [[ -n $KIOSK_SSE_PID ]] && { kill "$KIOSK_SSE_PID" 2>/dev/null; wait "$KIOSK_SSE_PID" 2>/dev/null || true; }
    KIOSK_SSE_PID=
    kill -TERM "$KIOSK_PID"
    for ((i = 0; i < 50; i++)); do
        kill -0 "$KIOSK_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$KIOSK_PID" 2>/dev/null && fail "ocp serve did not stop on SIGTERM"
    rc=0
    wait "$KIOSK_PID" || rc=$?
    KIOSK_PID=
    if ((rc != 0)); then
        grep -v '^ocp serve: [0-9]' "$KIOSK_LOG" | tail -n 60 >&2
        fail "ocp serve exited $rc on SIGTERM"
    fi
}

# api METHOD PATH [BODY]: calls the API as the page does (token, own
# Origin); the answer goes to $E2E_TMP/body, the status is printed.
api() {
    local method=$1 path=$2 body=${3-}
    local args=(-s -o "$E2E_TMP/body" -w '%{http_code}' -X "$method"
        -H "X-OCP-Token: $TOKEN" -H "Origin: $BASE")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    curl "${args[@]}" "$BASE$path"
}

# expect STATUS METHOD PATH [BODY]: the call answers STATUS.
expect() {
    local want=$1 got
    shift
    got=$(api "$@")
    [[ $got == "$want" ]] || fail "$* answered $got, not $want: $(cat "$E2E_TMP/body")"
}

# body_is EXPR: a Python expression over the last answer (j) is true.
body_is() {
    [[ $(json "$E2E_TMP/body" "$1") == True ]] ||
        fail "answer $(cat "$E2E_TMP/body") does not satisfy: $1"
}

# sse_start FILE: follows the event stream into FILE.
sse_start() {
    curl -sN "$BASE/api/events?token=$TOKEN" >"$1" &
    KIOSK_SSE_PID=$!
}

# sse_wait FILE EVENT DATA-SUBSTRING [SECONDS]: waits until the stream
# has carried that event with that data.
sse_wait() {
    local file=$1 event=$2 data=$3 tenths=$((${4:-10} * 10))
    while ((tenths-- > 0)); do
        grep -A1 -x "event: $event" "$file" | grep -qF "$data" && return 0
        sleep 0.1
    done
    echo "--- events so far:" >&2
    cat "$file" >&2
    fail "no '$event' event with '$data' on the stream"
}
