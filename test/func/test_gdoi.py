#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd as a GDOI group member against the independent test key server, as TAP.

Registration end to end (keys from the key server encrypt traffic that scapy
and tshark decrypt), failover through dead key servers, fail-closed and
fail-open with a silent key server, refusals and malformed answers, and
tshark's view of the whole registration.

Usage: test_gdoi.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gmac_esp import GmacSA  # noqa: E402
from gvpntest import Gvpnd, KeyServer, Tap, main_guard, run  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, rdpcap, wrpcap  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

PSK = "group-member-psk-0123456789"
A, B = "192.0.2.10", "198.51.100.20"
BASE_PORT = 18000 + os.getpid() % 1000 * 8


def ks_conf(port, **kw):
    conf = {"listen": "127.0.0.1", "port": port, "psk": PSK,
            "groups": [{"id": 1001, "teks": [{
                "spi": 0x1001, "cipher": "aes-cbc", "key_bits": 128, "auth": "hmac-sha1-96",
                "src": "192.0.2.0/24", "dst": "198.51.100.0/24", "mirror": True, "lifetime": 600}]}]}
    conf.update(kw)
    return conf


def gm_conf(servers, extra="", psk=PSK,
            phase1='"aes256-sha256-modp2048", "aes128-sha1-modp1024"'):
    ks = ", ".join(f'"127.0.0.1:{p}"' for p in servers)
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_pcap1"; }}
);
bypass = ( {{ protocol = "udp"; dst_port = 848; }} );
groups = ( {{
  name = "corp"; id = 1001;
  key_servers = ( {ks} );
  local_address = "127.0.0.1";
  psk = "{psk}";
  phase1 = ( {phase1} );
  retry_interval = 1; retries = 2;
  {extra}
}} );
"""


def traffic(work, name):
    """Clear traffic replayed forever (infinite_rx) into the clear port."""
    pkts = [Ether() / IP(src=A, dst=B, id=i) / UDP(sport=40000, dport=40001) / Raw(b"group %d" % i)
            for i in range(4)]
    path = os.path.join(work, f"{name}.clear.pcap")
    wrpcap(path, pkts)
    empty = os.path.join(work, "empty.pcap")
    wrpcap(empty, [], linktype=1)
    return pkts, path, empty


def member(ctx, name, conf, clear_in, empty, esp_to=None):
    w = ctx["work"]
    vdevs = [f"net_pcap0,rx_pcap={clear_in},tx_pcap={w}/{name}.back.pcap,infinite_rx=1",
             f"net_pcap1,rx_pcap={empty},tx_pcap={esp_to or f'{w}/{name}.esp.pcap'}"]
    return Gvpnd(ctx["gvpnd"], conf, vdevs, w, name=name)


def group(g):
    return g.tel("/gvpn/groups")["corp"]


def esp_out(ctx, name):
    return [Ether(bytes(p)) for p in rdpcap(f"{ctx['work']}/{name}.esp.pcap")
            if IP in p and p[IP].proto == 50]


def test_registration(ctx, tap):
    pkts, clear_in, empty = traffic(ctx["work"], "reg")
    port = BASE_PORT
    cap = os.path.join(ctx["work"], "registration.pcap")
    err = os.path.join(ctx["work"], "registration.err")
    ts = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", f"udp port {port}", "-w", cap],
                          stdout=subprocess.DEVNULL, stderr=open(err, "w"))
    end = time.time() + 10
    while "Capture started" not in open(err).read() and time.time() < end:
        time.sleep(0.1)
    with KeyServer(ctx["root"], ks_conf(port), ctx["work"], "ks-reg") as ks:
        g = member(ctx, "reg", gm_conf([port]), clear_in, empty)
        with g:
            def registers():
                g.wait(lambda: group(g)["state"] == "registered", timeout=20, what="registration")
                info = group(g)
                assert info["key_server"] == f"127.0.0.1:{port}" and info["sas"] == 1, info
                assert 0 < info["rekey_in_s"] <= 600 * 0.95 + 1, info  # R17: 5-7 % before expiry
                sa = g.tel("/gvpn/sa")["0x00001001"]
                assert sa["state"] == "active" and sa["cipher"] == "aes-cbc-128", sa
                assert 580 <= sa["remaining_s"] <= 600, sa
                g.wait(lambda: g.lcores()["encrypted"] >= 20, what="traffic to be encrypted")
            tap.check("registers with the key server (phase 1 + GROUPKEY-PULL) and installs its TEK",
                      registers)
            rc = g.stop()
        state = ks.state()
    time.sleep(1)
    ts.terminate()
    ts.wait()
    tek = state["groups"]["1001"]["tek_history"][0]

    def scapy_decrypts():
        assert rc == 0, f"gvpnd exit {rc}"
        esp = esp_out(ctx, "reg")
        assert esp, "no ESP sent"
        sa = SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-CBC",
                                 crypt_key=bytes.fromhex(tek["enc_key"]), auth_algo="HMAC-SHA1-96",
                                 auth_key=bytes.fromhex(tek["auth_key"]), tunnel_header=IP())
        want = {bytes(p[IP]) for p in pkts}
        for e in esp[:20]:
            assert e[IP].src == A and e[IP].dst == B
            assert bytes(sa.decrypt(e[IP])) in want
    tap.check("scapy decrypts gvpnd's ESP with the keys the key server handed out", scapy_decrypts)

    def tshark_decrypts_esp():
        uat = (f'uat:esp_sa:"IPv4","*","*","0x00001001","AES-CBC [RFC3602]","0x{tek["enc_key"]}",'
               f'"HMAC-SHA-1-96 [RFC2404]","0x{tek["auth_key"]}"')
        t = run(["tshark", "-r", f"{ctx['work']}/reg.esp.pcap", "-c", "10", "-o",
                 "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE",
                 "-o", uat, "-T", "fields", "-e", "esp.icv_good", "-e", "udp.dstport"])
        rows = [r.split("\t") for r in t.stdout.splitlines()]
        assert rows and all(r == ["1", "40001"] for r in rows), t.stdout + t.stderr
    tap.check("tshark decrypts gvpnd's ESP with those keys (ICV good)", tshark_decrypts_esp)

    def tshark_dissects_registration():
        p1 = [s for s in state["phase1"] if s.get("icookie")]
        assert p1, "no phase-1 SA in the key server's state"
        table = ";".join(f'{s["icookie"]},{s["enc_key"]}' for s in p1[-1:])
        t = run(["tshark", "-r", cap, "-d", f"udp.port=={port},isakmp", "-o",
                 f"uat:ikev1_decryption_table:{table}", "-T", "fields", "-e", "frame.number",
                 "-e", "isakmp.exchangetype", "-e", "isakmp.nextpayload", "-e", "_ws.malformed",
                 "-e", "_ws.expert.message"])
        rows = [r.split("\t") for r in t.stdout.splitlines()]
        assert len(rows) >= 10, f"{len(rows)} frames: {t.stdout} {t.stderr}"
        exch = [r[1] for r in rows]
        assert exch[:6] == ["2"] * 6 and exch[6:10] == ["32"] * 4, exch
        bad = [r for r in rows if len(r) > 3 and r[3]]
        assert not bad, f"malformed: {bad}"
    tap.check("tshark dissects the whole registration (Main Mode + GROUPKEY-PULL) without "
              "malformed packets", tshark_dissects_registration)


def test_failover(ctx, tap):
    pkts, clear_in, empty = traffic(ctx["work"], "fo")
    dead1, dead2, live = BASE_PORT + 1, BASE_PORT + 2, BASE_PORT + 3

    def reaches_third():
        with KeyServer(ctx["root"], ks_conf(live), ctx["work"], "ks-fo"):
            with member(ctx, "fo", gm_conf([dead1, dead2, live]), clear_in, empty) as g:
                g.wait(lambda: group(g)["state"] == "registered", timeout=30,
                       what="registration through failover")
                info = group(g)
                assert info["key_server"] == f"127.0.0.1:{live}", info
                assert info["failures"] == 4, info  # retries = 2 on each dead server
                assert "no answer" in info["last_error"] or info["last_error"] == "", info
                assert g.stop() == 0
    tap.check("failover: with servers 1-2 dead, registration reaches server 3 after the "
              "configured retries", reaches_third)


def test_silent_key_server(ctx, tap):
    pkts, clear_in, empty = traffic(ctx["work"], "silent")
    port = BASE_PORT + 4
    conf_ks = ks_conf(port, faults={"silent": True})

    def fail_closed():
        with KeyServer(ctx["root"], conf_ks, ctx["work"], "ks-silent"):
            with member(ctx, "closed", gm_conf([port]), clear_in, empty) as g:
                g.wait(lambda: group(g)["state"] == "failed", timeout=20, what="failed state")
                n = g.lcores()["drop_no_rule"]
                g.wait(lambda: g.lcores()["drop_no_rule"] > n + 10, what="drops")
                assert g.lcores()["fail_open"] == 0
                g.wait(lambda: group(g)["failures"] >= 4, timeout=20, what="more retries")
                assert group(g)["last_error"] == f"127.0.0.1:{port}: no answer", group(g)
                r = run([gvpnctl(ctx), "-f", g.prefix, "show", "groups"])
                row = [ln for ln in r.stdout.splitlines() if ln.startswith("corp ")]
                assert r.returncode == 0 and row and row[0].split()[3] == "closed", r.stdout
                assert g.stop() == 0
        out = [p for p in rdpcap(f"{ctx['work']}/closed.esp.pcap")]
        assert not out, f"{len(out)} frames left while fail-closed"
        log = g.output()
        assert "fail-open (0 rules)" not in log, log[-2000:]
        assert log.count("group corp: entered fail-closed (no fail-open rules)") == 1, log[-3000:]
        assert log.count("group corp: not registered and no keys are left: no key server "
                         f"answers (127.0.0.1:{port}: no answer)") == 1, log[-3000:]
        # the first failure warns, the same one again is INFO: one warning line
        assert log.count("registration failed: 127.0.0.1:%d: no answer" % port) >= 1
    tap.check("silent key server, no fail-open rules: fail-closed (said so in the log and in "
              "gvpnctl show groups, once over 4 retries), traffic dropped and counted",
              fail_closed)

    def fail_open():
        extra = 'fail_open = ( { src = "192.0.2.0/24"; dst = "198.51.100.0/24"; } );'
        with KeyServer(ctx["root"], conf_ks, ctx["work"], "ks-silent2"):
            with member(ctx, "open", gm_conf([port], extra), clear_in, empty) as g:
                g.wait(lambda: group(g)["state"] == "failed" and group(g)["fail_open"] == "on",
                       timeout=20, what="fail-open")
                g.wait(lambda: g.lcores()["fail_open"] > 10, what="traffic passing in clear")
                assert g.stop() == 0
        out = rdpcap(f"{ctx['work']}/open.esp.pcap")
        assert out and all(UDP in p and p[UDP].dport == 40001 for p in out), "not clear UDP"
    tap.check("silent key server with fail-open rules: matching traffic passes in clear (R24)",
              fail_open)


def test_refusals(ctx, tap):
    pkts, clear_in, empty = traffic(ctx["work"], "ref")
    cases = [
        ("wrong pre-shared key", {"faults": {"wrong_psk": True}}),
        ("refused group", {"faults": {"refuse_group": True}}),
        ("truncated payload in pull message 2",
         {"faults": {"malformed": {"kind": "truncated", "reply": "pull2"}}}),
        ("bad payload length in Main Mode message 2",
         {"faults": {"malformed": {"kind": "bad_length", "reply": "mm2"}}}),
        ("unknown next payload in pull message 4",
         {"faults": {"malformed": {"kind": "unknown_next_payload", "reply": "pull4"}}}),
    ]
    for i, (what, kw) in enumerate(cases):
        def case(kw=kw, i=i):
            port = BASE_PORT + 5 + (i % 3)
            conf = ks_conf(port, **kw)
            with KeyServer(ctx["root"], conf, ctx["work"], f"ks-ref{i}"):
                with member(ctx, f"ref{i}", gm_conf([port]), clear_in, empty) as g:
                    g.wait(lambda: group(g)["failures"] >= 1, timeout=20, what="a failed attempt")
                    info = group(g)
                    assert info["state"] == "failed" and info["sas"] == 0, info
                    assert info["last_error"], info
                    assert PSK not in repr(info)
                    assert g.tel("/gvpn/version"), "gvpnd stopped answering"
                    assert g.stop() == 0
        tap.check(f"key server fault: {what} -> registration fails with a reason, nothing "
                  "installed, gvpnd keeps running", case)


def gvpnctl(ctx):
    return os.path.join(ctx["root"], "app", "gvpnctl", "gvpnctl")


def test_notification_texts(ctx, tap):
    """A key server's refusal named with its likely cause, in last_error and the log."""
    pkts, clear_in, empty = traffic(ctx["work"], "why")
    cases = [
        ("INVALID_ID_INFORMATION", {"faults": {"refuse_group": True}},
         "INVALID_ID_INFORMATION (18): the key server does not know group 1001 or does not "
         "authorise this member"),
        ("NO_PROPOSAL_CHOSEN", {"phase1": {"accept": [{"encryption": "3des-cbc", "hash": "md5",
                                                       "dh_group": 2}]}},
         "NO_PROPOSAL_CHOSEN (14, unauthenticated): none accepted of aes256-sha256-modp2048, "
         "aes128-sha1-modp1024"),
    ]
    for i, (name, kw, text) in enumerate(cases):
        def case(kw=kw, text=text, i=i):
            port = BASE_PORT + 5 + i
            with KeyServer(ctx["root"], ks_conf(port, **kw), ctx["work"], f"ks-why{i}"):
                with member(ctx, f"why{i}", gm_conf([port]), clear_in, empty) as g:
                    g.wait(lambda: group(g)["failures"] >= 2, timeout=20,
                           what="two failed attempts")
                    info = group(g)
                    assert info["state"] == "failed", info
                    assert info["last_error"] == f"127.0.0.1:{port}: {text}", info
                    r = run([gvpnctl(ctx), "-f", g.prefix, "show", "groups"])
                    assert r.returncode == 0 and text[:40] in r.stdout, r.stdout
                    assert g.stop() == 0
            log = g.output()
            assert f"registration failed: 127.0.0.1:{port}: {text}" in log, log[-2000:]
            assert log.count("group corp: not registered and no keys are left: "
                             f"127.0.0.1:{port}: {text}") == 1, log[-2000:]
            assert "no answer" not in log and "no key server answers" not in log, log[-2000:]
        tap.check(f"key server says {name}: last_error, show groups and the log name it "
                  "with its likely cause; never 'no answer'", case)


