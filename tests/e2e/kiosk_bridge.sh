#!/bin/bash
# e2e_kiosk_bridge: `ocp serve` against a card issued by `ocp issue`,
# through pcscd and vpcd, driven with curl as the page would drive it
# (docs/KIOSK.md): the Host/Origin/token checks, the page's files, the
# card's public data, PIN entry, the holder's data equal to what
# `ocp read --role kiosk` prints, the log, PIN change, the card leaving,
# the idle end, speech, a missing reader, and a log with no secret in it.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/kiosk_lib.sh"

KEYS="dev:$E2E_TMP/keys"
NAME="欧阳明月"
PIN=5820461 NEW_PIN=9173524 WRONG=3141592
ocp() { "$OCP" -r "$READER0" --keys "$KEYS" "$@"; }

# A speech program that writes down what it was asked to say.
cat >"$E2E_TMP/say" <<EOF
#!/bin/sh
printf '%s\n' "\$2" >>"$E2E_TMP/voices"
cat >>"$E2E_TMP/spoken"
echo >>"$E2E_TMP/spoken"
EOF
chmod +x "$E2E_TMP/say"

e2e_card_start "$E2E_TMP/card.img" 35963
ocp issue --name "$NAME" --cert 11010119850101123413 --district 110105 \
    --pin "$PIN" --entitlement 0x0101:transit:pass \
    --entitlement 0x0201:medical:counter:2:month \
    --entitlement 0x0103:transit:balance:120000 >/dev/null || fail issue
ocp --terminal-id 0x0B000001 use --role transit --service 0x0101 --seq 1 \
    >/dev/null || fail "a ride for the log"
ocp --json info >"$E2E_TMP/info.json" || fail info
OCP_PIN=$PIN ocp --json read --role kiosk >"$E2E_TMP/read.json" || fail "ocp read"
OCP_PIN=$PIN ocp --json log --role kiosk >"$E2E_TMP/log.json" || fail "ocp log"
CARD_ID=$(json "$E2E_TMP/info.json" 'j["card_id"]')

OCP_SPEECH_CMD=$E2E_TMP/say kiosk_start main -r "$READER0" --keys "$KEYS"
sse_start "$E2E_TMP/events"
sse_wait "$E2E_TMP/events" card '"state":"present"'
echo "bridge on $BASE, card $CARD_ID present"

echo "== every request: Host, Origin, token"
code() { curl -s -o "$E2E_TMP/body" -w '%{http_code}' "$@"; }
# The token with its last digit changed (never to the digit it was).
if [[ ${TOKEN: -1} == 0 ]]; then WRONG_TOKEN=${TOKEN%?}1; else WRONG_TOKEN=${TOKEN%?}0; fi
[[ $(code "$BASE/api/card") == 403 ]] && body_is 'j["error"]=="token"' ||
    fail "no token accepted"
[[ $(code -H "X-OCP-Token: $WRONG_TOKEN" "$BASE/api/card") == 403 ]] || fail "a wrong token accepted"
[[ $(code -H "X-OCP-Token: ${TOKEN}0" "$BASE/api/card") == 403 ]] || fail "a longer token accepted"
[[ $(code "$BASE/api/card?token=$TOKEN") == 403 ]] || fail "the token in the query of a non-stream call"
[[ $(code "$BASE/api/events?token=$WRONG_TOKEN") == 403 ]] || fail "the stream with a wrong token"
[[ $(code -H "X-OCP-Token: $TOKEN" -H "Origin: http://evil.example" "$BASE/api/card") == 403 ]] &&
    body_is 'j["error"]=="origin"' || fail "a foreign Origin accepted"
[[ $(code -H "X-OCP-Token: $TOKEN" -H "Origin: null" "$BASE/api/card") == 403 ]] || fail "Origin null accepted"
[[ $(code -H "X-OCP-Token: $TOKEN" -H "Origin: http://127.0.0.1:$((PORT + 1))" "$BASE/api/card") == 403 ]] ||
    fail "another port's origin accepted"
