#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd's burst pipeline on pcap virtual devices, as TAP.

Each case writes pcaps into the clear and protected ports, runs gvpnd with a
configuration from config/ (or a variant of one), and checks the frames it
transmitted byte by byte and the counters its telemetry reports. scapy's ESP
(IPv4 and IPv6 tunnel mode) is the independent reference for every encrypted
packet; for AES-GMAC, which
scapy 2.5 lacks, test/pylib/gmac_esp.py (RFC 4543 over python3-cryptography).

Usage: test_pipeline.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gmac_esp import GmacSA  # noqa: E402
from gvpntest import Gvpnd, Tap, main_guard, run  # noqa: E402

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, Raw, defragment, fragment,  # noqa: E402
                       rdpcap, wrpcap)
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest,  # noqa: E402
                                ICMPv6ND_NS, ICMPv6PacketTooBig, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting, defragment6, fragment6)
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402
from scapy.layers.l2 import Dot1AD, Dot1Q  # noqa: E402

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH_KEY = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3")
A, B = "192.0.2.10", "198.51.100.20"
MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def sa(spi=0x1001, key=KEY):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=key,
                               auth_algo="HMAC-SHA1-96", auth_key=AUTH_KEY, tunnel_header=IP())


def eth():
    return Ether(**MAC)


def protected_sample():
    """Clear traffic that the static group must encrypt."""
    return [
        eth() / IP(src=A, dst=B, tos=0xb8, id=1) / UDP(sport=40000, dport=40001) / Raw(b"a" * 100),
        eth() / IP(src=A, dst=B, tos=0x2b, id=2, flags="DF") / UDP(sport=40000, dport=40001) / Raw(b"b" * 7),
        eth() / IP(src=A, dst=B, id=3) / ICMP(id=1, seq=1) / Raw(b"ping" * 10),
        eth() / IP(src="192.0.2.77", dst="198.51.100.99", id=4) / UDP(sport=1, dport=2) / Raw(b"c" * 1000),
        eth() / IP(src=B, dst=A, id=5) / UDP(sport=40001, dport=40000) / Raw(b"mirror"),  # R5 mirror
    ]


def others():
    """(frame, what gvpnd must do with it)."""
    return [
        (eth() / IP(src="203.0.113.1", dst="203.0.113.2") / UDP(sport=9, dport=9) / Raw(b"x"), "no_rule"),
        (eth() / IP(src="203.0.113.5", dst="203.0.113.6") / UDP(sport=848, dport=848) / Raw(b"gdoi"), "bypass"),
        (eth() / IP(src=A, dst=B, proto=89) / Raw(b"ospf hello"), "bypass"),
        (Ether(src=MAC["src"], dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=A, pdst=B), "l2"),
        (eth() / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP() / Raw(b"v6"), "no_rule"),
        (Ether(type=0x88cc, **MAC) / Raw(b"lldp" * 12), "not_ip"),
        (Ether(bytes(eth() / IP(src=A, dst=B, len=400) / UDP() / Raw(b"short"))), "malformed"),
    ]


class Case:
    """One gvpnd run over pcap files."""

    def __init__(self, ctx, name, conf, clear_in=(), prot_in=()):
        self.ctx, self.name = ctx, name
        w = ctx.work
        self.files = {k: os.path.join(w, f"{name}.{k}.pcap")
                      for k in ("clear_in", "clear_out", "prot_in", "prot_out")}
        wrpcap(self.files["clear_in"], list(clear_in), linktype=1)
        wrpcap(self.files["prot_in"], list(prot_in), linktype=1)
        self.n_clear, self.n_prot = len(clear_in), len(prot_in)
        self.conf = conf
        self.tel = {}

    def run(self, lcores="0", extra_vdevs=(), extra_rx=None, until=None):
        """@until: a test of the summed lcore counters to wait for once the
        input is read (say, drops that come only after a timeout)."""
        f = self.files
        vdevs = [f"net_pcap0,rx_pcap={f['clear_in']},tx_pcap={f['clear_out']}",
                 f"net_pcap1,rx_pcap={f['prot_in']},tx_pcap={f['prot_out']}"] + list(extra_vdevs)
        g = Gvpnd(self.ctx.gvpnd, self.conf, vdevs, self.ctx.work, lcores=lcores, name=self.name)
        with g:
            def all_read():
                p = g.tel("/gvpn/ports")
                return (p["inside"]["rx_packets"] >= self.n_clear and
                        p["wan"]["rx_packets"] >= self.n_prot and
                        all(p[k]["rx_packets"] >= n for k, n in (extra_rx or {}).items()))
            g.wait(all_read, what="gvpnd to read its input")
            if until is not None:
                try:
                    g.wait(lambda: until(g.lcores()), what="the counters")
                except AssertionError:
                    raise AssertionError(f"counters: {g.lcores()}") from None
            # every frame read is accounted for once the counters stop moving
            last = None
            while True:
                now = (g.tel("/gvpn/ports"), g.lcores())
                if now == last:
                    break
                last = now
            for cmd in ("/gvpn/ports", "/gvpn/lcores", "/gvpn/sa", "/gvpn/groups", "/gvpn/flows",
                        "/gvpn/mempools", "/gvpn/version", "/gvpn/policy"):
                self.tel[cmd] = g.tel(cmd)
            # DPDK's own client reads the same socket
            r = run(["dpdk-telemetry.py", "-f", g.prefix], input="/gvpn/sa\n")
            self.dpdk_client = r.stdout
            rc = g.stop()
        assert rc == 0, f"gvpnd exit status {rc}: {g.output()}"
        self.log = g.output()
        self.clear_out = list(rdpcap(f["clear_out"]))
        self.prot_out = list(rdpcap(f["prot_out"]))
        return self

    @property
    def total(self):
        return self.tel["/gvpn/lcores"]["total"]

    def counters(self, **want):
        t = self.total
        bad = {k: (t[k], v) for k, v in want.items() if t[k] != v}
        nonzero = {k: v for k, v in t.items() if k.startswith("drop") and v and k not in want}
        assert not bad and not nonzero, f"counters (got, want): {bad}; unexpected drops: {nonzero}"


class Ctx:
    def __init__(self, gvpnd, root, work):
        self.gvpnd, self.root, self.work = gvpnd, root, work

    def example(self, name, **subst):
        text = open(os.path.join(self.root, "config", name)).read()
        for old, new in subst.items():
            assert old.replace("__", " = ") in text or old in text, f"{old} not in {name}"
            text = text.replace(old, new)
        return text


