#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""GROUPKEY-PUSH rekeys (R13-R16) between two gvpnd group members and the
independent test key server, as TAP.

Two members register with TEKs of each newer algorithm (AES-GMAC,
HMAC-SHA-384/512), pass traffic and take a push rekey. Two members joined by
net_memif, each replaying clear traffic toward the other at full speed, ride through a minute of rekeys (pushes with ATD/DTD,
pushes with Deletes, a new KEK, pull re-registrations) with no packet dropped
for a key reason and every ESP packet decrypted. Then every push fault the key
server can make is dropped under its own counter without changing state, RFC
8263 acknowledgements are verified by the key server, and a member the key
server removed ends up out of the group.

Usage: test_push.py GVPND SOURCE_ROOT WORKDIR [SECONDS]
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, KeyServer, PushControl as Control, Tap, main_guard  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402

PSK = "group-member-psk-0123456789"
NET_A, NET_B = "192.0.2", "198.51.100"
BASE_PORT = 19000 + os.getpid() % 1000 * 4
# Replay outruns the peer: a full memif ring at the sender is congestion,
# not a key change, and is reported rather than failed.
CONGESTION = ("drop_tx_full",)


def ks_conf(port, control, **group):
    g = {"id": 1001, "atd": 1, "dtd": 3,
         "kek": {"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256",
                 "rsa_bits": 2048, "ack": "sha256", "lifetime": 3600},
         "teks": [{"spi": 0x3000, "cipher": "aes-cbc", "key_bits": 128,
                   "auth": "hmac-sha1-96", "src": f"{NET_A}.0/24", "dst": f"{NET_B}.0/24",
                   "mirror": True, "lifetime": 600}]}
    g.update(group)
    return {"listen": "127.0.0.1", "port": port, "psk": PSK, "control_file": control,
            "groups": [g]}