for host in "evil.example:$PORT" "127.0.0.1.nip.io" "127.0.0.1.nip.io:$PORT" "127.0.0.1" "127.0.0.1:$((PORT + 1))"; do
    [[ $(code -H "Host: $host" -H "X-OCP-Token: $TOKEN" "$BASE/api/card") == 421 ]] &&
        body_is 'j["error"]=="host"' || fail "Host $host accepted"
    [[ $(code -H "Host: $host" "$BASE/") == 421 ]] || fail "the page served to Host $host"
done
[[ $(code -H "Host: localhost:$PORT" "$BASE/") == 200 ]] || fail "localhost:PORT refused"
[[ $(code -X POST -H "X-OCP-Token: $TOKEN" -d '{"pin":"1234"}' "$BASE/api/pin/verify") == 403 ]] &&
    body_is 'j["error"]=="origin"' || fail "a POST without Origin accepted"
[[ $(code -X OPTIONS -H "Origin: $BASE" "$BASE/api/card") == 403 ]] || fail "a preflight for the own origin"
[[ $(code -H "X-OCP-Token: $TOKEN" -H "Origin: $BASE" "$BASE/api/card") == 200 ]] || fail "the own origin refused"
curl -s -D "$E2E_TMP/h" -o /dev/null -H "X-OCP-Token: $TOKEN" -H "Origin: $BASE" "$BASE/api/card"
grep -qi '^access-control' "$E2E_TMP/h" && fail "CORS headers for the own page"

echo "== the page's files"
curl -s -D "$E2E_TMP/h" -o "$E2E_TMP/page" "$BASE/" || fail "GET /"
grep -q "content=\"$TOKEN\"" "$E2E_TMP/page" || fail "the token is not in the page"
grep -q __OCP_TOKEN__ "$E2E_TMP/page" && fail "the placeholder is still in the page"
grep -qi "^content-type: text/html; charset=utf-8" "$E2E_TMP/h" || fail "index.html type"
grep -qi "^cache-control: no-store" "$E2E_TMP/h" || fail "no Cache-Control"
grep -qi "^x-content-type-options: nosniff" "$E2E_TMP/h" || fail "no nosniff"
grep -qi "^referrer-policy: no-referrer" "$E2E_TMP/h" || fail "no Referrer-Policy"
grep -qi "^x-frame-options: deny" "$E2E_TMP/h" || fail "no X-Frame-Options"
grep -i "^content-security-policy:" "$E2E_TMP/h" | grep -q "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';.*frame-ancestors 'none'" ||
    fail "CSP: $(grep -i '^content-security-policy' "$E2E_TMP/h")"
curl -s -D "$E2E_TMP/h" -o "$E2E_TMP/js" "$BASE/js/app.js"
grep -qi "^content-type: text/javascript" "$E2E_TMP/h" && grep -q page "$E2E_TMP/js" || fail "js/app.js"
for path in /../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /js/%2e%2e/%2e%2e/%2e%2e/etc/passwd \
    /js/../../../../etc/passwd /.hidden.js /notes.txt /js /js/ //etc/passwd /%2fetc/passwd \
    /index.html%00.js; do
    st=$(code --path-as-is "$BASE$path")
    [[ $st == 404 ]] || fail "$path answered $st"
    grep -q root: "$E2E_TMP/body" && fail "$path gave /etc/passwd"
done
ln -s /etc/passwd "$KIOSK_WWW/link.json"
[[ $(code "$BASE/link.json") == 404 ]] || fail "a link out of the page directory followed"
[[ $(code -X POST -H "Origin: $BASE" "$BASE/index.html") == 405 ]] || fail "POST to a file"

echo "== public data, no PIN"
expect 200 GET /api/readers
body_is "any(r['name']=='$READER0' and r['card'] for r in j['readers']) and j['reader']=='$READER0'"
expect 200 GET /api/card
body_is "j['card_id']=='$CARD_ID' and j['suite']=='AES' and j['state']=='active'"
body_is "j['issuer_signature']=='valid' and j['pin_tries_left']==3 and j['pin_tries_max']==3 and j['view']==False"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(not (a["expires"]==b["expiry_date"] and a["issued"]==b["issue_date"]))' \
    "$E2E_TMP/body" "$E2E_TMP/info.json" || fail "dates differ from ocp info"
