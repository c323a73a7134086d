#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""What scripts/demo.sh shows an operator: group state, SAs, port counters,
the WAN as tshark sees it, and the hosts' own traffic.

  demo_view.py groups PREFIX...      demo_view.py sa PREFIX
  demo_view.py ports PREFIX          demo_view.py wan PCAP
  demo_view.py traffic NS_A NS_B
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "pylib"))
from gvpntest import Telemetry  # noqa: E402


def tel(prefix, cmd):
    t = Telemetry(prefix)
    try:
        return t(cmd)
    finally:
        t.close()


def table(rows, head):
    w = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  " + "  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))


def groups(prefixes):
    rows = []
    for p in prefixes:
        for name, g in tel(p, "/gvpn/groups").items():
            rows.append([p, name, g["state"], g.get("key_server", "-"), g["sas"],
                         f'{g.get("rekey_in_s", -1)} s', g.get("registrations", 0)])
    table(rows, ["member", "group", "state", "key server", "SAs", "rekey in", "registrations"])


def sa(prefix):
    rows = [[spi, s["group"], s["state"], s["cipher"], s["auth"], f'{s["remaining_s"]} s',
             s["packets"], s["bytes"]] for spi, s in tel(prefix, "/gvpn/sa").items()]
    print(f"  SAs of {prefix}:")
    table(rows, ["SPI", "group", "state", "cipher", "auth", "remaining", "packets", "bytes"])


def ports(prefix):
    rows = [[n, p["role"], p["rx_packets"], p["tx_packets"], p["rx_bytes"], p["tx_bytes"]]
            for n, p in tel(prefix, "/gvpn/ports").items()]
    print(f"  ports of {prefix}:")
    table(rows, ["port", "role", "rx pkts", "tx pkts", "rx bytes", "tx bytes"])
    t = tel(prefix, "/gvpn/lcores")["total"]
    drops = {k: v for k, v in t.items() if k.startswith("drop") and v}
    dropped = ", ".join(f"{k[5:]} {v}" for k, v in sorted(drops.items())) or "none"
    print(f"  encrypted {t['encrypted']}, decrypted {t['decrypted']}, ARP passed "
          f"{t['l2_passed']}, dropped: {dropped}")


def wan(pcap):
    r = subprocess.run(["tshark", "-r", pcap, "-Y", "ip", "-T", "fields", "-E", "separator=|",
                        "-e", "ip.src", "-e", "ip.dst", "-e", "_ws.col.Protocol", "-e", "esp.spi"],
                       capture_output=True, text=True)
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


SERVER = r'''
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("", 40001)); u.settimeout(10)
t = socket.socket(); t.bind(("", 40002)); t.listen(1); t.settimeout(10)
print("ready", flush=True)
d, a = u.recvfrom(2000)
print(f"hostB got UDP {d.decode()!r} from {a[0]}", flush=True)
c, a = t.accept(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
print(f"hostB got {n} bytes over TCP from {a[0]}", flush=True)
'''

CLIENT = r'''
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hello from site A", ("198.51.100.20", 40001))
s = socket.create_connection(("198.51.100.20", 40002), timeout=10)
s.sendall(b"x" * 200000); s.close()
'''


def traffic(ns_a, ns_b):
    srv = subprocess.Popen(["ip", "netns", "exec", ns_b, sys.executable, "-c", SERVER],
                           stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    subprocess.run(["ip", "netns", "exec", ns_a, sys.executable, "-c", CLIENT], check=True)
    out, _ = srv.communicate(timeout=20)
    print("  " + out.strip().replace("\n", "\n  "))
    if srv.returncode != 0 or "200000 bytes" not in out:
        sys.exit(1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"groups": lambda: groups(args), "sa": lambda: sa(args[0]), "ports": lambda: ports(args[0]),
     "wan": lambda: wan(args[0]), "traffic": lambda: traffic(args[0], args[1])}[cmd]()