def esp_frames(frames):
    # copies: scapy's decrypt() changes the packet it is given
    return [Ether(bytes(p)) for p in frames if IP in p and p[IP].proto == 50]


def test_outbound(ctx, tap, state):
    clear = protected_sample()
    extra = others()
    c = Case(ctx, "outbound", ctx.example("static-group.conf"),
             clear_in=clear + [f for f, _ in extra]).run()
    state["esp"] = esp_frames(c.prot_out)

    def encrypts_with_preserved_addresses():
        esp = esp_frames(c.prot_out)
        assert len(esp) == len(clear), f"{len(esp)} ESP frames for {len(clear)} packets"
        for e, p in zip(esp, clear):
            assert (e[IP].src, e[IP].dst) == (p[IP].src, p[IP].dst), "addresses not preserved"
            assert e[IP].tos == p[IP].tos, f"TOS {e[IP].tos:#x} != {p[IP].tos:#x}"
            assert e[IP].flags.DF == 0, "DF set with df_bit = clear"
            assert e[ESP].spi == 0x1001
            assert bytes(e[Ether])[:12] == bytes(p[Ether])[:12], "link header changed"
            got = sa().decrypt(e[IP])
            assert bytes(got) == bytes(p[IP]), "scapy's decryption differs from the original"
    tap.check("outbound: scapy decrypts every packet; outer = inner addresses, TOS copied, DF clear",
              encrypts_with_preserved_addresses)

    def others_handled():
        clear_frames = [bytes(p) for p in c.prot_out if not (IP in p and p[IP].proto == 50)]
        for f, what in extra:
            if what in ("bypass", "l2"):
                assert bytes(f) in clear_frames, f"{what} frame not forwarded unchanged: {f.summary()}"
        c.counters(encrypted=5, bypassed=2, l2_passed=1, drop_no_rule=2, drop_not_ip=1,
                   drop_malformed=1)
    tap.check("outbound: bypass and ARP untouched; no rule (IPv4, IPv6), not IP, malformed "
              "dropped and counted",
              others_handled)

    def telemetry():
        t = c.tel
        assert t["/gvpn/version"]["gvpn"], t["/gvpn/version"]
        sa_t = t["/gvpn/sa"]["0x00001001"]
        assert sa_t["packets"] == 5 and sa_t["state"] == "active", sa_t
        assert sa_t["cipher"] == "aes-cbc-128" and sa_t["auth"] == "hmac-sha1-96", sa_t
        assert t["/gvpn/groups"]["corp"]["state"] == "static", t["/gvpn/groups"]
        assert t["/gvpn/ports"]["inside"]["rx_packets"] == len(clear) + len(extra)
        assert t["/gvpn/ports"]["wan"]["tx_packets"] == 5 + 3
        text = repr(t).lower() + c.log.lower()
        for k in (KEY.hex(), AUTH_KEY.hex(), KEY.hex()[:16]):
            assert k not in text, "key material in telemetry or logs"
        assert t["/gvpn/flows"]["flows"] >= 1
        pool = t["/gvpn/mempools"]["gvpn_mbufs_0"]
        assert pool["size"] > 0 and pool["available"] + pool["in_use"] == pool["size"], pool
        # every frame handled: each mbuf back in the pool (net_pcap holds none)
        assert pool["in_use"] == 0, pool
        assert '"0x00001001"' in c.dpdk_client, f"dpdk-telemetry.py: {c.dpdk_client!r}"
    tap.check("telemetry: version, SA counters and state, port counts, every mbuf back in its pool, no key material", telemetry)


def test_inbound(ctx, tap, state):
    clear = protected_sample()
    esp = state.get("esp") or []
    big = eth() / IP(src=A, dst=B, id=77) / UDP(sport=40000, dport=40001) / Raw(b"F" * 1400)
    big_esp = eth() / sa().encrypt(big[IP])
    frags = [eth() / f for f in fragment(big_esp[IP], fragsize=600)]
    outside = eth() / sa().encrypt(IP(src="10.9.9.9", dst="10.8.8.8") / UDP() / Raw(b"outside"))
    wrong_spi = eth() / sa(spi=0x2002).encrypt(clear[0][IP])
    bad_icv = bytearray(bytes(esp[0])) if esp else bytearray()
    if bad_icv:
        bad_icv[-1] ^= 1
    clear_in_policy = clear[1]
    bypass = eth() / IP(src=B, dst=A) / UDP(sport=848, dport=848) / Raw(b"gdoi")
    inputs = esp + frags + [outside, wrong_spi, Ether(bytes(bad_icv)), clear_in_policy, bypass]
    c = Case(ctx, "inbound", ctx.example("static-group.conf"), prot_in=inputs).run()

    def decrypts_to_originals():
        got = [bytes(p) for p in c.clear_out]
        for p in clear:
            assert bytes(p) in got, f"missing after decryption: {p.summary()}"
        assert bytes(big) in got, "fragmented ESP not reassembled and decrypted"
        assert bytes(bypass) in got, "bypass packet not forwarded"
    tap.check("inbound: gvpnd decrypts its own ESP and reassembled ESP fragments to the originals",
              decrypts_to_originals)

    def drops():
        c.counters(decrypted=len(clear) + 1, bypassed=1, reassembled=1, drop_no_sa=1,
                   drop_esp_bad_icv=1, drop_clear_in_policy=1, drop_inner_policy=1)
    tap.check("inbound: wrong SPI, bad ICV, clear traffic under policy, inner outside selectors: "
              "dropped and counted", drops)


# AES-GMAC and HMAC-SHA-384/512 SAs: (name, backend, cipher, key, auth, auth key,
# telemetry cipher, the independent peer's SA)
SHA384_KEY = bytes(range(0xa0, 0xd0))
SHA512_KEY = bytes(range(0xa0, 0xe0))
GMAC128_KEY = bytes(range(20))
GMAC256_KEY = bytes(range(36))
NEW_ALGS = [
    ("aes-gmac-128", "ipsecmb", "aes-gmac", GMAC128_KEY, None, None, "aes-gmac-128",
     lambda: GmacSA(0x1001, GMAC128_KEY)),
    ("aes-gmac-256", "openssl", "aes-gmac", GMAC256_KEY, None, None, "aes-gmac-256",
     lambda: GmacSA(0x1001, GMAC256_KEY)),
    ("aes-cbc-128/hmac-sha384-192", "ipsecmb", "aes-cbc", KEY, "hmac-sha384-192", SHA384_KEY,
     "aes-cbc-128",
     lambda: SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-CBC", crypt_key=KEY,
                                 auth_algo="SHA2-384-192", auth_key=SHA384_KEY,
                                 tunnel_header=IP())),
    ("aes-cbc-256/hmac-sha512-256", "openssl", "aes-cbc", KEY + KEY, "hmac-sha512-256",
     SHA512_KEY, "aes-cbc-256",
     lambda: SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-CBC", crypt_key=KEY + KEY,
                                 auth_algo="SHA2-512-256", auth_key=SHA512_KEY,
                                 tunnel_header=IP())),
]


