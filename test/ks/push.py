# SPDX-License-Identifier: BSD-3-Clause
"""GROUPKEY-PUSH (RFC 6407 4, exchange 33) for the test key server: the
push datagram, the changes a push makes to a group, its faults, and the
verification of GROUPKEY-PUSH ACKs (RFC 8263, exchange 35).

      GM                    GCKS
                      <---- HDR*, SEQ, [D,] [SA, KD,] SIG
      HDR, HASH, SEQ, ID -->                         (RFC 8263, optional)

Nothing here opens sockets: `plan` turns one push object of the control
file into the datagram and the list of members to send it to, and
`check_ack` judges one received ACK; gdoi_ks.py sends, logs and counts.
"""
import hashlib
import hmac
import ipaddress
import os
import struct
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import gdoi
import ike
import isakmp as I

EXCH_PUSH_ACK = 35          # RFC 8263 3.1
PROTO_KEK = 0               # Delete payload Protocol-ID of a KEK, RFC 6407 5.9

FAULTS = ("replay_seq", "bad_signature", "unknown_kek", "wrong_kek_key",
          "malformed", "no_sig", "stale_seq")
KEYS = {"id", "group", "rekey", "teks", "atd", "dtd", "delete", "new_kek",
        "repeat_kek", "keep_rsa", "to", "fault", "remove_member", "send",
        "sid_bits", "sid_values", "unicast"}

SIG_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256,
              "sha384": hashes.SHA384, "sha512": hashes.SHA512}


class PushError(Exception):
    pass


# -- payloads -------------------------------------------------------------
def delete_body(proto, spi_size, spis):
    """RFC 2408 3.15 with RFC 6407 5.9: DOI (4) = GDOI, Protocol-Id (1),
    SPI Size (1), # of SPIs (2), SPIs."""
    return (struct.pack("!IBBH", gdoi.DOI_GDOI, proto, spi_size, len(spis))
            + b"".join(spis))


def sign(kek, data):
    """RSASSA-PKCS1-v1_5 (RFC 8017 8.2, DigestInfo included) with the KEK's
    SIG_HASH_ALGORITHM; under the reference habits the bare digest with
    PKCS #1 v1.5 type 1 padding and no DigestInfo (RSA_private_encrypt())."""
    if kek.habits == "reference":
        h = hashes.Hash(SIG_HASHES[kek.sig_hash]())
        h.update(data)
        return _sign_raw(kek.rsa, h.finalize())
    return kek.rsa.sign(data, padding.PKCS1v15(), SIG_HASHES[kek.sig_hash]())


def _sign_raw(key, digest):
    """EMSA-PKCS1-v1_5 type 1 padding around `digest` alone, then the RSA
    private operation (RFC 8017 8.2.1 without the DigestInfo)."""
    n = key.private_numbers()
    k = (key.key_size + 7) // 8
    if len(digest) > k - 11:
        raise PushError("digest too long for the RSA key")
    em = b"\0\1" + b"\xff" * (k - 3 - len(digest)) + b"\0" + digest
    m = int.from_bytes(em, "big")
    return pow(m, n.d, n.public_numbers.n).to_bytes(k, "big")


