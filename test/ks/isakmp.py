# SPDX-License-Identifier: BSD-3-Clause
"""ISAKMP (RFC 2408) message codec for the test key server.

Everything that touches bytes on the wire lives here: the fixed header
(RFC 2408 3.1), the generic payload header and the payload chain (3.2),
data attributes (3.3) and the numbers that name payloads, exchanges and
notifications. Payload bodies that belong to one DOI or exchange are built
in ike.py (IKEv1 phase 1) and gdoi.py (RFC 6407).

Parsing follows one order for every payload: the generic header fits; the
next-payload value is known; RESERVED is zero; the length is at least the
type's minimum; the length does not run past the data left; the type is
allowed in this message. Each failure raises ParseError with its own
reason string, which the server counts.
"""
import ipaddress
import os
import struct

# RFC 2408 3.1: ISAKMP header
#                      1                   2                   3
#  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
# !                          Initiator                            !
# !                            Cookie                             !
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
# !                          Responder                            !
# !                            Cookie                             !
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
# !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
# !                          Message ID                           !
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
# !                            Length                             !
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
HDR_LEN = 28
VERSION = 0x10          # major 1, minor 0
FLAG_E = 0x01           # encryption
FLAG_C = 0x02           # commit
FLAG_A = 0x04           # authentication only

# Exchange types: RFC 2408 3.1 (base values), RFC 2409 (Main = Identity
# Protection), RFC 6407 5 (the GDOI DOI's own 32 and 33).
EXCH_MAIN = 2
EXCH_AGGRESSIVE = 4
EXCH_INFO = 5
EXCH_PULL = 32           # GROUPKEY-PULL, RFC 6407 3
EXCH_PUSH = 33           # GROUPKEY-PUSH, RFC 6407 4

# Payload types: RFC 2408 3.1; RFC 3947 (NAT-T); RFC 6407 5 (GDOI).
P_NONE = 0
P_SA = 1
P_PROPOSAL = 2
P_TRANSFORM = 3
P_KE = 4
P_ID = 5
P_CERT = 6
P_CR = 7
P_HASH = 8
P_SIG = 9
P_NONCE = 10
P_NOTIFY = 11
P_DELETE = 12
P_VID = 13
P_SAK = 15               # SA KEK
P_SAT = 16               # SA TEK
P_KD = 17                # Key Download
P_SEQ = 18               # Sequence Number
P_POP = 19               # RFC 3547 Proof of Possession (not used with PSK)
P_NAT_D = 20
P_NAT_OA = 21
P_GAP = 22               # Group Associated Policy

PAYLOAD_NAMES = {
    P_SA: "SA", P_PROPOSAL: "P", P_TRANSFORM: "T", P_KE: "KE", P_ID: "ID",
    P_CERT: "CERT", P_CR: "CR", P_HASH: "HASH", P_SIG: "SIG",
    P_NONCE: "NONCE", P_NOTIFY: "N", P_DELETE: "D", P_VID: "VID",
    P_SAK: "SAK", P_SAT: "SAT", P_KD: "KD", P_SEQ: "SEQ", P_POP: "POP",
    P_NAT_D: "NAT-D", P_NAT_OA: "NAT-OA", P_GAP: "GAP",
}

# Smallest legal payload length, generic header included (RFC 2408 3.4-3.16,
# RFC 6407 5). Payloads not listed here are unknown to the parser.
MIN_LEN = {
    P_SA: 12,         # header, DOI, situation (proposals follow)
    P_PROPOSAL: 8,
    P_TRANSFORM: 8,
    P_KE: 5,
    P_ID: 8,
    P_CERT: 5,
    P_CR: 5,
    P_HASH: 5,
    P_SIG: 5,
    P_NONCE: 4 + 8,   # RFC 2409 5: nonce data 8..256 octets
    P_NOTIFY: 12,
    P_DELETE: 12,
    P_VID: 4,
    P_SAK: 4,
    P_SAT: 5,
    P_KD: 8,
    P_SEQ: 8,
    P_POP: 5,
    P_NAT_D: 5,
    P_NAT_OA: 8,
    P_GAP: 4,
}