def test_new_algorithms(ctx, tap):
    """Each SA both ways through gvpnd: the peer opens what gvpnd sends, gvpnd
    opens what the peer sends, and a changed byte is a bad ICV."""
    clear = protected_sample()
    for name, backend, cipher, key, auth, auth_key, tel_cipher, peer in NEW_ALGS:
        sa_text = f'cipher = "{cipher}";\n        key = "{key.hex()}";'
        if auth:
            sa_text += f'\n        auth = "{auth}";\n        auth_key = "{auth_key.hex()}";'
        conf = ctx.example("static-group.conf").replace(
            'cipher = "aes-cbc";\n        key = "000102030405060708090a0b0c0d0e0f";\n'
            '        auth = "hmac-sha1-96";\n'
            '        auth_key = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3";', sa_text)
        conf = conf.replace('crypto = "ipsecmb"', f'crypto = "{backend}"')
        assert f'cipher = "{cipher}"' in conf and f'crypto = "{backend}"' in conf
        tx = peer()
        inbound = [eth() / tx.encrypt(p[IP]) for p in clear]
        bad = bytearray(bytes(eth() / tx.encrypt(clear[0][IP])))
        bad[14 + 20 + 8 + 8 + 10] ^= 0x01  # GMAC: a clear payload byte; CBC: ciphertext
        c = Case(ctx, "alg_" + name.replace("/", "_"), conf, clear_in=clear,
                 prot_in=inbound + [Ether(bytes(bad))]).run()

        def both_ways():
            esp = esp_frames(c.prot_out)
            assert len(esp) == len(clear), f"{len(esp)} ESP frames for {len(clear)} packets"
            rx = peer()
            for e, p in zip(esp, clear):
                assert (e[IP].src, e[IP].dst, e[IP].tos) == (p[IP].src, p[IP].dst, p[IP].tos)
                assert bytes(rx.decrypt(e[IP])) == bytes(p[IP]), "the peer's decryption differs"
                if cipher == "aes-gmac":  # integrity only: the inner packet in the clear
                    assert bytes(p[IP]) in bytes(e[IP]), "GMAC payload not in the clear"
            got = [bytes(p) for p in c.clear_out]
            for p in clear:
                assert bytes(p) in got, f"not decrypted: {p.summary()}"
            c.counters(encrypted=len(clear), decrypted=len(clear), drop_esp_bad_icv=1)
            sa_t = c.tel["/gvpn/sa"]["0x00001001"]
            assert sa_t["cipher"] == tel_cipher and sa_t["auth"] == (auth or "none"), sa_t
            text = repr(c.tel).lower() + c.log.lower()
            for k in (key, auth_key or b""):
                assert not k or k.hex() not in text, "key material in telemetry or logs"
        tap.check(f"{name} ({backend}): the independent peer opens gvpnd's ESP and gvpnd opens "
                  "the peer's; a changed byte is a bad ICV", both_ways)


def test_df_policy(ctx, tap):
    clear = protected_sample()
    for mode, want in (("set", [1] * 5), ("copy", [int(p[IP].flags.DF) for p in clear])):
        def check(mode=mode, want=want):
            conf = ctx.example("static-group.conf").replace('df_bit = "clear"', f'df_bit = "{mode}"')
            c = Case(ctx, f"df_{mode}", conf, clear_in=clear).run()
            got = [int(p[IP].flags.DF) for p in esp_frames(c.prot_out)]
            assert got == want, f"outer DF {got}, want {want}"
        tap.check(f"outer DF bit with df_bit = {mode}", check)


def test_fragmentation(ctx, tap):
    big = eth() / IP(src=A, dst=B, id=99) / UDP(sport=40000, dport=40001) / Raw(bytes(range(256)) * 5 + b"z" * 192)
    assert len(big[IP]) == 1500

    def prefragments():
        c = Case(ctx, "prefrag", ctx.example("static-group.conf"), clear_in=[big]).run()
        esp = esp_frames(c.prot_out)
        assert len(esp) == 2, f"{len(esp)} ESP packets"
        assert all(len(p[IP]) <= 1500 for p in esp), [len(p[IP]) for p in esp]
        inner = defragment([sa().decrypt(p[IP]) for p in esp])
        assert len(inner) == 1 and bytes(inner[0][Raw]) == bytes(big[Raw]), "fragments do not rebuild the packet"
        c.counters(encrypted=2, fragments_out=2)
    tap.check("pre-fragmentation: a 1500-byte packet becomes two ESP packets within MTU 1500", prefragments)

    def honors_df():
        conf = ctx.example("static-group.conf").replace('inner_df = "fragment"', 'inner_df = "honor"')
        p = big.copy()
        p[IP].flags = "DF"
        c = Case(ctx, "honor_df", conf, clear_in=[Ether(bytes(p))]).run()
        assert not esp_frames(c.prot_out), "a DF packet was fragmented"
        icmp = [f for f in c.clear_out if ICMP in f]
        assert len(icmp) == 1, f"{len(icmp)} ICMP messages"
        i = icmp[0]
        assert (i[ICMP].type, i[ICMP].code) == (3, 4), i.summary()
        mtu = i[ICMP].nexthopmtu
        assert 1400 <= mtu < 1500, f"next-hop MTU {mtu}"
        assert i[IP].dst == A
        c.counters(drop_frag_needed=1, icmp_sent=1)
    tap.check("inner_df = honor: a too-big DF packet is dropped with ICMP fragmentation-needed", honors_df)


def test_backend_openssl(ctx, tap):
    clear = protected_sample()

    def same_result():
        conf = ctx.example("static-group.conf").replace('crypto = "ipsecmb"', 'crypto = "openssl"')
        c = Case(ctx, "openssl", conf, clear_in=clear).run()
        esp = esp_frames(c.prot_out)
        assert [bytes(sa().decrypt(p[IP])) for p in esp] == [bytes(p[IP]) for p in clear]
    tap.check("crypto = openssl: same packets, decrypted by scapy", same_result)


