#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The member's own address on its protected port (the exception path, R38),
as TAP.

  host H (192.0.2.10) --veth-- [gvpnd, namespace G] --veth-- K: key server 10.77.0.1,
          hC        gC=inside              wan=gW      kW    WAN host 198.51.100.20
                             kernel interface "wan" 10.77.0.2/24 (net_tap)

gvpnd's namespace G has no interface of its own but the one gvpnd creates
for its protected port: the key server is reachable only through the port.
The member registers in band, takes a unicast push, moves to a multicast
KEK and takes a push sent only to the group, answers ping on its address
and encrypts the host's traffic meanwhile. Then a flood of UDP at the box's
address, from an address that is not a key server's: it is rate-limited
and counted, transit traffic keeps being encrypted, and a push sent during
the flood is applied.

Usage: test_inband.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import (Gvpnd, KeyServer, PushControl, Tap, have_netns,  # noqa: E402
                      main_guard, run, run_all)

PSK = "group-member-psk-0123456789"
KS_ADDR, GM_ADDR, GW_ADDR = "10.77.0.1", "10.77.0.2", "10.77.0.1"
HOST, PEER = "192.0.2.10", "198.51.100.20"
FLOODER = "10.77.0.99"
GROUP = "239.192.0.7"
GID = 1001
PUNT_RATE = 2000
# What a shared two-core test machine delivers through a veth and
# net_af_packet without the kernel dropping frames before gvpnd sees them
# (a push lost there is no fault of gvpnd's): ten times the punt rate.
FLOOD_PPS = 20000


def ks_conf(control):
    return {"listen": KS_ADDR, "port": 848, "psk": PSK, "control_file": control,
            "groups": [{"id": GID, "atd": 0, "dtd": 2,
                        "kek": {"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256",
                                "rsa_bits": 2048, "ack": "sha256", "lifetime": 3600},
                        "teks": [{"spi": 0x7000, "cipher": "aes-cbc", "key_bits": 128,
                                  "auth": "hmac-sha1-96", "src": "192.0.2.0/24",
                                  "dst": "198.51.100.0/24", "mirror": True,
                                  "lifetime": 600}]}]}