# Notify message types, RFC 2408 3.14.1 (errors) and RFC 2407 4.6.3.
N_INVALID_PAYLOAD_TYPE = 1
N_DOI_NOT_SUPPORTED = 2
N_SITUATION_NOT_SUPPORTED = 3
N_INVALID_COOKIE = 4
N_INVALID_EXCHANGE_TYPE = 7
N_INVALID_FLAGS = 8
N_INVALID_MESSAGE_ID = 9
N_INVALID_PROTOCOL_ID = 10
N_INVALID_SPI = 11
N_INVALID_TRANSFORM_ID = 12
N_ATTRIBUTES_NOT_SUPPORTED = 13
N_NO_PROPOSAL_CHOSEN = 14
N_BAD_PROPOSAL_SYNTAX = 15
N_PAYLOAD_MALFORMED = 16
N_INVALID_KEY_INFORMATION = 17
N_INVALID_ID_INFORMATION = 18
N_INVALID_HASH_INFORMATION = 23
N_AUTHENTICATION_FAILED = 24
N_UNSUPPORTED_EXCHANGE_TYPE = 29
N_INITIAL_CONTACT = 24578

# Protocol identifiers, RFC 2407 4.4.1
PROTO_ISAKMP = 1
PROTO_IPSEC_AH = 2
PROTO_IPSEC_ESP = 3

# Identification types, RFC 2407 4.6.2.1
ID_IPV4_ADDR = 1
ID_FQDN = 2
ID_USER_FQDN = 3
ID_IPV4_ADDR_SUBNET = 4
ID_IPV6_ADDR = 5
ID_IPV6_ADDR_SUBNET = 6
ID_IPV4_ADDR_RANGE = 7
ID_IPV6_ADDR_RANGE = 8
ID_DER_ASN1_DN = 9
ID_DER_ASN1_GN = 10
ID_KEY_ID = 11

ID_NAMES = {
    ID_IPV4_ADDR: "ID_IPV4_ADDR", ID_FQDN: "ID_FQDN",
    ID_USER_FQDN: "ID_USER_FQDN", ID_IPV4_ADDR_SUBNET: "ID_IPV4_ADDR_SUBNET",
    ID_IPV6_ADDR: "ID_IPV6_ADDR", ID_IPV6_ADDR_SUBNET: "ID_IPV6_ADDR_SUBNET",
    ID_IPV4_ADDR_RANGE: "ID_IPV4_ADDR_RANGE",
    ID_IPV6_ADDR_RANGE: "ID_IPV6_ADDR_RANGE",
    ID_DER_ASN1_DN: "ID_DER_ASN1_DN", ID_DER_ASN1_GN: "ID_DER_ASN1_GN",
    ID_KEY_ID: "ID_KEY_ID",
}


class ParseError(Exception):
    """A message or payload that does not parse. `reason` is a short,
    stable identifier (counted by the server); `notify` the ISAKMP notify
    type that fits, if any."""

    def __init__(self, reason, detail="", notify=N_PAYLOAD_MALFORMED):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.notify = notify


class Header:
    """The 28-octet ISAKMP header (RFC 2408 3.1)."""

    __slots__ = ("icookie", "rcookie", "next_payload", "version", "exchange",
                 "flags", "msgid", "length")

    def __init__(self, icookie, rcookie, next_payload, exchange, flags=0,
                 msgid=0, length=0, version=VERSION):
        self.icookie = icookie
        self.rcookie = rcookie
        self.next_payload = next_payload
        self.version = version
        self.exchange = exchange
        self.flags = flags
        self.msgid = msgid
        self.length = length

    def pack(self, length=None):
        return struct.pack("!8s8sBBBBII", self.icookie, self.rcookie,
                           self.next_payload, self.version, self.exchange,
                           self.flags, self.msgid,
                           self.length if length is None else length)

    @classmethod
    def parse(cls, data):
        """Parse and check the header of a received datagram."""
        if len(data) < HDR_LEN:
            raise ParseError("short_header", f"{len(data)} octets")
        ic, rc, nxt, ver, exch, flags, msgid, length = struct.unpack(
            "!8s8sBBBBII", data[:HDR_LEN])
        if ver >> 4 != 1:
            raise ParseError("bad_major_version", f"0x{ver:02x}", 5)
        if length < HDR_LEN:
            raise ParseError("bad_header_length", f"{length}")
        if length > len(data):
            raise ParseError("header_length_exceeds_datagram",
                             f"{length} > {len(data)}")
        if flags & ~(FLAG_E | FLAG_C | FLAG_A):
            raise ParseError("bad_flags", f"0x{flags:02x}", N_INVALID_FLAGS)
        return cls(ic, rc, nxt, exch, flags, msgid, length, ver)

    @property
    def msgid_bytes(self):
        return struct.pack("!I", self.msgid)