def test_direction(ctx, tap, state):
    clear = protected_sample()

    def inbound_only():
        conf = ctx.example("static-group.conf").replace('direction = "both"', 'direction = "inbound"')
        c = Case(ctx, "dir_in", conf, clear_in=clear, prot_in=state.get("esp") or []).run()
        assert not esp_frames(c.prot_out), "encrypted with direction = inbound"
        c.counters(decrypted=len(clear), drop_no_rule=len(clear))
    tap.check("direction = inbound: decrypts, never encrypts (R26)", inbound_only)

    def outbound_only():
        conf = ctx.example("static-group.conf").replace('direction = "both"', 'direction = "outbound"')
        c = Case(ctx, "dir_out", conf, clear_in=clear, prot_in=state.get("esp") or []).run()
        assert len(esp_frames(c.prot_out)) == len(clear)
        c.counters(encrypted=len(clear), drop_no_sa=len(clear))
    tap.check("direction = outbound: encrypts, never decrypts (R26)", outbound_only)


def test_two_pairs_and_a_worker_lcore(ctx, tap):
    clear = protected_sample()

    def two_pairs():
        conf = ctx.example("static-group.conf").replace(
            '{ name = "wan";     role = "protected"; device = "net_pcap1"; mtu = 1500; }',
            '{ name = "wan";     role = "protected"; device = "net_pcap1"; mtu = 1500; },\n'
            '  { name = "inside2"; role = "clear"; device = "net_pcap2"; peer = "wan2"; },\n'
            '  { name = "wan2"; role = "protected"; device = "net_pcap3"; }')
        w = ctx.work
        wrpcap(f"{w}/pair2.clear_in.pcap", clear, linktype=1)
        wrpcap(f"{w}/pair2.prot_in.pcap", [], linktype=1)
        c = Case(ctx, "pairs", conf, clear_in=clear)
        extra = [f"net_pcap2,rx_pcap={w}/pair2.clear_in.pcap,tx_pcap={w}/pair2.clear_out.pcap",
                 f"net_pcap3,rx_pcap={w}/pair2.prot_in.pcap,tx_pcap={w}/pair2.prot_out.pcap"]
        c.n_clear = len(clear)
        c.run(extra_vdevs=extra, extra_rx={"inside2": len(clear)})
        esp2 = esp_frames(rdpcap(f"{w}/pair2.prot_out.pcap"))
        assert len(esp_frames(c.prot_out)) == len(clear) and len(esp2) == len(clear)
        assert [bytes(sa().decrypt(p[IP])) for p in esp2] == [bytes(p[IP]) for p in clear]
        assert c.tel["/gvpn/ports"]["inside2"]["rx_packets"] == len(clear)
        c.counters(encrypted=2 * len(clear))
    tap.check("two port pairs: each clear port's traffic leaves encrypted on its own peer", two_pairs)

    def worker_lcore():
        c = Case(ctx, "worker_lcore", ctx.example("static-group.conf"), clear_in=clear).run(lcores="0-1")
        assert [bytes(sa().decrypt(p[IP])) for p in esp_frames(c.prot_out)] == [bytes(p[IP]) for p in clear]
        assert sorted(c.tel["/gvpn/lcores"]) == ["lcore_1", "total"], list(c.tel["/gvpn/lcores"])
        c.counters(encrypted=len(clear))
    tap.check("-l 0-1: the worker runs on lcore 1, the control core on lcore 0", worker_lcore)


def test_jumbo(ctx, tap):
    def jumbo():
        conf = ctx.example("static-group.conf").replace(
            'device = "net_pcap0"; peer = "wan"; }',
            'device = "net_pcap0"; peer = "wan"; mtu = 9000; }').replace(
            'device = "net_pcap1"; mtu = 1500; }', 'device = "net_pcap1"; mtu = 9000; }')
        assert conf.count("mtu = 9000") == 2, conf
        big = [eth() / IP(src=A, dst=B, id=9) / UDP(sport=40000, dport=40001) / Raw(b"j" * n)
               for n in (1472, 4000, 8900)]
        c = Case(ctx, "jumbo", conf, clear_in=big).run()
        esp = esp_frames(c.prot_out)
        assert len(esp) == len(big), f"{len(esp)} ESP frames for {len(big)} jumbo frames"
        assert [bytes(sa().decrypt(p[IP])) for p in esp] == [bytes(p[IP]) for p in big]
        c.counters(encrypted=len(big))
    tap.check("MTU 9000 on both sides: frames up to 8.9 KB are encrypted whole, one segment "
              "each, and decrypt", jumbo)


def test_ecn(ctx, tap):
    """RFC 6040 section 4.2, figure 4, with scapy as the encrypting peer."""
    NOT_ECT, ECT1, ECT0, CE = 0, 1, 2, 3
    drop = None
    figure4 = {  # (inner, outer): what leaves
        (NOT_ECT, NOT_ECT): NOT_ECT, (NOT_ECT, ECT0): NOT_ECT, (NOT_ECT, ECT1): NOT_ECT,
        (NOT_ECT, CE): drop,
        (ECT0, NOT_ECT): ECT0, (ECT0, ECT0): ECT0, (ECT0, ECT1): ECT1, (ECT0, CE): CE,
        (ECT1, NOT_ECT): ECT1, (ECT1, ECT0): ECT1, (ECT1, ECT1): ECT1, (ECT1, CE): CE,
        (CE, NOT_ECT): CE, (CE, ECT0): CE, (CE, ECT1): CE, (CE, CE): CE,
    }
    dscp = 0x28  # AF11
    frames, want = [], {}
    for n, ((inner, outer), out) in enumerate(sorted(figure4.items())):
        p = IP(src=A, dst=B, tos=dscp | inner, id=600 + n) / UDP(sport=40000, dport=40001) / Raw(b"e" * 20)
        e = sa().encrypt(p)
        e.tos = dscp | outer  # a router on the way marked it
        del e.chksum
        frames.append(eth() / e)
        want[600 + n] = (inner, outer, out)

    def combines():
        c = Case(ctx, "ecn", ctx.example("static-group.conf"), prot_in=frames).run()
        got = {p[IP].id: p for p in c.clear_out if IP in p}
        for ident, (inner, outer, out) in want.items():
            if out is drop:
                assert ident not in got, f"inner {inner} outer {outer}: forwarded"
                continue
            assert ident in got, f"inner {inner} outer {outer}: not forwarded"
            ip = got[ident][IP]
            assert ip.tos == dscp | out, f"inner {inner} outer {outer}: TOS {ip.tos:#x}, want {dscp | out:#x}"
            chk = ip.chksum
            del ip.chksum
            assert IP(bytes(ip)).chksum == chk, f"inner {inner} outer {outer}: bad header checksum"
        c.counters(decrypted=len(frames) - 1, drop_esp_ce_not_ect=1)
    tap.check("ECN on decapsulation (RFC 6040 figure 4): outer marks combined into the inner header, "
              "CE over Not-ECT dropped and counted", combines)


