#!/usr/bin/python3
"""One-Card Pass bus validator, written by a third party from docs/PROTOCOL.md
and docs/KEYS.md only.

A full validation is exactly three command/response pairs (PROTOCOL.md 4):

  1. SELECT                      -> card id, suite, state, key versions, RC
  2. MUTUAL AUTHENTICATE role 02 -> R-MAC-protected last transaction (1.2, 2.3)
  3. CONSUME (secure messaging)  -> R-MAC-protected certificate (1.3, 2.9)

Keys are the public development keys of KEYS.md ("Development keys").

Usage:
  /usr/bin/python3 pyscard_validator.py --reader "Virtual PCD 00 00" \
      --service 0x0101 --terminal-id 0x7E570001 --seq N [--datetime MINUTES] [--json]
  /usr/bin/python3 pyscard_validator.py --self-test

Exit: 0 accepted, 1 refused by the card, 2 protocol/crypto error, 3 no reader/card.

Crypto: the block cipher comes from the `cryptography` package when it is
installed (AES, and SM4 for the optional SM suite); otherwise a pure-Python
AES-128 below is used (SM suite then unsupported). CMAC, CBC, ISO 9797-1
padding 2, AN10922 and the SP 800-108/SCP03 KDF are implemented here on top
of the raw block cipher.
"""

import argparse
import datetime
import hmac
import json
import os
import sys

EXIT_OK, EXIT_REFUSED, EXIT_PROTO, EXIT_NOCARD = 0, 1, 2, 3

SUITE_AES, SUITE_SM = 0x01, 0x02
ROLE_TRANSIT = 0x02
AID = bytes.fromhex("F04F435001")
DEV_MASTER_CMAC_KEY = b"OCP-DEV-ONLY-KEY"          # KEYS.md, = 4F43502D...4B4559
assert DEV_MASTER_CMAC_KEY == bytes.fromhex("4F43502D4445562D4F4E4C592D4B4559")

# ---------------------------------------------------------------------------
# Block ciphers
# ---------------------------------------------------------------------------

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    HAVE_CRYPTOGRAPHY = True
except Exception:  # pragma: no cover - depends on the host
    HAVE_CRYPTOGRAPHY = False


class PureAES128:
    """Textbook AES-128 (FIPS-197), encryption and decryption of one block.
    The S-box is computed from its definition (GF(2^8) inverse + affine map)."""

    SBOX = None
    INV_SBOX = None

    @staticmethod
    def _gmul(a, b):
        r = 0
        while b:
            if b & 1:
                r ^= a
            a = ((a << 1) ^ 0x11B) if a & 0x80 else (a << 1)
            b >>= 1
        return r

    @classmethod
    def _tables(cls):
        if cls.SBOX is not None:
            return
        sbox = [0] * 256
        for x in range(256):
            inv = 0
            if x:
                # x^254 = x^-1 in GF(2^8)
                inv, base, e = 1, x, 254
                while e:
                    if e & 1:
                        inv = cls._gmul(inv, base)
                    base = cls._gmul(base, base)
                    e >>= 1
            s = inv
            for k in range(1, 5):
                s ^= ((inv << k) | (inv >> (8 - k))) & 0xFF
            sbox[x] = s ^ 0x63
        inv_sbox = [0] * 256
        for i, v in enumerate(sbox):
            inv_sbox[v] = i
        cls.SBOX, cls.INV_SBOX = sbox, inv_sbox

    def __init__(self, key):
        if len(key) != 16:
            raise ValueError("AES-128 key must be 16 bytes")
        self._tables()
        sb = self.SBOX
        w = [list(key[4 * i:4 * i + 4]) for i in range(4)]
        rcon = 1
        for i in range(4, 44):
            t = list(w[i - 1])
            if i % 4 == 0:
                t = t[1:] + t[:1]
                t = [sb[b] for b in t]
                t[0] ^= rcon
                rcon = self._gmul(rcon, 2)
            w.append([a ^ b for a, b in zip(w[i - 4], t)])
        # round keys as 16-byte lists, column-major like the state
        self.rk = [sum(w[4 * r:4 * r + 4], []) for r in range(11)]

    @staticmethod
    def _shift_rows(s):
        return [s[(r + 4 * ((c + r) % 4))] for c in range(4) for r in range(4)]

    @staticmethod
    def _inv_shift_rows(s):
        return [s[(r + 4 * ((c - r) % 4))] for c in range(4) for r in range(4)]

    def _mix(self, s, m):
        g = self._gmul
        out = []
        for c in range(4):
            col = s[4 * c:4 * c + 4]
            for r in range(4):
                v = 0
                for k in range(4):
                    v ^= g(col[k], m[(k - r) % 4])
                out.append(v)
        return out

    def encrypt(self, block):
        s = [a ^ b for a, b in zip(block, self.rk[0])]
        for rnd in range(1, 11):
            s = [self.SBOX[b] for b in s]
            s = self._shift_rows(s)
            if rnd != 10:
                s = self._mix(s, (2, 3, 1, 1))
            s = [a ^ b for a, b in zip(s, self.rk[rnd])]
        return bytes(s)

    def decrypt(self, block):
        s = [a ^ b for a, b in zip(block, self.rk[10])]
        for rnd in range(9, -1, -1):
            s = self._inv_shift_rows(s)
            s = [self.INV_SBOX[b] for b in s]
            s = [a ^ b for a, b in zip(s, self.rk[rnd])]
            if rnd != 0:
                s = self._mix(s, (0x0E, 0x0B, 0x0D, 0x09))
        return bytes(s)


