#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""What scripts/demo.sh shows that gvpnctl cannot: the WAN as tshark sees it
and the hosts' own traffic (gvpnctl shows the members' state).

  demo_view.py wan PCAP    the IP packets on the WAN: only ESP, hosts' addresses
  demo_view.py serve       hostB: receive a UDP datagram and a TCP transfer
  demo_view.py send        hostA: send them
"""
import socket
import subprocess
import sys


def wan(pcap):
    r = subprocess.run(["tshark", "-r", pcap, "-Y", "ip", "-T", "fields", "-E", "separator=|",
                        "-e", "ip.src", "-e", "ip.dst", "-e", "_ws.col.Protocol", "-e", "esp.spi"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"  tshark -r {pcap}: {r.stderr.strip()}")
    rows = [line.split("|") for line in r.stdout.splitlines()]
    esp = [x for x in rows if x[2] == "ESP"]
    other = [x for x in rows if x[2] != "ESP"]
    print(f"  on the WAN: {len(esp)} ESP packets, {len(other)} other IP packets")
    if esp:
        x = esp[0]
        print(f"  tshark: {x[0]} -> {x[1]} ESP (SPI={x[3]}): the hosts' own addresses")
    if other:
        print("  NOT ESP: " + "; ".join(" ".join(str(f) for f in o) for o in other[:3]))
        sys.exit(1)


HOST_B = "198.51.100.20"
UDP_PORT, TCP_PORT, TCP_BYTES = 40001, 40002, 200000


def serve():
    """Print "ready", then what arrived; exit 1 unless it all did."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("", UDP_PORT))
    u.settimeout(10)
    t = socket.socket()
    t.bind(("", TCP_PORT))
    t.listen(1)
    t.settimeout(10)
    print("ready", flush=True)
    d, a = u.recvfrom(2000)
    print(f"hostB got UDP {d.decode()!r} from {a[0]}", flush=True)
    c, a = t.accept()
    c.settimeout(10)
    n = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        n += len(b)
    print(f"hostB got {n} bytes over TCP from {a[0]}", flush=True)
    sys.exit(0 if n == TCP_BYTES else 1)


def send():
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hello from site A",
                                                            (HOST_B, UDP_PORT))
    s = socket.create_connection((HOST_B, TCP_PORT), timeout=10)
    s.sendall(b"x" * TCP_BYTES)
    s.close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"wan": lambda: wan(args[0]), "serve": serve, "send": send}[cmd]()
