# SPDX-License-Identifier: BSD-3-Clause
"""GDOI (RFC 6407) for the test key server: the group policy model (KEK,
TEKs, GAP, deny policies), the GDOI payloads (SA, SA KEK, SA TEK, GAP, KD,
SEQ) and the GROUPKEY-PULL responder.

The payload builders are shared with the GROUPKEY-PUSH sender (push.py): a
push carries the same SA / KD / SEQ payloads, encrypted with the KEK and
signed with the key whose public half goes out in the KEK key packet.
"""
import hashlib
import hmac
import ipaddress
import os
import struct
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import ike
import isakmp as I

DOI_GDOI = 2                       # RFC 6407 5.2
SIT_NONE = 0

# SA TEK Protocol-ID, RFC 6407 5.4
TEK_PROTO_ESP = 1
TEK_PROTO_AH = 2

# SA KEK attributes, RFC 6407 5.3.1-5.3.7
KEK_MANAGEMENT_ALGORITHM = 1
KEK_ALGORITHM = 2
KEK_KEY_LENGTH = 3
KEK_KEY_LIFETIME = 4
SIG_HASH_ALGORITHM = 5
SIG_ALGORITHM = 6
SIG_KEY_LENGTH = 7
# RFC 8263 2: KEK_ACK_REQUESTED (Basic). Some older key servers sent it
# under a private-use number (129), hence the configurable type.
KEK_ACK_REQUESTED = 9
# KEK_ACK_REQUESTED values (RFC 8263 2.1, 2.3): name -> (value, prf hash,
# L = bits of the ack_key as the RFC defines it)
ACK_TYPES = {"sha256": (1, hashlib.sha256, 512),
             "sha512": (3, hashlib.sha512, 1024)}
# name -> (KEK_ALGORITHM value, fixed key octets or None, CBC block size)
KEK_ALG = {"des-cbc": (1, 8, 8), "3des-cbc": (2, 24, 8),
           "aes-cbc": (3, None, 16)}
SIG_HASH = {"md5": 1, "sha1": 2, "sha256": 3, "sha384": 4, "sha512": 5}
SIG_ALG_RSA = 1

# GAP attributes, RFC 6407 5.6
GAP_ACTIVATION_TIME_DELAY = 1
GAP_DEACTIVATION_TIME_DELAY = 2
GAP_SENDER_ID_REQUEST = 3
# RFC 6407 has no attribute for the delay-detection window; the group's
# window goes out in a GAP attribute from the private-use range
# (16384-32767), type configurable per group.
GAP_REPLAY_WINDOW_DEFAULT = 16384

# KD key packet types, RFC 6407 5.5
KD_TEK = 1
KD_KEK = 2
KD_SID = 4
# SID key packet attributes, RFC 6407 5.6.3 (Sender-IDs, RFC 6054)
SID_NUMBER_OF_BITS = 1
SID_VALUE = 2
# ESP transforms whose IVs are counters: a sender needs a Sender-ID
COUNTER_MODE = {"aes-gcm", "aes-gmac"}
# TEK key packet attributes, RFC 6407 5.5.1
TEK_ALGORITHM_KEY = 1
TEK_INTEGRITY_KEY = 2
TEK_SOURCE_AUTH_KEY = 3
# KEK key packet attributes, RFC 6407 5.5.2
KEK_ALGORITHM_KEY = 1
SIG_KEY = 2

# IPsec DOI SA attributes (RFC 2407 4.5; 14 and 15 from RFC 6407 5.4.1)
IPSEC_LIFE_TYPE = 1
IPSEC_LIFE_DURATION = 2
IPSEC_ENCAPSULATION_MODE = 4
IPSEC_AUTH_ALGORITHM = 5
IPSEC_KEY_LENGTH = 6
IPSEC_ADDRESS_PRESERVATION = 14
IPSEC_SA_DIRECTION = 15
ENCAP_TUNNEL = 1
ADDR_PRESERVATION = {"none": 1, "src": 2, "dst": 3, "both": 4}
SA_DIRECTION = {"sender": 1, "receiver": 2, "symmetric": 3}

# ESP transform IDs (RFC 2407 4.4.4, RFC 3602, RFC 4106, RFC 4543; IANA
# "IPsec DOI transform identifiers"):
# name -> (transform id, key octets per key_bits or fixed, salt octets)
ESP_CIPHERS = {
    "des-cbc": (2, 8, 0),
    "3des-cbc": (3, 24, 0),
    "aes-cbc": (12, None, 0),
    "aes-gcm": (20, None, 4),     # ESP_AES-GCM with a 16-octet ICV
    "aes-gmac": (23, None, 4),    # ESP_NULL_AUTH_AES_GMAC: integrity only
}
# Ciphers that carry their own ICV and take no authentication algorithm
COMBINED = ("aes-gcm", "aes-gmac")
# IPsec DOI authentication algorithms (RFC 2407 4.5, RFC 4868 2.4; IANA
# "IPsec authentication algorithm"): name -> (attribute value, key octets)
ESP_AUTH = {
    "hmac-md5-96": (1, 16),
    "hmac-sha1-96": (2, 20),
    "hmac-sha256-128": (5, 32),
    "hmac-sha384-192": (6, 48),
    "hmac-sha512-256": (7, 64),
}


