#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""G-IKEv2 GSA_REKEY to a multicast group (draft-ietf-ipsecme-g-ikev2 2.4.1:
the rekey SA's destination), as TAP.

The test key server (test/ks/gikev2_ks.py) runs in one network namespace and
gvpnd's control plane in another, joined by a veth pair; the key server's
namespace routes multicast out of the veth. The member registers by unicast
(IKE_SA_INIT, GSA_AUTH), joins the rekey SA's group (the kernel's IGMP
membership shows it) and applies GSA_REKEY messages that the key server sends
to that group alone; one sent to a group it is not in is not applied. A new
rekey SA naming another group moves it there; the rekey SA deleted by a
GSA_REKEY to the group makes it leave. On its orderly stop the member leaves
the group (GSA_REGISTRATION with IDg and a notification) and deletes its
IKE SA, both seen by the key server.

Usage: test_gikev2_mc.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import GcKs, Gvpnd, Netns, Tap, have_netns, main_guard, run  # noqa: E402

from scapy.all import wrpcap  # noqa: E402

PSK = "g-ikev2-member-psk-0123456789"
KS_ADDR, GM_ADDR = "10.98.0.1", "10.98.0.2"
GROUP1, GROUP2, ELSEWHERE = "239.192.1.5", "239.192.1.6", "239.192.1.7"


def tek(src, dst):
    return {"encr": 12, "bits": 128, "integ": 12, "lifetime": 900,
            "src": [f"{src}.0", f"{src}.255"], "dst": [f"{dst}.0", f"{dst}.255"]}


def ks_conf(control):
    return {"address": KS_ADDR, "port": 848, "psk": PSK, "group_id": "corp-g",
            "atd": 0, "dtd": 2, "control": control, "rekey_multicast": True,
            "teks": [tek("192.0.2", "198.51.100"), tek("198.51.100", "192.0.2")],
            "rekey": {"initial_msgid": 10, "dst": [GROUP1, GROUP1, 17, 848, 848]}}