def test_unassigned_local_address(ctx, tap):
    """A local address the host does not have fails that group only, retried."""
    pkts, clear_in, empty = traffic(ctx["work"], "noaddr")
    port = BASE_PORT + 5
    conf_ks = ks_conf(port)
    conf_ks["groups"].append({"id": 1002, "teks": [{
        "spi": 0x2002, "cipher": "aes-cbc", "key_bits": 128, "auth": "hmac-sha1-96",
        "src": "10.1.0.0/24", "dst": "10.2.0.0/24", "mirror": True, "lifetime": 600}]})
    conf = gm_conf([port]).replace('local_address = "127.0.0.1";',
                                   'local_address = "192.0.2.1";')
    head, _, tail = conf.rpartition("} );")  # the end of groups
    conf = head + f"""}},
  {{ name = "lab"; id = 1002; key_servers = ( "127.0.0.1:{port}" );
     local_address = "127.0.0.1"; psk = "{PSK}"; retry_interval = 1; retries = 2; }} );""" + tail
    path = os.path.join(ctx["work"], "noaddr-check.conf")
    with open(path, "w") as f:
        f.write(conf)

    def check_warns():
        r = run([ctx["gvpnd"], "--", "-f", path, "--check"], timeout=10)
        assert r.returncode == 0, r
        assert "gvpnd: warning: groups[corp].local_address 192.0.2.1 is not assigned on this " \
               "host" in r.stderr, r.stderr
        assert "configuration valid" in r.stdout, r.stdout
    tap.check("--check warns about a local address the host does not have, and passes",
              check_warns)

    def others_run():
        with KeyServer(ctx["root"], conf_ks, ctx["work"], "ks-noaddr"):
            with member(ctx, "noaddr", conf, clear_in, empty) as g:
                g.wait(lambda: g.tel("/gvpn/groups")["lab"]["state"] == "registered",
                       timeout=20, what="the other group to register")
                assert g.tel("/gvpn/groups")["lab"]["sas"] == 1
                g.wait(lambda: group(g)["failures"] >= 3, timeout=10, what="retries")
                info = group(g)
                assert info["state"] == "failed" and info["sas"] == 0, info
                assert info["last_error"] == (f"127.0.0.1:{port}: local address 192.0.2.1 is "
                                              "not assigned on this host"), info
                assert g.tel("/gvpn/version"), "gvpnd stopped answering"
                assert g.stop() == 0
        log = g.output()
        assert log.count("group corp: not registered and no keys are left: 127.0.0.1:"
                         f"{port}: local address 192.0.2.1 is not assigned") == 1, log[-3000:]
        assert log.count("group corp: entered fail-closed") == 1, log[-3000:]
    tap.check("a local address the host does not have: gvpnd starts, that group fails and "
              "retries at its retry_interval (logged once), the other group registers", others_run)