class PolicyError(Exception):
    pass


def _prefix(text):
    """An IPv4 or IPv6 prefix ("10.1.0.0/16", "2001:db8:1::/48")."""
    return ipaddress.ip_network(text, strict=False)


def selector_id(net, form="auto"):
    """(ID type, data) of one traffic selector (RFC 2407 4.6.2): an address
    (a host prefix, form "auto"), a subnet (address and mask), or with form
    "range" the first and the last address of the prefix (ID_IPV4_ADDR_RANGE
    / ID_IPV6_ADDR_RANGE); IPv6 with the IPv6 types (5, 6, 8)."""
    v6 = net.version == 6
    if form == "range":
        return (I.ID_IPV6_ADDR_RANGE if v6 else I.ID_IPV4_ADDR_RANGE,
                net.network_address.packed + net.broadcast_address.packed)
    if net.prefixlen == net.max_prefixlen and form == "auto":
        return (I.ID_IPV6_ADDR if v6 else I.ID_IPV4_ADDR), net.network_address.packed
    return (I.ID_IPV6_ADDR_SUBNET if v6 else I.ID_IPV4_ADDR_SUBNET,
            net.network_address.packed + net.netmask.packed)


def id_block(id_type, port, data):
    """RFC 6407 5.3 / 5.4.1: ID Type (1), ID Port (2), ID Data Len (1),
    Identification Data."""
    return struct.pack("!BHB", id_type, port, len(data)) + data


class Tek:
    """One TEK generation: policy from the config plus its SPI and keys."""

    def __init__(self, conf, spi, generation, keys=None):
        self.conf = conf
        self.cipher = conf.get("cipher", "aes-cbc")
        if self.cipher not in ESP_CIPHERS:
            raise PolicyError(f"TEK cipher {self.cipher!r}")
        tid, fixed, salt = ESP_CIPHERS[self.cipher]
        self.transform = tid
        if fixed:
            self.key_bits = fixed * 8
        else:
            self.key_bits = int(conf.get("key_bits", 128))
            if self.key_bits not in (128, 192, 256):
                raise PolicyError(f"TEK key_bits {self.key_bits}")
        self.salt_len = salt
        self.auth = conf.get("auth")
        if self.cipher in COMBINED:
            if self.auth:
                raise PolicyError(f"{self.cipher} takes no auth algorithm")
        else:
            if self.auth is None:
                self.auth = "hmac-sha1-96"
            if self.auth not in ESP_AUTH:
                raise PolicyError(f"TEK auth {self.auth!r}")
        self.spi = spi
        self.generation = generation
        self.src = _prefix(conf.get("src", "0.0.0.0/0"))
        self.dst = _prefix(conf.get("dst", "0.0.0.0/0"))
        self.protocol = int(conf.get("protocol", 0))
        self.src_port = int(conf.get("src_port", 0))
        self.dst_port = int(conf.get("dst_port", 0))
        self.lifetime = int(conf.get("lifetime", 3600))
        self.mirror = bool(conf.get("mirror", False))
        self.id_form = conf.get("id_form", "auto")
        self.addr_pres = conf.get("address_preservation", "both")
        self.direction = conf.get("direction", "symmetric")
        self.created = time.time()
        enc_len = self.key_bits // 8 + self.salt_len
        int_len = ESP_AUTH[self.auth][1] if self.auth else 0
        keys = keys or {}
        self.enc_key = (bytes.fromhex(keys["encryption"])
                        if keys.get("encryption") else os.urandom(enc_len))
        self.int_key = (bytes.fromhex(keys["integrity"])
                        if keys.get("integrity") else os.urandom(int_len))
        if len(self.enc_key) != enc_len:
            raise PolicyError(f"TEK {spi:#x}: encryption key must be "
                              f"{enc_len} octets")
        if len(self.int_key) != int_len:
            raise PolicyError(f"TEK {spi:#x}: integrity key must be "
                              f"{int_len} octets")

    def remaining(self, now=None):
        now = time.time() if now is None else now
        return max(0, int(self.lifetime - (now - self.created)))

    def attributes(self, now=None):
        """IPsec DOI attributes of the SA TEK (RFC 6407 5.4.1)."""
        a = [I.attr_tv(IPSEC_LIFE_TYPE, 1),                       # seconds
             I.attr_tlv_int(IPSEC_LIFE_DURATION,
                            max(1, self.remaining(now))),
             I.attr_tv(IPSEC_ENCAPSULATION_MODE, ENCAP_TUNNEL)]
        if self.auth:
            a.append(I.attr_tv(IPSEC_AUTH_ALGORITHM, ESP_AUTH[self.auth][0]))
        if self.cipher in ("aes-cbc",) + COMBINED:
            a.append(I.attr_tv(IPSEC_KEY_LENGTH, self.key_bits))
        if self.addr_pres:
            a.append(I.attr_tv(IPSEC_ADDRESS_PRESERVATION,
                               ADDR_PRESERVATION[self.addr_pres]))
        if self.direction:
            a.append(I.attr_tv(IPSEC_SA_DIRECTION,
                               SA_DIRECTION[self.direction]))
        return b"".join(a)

    def sat_bodies(self, now=None):
        """One SA TEK body, two when mirrored (same SPI, reversed
        selectors)."""
        out = [sat_esp_body(self.protocol, self.src, self.src_port, self.dst,
                            self.dst_port, self.transform, self.spi,
                            self.attributes(now), self.id_form)]
        if self.mirror:
            out.append(sat_esp_body(self.protocol, self.dst, self.dst_port,
                                    self.src, self.src_port, self.transform,
                                    self.spi, self.attributes(now),
                                    self.id_form))
        return out

    def key_packet(self):
        """KD TEK key packet attributes (RFC 6407 5.5.1). For AES-GCM and
        AES-GMAC the algorithm key is the key followed by the 4-octet salt
        (RFC 4106 8.1, RFC 4543)."""
        attrs = I.attr_tlv(TEK_ALGORITHM_KEY, self.enc_key)
        if self.auth:
            attrs += I.attr_tlv(TEK_INTEGRITY_KEY, self.int_key)
        return key_packet(KD_TEK, struct.pack("!I", self.spi), attrs)

    def describe(self, now=None):
        d = {"spi": self.spi, "spi_hex": f"0x{self.spi:08x}",
             "generation": self.generation, "cipher": self.cipher,
             "transform_id": self.transform, "key_bits": self.key_bits,
             "auth": self.auth, "src": str(self.src), "dst": str(self.dst),
             "protocol": self.protocol, "src_port": self.src_port,
             "dst_port": self.dst_port, "lifetime": self.lifetime,
             "remaining": self.remaining(now), "mirror": self.mirror,
             "created": self.created}
        if self.salt_len:
            d["enc_key"] = self.enc_key[:-self.salt_len].hex()
            d["salt"] = self.enc_key[-self.salt_len:].hex()
            d["enc_key_with_salt"] = self.enc_key.hex()
        else:
            d["enc_key"] = self.enc_key.hex()
        d["auth_key"] = self.int_key.hex()
        return d