def test_bad_fragments(ctx, tap):
    """Fragments that never make a packet: each one counted once, by reason."""
    def frag(ident, off, payload, mf=True, src=A):
        return eth() / IP(src=src, dst=B, id=ident, proto=17, frag=off // 8,
                          flags="MF" if mf else 0) / Raw(payload)

    invalid = [
        # teardrop: the last fragment lies inside the first
        frag(1, 0, b"t" * 36), frag(1, 24, b"t" * 4, mf=False),
        # a first fragment twice
        frag(2, 0, b"d" * 16), frag(2, 0, b"d" * 16),
        # more pieces than reassembly takes (RTE_LIBRTE_IP_FRAG_MAX_FRAG = 8:
        # a first, a last and six between)
        *[frag(3, 8 * (i + 1), b"m" * 8) for i in range(7)],
        # overlapping pieces whose lengths add up, leaving a hole
        frag(4, 0, b"h" * 16), frag(4, 8, b"h" * 8), frag(4, 24, b"h" * 8, mf=False),
        # an empty fragment
        frag(5, 8, b""),
    ]
    oversized = [
        # ping of death: the last fragment ends beyond 65535 bytes
        frag(6, 65480, b"p" * 100, mf=False),
        frag(7, 65528, b"p" * 8),
    ]
    # incomplete packets that time out: the first of the ping of death, and
    # first and middle pieces without a last
    timeout, waiting = [frag(6, 0, b"p" * 1480)], 21
    for i in range(waiting - 1):
        timeout += [frag(100 + i, 0, b"i" * 64), frag(100 + i, 64, b"i" * 64)]
    # more packets than the table holds (512): the rest find it full
    flood = [frag(1000 + i, 0, b"f" * 32, src="192.0.2.11") for i in range(600)]
    frames = invalid + oversized + timeout + flood
    reasons = ("frag_timeout", "frag_invalid", "frag_oversized", "frag_table_full")

    def all_counted(t):
        return sum(t["drop_" + r] for r in reasons) >= len(frames)

    def each_counted_once():
        c = Case(ctx, "bad_frags", ctx.example("static-group.conf"), clear_in=frames)
        c.run(until=all_counted)
        t = c.total
        got = {r: t["drop_" + r] for r in reasons}
        assert sum(t[k] for k in t if k.startswith("drop")) == len(frames), \
            f"{len(frames)} bad frames, drops {got}"
        assert got["frag_invalid"] == len(invalid), got
        assert got["frag_oversized"] == len(oversized), got
        assert got["frag_table_full"] >= len(flood) - (512 - waiting), got
        assert got["frag_timeout"] + got["frag_table_full"] == len(timeout) + len(flood), got
        c.counters(**{"drop_" + r: n for r, n in got.items()})
        assert not c.clear_out and not c.prot_out, "a bad fragment was forwarded"
    tap.check("bad fragments (teardrop, ping of death, incomplete, a flood): every one dropped "
              "and counted by reason, none unaccounted", each_counted_once)


def test_vlans(ctx, tap):
    """802.1Q and 802.1ad (QinQ) frames beside untagged ones on one port."""
    tags = [lambda: eth() / Dot1Q(vlan=200),
            lambda: Ether(type=0x88a8, **MAC) / Dot1AD(vlan=100) / Dot1Q(vlan=200),
            lambda: eth()]
    inner = [IP(src=A, dst=B, id=10 + i) / UDP(sport=40000, dport=40001) / Raw(b"vlan %d" % i)
             for i in range(3)]
    clear = [t() / p for t, p in zip(tags, inner)]
    tagged_arp = eth() / Dot1Q(vlan=300) / ARP(psrc=A, pdst=B)
    esp_in = [t() / sa().encrypt(IP(src=B, dst=A, id=20 + i) / UDP(sport=40001, dport=40000) /
                                 Raw(b"back %d" % i)) for i, t in enumerate(tags)]
    c = Case(ctx, "vlan", ctx.example("static-group.conf"), clear_in=clear + [tagged_arp],
             prot_in=esp_in).run()

    def link(frame):
        """The link header, tags included: everything before the IPv4 header."""
        raw = bytes(frame)
        return raw[:len(raw) - len(bytes(frame[IP]))]

    def outbound():
        esp = esp_frames(c.prot_out)
        assert len(esp) == 3, [p.summary() for p in c.prot_out]
        for e, p in zip(esp, clear):
            assert link(e) == link(p), f"tags changed: {link(e).hex()} != {link(p).hex()}"
            assert (e[IP].src, e[IP].dst) == (A, B)
            assert bytes(sa().decrypt(e[IP])) == bytes(p[IP]), "scapy's decryption differs"
        assert bytes(tagged_arp) in [bytes(p) for p in c.prot_out], "tagged ARP not passed"
    tap.check("VLANs outbound: 802.1Q and 802.1ad+802.1Q frames leave as ESP with their tags, "
              "scapy decrypts them; tagged ARP passes", outbound)

    def inbound():
        got = {bytes(p[IP]): link(p) for p in c.clear_out if IP in p}
        for e in esp_in:
            plain = bytes(sa().decrypt(Ether(bytes(e))[IP]))
            assert plain in got, f"not decrypted: {e.summary()}"
            assert got[plain] == link(e), f"tags changed: {got[plain].hex()} != {link(e).hex()}"
        c.counters(encrypted=3, decrypted=3, l2_passed=1)
    tap.check("VLANs inbound: scapy's ESP in tagged frames decrypted, the clear packets keep "
              "the tags", inbound)