expect 401 GET /api/holder
body_is 'j["error"]=="pin_required"'
expect 401 GET /api/log
expect 401 POST /api/pin/change "{\"old\":\"$PIN\",\"new\":\"$NEW_PIN\"}"
expect 405 GET /api/pin/verify
expect 404 GET /api/nothing
expect 400 POST /api/pin/verify '{"pin":"12a4"}'
body_is 'j["error"]=="pin_format"'
expect 400 POST /api/pin/verify '{"pin":"123"}'
expect 400 POST /api/pin/verify '{"pin":1234}'
expect 400 POST /api/pin/verify 'not json'
body_is 'j["error"]=="bad_request"'
expect 413 POST /api/speak "{\"text\":\"$(head -c 5000 /dev/zero | tr '\0' a)\",\"lang\":\"en\"}"

echo "== speech during PIN entry"
expect 400 POST /api/speak '{"text":"Your PIN is 1234","lang":"en"}'
body_is 'j["error"]=="speak_digits"'
expect 400 POST /api/speak '{"text":"密码１２３４","lang":"zh"}'
expect 400 POST /api/speak '{"text":"hello","lang":"fr"}'
body_is 'j["error"]=="speak_lang"'
# Each utterance is awaited: a new one stops the one still speaking, and
# the stand-in program may not have written anything yet.
said() { # N: wait until N utterances were written down
    for ((i = 0; i < 50; i++)); do
        [[ $(grep -c . "$E2E_TMP/spoken" 2>/dev/null) == "$1" ]] && return 0
        sleep 0.1
    done
}
expect 200 POST /api/speak '{"text":"请输入密码","lang":"zh"}'
said 1
expect 200 POST /api/speak '{"text":"Enter your PIN, 3 tries left","lang":"en"}'
said 2
[[ $(cat "$E2E_TMP/voices") == $'cmn\nen' ]] || fail "voices: $(cat "$E2E_TMP/voices" 2>&1)"
grep -qx "请输入密码" "$E2E_TMP/spoken" && grep -q "3 tries left" "$E2E_TMP/spoken" ||
    fail "spoken: $(cat "$E2E_TMP/spoken")"
grep -q 1234 "$E2E_TMP/spoken" && fail "digits were spoken during PIN entry"

echo "== the PIN"
expect 401 POST /api/pin/verify "{\"pin\":\"$WRONG\"}"
body_is 'j["error"]=="wrong_pin" and j["tries_left"]==2'
expect 200 GET /api/card
body_is 'j["pin_tries_left"]==2'
expect 401 POST /api/pin/verify "{\"pin\":\"$WRONG\"}"
body_is 'j["tries_left"]==1'
expect 200 POST /api/pin/verify "{\"pin\":\"$PIN\"}"
body_is 'j["ok"]==True'
expect 200 GET /api/card
body_is 'j["pin_tries_left"]==3 and j["view"]==True'

echo "== the holder's view equals ocp read --role kiosk"
expect 200 GET /api/holder
cp "$E2E_TMP/body" "$E2E_TMP/holder.json"
python3 - "$E2E_TMP/holder.json" "$E2E_TMP/read.json" "$NAME" <<'PY' || fail "the holder differs from ocp read"
import json, sys
h, r, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
rh = r["holder"]
bad = []
def same(a, b, what):
    if a != b:
        bad.append("%s: bridge %r, ocp read %r" % (what, a, b))
same(h["name"], rh["name"], "name"); same(h["name"], name, "name as issued")
same(h["district"], rh["district"], "district")
same(h["certificate"], rh["certificate"], "certificate")
same(h["cert_number_masked"], rh["certificate"][:6] + "*" * 10 + rh["certificate"][-4:], "masked")
same(h["disability"], {"category": rh["category"], "category_name": rh["category_name"],
                       "grade": rh["grade"]}, "disability")
same(h["valid_until"], r["expiry_date"], "valid_until")
same(h["card_id"], r["card_id"], "card_id")
same(len(h["entitlements"]), len(r["entitlements"]), "entitlement count")
for a, b in zip(h["entitlements"], r["entitlements"]):
    for k, v in b.items():
        same(a.get(k), v, "entitlement %s %s" % (b["service"], k))