def sat_esp_body(protocol, src, sport, dst, dport, transform, spi, attrs,
                 id_form="auto"):
    """RFC 6407 5.4 + 5.4.1: Protocol-ID, then the ESP protocol-specific
    payload (Protocol, SRC ID, DST ID, Transform ID, SPI, attributes)."""
    st, sd = selector_id(src, id_form)
    dt, dd = selector_id(dst, id_form)
    return (struct.pack("!BB", TEK_PROTO_ESP, protocol)
            + id_block(st, sport, sd) + id_block(dt, dport, dd)
            + struct.pack("!BI", transform, spi) + attrs)


class Kek:
    """The group's rekey SA: policy, SPI (the push header cookies), the
    KEK itself and the RSA key that will sign pushes."""

    def __init__(self, conf, local_addr, rsa_key=None):
        self.conf = conf
        self.local_addr = local_addr
        self.algorithm = conf.get("algorithm", "aes-cbc")
        if self.algorithm not in KEK_ALG:
            raise PolicyError(f"KEK algorithm {self.algorithm!r}")
        alg_id, fixed, self.block = KEK_ALG[self.algorithm]
        self.alg_id = alg_id
        self.enc_id = ike.CIPHER_BY_NAME[self.algorithm]
        self.key_bits = fixed * 8 if fixed else int(conf.get("key_bits", 128))
        if not fixed and self.key_bits not in (128, 192, 256):
            raise PolicyError(f"KEK key_bits {self.key_bits}")
        spi = conf.get("spi")
        self.spi = bytes.fromhex(spi) if spi else os.urandom(16)
        if len(self.spi) != 16:
            raise PolicyError("KEK spi must be 16 octets (two cookies)")
        self.lifetime = int(conf.get("lifetime", 86400))
        key = conf.get("key")
        self.key = bytes.fromhex(key) if key else os.urandom(self.key_bits // 8)
        if len(self.key) != self.key_bits // 8:
            raise PolicyError("KEK key length")
        # RFC 6407 5.6.2.1: CBC needs an IV, which goes out explicitly in
        # front of the key in KEK_ALGORITHM_KEY; every push under this KEK
        # is encrypted with it.
        iv = conf.get("iv")
        self.iv = bytes.fromhex(iv) if iv else os.urandom(self.block)
        if len(self.iv) != self.block:
            raise PolicyError(f"KEK iv must be {self.block} octets")
        self.sig_hash = conf.get("sig_hash", "sha256")
        if self.sig_hash not in SIG_HASH or self.sig_hash == "md5":
            raise PolicyError(f"KEK sig_hash {self.sig_hash!r}")
        self.ack = conf.get("ack")
        if self.ack is not None and self.ack not in ACK_TYPES:
            raise PolicyError(f"KEK ack {self.ack!r}: sha256 or sha512")
        self.ack_attr = int(conf.get("ack_attr", KEK_ACK_REQUESTED))
        if not 0 < self.ack_attr < 0x8000:
            raise PolicyError(f"KEK ack_attr {self.ack_attr}")
        self.rsa_bits = int(conf.get("rsa_bits", 2048))
        pem = conf.get("rsa_key_pem")
        if rsa_key is not None:
            self.rsa = rsa_key
        elif pem:
            self.rsa = serialization.load_pem_private_key(pem.encode(), None)
        else:
            self.rsa = rsa.generate_private_key(65537, self.rsa_bits)
        self.rsa_bits = self.rsa.key_size
        self.src = ipaddress.ip_address(conf.get("src", local_addr))
        self.src_port = int(conf.get("src_port", 848))
        # where pushes go: no one address of the key server's family by default
        self.dst = ipaddress.ip_address(
            conf.get("dst", "::" if self.src.version == 6 else "0.0.0.0"))
        self.dst_port = int(conf.get("dst_port", 848))
        self.habits = "rfc"     # the group's (Group sets it)
        self.created = time.time()
        self.retired = None     # why it stopped being the group's KEK
        self.retired_at = None

    def successor(self, overrides=None, keep_rsa=False):
        """A new KEK with this one's policy (plus `overrides`): new
        cookies, key and IV; a new RSA key unless keep_rsa."""
        conf = {k: v for k, v in self.conf.items()
                if k not in ("spi", "key", "iv", "rsa_key_pem")}
        conf.update(overrides or {})
        k = Kek(conf, self.local_addr,
                self.rsa if keep_rsa and "rsa_key_pem" not in conf
                else None)
        k.habits = self.habits
        return k

    def remaining(self, now=None):
        now = time.time() if now is None else now
        return max(1, int(self.lifetime - (now - self.created)))

    @property
    def public_der(self):
        """SubjectPublicKeyInfo DER of the signing key."""
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)

    def sak_body(self, now=None):
        """RFC 6407 5.3: Protocol, SRC ID, DST ID, SPI (16), RESERVED2 (4),
        KEK attributes."""
        attrs = I.attr_tv(KEK_ALGORITHM, self.alg_id)
        if self.algorithm == "aes-cbc":
            attrs += I.attr_tv(KEK_KEY_LENGTH, self.key_bits)
        attrs += I.attr_tlv_int(KEK_KEY_LIFETIME, self.remaining(now))
        attrs += I.attr_tv(SIG_HASH_ALGORITHM, SIG_HASH[self.sig_hash])
        attrs += I.attr_tv(SIG_ALGORITHM, SIG_ALG_RSA)
        attrs += I.attr_tv(SIG_KEY_LENGTH, self.rsa_bits)
        if self.ack:
            attrs += I.attr_tv(self.ack_attr, ACK_TYPES[self.ack][0])
        return (struct.pack("!B", 17)                          # UDP
                + id_block(I.addr_id_type(self.src.packed), self.src_port,
                           self.src.packed)
                + id_block(I.addr_id_type(self.dst.packed), self.dst_port,
                           self.dst.packed)
                + self.spi
                + (b"\0" * 6 if self.habits == "reference" else b"\0" * 4)
                + attrs)

    def key_packet(self, spi=None):
        """KEK key packet (RFC 6407 5.6.2): KEK_ALGORITHM_KEY = explicit IV
        followed by the key (5.6.2.1), SIG_ALGORITHM_KEY = the public key
        as DER SubjectPublicKeyInfo. Under `spi` if given (the reference
        key server names a new KEK's packet with the old KEK's SPI)."""
        attrs = (I.attr_tlv(KEK_ALGORITHM_KEY, self.iv + self.key)
                 + I.attr_tlv(SIG_KEY, self.public_der))
        return key_packet(KD_KEK, spi or self.spi, attrs)

    def describe(self, now=None):
        d = {"spi": self.spi.hex(), "icookie": self.spi[:8].hex(),
             "rcookie": self.spi[8:].hex(), "algorithm": self.algorithm,
             "key_bits": self.key_bits, "key": self.key.hex(),
             "iv": self.iv.hex(), "block": self.block,
             "lifetime": self.lifetime, "remaining": self.remaining(now),
             "created": self.created,
             "sig_hash": self.sig_hash, "sig_algorithm": "rsa",
             "sig_key_bits": self.rsa_bits,
             "sig_public_key_der": self.public_der.hex(),
             "ack": self.ack, "ack_attr": self.ack_attr if self.ack else None}
        if self.retired:
            d["retired"] = self.retired
            d["retired_at"] = self.retired_at
        return d