def datagram(kek, seq, deletes, sa_body, kd, fault=None):
    """HDR*, SEQ, [D...,] [SA, KD,] SIG, encrypted with `kek`.

    The signature covers 'rekey' | HDR | SEQ ... up to the SIG payload
    (RFC 6407 4), the HDR exactly as sent (its Length counts the SIG
    payload and the padding). Everything after the HDR is encrypted in CBC
    mode with the KEK and its explicit IV (RFC 6407 5.6.2.1), zero padding
    up to the block size. Returns (datagram, cookies used)."""
    items = [(I.P_SEQ, gdoi.seq_body(seq))]
    items += [(I.P_DELETE, d) for d in deletes]
    if sa_body is not None:
        items += [(I.P_SA, sa_body), (I.P_KD, kd)]
    sig_len = (kek.rsa.key_size + 7) // 8
    with_sig = fault != "no_sig"
    if with_sig:
        items.append((I.P_SIG, b"\0" * sig_len))       # filled in below
    first, chain = I.build_chain(items)
    pad = (-len(chain)) % kek.block
    cookies = os.urandom(16) if fault == "unknown_kek" else kek.spi
    hdr = I.Header(cookies[:8], cookies[8:], first, I.EXCH_PUSH, I.FLAG_E,
                   0).pack(I.HDR_LEN + len(chain) + pad)
    if with_sig:
        signed = chain[:-(4 + sig_len)]
        signed_hdr = hdr
        if kek.habits == "reference":
            # its header is hashed with the length before padding
            signed_hdr = hdr[:24] + struct.pack("!I", I.HDR_LEN + len(chain))
        sig = bytearray(sign(kek, b"rekey" + signed_hdr + signed))
        if fault == "bad_signature":
            sig[len(sig) // 2] ^= 0x10
        chain = chain[:-sig_len] + bytes(sig)
    if fault == "malformed":
        # the last payload's length runs 256 octets past the message
        ptype, off, length = I.chain_offsets(first, chain)[-1]
        chain = (chain[:off + 2] + struct.pack("!H", length + 256)
                 + chain[off + 4:])
    key = kek.key
    if fault == "wrong_kek_key":
        key = os.urandom(len(kek.key))
    ct = ike.cbc_encrypt(kek.enc_id, key, kek.iv, chain + b"\0" * pad)
    return hdr + ct, cookies


# -- what a push changes --------------------------------------------------
def parse_spi(v):
    if isinstance(v, str):
        return int(v, 16) if v.lower().startswith("0x") else int(v)
    return int(v)


def check(p):
    """Validate one push object of the control file."""
    if not isinstance(p, dict) or "id" not in p or "group" not in p:
        raise PushError("a push needs an id and a group")
    extra = set(p) - KEYS
    if extra:
        raise PushError(f"unknown push keys {sorted(extra)}")
    if p.get("fault") is not None and p["fault"] not in FAULTS:
        raise PushError(f"fault {p['fault']!r}: one of {', '.join(FAULTS)}")
    for d in p.get("delete") or []:
        if not isinstance(d, dict) or d.get("protocol") not in ("tek",
                                                               "kek"):
            raise PushError(f"delete {d}: protocol tek or kek")
        if d["protocol"] == "tek" and "spi" not in d:
            raise PushError(f"delete {d}: a TEK delete needs an spi "
                            "(a number, \"0x...\" or \"all\")")


def _member_match(key, who):
    """key: "addr:port" or "[v6]:port" of a member; who: an address, or an
    address and port in either form."""
    if ":" in who and (who.startswith("[") or who.count(":") == 1):
        return I.parse_peer(key) == I.parse_peer(who)
    return I.host_of(key) == I.host_of(who)


def remove_member(group, who):
    """Forget a member: no more pushes, later pulls refused."""
    group.removed.add(who)
    gone = [k for k in group.members if _member_match(k, who)]
    for k in gone:
        del group.members[k]
    return gone


def is_removed(group, peer):
    return any(_member_match(I.peer_name(peer), who) for who in group.removed)


def _deletes(group, spec):
    """Delete payload bodies (TEKs first, then the KEK: RFC 6407 5.9) and
    what they name, for the event."""
    teks, keks, names = [], [], []
    for d in spec or []:
        if d["protocol"] == "tek":
            spi = 0 if d["spi"] == "all" else parse_spi(d["spi"])
            teks.append(spi)
            names.append({"protocol": "tek", "spi": f"0x{spi:08x}"})
        else:
            s = d.get("spi")
            if s == "all":
                spi = b"\0" * 16
            elif s is None:
                if group.kek is None:
                    raise PushError("delete kek: the group has no KEK")
                spi = group.kek.spi
            else:
                spi = bytes.fromhex(s[2:] if s.lower().startswith("0x")
                                    else s)
                if len(spi) != 16:
                    raise PushError("a KEK SPI is 16 octets")
            keks.append(spi)
            names.append({"protocol": "kek", "spi": spi.hex()})
    out = []
    if teks:
        out.append(delete_body(gdoi.TEK_PROTO_ESP, 4,
                               [struct.pack("!I", s) for s in teks]))
    if keks:
        out.append(delete_body(PROTO_KEK, 16, keks))
    return out, teks, keks, names


def _delete_teks(group, teks):
    if teks:
        if 0 in teks:
            gone = list(group.teks)
        else:
            gone = [t for t in group.teks if t.spi in teks]
        for t in gone:
            group.deleted_teks.append(t)
        group.teks = [t for t in group.teks if t not in gone]
        # a successor created for rollover goes with its predecessor
        group.successor = {}


def _delete_keks(group, keks, now):
    for spi in keks:
        k = group.kek
        if k is not None and (spi == b"\0" * 16 or spi == k.spi):
            k.retired, k.retired_at = "deleted", now
            group.deleted_kek = k
            group.kek = None
            group.seq = 0


def _new_teks(group, p):
    """rekey: the next generation of every current TEK replaces it; teks:
    TEKs added from config objects. Returns the new generations."""
    out = []
    if p.get("rekey"):
        group.successor = {}
        for i, t in enumerate(group.teks):
            n = group.next_generation(t)
            group.teks[i] = n
            out.append(n)
    for tc in p.get("teks") or []:
        spi = (parse_spi(tc["spi"]) if "spi" in tc else group.free_spi(
            max([t.spi for t in group.history] + [0x1000]) + 1))
        if any(t.spi == spi for t in group.history):
            raise PushError(f"TEK SPI {spi:#x} already used in this group")
        t = gdoi.Tek(tc, spi, 0, tc.get("keys"))
        group.teks.append(t)
        group.history.append(t)
        out.append(t)
    return out


def plan(group, p, now=None):
    """Carry out one push object on `group`: returns a dict with the
    datagram (None when nothing is to be sent), the targets and what the
    event reports. The group's state changes (TEK generations, KEK, SEQ,
    members) happen here, whatever fault damages the datagram."""
    now = time.time() if now is None else now
    fault = p.get("fault")
    removed = []
    if p.get("remove_member"):
        removed = remove_member(group, str(p["remove_member"]))
    acts = any(p.get(k) for k in ("rekey", "teks", "delete", "new_kek", "repeat_kek"))
    send = p.get("send", acts or fault is not None
                 or not p.get("remove_member"))
    info = {"group": group.id, "removed": removed}
    if not send:
        return {**info, "datagram": None, "targets": []}
    kek = group.kek
    if kek is None:
        raise PushError(f"group {group.id} has no KEK to push with")
    atd = int(p["atd"]) if "atd" in p else group.atd
    dtd = int(p["dtd"]) if "dtd" in p else group.dtd
    deletes, del_teks, del_keks, del_names = _deletes(group, p.get("delete"))
    # Deletes come before the SA in the message and are processed first.
    _delete_teks(group, del_teks)
    new_teks = _new_teks(group, p)
    new_kek = None
    if p.get("new_kek"):
        over = p["new_kek"] if isinstance(p["new_kek"], dict) else None
        try:
            new_kek = kek.successor(over, bool(p.get("keep_rsa")))
        except (gdoi.PolicyError, ValueError) as e:
            raise PushError(f"new_kek: {e}") from e
    if p.get("repeat_kek") and new_kek:
        raise PushError("repeat_kek and new_kek: one KEK a push")
    # the current KEK again, same cookies and keys (as some key servers do in
    # every push): the SEQ count goes on
    sak = new_kek or (kek if p.get("repeat_kek") else None)
    # Sender-IDs of a new length (RFC 6407 5.6.3): the push says so with a
    # SID key packet holding NUMBER_OF_SID_BITS; SIDs already given are
    # void and members fetch new ones by a pull. "sid_values" adds values
    # (which no member should use: a push goes to every member).
    sid_packet = None
    if "sid_bits" in p or p.get("sid_values"):
        if not new_teks:
            raise PushError("sid_bits and sid_values go with new TEKs")
        bits = int(p.get("sid_bits", group.sid_bits))
        if not 1 <= bits <= 32:
            raise PushError(f"sid_bits {bits}: 1 to 32")
        group.sid_bits = bits
        sid_packet = gdoi.key_packet(gdoi.KD_SID, b"", I.attr_tv(
            gdoi.SID_NUMBER_OF_BITS, bits) + b"".join(
            I.attr_tlv(gdoi.SID_VALUE, group.sid_value(int(v)))
            for v in p.get("sid_values") or []))
    sa_body = kd = None
    if new_teks or sak:
        attrs, packets = gdoi.policy_payloads(
            sak, gdoi.gap_body(atd, dtd, group.replay_window,
                                   group.replay_window_attr),
            new_teks, now,
            kek_packet_spi=kek.spi if new_kek and group.habits == "reference"
            else None)
        sa_body = gdoi.sa_payload(attrs)
        kd = gdoi.kd_body(packets + ([sid_packet] if sid_packet else []))
    # SEQ: one more than the last push (RFC 6407 4.3); the faults that
    # replay an old value leave the counter alone.
    if fault == "replay_seq":
        seq = group.seq
    elif fault == "stale_seq":
        seq = 1
    else:
        group.seq += 1
        seq = group.seq
    data, cookies = datagram(kek, seq, deletes, sa_body, kd, fault)
    _delete_keks(group, del_keks, now)
    if new_kek:
        # the first push under the new KEK carries SEQ 1 (RFC 6407 4)
        if kek.retired is None:
            kek.retired, kek.retired_at = "replaced", now
        group.kek = new_kek
        group.kek_history.append(new_kek)
        group.deleted_kek = None
        group.seq = 0
    members = []
    for k in group.members:
        members.append(I.parse_peer(k))
    if p.get("to"):
        targets = [I.parse_peer(t) for t in p["to"]]
    elif kek.dst.is_multicast and not p.get("unicast"):
        # the KEK's destination (RFC 6407 5.3): one datagram to its group
        targets = [(str(kek.dst), kek.dst_port)]
    else:
        targets = members
    # every member may answer with an acknowledgement, whatever the route
    for a, _ in targets + members:
        group.push_seqs.setdefault((cookies.hex(), a), set()).add(seq)
    return {**info, "datagram": data, "targets": targets, "seq": seq,
            "kek_spi": cookies[:8].hex(), "kek_cookies": cookies.hex(),
            "teks": [f"0x{t.spi:08x}" for t in new_teks],
            "deletes": del_names, "new_kek": bool(new_kek),
            "new_kek_spi": new_kek.spi.hex() if new_kek else None,
            "fault": fault, "atd": atd, "dtd": dtd}


# -- RFC 8263 acknowledgements --------------------------------------------
def ack_key(kek, cookies):
    """RFC 8263 3.2 (KDF in feedback mode, one block, no IV, no counter):

        ack_key = prf(base_key, "GROUPKEY-PUSH ACK" | SPI | L)

    "GROUPKEY-PUSH ACK" with its terminating NUL (18 octets); SPI = the
    16 cookie octets of the push HDR; L = 2 octets, big endian, 512 for
    HMAC-SHA-256 and 1024 for HMAC-SHA-512; base_key = KEK_ALGORITHM_KEY
    of the KEK that protected the push, without its IV (RFC 8263 2.1).
    HMAC zero-fills a short key to the block size by itself (RFC 4868
    2.1.2)."""
    _, h, bits = gdoi.ACK_TYPES[kek.ack]
    return hmac.new(kek.key, b"GROUPKEY-PUSH ACK\0" + cookies
                    + struct.pack("!H", bits), h).digest()


def ack_hash(kek, cookies, seq_payload, id_payload):
    """RFC 8263 3.2: HASH = prf(ack_key, SEQ | ID), whole payloads."""
    _, h, _ = gdoi.ACK_TYPES[kek.ack]
    return hmac.new(ack_key(kek, cookies), seq_payload + id_payload,
                    h).digest()


def find_kek(groups, cookies):
    for g in groups:
        for k in g.kek_history:
            if k.spi == cookies:
                return g, k
    return None, None


def check_ack(groups, data, peer):
    """Judge one GROUPKEY-PUSH ACK (RFC 8263 5). Returns a dict: group,
    seq, valid and, when invalid, reason (unknown_kek, ack_not_requested,
    malformed, duplicate, bad_hash, unknown_seq, id_mismatch)."""
    hdr = I.Header.parse(data)
    data = data[:hdr.length]
    cookies = hdr.icookie + hdr.rcookie
    out = {"group": None, "seq": None, "valid": False,
           "kek_spi": hdr.icookie.hex()}
    group, kek = find_kek(groups, cookies)
    if kek is None:
        return {**out, "reason": "unknown_kek"}
    out["group"] = group.id
    if not kek.ack:
        return {**out, "reason": "ack_not_requested"}
    digest = hashlib.sha256(data).digest()
    if digest in group.ack_digests:
        return {**out, "reason": "duplicate"}
    try:
        if hdr.flags or hdr.msgid or hdr.next_payload != I.P_HASH:
            raise I.ParseError("bad_header", "flags, message ID or first "
                                             "payload")
        pl, _ = I.parse_chain(data[I.HDR_LEN:], hdr.next_payload,
                              allowed={I.P_HASH, I.P_SEQ, I.P_ID})
        if [p.type for p in pl] != [I.P_HASH, I.P_SEQ, I.P_ID]:
            raise I.ParseError("payload_order", str(pl))
        if len(pl[1].body) != 4:
            raise I.ParseError("bad_seq_length")
    except I.ParseError as e:
        return {**out, "reason": "malformed", "detail": str(e)}
    seq = struct.unpack("!I", pl[1].body)[0]
    out["seq"] = seq
    if not hmac.compare_digest(ack_hash(kek, cookies, pl[1].raw, pl[2].raw),
                               pl[0].body):
        return {**out, "reason": "bad_hash"}
    if seq not in group.push_seqs.get((cookies.hex(), I.host_of(peer[0])), ()):
        return {**out, "reason": "unknown_seq"}
    id_type, proto, port, addr = I.parse_id(pl[2].body)
    if ((id_type, len(addr)) not in ((I.ID_IPV4_ADDR, 4), (I.ID_IPV6_ADDR, 16))
            or proto or port
            or ipaddress.ip_address(addr) != ipaddress.ip_address(peer[0])):
        return {**out, "reason": "id_mismatch",
                "detail": f"type {id_type} proto {proto} port {port} "
                          f"data {addr.hex()}"}
    group.ack_digests.add(digest)
    group.acks.append({"peer": I.peer_name(peer), "seq": seq,
                       "kek_spi": cookies.hex(), "ts": time.time()})
    return {**out, "valid": True}
