#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd between network namespaces, as TAP.

  host (192.0.2.10) --veth-- [gvpnd: net_af_packet x2] --veth-- peer (198.51.100.20)

The host uses its kernel's ordinary UDP sockets; the peer is an independent
ESP implementation (scapy) holding the same SA. gvpnd is a bump in the wire:
ARP passes through, the host's datagrams leave as ESP with the host's own
addresses (R2), and the peer's ESP arrives at the host's socket decrypted.
A second run shows fail-closed and fail-open (R24).

Usage: test_netns.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, Tap, have_netns, main_guard, run, run_all  # noqa: E402

PY = "/usr/bin/python3"
KEY = "000102030405060708090a0b0c0d0e0f"
AUTH_KEY = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"
HOST, PEER = "192.0.2.10", "198.51.100.20"

# The peer's ESP end, run inside the peer namespace.
PEER_ESP = r'''
import socket, sys
from scapy.all import IP, UDP, Raw
from scapy.layers.ipsec import SecurityAssociation, ESP
sa = SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-CBC", crypt_key=bytes.fromhex(sys.argv[2]),
                         auth_algo="HMAC-SHA1-96", auth_key=bytes.fromhex(sys.argv[3]), tunnel_header=IP())
if sys.argv[1] == "recv":
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
    r.settimeout(10)
    print("ready", flush=True)
    pkt = IP(r.recv(65535))
    inner = sa.decrypt(pkt)
    print(pkt.src, pkt.dst, pkt.tos, inner.src, inner.dst, inner[UDP].dport, inner[Raw].load.decode(), flush=True)
else:
    inner = IP(src=sys.argv[4], dst=sys.argv[5]) / UDP(sport=40001, dport=40000) / Raw(sys.argv[6].encode())
    sa2 = SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-CBC", crypt_key=bytes.fromhex(sys.argv[2]),
                              auth_algo="HMAC-SHA1-96", auth_key=bytes.fromhex(sys.argv[3]),
                              tunnel_header=IP(src=sys.argv[4], dst=sys.argv[5]))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(bytes(sa2.encrypt(inner)), (sys.argv[5], 0))
'''

UDP_RECV = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[1])))
s.settimeout(float(sys.argv[2]))
print("ready", flush=True)
try:
    data, addr = s.recvfrom(2000)
    print(data.decode(), addr[0], flush=True)
except socket.timeout:
    print("timeout", flush=True)
'''

UDP_SEND = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xb8)
s.bind(("", 40000))
s.sendto(sys.argv[2].encode(), (sys.argv[1], 40001))
'''