def key_packet(kd_type, spi, attrs):
    """RFC 6407 5.5: KD Type (1), RESERVED (1), KD Length (2, the whole key
    packet), SPI Size (1), SPI, Key Packet Attributes."""
    body = struct.pack("!B", len(spi)) + spi + attrs
    return struct.pack("!BBH", kd_type, 0, 4 + len(body)) + body


def kd_body(packets):
    """RFC 6407 5.5: Number of Key Packets (2), RESERVED2 (2), packets."""
    return struct.pack("!HH", len(packets), 0) + b"".join(packets)


def seq_body(seq):
    """RFC 6407 5.7: Sequence Number (4)."""
    return struct.pack("!I", seq)


def gap_body(atd, dtd, window, window_attr):
    a = b""
    if atd:
        a += I.attr_tv(GAP_ACTIVATION_TIME_DELAY, atd)
    if dtd:
        a += I.attr_tv(GAP_DEACTIVATION_TIME_DELAY, dtd)
    if window:
        a += I.attr_tv(window_attr, window)
    return a


def policy_payloads(kek, gap, teks, now, extra_sats=(), kek_packet_spi=None):
    """The SA attribute payloads [(type, body)] - SA KEK, GAP, SA TEKs in
    that order [RFC 6407 5.2] - and the KD key packets (KEK first) that a
    pull and a push alike carry for `kek` (or None), `gap` (a GAP body, or
    empty) and `teks`; `extra_sats` are SA TEK bodies with no key packet
    (deny policies)."""
    attrs, packets = [], []
    if kek:
        attrs.append((I.P_SAK, kek.sak_body(now)))
        packets.append(kek.key_packet(kek_packet_spi))
    if gap:
        attrs.append((I.P_GAP, gap))
    for t in teks:
        attrs.extend((I.P_SAT, b) for b in t.sat_bodies(now))
        packets.append(t.key_packet())
    attrs.extend((I.P_SAT, b) for b in extra_sats)
    return attrs, packets