def gm_conf():
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_af_packet0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_af_packet1";
     address = "{GM_ADDR}/24"; gateway = "{GW_ADDR}"; punt_rate = {PUNT_RATE}; }}
);
groups = ( {{
  name = "corp"; id = {GID};
  key_servers = ( "{KS_ADDR}:848" );
  local_address = "{GM_ADDR}";
  psk = "{PSK}";
  phase1 = ( "aes128-sha1-modp2048" );
  retry_interval = 2; retries = 3;
}} );
"""


class Topology:
    """Namespaces H, G and K; veths hC-gC and gW-kW."""

    def __init__(self):
        t = f"ib{os.getpid() % 100000}"
        self.h, self.g, self.k = f"{t}h", f"{t}g", f"{t}k"

    def __enter__(self):
        h, g, k = self.h, self.g, self.k
        cmds = [["ip", "netns", "add", n] for n in (h, g, k)]
        cmds += [["ip", "link", "add", "hC", "netns", h, "type", "veth", "peer", "name", "gC",
                  "netns", g],
                 ["ip", "link", "add", "gW", "netns", g, "type", "veth", "peer", "name", "kW",
                  "netns", k]]
        for ns, dev in ((h, "hC"), (g, "gC"), (g, "gW"), (k, "kW")):
            cmds += [["ip", "netns", "exec", ns, "sysctl", "-qw",
                      f"net.ipv6.conf.{dev}.disable_ipv6=1"],
                     ["ip", "-n", ns, "link", "set", dev, "up"]]
        for ns in (h, g, k):
            cmds.append(["ip", "-n", ns, "link", "set", "lo", "up"])
        # gvpnd's veth ends are wires: their own stack must not answer for
        # the box's address, which lives on the kernel interface gvpnd makes
        cmds += [["ip", "netns", "exec", g, "sysctl", "-qw", f"net.ipv4.conf.{d}.{s}={v}"]
                 for d in ("gW", "gC") for s, v in (("arp_ignore", 8), ("rp_filter", 1))]
        # checksums filled in by the sender: a veth would leave them to an
        # offload no wire does, and the box's kernel would refuse them
        cmds += [["ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off"]
                 for ns, dev in ((h, "hC"), (k, "kW"))]
        cmds += [["ip", "-n", h, "addr", "add", f"{HOST}/24", "dev", "hC"],
                 ["ip", "-n", h, "route", "add", "198.51.100.0/24", "dev", "hC"],
                 ["ip", "-n", k, "addr", "add", f"{KS_ADDR}/24", "dev", "kW"],
                 ["ip", "-n", k, "addr", "add", f"{PEER}/24", "dev", "kW"],
                 ["ip", "-n", k, "route", "add", "224.0.0.0/4", "dev", "kW"],
                 ["ip", "-n", k, "route", "add", "192.0.2.0/24", "dev", "kW"]]
        run_all(cmds, self.__exit__)
        return self

    def __exit__(self, *exc):
        for ns in (self.h, self.g, self.k):
            run(["ip", "netns", "del", ns])


def group(g):
    return g.tel("/gvpn/groups")["corp"]


def port(g):
    return g.tel("/gvpn/ports")["wan"]


def active_spis(g):
    return sorted(s for s, v in g.tel("/gvpn/sa").items() if v["state"] == "active")


def encrypted(g):
    return g.tel("/gvpn/lcores")["total"]["encrypted"]


# Counts ESP frames from HOST on the WAN, in K, for a while: the host's
# traffic leaves the box encrypted.
ESP_COUNTER = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("kW", 0))
s.settimeout(0.2)
src = socket.inet_aton(sys.argv[1])
end = time.time() + float(sys.argv[2])
esp = clear = 0
while time.time() < end:
    try:
        f = s.recv(65535)
    except socket.timeout:
        continue
    if len(f) < 34 or f[26:30] != src:
        continue
    if f[23] == 50:
        esp += 1
    else:
        clear += 1
print(esp, clear)
"""

# Sends COUNT UDP datagrams from the host to the WAN peer, one per millisecond.
SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"transit %d" % i, (sys.argv[1], 9999))
    time.sleep(0.001)
"""

# UDP at the box's address from an address that is no key server's, on the
# GDOI port, at PPS frames a second for SECONDS (as fast as a raw socket takes
# them when PPS is 0).
FLOOD = r"""
import socket, struct, sys, time
dst_mac = bytes.fromhex(sys.argv[1].replace(":", ""))
src, dst, secs, pps = sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("kW", 0))
src_mac = s.getsockname()[4]
def csum(b):
    t = sum(struct.unpack("!10H", b))
    t = (t & 0xffff) + (t >> 16)
    t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
