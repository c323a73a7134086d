#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark traffic: clear pcaps (scapy) and the matching ESP pcaps.

  traffic.py clear --size 64|78|128|...|imix --flows N --dir out|in
                   [--family ipv4|ipv6] [--vlan ID] OUT.pcap
  traffic.py esp   --alg ALG --esptool PATH [--family ipv4|ipv6] CLEAR.pcap OUT.pcap

Frame sizes follow RFC 2544: they include the 4-byte FCS, which a capture
does not hold, so a "64-byte" frame is 60 bytes in the pcap. IMIX is 7:4:1
of 64, 570 and 1518-byte frames, interleaved. 78 bytes is RFC 5180's
smallest IPv6 test frame (64 bytes cannot hold IPv6 and UDP headers). Flows
differ in their UDP source port; every flow is inside the benchmark SA's
selectors (192.0.2.0/24 <-> 198.51.100.0/24, or 2001:db8:a::/64 <->
2001:db8:b::/64 for IPv6). Outbound traffic goes from site A (192.0.2.10,
2001:db8:a::10) to site B (198.51.100.20, 2001:db8:b::20), inbound traffic
the other way. --vlan puts an 802.1Q tag with that ID on every frame, within
the same frame size.

`sizes` and `algs` print what the other helpers need to know about a size
or an algorithm (JSON), so that the numbers live in one place.
"""
import argparse
import json
import math
import subprocess
import sys

FCS = 4
ETH, IPV4, IPV6, UDP_HDR, VLAN_TAG = 14, 20, 40, 8, 4
SITE_A, SITE_B = "192.0.2.10", "198.51.100.20"
SITE_A6, SITE_B6 = "2001:db8:a::10", "2001:db8:b::20"
# The benchmark SA's selectors, by family.
NETS = {"ipv4": ("192.0.2.0/24", "198.51.100.0/24"),
        "ipv6": ("2001:db8:a::/64", "2001:db8:b::/64")}
SITES = {"ipv4": (SITE_A, SITE_B), "ipv6": (SITE_A6, SITE_B6)}
IP_HDR = {"ipv4": IPV4, "ipv6": IPV6}
SPI = 0x1001
DPORT = 5001
SPORT_BASE = 10000
IMIX = ((64, 7), (570, 4), (1518, 1))
# One IMIX period, interleaved so that the big frames are spread out.
IMIX_ORDER = (64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570)

# name -> how each system spells it. Keys are lab keys, not secrets.
ALGS = {
    "aes128-cbc-sha1": {
        "label": "AES-128-CBC + HMAC-SHA1-96",
        "cipher": "aes-cbc", "key": "000102030405060708090a0b0c0d0e0f",
        "auth": "hmac-sha1-96", "auth_key": "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3",
        "iv": 16, "block": 16, "icv": 12,
        "secgw": "cipher_algo aes-128-cbc cipher_key {key} auth_algo sha1-hmac auth_key {auth_key}",
        "perf": ["--optype", "cipher-then-auth", "--cipher-algo", "aes-cbc", "--cipher-key-sz", "16",
                 "--cipher-iv-sz", "16", "--auth-algo", "sha1-hmac", "--auth-key-sz", "20",
                 "--digest-sz", "12"],
    },
    "aes256-cbc-sha256": {
        "label": "AES-256-CBC + HMAC-SHA-256-128",
        "cipher": "aes-cbc",
        "key": "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
        "auth": "hmac-sha256-128",
        "auth_key": "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
        "iv": 16, "block": 16, "icv": 16,
        "secgw": "cipher_algo aes-256-cbc cipher_key {key} auth_algo sha256-hmac auth_key {auth_key}",
        "perf": ["--optype", "cipher-then-auth", "--cipher-algo", "aes-cbc", "--cipher-key-sz", "32",
                 "--cipher-iv-sz", "16", "--auth-algo", "sha2-256-hmac", "--auth-key-sz", "32",
                 "--digest-sz", "16"],
    },
    "aes128-gcm": {
        "label": "AES-128-GCM",
        "cipher": "aes-gcm", "key": "303132333435363738393a3b3c3d3e3f" + "cafebabe",
        "auth": None, "auth_key": None,
        "iv": 8, "block": 4, "icv": 16,
        "secgw": "aead_algo aes-128-gcm aead_key {key}",
        "perf": ["--optype", "aead", "--aead-algo", "aes-gcm", "--aead-key-sz", "16",
                 "--aead-iv-sz", "12", "--aead-aad-sz", "8", "--digest-sz", "16"],
    },
    "aes128-gmac": {
        "label": "AES-128-GMAC (integrity only)",
        "cipher": "aes-gmac", "key": "404142434445464748494a4b4c4d4e4f" + "cafebabe",
        "auth": None, "auth_key": None,
        "iv": 8, "block": 4, "icv": 16,
        "secgw": "cipher_algo null auth_algo aes-gmac auth_key {key}",
        "perf": ["--optype", "auth-only", "--auth-algo", "aes-gmac", "--auth-key-sz", "16",
                 "--auth-iv-sz", "12", "--digest-sz", "16"],
    },
    "aes128-cbc-sha384": {
        "label": "AES-128-CBC + HMAC-SHA-384-192",
        "cipher": "aes-cbc", "key": "000102030405060708090a0b0c0d0e0f",
        "auth": "hmac-sha384-192",
        "auth_key": "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7"
                    "d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef",
        "iv": 16, "block": 16, "icv": 24,
        "secgw": "cipher_algo aes-128-cbc cipher_key {key} auth_algo sha384-hmac auth_key {auth_key}",
        "perf": ["--optype", "cipher-then-auth", "--cipher-algo", "aes-cbc", "--cipher-key-sz", "16",
                 "--cipher-iv-sz", "16", "--auth-algo", "sha2-384-hmac", "--auth-key-sz", "48",
                 "--digest-sz", "24"],
    },
}


def frame_sizes(size):
    """The frame sizes (with FCS) of one pcap period."""
    return list(IMIX_ORDER) if size == "imix" else [int(size)]


def mean_frame(size):
    if size == "imix":
        return sum(s * w for s, w in IMIX) / sum(w for _, w in IMIX)
    return float(size)


def esp_payload(frame, alg, vlan=0):
    """Bytes ESP ciphers for a clear frame of this size (padded inner packet)."""
    a = ALGS[alg]
    ip_len = frame - FCS - ETH - (VLAN_TAG if vlan else 0)
    return (ip_len + 2 + a["block"] - 1) // a["block"] * a["block"]


def esp_frame(frame, alg, family="ipv4", vlan=0):
    a = ALGS[alg]
    return (ETH + (VLAN_TAG if vlan else 0) + IP_HDR[family] + 8 + a["iv"] +
            esp_payload(frame, alg, vlan) + a["icv"] + FCS)


def smallest_frame(family, vlan=0):
    """The smallest frame (FCS included) that holds the headers."""
    return ETH + (VLAN_TAG if vlan else 0) + IP_HDR[family] + UDP_HDR + FCS


def cmd_clear(args):
    from scapy.all import IP, UDP, Dot1Q, Ether, IPv6, Raw, wrpcap  # noqa: E402

    period = frame_sizes(args.size)
    small = smallest_frame(args.family, args.vlan)
    if min(period) < small:
        sys.stderr.write(f"traffic.py: a {min(period)}-byte frame cannot hold {args.family}"
                         f"{' with a tag' if args.vlan else ''} and UDP headers "
                         f"(at least {small} bytes)\n")
        return 2
    # As many packets as make every flow and every IMIX slot come round evenly.
    n = math.lcm(args.flows, len(period))
    while n < args.min_packets:
        n *= 2
    a, b = SITES[args.family]
    src, dst = (a, b) if args.dir == "out" else (b, a)
    link = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    if args.vlan:
        link = link / Dot1Q(vlan=args.vlan)
    pkts = []
    for i in range(n):
        frame = period[i % len(period)]
        payload = frame - small
        if args.family == "ipv6":
            ip = IPv6(src=src, dst=dst, fl=i % args.flows)
        else:
            ip = IP(src=src, dst=dst, id=i & 0xffff)
        p = link / ip / UDP(sport=SPORT_BASE + i % args.flows, dport=DPORT) / Raw(bytes(payload))
        pkts.append(p)
    wrpcap(args.out, pkts, linktype=1)


def cmd_esp(args):
    a = ALGS[args.alg]
    cmd = [args.esptool, "encrypt", "--spi", hex(SPI), "--cipher", a["cipher"], "--key", a["key"],
           "--seed", "00" * 32]
    if args.family == "ipv6":
        cmd += ["--family", "ipv6"]
    if a["auth"]:
        cmd += ["--auth", a["auth"], "--auth-key", a["auth_key"]]
    r = subprocess.run(cmd + [args.clear, args.out], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        return 1
    return 0


def cmd_info(args):
    if args.what == "algs":
        print(json.dumps(ALGS))
    else:
        print(json.dumps({s: {"mean_frame": mean_frame(s), "frames": frame_sizes(s)}
                          for s in args.names}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("clear")
    c.add_argument("--size", required=True)
    c.add_argument("--flows", type=int, required=True)
    c.add_argument("--dir", choices=("out", "in"), required=True)
    c.add_argument("--min-packets", type=int, default=1024)
    c.add_argument("--family", choices=("ipv4", "ipv6"), default="ipv4")
    c.add_argument("--vlan", type=int, default=0, help="802.1Q tag ID (1-4094), 0 for none")
    c.add_argument("out")
    e = sub.add_parser("esp")
    e.add_argument("--alg", choices=sorted(ALGS), required=True)
    e.add_argument("--esptool", required=True)
    e.add_argument("--family", choices=("ipv4", "ipv6"), default="ipv4")
    e.add_argument("clear")
    e.add_argument("out")
    i = sub.add_parser("info")
    i.add_argument("what", choices=("algs", "sizes"))
    i.add_argument("names", nargs="*")
    args = ap.parse_args()
    if args.cmd == "clear" and not 0 <= args.vlan <= 4094:
        ap.error("--vlan: 1-4094, or 0 for untagged frames")
    return {"clear": cmd_clear, "esp": cmd_esp, "info": cmd_info}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
