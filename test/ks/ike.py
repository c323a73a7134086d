# SPDX-License-Identifier: BSD-3-Clause
"""IKEv1 (RFC 2409) for the test key server: algorithms, MODP and ECP groups,
phase-1 key derivation, the Main Mode responder with pre-shared keys and
the encryption of messages under an established phase-1 SA (used by the
GDOI exchanges of gdoi.py and by informational exchanges).

Nothing here opens sockets or knows about faults: the responder takes a
received datagram and returns the reply, or raises IkeError.
"""
import hashlib
import hmac
import ipaddress
import os
import secrets
import struct

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import isakmp as I

# --- algorithm numbers: RFC 2409 appendix A, RFC 3602 (AES), RFC 4868 -----
ATTR_ENC = 1
ATTR_HASH = 2
ATTR_AUTH = 3
ATTR_GROUP = 4
ATTR_GROUP_TYPE = 5
ATTR_LIFE_TYPE = 11
ATTR_LIFE_DURATION = 12
ATTR_PRF = 13
ATTR_KEY_LENGTH = 14

ENC_DES = 1
ENC_3DES = 5
ENC_AES = 7

HASH_MD5 = 1
HASH_SHA1 = 2
HASH_SHA256 = 4

AUTH_PSK = 1

LIFE_SECONDS = 1
LIFE_KILOBYTES = 2

KEY_IKE = 1          # transform ID of the ISAKMP protocol, RFC 2407 4.4.2

# name, block size, fixed key length (None: from the key length attribute)
CIPHERS = {
    ENC_DES: ("des-cbc", 8, 8),
    ENC_3DES: ("3des-cbc", 8, 24),
    ENC_AES: ("aes-cbc", 16, None),
}
CIPHER_BY_NAME = {v[0]: k for k, v in CIPHERS.items()}

HASHES = {
    HASH_MD5: ("md5", hashlib.md5),
    HASH_SHA1: ("sha1", hashlib.sha1),
    HASH_SHA256: ("sha256", hashlib.sha256),
}
HASH_BY_NAME = {v[0]: k for k, v in HASHES.items()}


# --- MODP groups ---------------------------------------------------------
# The primes are not copied from anywhere: each RFC gives its prime as a
# formula in pi, and they are computed from it here.
#   RFC 2409 6.1 (group 1):  p = 2^768  - 2^704  - 1 + 2^64 * { [2^638 pi]  + 149686 }
#   RFC 2409 6.2 (group 2):  p = 2^1024 - 2^960  - 1 + 2^64 * { [2^894 pi]  + 129093 }
#   RFC 3526 2   (group 5):  p = 2^1536 - 2^1472 - 1 + 2^64 * { [2^1406 pi] + 741804 }
#   RFC 3526 3   (group 14): p = 2^2048 - 2^1984 - 1 + 2^64 * { [2^1918 pi] + 124476 }
#   RFC 3526 4   (group 15): p = 2^3072 - 2^3008 - 1 + 2^64 * { [2^2942 pi] + 1690314 }
#   RFC 3526 5   (group 16): p = 2^4096 - 2^4032 - 1 + 2^64 * { [2^3966 pi] + 240904 }
# The generator is 2 for all six.
MODP_FORMULA = {1: (768, 149686), 2: (1024, 129093), 5: (1536, 741804),
                14: (2048, 124476), 15: (3072, 1690314), 16: (4096, 240904)}

# --- ECP groups (RFC 5903) -------------------------------------------------
# group: (curve, field prime as FIPS 186-4 D.1.2 writes it, octets of a
# coordinate). The KE value is x | y; the shared secret is x alone (RFC
# 5903 7).
ECP_GROUPS = {
    19: (ec.SECP256R1(), 2**256 - 2**224 + 2**192 + 2**96 - 1, 32),
    20: (ec.SECP384R1(), 2**384 - 2**128 - 2**96 + 2**32 - 1, 48),
}
GROUPS = tuple(MODP_FORMULA) + tuple(ECP_GROUPS)