def test_vlan_rules(ctx, tap):
    """Rules with a vlan match the innermost tag's VLAN alone."""
    conf = ctx.example("static-group.conf", **{
        '  { protocol = "ospf"; }\n':
        '  { protocol = "ospf"; },\n'
        '  { protocol = "udp"; dst_port = 9999; vlan = 200; },\n'
        '  { src = "2001:db8:7::/48"; dst = "2001:db8:8::/48"; vlan = 300; }\n'})
    u = UDP(sport=1, dport=9999) / Raw(b"vlan rule")
    six = IPv6(src="2001:db8:7::1", dst="2001:db8:8::1") / UDP(sport=1, dport=2) / Raw(b"v6")
    passed = [eth() / Dot1Q(vlan=200, prio=5) / IP(src="203.0.113.1", dst="203.0.113.2") / u,
              Ether(type=0x88a8, **MAC) / Dot1AD(vlan=100) / Dot1Q(vlan=200) /
              IP(src="203.0.113.1", dst="203.0.113.2") / u,
              eth() / Dot1Q(vlan=300) / six]
    refused = [eth() / IP(src="203.0.113.1", dst="203.0.113.2") / u,
               eth() / Dot1Q(vlan=201) / IP(src="203.0.113.1", dst="203.0.113.2") / u,
               Ether(type=0x88a8, **MAC) / Dot1AD(vlan=200) / Dot1Q(vlan=100) /
               IP(src="203.0.113.1", dst="203.0.113.2") / u,
               eth() / six,
               eth() / Dot1Q(vlan=200) / six]
    # the same rules inbound: clear frames from the protected side
    c = Case(ctx, "vlan_rules", conf, clear_in=passed + refused, prot_in=passed + refused).run()

    def matched():
        out = [bytes(p) for p in c.prot_out]
        back = [bytes(p) for p in c.clear_out]
        for p in passed:
            assert bytes(p) in out and bytes(p) in back, f"not passed: {p.summary()}"
        for p in refused:
            assert bytes(p) not in out and bytes(p) not in back, f"passed: {p.summary()}"
        c.counters(bypassed=2 * len(passed), drop_no_rule=2 * len(refused))
        vlans = sorted(r["vlan"] for r in c.tel["/gvpn/policy"].values() if r["kind"] == "bypass")
        assert vlans == [0, 0, 0, 200, 300], vlans
    tap.check("vlan rules: a bypass filter of VLAN 200 passes frames whose innermost tag is 200 "
              "(802.1Q, and inside 802.1ad) both ways, not untagged ones, VLAN 201 or 200 as the "
              "outer tag; an IPv6 filter of VLAN 300 likewise", matched)


# ---- IPv6: a second SA of the static group, 2001:db8:1::/48 <-> 2001:db8:2::/48 ----
A6, B6 = "2001:db8:1::10", "2001:db8:2::20"
SPI6 = 0x2001
SA6_CBC_SHA1 = ('cipher = "aes-cbc";\n        key = "000102030405060708090a0b0c0d0e0f";\n'
                '        auth = "hmac-sha1-96";\n'
                '        auth_key = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3";')


def sa6(spi=SPI6, key=KEY):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-CBC", crypt_key=key,
                               auth_algo="HMAC-SHA1-96", auth_key=AUTH_KEY,
                               tunnel_header=IPv6())


def conf6(ctx, alg_text=SA6_CBC_SHA1):
    """static-group.conf with an IPv6 SA beside its IPv4 one, of @alg_text."""
    end = '        lifetime = 0;      # seconds; 0 = until changed\n      }\n'
    sa6_text = ('      },\n      {\n        spi = 0x2001;\n'
                '        src = "2001:db8:1::/48";\n        dst = "2001:db8:2::/48";\n'
                '        mirror = true;\n        ' + alg_text + '\n        lifetime = 0;\n      }\n')
    return ctx.example("static-group.conf", **{end: end[:-8] + sa6_text})


def protected_sample6():
    """Clear IPv6 traffic the IPv6 SA covers: extension headers on some."""
    u = UDP(sport=40000, dport=40001)
    return [
        eth() / IPv6(src=A6, dst=B6, tc=0xb8, fl=0x12345) / u / Raw(b"a" * 100),
        eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / u /
        Raw(b"b" * 7),
        eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt() /
        ICMPv6EchoRequest(id=1, seq=1, data=b"ping" * 10),
        eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=5) / u / Raw(b"atomic"),
        eth() / IPv6(src="2001:db8:1::77", dst="2001:db8:2::99") / TCP(sport=1, dport=2) /
        Raw(b"c" * 1000),
        eth() / IPv6(src=B6, dst=A6) / UDP(sport=40001, dport=40000) / Raw(b"mirror"),
        eth() / Dot1Q(vlan=200) / IPv6(src=A6, dst=B6) / u / Raw(b"tagged"),
    ]


def link6(frame):
    """The link header, tags included: everything before the IPv6 header."""
    raw = bytes(frame)
    return raw[:len(raw) - len(bytes(frame[IPv6]))]


def esp6_frames(frames):
    return [Ether(bytes(p)) for p in frames if IPv6 in p and ESP in p]


def encrypt6(tx, p):
    """@p's IPv6 packet as the peer's ESP, the outer header preserving its
    addresses, behind @p's link header."""
    inner = p[IPv6]
    if isinstance(tx, SecurityAssociation):
        tx.tunnel_header = IPv6(src=inner.src, dst=inner.dst, tc=inner.tc, fl=inner.fl)
    return Ether(link6(p) + bytes(tx.encrypt(IPv6(bytes(inner)))))