class LibBlock:
    """One-block ECB encrypt/decrypt via the `cryptography` package."""

    def __init__(self, algo, key):
        self._c = Cipher(algo(key), modes.ECB())

    def encrypt(self, block):
        e = self._c.encryptor()
        return e.update(block) + e.finalize()

    def decrypt(self, block):
        d = self._c.decryptor()
        return d.update(block) + d.finalize()


FORCE_PURE = False


def block_cipher(suite, key):
    if suite == SUITE_AES:
        if HAVE_CRYPTOGRAPHY and not FORCE_PURE:
            return LibBlock(algorithms.AES, key)
        return PureAES128(key)
    if suite == SUITE_SM:
        if HAVE_CRYPTOGRAPHY and hasattr(algorithms, "SM4"):
            try:
                c = LibBlock(algorithms.SM4, key)
                c.encrypt(bytes(16))
                return c
            except Exception:
                pass
        raise ProtocolError("suite SM (SM4) not available in this Python")
    raise ProtocolError("unknown suite %02X" % suite)


# ---------------------------------------------------------------------------
# Modes, MAC, key derivation
# ---------------------------------------------------------------------------

def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def pad80(data):
    """ISO/IEC 9797-1 padding method 2, always added (PROTOCOL.md 1)."""
    n = len(data) + 1
    return data + b"\x80" + bytes((-n) % 16)


def unpad80(data):
    i = len(data) - 1
    while i >= 0 and data[i] == 0:
        i -= 1
    if i < 0 or data[i] != 0x80 or len(data) - i > 16:
        raise ProtocolError("bad ISO 9797-1 padding in decrypted data")
    return data[:i]


def _dbl(b):
    v = int.from_bytes(b, "big") << 1
    if v >> 128:
        v = (v & ((1 << 128) - 1)) ^ 0x87
    return v.to_bytes(16, "big")


def cmac_subkeys(c):
    k1 = _dbl(c.encrypt(bytes(16)))
    return k1, _dbl(k1)


def cmac(suite, key, msg):
    """CMAC (NIST SP 800-38B / RFC 4493) over the suite's cipher, 16 bytes."""
    c = block_cipher(suite, key)
    k1, k2 = cmac_subkeys(c)
    if msg and len(msg) % 16 == 0:
        head, last = msg[:-16], xor(msg[-16:], k1)
    else:
        cut = len(msg) - (len(msg) % 16)
        head, last = msg[:cut], xor(pad80(msg[cut:]), k2)
    x = bytes(16)
    for i in range(0, len(head), 16):
        x = c.encrypt(xor(x, head[i:i + 16]))
    return c.encrypt(xor(x, last))


def cbc_encrypt(suite, key, iv, data):
    c = block_cipher(suite, key)
    out, x = b"", iv
    for i in range(0, len(data), 16):
        x = c.encrypt(xor(x, data[i:i + 16]))
        out += x
    return out


def cbc_decrypt(suite, key, iv, data):
    if len(data) % 16:
        raise ProtocolError("ciphertext length %d not a multiple of 16" % len(data))
    c = block_cipher(suite, key)
    out, prev = b"", iv
    for i in range(0, len(data), 16):
        blk = data[i:i + 16]
        out += xor(c.decrypt(blk), prev)
        prev = blk
    return out


