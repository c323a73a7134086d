#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd as a G-IKEv2 group member against the independent test key server
(test/ks/gikev2_ks.py, written from the draft), as TAP.

Registration end to end (GSA_AUTH; the TEK SAs and rules in gvpnctl, the
ESP opened by scapy with the keys the key server handed out), two members
passing traffic both ways through GSA_REKEY and GSA_INBAND_REKEY rekeys
with no packet lost, faults of the key server refused and counted by
reason, and failover to a second key server.

Usage: test_gikev2.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import GcKs, Gvpnd, Tap, main_guard, run  # noqa: E402

from scapy.all import IP, UDP, Ether, PcapReader, Raw, wrpcap  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

PSK = "g-ikev2-member-psk-0123456789"
NET_A, NET_B = "192.0.2", "198.51.100"
BASE_PORT = 21000 + os.getpid() % 1000 * 4
# Replay outruns the peer: a full memif ring at the sender is congestion,
# not a key change.
CONGESTION = ("drop_tx_full",)


def tek(src, dst, **kw):
    t = {"encr": 12, "bits": 128, "integ": 12, "lifetime": 900,
         "src": [f"{src}.0", f"{src}.255"], "dst": [f"{dst}.0", f"{dst}.255"]}
    t.update(kw)
    return t


def ks_conf(port, control, **kw):
    c = {"address": "127.0.0.1", "port": port, "psk": PSK, "group_id": "corp-g",
         "atd": 1, "dtd": 3, "teks": [tek(NET_A, NET_B), tek(NET_B, NET_A)],
         "rekey": {"initial_msgid": 10}, "control": control}
    c.update(kw)
    return c


