#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The demo's built-in traffic sample, and scapy's check of gvpn's ESP.

  demo_sample.py OUT.pcap
  demo_sample.py --check CLEAR.pcap ESP.pcap CIPHER KEYHEX AUTH AUTHKEYHEX
"""
import sys

from scapy.all import Ether, IP, UDP, ICMP, Raw, rdpcap, wrpcap
from scapy.layers.ipsec import ESP, SecurityAssociation

SCAPY = {"aes-cbc": "AES-CBC", "aes-gcm": "AES-GCM", "3des-cbc": "3DES", "des-cbc": "DES",
         "hmac-sha1-96": "HMAC-SHA1-96", "none": "NULL"}


def sample():
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    site_a, site_b = "192.0.2.10", "198.51.100.20"
    return [
        eth / IP(src=site_a, dst=site_b, tos=0xb8) / UDP(sport=40000, dport=40001) / Raw(b"voice " * 20),
        eth / IP(src=site_a, dst=site_b) / ICMP(id=1, seq=1) / Raw(b"ping" * 14),
        eth / IP(src=site_b, dst=site_a, tos=0x28) / UDP(sport=40001, dport=40000) / Raw(b"x" * 1000),
        eth / IP(src=site_a, dst=site_b, flags="DF") / UDP(sport=40000, dport=40001) / Raw(b"hello, group"),
    ]


def check(clear, esp, cipher, key, auth, akey):
    sa = SecurityAssociation(ESP, spi=0x1001, crypt_algo=SCAPY[cipher], crypt_key=bytes.fromhex(key),
                             auth_algo=SCAPY[auth], auth_key=bytes.fromhex(akey) if akey else None,
                             tunnel_header=IP())
    ref = [p[IP] for p in rdpcap(clear)]
    got = [sa.decrypt(p[IP]) for p in rdpcap(esp)]  # raises on a bad ICV
    same = sum(bytes(g) == bytes(r) for g, r in zip(got, ref))
    print(f"scapy decrypted {len(got)} ESP packets; {same} of {len(ref)} identical to the originals")
    return 0 if same == len(ref) == len(got) else 1


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        sys.exit(check(*sys.argv[2:8]))
    wrpcap(sys.argv[1], sample())