def test_ipv6(ctx, tap):
    """IPv6 both ways against scapy's ESP in IPv6 tunnel mode."""
    clear = protected_sample6()
    frag_src = eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=9) / \
        UDP(sport=40000, dport=40001) / Raw(bytes(range(256)) * 4)
    frags = [eth() / f for f in fragment6(frag_src[IPv6], 400)]
    # what reassembly gives: the packet without its fragment header
    raw6 = bytes(frag_src[IPv6])
    hdr = bytearray(raw6[:40])
    hdr[4:6] = (len(raw6) - 48).to_bytes(2, "big")
    hdr[6] = 17
    whole = eth() / IPv6(bytes(hdr) + raw6[48:])
    too_big = eth() / IPv6(src=A6, dst=B6) / UDP(sport=40000, dport=40001) / Raw(b"T" * 1452)
    nd = eth() / IPv6(src=A6, dst="ff02::1:ff00:20", hlim=255) / ICMPv6ND_NS(tgt=B6)
    others6 = [
        (eth() / IPv6(src="2001:db8:7::1", dst="2001:db8:8::1") / UDP(sport=9, dport=9), "no_rule"),
        (eth() / IPv6(src=A6, dst=B6) / UDP(sport=848, dport=848) / Raw(b"gdoi"), "bypass"),
        (nd, "l2"),
    ]
    c = Case(ctx, "ipv6_out", conf6(ctx),
             clear_in=clear + frags + [too_big] + [f for f, _ in others6]).run()

    def outbound():
        esp = esp6_frames(c.prot_out)
        want = clear + [whole]
        assert len(esp) == len(want), f"{len(esp)} ESP frames for {len(want)} packets"
        for e, p in zip(esp, want):
            o, i = e[IPv6], p[IPv6]
            assert (o.src, o.dst) == (i.src, i.dst), "addresses not preserved"
            assert o.nh == 50 and e[ESP].spi == SPI6, e.summary()
            assert (o.tc, o.fl) == (i.tc, i.fl), f"traffic class / flow label {o.tc:#x}/{o.fl:#x}"
            assert o.hlim == 64, f"hop limit {o.hlim} with ttl = 64"
            assert link6(e) == link6(p), "link header changed"
            got = sa6().decrypt(IPv6(bytes(o)))
            assert bytes(got) == bytes(i), "scapy's decryption differs from the original"
    tap.check("IPv6 outbound: scapy decrypts every packet (extension headers, atomic fragment, "
              "ICMPv6, TCP, mirror, tagged, reassembled fragments); outer = inner addresses, "
              "traffic class and flow label, hop limit 64", outbound)

    def others():
        fwd = [bytes(p) for p in c.prot_out if ESP not in p]
        for f, what in others6:
            if what in ("bypass", "l2"):
                assert bytes(f) in fwd, f"{what} frame not forwarded unchanged: {f.summary()}"
        c.counters(encrypted=len(clear) + 1, reassembled=1, bypassed=1, l2_passed=1,
                   drop_no_rule=1, drop_frag_needed=1)
        assert c.tel["/gvpn/sa"]["0x00002001"]["packets"] == len(clear) + 1, c.tel["/gvpn/sa"]
    tap.check("IPv6 outbound: bypass and neighbour discovery untouched; no rule and too big "
              "for the MTU dropped and counted", others)

    # inbound: scapy's ESP, a header before ESP, fragmented ESP, and refusals
    tx = sa6()
    esp_in = [encrypt6(tx, p) for p in clear]
    e = encrypt6(tx, clear[0])
    with_dst = Ether(bytes(eth() / IPv6(src=e[IPv6].src, dst=e[IPv6].dst, nh=60) /
                           IPv6ExtHdrDestOpt(nh=50) / e[ESP]))
    big = eth() / IPv6(src=B6, dst=A6) / UDP(sport=40001, dport=40000) / Raw(b"F" * 1300)
    big_esp = encrypt6(tx, big)
    esp_frags = [eth() / f for f in
                 fragment6(IPv6(src=B6, dst=A6) / IPv6ExtHdrFragment(id=3) /
                           big_esp[IPv6].payload, 600)]
    outside = encrypt6(tx, eth() / IPv6(src="2001:db8:9::1", dst="2001:db8:8::1") /
                       UDP() / Raw(b"outside"))
    wrong_spi = encrypt6(sa6(spi=0x3003), clear[0])
    bad_icv = bytearray(bytes(encrypt6(tx, clear[5])))
    bad_icv[-1] ^= 1
    clear_in_policy = clear[5]
    bypass = eth() / IPv6(src=B6, dst=A6) / UDP(sport=848, dport=848) / Raw(b"gdoi")
    inputs = esp_in + [with_dst] + esp_frags + [outside, wrong_spi, Ether(bytes(bad_icv)),
                                                  clear_in_policy, bypass, nd]
    d = Case(ctx, "ipv6_in", conf6(ctx), prot_in=inputs).run()

    def inbound():
        got = [bytes(p) for p in d.clear_out]
        for p in clear:
            assert bytes(p) in got, f"missing after decryption: {p.summary()}"
        assert got.count(bytes(clear[0])) == 2, "ESP behind a destination options header"
        assert bytes(big) in got, "fragmented IPv6 ESP not reassembled and decrypted"
        assert bytes(bypass) in got and bytes(nd) in got, "bypass or ND not forwarded"
        d.counters(decrypted=len(clear) + 2, reassembled=1, bypassed=1, l2_passed=1,
                   drop_no_sa=1, drop_esp_bad_icv=1, drop_clear_in_policy=1,
                   drop_inner_policy=1)
    tap.check("IPv6 inbound: scapy's ESP decrypted to the originals with their link headers "
              "(extension headers inside, a header before ESP, ESP fragments reassembled); wrong "
              "SPI, bad ICV, clear traffic under policy, inner outside selectors counted", inbound)


# the IPv6 SA with each algorithm of NEW_ALGS: (name, backend, SA text, peer)
def test_ipv6_algorithms(ctx, tap):
    clear = protected_sample6()[:3]
    for name, backend, cipher, key, auth, auth_key, _, peer in NEW_ALGS:
        text = f'cipher = "{cipher}";\n        key = "{key.hex()}";'
        if auth:
            text += f'\n        auth = "{auth}";\n        auth_key = "{auth_key.hex()}";'
        conf = conf6(ctx, text).replace('crypto = "ipsecmb"', f'crypto = "{backend}"')

        def mk(peer=peer):
            sa_ = peer()
            if isinstance(sa_, SecurityAssociation):
                sa_.spi = SPI6
                sa_.tunnel_header = IPv6()
            else:
                sa_.spi = SPI6
            return sa_
        tx = mk()
        inbound = [encrypt6(tx, p) for p in clear]
        c = Case(ctx, "alg6_" + name.replace("/", "_"), conf, clear_in=clear,
                 prot_in=inbound).run()

        def both_ways(c=c, mk=mk):
            esp = esp6_frames(c.prot_out)
            assert len(esp) == len(clear), f"{len(esp)} ESP frames for {len(clear)} packets"
            rx = mk()
            for e, p in zip(esp, clear):
                assert (e[IPv6].src, e[IPv6].dst) == (p[IPv6].src, p[IPv6].dst)
                assert bytes(rx.decrypt(IPv6(bytes(e[IPv6])))) == bytes(p[IPv6]), \
                    "the peer's decryption differs"
            got = [bytes(p) for p in c.clear_out]
            for p in clear:
                assert bytes(p) in got, f"not decrypted: {p.summary()}"
            c.counters(encrypted=len(clear), decrypted=len(clear))
        tap.check(f"IPv6 {name} ({backend}): the independent peer opens gvpnd's IPv6 ESP and "
                  "gvpnd opens the peer's", both_ways)


# the largest inner IPv6 packet whose ESP (AES-CBC, HMAC-SHA1-96) fits MTU
# 1500 under a 40-byte outer header: 8 bytes of ESP header, a 16-byte IV,
# padding to 16 with the 2-byte trailer, a 12-byte ICV
MAX_INNER6 = (1500 - 40 - 8 - 16 - 12) // 16 * 16 - 2