def an10922(suite, master, m):
    """NXP AN10922 AES-128 diversification (PROTOCOL.md 1.1):
    D = 01 || m padded with 80 00.. to 32 bytes; the last 16-byte block is
    XORed with K2 (K1 if 01||m is exactly 32 bytes) before the CBC-MAC with a
    zero IV; the key is the last ciphertext block."""
    d = b"\x01" + m
    if len(d) > 32:
        raise ValueError("AN10922 input too long")
    c = block_cipher(suite, master)
    k1, k2 = cmac_subkeys(c)
    if len(d) == 32:
        d = d[:16] + xor(d[16:], k1)
    else:
        d = d + b"\x80" + bytes(31 - len(d))
        d = d[:16] + xor(d[16:], k2)
    x = bytes(16)
    for i in (0, 16):
        x = c.encrypt(xor(x, d[i:i + 16]))
    return x


def dev_master_key(suite, slot, version):
    """KEYS.md: CMAC-AES("OCP-DEV-ONLY-KEY", "MSTR" || suite || slot || version).
    Always CMAC-*AES*, whatever the card's suite (as KEYS.md writes it)."""
    return cmac(SUITE_AES, DEV_MASTER_CMAC_KEY,
                b"MSTR" + bytes([suite, slot, version]))


def card_key(suite, master, card_id, slot, version):
    """PROTOCOL.md 1.1: AN10922(M, card_id || slot || version || "OCP-KEY1"), 18 bytes."""
    return an10922(suite, master, card_id + bytes([slot, version]) + b"OCP-KEY1")