def sa_payload(attribute_payloads):
    """RFC 6407 5.2: the SA payload and the SA attribute payloads that
    follow it, which its Payload Length covers.

      Next Payload (1) | RESERVED (1) | Payload Length (2)
      DOI (4) = 2
      Situation (4) = 0
      SA Attribute Next Payload (2) | RESERVED2 (2)

    attribute_payloads: [(type, body)] in order (SAK, GAP, SATs). Returns
    the SA body (everything after the generic header)."""
    first, chain = I.build_chain(attribute_payloads)
    return struct.pack("!IIHH", DOI_GDOI, SIT_NONE, first, 0) + chain


class Group:
    """One group: its ID forms, KEK, TEK generations, GAP and deny list."""

    def __init__(self, conf, local_addr):
        self.conf = conf
        self.id = int(conf["id"])
        self.name = conf.get("name")
        self.address = conf.get("address")
        # "reference": the wire habits of the GDOI reference key server
        # (gdoid), from its source: 6 octets after the SA KEK's SPI, the
        # group ID read in host order (little endian), pushes signed over
        # the bare digest with the unpadded length in the header, and a
        # KEK rekey's key packet under the old KEK's SPI.
        self.habits = conf.get("habits", "rfc")
        if self.habits not in ("rfc", "reference"):
            raise PolicyError(f"group habits {self.habits!r}: rfc or reference")
        self.kek = Kek(conf["kek"], local_addr) if conf.get("kek") else None
        if self.kek:
            self.kek.habits = self.habits
        self.atd = int(conf.get("atd", 0))
        self.dtd = int(conf.get("dtd", 0))
        self.replay_window = int(conf.get("replay_window", 0))
        self.replay_window_attr = int(conf.get("replay_window_attr",
                                               GAP_REPLAY_WINDOW_DEFAULT))
        self.seq = int(conf.get("seq", 0))
        # Sender-IDs (RFC 6054): with sid_bits, a pull whose policy has a
        # counter-mode TEK gets a SID key packet: as many SIDs as message
        # 3's GAP asks for (SENDER_ID_REQUEST), one when it does not ask,
        # each new, counting from sid_first.
        self.sid_bits = int(conf.get("sid_bits", 0))
        if not 0 <= self.sid_bits <= 32:
            raise PolicyError(f"group {self.id}: sid_bits {self.sid_bits}: 0 to 32")
        self.sid_next = int(conf.get("sid_first", 1))
        self.sids = []              # [{"peer", "sids", "requested"}]
        self.deny = [d for d in conf.get("deny", [])]
        self.rollover = bool(conf.get("rollover", True))
        # seconds before a TEK expires when its successor is created and handed
        # out beside it (0: only once it has expired)
        self.rollover_before = int(conf.get("rollover_before", 0))
        self.successor = {}     # index -> next generation, while both live
        self.teks = []          # current generation of each configured TEK
        self.history = []       # every TEK generation ever handed out
        for i, tc in enumerate(conf.get("teks", [])):
            spi = _spi(tc.get("spi", 0x1000 + i))
            t = Tek(tc, spi, 0, tc.get("keys"))
            self.teks.append(t)
            self.history.append(t)
        self.pulls = 0
        self.members = {}       # "addr:port" -> last pull (GROUPKEY-PUSH)
        if not self.teks and not self.kek:
            raise PolicyError(f"group {self.id}: neither KEK nor TEK")
        # GROUPKEY-PUSH (push.py)
        self.kek_history = [self.kek] if self.kek else []
        self.deleted_kek = None     # the KEK a push deleted, until a pull
        self.deleted_teks = []      # TEKs a push deleted, until a pull
        self.removed = set()        # "addr" or "addr:port" no longer served
        self.pushes_sent = 0        # datagrams
        self.push_seqs = {}         # (KEK spi hex, member address) -> {SEQ}
        self.acks = []              # [{"peer", "seq", "kek_spi", "ts"}]
        self.ack_digests = set()    # valid ACK datagrams seen (duplicates)

    def free_spi(self, spi):
        """`spi` or the first SPI above it that no TEK generation of this
        group has used (never 0)."""
        used = {t.spi for t in self.history} | {t.spi for t in self.teks}
        spi &= 0xFFFFFFFF
        while spi == 0 or spi in used:
            spi = (spi + 1) & 0xFFFFFFFF
        return spi

    def next_generation(self, t):
        """A TEK's next generation: same policy, the next free SPI (SPI + 1
        unless taken), new random keys."""
        n = Tek(t.conf, self.free_spi(t.spi + 1), t.generation + 1)
        self.history.append(n)
        return n

    def refill(self):
        """After a push deleted every TEK (or the KEK), the next pull
        creates new ones so that members can register again."""
        if not self.teks and self.deleted_teks:
            self.teks = [self.next_generation(t) for t in self.deleted_teks]
            self.deleted_teks = []
        if self.kek is None and self.deleted_kek is not None:
            self.kek = self.deleted_kek.successor()
            self.kek_history.append(self.kek)
            self.deleted_kek = None
            self.seq = 0

    def current_teks(self, now=None):
        """The TEKs to hand out now. With rollover on, a TEK's next generation
        (SPI + 1, new keys) is created `rollover_before` seconds before it
        expires and handed out beside it; the old one goes once expired."""
        now = time.time() if now is None else now
        out = []
        for i, t in enumerate(self.teks):
            if self.rollover and t.remaining(now) <= self.rollover_before:
                n = self.successor.get(i)
                if n is None:
                    n = self.next_generation(t)
                    self.successor[i] = n
                if t.remaining(now) > 0:
                    out += [t, n]       # both live until the old one expires
                    continue
                self.teks[i] = n        # expired: the successor takes its place
                del self.successor[i]
                t = n
            out.append(t)
        return out

    def deny_bodies(self):
        """Deny policies as SA TEK payloads: same ESP layout with Transform
        ID 0 and SPI 0 (no SA, no key packet)."""
        out = []
        for d in self.deny:
            out.append(sat_esp_body(int(d.get("protocol", 0)),
                                    _prefix(d.get("src", "0.0.0.0/0")),
                                    int(d.get("src_port", 0)),
                                    _prefix(d.get("dst", "0.0.0.0/0")),
                                    int(d.get("dst_port", 0)), 0, 0, b"",
                                    d.get("id_form", "auto")))
        return out

    def sid_value(self, sid):
        """A SID_VALUE: 4 octets, big endian (RFC 6407 5), or in host order
        (little endian) as the reference key server writes it."""
        return sid.to_bytes(4, "little" if self.habits == "reference"
                            else "big")

    def sid_packet(self, requested, teks, peer):
        """The SID key packet of a pull (KD type 4, SPI size 0), or None
        when the group gives no Sender-IDs or has no counter-mode TEK."""
        if not self.sid_bits or not any(t.cipher in COUNTER_MODE
                                        for t in teks):
            return None
        n = max(1, requested)
        if self.sid_next + n > 1 << self.sid_bits:
            raise PolicyError(f"group {self.id}: Sender-IDs used up")
        sids = list(range(self.sid_next, self.sid_next + n))
        self.sid_next += n
        self.sids.append({"peer": peer, "sids": sids,
                          "requested": requested})
        attrs = I.attr_tv(SID_NUMBER_OF_BITS, self.sid_bits) + b"".join(
            I.attr_tlv(SID_VALUE, self.sid_value(s)) for s in sids)
        return key_packet(KD_SID, b"", attrs)

    def policy(self, now=None):
        """A snapshot for one pull: SA attribute payloads and key packets."""
        now = time.time() if now is None else now
        self.refill()
        teks = self.current_teks(now)
        attrs, packets = policy_payloads(
            self.kek, gap_body(self.atd, self.dtd, self.replay_window,
                               self.replay_window_attr),
            teks, now, self.deny_bodies())
        return {"sa": sa_payload(attrs), "packets": packets, "teks": teks,
                "seq": self.seq if self.kek else None}

    def describe(self, now=None):
        d = {"id": self.id, "name": self.name, "address": self.address,
             "pulls_served": self.pulls, "atd": self.atd, "dtd": self.dtd,
             "replay_window": self.replay_window, "seq": self.seq,
             "teks": [t.describe(now) for t in self.teks],
             "tek_history": [t.describe(now) for t in self.history],
             "deny": self.deny, "members": self.members,
             "pushes_sent": self.pushes_sent,
             "kek_history": [k.describe(now) for k in self.kek_history],
             "removed_members": sorted(self.removed),
             "sid_bits": self.sid_bits, "sids": self.sids[-500:],
             "acks": self.acks[-500:]}
        if self.kek:
            d["kek"] = self.kek.describe(now)
        return d