def gm_conf(servers, local="127.0.0.1", wan="net_pcap1", extra="", psk=PSK,
            proposals='"aes128-sha256-modp2048-kw128"', host="127.0.0.1"):
    ks = ", ".join(f'"{host}:{p}"' for p in servers)
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "{wan}"; }}
);
groups = ( {{
  name = "corp"; id = 77;
  protocol = "g-ikev2";
  idg = "corp-g";
  key_servers = ( {ks} );
  local_address = "{local}";
  psk = "{psk}";
  ikev2_proposals = ( {proposals} );
  retry_interval = 1; retries = 2;
  {extra}
}} );
"""


def clear_pcap(work, name, src, dst, n=8, payload=64):
    path = os.path.join(work, f"gikev2-{name}.pcap")
    pkts = [Ether() / IP(src=f"{src}.{10 + i}", dst=f"{dst}.20", id=i) /
            UDP(sport=40000 + i, dport=5000) / Raw(b"g" * payload) for i in range(n)]
    wrpcap(path, pkts)
    return path, pkts


def group(g):
    return g.tel("/gvpn/groups")["corp"]


def gvpnctl(ctx, g, *args):
    return run([os.path.join(ctx["root"], "app", "gvpnctl", "gvpnctl"), "-f", g.prefix] +
               list(args))


def first_esp(path, n):
    """The first @p n ESP frames of a capture (replay at full speed makes it large)."""
    out = []
    with PcapReader(path) as r:
        for p in r:
            if IP in p and p[IP].proto == 50:
                out.append(Ether(bytes(p)))
                if len(out) == n:
                    break
    return out


def active_spis(g):
    return sorted(s for s, v in g.tel("/gvpn/sa").items() if v["state"] == "active")


def test_registration(ctx, tap):
    w = ctx["work"]
    port = BASE_PORT
    clear_in, pkts = clear_pcap(w, "reg", NET_A, NET_B)
    empty = os.path.join(w, "empty.pcap")
    wrpcap(empty, [], linktype=1)
    conf = ks_conf(port, os.path.join(w, "reg.control"))
    with GcKs(ctx["root"], conf, w, "gcks-reg") as ks:
        g = Gvpnd(ctx["gvpnd"], gm_conf([port]), [
            f"net_pcap0,rx_pcap={clear_in},tx_pcap=/dev/null,infinite_rx=1",
            f"net_pcap1,rx_pcap={empty},tx_pcap={w}/gikev2-reg.esp.pcap"], w, name="gikev2-reg")
        with g:
            def registers():
                g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                       what="registration")
                info = group(g)
                assert info["protocol"] == "g-ikev2", info
                assert info["key_server"] == f"127.0.0.1:{port}" and info["sas"] == 2, info
                assert info["kek"] == "no", info
                reg = ks.events("registered")
                assert reg and reg[0]["exchange"] == 39 and reg[0]["group"] == "corp-g", reg
                spis = {f"0x{t['spi']:08x}" for t in reg[-1]["teks"]}
                sas = g.tel("/gvpn/sa")
                assert set(sas) == spis, (sas, spis)
                assert all(s["cipher"] == "aes-cbc-128" and s["auth"] == "hmac-sha256-128"
                           for s in sas.values()), sas
                g.wait(lambda: g.lcores()["encrypted"] >= 20, what="traffic to be encrypted")
            if not tap.check("gvpnd registers with G-IKEv2 (IKE_SA_INIT + GSA_AUTH, IDg "
                             "corp-g) and installs both TEK SAs", registers):
                return

            def shown():
                r = gvpnctl(ctx, g, "show", "groups")
                row = [x for x in r.stdout.splitlines() if x.startswith("corp ")]
                assert r.returncode == 0 and row and "g-ikev2" in row[0], r.stdout
                r = gvpnctl(ctx, g, "show", "policy")
                assert r.returncode == 0 and f"{NET_A}.0/24" in r.stdout, r.stdout
                r = gvpnctl(ctx, g, "show", "ike")
                assert r.returncode == 0 and "established" in r.stdout and \
                    "AES_CBC_128" in r.stdout, r.stdout + r.stderr
                ike = ks.events("ike_sa")[-1]
                assert ike["spi_i"] in r.stdout.replace(":", "").lower(), (ike, r.stdout)
                assert PSK not in r.stdout
            tap.check("gvpnctl shows the group's protocol, its TEK rules and the IKEv2 SA "
                      "(SPIs, algorithms) the key server logged", shown)
            t0 = time.time()
            rc = g.stop()
            took = time.time() - t0

        def leaves():
            assert rc == 0, f"gvpnd exit {rc}"
            left = ks.events("left")
            assert len(left) == 1 and left[0]["group"] == "corp-g", ks.events()[-4:]
            assert left[0]["notify"] == [49], left  # REGISTRATION_FAILED
            ike = ks.events("ike_sa")[-1]
            dele = ks.events("ike_deleted")
            assert len(dele) == 1 and dele[0]["spi_i"] == ike["spi_i"], (dele, ike)
            assert "leaving the group: GSA_REGISTRATION" in g.output(), g.output()[-2000:]
            print(f"# stop took {took:.2f} s", flush=True)
        tap.check("stopped (SIGTERM), gvpnd leaves the group (GSA_REGISTRATION with IDg and "
                  "REGISTRATION_FAILED) and deletes its IKE SA: the key server logs both",
                  leaves)

        def scapy_decrypts():
            assert rc == 0, f"gvpnd exit {rc}"
            keys = ks.keys()
            esp = first_esp(f"{w}/gikev2-reg.esp.pcap", 20)
            assert esp, "no ESP sent"
            want = {bytes(p[IP]) for p in pkts}
            for e in esp[:20]:
                spi = e[ESP].spi
                km = bytes.fromhex(keys[spi])
                sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=km[:16],
                                         auth_algo="SHA2-256-128", auth_key=km[16:],
                                         tunnel_header=IP())
                assert bytes(sa.decrypt(e[IP])) in want
        tap.check("scapy decrypts gvpnd's ESP with the TEK keys the key server handed out",
                  scapy_decrypts)


class Pair:
    """Members a (site A, 127.0.0.1) and b (site B, 127.0.0.2), protected ports
    joined by memif, each replaying clear traffic toward the other."""

    def __init__(self, ctx, port, tag, extra=""):
        w = ctx["work"]
        sock = os.path.join(w, f"memif-{tag}-{os.getpid()}.sock")
        a_in, _ = clear_pcap(w, f"{tag}-a", NET_A, NET_B)
        b_in, _ = clear_pcap(w, f"{tag}-b", NET_B, NET_A)
        self.a = Gvpnd(ctx["gvpnd"], gm_conf([port], "127.0.0.1", "net_memif0", extra), [
            f"net_pcap0,rx_pcap={a_in},tx_pcap=/dev/null,infinite_rx=1",
            f"net_memif0,role=server,socket={sock},id=0"], w, name=f"gikev2-{tag}-a")
        self.b = Gvpnd(ctx["gvpnd"], gm_conf([port], "127.0.0.2", "net_memif0", extra), [
            f"net_pcap0,rx_pcap={b_in},tx_pcap=/dev/null,infinite_rx=1",
            f"net_memif0,role=client,socket={sock},id=0"], w, name=f"gikev2-{tag}-b")

    def __enter__(self):
        self.a.start()
        self.b.start()
        return self

    def __exit__(self, *exc):
        self.b.stop()
        self.a.stop()

    def both(self):
        return (self.a, self.b)


def key_drops(before, after):
    d = {k: after[k] - before[k] for k in after
         if k.startswith("drop") and after[k] != before[k]}
    congestion = {k: d.pop(k) for k in CONGESTION if k in d}
    return d, congestion


def refusals(g):
    return {k: v for k, v in group(g).items() if k.startswith("rekey_drop_") and v}


def test_rekeys_under_load(ctx, tap, seconds):
    w = ctx["work"]
    port = BASE_PORT + 1
    conf = ks_conf(port, os.path.join(w, "load.control"))

    def zero_loss():
        with GcKs(ctx["root"], conf, w, "gcks-load") as ks, Pair(ctx, port, "load") as pair:
            for g in pair.both():
                g.wait(lambda g=g: group(g)["state"] == "registered" and
                       len(active_spis(g)) == 2, timeout=20, what="registration")
            assert len(ks.events("registered")) == 2, ks.events("registered")
            for g in pair.both():
                g.wait(lambda g=g: g.lcores()["decrypted"] > 1000, timeout=10,
                       what="traffic both ways")
            before = {g: g.lcores() for g in pair.both()}
            kinds = ["rekey", "inband_rekey", "rekey_delete_old"]
            end, i, generations = time.time() + seconds, 0, set()
            while time.time() < end:
                kind = kinds[i % len(kinds)]
                i += 1
                old = active_spis(pair.a)
                sent = ks.act(kind)
                assert len(sent["to"]) == 2, sent
                new = {f"0x{t['spi']:08x}" for t in ks.events("new_teks")[-1]["teks"]}
                for g in pair.both():
                    # ATD 1 s: both hold the new SAs before either encrypts with them
                    g.wait(lambda g=g, n=new: set(active_spis(g)) >= n, timeout=5,
                           what=f"the new TEKs to encrypt ({kind})")
                    g.wait(lambda g=g, o=old: not set(o) & set(g.tel("/gvpn/sa")),
                           timeout=6, what=f"the replaced SAs to end after DTD ({kind})")
                generations.add(tuple(sorted(new)))
            after = {g: g.lcores() for g in pair.both()}
            report = []
            for g in pair.both():
                info = group(g)
                assert info["rekeys"] + info["inband_rekeys"] == i, (i, info)
                assert info["inband_rekeys"] == len([k for k in range(i) if k % 3 == 1]), info
                assert not refusals(g), refusals(g)
                d, congestion = key_drops(before[g], after[g])
                assert not d, f"dropped during rekeys: {d}"
                dec = after[g]["decrypted"] - before[g]["decrypted"]
                assert dec > 20000, f"only {dec} packets decrypted"
                report.append(f"{dec} decrypted, congestion {congestion}")
            assert len(generations) == i, generations
            assert [pair.b.stop(), pair.a.stop()] == [0, 0]
            print(f"# {i} rekeys; a: {report[0]}; b: {report[1]}", flush=True)
    tap.check(f"two members, {seconds} s of rekeys at full replay speed both ways (GSA_REKEY "
              "to each, GSA_INBAND_REKEY over each IKE SA, GSA_REKEY with Deletes; ATD 1 s, "
              "DTD 3 s): every rekey applied by both, no packet dropped for a key reason",
              zero_loss)


def single(ctx, port, tag, servers=None, extra=""):
    w = ctx["work"]
    a_in, _ = clear_pcap(w, f"{tag}-a", NET_A, NET_B)
    return Gvpnd(ctx["gvpnd"], gm_conf(servers or [port], wan="net_null0", extra=extra), [
        f"net_pcap0,rx_pcap={a_in},tx_pcap=/dev/null,infinite_rx=1", "net_null0"],
        w, name=f"gikev2-{tag}")


FAULTS = [("replay", "replay"), ("bad_signature", "bad_signature"),
          ("bad_icv", "bad_icv"), ("malformed", "malformed")]


def test_faults(ctx, tap):
    w = ctx["work"]
    port = BASE_PORT + 2
    conf = ks_conf(port, os.path.join(w, "faults.control"))
    with GcKs(ctx["root"], conf, w, "gcks-faults") as ks, single(ctx, port, "faults") as g:
        def first():
            g.wait(lambda: group(g)["state"] == "registered" and len(active_spis(g)) == 2,
                   timeout=20, what="registration")
            # below GSA_INITIAL_MESSAGE_ID before any was accepted: stale
            ks.act("stale")
            g.wait(lambda: group(g)["rekey_drop_stale"] == 1, timeout=5,
                   what="the stale GSA_REKEY to be refused")
            assert group(g)["rekeys"] == 0, group(g)
            ks.act("rekey")
            g.wait(lambda: group(g)["rekeys"] == 1, timeout=5, what="the first GSA_REKEY")
            k = g.tel("/gvpn/kek")["corp"]
            # GSA_INITIAL_MESSAGE_ID 10: the first rekey is 10, the next must be above
            assert group(g)["push_seq"] == 10 and k["next_msgid"] == 11, (group(g), k)
            assert k["authentication"] == "signature" and k["kek"] == "yes", k
        if not tap.check("a GSA_REKEY below GSA_INITIAL_MESSAGE_ID (10) is refused as stale; "
                         "one with message ID 10 and an RSA signature is applied; /gvpn/kek "
                         "shows the replay floor 11", first):
            return
        for fault, reason in FAULTS:
            def refused(fault=fault, reason=reason):
                key = f"rekey_drop_{reason}"
                before, sas = group(g), sorted(g.tel("/gvpn/sa"))
                ks.act(fault)
                g.wait(lambda: group(g)[key] == before[key] + 1, timeout=5,
                       what=f"{key} to count the message")
                time.sleep(0.2)
                after = group(g)
                assert after["rekeys"] == before["rekeys"], (before, after)
                assert after["push_seq"] == before["push_seq"], (before, after)
                assert sorted(g.tel("/gvpn/sa")) == sas, "SAs changed"
            tap.check(f"GSA_REKEY fault {fault}: refused as {reason}, counted, nothing changed",
                      refused)

        def shown():
            r = gvpnctl(ctx, g, "show", "groups")
            assert r.returncode == 0 and "corp:rekey_drop_bad_signature" in r.stdout and \
                "GSA_REKEY signature does not verify" in r.stdout, r.stdout
            r = gvpnctl(ctx, g, "show", "kek")
            assert r.returncode == 0 and "signature" in r.stdout and \
                "bad_signature 1" in r.stdout, r.stdout
            r = gvpnctl(ctx, g, "export", "--once")
            assert r.returncode == 0 and 'gvpn_group_rekey_drops_total{group="corp",' \
                'reason="bad_signature"} 1' in r.stdout, r.stdout
            assert 'gvpn_group_protocol_info{group="corp",protocol="g-ikev2"} 1' in r.stdout
            log = g.output()
            assert "message dropped" in log, log[-2000:]
        tap.check("the refusals are shown by gvpnctl (show groups, show kek), exported by "
                  "reason (gvpnctl export) and logged",
                  shown)

        def still_good():
            before = group(g)
            ks.act("rekey")
            g.wait(lambda: group(g)["rekeys"] == before["rekeys"] + 1, timeout=5,
                   what="the next valid GSA_REKEY")
            assert group(g)["push_seq"] > before["push_seq"], group(g)
        tap.check("after the faults a valid GSA_REKEY is still applied", still_good)

        def excluded():
            regs = group(g)["registrations"]
            ks.act("exclude")
            g.wait(lambda: group(g)["registrations"] == regs + 1 and
                   len(active_spis(g)) == 2, timeout=15,
                   what="a new registration after the exclusion")
            assert "excluded from the group by the key server: registering again in" in \
                g.output()
            assert g.stop() == 0
        tap.check("excluded by the key server (Delete of the rekey SA and every TEK): "
                  "registers again after a random delay of a few seconds", excluded)


def test_pss(ctx, tap):
    """GSA_REKEY signed with RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-octet salt)."""
    w = ctx["work"]
    port = BASE_PORT + 2
    conf = ks_conf(port, os.path.join(w, "pss.control"),
                   rekey={"initial_msgid": 10, "sig": "rsa-pss-sha256"})

    def pss():
        with GcKs(ctx["root"], conf, w, "gcks-pss") as ks, single(ctx, port, "pss") as g:
            g.wait(lambda: group(g)["state"] == "registered" and len(active_spis(g)) == 2,
                   timeout=20, what="registration")
            ks.act("rekey")
            g.wait(lambda: group(g)["rekeys"] == 1, timeout=5, what="a PSS-signed GSA_REKEY")
            for fault, key in [("bad_signature", "rekey_drop_bad_signature"),
                               ("sig_params", "rekey_drop_sig_alg")]:
                time.sleep(1.1)  # refusals are logged at most once a second
                before, sas = group(g), sorted(g.tel("/gvpn/sa"))
                ks.act(fault)
                g.wait(lambda: group(g)[key] == 1, timeout=5, what=f"{key} to count {fault}")
                time.sleep(0.2)
                after = group(g)
                assert after["rekeys"] == 1 and after["push_seq"] == before["push_seq"], after
                assert sorted(g.tel("/gvpn/sa")) == sas, "SAs changed"
            assert sum(v for k, v in refusals(g).items()) == 2, refusals(g)
            ks.act("rekey")
            g.wait(lambda: group(g)["rekeys"] == 2, timeout=5, what="the next PSS GSA_REKEY")
            log = g.output()
            assert "message dropped: GSA_REKEY signature does not verify" in log and \
                "message dropped: GSA_REKEY AUTH's AlgorithmIdentifier is not the group's" \
                in log, log[-2000:]
            assert g.stop() == 0
    tap.check("RSASSA-PSS (SHA-256, 32-octet salt): a PSS-signed GSA_REKEY is applied; a "
              "forged PSS signature is refused as bad_signature and one made with another "
              "salt length as sig_alg, nothing changed; the next one is applied", pss)


def test_registration_faults(ctx, tap):
    w = ctx["work"]
    port = BASE_PORT + 3
    for what, kw, text in [("the key server's AUTH forged", {"registration_fault": "bad_auth"},
                            "AUTH does not verify"),
                           ("AUTHORIZATION_FAILED", {"registration_fault": "authorization_failed"},
                            "AUTHORIZATION_FAILED (46)")]:
        def fails(kw=kw, text=text):
            conf = ks_conf(port, os.path.join(w, "regf.control"), **kw)
            with GcKs(ctx["root"], conf, w, "gcks-regf"), single(ctx, port, "regf") as g:
                g.wait(lambda: group(g)["failures"] >= 1, timeout=20, what="a failed attempt")
                info = group(g)
                assert info["state"] == "failed" and info["sas"] == 0, info
                assert text in info["last_error"], info
                assert g.stop() == 0
        tap.check(f"registration fault: {what} -> fails with that reason, nothing installed",
                  fails)


def test_failover(ctx, tap):
    w = ctx["work"]
    dead, live = BASE_PORT + 3, BASE_PORT + 2

    def second():
        conf = ks_conf(live, os.path.join(w, "fo.control"))
        with GcKs(ctx["root"], conf, w, "gcks-fo"), \
                single(ctx, live, "fo", servers=[dead, live]) as g:
            g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                   what="registration through failover")
            info = group(g)
            assert info["key_server"] == f"127.0.0.1:{live}", info
            assert info["failures"] == 2, info  # retries = 2 on the dead one
            kss = g.tel("/gvpn/keyservers")["corp"]
            assert kss["1"]["status"] == "failed" and kss["2"]["status"] == "current", kss
            assert g.stop() == 0
    tap.check("failover: the first key server dead, registration reaches the second after "
              "the configured retries", second)


def test_leave_unanswered(ctx, tap):
    """A key server that no longer answers holds the stop up about a second."""
    w = ctx["work"]
    port = BASE_PORT + 4

    def bounded():
        conf = ks_conf(port, os.path.join(w, "lu.control"))
        with GcKs(ctx["root"], conf, w, "gcks-lu") as ks, single(ctx, port, "lu") as g:
            g.wait(lambda: group(g)["state"] == "registered", timeout=20, what="registration")
            ks.proc.send_signal(signal.SIGSTOP)  # alive, its socket open, silent
            try:
                t0 = time.time()
                assert g.stop() == 0
                took = time.time() - t0
            finally:
                ks.proc.send_signal(signal.SIGCONT)
            log = g.output()
            assert "the key server did not answer the leave within 1000 ms" in log, log[-2000:]
            assert 1 <= took < 4, f"stop took {took:.2f} s"
            print(f"# stop took {took:.2f} s", flush=True)
            # woken, the key server reads the leave that waited in its socket;
            # no Delete followed: that comes only after the leave's answer
            end = time.time() + 5
            while time.time() < end and not ks.events("left"):
                time.sleep(0.05)
            assert ks.events("left") and not ks.events("ike_deleted"), ks.events()[-3:]
    tap.check("a key server that does not answer the leave holds gvpnd's stop up for the 1 s "
              "bound and no more (logged); the leave was sent, the Delete was not", bounded)


TEK6 = [["2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff"],
        ["2001:db8:2::", "2001:db8:2:ffff:ffff:ffff:ffff:ffff"]]


def test_ipv6(ctx, tap):
    """Registration, rekeys and the leave over IPv6 (::1), with IPv4 and IPv6 TEKs."""
    w = ctx["work"]
    port = BASE_PORT + 5
    conf = ks_conf(port, os.path.join(w, "v6.control"), address="::1")
    conf["teks"].append({"encr": 12, "bits": 128, "integ": 12, "lifetime": 900,
                         "src": TEK6[0], "dst": TEK6[1]})
    a_in, _ = clear_pcap(w, "v6-a", NET_A, NET_B)
    member = Gvpnd(ctx["gvpnd"], gm_conf([port], local="::1", wan="net_null0", host="[::1]"),
                   [f"net_pcap0,rx_pcap={a_in},tx_pcap=/dev/null,infinite_rx=1", "net_null0"],
                   w, name="gikev2-v6")
    with GcKs(ctx["root"], conf, w, "gcks-v6") as ks, member as g:
        def registers():
            g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                   what="registration over IPv6")
            info = group(g)
            assert info["key_server"] == f"[::1]:{port}" and info["sas"] == 3, info
            auth = ks.events("gsa_auth")
            # ID_IPV6_ADDR (5), ::1
            assert auth and auth[-1]["peer"] == "::1", auth
            assert auth[-1]["id_type"] == 5 and auth[-1]["id"] == "0" * 31 + "1", auth
            spis = {f"0x{t['spi']:08x}" for t in ks.events("registered")[-1]["teks"]}
            assert set(g.tel("/gvpn/sa")) == spis, (g.tel("/gvpn/sa"), spis)
            pol = g.tel("/gvpn/policy")
            fams = {r["family"] for r in pol.values() if r["kind"] == "tek"}
            assert fams == {"ipv4", "ipv6"}, pol
        if not tap.check("registers over IPv6 with a key server on [::1] (IKE_SA_INIT, GSA_AUTH "
                         "with IDi ID_IPV6_ADDR ::1) and installs its IPv4 and IPv6 TEKs",
                         registers):
            return

        def rekeys():
            sent = ks.act("rekey")
            assert sent["to"] and sent["to"][0].startswith("[::1]:"), sent
            g.wait(lambda: group(g)["rekeys"] == 1, timeout=10, what="the GSA_REKEY over IPv6")
            new = {f"0x{t['spi']:08x}" for t in ks.events("new_teks")[-1]["teks"]}
            g.wait(lambda: set(active_spis(g)) == new, timeout=5, what="the new TEKs")
            sent = ks.act("inband_rekey")
            g.wait(lambda: group(g)["inband_rekeys"] == 1, timeout=10,
                   what="the GSA_INBAND_REKEY over IPv6")
            assert ks.events("inband_answered"), ks.events()[-3:]
        tap.check("a GSA_REKEY and a GSA_INBAND_REKEY from [::1] are applied", rekeys)

        def leaves():
            assert g.stop() == 0
            left = ks.events("left")
            assert left and left[-1]["peer"] == "::1", ks.events()[-4:]
            assert ks.events("ike_deleted"), ks.events()[-4:]
        tap.check("stopped, it leaves the group and deletes its IKE SA over IPv6", leaves)


def test_check(ctx, tap):
    w = ctx["work"]
    cases = [
        ('ikev2_proposals = ( "aes128-sha256-modp2048" );', "no key wrap algorithm"),
        ('ikev2_proposals = ( "aes128-md5-modp2048-kw128" );', "not an IKEv2 proposal"),
        ('phase1 = ( "aes128-sha1-modp2048" );', "GDOI's (IKEv1)"),
        ('sender_ids = 0;', "receiver only"),
    ]
    for extra, text in cases:
        def refused(extra=extra, text=text):
            conf = gm_conf([BASE_PORT], extra=extra)
            if "ikev2_proposals" in extra:
                conf = conf.replace('ikev2_proposals = ( "aes128-sha256-modp2048-kw128" );', "")
            path = os.path.join(w, "check.conf")
            with open(path, "w") as f:
                f.write(conf)
            r = run([ctx["gvpnd"], "--", "-f", path, "--check"], timeout=10)
            assert r.returncode != 0 and text in r.stderr, r.stdout + r.stderr
        tap.check(f"--check refuses a g-ikev2 group with {extra.split(' =')[0]}: '{text}'",
                  refused)

    def gdoi_refuses():
        conf = gm_conf([BASE_PORT]).replace('protocol = "g-ikev2";', "")
        path = os.path.join(w, "check.conf")
        with open(path, "w") as f:
            f.write(conf)
        r = run([ctx["gvpnd"], "--", "-f", path, "--check"], timeout=10)
        assert r.returncode != 0 and 'only with protocol = \\"g-ikev2\\"' in r.stderr or \
            'only with protocol = "g-ikev2"' in r.stderr, r.stderr
    tap.check("--check refuses G-IKEv2 settings in a GDOI group", gdoi_refuses)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    ctx = {"gvpnd": gvpnd, "root": root, "work": work}
    tap = Tap()
    seconds = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    test_check(ctx, tap)
    test_registration(ctx, tap)
    test_faults(ctx, tap)
    test_pss(ctx, tap)
    test_registration_faults(ctx, tap)
    test_failover(ctx, tap)
    test_leave_unanswered(ctx, tap)
    test_ipv6(ctx, tap)
    test_rekeys_under_load(ctx, tap, seconds)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