def kdf(suite, key, const, bits, context):
    """PROTOCOL.md 1.2: first L/8 bytes of
    CMAC(K, 00*11 || c || 00 || L(2) || 01 || context)."""
    data = bytes(11) + bytes([const]) + b"\x00" + bits.to_bytes(2, "big") + b"\x01" + context
    return cmac(suite, key, data)[:bits // 8]


# ---------------------------------------------------------------------------
# Secure messaging (PROTOCOL.md 1.3), terminal side
# ---------------------------------------------------------------------------

class ProtocolError(Exception):
    pass


class Session:
    def __init__(self, suite, k, context):
        self.suite = suite
        self.s_enc = kdf(suite, k, 0x04, 128, context)
        self.s_mac = kdf(suite, k, 0x06, 128, context)
        self.s_rmac = kdf(suite, k, 0x07, 128, context)
        self.host_cryptogram = kdf(suite, self.s_mac, 0x01, 64, context)
        self.counter = 0
        self.chain = bytes(16)

    def wrap(self, cla, ins, p1, p2, plain):
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        if plain:
            iv = block_cipher(self.suite, self.s_enc).encrypt(
                bytes(12) + self.counter.to_bytes(4, "big"))
            c = cbc_encrypt(self.suite, self.s_enc, iv, pad80(plain))
        else:
            c = b""
        lc = len(c) + 8
        if lc > 255:
            raise ProtocolError("protected command too long")
        header = bytes([cla | 0x04, ins, p1, p2, lc])
        mac = cmac(self.suite, self.s_mac, self.chain + header + c)
        self.chain = mac
        return header + c + mac[:8] + b"\x00"

    def unwrap(self, resp):
        """resp = full response incl. SW. Returns (plaintext or None, sw, protected).
        A 2-byte answer is a plain status word (session ended on the card)."""
        sw = resp[-2:]
        if len(resp) == 2:
            return None, sw, False
        if len(resp) < 10:
            raise ProtocolError("protected response too short (%d bytes)" % len(resp))
        c, mac = resp[:-10], resp[-10:-2]
        full = cmac(self.suite, self.s_rmac, self.chain + c + sw)
        if not hmac.compare_digest(full[:8], mac):
            raise ProtocolError("bad R-MAC on response (SW %s)" % sw.hex().upper())
        self.chain = full
        if not c:
            return b"", sw, True
        iv = block_cipher(self.suite, self.s_enc).encrypt(
            b"\x80" + bytes(11) + self.counter.to_bytes(4, "big"))
        return unpad80(cbc_decrypt(self.suite, self.s_enc, iv, c)), sw, True


# ---------------------------------------------------------------------------
# Status words (PROTOCOL.md 5)
# ---------------------------------------------------------------------------

SW_MEANING = {
    "9000": "done",
    "6283": "SELECT: card blocked",
    "6285": "SELECT: card terminated",
    "6300": "cryptogram or block cryptogram wrong",
    "6581": "memory failure",
    "6700": "wrong length (Lc, Le, data)",
    "6882": "secure messaging not supported for this command",
    "6982": "security status not satisfied: no session, role may not, PIN needed",
    "6983": "PIN blocked",
    "6985": "conditions not satisfied: state, window, challenge",
    "6987": "SM expected: plain command in a session (session ended)",
    "6988": "SM data incorrect (session ended)",
    "6A80": "wrong data",
    "6A82": "application not found",
    "6A83": "record not found",
    "6A84": "no free entitlement slot",
    "6A86": "wrong P1/P2",
    "6A88": "referenced data not found (key, entitlement, tag)",
    "6D00": "instruction not supported",
    "6E00": "class not supported",
    "9401": "entitlement used up or balance too low",
}


def sw_meaning(sw):
    h = sw.hex().upper()
    if h in SW_MEANING:
        return SW_MEANING[h]
    if h.startswith("63C"):
        return "wrong PIN, %d tries left" % (sw[1] & 0x0F)
    if h.startswith("6C"):
        return "Le wrong; right Le is %02X" % sw[1]
    return "unknown status word"


FLAG_NAMES = ((0x01, "backdated"), (0x02, "ahead"), (0x04, "renewed"), (0x80, "repeat"))
STATE_NAMES = {0: "blank", 1: "personalised", 2: "active", 3: "blocked", 4: "terminated"}


def flags_text(f):
    names = [n for bit, n in FLAG_NAMES if f & bit]
    if f & ~0x87:
        names.append("unknown:%02X" % (f & ~0x87))
    return ",".join(names) or "none"


# ---------------------------------------------------------------------------
# The validation
# ---------------------------------------------------------------------------

class CardGone(Exception):
    pass


class Refused(Exception):
    def __init__(self, stage, sw, code=EXIT_REFUSED):
        Exception.__init__(self, stage)
        self.stage, self.sw, self.code = stage, sw, code


class Link:
    """Counts round trips and bytes; transmits through a pyscard connection
    (or any object with a pyscard-like transmit())."""

    def __init__(self, conn, trace=False):
        self.conn, self.trace = conn, trace
        self.trips = 0
        self.nbytes = 0

    def xfer(self, apdu):
        if self.trace:
            sys.stderr.write(">> %s\n" % apdu.hex().upper())
        try:
            data, sw1, sw2 = self.conn.transmit(list(apdu))
        except Exception as e:
            raise CardGone("transmit failed: %s" % e)
        resp = bytes(data) + bytes([sw1, sw2])
        self.trips += 1
        self.nbytes += len(apdu) + len(resp)
        if self.trace:
            sys.stderr.write("<< %s\n" % resp.hex().upper())
        return resp


def now_minutes():
    d = datetime.datetime.now() - datetime.datetime(2000, 1, 1)
    return int(d.total_seconds() // 60)


def validate(link, service, terminal_id, seq, dt, amount=1, rh=None, res=None):
    """Runs the three exchanges. Fills and returns the result dict `res`;
    raises Refused, ProtocolError or CardGone (res keeps what was learnt)."""
    res = {} if res is None else res
    # 1. SELECT -------------------------------------------------------------
    resp = link.xfer(b"\x00\xA4\x04\x00" + bytes([len(AID)]) + AID + b"\x00")
    sw, data = resp[-2:], resp[:-2]
    if sw.hex() not in ("9000", "6283", "6285"):
        raise Refused("SELECT", sw)
    if len(data) != 28:
        raise ProtocolError("SELECT answer is %d bytes, expected 28" % len(data))
    if data[0] != 0x01:
        raise ProtocolError("SELECT format %02X, expected 01" % data[0])
    card_id, suite, state = data[1:9], data[9], data[10]
    kvs, rc = data[11:20], data[20:28]
    res.update(card_id=card_id.hex().upper(), suite=suite,
               state=STATE_NAMES.get(state, "%02X" % state),
               key_versions=kvs.hex().upper())
    if sw.hex() != "9000":          # blocked / terminated: transit cannot open a session
        raise Refused("SELECT", sw)
    kv = kvs[ROLE_TRANSIT - 1]      # key version of slot 2 (offset 11 + slot - 1)
    res["key_version"] = kv
    # A blank card (suite 00) cannot be used by transit; send AES and let the card refuse.
    use_suite = suite if suite in (SUITE_AES, SUITE_SM) else SUITE_AES

    # 2. MUTUAL AUTHENTICATE -----------------------------------------------
    k = card_key(use_suite, dev_master_key(use_suite, ROLE_TRANSIT, kv),
                 card_id, ROLE_TRANSIT, kv)
    rh = rh if rh is not None else os.urandom(8)
    tid = terminal_id.to_bytes(4, "big")
    dtb = dt.to_bytes(4, "big")
    context = rh + rc + bytes([ROLE_TRANSIT]) + tid + dtb
    assert len(context) == 25
    sess = Session(use_suite, k, context)
    body = bytes([kv]) + rh + tid + dtb + sess.host_cryptogram
    resp = link.xfer(bytes([0x00, 0x82, use_suite, ROLE_TRANSIT, len(body)]) + body + b"\x00")
    if len(resp) == 2:
        if resp == b"\x90\x00":
            raise ProtocolError("MUTUAL AUTHENTICATE: 9000 without protected data")
        raise Refused("MUTUAL AUTHENTICATE", resp)
    plain, sw, _ = sess.unwrap(resp)             # counter 0, chain 0: verifies the card
    if sw != b"\x90\x00":
        raise Refused("MUTUAL AUTHENTICATE", sw)
    if len(plain) != 27:
        raise ProtocolError("last transaction is %d bytes, expected 27" % len(plain))
    last = {
        "terminal_id": "%08X" % int.from_bytes(plain[0:4], "big"),
        "seq": int.from_bytes(plain[4:8], "big"),
        "counter": int.from_bytes(plain[8:12], "big"),
        "service": "%04X" % int.from_bytes(plain[12:14], "big"),
        "remaining": int.from_bytes(plain[14:18], "big"),
        "flags": "%02X" % plain[18],
        "certificate": plain[19:27].hex().upper(),
    }
    last["ours"] = plain[0:4] == tid and last["seq"] == seq
    res["last_transaction"] = last

    # 3. CONSUME -------------------------------------------------------------
    p = service.to_bytes(2, "big") + amount.to_bytes(4, "big") + seq.to_bytes(4, "big")
    resp = link.xfer(sess.wrap(0x80, 0x30, 0x00, 0x00, p))
    plain, sw, protected = sess.unwrap(resp)
    if not protected:
        if sw == b"\x90\x00":
            raise ProtocolError("CONSUME: plain 9000 where a protected answer is required")
        # plain error = the card ended the session (SM failure or similar)
        raise Refused("CONSUME", sw,
                      EXIT_PROTO if sw.hex().upper() in ("6988", "6987", "6882") else EXIT_REFUSED)
    if sw != b"\x90\x00":
        if plain:
            raise ProtocolError("CONSUME: data with error SW %s" % sw.hex().upper())
        raise Refused("CONSUME", sw)
    if len(plain) != 17:
        raise ProtocolError("CONSUME answer is %d bytes, expected 17" % len(plain))
    res.update(
        sw="9000",
        counter=int.from_bytes(plain[0:4], "big"),
        remaining=int.from_bytes(plain[4:8], "big"),
        flags=plain[8],
        certificate=plain[9:17].hex().upper(),
    )
    return res


def run(conn, args, out):
    link = Link(conn, trace=args.trace)
    dt = args.datetime if args.datetime is not None else now_minutes()
    res = {}
    code = EXIT_OK
    try:
        validate(link, args.service, args.terminal_id, args.seq, dt, args.amount, res=res)
        res["result"] = "accepted"
    except Refused as e:
        code = e.code
        res.update(result="refused" if e.code == EXIT_REFUSED else "error",
                   stage=e.stage, sw=e.sw.hex().upper(), sw_meaning=sw_meaning(e.sw))
    except ProtocolError as e:
        code = EXIT_PROTO
        res.update(result="error", error=str(e))
    except CardGone as e:
        code = EXIT_NOCARD
        res.update(result="nocard", error=str(e) +
                   " (a retry with the same --seq is safe, PROTOCOL.md 2.9)")
    res["round_trips"] = link.trips
    res["apdu_bytes"] = link.nbytes
    res["datetime"] = dt
    report(res, args.json, out)
    return code


def report(res, as_json, out):
    if as_json:
        r = dict(res)
        if isinstance(r.get("flags"), int):
            r["flags_text"] = flags_text(r["flags"])
            r["flags"] = "%02X" % r["flags"]
        out.write(json.dumps(r, sort_keys=True) + "\n")
        return
    if res["result"] == "accepted":
        line = ("ACCEPTED sw=9000 counter=%d remaining=%d flags=%02X(%s) cert=%s "
                % (res["counter"], res["remaining"], res["flags"],
                   flags_text(res["flags"]), res["certificate"]))
    elif "sw" in res:
        line = "%s at %s sw=%s (%s) " % (res["result"].upper(), res["stage"],
                                         res["sw"], res["sw_meaning"])
    else:
        line = "%s %s " % (res["result"].upper(), res.get("error", ""))
    line += "round_trips=%d apdu_bytes=%d" % (res["round_trips"], res["apdu_bytes"])
    if "card_id" in res:
        line += " card=%s" % res["card_id"]
    out.write(line + "\n")


def connect(reader_name):
    try:
        from smartcard.System import readers
    except Exception as e:
        raise CardGone("pyscard not available: %s" % e)
    try:
        rl = readers()
    except Exception as e:
        raise CardGone("no PC/SC service: %s" % e)
    names = [str(r) for r in rl]
    pick = [r for r in rl if str(r) == reader_name] or \
           [r for r in rl if reader_name in str(r)]
    if not pick:
        raise CardGone("reader %r not found (have: %s)" % (reader_name, names or "none"))
    conn = pick[0].createConnection()
    try:
        conn.connect()
    except Exception as e:
        raise CardGone("no card in %r: %s" % (str(pick[0]), e))
    return conn


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------

class MockCard:
    """A card written from the same documents (card side of 1.2/1.3/2.9),
    used only to exercise the terminal code paths in --self-test."""

    def __init__(self, card_id, kv=1, remaining=5, tamper=False):
        self.card_id, self.kv, self.remaining, self.tamper = card_id, kv, remaining, tamper
        self.rc = None
        self.sess = None
        self.counter = 0
        self.tx = 0
        self.k9 = card_key(SUITE_AES, dev_master_key(SUITE_AES, 9, kv), card_id, 9, kv)
        self.last = bytes(27)

    def _protect(self, r, sw):
        s = self.sess
        if r:
            iv = block_cipher(SUITE_AES, s["enc"]).encrypt(
                b"\x80" + bytes(11) + s["ctr"].to_bytes(4, "big"))
            c = cbc_encrypt(SUITE_AES, s["enc"], iv, pad80(r))
        else:
            c = b""
        mac = cmac(SUITE_AES, s["rmac"], s["chain"] + c + sw)
        s["chain"] = mac
        out = c + mac[:8] + sw
        if self.tamper:
            out = out[:-3] + bytes([out[-3] ^ 1]) + out[-2:]
        return out

    def transmit(self, apdu):
        a = bytes(apdu)
        r = self._handle(a)
        return list(r[:-2]), r[-2], r[-1]

    def _handle(self, a):
        if a[:4] == b"\x00\xA4\x04\x00":
            self.sess = None
            self.rc = os.urandom(8)
            kvs = bytes([self.kv] * 9)
            return b"\x01" + self.card_id + b"\x01\x02" + kvs + self.rc + b"\x90\x00"
        if a[:2] == b"\x00\x82":
            role, d = a[3], a[5:30]
            if self.rc is None:
                return b"\x69\x85"
            rc, self.rc = self.rc, None
            kv, rh, tid, dt, hc = d[0], d[1:9], d[9:13], d[13:17], d[17:25]
            if kv != self.kv:
                return b"\x6A\x88"
            k = card_key(SUITE_AES, dev_master_key(SUITE_AES, role, kv), self.card_id, role, kv)
            ctx = rh + rc + bytes([role]) + tid + dt
            smac = kdf(SUITE_AES, k, 6, 128, ctx)
            if kdf(SUITE_AES, smac, 1, 64, ctx) != hc:
                return b"\x63\x00"
            self.sess = {"enc": kdf(SUITE_AES, k, 4, 128, ctx), "mac": smac,
                         "rmac": kdf(SUITE_AES, k, 7, 128, ctx), "ctr": 0,
                         "chain": bytes(16), "tid": tid, "dt": dt, "role": role}
            return self._protect(self.last, b"\x90\x00")
        if a[0] == 0x84 and a[1] == 0x30:
            s = self.sess
            if s is None:
                return b"\x69\x82"
            lc = a[4]
            c, mac = a[5:5 + lc - 8], a[5 + lc - 8:5 + lc]
            if len(a) != 5 + lc + 1:
                self.sess = None
                return b"\x69\x88"
            s["ctr"] += 1
            full = cmac(SUITE_AES, s["mac"], s["chain"] + a[:5] + c)
            if not hmac.compare_digest(full[:8], mac):
                self.sess = None
                return b"\x69\x88"
            s["chain"] = full
            iv = block_cipher(SUITE_AES, s["enc"]).encrypt(bytes(12) + s["ctr"].to_bytes(4, "big"))
            p = unpad80(cbc_decrypt(SUITE_AES, s["enc"], iv, c))
            svc, amt, seq = p[0:2], int.from_bytes(p[2:6], "big"), p[6:10]
            if self.last[0:4] == s["tid"] and self.last[4:8] == seq:
                ans = self.last[8:12] + self.last[14:18] + bytes([self.last[18] | 0x80]) + self.last[19:27]
                return self._protect(ans, b"\x90\x00")
            if amt > self.remaining:
                return self._protect(b"", b"\x94\x01")
            self.remaining -= amt
            self.tx += 1
            flags = 0
            cert = cmac(SUITE_AES, self.k9, b"TXC1" + self.card_id + self.tx.to_bytes(4, "big") + svc
                        + bytes([s["role"]]) + amt.to_bytes(4, "big")
                        + self.remaining.to_bytes(4, "big") + s["tid"] + seq + s["dt"]
                        + bytes([flags]))[:8]
            self.last = (s["tid"] + seq + self.tx.to_bytes(4, "big") + svc
                         + self.remaining.to_bytes(4, "big") + bytes([flags]) + cert)
            return self._protect(self.tx.to_bytes(4, "big") + self.remaining.to_bytes(4, "big")
                                 + bytes([flags]) + cert, b"\x90\x00")
        return b"\x6D\x00"


def self_test():
    global FORCE_PURE
    ok = True

    def check(name, got, want):
        nonlocal ok
        good = got == want
        ok &= good
        print("%-44s %s" % (name, "ok" if good else "FAIL got %s want %s" % (
            got.hex() if isinstance(got, bytes) else got,
            want.hex() if isinstance(want, bytes) else want)))

    h = bytes.fromhex
    print("cryptography package: %s" % ("yes" if HAVE_CRYPTOGRAPHY else "no (pure-Python AES)"))
    # FIPS-197 appendix C.1
    k, p, c = h("000102030405060708090a0b0c0d0e0f"), h("00112233445566778899aabbccddeeff"), \
        h("69c4e0d86a7b0430d8cdb78070b4c55a")
    pa = PureAES128(k)
    check("FIPS-197 C.1 pure AES encrypt", pa.encrypt(p), c)
    check("FIPS-197 C.1 pure AES decrypt", pa.decrypt(c), p)
    check("FIPS-197 C.1 block_cipher(AES)", block_cipher(SUITE_AES, k).encrypt(p), c)
    # RFC 4493 section 4
    rk = h("2b7e151628aed2a6abf7158809cf4f3c")
    msg = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
    vectors = [(0, "bb1d6929e95937287fa37d129b756746"), (16, "070a16b46b4d4144f79bdd9dd04a287c"),
               (40, "dfa66747de9ae63030ca32611497c827"), (64, "51f0bebf7e3b9d92fc49741779363cfe")]
    for pure in ((False, True) if HAVE_CRYPTOGRAPHY else (True,)):
        FORCE_PURE = pure
        tag = "pure" if pure else "lib"
        k1, k2 = cmac_subkeys(block_cipher(SUITE_AES, rk))
        check("RFC 4493 K1 (%s)" % tag, k1, h("fbeed618357133667c85e08f7236a8de"))
        check("RFC 4493 K2 (%s)" % tag, k2, h("f7ddac306ae266ccf90bc11ee46d513b"))
        for n, want in vectors:
            check("RFC 4493 CMAC Mlen=%d (%s)" % (n, tag), cmac(SUITE_AES, rk, msg[:n]), h(want))
        # AN10922 section 2.2.1 example (AES-128)
        check("AN10922 AES-128 example (%s)" % tag,
              an10922(SUITE_AES, h("00112233445566778899AABBCCDDEEFF"),
                      h("04782E21801D803042F54E585020416275")),
              h("A8DD63A3B89D54B37CA802473FDA9175"))
    FORCE_PURE = False
    # SM4 (GB/T 32907 example 1), only if available
    try:
        sm = block_cipher(SUITE_SM, h("0123456789abcdeffedcba9876543210"))
        check("SM4 GB/T 32907 example", sm.encrypt(h("0123456789abcdeffedcba9876543210")),
              h("681edf34d206965e86b3e94f536e4246"))
    except ProtocolError as e:
        print("SM4                                          skipped (%s)" % e)
    # Padding
    check("ISO 9797-1 M2 pad 27 -> 32", len(pad80(bytes(27))), 32)
    check("ISO 9797-1 M2 pad 16 -> 32", len(pad80(bytes(16))), 32)
    check("ISO 9797-1 M2 unpad", unpad80(pad80(b"\x80\x00abc\x00")), b"\x80\x00abc\x00")
    # KEYS.md example: the string is what it says it is
    check("KEYS.md dev CMAC key hex", DEV_MASTER_CMAC_KEY.hex().upper(),
          "4F43502D4445562D4F4E4C592D4B4559")
    # Loopback against a mock card written from the same documents
    import io
    cid = h("0102030405060708")

    class A:
        trace = False
        json = True
        service, terminal_id, seq, datetime, amount = 0x0101, 0x7E570001, 7, 13000000, 1

    for name, card, want_code in (("mock: accepted", MockCard(cid), 0),
                                  ("mock: bad R-MAC -> exit 2", MockCard(cid, tamper=True), 2),
                                  ("mock: used up 9401 -> exit 1", MockCard(cid, remaining=0), 1)):
        buf = io.StringIO()
        code = run(card, A, buf)
        r = json.loads(buf.getvalue())
        check(name, code, want_code)
        if want_code == 0:
            check("mock: 3 round trips", r["round_trips"], 3)
            check("mock: 186 APDU bytes (PROTOCOL.md 4)", r["apdu_bytes"], 186)
            # repeat with the same seq -> flag 80 and same certificate
            buf2 = io.StringIO()
            run(card, A, buf2)
            r2 = json.loads(buf2.getvalue())
            check("mock: repeat flag 80, same cert", (r2["flags"], r2["certificate"]),
                  ("80", r["certificate"]))
            check("mock: last transaction is ours", r2["last_transaction"]["ours"], True)
    print("SELF-TEST %s" % ("PASSED" if ok else "FAILED"))
    return 0 if ok else 2


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="One-Card Pass bus validator (pyscard)")
    ap.add_argument("--reader", default="Virtual PCD 00 00")
    ap.add_argument("--service", type=lambda s: int(s, 0))
    ap.add_argument("--terminal-id", type=lambda s: int(s, 0))
    ap.add_argument("--seq", type=lambda s: int(s, 0))
    ap.add_argument("--datetime", type=lambda s: int(s, 0),
                    help="minutes since 2000-01-01 00:00 local (default: now)")
    ap.add_argument("--amount", type=lambda s: int(s, 0), default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--trace", action="store_true", help="APDUs to stderr")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    for name in ("service", "terminal_id", "seq"):
        if getattr(args, name) is None:
            ap.error("--%s is required" % name.replace("_", "-"))
    ranges = (("service", args.service, 0xFFFF), ("terminal_id", args.terminal_id, 0xFFFFFFFF),
              ("seq", args.seq, 0xFFFFFFFF), ("amount", args.amount, 0xFFFFFFFF))
    for name, v, hi in ranges:
        if not 0 <= v <= hi:
            ap.error("%s out of range" % name)
    if args.datetime is not None and not 0 <= args.datetime <= 0xFFFFFFFF:
        ap.error("datetime out of range")
    try:
        conn = connect(args.reader)
    except CardGone as e:
        res = {"result": "nocard", "error": str(e), "round_trips": 0, "apdu_bytes": 0}
        report(res, args.json, sys.stdout)
        return EXIT_NOCARD
    try:
        return run(conn, args, sys.stdout)
    finally:
        try:
            conn.disconnect()
        except Exception:
            pass


if __name__ == "__main__":
    sys.exit(main())
