#!/bin/bash
# ccid_cli_errors: one-card commands over a USB CCID reader (the device
# model behind ocp-ccid-model) end with the exit codes of docs/CLI.md, as
# over PC/SC: card pulled 4, reader unplugged 3, endpoint stalled 1, card
# slower than --card-timeout 10.  A slow card is served for as long as
# --card-timeout allows, however many time extensions it asks for.
#   cli_errors.sh OCP-CCID-MODEL
. "$(dirname "$0")/common.sh" "$1"
now_ms() { date +%s%3N; }
# expect CODE TEXT SCENARIO ARGS...: exit CODE and TEXT on stderr
expect() {
    local code=$1 text=$2 scenario=$3 rc
    shift 3
    run "$scenario" "$@" >out 2>err
    rc=$?
    ((rc == code)) || fail "$scenario / $*: exit $rc, not $code: $(cat err)"
    [[ -z $text ]] || grep -q -- "$text" err || fail "$scenario / $*: $(cat err)"
}

run "insert card.img" issue --name 张三 --cert 11010119800101123X42 \
    --district 110105 --pin 2468 \
    --entitlement 0x0401:assistive:balance:1000000 >/dev/null || fail issue

read=(read --role assistive)
expect 4 "card was removed" "pull 2
insert card.img" "${read[@]}"
expect 3 "the reader was unplugged" "unplug-at 2
insert card.img" "${read[@]}"
expect 1 "stalled again after it was cleared" "stall 2
insert card.img" "${read[@]}"
t0=$(now_ms)
expect 0 "" "insert card.img" "${read[@]}"
plain=$(($(now_ms) - t0)) # a read with no slowness, start-up included

# 100 time extensions 20 ms apart (2 s; more than the 60 the transport
# once allowed): served within the default 5 s.
expect 0 "" "slow 100 20
insert card.img" "${read[@]}"
# 30 of them 100 ms apart (3 s): past --card-timeout 1, exit 10 after
# about 1 s more than a plain read (well before the card would answer),
# the command aborted; with --card-timeout 0 (for ever) served.
t0=$(now_ms)
expect 10 "the card took more than 1000 ms" "slow 30 100
insert card.img" --card-timeout 1 "${read[@]}"
took=$(($(now_ms) - t0))
grep -q "the command was aborted" err || fail "not aborted: $(cat err)"
((took - plain < 2000)) || fail "the timeout took $took ms, a plain read $plain ms"
expect 0 "" "slow 30 100
insert card.img" --card-timeout 0 "${read[@]}"
echo "ccid_cli_errors: PASS"
