#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd's control plane over IPv6 against the independent test key server, as TAP.

gvpnd registers with a key server on ::1 (phase 1 with ID_IPV6_ADDR, GROUPKEY-PULL
over IPv6) and installs IPv6 TEKs, shown with their IPv6 prefixes by telemetry and
`gvpnctl show policy`; the mixed cases (IPv4 TEKs over an IPv6 registration, IPv6 TEKs
over an IPv4 one); pushes over IPv6 applied and acknowledged with ID_IPV6_ADDR; a TEK
whose source and destination are of two families refused with its reason; --check
refuses key servers and a local address of two families and warns about an IPv6
local address the host does not have. Traffic is not looked at: this is the control
plane (the data plane's IPv6 has tests of its own).

Usage: test_gdoi6.py GVPND SOURCE_ROOT WORKDIR
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, KeyServer, PushControl, Tap, main_guard, run  # noqa: E402

from scapy.all import wrpcap  # noqa: E402

PSK = "group-member-psk-0123456789"
BASE_PORT = 19000 + os.getpid() % 1000 * 8

TEK6 = {"spi": 0x6001, "cipher": "aes-cbc", "key_bits": 128, "auth": "hmac-sha1-96",
        "src": "2001:db8:1::/48", "dst": "2001:db8:2::/48", "mirror": True, "lifetime": 600}
TEK4 = {"spi": 0x4001, "cipher": "aes-cbc", "key_bits": 128, "auth": "hmac-sha1-96",
        "src": "192.0.2.0/24", "dst": "198.51.100.0/24", "mirror": True, "lifetime": 600}


def ks_conf(port, listen, teks, **kw):
    conf = {"listen": listen, "port": port, "psk": PSK,
            "groups": [{"id": 1001, "teks": teks}]}
    conf.update(kw)
    return conf


def gm_conf(server, local, extra=""):
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_pcap1"; }}
);
groups = ( {{
  name = "corp"; id = 1001;
  key_servers = ( "{server}" );
  local_address = "{local}";
  psk = "{PSK}";
  retry_interval = 1; retries = 2;
  {extra}
}} );
"""


def member(ctx, name, conf):
    w = ctx["work"]
    empty = os.path.join(w, "empty.pcap")
    if not os.path.exists(empty):
        wrpcap(empty, [], linktype=1)
    vdevs = [f"net_pcap0,rx_pcap={empty},tx_pcap={w}/{name}.back.pcap",
             f"net_pcap1,rx_pcap={empty},tx_pcap={w}/{name}.esp.pcap"]
    return Gvpnd(ctx["gvpnd"], conf, vdevs, w, name=name)


def group(g):
    return g.tel("/gvpn/groups")["corp"]


def gvpnctl(ctx, g, *args):
    r = run([os.path.join(ctx["root"], "app", "gvpnctl", "gvpnctl"), "-f", g.prefix] + list(args))
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


def tek_rules(ctx, g):
    """{(src, dst)} of the TEK policies `gvpnctl show policy --json` lists."""
    rules = json.loads(gvpnctl(ctx, g, "show", "policy", "--json"))
    return {(r["src"], r["dst"]) for r in rules.values() if r["kind"] == "tek"}


def test_ipv6_registration(ctx, tap):
    port = BASE_PORT
    with KeyServer(ctx["root"], ks_conf(port, "::1", [TEK6]), ctx["work"], "ks6") as ks:
        with member(ctx, "reg6", gm_conf(f"[::1]:{port}", "::1")) as g:
            def registers():
                g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                       what="registration over IPv6")
                info = group(g)
                assert info["key_server"] == f"[::1]:{port}" and info["sas"] == 1, info
                sa = g.tel("/gvpn/sa")["0x00006001"]
                assert sa["state"] == "active" and sa["cipher"] == "aes-cbc-128", sa
                # the key server saw phase 1 from ::1 with the identity ID_IPV6_ADDR ::1
                p1 = [e for e in ks.events() if e["event"] == "phase1_established"]
                assert p1 and p1[-1]["peer_id"] == "::1", p1
                assert p1[-1]["peer"].startswith("[::1]:"), p1
                pulls = ks.state()["pulls"]
                assert pulls and pulls[-1]["peer"].startswith("[::1]:"), pulls
            tap.check("registers with a key server on [::1] (IPv6 socket, phase-1 identity "
                      "ID_IPV6_ADDR ::1) and installs its IPv6 TEK", registers)

            def shown():
                pol = g.tel("/gvpn/policy")
                teks = [r for r in pol.values() if r["kind"] == "tek"]
                assert {(r["src"], r["dst"], r["family"]) for r in teks} == {
                    ("2001:db8:1::/48", "2001:db8:2::/48", "ipv6")}, pol
                assert teks[0]["both_ways"] == 1 and teks[0]["spis"] == "0x00006001", teks
                out = gvpnctl(ctx, g, "show", "policy")
                line = [ln for ln in out.splitlines() if " tek " in f" {ln} "]
                assert len(line) == 1, out
                assert line[0].split()[3:5] == ["2001:db8:1::/48", "2001:db8:2::/48"], out
                ks_out = gvpnctl(ctx, g, "show", "key-servers")
                assert f"[::1]:{port}" in ks_out and "member address [::1]:" in ks_out, ks_out
                grp = gvpnctl(ctx, g, "show", "groups")
                assert f"[::1]:{port}" in grp, grp
            tap.check("telemetry and gvpnctl show the IPv6 TEK policy's prefixes "
                      "(show policy, --json) and the IPv6 key server and member address",
                      shown)
            assert g.stop() == 0


def test_mixed(ctx, tap):
    """IPv4 TEKs over an IPv6 registration; IPv6 TEKs over an IPv4 one."""
    for i, (listen, server, local, tek, want) in enumerate([
            ("::1", "[::1]:{port}", "::1", TEK4, ("192.0.2.0/24", "198.51.100.0/24")),
            ("127.0.0.1", "127.0.0.1:{port}", "127.0.0.1", TEK6,
             ("2001:db8:1::/48", "2001:db8:2::/48"))]):
        def case(i=i, listen=listen, server=server, local=local, tek=tek, want=want):
            port = BASE_PORT + 1 + i
            with KeyServer(ctx["root"], ks_conf(port, listen, [tek]), ctx["work"], f"ks-mix{i}"):
                with member(ctx, f"mix{i}", gm_conf(server.format(port=port), local)) as g:
                    g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                           what="registration")
                    assert f"0x{tek['spi']:08x}" in g.tel("/gvpn/sa")
                    rules = tek_rules(ctx, g)
                    assert rules == {want, (want[1], want[0])} or rules == {want}, rules
                    assert g.stop() == 0
        tap.check(("IPv4 TEKs over an IPv6 registration" if i == 0 else
                   "IPv6 TEKs over an IPv4 registration") + ": registered, policy installed",
                  case)


def test_push(ctx, tap):
    """Pushes from [::1]: a rekey that adds an IPv6 TEK, and an IPv4 one, both applied;
    each acknowledged with the member's ID_IPV6_ADDR."""
    port = BASE_PORT + 3
    ctl = os.path.join(ctx["work"], "ks-push6-control.json")
    kek = {"algorithm": "aes-cbc", "key_bits": 128, "rsa_bits": 1024, "ack": "sha256"}
    conf = ks_conf(port, "::1", [TEK6], control_file=ctl)
    conf["groups"][0]["kek"] = kek
    pc = PushControl(ctl)
    with KeyServer(ctx["root"], conf, ctx["work"], "ks-push6") as ks:
        with member(ctx, "push6", gm_conf(f"[::1]:{port}", "::1")) as g:
            g.wait(lambda: group(g)["state"] == "registered" and group(g)["kek"] == "yes",
                   timeout=20, what="registration with a KEK")

            def rekey():
                d = pc.push(ks, rekey=True)
                assert d["peers"] and d["peers"][0].startswith("[::1]:"), d
                g.wait(lambda: "0x00006002" in g.tel("/gvpn/sa"), timeout=10,
                       what="the pushed TEK")
                assert group(g)["pushes"] == 1, group(g)
                g.wait(lambda: ks.state()["counters"]["acks_valid"] >= 1, timeout=10,
                       what="the acknowledgement")
                assert ks.state()["counters"]["acks_invalid"] == 0, ks.state()["counters"]
                acks = ks.state()["groups"]["1001"]["acks"]
                assert acks[-1]["peer"].startswith("[::1]:"), acks
            tap.check("a push over IPv6 (rekey of the IPv6 TEK) is applied; its "
                      "acknowledgement (ID_IPV6_ADDR ::1) is valid", rekey)

            def add_ipv4():
                pc.push(ks, teks=[dict(TEK4, spi=0x4002)])
                g.wait(lambda: "0x00004002" in g.tel("/gvpn/sa"), timeout=10,
                       what="the pushed IPv4 TEK")
                rules = tek_rules(ctx, g)
                assert ("192.0.2.0/24", "198.51.100.0/24") in rules, rules
                assert ("2001:db8:1::/48", "2001:db8:2::/48") in rules, rules
            tap.check("a push over IPv6 adds an IPv4 TEK beside the IPv6 one", add_ipv4)
            assert g.stop() == 0


