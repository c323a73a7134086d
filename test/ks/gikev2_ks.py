#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""A G-IKEv2 group controller/key server (GCKS) for tests.

Written from draft-ietf-ipsecme-g-ikev2-23 and RFC 7296, sharing nothing
with the C member in lib/ but test/ks/ike.py's Diffie-Hellman groups
(computed there from the RFCs' formulas). It answers IKE_SA_INIT and
GSA_AUTH (PSK) and GSA_REGISTRATION, hands out the configured TEKs and a
rekey SA signed with RSA (or implicit), and then plays a script of rekeys
and faults at the member: GSA_REKEY (unicast to the member's address, or
to the rekey SA's multicast group with "rekey_multicast"), GSA_INBAND_REKEY
over the IKE SA, replayed, stale, forged and malformed messages. It
listens on IPv4 or IPv6 ("address"), and records a member's leave
(GSA_REGISTRATION with IDg and a notification) and its Delete of the IKE SA.

The rekey SA's signatures ("rekey": {"sig": ...}): "rsa-sha256" (RSA PKCS
#1 v1.5, the default) or "rsa-pss-sha256", "rsa-pss-sha384",
"rsa-pss-sha512" (RSASSA-PSS, RFC 8017 8.1) with "salt" (octets, default
the hash's length) and "mgf_hash" (MGF1's hash, default the signature's),
written into GCAUTH's AlgorithmIdentifier (RFC 4055 3.1 parameters, DER
built here); "rsa_bits" (2048). The fault "sig_params" sends a GSA_REKEY
whose AUTH is a valid PSS signature under the group's key but made, and
labelled, with a salt 2 octets longer than GCAUTH's.

  gikev2_ks.py --config FILE [--log FILE]

One JSON event per line on stdout (or --log). A test tool: it logs the
keys it hands out.
"""
import argparse
import json
import os
import secrets
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ike  # noqa: E402  (the Diffie-Hellman groups only)

# --- numbers (RFC 7296 and the draft's IANA section) ---------------------
IKE_SA_INIT, GSA_AUTH, GSA_REGISTRATION, GSA_REKEY, GSA_INBAND_REKEY = 34, 39, 40, 41, 42
F_I, F_R = 0x08, 0x20
P_SA, P_KE, P_IDI, P_IDR, P_AUTH, P_NONCE, P_N, P_D, P_SK = 33, 34, 35, 36, 39, 40, 41, 42, 46
P_IDG, P_GSA, P_KD = 50, 51, 52
PROTO_AH, PROTO_ESP, PROTO_GIKE = 2, 3, 6
T_ENCR, T_PRF, T_INTEG, T_DH, T_SN, T_KWA, T_GCAUTH = 1, 2, 3, 4, 5, 13, 14
N_AUTHENTICATION_FAILED, N_INVALID_GROUP_ID, N_AUTHORIZATION_FAILED = 24, 45, 46
N_GROUP_SENDER, N_NO_PROPOSAL_CHOSEN = 16429, 14
HASHES = {5: hashes.SHA256, 6: hashes.SHA384, 7: hashes.SHA512}
INTEG = {12: (hashes.SHA256, 32, 16), 13: (hashes.SHA384, 48, 24), 14: (hashes.SHA512, 64, 32)}
KWA_LEN = {1: 16, 2: 24, 3: 32}
SIG_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
# the hashes' object identifiers (NIST, 2.16.840.1.101.3.4.2.x)
HASH_OID = {"sha256": "2.16.840.1.101.3.4.2.1", "sha384": "2.16.840.1.101.3.4.2.2",
            "sha512": "2.16.840.1.101.3.4.2.3", "sha1": "1.3.14.3.2.26"}
OID_RSA_SHA256 = "1.2.840.113549.1.1.11"   # sha256WithRSAEncryption
OID_RSASSA_PSS = "1.2.840.113549.1.1.10"
OID_MGF1 = "1.2.840.113549.1.1.8"


# --- just enough DER for an AlgorithmIdentifier (X.690) -------------------
def der(tag, body):
    n = len(body)
    ln = bytes([n]) if n < 128 else bytes([0x80 | (n.bit_length() + 7) // 8]) + \
        n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + ln + body


def der_oid(dotted):
    arcs = [int(x) for x in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7f]
        a >>= 7
        while a:
            enc.insert(0, 0x80 | (a & 0x7f))
            a >>= 7
        body += bytes(enc)
    return der(0x06, body)


def der_int(v):
    return der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))


def algid(oid, params=None):
    return der(0x30, der_oid(oid) + (params if params is not None else b""))


def algid_pss(h, salt, mgf_hash=None):
    """id-RSASSA-PSS with RSASSA-PSS-params (RFC 4055 3.1): hash, MGF1 with
    mgf_hash (default: the hash), salt length; the trailer left at its default."""
    hash_alg = algid(HASH_OID[h], der(0x05, b""))
    mgf = algid(OID_MGF1, algid(HASH_OID[mgf_hash or h], der(0x05, b"")))
    params = der(0xa0, hash_alg) + der(0xa1, mgf) + der(0xa2, der_int(salt))
    return algid(OID_RSASSA_PSS, der(0x30, params))


class Signer:
    """The GCKS's signature method (2.4.1.1): "rsa-sha256" (PKCS #1 v1.5) or
    "rsa-pss-sha256"/"-sha384"/"-sha512" with "salt" octets (the hash's
    length) and MGF1 with "mgf_hash" (the hash)."""

    def __init__(self, r):
        self.kind = r.get("sig", "rsa-sha256")
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=r.get("rsa_bits",
                                                                                  2048))
        self.h = "sha256" if self.kind == "rsa-sha256" else self.kind[len("rsa-pss-"):]
        if self.kind != "rsa-sha256" and (not self.kind.startswith("rsa-pss-") or
                                          self.h not in SIG_HASHES):
            raise ValueError(self.kind)
        self.salt = r.get("salt", SIG_HASHES[self.h].digest_size)
        self.mgf_hash = r.get("mgf_hash", self.h)
        self.algid = algid(OID_RSA_SHA256, der(0x05, b"")) if self.kind == "rsa-sha256" \
            else algid_pss(self.h, self.salt, self.mgf_hash)

    def sign(self, data, other_params=False):
        """(AlgorithmIdentifier, signature); other_params: a PSS signature made
        and labelled with a salt 2 octets longer than the group's."""
        if self.kind == "rsa-sha256" and not other_params:
            return self.algid, self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        salt = self.salt + 2 if other_params else self.salt
        hv = {**SIG_HASHES, "sha1": hashes.SHA1}
        pad = padding.PSS(mgf=padding.MGF1(hv[self.mgf_hash]()), salt_length=salt)
        return algid_pss(self.h, salt, self.mgf_hash), self.key.sign(data, pad,
                                                                     SIG_HASHES[self.h]())


def emit(out, **ev):
    out.write(json.dumps(ev) + "\n")
    out.flush()


def prf(alg, key, data):
    h = hmac.HMAC(key, HASHES[alg]())
    h.update(data)
    return h.finalize()


def prf_plus(alg, key, seed, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = prf(alg, key, t + seed + bytes([i]))
        out += t
        i += 1
    return out[:n]


def payloads(first, data):
    """[(type, body)] of a chain; the SK payload ends it."""
    out, t, off = [], first, 0
    while t:
        if len(data) - off < 4:
            raise ValueError("short payload")
        nxt, ln = data[off], struct.unpack_from(">H", data, off + 2)[0]
        if ln < 4 or off + ln > len(data):
            raise ValueError("bad payload length")
        out.append((t, data[off + 4:off + ln], nxt))
        off += ln
        if t == P_SK:
            break
        t = nxt
    return out


def chain(items):
    """(type, body) list -> (first type, bytes)."""
    b = b""
    for i, (t, body) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else 0
        b += struct.pack(">BBH", nxt, 0, 4 + len(body)) + body
    return (items[0][0] if items else 0), b


def header(spi_i, spi_r, first, exch, flags, msgid, length):
    return spi_i + spi_r + struct.pack(">BBBBII", first, 0x20, exch, flags, msgid, length)


def transform(ttype, tid, attrs=b"", last=False):
    body = struct.pack(">BBH", ttype, 0, tid) + attrs
    return struct.pack(">BBH", 0 if last else 3, 0, 4 + len(body)) + body


def keylen_attr(bits):
    return struct.pack(">HH", 0x8000 | 14, bits)


def tlv(atype, value):
    return struct.pack(">HH", atype, len(value)) + value


def tv(atype, value):
    return struct.pack(">HH", 0x8000 | atype, value)


def ts(start, end, proto=0, lo=0, hi=65535):
    """A traffic selector: TS_IPV4_ADDR_RANGE, or TS_IPV6_ADDR_RANGE."""
    if ":" in start:
        a, b = socket.inet_pton(socket.AF_INET6, start), socket.inet_pton(socket.AF_INET6, end)
        return struct.pack(">BBHHH", 8, proto, 40, lo, hi) + a + b
    a, b = socket.inet_aton(start), socket.inet_aton(end)
    return struct.pack(">BBHHH", 7, proto, 16, lo, hi) + a + b


DEFAULT_REKEY_DST = ["239.1.1.1", "239.1.1.1", 17, 848, 848]


class Crypto:
    """One direction's Encrypted payload keys (RFC 7296 3.14, RFC 5282)."""

    def __init__(self, encr, bits, integ, ek, ak):
        self.encr, self.bits, self.integ, self.ek, self.ak = encr, bits, integ, ek, ak

    def seal(self, hdr28, first, plain):
        gcm = self.encr == 20
        block = 4 if gcm else 16
        pad = (block - (len(plain) + 1) % block) % block
        body = plain + bytes(pad) + bytes([pad])
        ivl = 8 if gcm else 16
        icvl = 16 if gcm else INTEG[self.integ][2]
        total = 28 + 4 + ivl + len(body) + icvl
        hdr = hdr28[:16] + bytes([P_SK]) + hdr28[17:24] + struct.pack(">I", total)
        skh = struct.pack(">BBH", first, 0, total - 28)
        iv = os.urandom(ivl)
        if gcm:
            ct = AESGCM(self.ek[:-4]).encrypt(self.ek[-4:] + iv, body, hdr + skh)
            return hdr + skh + iv + ct
        enc = Cipher(algorithms.AES(self.ek), modes.CBC(iv)).encryptor()
        msg = hdr + skh + iv + enc.update(body) + enc.finalize()
        h = hmac.HMAC(self.ak, INTEG[self.integ][0]())
        h.update(msg)
        return msg + h.finalize()[:icvl]

    def open(self, msg):
        first = msg[16]
        if first != P_SK or len(msg) < 32:
            raise ValueError("no SK payload")
        inner_first = msg[28]
        gcm = self.encr == 20
        ivl = 8 if gcm else 16
        icvl = 16 if gcm else INTEG[self.integ][2]
        iv, ct = msg[32:32 + ivl], msg[32 + ivl:]
        if gcm:
            body = AESGCM(self.ek[:-4]).decrypt(self.ek[-4:] + iv, ct, msg[:32])
        else:
            h = hmac.HMAC(self.ak, INTEG[self.integ][0]())
            h.update(msg[:-icvl])
            if h.finalize()[:icvl] != msg[-icvl:]:
                raise ValueError("ICV")
            dec = Cipher(algorithms.AES(self.ek), modes.CBC(iv)).decryptor()
            body = dec.update(ct[:-icvl]) + dec.finalize()
        return inner_first, body[:len(body) - 1 - body[-1]]


class Group:
    """The group's policy: TEKs and the rekey SA, as configured."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.id = cfg.get("group_id", "group1").encode()
        self.teks = [self.new_tek(t) for t in cfg["teks"]]
        r = cfg.get("rekey", {})
        self.rk_encr, self.rk_bits = r.get("encr", 12), r.get("bits", 128)
        self.rk_integ = r.get("integ", 12) if self.rk_encr != 20 else 0
        self.rk_kwa = r.get("kwa", 1)
        self.gcauth = r.get("gcauth", 2)
        self.rk_spi = os.urandom(16)
        self.rk_msgid = r.get("initial_msgid", 0)
        self.initial_msgid = self.rk_msgid
        self.rk_keymat = os.urandom(self.rk_key_len())
        self.rk_dst = list(r.get("dst", DEFAULT_REKEY_DST))   # where GSA_REKEY goes
        self.signer = Signer(r)
        self.next_sid = 0

    def new_tek(self, t):
        encr, bits = t.get("encr", 12), t.get("bits", 128)
        integ = t.get("integ", 12 if encr == 12 else 0)
        klen = bits // 8 + (4 if encr in (20, 21) else 0) + (INTEG[integ][1] if integ else 0)
        return dict(t, encr=encr, bits=bits, integ=integ, spi=secrets.randbelow(2**31) + 256,
                    keymat=os.urandom(klen))

    def rk_key_len(self):
        ek = self.rk_bits // 8 + (4 if self.rk_encr == 20 else 0)
        ak = INTEG[self.rk_integ][1] if self.rk_integ else 0
        return ek + ak + KWA_LEN[self.rk_kwa]

    def rk_crypto(self):
        ek = self.rk_bits // 8 + (4 if self.rk_encr == 20 else 0)
        ak = INTEG[self.rk_integ][1] if self.rk_integ else 0
        km = self.rk_keymat
        return Crypto(self.rk_encr, self.rk_bits, self.rk_integ, km[:ek], km[ek:ek + ak]), \
            km[ek + ak:]

    def tek_policy(self, t):
        xf = transform(T_ENCR, t["encr"], keylen_attr(t["bits"]))
        if t["integ"]:
            xf += transform(T_INTEG, t["integ"])
        xf += transform(T_SN, t.get("sn", 2), last=True)
        attrs = tlv(1, struct.pack(">I", t.get("lifetime", 900)))
        body = struct.pack(">I", t["spi"]) + ts(*t["src"]) + ts(*t["dst"]) + xf + attrs
        return struct.pack(">BBH", PROTO_ESP, 4, 4 + len(body)) + body

    def rekey_policy(self, registration):
        r = self.cfg.get("rekey", {})
        xf = transform(T_ENCR, self.rk_encr, keylen_attr(self.rk_bits))
        if self.rk_integ:
            xf += transform(T_INTEG, self.rk_integ)
        gca = registration
        xf += transform(T_KWA, self.rk_kwa, last=not gca)
        if gca:
            attrs = tlv(18, self.signer.algid) if self.gcauth == 2 else b""
            xf += transform(T_GCAUTH, self.gcauth, attrs, last=True)
        attrs = tlv(1, struct.pack(">I", r.get("lifetime", 3600)))
        if registration and self.rk_msgid:
            attrs += tlv(2, struct.pack(">I", self.rk_msgid))
        src = ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") if ":" in self.rk_dst[0] \
            else ("0.0.0.0", "255.255.255.255")
        body = self.rk_spi + ts(*src, 17) + ts(*self.rk_dst) + xf + attrs
        return struct.pack(">BBH", PROTO_GIKE, 16, 4 + len(body)) + body

    def gw_policy(self, sender):
        a = b""
        if "atd" in self.cfg:
            a += tv(1, self.cfg["atd"])
        if "dtd" in self.cfg:
            a += tv(2, self.cfg["dtd"])
        if sender:
            a += tv(3, self.cfg.get("sid_bits", 8))
        return struct.pack(">BBH", 0, 0, 4 + len(a)) + a if a else b""


def wrapped(kwk, kwa, key, key_id=0, kwk_id=0):
    assert len(kwk) == KWA_LEN[kwa]
    return struct.pack(">II", key_id, kwk_id) + aes_key_wrap_with_padding(kwk, key)


def group_bag(proto, spi, sa_keys):
    body = spi + b"".join(tlv(1, k) for k in sa_keys)
    return struct.pack(">BBH", proto, len(spi), 4 + len(body)) + body


class Session:
    """One member's IKE SA, responder side."""

    def __init__(self, ks, peer, spi_i):
        self.ks, self.peer, self.spi_i = ks, peer, spi_i
        self.spi_r = os.urandom(8)
        self.my_msgid = 0     # of the GCKS's requests (GSA_INBAND_REKEY)
        self.peer_msgid = 0
        self.last_resp = None

    # -- IKE_SA_INIT -----------------------------------------------------
    def choose(self, sa_body):
        off = 0
        while off < len(sa_body):
            last, plen = sa_body[off], struct.unpack_from(">H", sa_body, off + 2)[0]
            num, proto, spisz, nt = sa_body[off + 4:off + 8]
            p, x = {}, off + 8 + spisz
            for _ in range(nt):
                tlen = struct.unpack_from(">H", sa_body, x + 2)[0]
                ttype, tid = sa_body[x + 4], struct.unpack_from(">H", sa_body, x + 6)[0]
                bits = struct.unpack_from(">H", sa_body, x + 10)[0] if tlen >= 12 else 0
                p.setdefault(ttype, []).append((tid, bits))
                x += tlen
            ok = {T_ENCR: [e for e in p.get(T_ENCR, []) if e[0] in (12, 20)],
                  T_PRF: [e for e in p.get(T_PRF, []) if e[0] in HASHES],
                  T_INTEG: [e for e in p.get(T_INTEG, []) if e[0] in INTEG],
                  T_DH: [e for e in p.get(T_DH, []) if e[0] in (14, 15, 16, 19, 20)],
                  T_KWA: [e for e in p.get(T_KWA, []) if e[0] in KWA_LEN]}
            want = self.ks.cfg.get("want_dh")
            if want:
                ok[T_DH] = [e for e in ok[T_DH] if e[0] == want]
            aead = ok[T_ENCR] and ok[T_ENCR][0][0] == 20
            if ok[T_ENCR] and ok[T_PRF] and ok[T_DH] and ok[T_KWA] and (aead or ok[T_INTEG]):
                return num, {t: v[0] for t, v in ok.items() if v and not (aead and t == T_INTEG)}
            off += plen
            if last == 0:
                break
        return None, None

    def ike_sa_init(self, msg, pl):
        d = {t: b for t, b, _ in pl}
        num, ch = self.choose(d[P_SA])
        if ch is None:
            return header(self.spi_i, bytes(8), 0, IKE_SA_INIT, F_R, 0, 0)  # not used
        self.ch = ch
        group = struct.unpack_from(">H", d[P_KE])[0]
        if group != ch[T_DH][0]:
            f, c = chain([(P_N, struct.pack(">BBH", 0, 0, 17) + struct.pack(">H", ch[T_DH][0]))])
            return header(self.spi_i, bytes(8), f, IKE_SA_INIT, F_R, 0, 28 + len(c)) + c
        dh = ike.DH(group)
        gir = dh.shared(d[P_KE][4:])
        self.ni, self.nr = d[P_NONCE], os.urandom(32)
        xf = b""
        items = [(T_ENCR, ch[T_ENCR]), (T_PRF, ch[T_PRF])]
        if T_INTEG in ch:
            items.append((T_INTEG, ch[T_INTEG]))
        items += [(T_DH, ch[T_DH]), (T_KWA, ch[T_KWA])]
        for i, (t, (tid, bits)) in enumerate(items):
            xf += transform(t, tid, keylen_attr(bits) if bits else b"", last=i + 1 == len(items))
        prop = struct.pack(">BBBB", num, 1, 0, len(items)) + xf
        sa = struct.pack(">BBH", 0, 0, 4 + len(prop)) + prop
        ke = struct.pack(">HH", group, 0) + dh.public
        f, c = chain([(P_SA, sa), (P_KE, ke), (P_NONCE, self.nr)])
        resp = header(self.spi_i, self.spi_r, f, IKE_SA_INIT, F_R, 0, 28 + len(c)) + c
        self.init_req, self.init_resp = msg, resp
        self.keys(gir)
        return resp

    def keys(self, gir):
        p = self.prf_id = self.ch[T_PRF][0]
        encr, bits = self.ch[T_ENCR]
        integ = self.ch.get(T_INTEG, (0, 0))[0]
        plen = len(prf(p, b"k", b""))
        elen = bits // 8 + (4 if encr == 20 else 0)
        alen = INTEG[integ][1] if integ else 0
        seed = prf(p, self.ni + self.nr, gir)
        km = prf_plus(p, seed, self.ni + self.nr + self.spi_i + self.spi_r,
                      3 * plen + 2 * alen + 2 * elen)
        o = 0

        def take(n):
            nonlocal o
            o += n
            return km[o - n:o]
        self.sk_d, ai, ar, ei, er = take(plen), take(alen), take(alen), take(elen), take(elen)
        self.sk_pi, self.sk_pr = take(plen), take(plen)
        self.c_i = Crypto(encr, bits, integ, ei, ai)   # what the member sends
        self.c_r = Crypto(encr, bits, integ, er, ar)   # what we send
        kwa = self.ch[T_KWA][0]
        self.kwa = kwa
        self.gsk_w = prf_plus(p, self.sk_d, b"Key Wrap for G-IKEv2", KWA_LEN[kwa])
        emit(self.ks.out, event="ike_sa", spi_i=self.spi_i.hex(), spi_r=self.spi_r.hex(),
             encr=encr, bits=bits, integ=integ, prf=p, kwa=kwa, sk_ei=ei.hex(), sk_er=er.hex())

    # -- GSA_AUTH / GSA_REGISTRATION ------------------------------------
    def auth_of(self, init, nonce, sk_p, id_body, psk):
        key = prf(self.prf_id, psk, b"Key Pad for IKEv2")
        return prf(self.prf_id, key, init + nonce + prf(self.prf_id, sk_p, id_body))

    def protected_reply(self, exch, msgid, items):
        f, c = chain(items)
        h = header(self.spi_i, self.spi_r, 0, exch, F_R, msgid, 0)
        return self.c_r.seal(h, f, c)

    def registration(self, exch, msgid, d, notifies):
        ks, g = self.ks, self.ks.group
        fault = ks.cfg.get("registration_fault")
        if d.get(P_IDG, b"")[4:] != g.id:
            return [(P_N, struct.pack(">BBH", 0, 0, N_INVALID_GROUP_ID))]
        if fault == "authorization_failed":
            return [(P_N, struct.pack(">BBH", 0, 0, N_AUTHORIZATION_FAILED))]
        sender = N_GROUP_SENDER in notifies
        gsa = b"".join(g.tek_policy(t) for t in g.teks)
        if ks.cfg.get("rekey_sa", True):
            gsa += g.rekey_policy(True)
        gsa += g.gw_policy(sender)
        bags = b"".join(group_bag(PROTO_ESP, struct.pack(">I", t["spi"]),
                                  [wrapped(self.gsk_w, self.kwa, t["keymat"])])
                        for t in g.teks)
        if ks.cfg.get("rekey_sa", True):
            bags += group_bag(PROTO_GIKE, g.rk_spi, [wrapped(self.gsk_w, self.kwa, g.rk_keymat)])
        member = b""
        if ks.cfg.get("rekey_sa", True) and g.gcauth == 2:
            member += tlv(2, g.signer.key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
        if sender:
            n = struct.unpack(">I", notifies[N_GROUP_SENDER][:4])[0]
            for _ in range(max(1, min(n, 4))):
                member += tlv(3, struct.pack(">I", g.next_sid))
                g.next_sid += 1
        if member:
            bags += struct.pack(">BBH", 0, 0, 4 + len(member)) + member
        if fault == "malformed_kd":
            bags = bags[:-3]
        emit(ks.out, event="registered", exchange=exch, group=g.id.decode(), sender=sender,
             teks=[{"spi": t["spi"], "keymat": t["keymat"].hex()} for t in g.teks],
             rekey_spi=g.rk_spi.hex(), rekey_keymat=g.rk_keymat.hex())
        return [(P_GSA, gsa), (P_KD, bags)]

    def protected_request(self, msg):
        exch, msgid = msg[18], struct.unpack_from(">I", msg, 20)[0]
        if msgid == self.peer_msgid - 1 and self.last_resp:
            return self.last_resp
        try:
            first, plain = self.c_i.open(msg)
            pl = payloads(first, plain)
        except Exception as e:  # noqa: BLE001
            emit(self.ks.out, event="drop", reason=str(e))
            return None
        d, notifies = {}, {}
        for t, b, _ in pl:
            d.setdefault(t, b)
            if t == P_N:
                notifies[struct.unpack_from(">H", b, 2)[0]] = b[4 + b[1]:]
        if exch == GSA_AUTH:
            emit(self.ks.out, event="gsa_auth", peer=self.peer[0], id_type=d[P_IDI][0],
                 id=d[P_IDI][4:].hex())
            want = self.auth_of(self.init_req, self.nr, self.sk_pi, d[P_IDI], self.ks.psk)
            if d[P_AUTH][4:] != want:
                emit(self.ks.out, event="auth_failed")
                resp = self.protected_reply(exch, msgid, [
                    (P_N, struct.pack(">BBH", 0, 0, N_AUTHENTICATION_FAILED))])
            else:
                idr = struct.pack(">BBH", 2, 0, 0) + b"gcks.test"
                auth = self.auth_of(self.init_resp, self.ni, self.sk_pr, idr, self.ks.psk)
                if self.ks.cfg.get("registration_fault") == "bad_auth":
                    auth = bytes([auth[0] ^ 1]) + auth[1:]
                items = [(P_IDR, idr), (P_AUTH, struct.pack(">BBBB", 2, 0, 0, 0) + auth)]
                items += self.registration(exch, msgid, d, notifies)
                resp = self.protected_reply(exch, msgid, items)
                # one session per member address: a new IKE SA replaces the old
                self.ks.members = [m for m in self.ks.members if m.peer != self.peer]
                self.ks.members.append(self)
        elif exch == GSA_REGISTRATION:
            if P_IDG in d and not (d.keys() - {P_IDG, P_N, P_SA}) and any(
                    n in notifies for n in (N_NO_PROPOSAL_CHOSEN, 49)):
                emit(self.ks.out, event="left", notify=list(notifies), peer=self.peer[0],
                     group=d[P_IDG][4:].decode(errors="replace"))
                # no more GSA_INBAND_REKEY or unicast GSA_REKEY to it
                self.ks.members = [m for m in self.ks.members if m is not self]
                resp = self.protected_reply(exch, msgid, [])
            else:
                resp = self.protected_reply(exch, msgid, self.registration(exch, msgid, d,
                                                                           notifies))
        elif exch == 37:
            resp = self.protected_reply(exch, msgid, [])
            if any(t == P_D and b[:1] == b"\x01" for t, b, _ in pl):   # Delete of the IKE SA
                emit(self.ks.out, event="ike_deleted", peer=self.peer[0], spi_i=self.spi_i.hex())
                self.ks.members = [m for m in self.ks.members if m is not self]
                self.ks.sessions.pop(self.spi_i, None)
        else:
            return None
        self.peer_msgid = msgid + 1
        self.last_resp = resp
        return resp

    def inband(self, items):
        f, c = chain(items)
        h = header(self.spi_i, self.spi_r, 0, GSA_INBAND_REKEY, 0, self.my_msgid, 0)
        self.my_msgid += 1
        return self.c_r.seal(h, f, c)


class KeyServer:
    def __init__(self, cfg, out):
        self.cfg, self.out = cfg, out
        self.psk = cfg["psk"].encode()
        self.group = Group(cfg)
        self.sessions, self.members = {}, []
        addr = cfg.get("address", "127.0.0.1")
        self.sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                                  socket.SOCK_DGRAM)
        self.sock.bind((addr, cfg.get("port", 0)))
        if cfg.get("rekey_multicast"):
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                 socket.inet_aton(cfg.get("address", "127.0.0.1")))
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self.sent = {}
        self.opts = {}

    # -- GSA_REKEY (2.4.1) -----------------------------------------------
    def rekey_message(self, items, msgid=None, fault=None):
        g = self.group
        crypto, _ = g.rk_crypto()
        if msgid is None:
            msgid = g.rk_msgid
            g.rk_msgid += 1
        if g.gcauth == 2:
            # AUTH (RFC 7427 3): the AlgorithmIdentifier, then the signature
            # over A | P with the signature's octets zero
            other = fault == "sig_params"
            alg = algid_pss(g.signer.h, g.signer.salt + 2, g.signer.mgf_hash) if other \
                else g.signer.algid
            siglen = g.signer.key.key_size // 8
            auth_hdr = struct.pack(">BBBB", 14, 0, 0, 0) + bytes([len(alg)]) + alg
            items = items + [(P_AUTH, auth_hdr + bytes(siglen))]
            first, plain = chain(items)
            adj = header(g.rk_spi[:8], g.rk_spi[8:], P_SK, GSA_REKEY, 0, msgid,
                         28 + 4 + len(plain)) + struct.pack(">BBH", first, 0, 4 + len(plain))
            alg2, sig = g.signer.sign(adj + plain, other)
            assert alg2 == alg
            if fault == "bad_signature":
                sig = bytes([sig[0] ^ 0x80]) + sig[1:]
            plain = plain[:-siglen] + sig
        else:
            first, plain = chain(items)
        if fault == "malformed":
            plain = plain[:-1]  # the last payload's length overruns
        h = header(g.rk_spi[:8], g.rk_spi[8:], 0, GSA_REKEY, 0, msgid, 0)
        msg = crypto.seal(h, first, plain)
        if fault == "bad_icv":
            msg = msg[:-1] + bytes([msg[-1] ^ 1])
        return msg

    def rotate_teks(self, commit=True):
        """New TEKs for every configured one (committed: the group's from now on)."""
        g = self.group
        teks = [g.new_tek(t) for t in self.cfg["teks"]]
        if commit:
            self.sent["previous_teks"] = g.teks
            g.teks = teks
        emit(self.out, event="new_teks", committed=commit,
             teks=[{"spi": t["spi"], "keymat": t["keymat"].hex()} for t in teks])
        return teks

    def teks_items(self, teks, kwk, kwa, delete=()):
        g = self.group
        gsa = b"".join(g.tek_policy(t) for t in teks) + g.gw_policy(False)
        kd = b"".join(group_bag(PROTO_ESP, struct.pack(">I", t["spi"]),
                                [wrapped(kwk, kwa, t["keymat"])]) for t in teks)
        items = [(P_GSA, gsa), (P_KD, kd)]
        if delete:
            spis = b"".join(struct.pack(">I", t["spi"]) for t in delete)
            items.append((P_D, struct.pack(">BBH", PROTO_ESP, 4, len(delete)) + spis))
        return items

    def new_teks_items(self, kwk, kwa, deletes=(), commit=True):
        old = self.group.teks
        teks = self.rotate_teks(commit)
        return self.teks_items(teks, kwk, kwa, old if "old" in deletes else ())

    def rekey_dest(self, members):
        """Where a GSA_REKEY goes: every member by unicast, or the rekey SA's
        multicast group (rekey_multicast; "group" in the action's options
        names another, a group the members are not in)."""
        if self.opts.get("group"):
            return [(self.opts["group"], self.group.rk_dst[3])]
        if self.cfg.get("rekey_multicast"):
            return [(self.group.rk_dst[0], self.group.rk_dst[3])]
        return [m.peer for m in members]

    def act(self, action, members, opts=None):
        """Run @p action on @p members; @p opts its options ("group": the
        multicast group to send to; new_rekey_sa's "dst": the new rekey
        SA's multicast group)."""
        self.opts = opts or {}
        g = self.group
        _, gsk_w = g.rk_crypto()
        out = []   # (message, destination)
        if action in ("rekey", "rekey_delete_old"):
            items = self.new_teks_items(gsk_w, g.rk_kwa,
                                        ("old",) if action == "rekey_delete_old" else ())
            msg = self.rekey_message(items)
            self.sent["last_rekey"] = msg
            out = [(msg, d) for d in self.rekey_dest(members)]
        elif action == "delete_old":
            # the TEKs before the last rekey, deleted by a GSA_REKEY of their own
            old = self.sent.get("previous_teks", [])
            items = [(P_D, struct.pack(">BBH", PROTO_ESP, 4, len(old)) +
                      b"".join(struct.pack(">I", t["spi"]) for t in old))]
            out = [(self.rekey_message(items), d) for d in self.rekey_dest(members)]
        elif action == "replay":
            out = [(self.sent["last_rekey"], d) for d in self.rekey_dest(members)]
        elif action == "stale":
            # below GSA_INITIAL_MESSAGE_ID (or, without one, an old ID)
            old = g.initial_msgid - 1 if g.initial_msgid else max(0, g.rk_msgid - 2)
            msg = self.rekey_message(self.new_teks_items(gsk_w, g.rk_kwa, commit=False),
                                     msgid=old)
            out = [(msg, d) for d in self.rekey_dest(members)]
        elif action in ("bad_signature", "bad_icv", "malformed", "sig_params"):
            msg = self.rekey_message(self.new_teks_items(gsk_w, g.rk_kwa, commit=False),
                                     fault=action)
            out = [(msg, d) for d in self.rekey_dest(members)]
        elif action == "new_rekey_sa":
            # a new rekey SA, its keys under the current GSK_w; messages
            # under it count from message ID 0 (2.4.1.3)
            new_spi, new_km = os.urandom(16), os.urandom(g.rk_key_len())
            dest = self.rekey_dest(members)   # the old group: the members are there
            if self.opts.get("dst"):
                g.rk_dst = [self.opts["dst"], self.opts["dst"]] + g.rk_dst[2:]
            gsa = g.rekey_policy(False).replace(g.rk_spi, new_spi, 1)
            kd = group_bag(PROTO_GIKE, new_spi, [wrapped(gsk_w, g.rk_kwa, new_km)])
            msg = self.rekey_message([(P_GSA, gsa), (P_KD, kd)])
            g.rk_spi, g.rk_keymat, g.rk_msgid = new_spi, new_km, 0
            emit(self.out, event="new_rekey_sa", spi=new_spi.hex(), keymat=new_km.hex(),
                 dst=g.rk_dst[0])
            out = [(msg, d) for d in dest]
        elif action == "inband_rekey":
            # the same new TEKs to each member, wrapped under its own IKE SA
            teks = self.rotate_teks()
            out = [(m.inband(self.teks_items(teks, m.gsk_w, m.kwa)), m.peer) for m in members]
        elif action == "inband_delete_all":
            out = [(m.inband([(P_D, struct.pack(">BBH", PROTO_ESP, 4, 1) + bytes(4))]), m.peer)
                   for m in members]
        elif action == "exclude":
            msg = self.rekey_message([(P_D, struct.pack(">BBH", PROTO_ESP, 4, 1) + bytes(4)),
                                      (P_D, struct.pack(">BBH", PROTO_GIKE, 16, 1) + bytes(16))])
            out = [(msg, d) for d in self.rekey_dest(members)]
        else:
            raise ValueError(action)
        for msg, dest in out:
            self.sock.sendto(msg, dest)
        emit(self.out, event="sent", action=action, length=len(out[0][0]) if out else 0,
             to=[f"[{d[0]}]:{d[1]}" if ":" in d[0] else f"{d[0]}:{d[1]}" for _, d in out],
             msgid=g.rk_msgid)

    def handle(self, msg, peer):
        if len(msg) < 28:
            return
        spi_i, spi_r, exch, flags = msg[:8], msg[8:16], msg[18], msg[19]
        if exch == IKE_SA_INIT and not flags & F_R:
            s = self.sessions.get(spi_i) or Session(self, peer, spi_i)
            self.sessions[spi_i] = s
            resp = s.ike_sa_init(msg, payloads(msg[16], msg[28:]))
        else:
            s = self.sessions.get(spi_i)
            if s is None or spi_r != s.spi_r:
                return
            if flags & F_R:  # the member's answer to our GSA_INBAND_REKEY
                try:
                    s.c_i.open(msg)
                    emit(self.out, event="inband_answered", msgid=struct.unpack_from(
                        ">I", msg, 20)[0])
                except Exception:  # noqa: BLE001
                    emit(self.out, event="drop", reason="inband answer does not verify")
                return
            resp = s.protected_request(msg)
        if resp:
            self.sock.sendto(resp, peer)

    def control(self):
        """Actions appended to the control file since the last look: one a
        line, a name ("rekey") or JSON {"action": ..., "to": "address"}."""
        path = self.cfg.get("control")
        if not path or not os.path.exists(path):
            return []
        with open(path) as f:
            lines = f.read().split("\n")
        done = lines[:-1]   # a line without its newline is still being written
        new, self.control_seen = done[self.control_seen:], len(done)
        acts = []
        for line in new:
            line = line.strip()
            if line:
                acts.append(json.loads(line) if line.startswith("{") else {"action": line})
        return acts

    def run(self, duration):
        emit(self.out, event="listening", port=self.sock.getsockname()[1])
        script = list(self.cfg.get("script", []))
        gap = self.cfg.get("script_gap", 0.3)
        end, next_at = time.time() + duration, None
        self.control_seen = 0
        while time.time() < end:
            self.sock.settimeout(0.05)
            try:
                msg, peer = self.sock.recvfrom(65535)
                self.handle(msg, peer)
            except socket.timeout:
                pass
            if self.members and script:
                if next_at is None:
                    next_at = time.time() + gap
                elif time.time() >= next_at:
                    self.act(script.pop(0), self.members)
                    next_at = time.time() + gap
            for a in self.control():
                to = [m for m in self.members if not a.get("to") or m.peer[0] == a["to"]]
                self.act(a["action"], to, a)
        emit(self.out, event="done")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--log")
    ap.add_argument("--duration", type=float, default=30)
    a = ap.parse_args()
    out = open(a.log, "a") if a.log else sys.stdout
    with open(a.config) as f:
        cfg = json.load(f)
    KeyServer(cfg, out).run(a.duration)


if __name__ == "__main__":
    main()
