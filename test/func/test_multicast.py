#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""GROUPKEY-PUSH to a multicast group (RFC 6407 5.3: the SA KEK's destination),
as GET VPN key servers send rekeys by default, as TAP.

The test key server runs in one network namespace and gvpnd's control plane
in another, joined by a veth pair; the key server's namespace routes
multicast out of the veth. The member registers by unicast, joins the KEK's
group (the kernel's IGMP membership shows it), applies pushes that reach it
only through the group and acknowledges them by unicast. A new KEK naming
another group moves it there; a deleted KEK makes it leave.

Usage: test_multicast.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import (Gvpnd, KeyServer, Netns, PushControl, Tap, have_netns,  # noqa: E402
                      main_guard, run)

from scapy.all import wrpcap  # noqa: E402

PSK = "group-member-psk-0123456789"
KS_ADDR, GM_ADDR = "10.99.0.1", "10.99.0.2"
GROUP1, GROUP2 = "239.192.0.5", "239.192.0.6"
GID = 1001


def ks_conf(control):
    return {"listen": KS_ADDR, "port": 848, "psk": PSK, "control_file": control,
            "groups": [{"id": GID, "atd": 0, "dtd": 2,
                        "kek": {"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256",
                                "rsa_bits": 2048, "ack": "sha256", "lifetime": 3600,
                                "dst": GROUP1, "dst_port": 848},
                        "teks": [{"spi": 0x6000, "cipher": "aes-cbc", "key_bits": 128,
                                  "auth": "hmac-sha1-96", "src": "192.0.2.0/24",
                                  "dst": "198.51.100.0/24", "mirror": True,
                                  "lifetime": 600}]}]}


def gm_conf():
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_pcap1"; }}
);
groups = ( {{
  name = "corp"; id = {GID};
  key_servers = ( "{KS_ADDR}:848" );
  local_address = "{GM_ADDR}";
  psk = "{PSK}";
  phase1 = ( "aes128-sha1-modp2048" );
  retry_interval = 1; retries = 2;
}} );
"""


def group(g):
    return g.tel("/gvpn/groups")["corp"]


def memberships(ns):
    """The IPv4 multicast groups the kernel joined on vb in namespace @p ns."""
    out = run(["ip", "-n", ns, "maddress", "show", "dev", "vb"]).stdout
    return {w[1] for w in (line.split() for line in out.splitlines())
            if len(w) >= 2 and w[0] == "inet"}


def acks(ks):
    return ks.state()["counters"].get("acks_valid", 0)


def test_multicast_pushes(ctx, tap):
    work = ctx["work"]
    empty = os.path.join(work, "mcast.empty.pcap")
    wrpcap(empty, [], linktype=1)
    control = PushControl(os.path.join(work, "mcast.control.json"))
    with Netns("mc") as ns:
        for c in (["ip", "-n", ns.a, "addr", "add", f"{KS_ADDR}/24", "dev", "va"],
                  ["ip", "-n", ns.b, "addr", "add", f"{GM_ADDR}/24", "dev", "vb"],
                  ["ip", "-n", ns.a, "route", "add", "224.0.0.0/4", "dev", "va"]):
            r = run(c)
            assert r.returncode == 0, f"{' '.join(c)}: {r.stderr}"
        with KeyServer(ctx["root"], ks_conf(control.path), work, "ks-mcast", netns=ns.a) as ks:
            g = Gvpnd(ctx["gvpnd"], gm_conf(),
                      [f"net_pcap0,rx_pcap={empty},tx_pcap=/dev/null",
                       f"net_pcap1,rx_pcap={empty},tx_pcap=/dev/null"], work, netns=ns.b,
                      name="mcast")
            with g:
                def joins():
                    g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                           what="registration")
                    g.wait(lambda: group(g)["push_group"] == f"{GROUP1}:848", timeout=5,
                           what="the KEK's group to be joined")
                    assert GROUP1 in memberships(ns.b), memberships(ns.b)
                tap.check("registers by unicast and joins the KEK's multicast group (IGMP "
                          "membership on its address)", joins)

                def multicast_push():
                    spi = [s for s, v in g.tel("/gvpn/sa").items() if v["state"] == "active"]
                    d = control.push(ks, rekey=True)
                    assert d["peers"] == [f"{GROUP1}:848"], d
                    g.wait(lambda: group(g)["pushes"] == 1, timeout=10,
                           what="the multicast push to be applied")
                    g.wait(lambda: [s for s, v in g.tel("/gvpn/sa").items()
                                    if v["state"] == "active"] != spi, timeout=5,
                           what="the pushed TEK to encrypt")
                    g.wait(lambda: acks(ks) >= 1, timeout=5,
                           what="the acknowledgement, by unicast")
                tap.check("a push sent only to the group is applied and acknowledged by "
                          "unicast (RFC 8263)", multicast_push)

                def moves():
                    d = control.push(ks, new_kek={"dst": GROUP2})
                    assert d["peers"] == [f"{GROUP1}:848"], d
                    g.wait(lambda: group(g)["push_group"] == f"{GROUP2}:848", timeout=10,
                           what="the new KEK's group")
                    m = memberships(ns.b)
                    assert GROUP2 in m and GROUP1 not in m, m
                    d = control.push(ks, rekey=True)
                    assert d["peers"] == [f"{GROUP2}:848"], d
                    g.wait(lambda: group(g)["pushes"] == 3, timeout=10,
                           what="a push to the new group")
                tap.check("a new KEK naming another group: the member leaves the first, joins "
                          "the second and takes pushes there", moves)

                def leaves():
                    control.push(ks, delete=[{"protocol": "kek"}])
                    g.wait(lambda: group(g)["kek"] == "no", timeout=10,
                           what="the KEK to be deleted")
                    assert group(g)["push_group"] == "", group(g)
                    assert GROUP2 not in memberships(ns.b), memberships(ns.b)
                    assert group(g)["push_group_failures"] == 0, group(g)
                tap.check("the KEK deleted: the member leaves the group", leaves)
                assert g.stop() == 0


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    if not have_netns():
        tap.skip("multicast pushes between namespaces", "needs root and ip netns")
        return tap.done()
    test_multicast_pushes({"gvpnd": gvpnd, "root": root, "work": work}, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