def test_two_family_tek_refused(ctx, tap):
    port = BASE_PORT + 4
    bad = dict(TEK4, src="192.0.2.0/24", dst="2001:db8:2::/48")

    def refused():
        with KeyServer(ctx["root"], ks_conf(port, "::1", [bad]), ctx["work"], "ks-bad6"):
            with member(ctx, "bad6", gm_conf(f"[::1]:{port}", "::1")) as g:
                g.wait(lambda: group(g)["failures"] >= 1, timeout=20, what="a failed pull")
                info = group(g)
                assert info["state"] == "failed" and info["sas"] == 0, info
                assert info["last_error"] == (
                    f"[::1]:{port}: SA TEK source and destination are of different address "
                    "families"), info
                assert g.stop() == 0
        assert "registration failed: [::1]:" in g.output(), g.output()[-2000:]
    tap.check("a TEK whose source is IPv4 and destination IPv6 is refused, its reason in "
              "last_error and the log; nothing installed", refused)


def test_check(ctx, tap):
    cases = [
        ('"[::1]:848", "127.0.0.1"', "::1",
         'groups[0].key_servers[1]: an IPv4 key server after IPv6 ones'),
        ('"[::1]:848"', "127.0.0.1",
         "groups[0].local_address: an IPv4 address, but key_servers are IPv6"),
    ]
    for i, (servers, local, text) in enumerate(cases):
        def case(servers=servers, local=local, text=text, i=i):
            conf = gm_conf("X", local).replace('"X"', servers)
            path = os.path.join(ctx["work"], f"check6-{i}.conf")
            with open(path, "w") as f:
                f.write(conf)
            r = run([ctx["gvpnd"], "--", "-f", path, "--check"], timeout=10)
            assert r.returncode != 0, r
            assert text in r.stderr, r.stderr
        tap.check(f"--check refuses key servers and local_address of two families: {text}",
                  case)

    def warns():
        path = os.path.join(ctx["work"], "check6-noaddr.conf")
        with open(path, "w") as f:
            f.write(gm_conf("[2001:db8::10]:848", "2001:db8::9"))
        r = run([ctx["gvpnd"], "--", "-f", path, "--check"], timeout=10)
        assert r.returncode == 0, r
        assert ("gvpnd: warning: groups[corp].local_address 2001:db8::9 is not assigned on "
                "this host") in r.stderr, r.stderr
    tap.check("--check warns about an IPv6 local address the host does not have", warns)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    ctx = {"gvpnd": gvpnd, "root": root, "work": work}
    tap = Tap()
    test_check(ctx, tap)
    test_ipv6_registration(ctx, tap)
    test_mixed(ctx, tap)
    test_push(ctx, tap)
    test_two_family_tek_refused(ctx, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