def test_spoofed_notifications(ctx, tap):
    """RFC 2408 4.8: before phase 1 has keys nothing protects a notification,
    so one in the clear is advice: counted, and the registration goes on."""
    pkts, clear_in, empty = traffic(ctx["work"], "spoof")
    for i, (step, ntype, name) in enumerate([("mm2", 14, "NO_PROPOSAL_CHOSEN"),
                                             ("mm4", 4, "INVALID_COOKIE")]):
        def registers(step=step, ntype=ntype, name=name, i=i):
            port = BASE_PORT + 5 + i
            conf = ks_conf(port, faults={"spoof_notify": {"reply": step, "notify": ntype}})
            with KeyServer(ctx["root"], conf, ctx["work"], f"ks-spoof{i}") as ks:
                with member(ctx, f"spoof{i}", gm_conf([port]), clear_in, empty) as g:
                    g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                           what="registration")
                    info = group(g)
                    assert info["unauth_notifies"] == 1, info
                    assert info["failures"] == 0 and info["registrations"] == 1, info
                    assert g.stop() == 0
                st = ks.state()
            assert st["counters"]["notifies_sent"] == 1, st["counters"]
            log = g.output()
            assert f"unauthenticated notification ignored: {name}" in log, log[-2000:]
        tap.check(f"a spoofed {name} in the clear before Main Mode {step} is counted and "
                  "ignored: the registration succeeds", registers)

    def hint():
        # a wrong PSK: the key server answers message 5 with AUTHENTICATION-FAILED
        # in the clear; the attempt fails on its timeout and names it as a hint
        port = BASE_PORT + 7
        with KeyServer(ctx["root"], ks_conf(port, faults={"wrong_psk": True}), ctx["work"],
                       "ks-hint"):
            with member(ctx, "hint", gm_conf([port]), clear_in, empty) as g:
                g.wait(lambda: group(g)["failures"] >= 1, timeout=20, what="a failed attempt")
                info = group(g)
                assert info["unauth_notifies"] >= 1, info
                assert info["last_error"] == (
                    f"127.0.0.1:{port}: AUTHENTICATION_FAILED (24, unauthenticated): "
                    "check the pre-shared key"), info
                assert g.stop() == 0
            log = g.output()
            assert "registration failed: 127.0.0.1:%d: AUTHENTICATION_FAILED (24, " \
                   "unauthenticated): check the pre-shared key" % port in log, log[-2000:]
            # the key server answered messages 2 and 4: never "no key server answers"
            assert "not registered and no keys are left: 127.0.0.1:%d: AUTHENTICATION" % port \
                in log, log[-2000:]
            assert "no key server answers" not in log, log[-2000:]
    tap.check("an attempt that times out after a notification in the clear names it as "
              "unauthenticated in last_error, with its likely cause", hint)