frames = []
for sport in range(20000, 20256):
    payload = b"\x00" * 32
    udp = struct.pack("!HHHH", sport, 848, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frames.append(dst_mac + src_mac + b"\x08\x00" + ip + udp)
n = 0
start = time.time()
end = start + secs
while time.time() < end:
    for f in frames:
        try:
            s.send(f)
            n += 1
        except OSError:
            pass
    if pps:
        ahead = n / pps - (time.time() - start)
        if ahead > 0:
            time.sleep(ahead)
print(n)
"""


def in_ns(ns, script, *args):
    return ["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", script] + [str(a) for a in args]


def test_inband(ctx, tap):
    work = ctx["work"]
    control = PushControl(os.path.join(work, "inband.control.json"))
    with Topology() as t:
        with KeyServer(ctx["root"], ks_conf(control.path), work, "ks-inband", netns=t.k) as ks:
            g = Gvpnd(ctx["gvpnd"], gm_conf(),
                      ["net_af_packet0,iface=gC",
                       "net_af_packet1,iface=gW,framecnt=8192,blocksz=4096,framesz=2048"], work,
                      lcores="0-1", netns=t.g, name="inband")
            with g:
                def interface():
                    # the interface comes up once the ports have started, after telemetry
                    g.wait(lambda: port(g)["interface"] == "wan", what="the kernel interface")
                    p = port(g)
                    assert p["address"] == f"{GM_ADDR}/24", p
                    links = run(["ip", "-n", t.g, "-o", "link", "show", "wan"]).stdout
                    mac = run(["ip", "-n", t.g, "-o", "link", "show", "gW"]).stdout
                    assert "link/ether" in links, links
                    want = mac.split("link/ether")[1].split()[0]
                    assert links.split("link/ether")[1].split()[0] == want, (links, mac)
                    addrs = run(["ip", "-n", t.g, "-o", "-4", "addr"]).stdout
                    assert f"{GM_ADDR}/24" in addrs and "wan" in addrs, addrs
                    routes = run(["ip", "-n", t.g, "route"]).stdout
                    assert f"default via {GW_ADDR} dev wan" in routes, routes
                    # no other way out of G: every route uses the port's interface
                    assert all(" dev wan" in r for r in routes.splitlines()), routes
                tap.check("the protected port's kernel interface 'wan' has the port's MAC, "
                          "its address and the default route; G has no other route",
                          interface)

                def registers():
                    g.wait(lambda: group(g)["state"] == "registered", timeout=30,
                           what="registration through the protected port")
                    p = port(g)
                    assert p["punted"] > 0 and p["injected"] > 0, p
                tap.check("registers with the key server through its protected port "
                          "(punted and injected counted)", registers)

                def ping():
                    r = run(["ip", "netns", "exec", t.k, "ping", "-c", "3", "-i", "0.2",
                             "-W", "2", GM_ADDR])
                    assert r.returncode == 0, r.stdout + r.stderr
                tap.check("answers ping on its address", ping)

                def transit():
                    counter = subprocess.Popen(in_ns(t.k, ESP_COUNTER, HOST, 4),
                                               stdout=subprocess.PIPE, text=True)
                    time.sleep(0.5)
                    r = run(in_ns(t.h, SENDER, PEER, 200))
                    assert r.returncode == 0, r.stderr
                    out, _ = counter.communicate(timeout=15)
                    esp, clear = map(int, out.split())
                    assert esp >= 190 and clear == 0, (esp, clear)
                tap.check("encrypts the host's traffic to the WAN meanwhile (ESP on the "
                          "wire, nothing in clear)", transit)

                def unicast_push():
                    spis = active_spis(g)
                    d = control.push(ks, rekey=True)
                    assert d["peers"] == [f"{GM_ADDR}:848"] or \
                        d["peers"][0].startswith(GM_ADDR), d
                    g.wait(lambda: group(g)["pushes"] == 1, timeout=10,
                           what="the unicast push to be applied")
                    g.wait(lambda: active_spis(g) != spis, timeout=5,
                           what="the pushed TEK to encrypt")
                tap.check("takes a unicast push through its protected port", unicast_push)

                def multicast_push():
                    control.push(ks, new_kek={"dst": GROUP, "dst_port": 848})
                    g.wait(lambda: group(g)["push_group"] == f"{GROUP}:848", timeout=10,
                           what="the KEK's multicast group to be joined")
                    n = group(g)["pushes"]
                    d = control.push(ks, rekey=True)
                    assert d["peers"] == [f"{GROUP}:848"], d
                    g.wait(lambda: group(g)["pushes"] == n + 1, timeout=10,
                           what="the multicast push to be applied")
                tap.check("joins the KEK's multicast group on the port's interface and takes "
                          "a push sent only to the group", multicast_push)

                def flood():
                    mac = run(["ip", "-n", t.g, "-o", "link", "show", "wan"]).stdout
                    mac = mac.split("link/ether")[1].split()[0]
                    before = port(g)
                    pushes = group(g)["pushes"]
                    enc0 = encrypted(g)
                    fl = subprocess.Popen(in_ns(t.k, FLOOD, mac, FLOODER, GM_ADDR, 6, FLOOD_PPS),
                                          stdout=subprocess.PIPE, text=True)
                    time.sleep(1.5)
                    counter = subprocess.Popen(in_ns(t.k, ESP_COUNTER, HOST, 3),
                                               stdout=subprocess.PIPE, text=True)
                    time.sleep(0.3)
                    d = control.push(ks, rekey=True)
                    assert d["peers"] == [f"{GROUP}:848"], d
                    r = run(in_ns(t.h, SENDER, PEER, 200))
                    assert r.returncode == 0, r.stderr
                    esp, clear = map(int, counter.communicate(timeout=15)[0].split())
                    sent = int(fl.communicate(timeout=30)[0])
                    try:
                        g.wait(lambda: group(g)["pushes"] == pushes + 1, timeout=10,
                               what="the push sent during the flood to be applied")
                    finally:
                        print(f"# {sent} sent; port {port(g)}; group {group(g)}", flush=True)
                    after = port(g)
                    punted = after["punted"] - before["punted"]
                    dropped = after["punt_rate_dropped"] - before["punt_rate_dropped"]
                    # at most the rate (and its burst) went to the kernel
                    limit = PUNT_RATE * 6 * 1.2 + 200
                    print(f"# flood: {sent} frames sent in 6 s, {punted} punted, "
                          f"{dropped} rate-dropped; {esp} of 200 transit datagrams "
                          f"encrypted during it", flush=True)
                    assert dropped > 0 and punted <= limit, (sent, punted, dropped)
                    assert after["punt_ring_full"] == 0, after
                    assert esp >= 190 and clear == 0, (esp, clear)
                    assert encrypted(g) - enc0 >= 190
                tap.check("a UDP flood at its address: rate-limited before the control core "
                          "and counted, transit still encrypted, a push sent during it applied",
                          flood)

                def counters():
                    p = port(g)
                    for k in ("punted", "punt_rate_dropped", "punt_ring_full",
                              "punt_delivered", "injected", "injected_dropped"):
                        assert k in p, p
                    r = run([os.path.join(ctx["root"], "app", "gvpnctl", "gvpnctl"),
                             "-f", g.prefix, "show", "ports"])
                    assert r.returncode == 0, r.stderr
                    assert f"{GM_ADDR}/24" in r.stdout and "PUNTED" in r.stdout, r.stdout
                tap.check("telemetry and gvpnctl show the port's address, interface and "
                          "punt counters", counters)

                def clear_counters():
                    keys = ("punted", "punt_rate_dropped", "punt_ring_full", "punt_delivered",
                            "punt_delivery_dropped", "injected", "injected_dropped")
                    before = port(g)
                    assert before["punted"] > 100 and before["punt_delivered"] > 100, before
                    assert before["punt_rate_dropped"] > 0 and before["injected"] > 0, before
                    r = run([os.path.join(ctx["root"], "app", "gvpnctl", "gvpnctl"),
                             "-f", g.prefix, "clear", "counters"])
                    assert r.returncode == 0, r.stderr
                    after = port(g)
                    # from zero again: at most a few frames (ARP, a key server's) since
                    assert all(after[k] <= 10 for k in keys), (before, after)
                    assert after["punt_rate_dropped"] == 0, after
                    assert after["address"] == before["address"], after
                tap.check("clear counters: the port's punt counters, the workers' and the "
                          "kernel interface's, count from zero", clear_counters)
                assert g.stop() == 0
            links = run(["ip", "-n", t.g, "-o", "link"]).stdout
            tap.result(" wan" not in links.replace("gW", ""),
                       "the kernel interface is removed when gvpnd stops", links)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    if not have_netns() or not os.path.exists("/dev/net/tun"):
        tap.skip("the member's own address in band", "needs root, ip netns and /dev/net/tun")
        return tap.done()
    test_inband({"gvpnd": gvpnd, "root": root, "work": work}, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