names = {e["service"]: e.get("name") for e in h["entitlements"]}
same(names["0x0101"], "Free city bus", "catalogue name")
same(h["entitlements"][2]["balance_fen"], 120000, "balance")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
expect 200 GET /api/log
python3 - "$E2E_TMP/body" "$E2E_TMP/log.json" <<'PY' || fail "the log differs from ocp log"
import json, sys
u, l = json.load(open(sys.argv[1]))["uses"], json.load(open(sys.argv[2]))["log"]
assert len(u) == len(l) >= 1, (u, l)
for a, b in zip(u, l):
    for k, v in b.items():
        assert a[k] == v, (k, a, b)
assert u[0]["service"] == "0x0101" and u[0]["terminal"] == "0x0B000001" and u[0]["amount"] == 1
assert u[0]["domain"] == "transit" and u[0]["name"] == "Free city bus"
PY

echo "== speech in the view"
expect 200 POST /api/speak '{"text":"Balance 1200 yuan","lang":"en"}'
expect 400 POST /api/speak '{"text":"New PIN 9876","lang":"en","pin_screen":true}'
body_is 'j["error"]=="speak_digits"'

echo "== PIN change"
expect 400 POST /api/pin/change "{\"old\":\"$PIN\",\"new\":\"12\"}"
expect 400 POST /api/pin/change "{\"old\":\"$PIN\",\"new\":\"$PIN\"}"
expect 401 POST /api/pin/change "{\"old\":\"$WRONG\",\"new\":\"$NEW_PIN\"}"
body_is 'j["error"]=="wrong_pin" and j["tries_left"]==2'
expect 200 GET /api/holder
expect 200 POST /api/pin/change "{\"old\":\"$PIN\",\"new\":\"$NEW_PIN\"}"
expect 200 GET /api/holder
expect 200 POST /api/end
sse_wait "$E2E_TMP/events" session '"reason":"finished"'
expect 401 GET /api/holder
expect 401 POST /api/pin/verify "{\"pin\":\"$PIN\"}"
body_is 'j["tries_left"]==2'
expect 200 POST /api/pin/verify "{\"pin\":\"$NEW_PIN\"}"
expect 200 GET /api/holder

echo "== the card leaves"
card_stop 35963 || fail "stopping the card"
sse_wait "$E2E_TMP/events" card '"state":"absent"'
sse_wait "$E2E_TMP/events" session '"reason":"removed"'
expect 401 GET /api/holder
expect 409 GET /api/card
body_is 'j["error"]=="no_card"'
e2e_card_start "$E2E_TMP/card.img" 35963
sse_wait "$E2E_TMP/events" card '"state":"present"' 5
[[ $(grep -c -x 'data: {"state":"present","reader":"Virtual PCD 00 00"}' "$E2E_TMP/events") == 2 ]] ||
    fail "present twice expected: $(cat "$E2E_TMP/events")"
expect 401 GET /api/holder
# The second stream starts with the state as it is now.
curl -sN --max-time 1 "$BASE/api/events?token=$TOKEN" >"$E2E_TMP/events2" || true
head -2 "$E2E_TMP/events2" | tr '\n' ' ' | grep -q 'event: card data: {"state":"present"' ||
    fail "a new stream does not start with the card state: $(cat "$E2E_TMP/events2")"
# The order on the first stream: present, finished, absent, removed, present.
grep -o -E 'event: (card|session)|"(present|absent|finished|removed)"' "$E2E_TMP/events" |
    grep -o -E '"[a-z]+"' | tr -d '"' | tr '\n' ' ' >"$E2E_TMP/order"
grep -q 'present finished absent removed.*present' "$E2E_TMP/order" ||
    fail "event order: $(cat "$E2E_TMP/order")"
kiosk_stop

echo "== nothing secret in the log"
cat "$KIOSK_LOG"
grep -q '^ocp serve: .* GET /api/card 200 ' "$KIOSK_LOG" || fail "no request lines in the log"
grep -q 'GET /api/events 200' "$KIOSK_LOG" || fail "no stream line in the log"
for secret in "$PIN" "$NEW_PIN" "$WRONG" "$TOKEN" "${TOKEN:0:16}" "$NAME" "$CARD_ID" \
    11010119850101123413 110105 请输入密码 "3 tries left" Balance; do
    grep -qF -- "$secret" "$KIOSK_LOG" "$E2E_TMP/main.out" && fail "the log holds '$secret'"