def gm_conf():
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_pcap1"; }}
);
groups = ( {{
  name = "corp"; id = 77;
  protocol = "g-ikev2";
  idg = "corp-g";
  key_servers = ( "{KS_ADDR}:848" );
  local_address = "{GM_ADDR}";
  psk = "{PSK}";
  ikev2_proposals = ( "aes128-sha256-modp2048-kw128" );
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


def active_spis(g):
    return sorted(s for s, v in g.tel("/gvpn/sa").items() if v["state"] == "active")


def new_spis(ks):
    return {f"0x{t['spi']:08x}" for t in ks.events("new_teks")[-1]["teks"]}


def test_multicast_rekeys(ctx, tap):
    work = ctx["work"]
    empty = os.path.join(work, "gikev2-mc.empty.pcap")
    wrpcap(empty, [], linktype=1)
    with Netns("gmc") as ns:
        for c in (["ip", "-n", ns.a, "addr", "add", f"{KS_ADDR}/24", "dev", "va"],
                  ["ip", "-n", ns.b, "addr", "add", f"{GM_ADDR}/24", "dev", "vb"],
                  ["ip", "-n", ns.a, "route", "add", "224.0.0.0/4", "dev", "va"]):
            r = run(c)
            assert r.returncode == 0, f"{' '.join(c)}: {r.stderr}"
        conf = ks_conf(os.path.join(work, "gikev2-mc.control"))
        with GcKs(ctx["root"], conf, work, "gcks-mc", netns=ns.a) as ks:
            g = Gvpnd(ctx["gvpnd"], gm_conf(),
                      [f"net_pcap0,rx_pcap={empty},tx_pcap=/dev/null",
                       f"net_pcap1,rx_pcap={empty},tx_pcap=/dev/null"], work, netns=ns.b,
                      name="gikev2-mc")
            with g:
                def joins():
                    g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                           what="registration")
                    assert ks.events("gsa_auth")[-1]["peer"] == GM_ADDR, ks.events("gsa_auth")
                    g.wait(lambda: group(g)["push_group"] == f"{GROUP1}:848", timeout=5,
                           what="the rekey SA's group to be joined")
                    assert GROUP1 in memberships(ns.b), memberships(ns.b)
                    assert len(active_spis(g)) == 2, g.tel("/gvpn/sa")
                if not tap.check("registers by unicast (GSA_AUTH) and joins the rekey SA's "
                                 "multicast group (IGMP membership on its address)", joins):
                    return

                def multicast_rekey():
                    sent = ks.act("rekey")
                    assert sent["to"] == [f"{GROUP1}:848"], sent
                    g.wait(lambda: group(g)["rekeys"] == 1, timeout=10,
                           what="the GSA_REKEY sent to the group to be applied")
                    g.wait(lambda: set(active_spis(g)) == new_spis(ks), timeout=5,
                           what="the new TEKs to encrypt")
                    assert group(g)["push_seq"] == 10, group(g)
                tap.check("a GSA_REKEY sent only to the group (no unicast copy) is applied: "
                          "its TEKs encrypt", multicast_rekey)

                def not_in_group():
                    before = group(g)
                    sent = ks.act("rekey", group=ELSEWHERE)
                    assert sent["to"] == [f"{ELSEWHERE}:848"], sent
                    time.sleep(2)
                    after = group(g)
                    assert after["rekeys"] == before["rekeys"], (before, after)
                    assert after["push_seq"] == before["push_seq"], (before, after)
                    # the same rekey SA's next message, to its group, is taken
                    sent = ks.act("rekey")
                    assert sent["to"] == [f"{GROUP1}:848"], sent
                    g.wait(lambda: group(g)["rekeys"] == before["rekeys"] + 1, timeout=10,
                           what="the next GSA_REKEY to the group")
                    assert group(g)["push_seq"] == 12, group(g)
                tap.check("a GSA_REKEY sent to a group the member has not joined never "
                          "reaches it; the next one, to its group, is applied", not_in_group)

                def moves():
                    sent = ks.act("new_rekey_sa", dst=GROUP2)
                    assert sent["to"] == [f"{GROUP1}:848"], sent
                    g.wait(lambda: group(g)["push_group"] == f"{GROUP2}:848", timeout=10,
                           what="the new rekey SA's group")
                    m = memberships(ns.b)
                    assert GROUP2 in m and GROUP1 not in m, m
                    rekeys = group(g)["rekeys"]
                    sent = ks.act("rekey")
                    assert sent["to"] == [f"{GROUP2}:848"], sent
                    g.wait(lambda: group(g)["rekeys"] == rekeys + 1, timeout=10,
                           what="a GSA_REKEY to the new group")
                    # under the new rekey SA message IDs start again at 0
                    assert group(g)["push_seq"] == 0, group(g)
                tap.check("a new rekey SA naming another group: the member leaves the first, "
                          "joins the second and takes GSA_REKEY there", moves)

                def leaves():
                    regs = group(g)["registrations"]
                    sent = ks.act("exclude")
                    assert sent["to"] == [f"{GROUP2}:848"], sent
                    # re-registration waits 2-4 s: the group is left before
                    g.wait(lambda: group(g)["push_group"] == "", timeout=1.5,
                           what="the rekey SA's group to be left")
                    assert GROUP2 not in memberships(ns.b), memberships(ns.b)
                    assert group(g)["push_group_failures"] == 0, group(g)
                    g.wait(lambda: group(g)["registrations"] == regs + 1, timeout=10,
                           what="the registration after the exclusion")
                    g.wait(lambda: group(g)["push_group"] == f"{GROUP2}:848", timeout=5,
                           what="the group to be joined again")
                tap.check("the rekey SA deleted by a GSA_REKEY to the group: the member leaves "
                          "the group, and joins it again when it registers again", leaves)

                def stop_leaves():
                    t0 = time.time()
                    assert g.stop() == 0
                    took = time.time() - t0
                    left = ks.events("left")
                    assert left and left[-1]["peer"] == GM_ADDR, ks.events()[-5:]
                    assert left[-1]["group"] == "corp-g" and left[-1]["notify"] == [49], left
                    ike = ks.events("ike_sa")[-1]
                    dele = ks.events("ike_deleted")
                    assert dele and dele[-1]["spi_i"] == ike["spi_i"], (dele, ike)
                    assert "left the group at key server" in g.output(), g.output()[-2000:]
                    print(f"# stop took {took:.2f} s", flush=True)
                tap.check("stopped (SIGTERM), the member leaves the group by GSA_REGISTRATION "
                          "(IDg corp-g, REGISTRATION_FAILED) and deletes its IKE SA; the key "
                          "server logs both", stop_leaves)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    if not have_netns():
        tap.skip("G-IKEv2 multicast rekeys between namespaces", "needs root and ip netns")
        return tap.done()
    test_multicast_rekeys({"gvpnd": gvpnd, "root": root, "work": work}, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