class Payload:
    """One payload of a chain: `type`, `body` (after the generic header),
    `raw` (generic header included) and `next` (the following type)."""

    __slots__ = ("type", "body", "raw", "next", "offset")

    def __init__(self, ptype, body, raw=None, nxt=0, offset=0):
        self.type = ptype
        self.body = body
        self.raw = raw
        self.next = nxt
        self.offset = offset

    def __repr__(self):
        return f"<{PAYLOAD_NAMES.get(self.type, self.type)} {len(self.body)}>"


def parse_chain(data, first, allowed=None, known=None):
    """Walk a payload chain starting with type `first` over `data`.

    Returns (payloads, trailing) where trailing is what follows the payload
    whose next-payload is NONE (block cipher padding in encrypted messages).
    `allowed`, when given, is the set of payload types this message may
    contain. `known` defaults to every type of MIN_LEN.
    """
    known = MIN_LEN if known is None else known
    out = []
    ptype = first
    off = 0
    while ptype != P_NONE:
        if len(data) - off < 4:
            raise ParseError("truncated_payload_header",
                             f"{PAYLOAD_NAMES.get(ptype, ptype)} at {off}")
        if ptype not in known:
            raise ParseError("unknown_payload_type", f"{ptype} at {off}",
                             N_INVALID_PAYLOAD_TYPE)
        nxt, reserved, length = struct.unpack("!BBH", data[off:off + 4])
        if reserved != 0:
            raise ParseError("reserved_not_zero",
                             f"{PAYLOAD_NAMES[ptype]} at {off}")
        if length < known[ptype]:
            raise ParseError("payload_too_short",
                             f"{PAYLOAD_NAMES[ptype]} length {length}")
        if length > len(data) - off:
            raise ParseError("payload_length_exceeds_message",
                             f"{PAYLOAD_NAMES[ptype]} length {length} > "
                             f"{len(data) - off}")
        if allowed is not None and ptype not in allowed:
            raise ParseError("payload_not_allowed",
                             PAYLOAD_NAMES.get(ptype, str(ptype)),
                             N_INVALID_PAYLOAD_TYPE)
        raw = data[off:off + length]
        out.append(Payload(ptype, raw[4:], raw, nxt, off))
        off += length
        ptype = nxt
    return out, data[off:]


def build_chain(items):
    """[(type, body), ...] -> (first type, chain bytes), generic headers
    filled in."""
    if not items:
        return P_NONE, b""
    parts = []
    for i, (ptype, body) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else P_NONE
        parts.append(struct.pack("!BBH", nxt, 0, 4 + len(body)) + body)
    return items[0][0], b"".join(parts)


def generic(ptype_next, body):
    """One generic payload with an explicit next-payload value."""
    return struct.pack("!BBH", ptype_next, 0, 4 + len(body)) + body


def chain_offsets(first, chain):
    """(type, offset, length) of every payload of a well-formed chain."""
    out = []
    off = 0
    ptype = first
    while ptype != P_NONE and off + 4 <= len(chain):
        nxt, _, length = struct.unpack("!BBH", chain[off:off + 4])
        out.append((ptype, off, length))
        off += length
        ptype = nxt
    return out


def find(payloads, ptype):
    """All payloads of one type."""
    return [p for p in payloads if p.type == ptype]


def one(payloads, ptype, what=""):
    """Exactly one payload of a type, else ParseError."""
    found = find(payloads, ptype)
    name = PAYLOAD_NAMES.get(ptype, str(ptype))
    if not found:
        raise ParseError("missing_payload", f"{name} {what}".strip())
    if len(found) > 1:
        raise ParseError("duplicate_payload", f"{name} {what}".strip())
    return found[0]