def gm_conf(port, local, extra="", gid=1001):
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_memif0"; }}
);
bypass = ( {{ protocol = "udp"; dst_port = 848; }} );
groups = ( {{
  name = "corp"; id = {gid};
  key_servers = ( "127.0.0.1:{port}" );
  local_address = "{local}";
  psk = "{PSK}";
  phase1 = ( "aes128-sha1-modp2048" );
  retry_interval = 1; retries = 2;
  {extra}
}} );
"""


def clear_pcap(work, name, src, dst, payload=64):
    path = os.path.join(work, f"push-{name}.pcap")
    wrpcap(path, [Ether() / IP(src=f"{src}.{10 + i}", dst=f"{dst}.20", id=i) /
                  UDP(sport=40000 + i, dport=5000) / Raw(b"p" * payload) for i in range(8)])
    return path


class Pair:
    """Members a (site A) and b (site B), protected ports joined by memif."""

    def __init__(self, ctx, port, tag, payload=64):
        w = ctx["work"]
        sock = os.path.join(w, f"memif-{tag}-{os.getpid()}.sock")
        a_in = clear_pcap(w, "a", NET_A, NET_B, payload)
        b_in = clear_pcap(w, "b", NET_B, NET_A, payload)
        self.a = Gvpnd(ctx["gvpnd"], gm_conf(port, "127.0.0.1"), [
            f"net_pcap0,rx_pcap={a_in},tx_pcap=/dev/null,infinite_rx=1",
            f"net_memif0,role=server,socket={sock},id=0"], w, name=f"push-{tag}-a")
        self.b = Gvpnd(ctx["gvpnd"], gm_conf(port, "127.0.0.2"), [
            f"net_pcap0,rx_pcap={b_in},tx_pcap=/dev/null,infinite_rx=1",
            f"net_memif0,role=client,socket={sock},id=0"], w, name=f"push-{tag}-b")

    def __enter__(self):
        self.a.start()
        self.b.start()
        return self

    def __exit__(self, *exc):
        self.b.stop()
        self.a.stop()

    def both(self):
        return (self.a, self.b)


def group(g):
    return g.tel("/gvpn/groups")["corp"]


def active_spi(g):
    act = [spi for spi, s in g.tel("/gvpn/sa").items() if s["state"] == "active"]
    return act[0] if len(act) == 1 else None


def wait_acks(ks, n, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        c = ks.state()["counters"]
        if c.get("acks_valid", 0) >= n:
            return c
        time.sleep(0.05)
    raise AssertionError(f"acknowledgements: {ks.state()['counters']}")


def port_stats(g, name):
    return g.tel("/gvpn/ports")[name]


def test_rekeys_under_load(ctx, tap, seconds):
    port = BASE_PORT
    control = Control(os.path.join(ctx["work"], "push-load.control.json"))
    conf = ks_conf(port, control.path)

    def zero_loss():
        with KeyServer(ctx["root"], conf, ctx["work"], "ks-push-load") as ks, \
                Pair(ctx, port, "load") as pair:
            for g in pair.both():
                g.wait(lambda g=g: group(g)["state"] == "registered" and active_spi(g),
                       timeout=20, what="registration")
            for g in pair.both():
                g.wait(lambda g=g: g.lcores()["decrypted"] > 1000, timeout=10,
                       what="traffic both ways")
            before = {g: g.lcores() for g in pair.both()}
            spis = set()
            acks = 0
            kinds = ["rekey", "rekey_delete", "new_kek", "pull"]
            end = time.time() + seconds
            i = 0
            while time.time() < end:
                kind = kinds[i % len(kinds)]
                i += 1
                old = active_spi(pair.a)
                if kind == "pull":
                    # a push whose TEK starts encrypting in 2 s, and pulls
                    # before then: the pulls no longer list the old TEK,
                    # which both members still encrypt with until the switch
                    control.push(ks, rekey=True, atd=2)
                    acks += 2
                    for g in pair.both():
                        regs = group(g)["registrations"]
                        assert g.tel("/gvpn/group/register,corp")["result"] == "queued"
                        g.wait(lambda g=g, r=regs: group(g)["registrations"] > r, timeout=10,
                               what="re-registration")
                    for g in pair.both():
                        g.wait(lambda g=g, o=old: active_spi(g) not in (None, o), timeout=5,
                               what="the pushed TEK to encrypt after the pulls")
                    spis.add(active_spi(pair.a))
                else:
                    p = {"rekey": True}
                    if kind == "new_kek":
                        p = {"new_kek": True, "rekey": True}
                    control.push(ks, **p)
                    acks += 2
                    wait_acks(ks, acks)
                    for g in pair.both():
                        g.wait(lambda g=g, o=old: active_spi(g) not in (None, o), timeout=5,
                               what=f"the pushed TEK to encrypt ({kind})")
                    spis.add(active_spi(pair.a))
                    if kind == "rekey_delete":
                        # the replaced SPI deleted by a push of its own, inside DTD
                        control.push(ks, delete=[{"protocol": "tek", "spi": int(old, 16)}])
                        acks += 2
                        wait_acks(ks, acks)
                time.sleep(3.5)  # past DTD: the replaced SA is gone
            after = {g: g.lcores() for g in pair.both()}
            for g in pair.both():
                info = group(g)
                assert info["pushes"] >= i - 1, info
                bad = {k: v for k, v in info.items() if k.startswith("push_drop") and v}
                assert not bad, f"pushes dropped: {bad}"
            assert len(spis) >= i - 1, f"the encrypting SPI changed only to {spis}"
            report = []
            for g in pair.both():
                d = {k: after[g][k] - before[g][k] for k in after[g]
                     if k.startswith("drop") and after[g][k] != before[g][k]}
                congestion = {k: d.pop(k) for k in CONGESTION if k in d}
                assert not d, f"dropped during rekeys: {d}"
                dec = after[g]["decrypted"] - before[g]["decrypted"]
                assert dec > 100000, f"only {dec} packets decrypted"
                report.append(f"{dec} decrypted, congestion {congestion}")
            stop = [pair.b.stop(), pair.a.stop()]
            assert stop == [0, 0], stop
            print(f"# {i} rekeys, encrypting SPIs {sorted(spis)}; a: {report[0]}; b: {report[1]}")
    tap.check(f"{seconds} s of rekeys at full replay speed, both directions (push ATD/DTD, "
              "push + Delete, new KEK, pulls inside a push's ATD): no packet dropped for a key reason, every ESP packet "
              "decrypts, pushes acknowledged",
              zero_loss)


def single(ctx, port, tag, extra="", gid=1001):
    w = ctx["work"]
    a_in = clear_pcap(w, "a", NET_A, NET_B)
    conf = gm_conf(port, "127.0.0.1", extra, gid).replace("net_memif0", "net_null0")
    return Gvpnd(ctx["gvpnd"], conf, [
        f"net_pcap0,rx_pcap={a_in},tx_pcap=/dev/null,infinite_rx=1", "net_null0"],
        w, name=f"push-{tag}")


FAULTS = [("replay_seq", "stale_seq"), ("stale_seq", "stale_seq"),
          ("bad_signature", "bad_signature"), ("unknown_kek", "unknown_kek"),
          ("wrong_kek_key", "malformed"), ("malformed", "malformed"), ("no_sig", "malformed")]


def test_push_faults(ctx, tap):
    port = BASE_PORT + 1
    control = Control(os.path.join(ctx["work"], "push-faults.control.json"))
    conf = ks_conf(port, control.path)
    with KeyServer(ctx["root"], conf, ctx["work"], "ks-push-faults") as ks, \
            single(ctx, port, "faults") as g:
        def registered():
            g.wait(lambda: group(g)["state"] == "registered" and active_spi(g), timeout=20,
                   what="registration")
            assert group(g)["kek"] == "yes", group(g)
        if not tap.check("member registers and holds the KEK from the pull", registered):
            return

        def valid():
            control.push(ks, rekey=True, atd=0, dtd=2)
            wait_acks(ks, 1)
            g.wait(lambda: group(g)["push_seq"] == 1 and active_spi(g) == "0x00003001",
                   timeout=5, what="push SEQ 1 applied with ATD 0")
            g.wait(lambda: "0x00003000" not in g.tel("/gvpn/sa"), timeout=5,
                   what="the replaced SA to end after DTD")
        tap.check("a valid push (ATD 0) encrypts with the new TEK at once and is acknowledged "
                  "(RFC 8263, checked by the key server)", valid)

        for fault, reason in FAULTS:
            def dropped(fault=fault, reason=reason):
                key = f"push_drop_{reason}"
                before, sas = group(g), sorted(g.tel("/gvpn/sa"))
                acks = ks.state()["counters"].get("acks_valid", 0)
                control.push(ks, rekey=True, fault=fault)
                g.wait(lambda: group(g)[key] == before[key] + 1, timeout=5,
                       what=f"{key} to count the push")
                time.sleep(0.2)
                after = group(g)
                assert after["push_seq"] == before["push_seq"], (before, after)
                assert after["pushes"] == before["pushes"], (before, after)
                assert sorted(g.tel("/gvpn/sa")) == sas, "SAs changed"
                assert ks.state()["counters"].get("acks_valid", 0) == acks, "acknowledged"
            tap.check(f"push fault {fault}: dropped as {reason}, counted, no state change, "
                      "no acknowledgement", dropped)

        def still_good():
            # the faults advanced the key server's SEQ; a valid push is accepted
            control.push(ks, rekey=True, atd=0)
            g.wait(lambda: group(g)["pushes"] == 2, timeout=5, what="the next valid push")
            assert group(g)["push_seq"] > 1
        tap.check("after the faults a valid push is still accepted", still_good)

        def repeated_kek():
            # a key server may repeat its KEK in every push: the same SPI is
            # the same KEK, and the pushes already accepted stay stale
            before = group(g)
            control.push(ks, rekey=True, repeat_kek=True, atd=0)
            g.wait(lambda: group(g)["pushes"] == before["pushes"] + 1, timeout=5,
                   what="the KEK-repeating push")
            seq = group(g)["push_seq"]
            assert seq > before["push_seq"] and group(g)["kek"] == "yes", group(g)
            stale = group(g)["push_drop_stale_seq"]
            control.push(ks, rekey=True, fault="stale_seq")
            g.wait(lambda: group(g)["push_drop_stale_seq"] == stale + 1, timeout=5,
                   what="the replayed SEQ 1 to be dropped as stale")
            assert group(g)["push_seq"] == seq, group(g)
        tap.check("a push repeating the KEK keeps the SEQ floor: an older push replayed "
                  "after it is dropped as stale_seq", repeated_kek)

        def removed():
            member = next(iter(ks.state()["groups"]["1001"]["members"]))
            control.push(ks, remove_member=member, to=[member],
                         delete=[{"protocol": "tek", "spi": "all"}, {"protocol": "kek"}],
                         dtd=0)
            g.wait(lambda: group(g)["state"] == "failed", timeout=20,
                   what="the removed member to be out of the group")
            info = group(g)
            assert info["sas"] == 0 and info["kek"] == "no", info
            assert info["failures"] >= 1, info
            t0 = g.lcores()
            time.sleep(0.3)
            t1 = g.lcores()
            assert t1["encrypted"] == t0["encrypted"], "still encrypting"
            assert t1["drop_no_sa"] + t1.get("drop_fail_closed", 0) > \
                t0["drop_no_sa"] + t0.get("drop_fail_closed", 0) or \
                t1["drop_no_rule"] > t0["drop_no_rule"], (t0, t1)
            assert g.stop() == 0
        tap.check("a member the key server removed and pushed Delete-all to loses its keys, "
                  "re-registers, is refused and stays out of the group (fail-closed)", removed)


FLOOD_KINDS = {"short": "rx_drop_short", "not_isakmp": "rx_drop_not_isakmp",
               "main": "rx_drop_not_key_server", "push": "push_drop_unknown_kek"}


def test_push_under_flood(ctx, tap, seconds=5):
    """Garbage at the group's GDOI socket as fast as gvpn-udpflood sends it
    (sendmmsg on loopback): every datagram is accounted for, by reason or as a
    kernel drop, the data plane keeps going, and a valid push sent during the
    flood is applied."""
    port = BASE_PORT + 2
    flooder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ctx["gvpnd"]))),
                           "test", "tools", "gvpn-udpflood")
    control = Control(os.path.join(ctx["work"], "push-flood.control.json"))
    r = {}
    with KeyServer(ctx["root"], ks_conf(port, control.path), ctx["work"], "ks-push-flood") as ks, \
            single(ctx, port, "flood") as g:
        def flood():
            g.wait(lambda: group(g)["state"] == "registered" and active_spi(g), timeout=20,
                   what="registration")
            member = next(iter(ks.state()["groups"]["1001"]["members"]))
            addr, mport = member.rsplit(":", 1)
            r["before"] = before = group(g)
            # on the core gvpnd (lcore 0) does not poll
            f = subprocess.Popen(["taskset", "-c", "1", flooder, addr, mport, str(seconds)],
                                 stdout=subprocess.PIPE, text=True)
            time.sleep(1)
            enc = g.lcores()["encrypted"]
            # a push that finds the socket buffer full is lost like one lost on
            # the way (rx_drop_socket_full): then the key server's next one
            r["pushes"] = 0
            while f.poll() is None and group(g)["pushes"] == before["pushes"] and \
                    r["pushes"] < 10:
                control.push(ks, rekey=True, atd=0)
                r["pushes"] += 1
                try:
                    g.wait(lambda: group(g)["pushes"] > before["pushes"], timeout=0.4,
                           what="the push applied during the flood")
                except AssertionError:
                    pass
            r["during"] = f.poll() is None
            r["applied"] = group(g)
            r["spi"] = active_spi(g)
            r["enc_during"] = g.lcores()["encrypted"] - enc
            out, _ = f.communicate(timeout=seconds + 10)
            assert f.returncode == 0, out
            r["sent"] = sent = json.loads(out)
            time.sleep(0.5)  # the last datagrams read
            r["after"] = after = group(g)
            r["got"] = got = {k: after[c] - before[c] for k, c in FLOOD_KINDS.items()}
            r["full"] = full = after["rx_drop_socket_full"] - before["rx_drop_socket_full"]
            print(f"# flood: {json.dumps(sent)}", flush=True)
            print(f"# counted: {json.dumps(got)}, socket_full {full}, "
                  f"polls_full {after['rx_polls_full'] - before['rx_polls_full']}, "
                  f"pushes sent {r['pushes']}, packets encrypted meanwhile {r['enc_during']}",
                  flush=True)
            for k, n in got.items():
                assert n <= sent[k], (k, n, sent[k])
            # every datagram read is counted under its kind's reason; the kernel
            # counts the rest (socket buffer full); the key server's few add up
            accounted = sum(got.values()) + full
            assert abs(accounted - sent["sent"]) <= sent["sent"] // 100 + 20, \
                (accounted, sent["sent"])
            assert sum(got.values()) > 0, "no datagram read"
            assert r["enc_during"] > 0, "the data plane stalled during the flood"
            assert g.tel("/gvpn/version"), "gvpnd stopped answering"
        if not tap.check(f"{seconds} s of garbage at the GDOI socket: every datagram counted "
                         "by reason or as a kernel drop, the data plane keeps encrypting",
                         flood):
            return
        name = "a valid push sent during the flood is applied"
        sent, applied, full = r["sent"], r["applied"], r["full"]
        if applied["pushes"] == r["before"]["pushes"] and full > sent["sent"] // 2:
            # gvpnd read under half of it: this shared machine gave it too
            # little time for the flood's rate, and the kernel dropped the pushes
            tap.skip(name, f"gvpnd read {sent['sent'] - full} of {sent['sent']} datagrams "
                           "(machine too loaded for this rate)")
        else:
            def push_applied():
                assert applied["pushes"] == r["before"]["pushes"] + 1, applied
                assert r["during"], "the flood ended before the push was applied"
                assert applied["push_seq"] == r["pushes"], applied
                assert r["spi"] == f"0x{0x3000 + r['pushes']:08x}", (r["spi"], applied)
            tap.check(name, push_applied)
        assert g.stop() == 0


def test_reference_habits(ctx, tap):
    """The GDOI reference key server's wire habits (test/ks `"habits":
    "reference"`, written from its source): a strict member refuses its
    pushes; one with key_server_habits = "reference" registers, takes its
    pushes and its KEK rekey."""
    port = BASE_PORT + 3
    control = Control(os.path.join(ctx["work"], "push-habits.control.json"))
    conf = ks_conf(port, control.path, habits="reference")
    # it reads the 4-octet group ID in host order: 1001 byte-swapped reaches it
    gid = int.from_bytes((1001).to_bytes(4, "little"), "big")
    with KeyServer(ctx["root"], conf, ctx["work"], "ks-push-habits") as ks:
        def registered(g):
            g.wait(lambda: group(g)["state"] == "registered" and active_spi(g), timeout=20,
                   what="registration")
            assert group(g)["kek"] == "yes", group(g)

        with single(ctx, port, "strict", gid=gid) as g:
            def strict():
                registered(g)
                control.push(ks, rekey=True, atd=0)
                g.wait(lambda: group(g)["push_drop_bad_signature"] == 1, timeout=5,
                       what="the bare-digest push to be dropped")
                assert group(g)["pushes"] == 0, group(g)
            tap.check("strict (the default): a key server of the reference habits registers the "
                      "member (group ID 0x%08x, 6 octets after the SA KEK's SPI) but its "
                      "bare-digest pushes are dropped as bad_signature" % gid, strict)

        with single(ctx, port, "reference", 'key_server_habits = "reference";', gid) as g:
            def reference():
                registered(g)
                spi = active_spi(g)
                control.push(ks, rekey=True, atd=0)
                g.wait(lambda: group(g)["pushes"] == 1 and active_spi(g) != spi, timeout=5,
                       what="the bare-digest push to be applied")
                spi = active_spi(g)
                kek = ks.state()["groups"]["1001"]["kek"]["spi"]
                control.push(ks, new_kek=True)
                g.wait(lambda: group(g)["pushes"] == 2, timeout=5,
                       what="the KEK rekey (its key packet under the old KEK's SPI)")
                assert ks.state()["groups"]["1001"]["kek"]["spi"] != kek
                control.push(ks, rekey=True, atd=0)
                g.wait(lambda: group(g)["pushes"] == 3 and active_spi(g) != spi, timeout=5,
                       what="a push under the new KEK to be applied")
                after = group(g)
                assert after["push_drop_bad_signature"] == 0, after
                assert after["push_drop_policy"] == 0, after
            tap.check('key_server_habits = "reference": its pushes, its KEK rekey and the '
                      "pushes under the new KEK are applied", reference)


# TEKs of the newer algorithms: (name, TEK settings, /gvpn/sa cipher, auth)
ALG_TEKS = [
    ("AES-GMAC-128 (RFC 4543)", {"cipher": "aes-gmac", "key_bits": 128}, "aes-gmac-128", "none"),
    ("AES-GMAC-256 (RFC 4543)", {"cipher": "aes-gmac", "key_bits": 256}, "aes-gmac-256", "none"),
    ("AES-CBC-128 + HMAC-SHA-384-192 (RFC 4868)",
     {"cipher": "aes-cbc", "key_bits": 128, "auth": "hmac-sha384-192"}, "aes-cbc-128",
     "hmac-sha384-192"),
    ("3DES + HMAC-SHA-512-256 (RFC 4868)", {"cipher": "3des-cbc", "auth": "hmac-sha512-256"},
     "3des-cbc-192", "hmac-sha512-256"),
]


def test_tek_algorithms(ctx, tap):
    """Two members register with TEKs of each newer algorithm from the key
    server, pass traffic both ways and take a push rekey with no drop."""
    for n, (name, tek, cipher, auth) in enumerate(ALG_TEKS):
        port = BASE_PORT + n % 4
        control = Control(os.path.join(ctx["work"], f"push-alg{n}.control.json"))
        base = ks_conf(port, control.path)["groups"][0]["teks"][0]
        t = {k: v for k, v in base.items() if k not in ("cipher", "key_bits", "auth")}
        t.update(tek)
        # GMAC counts its IVs: each member needs its Sender-ID to encrypt
        conf = ks_conf(port, control.path, teks=[t], sid_bits=16)

        def registers_passes_and_rekeys():
            with KeyServer(ctx["root"], conf, ctx["work"], f"ks-alg{n}") as ks, \
                    Pair(ctx, port, f"alg{n}") as pair:
                for g in pair.both():
                    g.wait(lambda g=g: group(g)["state"] == "registered" and active_spi(g),
                           timeout=20, what="registration")
                    sa = g.tel("/gvpn/sa")[active_spi(g)]
                    assert (sa["cipher"], sa["auth"]) == (cipher, auth), sa
                    g.wait(lambda g=g: g.lcores()["decrypted"] > 1000, timeout=10,
                           what="traffic both ways")
                before = {g: g.lcores() for g in pair.both()}
                old = active_spi(pair.a)
                # ATD 1 s: both members hold the new SA before either
                # encrypts with it (with 0 the first to apply the push sends
                # ESP the other cannot yet decrypt: no_sa)
                control.push(ks, rekey=True, atd=1, dtd=3)
                wait_acks(ks, 2)
                for g in pair.both():
                    g.wait(lambda g=g: active_spi(g) not in (None, old), timeout=5,
                           what="the pushed TEK to encrypt")
                    sa = g.tel("/gvpn/sa")[active_spi(g)]
                    assert (sa["cipher"], sa["auth"]) == (cipher, auth), sa
                    d = g.lcores()["decrypted"]
                    g.wait(lambda g=g, d=d: g.lcores()["decrypted"] > d + 1000, timeout=10,
                           what="traffic under the pushed TEK")
                for g in pair.both():
                    after = g.lcores()
                    d = {k: after[k] - before[g][k] for k in after
                         if k.startswith("drop") and after[k] != before[g][k]}
                    for k in CONGESTION:
                        d.pop(k, None)
                    assert not d, f"dropped around the rekey: {d}"
                    assert group(g)["pushes"] == 1, group(g)
                assert [pair.b.stop(), pair.a.stop()] == [0, 0]
        tap.check(f"{name} TEKs: two members register, pass traffic both ways and take a push "
                  "rekey with no drop", registers_passes_and_rekeys)


def main():
    tap = Tap()
    ctx = {"gvpnd": sys.argv[1], "root": sys.argv[2], "work": sys.argv[3]}
    os.makedirs(ctx["work"], exist_ok=True)
    seconds = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    test_tek_algorithms(ctx, tap)
    test_push_faults(ctx, tap)
    test_reference_habits(ctx, tap)
    test_push_under_flood(ctx, tap)
    test_rekeys_under_load(ctx, tap, seconds)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