class Lab:
    def __init__(self):
        t = f"gl{os.getpid() % 100000}"
        self.h, self.g, self.p = f"{t}h", f"{t}g", f"{t}p"

    def __enter__(self):
        cmds = [["ip", "netns", "add", n] for n in (self.h, self.g, self.p)]
        cmds += [["ip", "link", "add", "hA", "netns", self.h, "type", "veth", "peer", "name", "gC",
                  "netns", self.g],
                 ["ip", "link", "add", "pB", "netns", self.p, "type", "veth", "peer", "name", "gW",
                  "netns", self.g]]
        for ns in (self.h, self.g, self.p):
            cmds.append(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            cmds.append(["ip", "-n", ns, "link", "set", "lo", "up"])
        cmds += [["ip", "-n", self.h, "addr", "add", f"{HOST}/24", "dev", "hA"],
                 ["ip", "-n", self.h, "link", "set", "hA", "up"],
                 ["ip", "-n", self.h, "route", "add", "198.51.100.0/24", "dev", "hA"],
                 ["ip", "-n", self.p, "addr", "add", f"{PEER}/24", "dev", "pB"],
                 ["ip", "-n", self.p, "link", "set", "pB", "up"],
                 ["ip", "-n", self.p, "route", "add", "192.0.2.0/24", "dev", "pB"],
                 ["ip", "-n", self.g, "link", "set", "gC", "up"],
                 ["ip", "-n", self.g, "link", "set", "gW", "up"],
                 # the host's UDP checksums must be in the frames gvpnd reads
                 ["ip", "netns", "exec", self.h, "ethtool", "-K", "hA", "tx", "off"],
                 ["ip", "netns", "exec", self.p, "ethtool", "-K", "pB", "tx", "off"]]
        run_all(cmds, self.__exit__)
        return self

    def __exit__(self, *exc):
        for ns in (self.h, self.g, self.p):
            run(["ip", "netns", "del", ns])

    def start(self, ns, code, *args):
        """A Python helper in a namespace; returns once it printed 'ready'."""
        p = subprocess.Popen(["ip", "netns", "exec", ns, PY, "-c", code, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline().strip()
        if line != "ready":
            p.kill()
            raise RuntimeError(f"helper did not start: {line} {p.stderr.read()}")
        return p

    def finish(self, p, timeout=15):
        out, err = p.communicate(timeout=timeout)
        return out.strip(), err

    def exec(self, ns, code, *args):
        return run(["ip", "netns", "exec", ns, PY, "-c", code, *args])


def gvpnd_in(lab, ctx, conf, name):
    vdevs = ["net_af_packet0,iface=gC", "net_af_packet1,iface=gW"]
    return Gvpnd(ctx["gvpnd"], conf, vdevs, ctx["work"], netns=lab.g, name=name)


def test_end_to_end(lab, ctx, tap):
    conf = open(os.path.join(ctx["root"], "config", "static-group.conf")).read()
    conf = conf.replace("net_pcap0", "net_af_packet0").replace("net_pcap1", "net_af_packet1")
    with gvpnd_in(lab, ctx, conf, "e2e") as g:
        def host_to_peer():
            rx = lab.start(lab.p, PEER_ESP, "recv", KEY, AUTH_KEY)
            r = lab.exec(lab.h, UDP_SEND, PEER, "hello from the host")
            assert r.returncode == 0, r.stderr
            out, err = lab.finish(rx)
            assert out, f"the peer got no ESP: {err}"
            f = out.split(" ", 6)
            assert f[:2] == [HOST, PEER], f"outer addresses {f[:2]} (R2)"
            assert f[2] == str(0xb8), f"outer TOS {f[2]}"
            assert f[3:6] == [HOST, PEER, "40001"] and f[6] == "hello from the host", out
        tap.check("netns: the host's UDP datagram leaves as ESP with its own addresses; scapy "
                  "decrypts it", host_to_peer)

        def peer_to_host():
            rx = lab.start(lab.h, UDP_RECV, "40000", "10")
            r = lab.exec(lab.p, PEER_ESP, "send", KEY, AUTH_KEY, PEER, HOST, "hello from the peer")
            assert r.returncode == 0, r.stderr
            out, _ = lab.finish(rx)
            assert out == f"hello from the peer {PEER}", f"host socket got {out!r}"
        tap.check("netns: scapy's ESP arrives decrypted at the host's UDP socket", peer_to_host)

        def counters():
            t = g.lcores()
            assert t["encrypted"] >= 1 and t["decrypted"] >= 1 and t["l2_passed"] >= 2, t
            bad = {k: v for k, v in t.items() if k.startswith("drop") and v and k != "drop_no_rule"}
            assert not bad, bad
        tap.check("netns: telemetry counts encrypted, decrypted and ARP frames", counters)
        rc = g.stop()
    tap.result(rc == 0, "netns: gvpnd exits 0 on SIGTERM", g.output())


def test_fail_open(lab, ctx, tap):
    conf = open(os.path.join(ctx["root"], "config", "fail-open.conf")).read()

    def attempt(g, want):
        rx = lab.start(lab.p, UDP_RECV, "40001", "2" if not want else "10")
        lab.exec(lab.h, UDP_SEND, PEER, "clear text")
        out, _ = lab.finish(rx)
        if want:
            assert out == f"clear text {HOST}", f"peer socket got {out!r}"
        else:
            assert out == "timeout", f"traffic passed while fail-closed: {out!r}"

    with gvpnd_in(lab, ctx, conf, "failopen") as g:
        def closed():
            attempt(g, False)
            assert g.lcores()["drop_no_rule"] >= 1
        tap.check("fail-closed: a group without keys drops what fail-open rules name", closed)

        def opened():
            r = g.tel("/gvpn/group/fail_open,corp,on")
            assert r["result"] == "queued", r
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["state"] == "failed", what="failed state")
            attempt(g, True)
            assert g.lcores()["fail_open"] >= 1
        tap.check("fail-open: in the failed state the rule's traffic passes in clear", opened)

        def closed_again():
            g.tel("/gvpn/group/fail_open,corp,off")
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["fail_open"] == "off", what="fail-open off")
            time.sleep(0.2)
            attempt(g, False)
        tap.check("fail-open off: the traffic is dropped again", closed_again)

        def bad_request():
            for params in ("nogroup,on", "corp,maybe", "corp", ""):
                r = g.tel(f"/gvpn/group/fail_open,{params}")
                assert r and "error" in r and "result" not in r, f"accepted {params!r}: {r}"
            assert g.tel("/gvpn/version"), "gvpnd stopped answering"
        tap.check("telemetry: malformed fail_open requests are refused, gvpnd keeps running",
                  bad_request)
        rc = g.stop()
    tap.result(rc == 0, "fail-open run: gvpnd exits 0 on SIGTERM", g.output())


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    ctx = {"gvpnd": gvpnd, "root": root, "work": work}
    if not have_netns():
        for name in ("end to end through namespaces", "fail-closed / fail-open"):
            tap.skip(name, "needs root and ip netns")
        return tap.done()
    with Lab() as lab:
        test_end_to_end(lab, ctx, tap)
    with Lab() as lab:
        test_fail_open(lab, ctx, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
