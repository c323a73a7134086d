# SPDX-License-Identifier: BSD-3-Clause
"""ESP with ENCR_NULL_AUTH_AES_GMAC (RFC 4543) in tunnel mode, for tests.

scapy 2.5 has no AES-GMAC and tshark 4.0 none in its ESP SA table, so this
is the independent peer for it: written from RFC 4543 with
python3-cryptography's AESGCM, not from gvpn's code. It has the interface of
scapy's SecurityAssociation (encrypt an inner IP or IPv6 packet, decrypt an
outer one of the same family).
"""
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.all import IP, IPv6, Raw


class GmacSA:
    """Key material is the AES key then a 4-octet salt; nonce = salt | the
    packet's 8-octet IV (RFC 4543 3.1, 3.2); the ICV is the GCM tag of an
    empty plaintext whose AAD is SPI, sequence number, IV, payload, padding,
    pad length and next header (3.3, 3.4); padding to 4 octets (RFC 4303
    2.4). @ip gives the outer header's addresses and TOS (traffic class and
    flow label for IPv6); the outer header is the inner packet's family."""

    def __init__(self, spi, key, ip=None):
        self.spi, self.aes, self.salt, self.tunnel = spi, AESGCM(key[:-4]), key[-4:], ip
        self.seq, self.iv = 0, int.from_bytes(os.urandom(8), "big")

    def encrypt(self, inner):
        data = bytes(inner)
        v6 = data[0] >> 4 == 6
        pad = (-(len(data) + 2)) % 4
        # next header 4: IPv4, 41: IPv6
        body = data + bytes(range(1, pad + 1)) + bytes([pad, 41 if v6 else 4])
        self.seq += 1
        self.iv = (self.iv + 1) % (1 << 64)
        iv = self.iv.to_bytes(8, "big")
        aad = struct.pack("!II", self.spi, self.seq) + iv + body
        icv = self.aes.encrypt(self.salt + iv, b"", aad)
        if v6:
            t = self.tunnel if self.tunnel is not None else IPv6(data)
            return IPv6(bytes(IPv6(src=t.src, dst=t.dst, tc=t.tc, fl=t.fl, nh=50) /
                              Raw(aad + icv)))
        t = self.tunnel if self.tunnel is not None else IP(bytes(inner))
        return IP(bytes(IP(src=t.src, dst=t.dst, tos=t.tos, proto=50) / Raw(aad + icv)))

    def decrypt(self, pkt):
        """The inner packet, or ValueError (wrong SPI, ICV or trailer)."""
        v6 = IPv6 in pkt
        esp = bytes(pkt[IPv6].payload if v6 else pkt[IP].payload)
        spi, = struct.unpack("!I", esp[:4])
        if spi != self.spi or len(esp) < 8 + 8 + 4 + 16:
            raise ValueError(f"not this SA's ESP: SPI {spi:#x}, {len(esp)} octets")
        aad, icv = esp[:-16], esp[-16:]
        try:
            self.aes.decrypt(self.salt + esp[8:16], icv, aad)
        except InvalidTag:
            raise ValueError("AES-GMAC ICV does not verify") from None
        body = aad[16:]
        pad, nh = body[-2], body[-1]
        if nh != (41 if v6 else 4) or body[-2 - pad:-2] != bytes(range(1, pad + 1)):
            raise ValueError(f"trailer: pad {pad}, next header {nh}")
        return (IPv6 if v6 else IP)(body[:-2 - pad])