def test_deny_policies_ignored(ctx, tap):
    pkts, clear_in, empty = traffic(ctx["work"], "deny")
    port = BASE_PORT + 5

    def ignored():
        conf = ks_conf(port)
        conf["groups"][0]["deny"] = [{"src": "192.0.2.99/32", "dst": "198.51.100.0/24"}]
        with KeyServer(ctx["root"], conf, ctx["work"], "ks-deny"):
            with member(ctx, "deny", gm_conf([port]), clear_in, empty) as g:
                g.wait(lambda: group(g)["state"] == "registered", timeout=20, what="registration")
                assert group(g)["sas"] == 1, group(g)
                assert g.stop() == 0
            assert "deny policies ignored" in g.output(), g.output()
    tap.check("a deny policy from the key server does not fail registration (R6)", ignored)


def test_pull_rekey(ctx, tap):
    pkts, clear_in, empty = traffic(ctx["work"], "rekey")
    port = BASE_PORT + 6

    def sa_packets(g):
        return {spi: s["packets"] for spi, s in g.tel("/gvpn/sa").items()}

    def rekey():
        conf = ks_conf(port)
        conf["groups"][0]["teks"][0]["lifetime"] = 20
        conf["groups"][0]["rollover_before"] = 5
        # 20 s of replay at full speed would fill a disk: the ESP goes nowhere,
        # the SA counters tell which SA encrypts
        with KeyServer(ctx["root"], conf, ctx["work"], "ks-rekey"):
            with member(ctx, "rekey", gm_conf([port]), clear_in, empty, "/dev/null") as g:
                g.wait(lambda: group(g)["registrations"] >= 1, timeout=20, what="registration")
                before = g.lcores()  # traffic before the first registration: no rule yet
                # R17: re-registration with 5-7 % of 20 s left, the successor TEK
                # arrives beside the old one and takes over encryption at once
                # (the old one has less than 30 s left); the old one then expires.
                g.wait(lambda: group(g)["registrations"] >= 2, timeout=25, what="re-registration")
                g.wait(lambda: g.tel("/gvpn/sa").get("0x00001002", {}).get("state") == "active",
                       timeout=5, what="the new SA to encrypt")
                a = sa_packets(g)
                time.sleep(0.3)
                b = sa_packets(g)
                assert b["0x00001002"] > a["0x00001002"], (a, b)
                assert b.get("0x00001001") == a.get("0x00001001"), f"old SA still encrypting: {a} {b}"
                g.wait(lambda: "0x00001001" not in g.tel("/gvpn/sa"), timeout=10,
                       what="the old SA to expire")
                t = g.lcores()
                drops = {k: t[k] - before[k] for k in t if k.startswith("drop") and t[k] != before[k]}
                assert not drops, f"dropped during the rekey: {drops}"
                assert g.stop() == 0
    tap.check("pull rekey (R17): the successor TEK takes over encryption while the old one "
              "still lives, then the old one expires; nothing dropped", rekey)