def _spi(v):
    if isinstance(v, str):
        return int(v, 16) if v.lower().startswith("0x") else int(v)
    return int(v)


def group_from_id(groups, id_body):
    """Map the pull's Identification payload to a group (RFC 6407 5.1).

    Accepted forms (each logged by name):
      ID_KEY_ID, 4 octets: the group number, big endian ("key_id_u32");
      ID_KEY_ID, other lengths: octets compared with a group's "key_id"
        (hex) or its number as the shortest big-endian octet string;
      ID_IPV4_ADDR / ID_IPV6_ADDR: a group's "address";
      ID_FQDN / ID_USER_FQDN: a group's "name".
    Returns (group or None, form, detail)."""
    id_type, proto, port, data = I.parse_id(id_body)
    tname = I.ID_NAMES.get(id_type, f"ID_{id_type}")
    extra = {"protocol": proto, "port": port, "data": data.hex()}
    if id_type == I.ID_KEY_ID:
        if len(data) == 4:
            num = int.from_bytes(data, "big")
            for g in groups:
                if g.habits == "reference":
                    # read in host order, as the reference key server does
                    if g.id == int.from_bytes(data, "little"):
                        return g, "ID_KEY_ID/u32-host", {**extra, "group": g.id}
                elif g.id == num:
                    return g, "ID_KEY_ID/u32", {**extra, "group": num}
            le = int.from_bytes(data, "little")
            hint = [g.id for g in groups if g.id == le]
            return None, "ID_KEY_ID/u32", {
                **extra, "group": num,
                **({"little_endian_would_match": hint[0]} if hint else {})}
        for g in groups:
            kid = g.conf.get("key_id")
            if kid and bytes.fromhex(kid) == data:
                return g, "ID_KEY_ID/octets", extra
            n = g.id
            if n and n.to_bytes((n.bit_length() + 7) // 8, "big") == data:
                return g, "ID_KEY_ID/short", extra
        return None, "ID_KEY_ID/octets", extra
    if (id_type, len(data)) in ((I.ID_IPV4_ADDR, 4), (I.ID_IPV6_ADDR, 16)):
        a = str(ipaddress.ip_address(data))
        for g in groups:
            if g.address and I.host_of(g.address) == a:
                return g, tname, {**extra, "address": a}
        return None, tname, {**extra, "address": a}
    if id_type in (I.ID_FQDN, I.ID_USER_FQDN):
        name = data.decode("utf-8", "replace")
        for g in groups:
            if g.name and g.name == name:
                return g, tname, {**extra, "name": name}
        return None, tname, {**extra, "name": name}
    return None, tname, extra


class PullState:
    """One GROUPKEY-PULL exchange (one message ID) under a phase-1 SA."""

    def __init__(self, msgid, iv):
        self.msgid = msgid
        self.iv = iv
        self.state = "new"
        self.ni = None
        self.nr = None
        self.group = None
        self.policy = None
        self.id_form = None


def covered(plain, payloads, hash_payload):
    """The bytes a GDOI HASH covers: every payload after the HASH payload,
    generic headers included, up to the end of the chain (padding
    excluded)."""
    start = hash_payload.offset + len(hash_payload.raw)
    end = payloads[-1].offset + len(payloads[-1].raw)
    return plain[start:end], plain[start:]


class PullError(ike.IkeError):
    pass


class PullResponder:
    """RFC 6407 3.2, responder (GCKS) side:

      HDR*, HASH(1), Ni, ID         -->
                                    <--  HDR*, HASH(2), Nr, SA
      HDR*, HASH(3) [, GAP]         -->
                                    <--  HDR*, HASH(4), [SEQ,] KD

      HASH(1) = prf(SKEYID_a, M-ID | Ni | ID)
      HASH(2) = prf(SKEYID_a, M-ID | Ni_b | Nr | SA)
      HASH(3) = prf(SKEYID_a, M-ID | Ni_b | Nr_b [ | GAP ])
      HASH(4) = prf(SKEYID_a, M-ID | Ni_b | Nr_b [ | SEQ ] | KD)

    Ni, ID, Nr, SA, GAP, SEQ, KD are whole payloads (generic header
    included, the SA with its attribute payloads); Ni_b and Nr_b are nonce
    bodies. The IV of message 1 is hash(last phase-1 CBC block | M-ID);
    each later message chains from the last ciphertext block of the one
    before it (RFC 2409 appendix B)."""

    M1 = {I.P_HASH, I.P_NONCE, I.P_ID}
    M3 = {I.P_HASH, I.P_GAP, I.P_CERT, I.P_POP, I.P_SIG, I.P_NOTIFY}

    def __init__(self, sa, groups, refuse=None, malform=None, peer=None):
        self.sa = sa
        self.peer = peer
        self.groups = groups
        self.refuse = refuse or (lambda group_id: None)
        self.malform = malform or (lambda step, first, chain: (first, chain))

    def _check_hash(self, ex, plain, pl, prefix, what):
        if not pl or pl[0].type != I.P_HASH:
            raise PullError("hash_not_first", I.N_INVALID_HASH_INFORMATION,
                            what)
        hp = pl[0]
        exact, with_pad = covered(plain, pl, hp)
        h = self.sa.suite.hash
        mid = struct.pack("!I", ex.msgid)
        want = ike.prf(h, self.sa.skeyid_a, mid, prefix, exact)
        if hmac.compare_digest(want, hp.body):
            return None
        if with_pad != exact and hmac.compare_digest(
                ike.prf(h, self.sa.skeyid_a, mid, prefix, with_pad),
                hp.body):
            return "hash_covers_padding"
        raise PullError("bad_hash", I.N_INVALID_HASH_INFORMATION,
                        f"{what} does not verify")

    def _seal(self, ex, step, items, prefix, iv):
        """Build HDR*, HASH, items; HASH over prefix | items."""
        first, chain = I.build_chain(items)
        h = self.sa.suite.hash
        digest = ike.prf(h, self.sa.skeyid_a, struct.pack("!I", ex.msgid),
                         prefix, chain)
        full = I.generic(first, digest) + chain
        first2, full = self.malform(step, I.P_HASH, full)
        hdr = I.Header(self.sa.icookie, self.sa.rcookie, 0, I.EXCH_PULL, 0,
                       ex.msgid)
        return self.sa.seal(hdr, first2, full, iv)

    def handle(self, hdr, data, ex):
        plain, last = self.sa.open(hdr, data, ex.iv)
        if ex.state == "new":
            return self._m1(ex, hdr, plain, last)
        if ex.state == "sa_sent":
            return self._m3(ex, hdr, plain, last)
        raise PullError("pull_already_complete", None)

    def _m1(self, ex, hdr, plain, last):
        try:
            pl, _ = I.parse_chain(plain, hdr.next_payload, allowed=self.M1)
        except I.ParseError as e:
            raise PullError(e.reason, e.notify, e.detail) from e
        note = self._check_hash(ex, plain, pl, b"", "HASH(1)")
        nonce = I.one(pl, I.P_NONCE, "in GROUPKEY-PULL message 1")
        idp = I.one(pl, I.P_ID, "in GROUPKEY-PULL message 1")
        if not 8 <= len(nonce.body) <= 256:
            raise PullError("bad_nonce_length", I.N_PAYLOAD_MALFORMED)
        group, form, detail = group_from_id(self.groups, idp.body)
        ev = {"event": "pull_request", "msgid": f"{ex.msgid:08x}",
              "id_form": form, **detail}
        if note:
            ev["note"] = note
        if group is None:
            raise PullError("unknown_group", I.N_INVALID_ID_INFORMATION,
                            f"{form} {detail}")
        refusal = self.refuse(group.id)
        if refusal:
            raise PullError("group_refused", refusal, f"group {group.id}")
        ex.ni = nonce.body
        ex.nr = os.urandom(32)
        ex.group = group
        ex.id_form = form
        ex.policy = group.policy()
        reply, ex.iv = self._seal(
            ex, "pull2", [(I.P_NONCE, ex.nr), (I.P_SA, ex.policy["sa"])],
            ex.ni, last)
        ex.state = "sa_sent"
        ev["group"] = group.id
        return reply, ev

    def _m3(self, ex, hdr, plain, last):
        try:
            pl, _ = I.parse_chain(plain, hdr.next_payload, allowed=self.M3)
        except I.ParseError as e:
            raise PullError(e.reason, e.notify, e.detail) from e
        note = self._check_hash(ex, plain, pl, ex.ni + ex.nr, "HASH(3)")
        gaps = I.find(pl, I.P_GAP)
        gap_attrs = [a for g in gaps for a in I.parse_attrs(g.body, "GAP")]
        requested = sum(a.int for a in gap_attrs
                        if a.type == GAP_SENDER_ID_REQUEST)
        items = []
        pol = ex.policy
        if pol["seq"] is not None:
            items.append((I.P_SEQ, seq_body(pol["seq"])))
        packets = list(pol["packets"])
        sid = ex.group.sid_packet(requested, pol["teks"], self.peer)
        if sid is not None:
            packets.append(sid)
        items.append((I.P_KD, kd_body(packets)))
        reply, ex.iv = self._seal(ex, "pull4", items, ex.ni + ex.nr, last)
        ex.state = "done"
        ex.group.pulls += 1
        ev = {"event": "pull_served", "msgid": f"{ex.msgid:08x}",
              "group": ex.group.id, "id_form": ex.id_form,
              "teks": [f"0x{t.spi:08x}" for t in pol["teks"]],
              "kek": bool(ex.group.kek), "seq": pol["seq"]}
        if gaps:
            ev["member_gap"] = [a.type for a in gap_attrs]
        if sid is not None:
            ev["sids"] = ex.group.sids[-1]["sids"]
        if note:
            ev["note"] = note
        return reply, ev