# RFC 2408 3.3: data attributes
#  0                   1                   2                   3
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
# !A!       Attribute Type        !    AF=0  Attribute Length     !
# !F!                             !    AF=1  Attribute Value      !
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
# .                   AF=0  Attribute Value                       .
# .                   AF=1  Not Transmitted                       .
# +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
class Attr:
    """One data attribute: `type`, `value` (bytes) and `tv` (short form)."""

    __slots__ = ("type", "value", "tv")

    def __init__(self, atype, value, tv):
        self.type = atype
        self.value = value
        self.tv = tv

    @property
    def int(self):
        return int.from_bytes(self.value, "big") if self.value else 0

    def __repr__(self):
        return f"<attr {self.type}={self.value.hex()}{' TV' if self.tv else ''}>"


def attr_tv(atype, value):
    """Basic (TV) attribute: 16-bit value."""
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"TV attribute {atype} value {value}")
    return struct.pack("!HH", 0x8000 | atype, value)


def attr_tlv(atype, value):
    """Variable (TLV) attribute: value bytes."""
    if len(value) > 0xFFFF:
        raise ValueError(f"TLV attribute {atype} too long")
    return struct.pack("!HH", atype & 0x7FFF, len(value)) + value


def attr_tlv_int(atype, value, width=4):
    return attr_tlv(atype, value.to_bytes(width, "big"))


def parse_attrs(data, where="attributes"):
    """Data attributes filling `data` exactly."""
    out = []
    off = 0
    while off < len(data):
        if len(data) - off < 4:
            raise ParseError("truncated_attribute", where)
        word, second = struct.unpack("!HH", data[off:off + 4])
        if word & 0x8000:
            out.append(Attr(word & 0x7FFF, data[off + 2:off + 4], True))
            off += 4
        else:
            if off + 4 + second > len(data):
                raise ParseError("attribute_length_exceeds_payload", where)
            out.append(Attr(word, data[off + 4:off + 4 + second], False))
            off += 4 + second
    return out


def random_cookie():
    c = os.urandom(8)
    while c == b"\0" * 8:
        c = os.urandom(8)
    return c


def random_msgid():
    m = 0
    while m == 0:
        m = struct.unpack("!I", os.urandom(4))[0]
    return m


def notify_body(doi, notify_type, proto=PROTO_ISAKMP, spi=b"", data=b""):
    """RFC 2408 3.14: DOI, Protocol-ID, SPI Size, Notify Message Type,
    SPI, Notification Data."""
    return struct.pack("!IBBH", doi, proto, len(spi), notify_type) + spi + data


def parse_notify(body):
    if len(body) < 8:
        raise ParseError("payload_too_short", "N")
    doi, proto, spi_size, ntype = struct.unpack("!IBBH", body[:8])
    if 8 + spi_size > len(body):
        raise ParseError("notify_spi_exceeds_payload")
    return {"doi": doi, "proto": proto, "type": ntype,
            "spi": body[8:8 + spi_size], "data": body[8 + spi_size:]}


def addr_id_type(packed):
    """ID_IPV4_ADDR or ID_IPV6_ADDR for an address of 4 or 16 octets
    (RFC 2407 4.6.2.1)."""
    return ID_IPV4_ADDR if len(packed) == 4 else ID_IPV6_ADDR


def peer_name(peer):
    """A UDP peer as events and the state file name it: "a.b.c.d:port", or
    "[2001:db8::1]:port" for IPv6 (RFC 3986 3.2.2's brackets)."""
    return f"[{peer[0]}]:{peer[1]}" if ":" in peer[0] else f"{peer[0]}:{peer[1]}"


def parse_peer(text):
    """"a.b.c.d:port" or "[v6]:port" -> (address text, port); the address
    is normalised ("2001:0db8::01" -> "2001:db8::1")."""
    host, sep, port = str(text).rpartition(":")
    if not sep:
        raise ValueError(f"{text!r}: no port (addr:port or [v6]:port)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return str(ipaddress.ip_address(host)), int(port)


def host_of(text):
    """The address of "addr", "addr:port", "v6" or "[v6]:port", normalised."""
    text = str(text)
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return parse_peer(text)[0]


def id_body(id_type, data, proto=0, port=0):
    """RFC 2407 4.6.2: ID Type, Protocol ID, Port, Identification Data."""
    return struct.pack("!BBH", id_type, proto, port) + data


def parse_id(body):
    if len(body) < 4:
        raise ParseError("payload_too_short", "ID")
    id_type, proto, port = struct.unpack("!BBH", body[:4])
    return id_type, proto, port, body[4:]