def test_register_command(ctx, tap):
    pkts, clear_in, empty = traffic(ctx["work"], "cmd")
    port = BASE_PORT + 4

    def forced():
        with KeyServer(ctx["root"], ks_conf(port), ctx["work"], "ks-cmd"):
            with member(ctx, "cmd", gm_conf([port]), clear_in, empty) as g:
                g.wait(lambda: group(g)["registrations"] == 1, timeout=20, what="registration")
                r = g.tel("/gvpn/group/register,corp")
                assert r["result"] == "queued", r
                g.wait(lambda: group(g)["registrations"] == 2, timeout=20, what="re-registration")
                assert group(g)["sas"] == 1, group(g)  # the same TEK: kept, not duplicated
                assert g.stop() == 0
    tap.check("/gvpn/group/register forces a re-registration; the unchanged TEK is kept",
              forced)


def test_large_policy(ctx, tap):
    """A key server policy of 200 TEKs: message 4 alone is some 16 KB."""
    pkts, clear_in, empty = traffic(ctx["work"], "large")
    port = BASE_PORT + 7
    n = 200

    def registers():
        conf = ks_conf(port)
        conf["groups"][0]["teks"] = [
            {"spi": 0x4000 + i, "cipher": "aes-cbc", "key_bits": 256, "auth": "hmac-sha256-128",
             "src": f"10.{i}.0.0/16", "dst": "198.51.100.0/24", "lifetime": 600}
            for i in range(n - 1)] + [conf["groups"][0]["teks"][0]]
        with KeyServer(ctx["root"], conf, ctx["work"], "ks-large"):
            with member(ctx, "large", gm_conf([port]), clear_in, empty, "/dev/null") as g:
                g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                       what="registration")
                assert group(g)["sas"] == n, group(g)
                sas = {}
                start = 0
                while True:  # pages of what fits a reply, until an empty one
                    page = g.tel(f"/gvpn/sa,{start}")
                    sas.update(page)
                    if not page:
                        break
                    start += len(page)
                assert len(sas) == n and "0x000040c6" in sas, len(sas)
                g.wait(lambda: g.lcores()["encrypted"] > 20, what="traffic to be encrypted")
                assert g.stop() == 0
    tap.check(f"a policy of {n} TEKs (pull messages of some 16 KB) installs every SA", registers)


