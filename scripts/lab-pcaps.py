#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the pcap files the README's first run reads:

  clear.pcap    UDP datagrams from 192.0.2.0/24 to 198.51.100.0/24, the
                selector of config/static-group.conf: gvpnd encrypts them
  esp-in.pcap   empty: nothing arrives on the protected port

Usage: scripts/lab-pcaps.py [DIR]   (default: the current directory)
"""
import os
import sys

from scapy.all import IP, UDP, Ether, Raw, wrpcap


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    clear = [Ether() / IP(src=f"192.0.2.{10 + i % 4}", dst="198.51.100.20", id=i) /
             UDP(sport=40000 + i, dport=5000) / Raw(b"lab datagram %d" % i) for i in range(16)]
    wrpcap(os.path.join(out, "clear.pcap"), clear)
    wrpcap(os.path.join(out, "esp-in.pcap"), [], linktype=1)
    print(f"wrote {out}/clear.pcap ({len(clear)} datagrams) and {out}/esp-in.pcap (empty)")


if __name__ == "__main__":
    main()