def _floor_pi_times_2_to(bits):
    """floor(pi * 2^bits), from Machin's formula in fixed point."""
    guard = 64
    one = 1 << (bits + guard)

    def arctan_inv(x):
        total, term, k, sign = 0, one // x, 1, 1
        x2 = x * x
        while term:
            total += sign * (term // k)
            term //= x2
            k += 2
            sign = -sign
        return total

    pi = 4 * (4 * arctan_inv(5) - arctan_inv(239))
    return pi >> guard


_MODP_CACHE = {}


def modp_prime(group):
    if group not in _MODP_CACHE:
        n, offset = MODP_FORMULA[group]
        p = ((1 << n) - (1 << (n - 64)) - 1
             + (1 << 64) * (_floor_pi_times_2_to(n - 130) + offset))
        _MODP_CACHE[group] = p
    return _MODP_CACHE[group]


class ECDH:
    """One side of an ECP Diffie-Hellman exchange (RFC 5903)."""

    def __init__(self, group):
        self.group = group
        self.curve, self.p, self.n = ECP_GROUPS[group]
        self.size = 2 * self.n
        self.key = ec.generate_private_key(self.curve)
        pub = self.key.public_key().public_numbers()
        self.public = pub.x.to_bytes(self.n, "big") + pub.y.to_bytes(self.n, "big")

    def shared(self, peer):
        if len(peer) != self.size:
            raise IkeError("bad_ke_length", I.N_INVALID_KEY_INFORMATION,
                           f"{len(peer)} octets, group {self.group} needs "
                           f"{self.size}")
        x = int.from_bytes(peer[:self.n], "big")
        y = int.from_bytes(peer[self.n:], "big")
        # coordinates of the field, and a point of the curve (checked by
        # public_key()); x | y cannot encode the point at infinity
        if x >= self.p or y >= self.p:
            raise IkeError("bad_ke_value", I.N_INVALID_KEY_INFORMATION)
        try:
            pub = ec.EllipticCurvePublicNumbers(x, y, self.curve).public_key()
        except ValueError as e:
            raise IkeError("bad_ke_value", I.N_INVALID_KEY_INFORMATION,
                           "not a point of the curve") from e
        return self.key.exchange(ec.ECDH(), pub)


def DH(group):
    """One side of the group's Diffie-Hellman exchange."""
    return ECDH(group) if group in ECP_GROUPS else ModpDH(group)


class ModpDH:
    """One side of a MODP Diffie-Hellman exchange."""

    def __init__(self, group):
        self.group = group
        self.p = modp_prime(group)
        self.size = (self.p.bit_length() + 7) // 8
        self.x = secrets.randbelow(self.p - 3) + 2
        y = pow(2, self.x, self.p)
        # RFC 2409 5: the KE value is the length of the prime, zero-prefixed.
        self.public = y.to_bytes(self.size, "big")

    def shared(self, peer):
        if len(peer) != self.size:
            raise IkeError("bad_ke_length", I.N_INVALID_KEY_INFORMATION,
                           f"{len(peer)} octets, group {self.group} needs "
                           f"{self.size}")
        y = int.from_bytes(peer, "big")
        if not 1 < y < self.p - 1:
            raise IkeError("bad_ke_value", I.N_INVALID_KEY_INFORMATION)
        return pow(y, self.x, self.p).to_bytes(self.size, "big")


# --- primitives ----------------------------------------------------------
def hash_fn(hash_id, data):
    return HASHES[hash_id][1](data).digest()


def prf(hash_id, key, *parts):
    """The IKEv1 prf: HMAC with the negotiated hash (no PRF attribute is
    accepted, RFC 2409 5)."""
    return hmac.new(key, b"".join(parts), HASHES[hash_id][1]).digest()


def _algorithm(enc_id, key):
    if enc_id == ENC_AES:
        return algorithms.AES(key)
    # DES is 3DES with K1 = K2 = K3 (an 8-octet TripleDES key).
    return algorithms.TripleDES(key)


def cbc_encrypt(enc_id, key, iv, data):
    e = Cipher(_algorithm(enc_id, key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def cbc_decrypt(enc_id, key, iv, data):
    d = Cipher(_algorithm(enc_id, key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()


class IkeError(Exception):
    """A failed step. `reason` is counted by the server; `notify` is the
    notify type to send back (None: send nothing)."""

    def __init__(self, reason, notify=None, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.notify = notify
        self.detail = detail


# --- phase-1 proposals ---------------------------------------------------
class Suite:
    """A phase-1 transform the responder accepts."""

    __slots__ = ("enc", "key_bits", "hash", "group", "auth", "life_type",
                 "life")

    def __init__(self, enc, key_bits, hash_id, group, auth=AUTH_PSK,
                 life_type=LIFE_SECONDS, life=None):
        self.enc = enc
        self.key_bits = key_bits
        self.hash = hash_id
        self.group = group
        self.auth = auth
        self.life_type = life_type
        self.life = life

    @property
    def key(self):
        return (self.enc, self.key_bits, self.hash, self.group)

    @property
    def block(self):
        return CIPHERS[self.enc][1]

    @property
    def key_len(self):
        fixed = CIPHERS[self.enc][2]
        return fixed if fixed else self.key_bits // 8

    def describe(self):
        return {"encryption": CIPHERS[self.enc][0],
                "key_bits": self.key_len * 8, "hash": HASHES[self.hash][0],
                "dh_group": self.group, "auth": "psk",
                "life_type": "seconds" if self.life_type == LIFE_SECONDS
                else "kilobytes", "lifetime": self.life}


def all_suites():
    """Every combination the brief lists (RFC 2409 + RFC 3602 + SHA-256)."""
    out = []
    for enc, bits in ((ENC_DES, 64), (ENC_3DES, 192), (ENC_AES, 128),
                      (ENC_AES, 192), (ENC_AES, 256)):
        for h in (HASH_MD5, HASH_SHA1, HASH_SHA256):
            for g in GROUPS:
                out.append((enc, bits, h, g))
    return out


def suite_key_from_names(d):
    """Config form {"encryption": "aes-cbc", "key_bits": 128, "hash":
    "sha1", "dh_group": 14} -> the tuple all_suites() uses."""
    enc = CIPHER_BY_NAME[d["encryption"]]
    fixed = CIPHERS[enc][2]
    bits = fixed * 8 if fixed else int(d.get("key_bits", 128))
    return (enc, bits, HASH_BY_NAME[d["hash"]], int(d["dh_group"]))


def parse_transform(body, accepted):
    """A phase-1 transform body -> Suite, or a reason string why not."""
    if len(body) < 4:
        return "transform_too_short"
    _num, tid, r1, r2 = struct.unpack("!BBBB", body[:4])
    if tid != KEY_IKE:
        return f"transform_id_{tid}"
    try:
        attrs = I.parse_attrs(body[4:], "phase-1 transform")
    except I.ParseError as e:
        return e.reason
    vals = {}
    life_type = None
    life = None
    for a in attrs:
        if a.type == ATTR_LIFE_TYPE:
            life_type = a.int
            continue
        if a.type == ATTR_LIFE_DURATION:
            if life_type == LIFE_SECONDS or life_type is None:
                life = a.int
            continue
        if a.type in vals:
            return f"duplicate_attribute_{a.type}"
        vals[a.type] = a.int
    for t in vals:
        if t not in (ATTR_ENC, ATTR_HASH, ATTR_AUTH, ATTR_GROUP,
                     ATTR_KEY_LENGTH):
            return f"unsupported_attribute_{t}"
    enc = vals.get(ATTR_ENC)
    if enc not in CIPHERS:
        return f"unsupported_encryption_{enc}"
    fixed = CIPHERS[enc][2]
    if fixed:
        if ATTR_KEY_LENGTH in vals and vals[ATTR_KEY_LENGTH] != fixed * 8:
            return "key_length_for_fixed_cipher"
        bits = fixed * 8
    else:
        bits = vals.get(ATTR_KEY_LENGTH)
        if bits not in (128, 192, 256):
            return f"unsupported_key_length_{bits}"
    h = vals.get(ATTR_HASH)
    if h not in HASHES:
        return f"unsupported_hash_{h}"
    if vals.get(ATTR_AUTH) != AUTH_PSK:
        return f"unsupported_auth_{vals.get(ATTR_AUTH)}"
    g = vals.get(ATTR_GROUP)
    if g not in GROUPS:
        return f"unsupported_group_{g}"
    if (enc, bits, h, g) not in accepted:
        return "not_in_configured_list"
    return Suite(enc, bits, h, g, AUTH_PSK,
                 life_type if life_type else LIFE_SECONDS, life)


def choose_proposal(sa_body, accepted):
    """RFC 2408 4.2 / 2409 5: the responder picks one transform of one
    proposal. Returns (doi, situation, proposal header, transform raw body,
    suite, rejected reasons)."""
    if len(sa_body) < 8:
        raise IkeError("sa_too_short", I.N_PAYLOAD_MALFORMED)
    doi, = struct.unpack("!I", sa_body[:4])
    if doi not in (1, 2):
        raise IkeError("phase1_doi_not_supported", I.N_DOI_NOT_SUPPORTED,
                       f"DOI {doi}")
    situation = sa_body[4:8]
    try:
        props, _ = I.parse_chain(sa_body[8:], I.P_PROPOSAL,
                                 allowed={I.P_PROPOSAL})
    except I.ParseError as e:
        raise IkeError("bad_proposal_syntax", I.N_BAD_PROPOSAL_SYNTAX,
                       str(e)) from e
    reasons = []
    for p in props:
        if len(p.body) < 4:
            raise IkeError("bad_proposal_syntax", I.N_BAD_PROPOSAL_SYNTAX)
        pnum, proto, spi_size, ntrans = struct.unpack("!BBBB", p.body[:4])
        spi = p.body[4:4 + spi_size]
        if proto != I.PROTO_ISAKMP:
            reasons.append(f"proposal_{pnum}_protocol_{proto}")
            continue
        try:
            trans, _ = I.parse_chain(p.body[4 + spi_size:], I.P_TRANSFORM,
                                     allowed={I.P_TRANSFORM})
        except I.ParseError as e:
            raise IkeError("bad_proposal_syntax", I.N_BAD_PROPOSAL_SYNTAX,
                           str(e)) from e
        if len(trans) != ntrans:
            raise IkeError("bad_proposal_syntax", I.N_BAD_PROPOSAL_SYNTAX,
                           "transform count")
        for t in trans:
            s = parse_transform(t.body, accepted)
            if isinstance(s, Suite):
                return doi, situation, (pnum, proto, spi), t.body, s, reasons
            reasons.append(s)
    raise IkeError("no_proposal_chosen", I.N_NO_PROPOSAL_CHOSEN,
                   ",".join(reasons))


def sa_reply_body(doi, situation, prop, transform_body):
    pnum, proto, spi = prop
    _, tchain = I.build_chain([(I.P_TRANSFORM, transform_body)])
    pbody = struct.pack("!BBBB", pnum, proto, len(spi), 1) + spi + tchain
    _, pchain = I.build_chain([(I.P_PROPOSAL, pbody)])
    return struct.pack("!I", doi) + situation + pchain


# --- the phase-1 SA ------------------------------------------------------
class Phase1SA:
    """State of one Main Mode exchange and, once established, the ISAKMP
    SA that protects GDOI and informational exchanges."""

    def __init__(self, icookie, rcookie, peer, psk, accepted, local_id):
        self.icookie = icookie
        self.rcookie = rcookie
        self.peer = peer
        self.psk = psk
        self.accepted = accepted
        self.local_id = local_id            # IPv4 or IPv6 address bytes
        self.state = "new"
        self.doi = None
        self.suite = None
        self.sai_b = None
        self.dh = None
        self.gxi = self.gxr = self.gxy = None
        self.ni = self.nr = None
        self.skeyid = self.skeyid_d = self.skeyid_a = self.skeyid_e = None
        self.enc_key = None
        self.iv = None
        self.p1_last_block = None
        self.peer_id = None
        self.cache = {}          # digest of request -> reply (retransmits)
        self.exchanges = {}      # msgid -> per-exchange state (gdoi.py)
        self.created = None
        self.established_at = None

    # -- encryption under this SA (RFC 2409 appendix B) --
    def _keys(self):
        """SKEYID_* (RFC 2409 5) and the cipher key: SKEYID_e itself when
        long enough, else the appendix B expansion
        K1 = prf(SKEYID_e, 0), K2 = prf(SKEYID_e, K1), ..."""
        h = self.suite.hash
        self.skeyid = prf(h, self.psk, self.ni, self.nr)
        ck = self.icookie + self.rcookie
        self.skeyid_d = prf(h, self.skeyid, self.gxy, ck, b"\0")
        self.skeyid_a = prf(h, self.skeyid, self.skeyid_d, self.gxy, ck,
                            b"\1")
        self.skeyid_e = prf(h, self.skeyid, self.skeyid_a, self.gxy, ck,
                            b"\2")
        need = self.suite.key_len
        if len(self.skeyid_e) >= need:
            self.enc_key = self.skeyid_e[:need]
        else:
            ka = b""
            k = b"\0"
            while len(ka) < need:
                k = prf(h, self.skeyid_e, k)
                ka += k
            self.enc_key = ka[:need]
        # Phase-1 IV: hash(g^xi | g^xr) truncated to the block size.
        self.iv = hash_fn(h, self.gxi + self.gxr)[:self.suite.block]

    def phase2_iv(self, msgid):
        """IV of the first message of a new exchange under this SA:
        hash(last phase-1 CBC block | M-ID), RFC 2409 appendix B."""
        return hash_fn(self.suite.hash, self.p1_last_block +
                       struct.pack("!I", msgid))[:self.suite.block]

    def seal(self, hdr, first, chain, iv):
        """Encrypt a payload chain under this SA. Returns (datagram, last
        ciphertext block). Zero padding to the block size."""
        bs = self.suite.block
        pad = (-len(chain)) % bs
        ct = cbc_encrypt(self.suite.enc, self.enc_key, iv, chain + b"\0" * pad)
        hdr.next_payload = first
        hdr.flags |= I.FLAG_E
        return hdr.pack(I.HDR_LEN + len(ct)) + ct, ct[-bs:]

    def open(self, hdr, data, iv):
        """Decrypt a received message. Returns (plaintext, last ciphertext
        block)."""
        if not hdr.flags & I.FLAG_E:
            raise IkeError("not_encrypted", I.N_INVALID_FLAGS)
        ct = data[I.HDR_LEN:hdr.length]
        bs = self.suite.block
        if not ct or len(ct) % bs:
            raise IkeError("ciphertext_not_block_multiple",
                           I.N_PAYLOAD_MALFORMED, f"{len(ct)} octets")
        return cbc_decrypt(self.suite.enc, self.enc_key, iv, ct), ct[-bs:]

    def info_hash(self, msgid, chain_after_hash):
        """RFC 2409 5.7: HASH(1) = prf(SKEYID_a, M-ID | N/D)."""
        return prf(self.suite.hash, self.skeyid_a, struct.pack("!I", msgid),
                   chain_after_hash)

    def describe(self):
        d = {"peer": I.peer_name(self.peer),
             "icookie": self.icookie.hex(), "rcookie": self.rcookie.hex(),
             "state": self.state, "doi": self.doi}
        if self.suite:
            d.update(self.suite.describe())
        if self.enc_key:
            d.update({
                "skeyid_d": self.skeyid_d.hex(),
                "skeyid_a": self.skeyid_a.hex(),
                "skeyid_e": self.skeyid_e.hex(),
                "enc_key": self.enc_key.hex(),
                # tshark -o "uat:ikev1_decryption_table:<icookie>,<key>"
                "tshark_ikev1_decryption": f"{self.icookie.hex()},"
                                           f"{self.enc_key.hex()}",
            })
        if self.peer_id:
            d["peer_id"] = self.peer_id
        if self.established_at:
            d["established_at"] = self.established_at
        return d


class MainModeResponder:
    """RFC 2409 5 with pre-shared keys, responder side:

      HDR, SA                    -->
                                 <--  HDR, SA
      HDR, KE, Ni                -->
                                 <--  HDR, KE, Nr
      HDR*, IDii, HASH_I         -->
                                 <--  HDR*, IDir, HASH_R

    handle() returns (reply payload list or datagram, event dict). Hooks
    let the server malform a reply before it is sealed.
    """

    MM1 = {I.P_SA, I.P_VID}
    MM3 = {I.P_KE, I.P_NONCE, I.P_VID, I.P_NAT_D, I.P_CR}
    MM5 = {I.P_ID, I.P_HASH, I.P_NOTIFY, I.P_VID, I.P_CERT, I.P_CR}

    def __init__(self, sa, malform=None):
        self.sa = sa
        self.malform = malform or (lambda step, first, chain: (first, chain))

    def _plain(self, step, items):
        hdr = I.Header(self.sa.icookie, self.sa.rcookie, 0, I.EXCH_MAIN)
        first, chain = I.build_chain(items)
        first, chain = self.malform(step, first, chain)
        hdr.next_payload = first
        return hdr.pack(I.HDR_LEN + len(chain)) + chain

    def handle(self, hdr, data):
        sa = self.sa
        if sa.state == "new":
            return self._mm1(hdr, data)
        if sa.state == "sa_sent":
            return self._mm3(hdr, data)
        if sa.state == "ke_sent":
            return self._mm5(hdr, data)
        raise IkeError("unexpected_main_mode_message", None, sa.state)

    def _mm1(self, hdr, data):
        sa = self.sa
        if hdr.flags & I.FLAG_E:
            raise IkeError("mm1_encrypted", I.N_INVALID_FLAGS)
        pl, _ = I.parse_chain(data[I.HDR_LEN:hdr.length], hdr.next_payload,
                              allowed=self.MM1)
        sap = I.one(pl, I.P_SA, "in main mode message 1")
        doi, sit, prop, tbody, suite, rejected = choose_proposal(
            sap.body, sa.accepted)
        sa.doi = doi
        sa.suite = suite
        sa.sai_b = sap.body
        sa.state = "sa_sent"
        reply = self._plain("mm2", [(I.P_SA, sa_reply_body(doi, sit, prop,
                                                           tbody))])
        return reply, {"event": "mm_proposal_chosen", "doi": doi,
                       "rejected_before": rejected, **suite.describe()}

    def _mm3(self, hdr, data):
        sa = self.sa
        if hdr.flags & I.FLAG_E:
            raise IkeError("mm3_encrypted", I.N_INVALID_FLAGS)
        pl, _ = I.parse_chain(data[I.HDR_LEN:hdr.length], hdr.next_payload,
                              allowed=self.MM3)
        ke = I.one(pl, I.P_KE, "in main mode message 3")
        ni = I.one(pl, I.P_NONCE, "in main mode message 3")
        if not 8 <= len(ni.body) <= 256:
            raise IkeError("bad_nonce_length", I.N_PAYLOAD_MALFORMED)
        sa.dh = DH(sa.suite.group)
        sa.gxy = sa.dh.shared(ke.body)
        sa.gxi = ke.body
        sa.gxr = sa.dh.public
        sa.ni = ni.body
        sa.nr = os.urandom(32)
        sa._keys()
        sa.state = "ke_sent"
        reply = self._plain("mm4", [(I.P_KE, sa.gxr), (I.P_NONCE, sa.nr)])
        return reply, {"event": "mm_keys_derived"}

    def _mm5(self, hdr, data):
        sa = self.sa
        if not hdr.flags & I.FLAG_E:
            raise IkeError("mm5_not_encrypted", I.N_INVALID_FLAGS)
        plain, last = sa.open(hdr, data, sa.iv)
        try:
            pl, _ = I.parse_chain(plain, hdr.next_payload, allowed=self.MM5)
            idp = I.one(pl, I.P_ID, "in main mode message 5")
            hp = I.one(pl, I.P_HASH, "in main mode message 5")
        except I.ParseError as e:
            # With another pre-shared key the plaintext is noise.
            raise IkeError("auth_failed", I.N_AUTHENTICATION_FAILED,
                           f"message 5 does not parse ({e.reason}): "
                           "pre-shared key mismatch?") from e
        h = sa.suite.hash
        hash_i = prf(h, sa.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie,
                     sa.sai_b, idp.body)
        if not hmac.compare_digest(hash_i, hp.body):
            raise IkeError("auth_failed", I.N_AUTHENTICATION_FAILED,
                           "HASH_I does not verify: pre-shared key mismatch")
        id_type, _, _, id_data = I.parse_id(idp.body)
        if (id_type, len(id_data)) in ((I.ID_IPV4_ADDR, 4), (I.ID_IPV6_ADDR, 16)):
            sa.peer_id = str(ipaddress.ip_address(id_data))
        else:
            sa.peer_id = f"{I.ID_NAMES.get(id_type, id_type)}:{id_data.hex()}"
        idir = I.id_body(I.addr_id_type(sa.local_id), sa.local_id)
        hash_r = prf(h, sa.skeyid, sa.gxr, sa.gxi, sa.rcookie, sa.icookie,
                     sa.sai_b, idir)
        first, chain = I.build_chain([(I.P_ID, idir), (I.P_HASH, hash_r)])
        first, chain = self.malform("mm6", first, chain)
        reply, sa.p1_last_block = sa.seal(
            I.Header(sa.icookie, sa.rcookie, 0, I.EXCH_MAIN), first, chain,
            last)
        sa.state = "established"
        return reply, {"event": "phase1_established", "peer_id": sa.peer_id}


def clear_notify(icookie, rcookie, doi, ntype, data=b""):
    """An unprotected informational exchange carrying one notification
    (before phase 1 completes there is no key to protect it with)."""
    first, chain = I.build_chain([(I.P_NOTIFY, I.notify_body(doi or 1, ntype,
                                                             data=data))])
    hdr = I.Header(icookie, rcookie, first, I.EXCH_INFO, 0, I.random_msgid())
    return hdr.pack(I.HDR_LEN + len(chain)) + chain


def protected_notify(sa, ntype, doi=None, data=b""):
    """RFC 2409 5.7: HDR*, HASH(1), N with HASH(1) = prf(SKEYID_a, M-ID | N)."""
    msgid = I.random_msgid()
    n = I.generic(I.P_NONE, I.notify_body(doi or sa.doi or 1, ntype,
                                          data=data))
    h = sa.info_hash(msgid, n)
    chain = I.generic(I.P_NOTIFY, h) + n
    hdr = I.Header(sa.icookie, sa.rcookie, 0, I.EXCH_INFO, 0, msgid)
    out, _ = sa.seal(hdr, I.P_HASH, chain, sa.phase2_iv(msgid))
    return out
