#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Self-test of the test key server (TAP).

The key server runs as a separate process on 127.0.0.1. It is driven by a
small IKEv1 Main Mode + GROUPKEY-PULL initiator that lives in this file
only; it re-implements the wire format from the RFCs on its own rather
than importing the server's codec, so that a misreading shared by both
would at least have to be made twice. Independent checks: tshark decrypts
and dissects the exchanges using the keys from the state file, and
strongSwan (when installed and running as root) acts as the Main Mode
initiator over a veth pair in two network namespaces.
"""
import hashlib
import hmac
import ipaddress
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

HERE = os.path.dirname(os.path.abspath(__file__))
KS = os.path.join(HERE, "gdoi_ks.py")
PY = "/usr/bin/python3"
PSK = "gvpn-test-psk-0123456789"

sys.path.insert(0, HERE)
import ike as ks_ike  # noqa: E402  (only for the MODP prime self-check)


# --------------------------------------------------------------------------
# TAP
class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}", flush=True)
        if not cond:
            self.failed += 1
            for line in str(detail).splitlines()[-30:]:
                print(f"#   {line}", flush=True)
        return cond

    def check(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            import traceback
            return self.ok(False, name, traceback.format_exc() + repr(e))
        return self.ok(True, name)

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


# --------------------------------------------------------------------------
# A minimal initiator, from RFC 2408/2409/6407.
ENC = {"des-cbc": (1, 8, 8), "3des-cbc": (5, 8, 24), "aes-cbc": (7, 16, 0)}
HASH = {"md5": (1, hashlib.md5), "sha1": (2, hashlib.sha1),
        "sha256": (4, hashlib.sha256)}


def gp(nxt, body):
    return struct.pack("!BBH", nxt, 0, 4 + len(body)) + body


def chain(items):
    out = b""
    for i, (t, body) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else 0
        out += gp(nxt, body)
    return out


def walk(data, first):
    """[(type, body, raw)], trailing. Raises ValueError on a bad chain."""
    out, off, t = [], 0, first
    while t:
        if off + 4 > len(data):
            raise ValueError(f"truncated payload header (type {t})")
        nxt, res, ln = struct.unpack("!BBH", data[off:off + 4])
        if t not in (1, 2, 3, 4, 5, 8, 10, 11, 12, 13, 15, 16, 17, 18, 20,
                     22):
            raise ValueError(f"unknown payload type {t}")
        if ln < 4 or off + ln > len(data):
            raise ValueError(f"payload {t} length {ln} exceeds message")
        out.append((t, data[off + 4:off + ln], data[off:off + ln]))
        off += ln
        t = nxt
    return out, data[off:]


def tv(t, v):
    return struct.pack("!HH", 0x8000 | t, v)


def tlv(t, v):
    return struct.pack("!HH", t, len(v)) + v


def attrs(data):
    out, off = [], 0
    while off < len(data):
        a, b = struct.unpack("!HH", data[off:off + 4])
        if a & 0x8000:
            out.append((a & 0x7FFF, b, True))
            off += 4
        else:
            out.append((a, data[off + 4:off + 4 + b], False))
            off += 4 + b
    return out


def aval(v):
    return v if isinstance(v, int) else int.from_bytes(v, "big")


class Cbc:
    def __init__(self, enc, key):
        self.alg = (algorithms.AES(key) if enc == "aes-cbc"
                    else algorithms.TripleDES(key))

    def enc(self, iv, data):
        e = Cipher(self.alg, modes.CBC(iv)).encryptor()
        return e.update(data) + e.finalize()

    def dec(self, iv, data):
        d = Cipher(self.alg, modes.CBC(iv)).decryptor()
        return d.update(data) + d.finalize()


class Failed(Exception):
    """The exchange ended with a notification, silence or a bad reply."""

    def __init__(self, what, notify=None, detail=""):
        super().__init__(f"{what} {notify or ''} {detail}".strip())
        self.what = what
        self.notify = notify


# ECP groups (RFC 5903): curve, octets of a coordinate
ECP = {19: (ec.SECP256R1(), 32), 20: (ec.SECP384R1(), 48)}
GROUPS = (1, 2, 5, 14, 15, 16, 19, 20)


def transform(num, enc, bits, h, group, life=86400, auth=1):
    eid = ENC[enc][0] if enc in ENC else enc
    a = tv(1, eid)
    if enc == "aes-cbc":
        a += tv(14, bits)
    a += tv(2, HASH[h][0] if h in HASH else h) + tv(3, auth) + tv(4, group)
    a += tv(11, 1) + tlv(12, struct.pack("!I", life))
    return struct.pack("!BBH", num, 1, 0) + a


class Initiator:
    def __init__(self, port, psk=PSK, enc="aes-cbc", bits=128, h="sha1",
                 group=14, doi=1, offers=None, timeout=3.0, log=None,
                 life=86400, host="127.0.0.1"):
        # the key server's address, and ours on the same host: IPv4 or IPv6
        self.host = host
        self.addr = (host, port)
        self.psk = psk.encode() if isinstance(psk, str) else psk
        self.enc, self.bits, self.h, self.group = enc, bits, h, group
        self.doi = doi
        self.life = life
        self.offers = offers or [(enc, bits, h, group)]
        self.s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                               socket.SOCK_DGRAM)
        self.s.bind((host, 0))
        self.s.settimeout(timeout)
        self.icookie = secrets.token_bytes(8)
        self.rcookie = b"\0" * 8
        self.log = log
        self.sent = []
        self.mangle_ke = None  # gxi -> what message 3 carries instead

    def close(self):
        self.s.close()

    # -- transport --
    def send(self, data):
        self.sent.append(data)
        self.s.sendto(data, self.addr)
        if self.log is not None:
            self.log.append((self.s.getsockname(), self.addr, data))

    def recv(self, timeout=None):
        if timeout is not None:
            self.s.settimeout(timeout)
        try:
            data, src = self.s.recvfrom(65535)
        except socket.timeout as e:
            raise Failed("timeout") from e
        if self.log is not None:
            self.log.append((src, self.s.getsockname(), data))
        return data

    def hdr(self, nxt, exch, flags, msgid, length):
        return struct.pack("!8s8sBBBBII", self.icookie, self.rcookie, nxt,
                           0x10, exch, flags, msgid, length)

    @staticmethod
    def parse_hdr(data):
        if len(data) < 28:
            raise Failed("short reply")
        ic, rc, nxt, ver, exch, flags, msgid, ln = struct.unpack(
            "!8s8sBBBBII", data[:28])
        return {"ic": ic, "rc": rc, "next": nxt, "exch": exch,
                "flags": flags, "msgid": msgid, "len": ln}

    # -- crypto --
    def prf(self, key, *parts):
        return hmac.new(key, b"".join(parts), HASH[self.h][1]).digest()

    def hashf(self, data):
        return HASH[self.h][1](data).digest()

    @property
    def bs(self):
        return ENC[self.enc][1]

    def seal(self, exch, msgid, first, body, iv):
        pad = (-len(body)) % self.bs
        ct = self.cbc.enc(iv, body + b"\0" * pad)
        return self.hdr(first, exch, 1, msgid, 28 + len(ct)) + ct, ct[-self.bs:]

    def open(self, data, iv):
        h = self.parse_hdr(data)
        ct = data[28:h["len"]]
        if not h["flags"] & 1 or len(ct) % self.bs or not ct:
            raise Failed("reply not encrypted", detail=str(h))
        return h, self.cbc.dec(iv, ct), ct[-self.bs:]

    def check_notify(self, data):
        """A reply that is an informational exchange: raise with its
        notify type."""
        h = self.parse_hdr(data)
        if h["exch"] != 5:
            return
        if h["flags"] & 1:
            iv = self.hashf(self.p1_last + struct.pack("!I", h["msgid"]))
            _, plain, _ = self.open(data, iv[:self.bs])
            pl, _ = walk(plain, h["next"])
            if pl[0][0] != 8 or not hmac.compare_digest(
                    pl[0][1], self.prf(self.skeyid_a,
                                       struct.pack("!I", h["msgid"]),
                                       b"".join(p[2] for p in pl[1:]))):
                raise Failed("bad informational hash")
            body = [p for p in pl if p[0] == 11][0][1]
            raise Failed("notify", struct.unpack("!H", body[6:8])[0],
                         "protected")
        pl, _ = walk(data[28:h["len"]], h["next"])
        body = [p for p in pl if p[0] == 11][0][1]
        raise Failed("notify", struct.unpack("!H", body[6:8])[0], "clear")

    def dh(self):
        """Our KE value in self.gxi; returns the function that makes the
        shared secret of the responder's. MODP: g^x, zero-prefixed to the
        prime's length (RFC 2409 5); ECP: x | y, and the secret is x alone
        (RFC 5903 7)."""
        if self.group in ECP:
            curve, n = ECP[self.group]
            key = ec.generate_private_key(curve)
            pub = key.public_key().public_numbers()
            self.gxi = pub.x.to_bytes(n, "big") + pub.y.to_bytes(n, "big")
            return lambda gxr: key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
                curve, b"\4" + gxr))
        p = ks_ike.modp_prime(self.group)
        size = (p.bit_length() + 7) // 8
        x = secrets.randbelow(p - 3) + 2
        self.gxi = pow(2, x, p).to_bytes(size, "big")
        return lambda gxr: pow(int.from_bytes(gxr, "big"), x, p).to_bytes(size, "big")

    # -- Main Mode, RFC 2409 5 --
    def mm1(self):
        ts = [(3, transform(i + 1, *o, life=self.life))
              for i, o in enumerate(self.offers)]
        prop = struct.pack("!BBBB", 1, 1, 0, len(ts)) + chain(ts)
        sit = 1 if self.doi == 1 else 0
        self.sai_b = struct.pack("!II", self.doi, sit) + chain([(2, prop)])
        body = chain([(1, self.sai_b)])
        return self.hdr(1, 2, 0, 0, 28 + len(body)) + body

    def main_mode(self, stop_after=None):
        m1 = self.mm1()
        self.send(m1)
        r = self.recv()
        self.check_notify(r)
        h = self.parse_hdr(r)
        self.rcookie = h["rc"]
        pl, _ = walk(r[28:h["len"]], h["next"])
        sa = pl[0][1]
        self.reply_doi = struct.unpack("!I", sa[:4])[0]
        props, _ = walk(sa[8:], 2)
        trans, _ = walk(props[0][1][4:], 3)
        if len(props) != 1 or len(trans) != 1:
            raise Failed("responder returned more than one transform")
        self.chosen = {a[0]: aval(a[1]) for a in attrs(trans[0][1][4:])}
        enc_name = [k for k, v in ENC.items() if v[0] == self.chosen[1]][0]
        self.enc = enc_name
        self.bits = self.chosen.get(14, ENC[enc_name][2] * 8)
        self.h = [k for k, v in HASH.items() if v[0] == self.chosen[2]][0]
        self.group = self.chosen[4]
        if stop_after == 1:
            return
        secret = self.dh()
        if self.mangle_ke:
            self.gxi = self.mangle_ke(self.gxi)
        self.ni = secrets.token_bytes(24)
        body = chain([(4, self.gxi), (10, self.ni)])
        self.send(self.hdr(4, 2, 0, 0, 28 + len(body)) + body)
        r = self.recv()
        self.check_notify(r)
        h = self.parse_hdr(r)
        pl, _ = walk(r[28:h["len"]], h["next"])
        d = {t: b for t, b, _ in pl}
        self.gxr, self.nr = d[4], d[10]
        gxy = secret(self.gxr)
        self.skeyid = self.prf(self.psk, self.ni, self.nr)
        ck = self.icookie + self.rcookie
        self.skeyid_d = self.prf(self.skeyid, gxy, ck, b"\0")
        self.skeyid_a = self.prf(self.skeyid, self.skeyid_d, gxy, ck, b"\1")
        self.skeyid_e = self.prf(self.skeyid, self.skeyid_a, gxy, ck, b"\2")
        klen = ENC[self.enc][2] or self.bits // 8
        k, ka = b"\0", b""
        if len(self.skeyid_e) >= klen:
            ka = self.skeyid_e
        while len(ka) < klen:
            k = self.prf(self.skeyid_e, k)
            ka += k
        self.key = ka[:klen]
        self.cbc = Cbc(self.enc, self.key)
        iv = self.hashf(self.gxi + self.gxr)[:self.bs]
        if stop_after == 2:
            return
        # ID_IPV4_ADDR (1) or ID_IPV6_ADDR (5) of our address (RFC 2407 4.6.2.1)
        me = ipaddress.ip_address(self.host)
        idii = struct.pack("!BBH", 1 if me.version == 4 else 5, 0, 0) + me.packed
        hash_i = self.prf(self.skeyid, self.gxi, self.gxr, self.icookie,
                          self.rcookie, self.sai_b, idii)
        m5, iv = self.seal(2, 0, 5, chain([(5, idii), (8, hash_i)]), iv)
        self.send(m5)
        r = self.recv()
        self.check_notify(r)
        h, plain, self.p1_last = self.open(r, iv)
        pl, _ = walk(plain, h["next"])
        d = {t: b for t, b, _ in pl}
        hash_r = self.prf(self.skeyid, self.gxr, self.gxi, self.rcookie,
                          self.icookie, self.sai_b, d[5])
        if not hmac.compare_digest(hash_r, d[8]):
            raise Failed("HASH_R does not verify")
        self.idir = d[5]

    # -- GROUPKEY-PULL, RFC 6407 3.2 --
    def pull(self, id_payload_body, gap3=None, stop_after=None,
             msgid=None):
        mid = msgid or (secrets.randbits(32) | 1)
        m = struct.pack("!I", mid)
        iv = self.hashf(self.p1_last + m)[:self.bs]
        ni = secrets.token_bytes(20)
        rest = chain([(10, ni), (5, id_payload_body)])
        h1 = self.prf(self.skeyid_a, m, rest)
        m1, iv = self.seal(32, mid, 8, gp(10, h1) + rest, iv)
        self.send(m1)
        self.last_m1 = m1
        r = self.recv()
        self.check_notify(r)
        h, plain, iv = self.open(r, iv)
        self.last_m2 = r
        pl, pad = walk(plain, h["next"])
        if [t for t, _, _ in pl] != [8, 10, 1]:
            raise Failed("message 2 payloads", detail=str([t for t, _, _ in pl]))
        nr = pl[1][1]
        want = self.prf(self.skeyid_a, m, ni, pl[1][2] + pl[2][2])
        if not hmac.compare_digest(want, pl[0][1]):
            raise Failed("HASH(2) does not verify")
        sa = parse_gdoi_sa(pl[2][1])
        if stop_after == 2:
            return {"sa": sa}
        rest = gp(0, gap3) if gap3 is not None else b""
        h3 = self.prf(self.skeyid_a, m, ni, nr, rest)
        first = 8
        body = gp(22 if gap3 is not None else 0, h3) + rest
        m3, iv = self.seal(32, mid, first, body, iv)
        self.send(m3)
        self.last_m3 = m3
        r = self.recv()
        self.check_notify(r)
        h, plain, iv = self.open(r, iv)
        pl, _ = walk(plain, h["next"])
        want = self.prf(self.skeyid_a, m, ni, nr,
                        b"".join(p[2] for p in pl[1:]))
        if pl[0][0] != 8 or not hmac.compare_digest(want, pl[0][1]):
            raise Failed("HASH(4) does not verify")
        seq = [struct.unpack("!I", b)[0] for t, b, _ in pl if t == 18]
        kd = [parse_kd(b) for t, b, _ in pl if t == 17]
        return {"sa": sa, "seq": seq[0] if seq else None, "kd": kd[0],
                "types": [t for t, _, _ in pl], "msgid": mid}


def id_key_id(n, width=4, order="big"):
    return struct.pack("!BBH", 11, 0, 0) + n.to_bytes(width, order)


def parse_id_block(b, off):
    t, port, ln = struct.unpack("!BHB", b[off:off + 4])
    data = b[off + 4:off + 4 + ln]
    if t in (1, 5):     # ID_IPV4_ADDR, ID_IPV6_ADDR
        s = str(ipaddress.ip_address(data))
    elif t == 4:
        s = str(ipaddress.IPv4Network(
            (ipaddress.IPv4Address(data[:4]),
             str(ipaddress.IPv4Address(data[4:])))))
    elif t == 6:        # ID_IPV6_ADDR_SUBNET: address, mask
        mask = int.from_bytes(data[16:], "big")
        plen = bin(mask).count("1")
        assert mask == ((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1), data.hex()
        s = str(ipaddress.IPv6Network((ipaddress.IPv6Address(data[:16]), plen)))
    elif t in (7, 8):   # ranges: first and last address
        n = len(data) // 2
        s = (f"{ipaddress.ip_address(data[:n])}-"
             f"{ipaddress.ip_address(data[n:])}")
    else:
        s = data.hex()
    return {"type": t, "port": port, "data": s}, off + 4 + ln


def parse_gdoi_sa(body):
    """RFC 6407 5.2-5.4 as this test reads it: DOI, situation, 2-octet SA
    attribute next payload, 2 reserved octets, then SAK/GAP/SAT payloads."""
    doi, sit, nxt, res = struct.unpack("!IIHH", body[:12])
    out = {"doi": doi, "sit": sit, "res": res, "sak": None, "gap": None,
           "sat": [], "order": []}
    pl, trailing = walk(body[12:], nxt)
    if trailing:
        raise Failed("bytes after the SA attribute payloads")
    for t, b, _ in pl:
        out["order"].append(t)
        if t == 15:
            proto = b[0]
            src, off = parse_id_block(b, 1)
            dst, off = parse_id_block(b, off)
            out["sak"] = {"proto": proto, "src": src, "dst": dst,
                          "spi": b[off:off + 16].hex(),
                          "res2": b[off + 16:off + 20].hex(),
                          "attrs": {a[0]: aval(a[1])
                                    for a in attrs(b[off + 20:])}}
        elif t == 22:
            out["gap"] = {a[0]: aval(a[1]) for a in attrs(b)}
        elif t == 16:
            pid, proto = b[0], b[1]
            src, off = parse_id_block(b, 2)
            dst, off = parse_id_block(b, off)
            tid, spi = struct.unpack("!BI", b[off:off + 5])
            out["sat"].append({"pid": pid, "proto": proto, "src": src,
                               "dst": dst, "tid": tid, "spi": spi,
                               "attrs": {a[0]: aval(a[1])
                                         for a in attrs(b[off + 5:])}})
    return out


def parse_kd(body):
    n, _ = struct.unpack("!HH", body[:4])
    off, out = 4, []
    for _ in range(n):
        kt, _, ln, ss = struct.unpack("!BBHB", body[off:off + 5])
        spi = body[off + 5:off + 5 + ss]
        a = {x[0]: x[1] for x in attrs(body[off + 5 + ss:off + ln])}
        out.append({"type": kt, "spi": spi, "attrs": a})
        off += ln
    if off != len(body):
        raise Failed("KD length mismatch")
    return out


# --------------------------------------------------------------------------
# The key server under test
class Server:
    def __init__(self, conf, work):
        self.work = work
        self.conf = dict(conf)
        self.conf.setdefault("psk", PSK)
        self.conf.setdefault("listen", "127.0.0.1")
        self.conf.setdefault("port", 0)
        self.conf["state_file"] = os.path.join(work, "state.json")
        self.conf["control_file"] = os.path.join(work, "control.json")
        self.cfg = os.path.join(work, "ks.json")
        with open(self.cfg, "w") as f:
            json.dump(self.conf, f)
        self.events = []
        self.q = queue.Queue()
        self.p = subprocess.Popen([PY, KS, "--config", self.cfg],
                                  stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        ev = self.wait("listening", 20)
        self.port = ev["port"]

    def _read(self):
        for line in self.p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "unparsable", "line": line}
            self.events.append(ev)
            self.q.put(ev)

    def wait(self, name, timeout=5, pred=lambda e: True):
        end = time.time() + timeout
        for e in list(self.events):
            if e.get("event") == name and pred(e) and not e.get("_seen"):
                e["_seen"] = True
                return e
        while time.time() < end:
            try:
                e = self.q.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                break
            if e.get("event") == name and pred(e) and not e.get("_seen"):
                e["_seen"] = True
                return e
        raise AssertionError(f"no {name} event within {timeout}s; last: "
                             f"{self.events[-5:]}")

    def state(self):
        with open(self.conf["state_file"]) as f:
            return json.load(f)

    def faults(self, faults):
        """Change faults at run time through the control file."""
        tmp = self.conf["control_file"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"faults": faults}, f)
        os.replace(tmp, self.conf["control_file"])
        self.wait("faults_changed", 5,
                  lambda e: e.get("faults") == faults)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                return self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                return self.p.wait()
        return self.p.returncode


def group_conf():
    teks = []
    spi = 0x1001
    for cipher, bits, auth in (
            ("des-cbc", 64, "hmac-md5-96"), ("3des-cbc", 192, "hmac-sha1-96"),
            ("aes-cbc", 128, "hmac-sha1-96"),
            ("aes-cbc", 192, "hmac-sha256-128"),
            ("aes-cbc", 256, "hmac-sha256-128"),
            ("aes-cbc", 128, "hmac-md5-96"),
            ("aes-gcm", 128, None), ("aes-gcm", 256, None),
            ("aes-gmac", 128, None), ("aes-gmac", 256, None),
            ("aes-cbc", 128, "hmac-sha384-192"),
            ("3des-cbc", 192, "hmac-sha512-256")):
        t = {"spi": spi, "cipher": cipher, "key_bits": bits,
             "src": f"10.{spi & 0xff}.0.0/16", "dst": "10.200.0.0/16",
             "lifetime": 3600}
        if auth:
            t["auth"] = auth
        teks.append(t)
        spi += 1
    teks[0]["protocol"] = 17
    teks[0]["src_port"] = 5000
    teks[0]["dst_port"] = 5001
    teks[2]["mirror"] = True
    teks[2]["keys"] = {"encryption": "000102030405060708090a0b0c0d0e0f",
                       "integrity": "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"}
    teks[3]["src"] = "192.0.2.7/32"
    return {
        "id": 1234, "name": "grp-red", "address": "239.1.1.1",
        "kek": {"spi": "00112233445566778899aabbccddeeff",
                "algorithm": "aes-cbc", "key_bits": 128, "lifetime": 86400,
                "rsa_bits": 1024},
        "teks": teks, "atd": 30, "dtd": 90, "replay_window": 5,
        "seq": 7,
        "deny": [{"src": "10.9.9.0/24", "dst": "0.0.0.0/0", "protocol": 6,
                  "dst_port": 22}],
    }


BASE_CONF = {"groups": [group_conf(),
                        {"id": 77, "teks": [{"spi": "0x7700", "cipher":
                                             "aes-cbc", "key_bits": 256,
                                             "auth": "hmac-sha256-128",
                                             "src": "0.0.0.0/0",
                                             "dst": "0.0.0.0/0"}]}]}


# --------------------------------------------------------------------------
# pcap for tshark
def write_pcap(path, log, server_port):
    """Raw-IPv4 pcap of a logged exchange. Both ends are 127.0.0.1 on the
    wire; Wireshark tells the IKE initiator from the responder by address
    alone, so the capture gives the server 192.0.2.2 and the member
    192.0.2.1."""
    def addr(ep):
        return "192.0.2.2" if ep[1] == server_port else "192.0.2.1"
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
        t = time.time()
        for i, (src, dst, data) in enumerate(log):
            udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(data), 0) + data
            iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0,
                              64, 17, 0, socket.inet_aton(addr(src)),
                              socket.inet_aton(addr(dst)))
            pkt = iph + udp
            ts = t + i * 0.001
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6),
                                len(pkt), len(pkt)) + pkt)


# --------------------------------------------------------------------------
# Tests
def is_safe_prime(p):
    def mr(n):
        d, s = n - 1, 0
        while d % 2 == 0:
            d //= 2
            s += 1
        for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
            x = pow(a, d, n)
            if x in (1, n - 1):
                continue
            for _ in range(s - 1):
                x = pow(x, 2, n)
                if x == n - 1:
                    break
            else:
                return False
        return True
    return mr(p) and mr((p - 1) // 2)


def t_modp():
    for g, bits in ((1, 768), (2, 1024), (5, 1536), (14, 2048), (15, 3072),
                    (16, 4096)):
        p = ks_ike.modp_prime(g)
        h = f"{p:x}"
        assert p.bit_length() == bits, g
        # RFC 2409 6 / RFC 3526: first and last 64 bits set, pi follows.
        assert h.startswith("ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd1"), g
        assert h.endswith("ffffffffffffffff"), g
        assert is_safe_prime(p), g


def t_main_mode_cipher(port, enc, bits):
    def run():
        for h in HASH:
            for g in GROUPS:
                i = Initiator(port, enc=enc, bits=bits, h=h, group=g)
                try:
                    i.main_mode()
                    assert (i.enc, i.bits, i.h, i.group) == (
                        enc, bits if enc == "aes-cbc" else ENC[enc][2] * 8,
                        h, g)
                finally:
                    i.close()
    return run


def main():
    tap = Tap()
    work = tempfile.mkdtemp(prefix="gvpn-ks-")
    tap.check("MODP groups 1, 2, 5, 14, 15, 16 computed from the RFC formulas "
              "are safe primes of the RFC shape", t_modp)
    srv = Server(BASE_CONF, work)
    port = srv.port
    try:
        run_all(tap, srv, port, work)
    finally:
        rc = srv.stop()
    tap.ok(rc == 0, "SIGTERM stops the key server with exit status 0",
           f"rc={rc}")
    tap.check("a config error exits 2 with a config_error event",
              lambda: t_config_error(work))
    run_push_tests(tap, work)
    run_ipv6_tests(tap, work)
    run_interop(tap, work)
    shutil.rmtree(work, ignore_errors=True)
    return tap.done()


def t_config_error(work):
    path = os.path.join(work, "bad.json")
    with open(path, "w") as f:
        json.dump({"psk": PSK, "faults": {"nonsense": 1}}, f)
    r = subprocess.run([PY, KS, "--config", path], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 2, r
    assert json.loads(r.stdout.splitlines()[0])["event"] == "config_error"


def pull_ok(srv, port, ident=None, **kw):
    i = Initiator(port, **kw)
    try:
        i.main_mode()
        return i, i.pull(ident or id_key_id(1234))
    except Exception:
        i.close()
        raise


def run_all(tap, srv, port, work):
    for enc, bits in (("des-cbc", 64), ("3des-cbc", 192), ("aes-cbc", 128),
                      ("aes-cbc", 192), ("aes-cbc", 256)):
        tap.check(f"main mode {enc}-{bits} with MD5/SHA1/SHA256 x MODP "
                  f"768/1024/1536/2048/3072/4096, ECP 256/384",
                  t_main_mode_cipher(port, enc, bits))

    def first_acceptable():
        i = Initiator(port, offers=[(7, 128, "sha1", 14),        # Blowfish
                                    ("aes-cbc", 128, "sha1", 17),  # MODP6144
                                    ("aes-cbc", 256, "sha256", 5),
                                    ("3des-cbc", 192, "md5", 2)])
        i.main_mode()
        assert (i.enc, i.bits, i.h, i.group) == ("aes-cbc", 256, "sha256", 5)
        i.close()
    tap.check("the first acceptable transform is chosen", first_acceptable)

    def no_proposal():
        i = Initiator(port, offers=[("aes-cbc", 128, "sha1", 21),
                                    ("aes-cbc", 128, 6, 14)])
        try:
            i.main_mode()
        except Failed as e:
            assert e.notify == 14, e
            return
        finally:
            i.close()
        raise AssertionError("phase 1 succeeded")
    tap.check("unacceptable proposals get NO-PROPOSAL-CHOSEN", no_proposal)

    def bad_ke():
        n = {19: 32, 20: 48}

        def flip_y(gxi):  # off the curve
            return gxi[:-1] + bytes([gxi[-1] ^ 1])
        for g, mangle in ((19, flip_y), (20, flip_y), (19, lambda gxi: gxi[:-1]),
                          (20, lambda gxi: gxi + b"\0"), (16, lambda gxi: gxi[:-1]),
                          (19, lambda gxi: b"\xff" * n[19] + gxi[n[19]:]),  # x >= p
                          (15, lambda gxi: bytes(len(gxi) - 1) + b"\1")):
            i = Initiator(port, group=g)
            i.mangle_ke = mangle
            try:
                i.main_mode()
            except Failed as e:
                assert e.notify == 17, (g, e)  # INVALID-KEY-INFORMATION
                continue
            finally:
                i.close()
            raise AssertionError(f"group {g}: phase 1 succeeded")
    tap.check("a KE of the wrong length, off the curve or of value 1 gets "
              "INVALID-KEY-INFORMATION", bad_ke)

    def gdoi_doi():
        i = Initiator(port, doi=2)
        i.main_mode()
        assert i.reply_doi == 2
        i.close()
    tap.check("phase-1 SA with the GDOI DOI (2) is accepted and echoed",
              gdoi_doi)

    def retransmit_mm():
        i = Initiator(port)
        m1 = i.mm1()
        i.send(m1)
        r1 = i.recv()
        i.send(m1)
        assert i.recv() == r1
        i.close()
        i = Initiator(port)
        i.main_mode()
        m5 = i.sent[-1]
        i.send(m5)
        r6 = i.recv()
        i.s.settimeout(3)
        # the replayed answer decrypts with the same IV as the first one
        iv_bytes = m5[-i.bs:]
        h, plain, last = i.open(r6, iv_bytes)
        assert last == i.p1_last
        i.close()
    tap.check("retransmitted main mode messages get the same answer",
              retransmit_mm)

    st = {}

    def pull_everything():
        i, r = pull_ok(srv, port, log=st.setdefault("log", []))
        st["i"], st["r"] = i, r
        sa = r["sa"]
        assert sa["doi"] == 2 and sa["sit"] == 0 and sa["res"] == 0
        assert sa["order"][0] == 15 and sa["order"][1] == 22
        assert all(t == 16 for t in sa["order"][2:])
        k = sa["sak"]
        assert k["spi"] == "00112233445566778899aabbccddeeff"
        assert k["res2"] == "00000000"
        assert k["attrs"][2] == 3 and k["attrs"][3] == 128
        assert 86000 < k["attrs"][4] <= 86400
        assert k["attrs"][5] == 3 and k["attrs"][6] == 1
        assert k["attrs"][7] == 1024
        assert sa["gap"] == {1: 30, 2: 90, 16384: 5}
        assert r["seq"] == 7 and r["types"] == [8, 18, 17]
    tap.check("pull: SA with SA KEK, GAP and SA TEKs; HASH(2)/(4) verify; "
              "SEQ and KD follow", pull_everything)

    def tek_policies():
        sa = st["r"]["sa"]
        sats = sa["sat"]
        assert len(sats) == 12 + 1 + 1         # 12 TEKs, 1 mirror, 1 deny
        # RFC 4543: ESP_NULL_AUTH_AES_GMAC 23, no auth; RFC 4868: HMAC-SHA2-384
        # 6, HMAC-SHA2-512 7
        want = [(2, 64, 1), (3, 192, 2), (12, 128, 2), (12, 192, 5),
                (12, 256, 5), (12, 128, 1), (20, 128, None), (20, 256, None),
                (23, 128, None), (23, 256, None), (12, 128, 6), (3, 192, 7)]
        byspi = {}
        for s in sats:
            byspi.setdefault(s["spi"], []).append(s)
        for n, (tid, bits, auth) in enumerate(want):
            s = byspi[0x1001 + n][0]
            assert s["pid"] == 1 and s["tid"] == tid, s
            a = s["attrs"]
            assert a[1] == 1 and 3500 < a[2] <= 3600 and a[4] == 1, a
            assert a.get(5) == auth, a
            if tid in (12, 20, 23):
                assert a[6] == bits, a
            else:
                assert 6 not in a, a
            assert a[14] == 4 and a[15] == 3, a
        s = byspi[0x1001][0]
        assert s["proto"] == 17 and s["src"]["port"] == 5000
        assert s["dst"]["port"] == 5001
        assert s["src"] == {"type": 4, "port": 5000, "data": "10.1.0.0/16"}
        assert byspi[0x1004][0]["src"] == {"type": 1, "port": 0,
                                           "data": "192.0.2.7"}
        m = byspi[0x1003]
        assert len(m) == 2 and m[0]["src"] == m[1]["dst"]
        assert m[0]["dst"] == m[1]["src"]
        deny = byspi[0]
        assert len(deny) == 1 and deny[0]["tid"] == 0
        assert deny[0]["attrs"] == {} and deny[0]["proto"] == 6
        assert deny[0]["dst"]["port"] == 22
    tap.check("SA TEKs: ESP_DES/3DES/AES/AES-GCM-16/NULL_AUTH_AES_GMAC with "
              "key lengths, HMAC-MD5/SHA1/SHA2-256/384/512, lifetime, tunnel, address "
              "preservation, SA direction, selectors, mirror, deny",
              tek_policies)

    def kd_keys():
        kd = st["r"]["kd"]
        state = srv.state()
        g = state["groups"]["1234"]
        assert kd[0]["type"] == 2 and kd[0]["spi"].hex() == g["kek"]["spi"]
        # KEK_ALGORITHM_KEY: explicit IV (AES: 16 octets), then the key
        assert kd[0]["attrs"][1].hex() == g["kek"]["iv"] + g["kek"]["key"]
        assert len(kd[0]["attrs"][1]) == 16 + 16
        assert kd[0]["attrs"][2].hex() == g["kek"]["sig_public_key_der"]
        teks = {t["spi"]: t for t in g["teks"]}
        assert len(kd) == 1 + 12
        lens = {0x1001: (8, 16), 0x1002: (24, 20), 0x1003: (16, 20),
                0x1004: (24, 32), 0x1005: (32, 32), 0x1006: (16, 16),
                0x1007: (20, None), 0x1008: (36, None),
                0x1009: (20, None), 0x100a: (36, None),
                0x100b: (16, 48), 0x100c: (24, 64)}
        for p in kd[1:]:
            spi = struct.unpack("!I", p["spi"])[0]
            t = teks[spi]
            el, il = lens[spi]
            assert p["type"] == 1 and len(p["attrs"][1]) == el, (spi, p)
            want = t.get("enc_key_with_salt", t["enc_key"])
            assert p["attrs"][1].hex() == want
            if il:
                assert p["attrs"][2].hex() == t["auth_key"]
                assert len(p["attrs"][2]) == il
            else:
                assert 2 not in p["attrs"]
        assert teks[0x1003]["enc_key"] == "000102030405060708090a0b0c0d0e0f"
    tap.check("KD: KEK key packet (key, RSA public key) and one TEK key "
              "packet per SPI, keys as in the state file (GCM, GMAC: "
              "key|salt; SHA-384/512: 48/64 octets)",
              kd_keys)

    def state_file():
        s = srv.state()
        c = s["counters"]
        assert c["phase1_completed"] >= 63 and c["pulls_served"] >= 1
        assert c["errors"].get("no_proposal_chosen", 0) >= 1
        i = st["i"]
        p1 = [p for p in s["phase1"] if p["icookie"] == i.icookie.hex()][0]
        assert p1["enc_key"] == i.key.hex() and p1["state"] == "established"
        assert p1["tshark_ikev1_decryption"] == \
            f"{i.icookie.hex()},{i.key.hex()}"
        assert s["pulls"][-1]["group"] == 1234
        assert s["pulls"][-1]["id_form"] == "ID_KEY_ID/u32"
    tap.check("state file: counters, phase-1 SA keys for tshark, pulls",
              state_file)

    if shutil.which("tshark"):
        tap.check("tshark decrypts main mode and GROUPKEY-PULL with the "
                  "state file's key and dissects HASH, SA KEK, SEQ, KD",
                  lambda: t_tshark(srv, st, work))
    else:
        tap.skip("tshark dissects the exchanges", "tshark not installed")

    def retransmit_pull():
        i = st["i"]
        i.send(i.last_m1)
        assert i.recv() == i.last_m2
        i.send(i.last_m3)
        r = i.recv()
        assert r and i.parse_hdr(r)["exch"] == 32
        srv.wait("retransmit", 3)
    tap.check("retransmitted pull messages get the same answer",
              retransmit_pull)

    def second_pull():
        i = st["i"]
        r = i.pull(id_key_id(77))
        assert [s["spi"] for s in r["sa"]["sat"]] == [0x7700]
        assert r["sa"]["sak"] is None and r["seq"] is None
        assert r["types"] == [8, 17]
    tap.check("a second pull on the same phase-1 SA (group without KEK: no "
              "SEQ)", second_pull)

    def id_forms():
        i = st["i"]
        fqdn = struct.pack("!BBH", 2, 0, 0) + b"grp-red"
        r = i.pull(fqdn)
        assert r["sa"]["sak"] is not None
        srv.wait("pull_served", 3, lambda e: e.get("id_form") == "ID_FQDN")
        addr = struct.pack("!BBH", 1, 0, 0) + socket.inet_aton("239.1.1.1")
        i.pull(addr)
        srv.wait("pull_served", 3,
                 lambda e: e.get("id_form") == "ID_IPV4_ADDR")
        i.pull(struct.pack("!BBH", 11, 0, 0) + b"\x04\xd2")
        srv.wait("pull_served", 3,
                 lambda e: e.get("id_form") == "ID_KEY_ID/short")
    tap.check("group named by ID_KEY_ID (4 octets), ID_FQDN, ID_IPV4_ADDR "
              "and a short ID_KEY_ID; the form is logged", id_forms)

    def unknown_group():
        i = st["i"]
        try:
            i.pull(id_key_id(1234, order="little"))
        except Failed as e:
            assert e.notify == 18 and "protected" in str(e), e
            ev = srv.wait("error", 3,
                          lambda x: x.get("reason") == "unknown_group")
            assert "little_endian_would_match" in ev["detail"]
            return
        raise AssertionError("pull of an unknown group succeeded")
    tap.check("unknown group (little-endian ID_KEY_ID) gets a protected "
              "INVALID-ID-INFORMATION notify", unknown_group)

    def member_gap():
        i = st["i"]
        i.pull(id_key_id(1234), gap3=tv(3, 1))
        ev = srv.wait("pull_served", 3, lambda e: "member_gap" in e)
        assert ev["member_gap"] == [3]
    tap.check("message 3 with a GAP (SENDER_ID_REQUEST) is covered by "
              "HASH(3) and logged", member_gap)

    def bad_hash():
        i = st["i"]
        mid = secrets.randbits(32) | 1
        m = struct.pack("!I", mid)
        iv = i.hashf(i.p1_last + m)[:i.bs]
        rest = chain([(10, os.urandom(16)), (5, id_key_id(1234))])
        m1, _ = i.seal(32, mid, 8, gp(10, b"\0" * 20) + rest, iv)
        i.send(m1)
        try:
            i.check_notify(i.recv())
        except Failed as e:
            assert e.notify == 23
            return
        raise AssertionError("no notify")
    tap.check("a pull with a wrong HASH(1) gets INVALID-HASH-INFORMATION",
              bad_hash)

    def p1_lifetime():
        i = Initiator(port, group=2, timeout=1, life=2)
        i.main_mode()
        i.pull(id_key_id(77))
        time.sleep(2.2)
        try:
            i.pull(id_key_id(77))
        except Failed as e:
            assert e.what == "timeout"
            srv.wait("error", 3, lambda x: x.get("reason") == "phase1_expired")
            return
        finally:
            i.close()
        raise AssertionError("pull served on an expired phase-1 SA")
    tap.check("a pull after the negotiated phase-1 lifetime is not served",
              p1_lifetime)

    def restart_same_cookie():
        i = Initiator(port, offers=[("aes-cbc", 128, "sha1", 17)])  # MODP 6144
        try:
            i.main_mode()
        except Failed as e:
            assert e.notify == 14
        i.offers = [("aes-cbc", 128, "sha1", 14)]
        i.rcookie = b"\0" * 8
        i.main_mode()
        i.pull(id_key_id(77))
        i.close()
    tap.check("a new message 1 with the cookie of a failed attempt starts "
              "over", restart_same_cookie)
    run_faults(tap, srv, port)


def t_tshark(srv, st, work):
    pcap = os.path.join(work, "pull.pcap")
    write_pcap(pcap, st["log"], srv.port)
    i = st["i"]
    s = srv.state()
    key = [p for p in s["phase1"] if p["icookie"] == i.icookie.hex()][0]
    uat = key["tshark_ikev1_decryption"]
    out = subprocess.run(
        ["tshark", "-r", pcap, "-d", f"udp.port=={srv.port},isakmp",
         "-o", f"uat:ikev1_decryption_table:{uat}",
         "-T", "fields", "-E", "separator=|", "-e", "frame.number",
         "-e", "isakmp.exchangetype", "-e", "isakmp.hash",
         "-e", "isakmp.sak.spi", "-e", "isakmp.sat.spi", "-e",
         "isakmp.seq.seq", "-e", "isakmp.kd.payload.spi",
         "-e", "_ws.malformed"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [r.split("|") for r in out.stdout.strip().splitlines()]
    assert len(rows) == 10, out.stdout
    # frames 5, 6: main mode HASH_I / HASH_R decrypted
    assert rows[4][2] and rows[5][2], rows
    # frame 7: HASH(1); frame 8: HASH(2) and the SA KEK inside the SA.
    # (Wireshark 4.0 walks from the SA KEK only to an SA TEK that follows
    # it directly, so with a GAP in between it shows no SA TEK; it also
    # reads the SA TEK's ID data lengths as 2 octets: see README.)
    assert rows[6][2] and rows[7][2], rows
    assert rows[7][3].replace(":", "") == "00112233445566778899aabbccddeeff", rows[7]
    # frame 10: SEQ 7 and the KD key packets
    assert rows[9][5] == "7", rows[9]
    assert "00112233445566778899aabbccddeeff" in rows[9][6].replace(":", ""), rows[9]
    assert "00001001" in rows[9][6].replace(":", ""), rows[9]
    for r in rows[:7] + rows[8:]:
        assert not r[7], ("malformed", r)


def run_faults(tap, srv, port):
    def silent():
        srv.faults({"silent": True})
        i = Initiator(port, timeout=1.0)
        try:
            i.main_mode()
        except Failed as e:
            assert e.what == "timeout"
            srv.wait("dropped", 3, lambda e: e.get("why") == "silent")
            return
        finally:
            i.close()
            srv.faults({})
        raise AssertionError("answered while silent")
    tap.check("fault silent: nothing is answered", silent)

    def slow():
        srv.faults({"slow": 1.5})
        i = Initiator(port, timeout=5)
        try:
            t = time.time()
            i.main_mode(stop_after=1)
            assert time.time() - t >= 1.4
        finally:
            i.close()
            srv.faults({})
    tap.check("fault slow: replies are delayed by N seconds", slow)

    def wrong_psk():
        srv.faults({"wrong_psk": True})
        before = srv.state()["counters"]["phase1_completed"]
        i = Initiator(port)
        try:
            i.main_mode()
        except Failed as e:
            assert e.notify == 24, e
            ev = srv.wait("error", 3, lambda x: x.get("reason") ==
                          "auth_failed")
            assert ev["step"] == "ke_sent"
            assert srv.state()["counters"]["phase1_completed"] == before
            return
        finally:
            i.close()
            srv.faults({})
        raise AssertionError("phase 1 completed with a wrong PSK")
    tap.check("fault wrong_psk: phase 1 fails at HASH_I with "
              "AUTHENTICATION-FAILED", wrong_psk)

    def refuse():
        srv.faults({"refuse_group": [1234]})
        try:
            i, _ = pull_ok(srv, port, id_key_id(77))   # another group: fine
            try:
                i.pull(id_key_id(1234))
            except Failed as e:
                assert e.notify == 18, e
                srv.wait("error", 3,
                         lambda x: x.get("reason") == "group_refused")
                return
            finally:
                i.close()
            raise AssertionError("refused group was served")
        finally:
            srv.faults({})
    tap.check("fault refuse_group: the pull gets a protected "
              "INVALID-ID-INFORMATION notify", refuse)

    def refuse_custom():
        srv.faults({"refuse_group": {"groups": True, "notify": 24}})
        try:
            i = Initiator(port)
            i.main_mode()
            try:
                i.pull(id_key_id(77))
            except Failed as e:
                assert e.notify == 24, e
                return
            finally:
                i.close()
            raise AssertionError("refused group was served")
        finally:
            srv.faults({})
    tap.check("fault refuse_group with a chosen notify type for every "
              "group", refuse_custom)

    def malformed(reply, kind, expect):
        def run():
            srv.faults({"malformed": {"reply": reply, "kind": kind,
                                      "count": 1}})
            i = Initiator(port)
            try:
                try:
                    if reply.startswith("mm"):
                        i.main_mode()
                    else:
                        i.main_mode()
                        i.pull(id_key_id(1234))
                except (ValueError, Failed, IndexError, struct.error,
                        KeyError) as e:
                    assert expect in str(e), repr(e)
                    srv.wait("fault_malformed", 3,
                             lambda x: x.get("reply") == reply)
                    return
                raise AssertionError("malformed reply parsed")
            finally:
                i.close()
                srv.faults({})
        return run
    for reply, kind, expect in (
            ("pull2", "truncated", "exceeds message"),
            ("pull4", "bad_length", "exceeds message"),
            ("pull2", "unknown_next_payload", "unknown payload type 99"),
            ("mm2", "truncated", "exceeds message"),
            ("mm4", "unknown_next_payload", "unknown payload type 99"),
            ("mm6", "bad_length", "exceeds message")):
        tap.check(f"fault malformed: {kind} {reply}",
                  malformed(reply, kind, expect))

    def drop_after():
        srv.faults({"drop_after_phase1": True})
        i = Initiator(port, timeout=1.0)
        try:
            i.main_mode()
            try:
                i.pull(id_key_id(1234))
            except Failed as e:
                assert e.what == "timeout"
                srv.wait("dropped", 3,
                         lambda x: x.get("why") == "drop_after_phase1")
                return
            raise AssertionError("pull answered")
        finally:
            i.close()
            srv.faults({})
    tap.check("fault drop_after_phase1: phase 1 completes, the pull is "
              "never answered", drop_after)

    def sigusr1():
        conf = json.load(open(srv.cfg))
        conf["faults"] = {"silent": True}
        with open(srv.cfg + ".new", "w") as f:
            json.dump(conf, f)
        os.replace(srv.cfg + ".new", srv.cfg)
        srv.p.send_signal(signal.SIGUSR1)
        srv.wait("faults_changed", 3, lambda e: e.get("source") == "SIGUSR1"
                 and e["faults"] == {"silent": True})
        conf["faults"] = {}
        with open(srv.cfg + ".new", "w") as f:
            json.dump(conf, f)
        os.replace(srv.cfg + ".new", srv.cfg)
        srv.p.send_signal(signal.SIGUSR1)
        srv.wait("faults_changed", 3, lambda e: e.get("source") == "SIGUSR1"
                 and e["faults"] == {})
        i, _ = pull_ok(srv, port)
        i.close()
    tap.check("SIGUSR1 re-reads the faults from the config file", sigusr1)


# --------------------------------------------------------------------------
# GROUPKEY-PUSH (RFC 6407 4) and GROUPKEY-PUSH ACK (RFC 8263), seen from a
# member written here from the RFCs: its own DER reader and RSASSA-PKCS1-v1_5
# verification (RFC 8017 8.2.2, 9.2), its own ACK construction.
def der_read(b, off):
    """(tag, content, next offset) of one DER TLV."""
    tag, ln = b[off], b[off + 1]
    off += 2
    if ln & 0x80:
        n = ln & 0x7F
        ln = int.from_bytes(b[off:off + n], "big")
        off += n
    return tag, b[off:off + ln], off + ln


def der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    out = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(chunk))
    return der(0x06, out)


def rsa_public(spki):
    """(n, e) from a SubjectPublicKeyInfo (RFC 5280 4.1, RFC 8017 A.1.1)."""
    tag, seq, _ = der_read(spki, 0)
    assert tag == 0x30
    tag, alg, off = der_read(seq, 0)
    assert tag == 0x30
    tag, oid, _ = der_read(alg, 0)
    assert tag == 0x06 and oid == der_oid("1.2.840.113549.1.1.1")[2:], oid
    tag, bits, _ = der_read(seq, off)
    assert tag == 0x03 and bits[0] == 0
    tag, key, _ = der_read(bits[1:], 0)
    assert tag == 0x30
    tag, n, off = der_read(key, 0)
    assert tag == 0x02
    tag, e, _ = der_read(key, off)
    assert tag == 0x02
    return int.from_bytes(n, "big"), int.from_bytes(e, "big")


HASH_OIDS = {"sha1": ("1.3.14.3.2.26", hashlib.sha1),
             "sha256": ("2.16.840.1.101.3.4.2.1", hashlib.sha256)}


def pkcs1_verify(spki, hname, message, sig):
    """RSASSA-PKCS1-v1_5 verification: s^e mod n must equal
    0x00 01 FF..FF 00 DigestInfo(hash(message))."""
    n, e = rsa_public(spki)
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    oid, h = HASH_OIDS[hname]
    t = der(0x30, der(0x30, der_oid(oid) + b"\x05\x00")
            + der(0x04, h(message).digest()))
    return em == b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


SIG_HASH_NAMES = {2: "sha1", 3: "sha256"}


class PushMember:
    """A member that registered with a pull and now takes pushes on the
    socket it pulled from."""

    def __init__(self, port, group, **kw):
        self.group = group
        self.i = Initiator(port, **kw)
        self.i.main_mode()
        self.r = self.i.pull(id_key_id(group))
        self.seq = self.r["seq"]
        self.take_kek(self.r["sa"]["sak"], self.r["kd"][0])
        self.addr = self.i.s.getsockname()

    @property
    def peer(self):
        a = self.addr[0]
        return f"[{a}]:{self.addr[1]}" if ":" in a else f"{a}:{self.addr[1]}"

    def take_kek(self, sak, packet):
        assert packet["type"] == 2
        a = sak["attrs"]
        bs = 16 if a[2] == 3 else 8
        self.kek = {"spi": bytes.fromhex(sak["spi"]),
                    "enc": {1: "des-cbc", 2: "3des-cbc", 3: "aes-cbc"}[a[2]],
                    "iv": packet["attrs"][1][:bs],
                    "key": packet["attrs"][1][bs:], "bs": bs,
                    "hash": SIG_HASH_NAMES[a[5]], "pub": packet["attrs"][2],
                    "sak": a}
        assert packet["spi"] == self.kek["spi"]

    def recv(self, timeout=3):
        self.i.s.settimeout(timeout)
        try:
            data, src = self.i.s.recvfrom(65535)
        except socket.timeout as e:
            raise Failed("timeout") from e
        self.src = src
        return data

    def decode(self, data, kek=None):
        """Header, decrypted payloads and the signature check of one
        push."""
        kek = kek or self.kek
        h = Initiator.parse_hdr(data)
        ct = data[28:]
        assert h["len"] == len(data), (h, len(data))
        assert len(ct) % kek["bs"] == 0 and ct
        plain = Cbc(kek["enc"], kek["key"]).dec(kek["iv"], ct)
        pl, pad = walk_push(plain, h["next"])
        out = {"hdr": h, "types": [t for t, _, _ in pl], "pad": pad,
               "pl": pl, "plain": plain, "sig_ok": None, "raw": data}
        assert len(pad) < kek["bs"] and pad == b"\0" * len(pad), pad
        if pl and pl[-1][0] == 9:
            signed = b"rekey" + data[:28] + b"".join(p[2] for p in pl[:-1])
            out["sig_ok"] = pkcs1_verify(kek["pub"], kek["hash"], signed,
                                         pl[-1][1])
            out["sig"] = pl[-1][1]
        for t, b, _ in pl:
            if t == 18:
                out["seq"] = struct.unpack("!I", b)[0]
            elif t == 1:
                out["sa"] = parse_gdoi_sa(b)
            elif t == 17:
                out["kd"] = parse_kd(b)
            elif t == 12:
                doi, proto, ssz, n = struct.unpack("!IBBH", b[:8])
                out.setdefault("d", []).append(
                    {"doi": doi, "proto": proto, "spi_size": ssz,
                     "spis": [b[8 + j * ssz:8 + (j + 1) * ssz].hex()
                              for j in range(n)]})
        return out

    def take(self, timeout=3):
        """Receive, decode and accept a correct push (as a member would)."""
        d = self.decode(self.recv(timeout))
        assert d["sig_ok"] is True, "signature does not verify"
        assert d["hdr"]["ic"] + d["hdr"]["rc"] == self.kek["spi"]
        assert d["seq"] > self.seq, (d["seq"], self.seq)
        self.seq = self.last_seq = d["seq"]
        self.last_cookies = self.kek["spi"]
        self.last_base = self.kek["key"]
        self.last_alg = self.kek["sak"]
        if d.get("sa") and d["sa"]["sak"]:
            self.take_kek(d["sa"]["sak"], d["kd"][0])
            self.seq = 0
        return d

    def ack(self, seq=None, addr=None, bad_hash=False, cookies=None,
            base=None, alg=None):
        """HDR, HASH, SEQ, ID (RFC 8263 3), sent back to the push's
        source."""
        cookies = cookies or self.last_cookies
        base = base or self.last_base
        ack_type = (alg or self.last_alg).get(9) or (alg or
                                                     self.last_alg).get(129)
        h, bits = {1: (hashlib.sha256, 512), 3: (hashlib.sha512, 1024)}[
            ack_type]
        label = b"GROUPKEY-PUSH ACK\x00"
        ack_key = hmac.new(base, label + cookies + struct.pack("!H", bits),
                           h).digest()
        seqp = gp(5, struct.pack("!I", self.last_seq if seq is None
                                 else seq))
        me = ipaddress.ip_address(addr or self.addr[0])
        idp = gp(0, struct.pack("!BBH", 1 if me.version == 4 else 5, 0, 0)
                 + me.packed)
        digest = hmac.new(ack_key, seqp + idp, h).digest()
        if bad_hash:
            digest = bytes([digest[0] ^ 1]) + digest[1:]
        body = gp(18, digest) + seqp + idp
        msg = cookies + struct.pack("!BBBBII", 8, 0x10, 35, 0, 0,
                                    28 + len(body)) + body
        self.i.s.sendto(msg, self.src)
        return msg

    def close(self):
        self.i.close()


def walk_push(data, first):
    """The payload chain of a push: like walk() but SIG (9) is known."""
    out, off, t = [], 0, first
    while t:
        if off + 4 > len(data):
            raise ValueError(f"truncated payload header (type {t})")
        nxt, res, ln = struct.unpack("!BBH", data[off:off + 4])
        if t not in (1, 9, 12, 17, 18):
            raise ValueError(f"unexpected payload type {t}")
        if res or ln < 4 or off + ln > len(data):
            raise ValueError(f"payload {t} length {ln} exceeds message")
        out.append((t, data[off + 4:off + ln], data[off:off + ln]))
        off += ln
        t = nxt
    return out, data[off:]


def push_conf():
    return {"groups": [
        {"id": 500, "kek": {"algorithm": "aes-cbc", "key_bits": 128,
                            "rsa_bits": 1024, "sig_hash": "sha256",
                            "ack": "sha256"},
         "teks": [{"spi": "0x2001", "cipher": "aes-cbc", "key_bits": 128,
                   "auth": "hmac-sha1-96", "src": "10.5.0.0/16",
                   "dst": "10.6.0.0/16"},
                  {"spi": "0x2002", "cipher": "aes-gcm", "key_bits": 256,
                   "src": "10.7.0.0/16", "dst": "10.8.0.0/16"}],
         "atd": 10, "dtd": 60, "replay_window": 5, "seq": 3},
        {"id": 501, "kek": {"algorithm": "3des-cbc", "rsa_bits": 1024,
                            "sig_hash": "sha1", "ack": "sha512",
                            "ack_attr": 129,
                            "iv": "0001020304050607"},
         "teks": [{"spi": "0x3001", "cipher": "3des-cbc",
                   "auth": "hmac-md5-96"}]}]}


class PushServer(Server):
    pushes = None

    def push(self, *objs, timeout=5):
        """Append push objects to the control file (the earlier ones stay:
        their ids are done) and wait until each is carried out."""
        if self.pushes is None:
            self.pushes = []
        self.pushes += list(objs)
        tmp = self.conf["control_file"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pushes": self.pushes}, f)
        os.replace(tmp, self.conf["control_file"])
        return [self.wait("push_done", timeout, lambda e, i=o["id"]:
                          e.get("id") == i) for o in objs]


def run_push_tests(tap, work):
    pw = os.path.join(work, "push")
    os.makedirs(pw, exist_ok=True)
    srv = PushServer(push_conf(), pw)
    port = srv.port
    st = {}
    try:
        _push_tests(tap, srv, port, st)
    finally:
        for m in st.values():
            if isinstance(m, PushMember):
                m.close()
        rc = srv.stop()
    tap.ok(rc == 0, "push key server stops with exit status 0", f"rc={rc}")


def _push_tests(tap, srv, port, st):
    def register():
        m = st["m1"] = PushMember(port, 500)
        assert m.seq == 3
        g = srv.state()["groups"]["500"]
        assert m.kek["iv"].hex() == g["kek"]["iv"]
        assert m.kek["key"].hex() == g["kek"]["key"]
        assert m.kek["sak"][9] == 1          # KEK_ACK_REQUESTED SHA256
        assert g["members"][m.peer]
    tap.check("push: the pull hands out KEK_ALGORITHM_KEY = IV | key and "
              "KEK_ACK_REQUESTED; the member is recorded", register)

    def rekey():
        m = st["m1"]
        done, = srv.push({"id": "rekey1", "group": 500, "rekey": True})
        assert done["sent"] == 1 and done["seq"] == 4, done
        ev = srv.wait("push_sent", 3, lambda e: e.get("id") == "rekey1")
        d = m.take()
        h = d["hdr"]
        assert (h["next"], h["exch"], h["flags"], h["msgid"]) == (18, 33, 1,
                                                                  0), h
        assert m.src == ("127.0.0.1", port)
        assert d["types"] == [18, 1, 17, 9], d["types"]
        assert d["seq"] == 4 and len(d["sig"]) == 128
        # a second opinion on the signature: OpenSSL through cryptography
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        serialization.load_der_public_key(m.kek["pub"]).verify(
            d["sig"], b"rekey" + d["raw"][:28] + b"".join(
                p[2] for p in d["pl"][:-1]), padding.PKCS1v15(),
            hashes.SHA256())
        sa = d["sa"]
        assert sa["doi"] == 2 and sa["sak"] is None
        assert sa["gap"] == {1: 10, 2: 60, 16384: 5}, sa["gap"]
        spis = [s["spi"] for s in sa["sat"]]
        # SPI + 1 unless taken: 0x2002 is, so 0x2003; then 0x2004
        assert spis == [0x2003, 0x2004], [hex(x) for x in spis]
        g = srv.state()["groups"]["500"]
        teks = {t["spi"]: t for t in g["teks"]}
        assert sorted(teks) == [0x2003, 0x2004]
        assert teks[0x2003]["generation"] == 1
        assert teks[0x2003]["src"] == "10.5.0.0/16"
        kd = d["kd"]
        assert [p["type"] for p in kd] == [1, 1]
        assert kd[0]["attrs"][1].hex() == teks[0x2003]["enc_key"]
        assert kd[1]["attrs"][1].hex() == teks[0x2004]["enc_key_with_salt"]
        assert g["seq"] == 4 and g["pushes_sent"] == 1
        assert ev["peer"] == m.peer and ev["teks"] == ["0x00002003",
                                                      "0x00002004"]
        assert ev["kek_spi"] == m.kek["spi"][:8].hex()
        assert ev["new_kek"] is False and ev["fault"] is None
        assert (ev["atd"], ev["dtd"], ev["deletes"]) == (10, 60, [])
    tap.check("push: rekey — HDR (cookies = KEK SPI, exchange 33, flags E, "
              "MID 0), SEQ+1, SA with GAP ATD/DTD and the next TEK "
              "generations, KD, RSA signature verifies, zero padding",
              rekey)

    def ack_ok():
        m = st["m1"]
        m.ack()
        ev = srv.wait("ack_received", 3)
        assert ev["valid"] is True and ev["seq"] == 4 and ev["group"] == 500
        s = srv.state()
        assert s["counters"]["acks_valid"] == 1
        assert s["groups"]["500"]["acks"][-1]["peer"] == m.peer
        assert s["groups"]["500"]["acks"][-1]["seq"] == 4
    tap.check("ACK (RFC 8263): a correct HDR, HASH, SEQ, ID is accepted",
              ack_ok)

    def ack_bad():
        m = st["m1"]
        for kw, reason in (({"bad_hash": True}, "bad_hash"),
                           ({"addr": "127.0.0.9"}, "id_mismatch"),
                           ({"seq": 77}, "unknown_seq"),
                           ({"cookies": os.urandom(16)}, "unknown_kek")):
            m.ack(**kw)
            ev = srv.wait("ack_received", 3)
            assert ev["valid"] is False and ev["reason"] == reason, (kw, ev)
        c = srv.state()["counters"]
        assert c["acks_invalid"] == 4 and c["acks_valid"] == 1, c
    tap.check("ACK: a wrong HASH, a wrong ID, an unknown SEQ and unknown "
              "cookies are refused (event, counters)", ack_bad)

    def gap_override():
        m = st["m1"]
        srv.push({"id": 2, "group": 500, "rekey": True, "atd": 0, "dtd": 5})
        d = m.take()
        assert d["seq"] == 5 and d["sa"]["gap"] == {2: 5, 16384: 5}
        i, r = pull_ok(srv, port, id_key_id(500))
        i.close()
        assert r["seq"] == 5
        assert [s["spi"] for s in r["sa"]["sat"]] == [0x2005, 0x2006]
    tap.check("push: ATD/DTD per push (0 leaves ATD out); a later pull "
              "reports the latest SEQ and the new generation", gap_override)

    def delete_only():
        m = st["m1"]
        srv.push({"id": "del1", "group": 500,
                  "delete": [{"protocol": "tek", "spi": "0x2005"}]})
        d = m.take()
        assert d["types"] == [18, 12, 9], d["types"]
        assert d["d"] == [{"doi": 2, "proto": 1, "spi_size": 4,
                           "spis": ["00002005"]}], d["d"]
        g = srv.state()["groups"]["500"]
        assert [t["spi"] for t in g["teks"]] == [0x2006]
    tap.check("push: delete only — SEQ, D (DOI 2, ESP, 4-octet SPI), SIG; "
              "no SA/KD; the TEK is no longer handed out", delete_only)

    def new_kek():
        m = st["m1"]
        old = dict(m.kek)
        srv.push({"id": "nk", "group": 500, "new_kek": True, "rekey": True})
        ev = srv.wait("push_sent", 3, lambda e: e.get("id") == "nk")
        d = m.take()                        # decrypted with the old KEK
        assert d["seq"] == 7 and d["types"] == [18, 1, 17, 9]
        sa = d["sa"]
        assert sa["order"][0] == 15 and sa["sak"]["attrs"][9] == 1
        assert m.kek["spi"] != old["spi"] and m.kek["pub"] != old["pub"]
        assert len(d["kd"][0]["attrs"][1]) == 32 and m.kek["key"] != \
            old["key"]
        g = srv.state()["groups"]["500"]
        assert g["kek"]["spi"] == m.kek["spi"].hex()
        assert g["kek"]["iv"] == m.kek["iv"].hex()
        hist = g["kek_history"]
        assert [k["spi"] for k in hist] == [old["spi"].hex(),
                                            m.kek["spi"].hex()]
        assert hist[0]["retired"] == "replaced" and g["seq"] == 0
        assert ev["new_kek"] is True and ev["kek_spi"] == old["spi"][:8].hex()
        assert ev["new_kek_spi"] == m.kek["spi"].hex()
        m.ack()                 # with the old KEK's key and cookies
        a = srv.wait("ack_received", 3)
        assert a["valid"] and a["seq"] == 7, a
        srv.push({"id": "nk2", "group": 500, "rekey": True})
        d = m.take()
        assert d["hdr"]["ic"] + d["hdr"]["rc"] == m.kek["spi"]
        assert d["seq"] == 1, d["seq"]
        m.ack()
        a = srv.wait("ack_received", 3)
        assert a["valid"] and a["seq"] == 1, a
    tap.check("push: new_kek — SAK + KEK key packet under the old KEK, "
              "signed with the old key; the next push uses the new KEK "
              "with SEQ 1; ACKs under both verify", new_kek)

    def faults():
        m = st["m1"]
        srv.push({"id": "f0", "group": 500})       # SEQ 2: counter above 1
        d = m.take()
        assert d["seq"] == 2 and d["types"] == [18, 9]
        for f, check in (
                ("replay_seq", lambda d: d["sig_ok"] and d["seq"] == 2),
                ("stale_seq", lambda d: d["sig_ok"] and d["seq"] == 1),
                ("bad_signature", lambda d: d["sig_ok"] is False
                 and d["seq"] == 3),
                ("no_sig", lambda d: d["types"] == [18] and d["seq"] == 4)):
            srv.push({"id": f"f-{f}", "group": 500, "fault": f})
            d = m.decode(m.recv())
            assert check(d), (f, d["seq"], d["types"], d["sig_ok"])
            assert srv.wait("push_sent", 3, lambda e, f=f:
                            e.get("fault") == f)
        g = srv.state()["groups"]["500"]
        assert g["seq"] == 4, g["seq"]
        srv.push({"id": "f-unknown_kek", "group": 500, "fault":
                  "unknown_kek", "rekey": True})
        data = m.recv()
        assert data[:16] != m.kek["spi"]
        d = m.decode(data)          # still the real KEK, signed as sent
        assert d["sig_ok"] and d["seq"] == 5
        srv.push({"id": "f-wrong_kek_key", "group": 500,
                  "fault": "wrong_kek_key"})
        data = m.recv()
        assert data[:16] == m.kek["spi"]
        try:
            d = m.decode(data)
            assert not d["sig_ok"]
        except (ValueError, AssertionError, struct.error, KeyError,
                IndexError):
            pass
        srv.push({"id": "f-malformed", "group": 500, "fault": "malformed"})
        try:
            m.decode(m.recv())
            raise AssertionError("malformed push parsed")
        except ValueError as e:
            assert "exceeds message" in str(e), e
        srv.push({"id": "f-ok", "group": 500, "rekey": True})
        d = m.take()
        assert d["seq"] == 8, d["seq"]
    tap.check("push faults: replay_seq, stale_seq, bad_signature, no_sig, "
              "unknown_kek, wrong_kek_key, malformed do the documented "
              "damage; the next good push verifies", faults)

    def ids_once():
        before = len([e for e in srv.events if e.get("event") == "push_done"])
        srv.faults({"slow": 0})
        srv.push({"id": "again", "group": 500})
        time.sleep(0.6)
        after = [e for e in srv.events if e.get("event") == "push_done"]
        assert len(after) == before + 1, after[before:]
        s = srv.state()
        assert s["faults"] == {"slow": 0}
        assert s["pushes_done"].count("again") == 1
        assert "rekey1" in s["pushes_done"] and 2 in s["pushes_done"]
        st["m1"].take()
    tap.check("control file: each push id is carried out once; a file of "
              "pushes leaves the faults alone", ids_once)

    def removed():
        m1 = st["m1"]
        m2 = st["m2"] = PushMember(port, 500, timeout=1.5)
        srv.push({"id": "rm", "group": 500, "remove_member": m2.peer})
        ev = srv.wait("member_removed", 3)
        assert ev["forgotten"] == [m2.peer]
        kek_spi = m1.kek["spi"].hex()
        done, = srv.push({"id": "delall", "group": 500,
                          "delete": [{"protocol": "tek", "spi": "all"},
                                     {"protocol": "kek"}]})
        sent = [e["peer"] for e in srv.events if e.get("event") ==
                "push_sent" and e.get("id") == "delall"]
        assert done["sent"] == len(sent) and m1.peer in sent, (done, sent)
        assert m2.peer not in sent, sent
        d = m1.take()
        assert d["types"] == [18, 12, 12, 9]
        assert d["d"] == [{"doi": 2, "proto": 1, "spi_size": 4,
                           "spis": ["00000000"]},
                          {"doi": 2, "proto": 0, "spi_size": 16,
                           "spis": [kek_spi]}], d["d"]
        try:
            m2.recv(1)
            raise AssertionError("the removed member got a push")
        except Failed:
            pass
        try:
            m2.i.pull(id_key_id(500))
            raise AssertionError("the removed member was served")
        except Failed as e:
            assert e.notify == 18, e
        m3 = st["m3"] = PushMember(port, 500)
        assert m3.seq == 0 and m3.kek["spi"].hex() != kek_spi
        spis = [s["spi"] for s in m3.r["sa"]["sat"]]
        g = srv.state()["groups"]["500"]
        assert spis == [t["spi"] for t in g["teks"]] and spis, spis
        assert all(t["generation"] > 1 for t in g["teks"])
        assert g["kek_history"][-2]["retired"] == "deleted"
        assert m2.peer in g["removed_members"]
        srv.push({"id": "after", "group": 500, "rekey": True,
                  "to": [m3.peer, m2.peer]})
        assert m3.take()["seq"] == 1
        m2.recv()                               # named explicitly
    tap.check("push: remove_member, then delete all TEKs and the KEK: the "
              "removed member gets no push and is refused; a new "
              "registration gets a new TEK generation and a new KEK",
              removed)

    def des_sha1():
        m = st["m4"] = PushMember(port, 501)
        assert m.kek["bs"] == 8 and len(m.kek["key"]) == 24
        assert m.kek["iv"].hex() == "0001020304050607"
        assert m.kek["sak"][129] == 3 and 9 not in m.kek["sak"]
        srv.push({"id": "d1", "group": 501, "rekey": True,
                  "teks": [{"spi": "0x5555", "cipher": "aes-cbc",
                            "auth": "hmac-sha256-128"},
                           {"spi": "0x5556", "cipher": "aes-gmac",
                            "key_bits": 256},
                           {"spi": "0x5557", "cipher": "aes-cbc",
                            "auth": "hmac-sha384-192"},
                           {"spi": "0x5558", "cipher": "3des-cbc",
                            "auth": "hmac-sha512-256"}],
                  "to": [m.peer]})
        d = m.take()
        assert m.kek["hash"] == "sha1" and d["sig_ok"]
        sats = d["sa"]["sat"]
        assert [s["spi"] for s in sats] == [0x3002, 0x5555, 0x5556, 0x5557,
                                            0x5558]
        # RFC 4543: transform 23, no auth, Key Length; RFC 4868: 6 and 7
        got = [(s["tid"], s["attrs"].get(5), s["attrs"].get(6))
               for s in sats[2:]]
        assert got == [(23, None, 256), (12, 6, 128), (3, 7, None)], got
        lens = [(len(p["attrs"][1]), len(p["attrs"].get(2, b"")))
                for p in d["kd"][2:]]
        assert lens == [(36, 0), (16, 48), (24, 64)], lens
        m.ack()
        a = srv.wait("ack_received", 3)
        assert a["valid"] and a["group"] == 501, a
    tap.check("push: 3DES KEK (8-octet IV), SHA-1 signature, added TEKs "
              "(AES-GMAC-256, HMAC-SHA2-384/512), ACK with HMAC-SHA-512 "
              "under attribute 129", des_sha1)


# --------------------------------------------------------------------------
# strongSwan as an independent Main Mode initiator (INTEROP.md section 4)
SWAN_PROPOSALS = ["aes128-sha1-modp1024", "aes256-sha256-modp2048",
                  "3des-md5-modp1536", "aes192-sha1-modp2048",
                  "des-sha1-modp1024", "aes128-md5-modp768",
                  "aes128-sha1-modp3072", "aes256-sha256-modp4096",
                  "aes256-sha256-ecp256", "3des-sha1-ecp384"]


def ipv6_conf():
    """IPv6 groups and the mixed cases: IPv6 TEKs (a subnet, a host, a range),
    IPv4 TEKs, a KEK for pushes; served over IPv6 or over IPv4."""
    return {"groups": [
        {"id": 600, "kek": {"algorithm": "aes-cbc", "key_bits": 128,
                            "rsa_bits": 1024, "ack": "sha256"},
         "teks": [{"spi": "0x6001", "cipher": "aes-gcm", "key_bits": 128,
                   "src": "2001:db8:1::/48", "dst": "2001:db8:2::/48",
                   "mirror": True},
                  {"spi": "0x6002", "src": "2001:db8:3::7/128",
                   "dst": "2001:db8:4::/64", "protocol": 17,
                   "dst_port": 53},
                  {"spi": "0x6003", "src": "2001:db8:5::/63",
                   "dst": "2001:db8:6::/64", "id_form": "range"}]},
        {"id": 601, "teks": [{"spi": "0x6101", "src": "10.61.0.0/16",
                              "dst": "10.62.0.0/16"}]}]}


def run_ipv6_tests(tap, work):
    """The key server listening on ::1: phase 1 with ID_IPV6_ADDR both ways,
    IPv6 TEK identifications (RFC 6407 5.4.1: types 5, 6 and 8) read by this
    file's own parser, IPv4 TEKs over an IPv6 registration, IPv6 TEKs over an
    IPv4 one, and a push to an IPv6 member with its ID_IPV6_ADDR
    acknowledgement."""
    w6 = os.path.join(work, "ipv6")
    os.makedirs(w6, exist_ok=True)
    conf = ipv6_conf()
    conf["listen"] = "::1"
    try:
        srv = PushServer(conf, w6)
    except AssertionError as e:
        tap.skip("IPv6 key server", f"no IPv6 loopback? {e}")
        return
    port = srv.port
    st = {}

    def ipv6_registration():
        i = Initiator(port, host="::1")
        try:
            i.main_mode()
            # the responder's identity: ID_IPV6_ADDR ::1, protocol 0 port 0
            assert i.idir == struct.pack("!BBH", 5, 0, 0) + bytes(15) + b"\1", i.idir.hex()
            ev = srv.wait("phase1_established")
            assert ev["peer_id"] == "::1" and ev["peer"].startswith("[::1]:"), ev
            r = i.pull(id_key_id(600))
        finally:
            i.close()
        sat = r["sa"]["sat"]
        got = [(t["spi"], t["src"]["type"], t["src"]["data"], t["dst"]["type"],
                t["dst"]["data"], t["proto"], t["dst"]["port"]) for t in sat]
        assert got == [
            (0x6001, 6, "2001:db8:1::/48", 6, "2001:db8:2::/48", 0, 0),
            (0x6001, 6, "2001:db8:2::/48", 6, "2001:db8:1::/48", 0, 0),
            (0x6002, 5, "2001:db8:3::7", 6, "2001:db8:4::/64", 17, 53),
            (0x6003, 8, "2001:db8:5::-2001:db8:5:1:ffff:ffff:ffff:ffff", 8,
             "2001:db8:6::-2001:db8:6:0:ffff:ffff:ffff:ffff", 0, 0)], got
        sak = r["sa"]["sak"]
        assert (sak["src"]["type"], sak["src"]["data"]) == (5, "::1"), sak
        assert (sak["dst"]["type"], sak["dst"]["data"]) == (5, "::"), sak
    tap.check("IPv6: Main Mode and GROUPKEY-PULL over ::1, ID_IPV6_ADDR both ways; "
              "IPv6 TEKs as ID_IPV6_ADDR_SUBNET, ID_IPV6_ADDR and ID_IPV6_ADDR_RANGE; "
              "the SA KEK names the key server by ID_IPV6_ADDR", ipv6_registration)

    def ipv4_teks_over_ipv6():
        i = Initiator(port, host="::1")
        try:
            i.main_mode()
            r = i.pull(id_key_id(601))
        finally:
            i.close()
        t = r["sa"]["sat"][0]
        assert (t["src"]["type"], t["src"]["data"], t["dst"]["type"], t["dst"]["data"]) == \
            (4, "10.61.0.0/16", 4, "10.62.0.0/16"), t
    tap.check("IPv6: IPv4 TEKs over an IPv6 registration", ipv4_teks_over_ipv6)

    def push_to_ipv6_member():
        m = st["m"] = PushMember(port, 600, host="::1")
        assert m.peer.startswith("[::1]:"), m.peer
        srv.push({"id": "v6-rekey", "group": 600, "rekey": True})
        d = m.take()
        assert m.src[0] == "::1" and m.src[1] == port, m.src
        types = {(t["src"]["type"], t["dst"]["type"]) for t in d["sa"]["sat"]}
        assert (6, 6) in types, types
        assert any(p == m.peer for p in srv.state()["pushes"][-1]["peers"]), \
            srv.state()["pushes"][-1]
        m.ack()
        ev = srv.wait("ack_received", 5)
        assert ev["valid"] is True, ev
        # the ID must be the member's own address, ::1
        m.ack(addr="::2")
        ev = srv.wait("ack_received", 5)
        assert ev["valid"] is False, ev
        # "to" names an IPv6 member in brackets
        srv.push({"id": "v6-to", "group": 600, "to": [m.peer]})
        d = m.take()
        assert d["types"] == [18, 9], d["types"]
    tap.check("IPv6: a push reaches an IPv6 member ([::1]:port, by the member list and by "
              "\"to\"); its ID_IPV6_ADDR acknowledgement is valid, another address is not",
              push_to_ipv6_member)
    for m in st.values():
        m.close()
    rc = srv.stop()
    tap.ok(rc == 0, "IPv6 key server stops with exit status 0", f"rc={rc}")

    w4 = os.path.join(work, "ipv6-over-4")
    os.makedirs(w4, exist_ok=True)
    srv = Server(ipv6_conf(), w4)

    def ipv6_teks_over_ipv4():
        i = Initiator(srv.port)
        try:
            i.main_mode()
            assert i.idir[:1] == b"\1", i.idir.hex()    # ID_IPV4_ADDR 127.0.0.1
            r = i.pull(id_key_id(600))
        finally:
            i.close()
        t = r["sa"]["sat"][0]
        assert (t["src"]["type"], t["src"]["data"]) == (6, "2001:db8:1::/48"), t
        sak = r["sa"]["sak"]
        assert (sak["src"]["type"], sak["src"]["data"]) == (1, "127.0.0.1"), sak
    try:
        tap.check("IPv6 TEKs over an IPv4 registration", ipv6_teks_over_ipv4)
    finally:
        rc = srv.stop()
    tap.ok(rc == 0, "key server stops with exit status 0", f"rc={rc}")


def run_interop(tap, work):
    names = [f"strongSwan initiator: main mode {p}" for p in SWAN_PROPOSALS]
    names.append("strongSwan: unacceptable proposal gets NO_PROPOSAL_CHOSEN")
    why = None
    if os.geteuid() != 0:
        why = "needs root for network namespaces"
    elif not os.path.exists("/usr/lib/ipsec/charon") or not shutil.which(
            "swanctl"):
        why = "strongSwan (strongswan-charon, strongswan-swanctl) missing"
    elif not shutil.which("ip"):
        why = "iproute2 missing"
    if why:
        for n in names:
            tap.skip(n, why)
        return
    Swan(tap, work, names).run()


class Swan:
    def __init__(self, tap, work, names):
        self.tap = tap
        self.names = names
        self.w = os.path.join(work, "swan")
        os.makedirs(self.w, exist_ok=True)
        tag = f"ks{os.getpid() % 100000}"
        self.na, self.nb = f"{tag}a", f"{tag}b"
        self.va, self.vb = f"{tag}va", f"{tag}vb"
        self.procs = []

    def sh(self, *cmd, check=True):
        r = subprocess.run(list(cmd), capture_output=True, text=True,
                           timeout=60)
        if check and r.returncode:
            raise RuntimeError(f"{cmd}: {r.stderr}")
        return r

    def swanctl(self, *args, check=True):
        env = dict(os.environ, STRONGSWAN_CONF=self.conf)
        r = subprocess.run(["ip", "netns", "exec", self.na, "swanctl",
                            *args], capture_output=True, text=True, env=env,
                           timeout=60)
        if check and r.returncode:
            raise RuntimeError(f"swanctl {args}: {r.stdout} {r.stderr}")
        return r

    def run(self):
        try:
            self.setup()
            for name, prop in zip(self.names, SWAN_PROPOSALS):
                self.tap.check(name, lambda p=prop: self.one(p, True))
            self.tap.check(self.names[-1],
                           lambda: self.one("aes128-sha1-modp6144", False))
        except Exception as e:  # noqa: BLE001
            done = self.tap.n
            self.tap.ok(False, "strongSwan interop setup", repr(e) +
                        "\n" + self.tail())
            del done
        finally:
            self.teardown()

    def tail(self):
        out = ""
        for f in ("charon.log", "ks.out"):
            p = os.path.join(self.w, f)
            if os.path.exists(p):
                out += "".join(open(p).readlines()[-15:])
        return out

    def setup(self):
        for n in (self.na, self.nb):
            self.sh("ip", "netns", "add", n)
        self.sh("ip", "link", "add", self.va, "netns", self.na, "type",
                "veth", "peer", "name", self.vb, "netns", self.nb)
        self.sh("ip", "-n", self.na, "addr", "add", "10.9.0.1/24", "dev",
                self.va)
        self.sh("ip", "-n", self.nb, "addr", "add", "10.9.0.2/24", "dev",
                self.vb)
        for n, d in ((self.na, self.va), (self.nb, self.vb)):
            self.sh("ip", "-n", n, "link", "set", "lo", "up")
            self.sh("ip", "-n", n, "link", "set", d, "up")
        # the key server in B, on UDP 500 (charon's IKEv1 port)
        cfg = os.path.join(self.w, "ks.json")
        with open(cfg, "w") as f:
            json.dump({"psk": "interop-test-psk", "listen": "10.9.0.2",
                       "port": 500, "state_file":
                       os.path.join(self.w, "state.json"),
                       "groups": [group_conf()]}, f)
        self.ks_out = open(os.path.join(self.w, "ks.out"), "w")
        self.ks = subprocess.Popen(["ip", "netns", "exec", self.nb, PY, KS,
                                    "--config", cfg], stdout=self.ks_out)
        self.procs.append(self.ks)
        run = os.path.join(self.w, "run")
        os.makedirs(run, exist_ok=True)
        self.conf = os.path.join(self.w, "strongswan.conf")
        with open(self.conf, "w") as f:
            f.write(f"""charon {{
  load = random nonce openssl pem pkcs1 x509 pubkey kernel-netlink socket-default vici
  plugins {{ vici {{ socket = unix://{self.w}/charon.vici }} }}
  filelog {{
    log {{ path = {self.w}/charon.log
          flush_line = yes
          ike = 4 }}
    stderr {{ default = 0 }}
  }}
}}
swanctl {{ socket = unix://{self.w}/charon.vici }}
""")
        env = dict(os.environ, STRONGSWAN_CONF=self.conf)
        self.charon = subprocess.Popen(
            ["ip", "netns", "exec", self.na, "unshare", "-m",
             "--propagation", "private", "sh", "-c",
             f"mount --bind {run} /run && exec /usr/lib/ipsec/charon"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.charon)
        end = time.time() + 20
        while time.time() < end:
            if self.swanctl("--stats", check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("charon did not start")
        end = time.time() + 10
        st = os.path.join(self.w, "state.json")
        while not os.path.exists(st) and time.time() < end:
            time.sleep(0.1)

    def one(self, proposal, expect_ok):
        swconf = os.path.join(self.w, "swanctl.conf")
        with open(swconf, "w") as f:
            f.write(f"""connections {{ mm {{
  version = 1
  aggressive = no
  local_addrs = 10.9.0.1
  remote_addrs = 10.9.0.2
  proposals = {proposal}
  local {{ auth = psk
          id = 10.9.0.1 }}
  remote {{ auth = psk
           id = 10.9.0.2 }} }} }}
secrets {{ ike-1 {{ id-1 = 10.9.0.1
                  id-2 = 10.9.0.2
                  secret = "interop-test-psk" }} }}
""")
        self.swanctl("--terminate", "--ike", "mm", check=False)
        self.swanctl("--load-all", "--file", swconf)
        before = json.load(open(os.path.join(self.w, "state.json")))
        r = self.swanctl("--initiate", "--ike", "mm", "--timeout", "15",
                         check=False)
        sas = self.swanctl("--list-sas", "--raw", check=False).stdout
        after = json.load(open(os.path.join(self.w, "state.json")))
        if expect_ok:
            assert r.returncode == 0, r.stdout + r.stderr + self.tail()
            assert "state=ESTABLISHED" in sas, sas
            g = proposal.split("-")[-1]
            group = "ECP_" + g[3:] if g.startswith("ecp") else "MODP_" + g[4:]
            assert f"dh-group={group}" in sas, sas
            assert (after["counters"]["phase1_completed"] ==
                    before["counters"]["phase1_completed"] + 1)
            ic = [p for p in after["phase1"] if p["state"] == "established"
                  and p["peer"].startswith("10.9.0.1")][-1]
            assert f"initiator-spi={ic['icookie']}" in sas.replace(
                " ", ""), (ic, sas)
            self.swanctl("--terminate", "--ike", "mm", check=False)
        else:
            assert r.returncode != 0
            log = open(os.path.join(self.w, "charon.log")).read()
            assert "NO_PROPOSAL_CHOSEN" in log, log[-2000:]

    def teardown(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if getattr(self, "ks_out", None):
            self.ks_out.close()
        for n in (self.na, self.nb):
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