done

echo "== idle end, a vendor origin, real espeak-ng"
kiosk_start idle -r "$READER0" --keys "$KEYS" -- --idle 3 \
    --allow-origin http://vendor.example:9000 --token-file "$E2E_TMP/token"
[[ $(cat "$E2E_TMP/token") == "$TOKEN" ]] || fail "token file"
[[ $(stat -c %a "$E2E_TMP/token") == 600 ]] || fail "token file mode"
sse_start "$E2E_TMP/events3"
expect 200 POST /api/pin/verify "{\"pin\":\"$NEW_PIN\"}"
expect 200 GET /api/holder
sse_wait "$E2E_TMP/events3" idle-warning '"seconds_left":' 3
sse_wait "$E2E_TMP/events3" session '"reason":"idle"' 3
expect 401 GET /api/holder
curl -s -D "$E2E_TMP/h" -o "$E2E_TMP/body" -H "X-OCP-Token: $TOKEN" \
    -H "Origin: http://vendor.example:9000" "$BASE/api/card"
grep -qi '^access-control-allow-origin: http://vendor.example:9000' "$E2E_TMP/h" &&
    grep -qi '^vary: origin' "$E2E_TMP/h" && body_is 'j["state"]=="active"' ||
    fail "the vendor origin: $(cat "$E2E_TMP/h" "$E2E_TMP/body")"
[[ $(code -X OPTIONS -H "Origin: http://vendor.example:9000" \
    -H "Access-Control-Request-Method: POST" -D "$E2E_TMP/h" "$BASE/api/pin/verify") == 204 ]] ||
    fail "preflight"
grep -qi '^access-control-allow-headers: X-OCP-Token' "$E2E_TMP/h" || fail "preflight headers"
curl -s -D "$E2E_TMP/h" -o /dev/null "$BASE/"
grep -i '^content-security-policy' "$E2E_TMP/h" | grep -q "frame-ancestors http://vendor.example:9000" ||
    fail "frame-ancestors for the vendor"
grep -qi '^x-frame-options' "$E2E_TMP/h" && fail "X-Frame-Options with a vendor that embeds"
# Without OCP_SPEECH_CMD: espeak-ng itself (no sound card here: it starts
# and fails quietly, which is all a test without speakers can see).
expect 200 POST /api/end
expect 200 POST /api/speak '{"text":"你好","lang":"zh"}'
kiosk_stop
[[ -e $E2E_TMP/token ]] && fail "the token file outlived the bridge"

echo "== no reader: 503, and the bridge keeps answering"
kiosk_start noreader -r "No Such Reader" --keys "$KEYS" -- --no-speech
expect 503 GET /api/card
body_is 'j["error"]=="no_reader"'
expect 503 POST /api/pin/verify "{\"pin\":\"$NEW_PIN\"}"
expect 200 GET /api/readers
body_is "j['reader'] is None and any(r['name']=='$READER0' for r in j['readers'])"
expect 503 POST /api/speak '{"text":"hello","lang":"en"}'
body_is 'j["error"]=="no_speech"'
expect 503 GET /api/card
kiosk_stop

echo "== refused at start"
set +e
"$OCP" --keys "$KEYS" serve --listen 192.0.2.1:8420 --www "$KIOSK_WWW" 2>"$E2E_TMP/err"
rc=$?
set -e
((rc == 2)) && grep -q "not a loopback address" "$E2E_TMP/err" || fail "a non-loopback address accepted ($rc)"
for bad in "--listen 0.0.0.0:1 --listen-any-address" "--allow-origin http://x/y" "--idle 0" \
    "--listen 127.0.0.1" "--www $E2E_TMP/nowhere"; do
    set +e
    # shellcheck disable=SC2086
    "$OCP" --keys "$KEYS" serve --www "$KIOSK_WWW" $bad 2>"$E2E_TMP/err"
    rc=$?
    set -e
    ((rc == 2)) || fail "serve $bad exited $rc: $(cat "$E2E_TMP/err")"
done
echo PASS