def test_phase1_groups(ctx, tap):
    """gvpnd registers with each phase-1 group key servers offer today: MODP
    3072 and 4096 (RFC 3526), ECP 256 and 384 (RFC 5903)."""
    pkts, clear_in, empty = traffic(ctx["work"], "p1")
    port = BASE_PORT + 8
    groups = {"modp3072": 15, "modp4096": 16, "ecp256": 19, "ecp384": 20}
    with KeyServer(ctx["root"], ks_conf(port), ctx["work"], "ks-p1") as ks:
        for proposal in ("aes128-sha256-modp3072", "aes256-sha256-modp4096",
                         "aes128-sha256-ecp256", "aes256-sha256-ecp384"):
            def registers():
                conf = gm_conf([port], phase1=f'"{proposal}"')
                with member(ctx, "p1", conf, clear_in, empty, "/dev/null") as g:
                    g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                           what="registration")
                    assert g.stop() == 0
                p1 = [s for s in ks.state()["phase1"] if s.get("icookie")][-1]
                assert p1["dh_group"] == groups[proposal.split("-")[2]], p1
            tap.check(f"registers with phase 1 {proposal}", registers)


def test_newer_algorithm_teks(ctx, tap):
    """AES-GMAC and HMAC-SHA-384 TEKs from the key server: gvpnd's ESP opens
    with the keys it handed out, in an independent implementation (RFC 4543
    over python3-cryptography; scapy and tshark for SHA-384)."""
    pkts, clear_in, empty = traffic(ctx["work"], "alg")
    want = {bytes(p[IP]) for p in pkts}
    cases = [("aes-gmac-256", {"cipher": "aes-gmac", "key_bits": 256}),
             ("aes-cbc-256/hmac-sha384-192",
              {"cipher": "aes-cbc", "key_bits": 256, "auth": "hmac-sha384-192"})]
    for n, (name, tek) in enumerate(cases):
        port = BASE_PORT + 4 + n
        conf = ks_conf(port)
        t = {k: v for k, v in conf["groups"][0]["teks"][0].items()
             if k not in ("cipher", "key_bits", "auth")}
        t.update(tek)
        conf["groups"][0]["teks"] = [t]
        conf["groups"][0]["sid_bits"] = 16  # GMAC counts its IVs: a Sender-ID to encrypt
        tag = f"alg{n}"
        with KeyServer(ctx["root"], conf, ctx["work"], f"ks-{tag}") as ks:
            g = member(ctx, tag, gm_conf([port]), clear_in, empty)
            with g:
                g.wait(lambda: group(g)["state"] == "registered", timeout=20, what="registration")
                g.wait(lambda: g.lcores()["encrypted"] >= 20, what="traffic to be encrypted")
                sa_t = g.tel("/gvpn/sa")["0x00001001"]
                rc = g.stop()
            k = ks.state()["groups"]["1001"]["tek_history"][0]

        def opens(tek=tek, k=k, tag=tag, sa_t=sa_t, rc=rc):
            assert rc == 0, f"gvpnd exit {rc}"
            esp = esp_out(ctx, tag)
            assert esp, "no ESP sent"
            if tek["cipher"] == "aes-gmac":
                assert sa_t["cipher"] == "aes-gmac-256" and sa_t["auth"] == "none", sa_t
                sa = GmacSA(0x1001, bytes.fromhex(k["enc_key_with_salt"]))
            else:
                assert sa_t["auth"] == "hmac-sha384-192", sa_t
                sa = SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-CBC",
                                         crypt_key=bytes.fromhex(k["enc_key"]),
                                         auth_algo="SHA2-384-192",
                                         auth_key=bytes.fromhex(k["auth_key"]), tunnel_header=IP())
                uat = (f'uat:esp_sa:"IPv4","*","*","0x00001001","AES-CBC [RFC3602]",'
                       f'"0x{k["enc_key"]}","HMAC-SHA-384-192 [RFC4868]","0x{k["auth_key"]}"')
                r = run(["tshark", "-r", f"{ctx['work']}/{tag}.esp.pcap", "-c", "10", "-o",
                         "esp.enable_encryption_decode:TRUE", "-o",
                         "esp.enable_authentication_check:TRUE", "-o", uat, "-T", "fields",
                         "-e", "esp.icv_good", "-e", "udp.dstport"])
                rows = [x.split("\t") for x in r.stdout.splitlines()]
                assert rows and all(x == ["1", "40001"] for x in rows), r.stdout + r.stderr
            for e in esp[:20]:
                assert bytes(sa.decrypt(e[IP])) in want
        tap.check(f"{name} TEK from the key server: gvpnd's ESP opens with the keys handed out "
                  "(independent implementation" + (", tshark ICV good)" if "sha384" in name
                                                   else ")"), opens)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    ctx = {"gvpnd": gvpnd, "root": root, "work": work}
    tap = Tap()
    test_registration(ctx, tap)
    test_newer_algorithm_teks(ctx, tap)
    test_failover(ctx, tap)
    test_silent_key_server(ctx, tap)
    test_refusals(ctx, tap)
    test_spoofed_notifications(ctx, tap)
    test_notification_texts(ctx, tap)
    test_unassigned_local_address(ctx, tap)
    test_deny_policies_ignored(ctx, tap)
    test_pull_rekey(ctx, tap)
    test_register_command(ctx, tap)
    test_large_policy(ctx, tap)
    test_phase1_groups(ctx, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