def test_ipv6_too_big(ctx, tap):
    """An IPv6 packet too big for the protected MTU: ICMPv6 Packet Too Big
    (dataplane.ipv6_too_big = "icmp", the default)."""
    def big(src, payload, tag=False):
        link = eth() / Dot1Q(vlan=7) if tag else eth()
        return link / IPv6(src=src, dst=B6) / payload

    first = big(A6, UDP(sport=40000, dport=40001) / Raw(bytes(range(256)) * 6), tag=True)
    again = big(A6, UDP(sport=40000, dport=40001) / Raw(b"a" * 1500))
    error = big("2001:db8:1::11", ICMPv6DestUnreach() / Raw(b"e" * 1500))
    echo = big("2001:db8:1::12", ICMPv6EchoRequest(data=b"p" * 1500))
    fits = big(A6, UDP(sport=40000, dport=40001) / Raw(b"f" * (MAX_INNER6 - 48)))
    assert len(fits[IPv6]) == MAX_INNER6
    c = Case(ctx, "ptb6", conf6(ctx), clear_in=[first, again, error, echo, fits]).run()

    def packet_too_big():
        ptb = [Ether(bytes(f)) for f in c.clear_out]
        assert len(ptb) == 2, [f.summary() for f in c.clear_out]
        for got, p in zip(ptb, (first, echo)):
            assert ICMPv6PacketTooBig in got, got.summary()
            t = got[ICMPv6PacketTooBig]
            assert (t.code, t.mtu) == (0, MAX_INNER6), f"code {t.code}, MTU {t.mtu}"
            assert (got[IPv6].src, got[IPv6].dst) == (p[IPv6].dst, p[IPv6].src)
            assert (got.src, got.dst) == (p.dst, p.src), "MAC addresses not swapped"
            assert (Dot1Q in got) == (Dot1Q in p), "tag lost or added"
            if Dot1Q in p:
                assert got[Dot1Q].vlan == p[Dot1Q].vlan
            assert len(got[IPv6]) == 1280, f"{len(got[IPv6])} bytes, want IPv6's minimum MTU"
            assert bytes(t.payload) == bytes(p[IPv6])[:1232], "not the packet's first bytes"
            # scapy's checksum of the same message
            again_ = got[IPv6].copy()
            del again_[ICMPv6PacketTooBig].cksum
            assert IPv6(bytes(again_))[ICMPv6PacketTooBig].cksum == t.cksum, "checksum"
        assert len(esp6_frames(c.prot_out)) == 1, "the packet that fits was not encrypted"
        c.counters(encrypted=1, drop_frag_needed=4, icmp_sent=2)
    tap.check("IPv6 too big: ICMPv6 Packet Too Big to the source (MTU of the inner packet, the "
              "first 1232 bytes, scapy's checksum, MAC addresses swapped, tag kept), one per source "
              "at a time, none for an ICMPv6 error; a packet that just fits is encrypted",
              packet_too_big)



def test_ipv6_fragment(ctx, tap):
    """dataplane.ipv6_too_big = "fragment": fragments before encryption."""
    conf = conf6(ctx).replace('inner_df = "fragment";',
                              'inner_df = "fragment";\n  ipv6_too_big = "fragment";')
    big = (eth() / Dot1Q(vlan=7) / IPv6(src=A6, dst=B6, fl=0x54321) / IPv6ExtHdrHopByHop() /
           IPv6ExtHdrDestOpt() / UDP(sport=40000, dport=40001) / Raw((bytes(range(256)) * 6)[:1436]))
    assert len(big[IPv6]) == 1500
    small = eth() / IPv6(src=A6, dst=B6) / UDP(sport=40000, dport=40001) / Raw(b"s" * 100)
    c = Case(ctx, "frag6", conf, clear_in=[big, big, small]).run()

    def reassembled():
        esp = esp6_frames(c.prot_out)
        assert len(esp) == 5, [p.summary() for p in c.prot_out]
        assert not c.clear_out, "a Packet Too Big with ipv6_too_big = fragment"
        frags = []
        for i, e in enumerate(esp):
            assert len(e[IPv6]) <= 1500, f"{len(e[IPv6])}-byte ESP packet over MTU 1500"
            assert link6(e) == link6(big if i < 4 else small), "link header changed"
            frags.append(sa6().decrypt(IPv6(bytes(e[IPv6]))))
        ids = [f[IPv6ExtHdrFragment].id for f in frags if IPv6ExtHdrFragment in f]
        assert len(ids) == 4 and ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2], ids
        for f in frags[:4]:
            # the hop-by-hop header stays in front of the fragment header
            assert IPv6ExtHdrHopByHop in f and f[IPv6ExtHdrHopByHop].nh == 44, f.summary()
        for pair in (frags[0:2], frags[2:4]):
            whole = defragment6(pair)
            assert bytes(whole[UDP]) == bytes(big[UDP]), "fragments do not rebuild the packet"
            assert (whole.src, whole.dst, whole.fl) == (A6, B6, 0x54321)
            assert IPv6ExtHdrDestOpt in whole, "the destination options header is lost"
        assert bytes(frags[4]) == bytes(small[IPv6]), "the small packet"
        c.counters(encrypted=5, fragments_out=4)
    tap.check('ipv6_too_big = "fragment": a 1500-byte IPv6 packet leaves as two ESP packets '
              "within MTU 1500, their tag kept; scapy decrypts and reassembles them to the packet "
              "(hop-by-hop in each fragment, one identification per packet); no Packet Too Big",
              reassembled)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    ctx = Ctx(gvpnd, root, work)
    tap = Tap()
    state = {}
    test_outbound(ctx, tap, state)
    test_inbound(ctx, tap, state)
    test_df_policy(ctx, tap)
    test_fragmentation(ctx, tap)
    test_backend_openssl(ctx, tap)
    test_direction(ctx, tap, state)
    test_two_pairs_and_a_worker_lcore(ctx, tap)
    test_jumbo(ctx, tap)
    test_bad_fragments(ctx, tap)
    test_ecn(ctx, tap)
    test_new_algorithms(ctx, tap)
    test_vlans(ctx, tap)
    test_vlan_rules(ctx, tap)
    test_ipv6(ctx, tap)
    test_ipv6_algorithms(ctx, tap)
    test_ipv6_too_big(ctx, tap)
    test_ipv6_fragment(ctx, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
