#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the fuzz harnesses' seed corpora (test/fuzz/corpus/<harness>/) from
real exchanges with the test key server (test/ks).

The key server runs as its own process on 127.0.0.1; test/ks/test_ks.py's
independent initiator runs Main Mode and GROUPKEY-PULL with it under
several phase-1 suites and for both of its groups, and the key server sends
GROUPKEY-PUSH messages (rekey, new TEKs, Deletes, a new KEK) to it. Each
reply is decrypted with the keys the initiator derived (pushes: with the
KEK from the key server's state file) and written in the input format of
the harness for that step (see the comment at the top of each fuzz_*.c):

  mm2, mm4, mm6, pull2   variant byte, first payload type, payload chain
  pull4                  variant byte, 2-byte length, message 2's part,
                         message 4's part (first payload type, chain)
  push                   first payload type, payload chain before SIG
  isakmp                 the datagrams as received
  config                 config/*.conf and test_config.py's bad cases
  telemetry              command index, parameter string
  worker                 mode byte, Ethernet frame: the exception path's
                         (ARP for the ports' own addresses, UDP and ICMP to them)

IPv6 seeds (names ending in -ipv6) come from a second key server on ::1 with
IPv6 groups: phase 1 with ID_IPV6_ADDR, SA TEKs with IPv6 subnets, hosts and
ranges, a TEK of two families, IPv4 TEKs over IPv6, pushes with IPv6 TEKs; and
configurations with IPv6 key servers (valid, and of two families).

Usage: make_corpus.py [--ipv6-only | --worker-only] [OUTDIR]   (default:
test/fuzz/corpus next to this file; --ipv6-only adds the IPv6 seeds and leaves
the others as they are; --worker-only writes fuzz_worker's seeds alone, which
need no key server)
"""
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "ks"))
sys.path.insert(0, os.path.join(ROOT, "test", "func"))
sys.path.insert(0, os.path.join(ROOT, "test", "pylib"))
import test_ks as T  # noqa: E402

# Suites the mm2 harness offers; fuzz_ike.c's fixed one (AES-128, SHA-1,
# MODP 1024) is the only one mm6/pull harnesses accept beyond message 2; the
# mm4 harness takes it in each of MM4_GROUPS (fz_groups), the index in byte 0.
SUITES = [("aes-cbc", 128, "sha1", 2), ("3des-cbc", 192, "md5", 2),
          ("aes-cbc", 256, "sha256", 14), ("aes-cbc", 192, "sha256", 5),
          ("des-cbc", 64, "md5", 1), ("aes-cbc", 128, "sha1", 15),
          ("aes-cbc", 128, "sha1", 16), ("aes-cbc", 128, "sha1", 19),
          ("aes-cbc", 128, "sha1", 20)]
FIXED = ("aes-cbc", 128, "sha1", 2)
MM4_GROUPS = (2, 15, 16, 19, 20)
GROUPS = (1234, 77)


class Seeds:
    def __init__(self, out):
        self.out = out
        self.n = 0

    def put(self, harness, name, data):
        d = os.path.join(self.out, harness)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        self.n += 1


def walk(data, first):
    """[(type, body, raw)] of a payload chain, of any payload type."""
    out, off, t = [], 0, first
    while t:
        nxt, _, ln = struct.unpack("!BBH", data[off:off + 4])
        if ln < 4 or off + ln > len(data):
            raise ValueError(f"payload {t} length {ln} exceeds the message")
        out.append((t, data[off + 4:off + ln], data[off:off + ln]))
        off += ln
        t = nxt
    return out


def chain_of(plain, first):
    """The payload chain without the padding after its last payload."""
    return b"".join(raw for _, _, raw in walk(plain, first))


def hdr(data):
    return T.Initiator.parse_hdr(data)


def clear_part(data, variant=0):
    h = hdr(data)
    return bytes([variant, h["next"]]) + data[28:h["len"]]


def last_block(msg, bs):
    return msg[len(msg) - bs:]


def replies(ini):
    return [d for src, dst, d in ini.log if dst == ini.s.getsockname()]


def exchange(srv, seeds, suite):
    enc, bits, h, group = suite
    name = f"{enc.split('-')[0]}{bits}-{h}-g{group}"
    ini = T.Initiator(srv.port, enc=enc, bits=bits, h=h, group=group, log=[])
    try:
        ini.main_mode()
        r = replies(ini)
        seeds.put("mm2", name, clear_part(r[0]))
        seeds.put("isakmp", "mm2-" + name, r[0])
        seeds.put("isakmp", "mm4-" + name, r[1])
        if group in MM4_GROUPS:
            seeds.put("mm4", name, clear_part(r[1], MM4_GROUPS.index(group) << 1))
        # message 6: decrypted under the IV that message 5 left
        h6 = hdr(r[2])
        plain = ini.cbc.dec(last_block(ini.sent[2], ini.bs), r[2][28:h6["len"]])
        seeds.put("mm6", name, bytes([0, h6["next"]]) + chain_of(plain, h6["next"]))
        if suite != FIXED:
            return
        for gid in GROUPS:
            ini.pull(T.id_key_id(gid))
            r = replies(ini)
            m2, m4 = r[-2], r[-1]
            h2, h4 = hdr(m2), hdr(m4)
            p2 = ini.cbc.dec(last_block(ini.last_m1, ini.bs), m2[28:h2["len"]])
            p4 = ini.cbc.dec(last_block(ini.last_m3, ini.bs), m4[28:h4["len"]])
            c2 = bytes([h2["next"]]) + chain_of(p2, h2["next"])
            c4 = bytes([h4["next"]]) + chain_of(p4, h4["next"])
            seeds.put("pull2", f"group{gid}", bytes([0]) + c2)
            seeds.put("pull4", f"group{gid}",
                      bytes([0]) + struct.pack("!H", len(c2)) + c2 + c4)
            seeds.put("isakmp", f"pull2-group{gid}", m2)
        # a group the key server does not serve: a protected notification
        try:
            ini.pull(T.id_key_id(4321))
        except T.Failed:
            pass
        m = replies(ini)[-1]
        hn = hdr(m)
        iv = ini.hashf(ini.p1_last + struct.pack("!I", hn["msgid"]))[:ini.bs]
        pn = ini.cbc.dec(iv, m[28:hn["len"]])
        seeds.put("pull2", "notify-unknown-group",
                  bytes([1, hn["next"]]) + chain_of(pn, hn["next"]))
        pushes(srv, seeds, ini)
    finally:
        ini.close()


PUSHES = [
    ("seq-only", {}),
    ("rekey", {"rekey": True}),
    ("new-tek", {"teks": [{"cipher": "aes-gcm", "key_bits": 256, "src": "10.7.0.0/16",
                           "dst": "10.8.0.0/16", "lifetime": 600}]}),
    ("delete-tek", {"delete": [{"protocol": "tek", "spi": "0x1003"}]}),
    ("delete-all-teks", {"delete": [{"protocol": "tek", "spi": "all"}]}),
    ("rekey-gap", {"rekey": True, "atd": 5, "dtd": 60}),
    ("new-kek", {"new_kek": True}),
    ("new-kek-3des", {"new_kek": {"algorithm": "3des-cbc"}}),
    ("delete-kek", {"delete": [{"protocol": "kek"}]}),
]


def pushes(srv, seeds, ini):
    done = []
    for i, (name, p) in enumerate(PUSHES):
        done.append(dict(p, id=f"p{i}", group=1234))
        tmp = srv.conf["control_file"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pushes": done}, f)
        os.replace(tmp, srv.conf["control_file"])
        srv.wait("push_done", 10, lambda e, i=i: e.get("id") == f"p{i}")
        d = ini.recv(5)
        st = srv.state()["groups"]["1234"]
        kek = [k for k in st["kek_history"]
               if bytes.fromhex(k["icookie"] + k["rcookie"]) == d[:16]][0]
        h = hdr(d)
        cbc = T.Cbc(kek["algorithm"], bytes.fromhex(kek["key"]))
        plain = cbc.dec(bytes.fromhex(kek["iv"]), d[28:h["len"]])
        pl = walk(plain, h["next"])
        assert pl[-1][0] == 9, "a push ends with SIG"
        items = [(t, body) for t, body, _ in pl[:-1]]
        seeds.put("push", name, bytes([items[0][0]]) + T.chain(items))
        seeds.put("isakmp", "push-" + name, d)


def ipv6_conf():
    """test_ks's IPv6 groups (600: IPv6 TEKs as a subnet, a host and a range, a
    KEK; 601: IPv4 TEKs) and 602: a TEK of two families, which members refuse."""
    conf = T.ipv6_conf()
    conf["listen"] = "::1"
    conf["groups"].append({"id": 602, "teks": [{"spi": "0x6201", "src": "192.0.2.0/24",
                                                "dst": "2001:db8:2::/48"}]})
    return conf


PUSHES6 = [
    ("rekey-ipv6", {"rekey": True}),
    ("new-tek-ipv6-range", {"teks": [{"cipher": "aes-gcm", "key_bits": 128,
                                      "src": "2001:db8:7::/56", "dst": "2001:db8:8::1/128",
                                      "id_form": "range", "lifetime": 600}]}),
    ("new-tek-ipv4-over-ipv6", {"teks": [{"src": "10.7.0.0/16", "dst": "10.8.0.0/16"}]}),
]


def ipv6(seeds):
    """Main Mode, pulls and pushes with the key server on ::1."""
    work = tempfile.mkdtemp(prefix="gvpn-corpus6-")
    srv = T.Server(ipv6_conf(), work)
    enc, bits, h, group = FIXED
    ini = T.Initiator(srv.port, enc=enc, bits=bits, h=h, group=group, log=[], host="::1")
    try:
        ini.main_mode()
        r = replies(ini)
        seeds.put("isakmp", "mm6-ipv6", r[2])
        h6 = hdr(r[2])
        plain = ini.cbc.dec(last_block(ini.sent[2], ini.bs), r[2][28:h6["len"]])
        seeds.put("mm6", "aes128-sha1-g2-ipv6", bytes([0, h6["next"]]) + chain_of(plain, h6["next"]))
        for gid in (600, 601, 602):
            ini.pull(T.id_key_id(gid))
            r = replies(ini)
            m2, m4 = r[-2], r[-1]
            h2, h4 = hdr(m2), hdr(m4)
            p2 = ini.cbc.dec(last_block(ini.last_m1, ini.bs), m2[28:h2["len"]])
            p4 = ini.cbc.dec(last_block(ini.last_m3, ini.bs), m4[28:h4["len"]])
            c2 = bytes([h2["next"]]) + chain_of(p2, h2["next"])
            c4 = bytes([h4["next"]]) + chain_of(p4, h4["next"])
            seeds.put("pull2", f"group{gid}-ipv6", bytes([0]) + c2)
            seeds.put("pull4", f"group{gid}-ipv6",
                      bytes([0]) + struct.pack("!H", len(c2)) + c2 + c4)
            seeds.put("isakmp", f"pull2-group{gid}-ipv6", m2)
        ini.pull(T.id_key_id(600))  # the member the pushes go to
        done = []
        for i, (name, p) in enumerate(PUSHES6):
            done.append(dict(p, id=f"v6p{i}", group=600))
            tmp = srv.conf["control_file"] + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"pushes": done}, f)
            os.replace(tmp, srv.conf["control_file"])
            srv.wait("push_done", 10, lambda e, i=i: e.get("id") == f"v6p{i}")
            d = ini.recv(5)
            kek = srv.state()["groups"]["600"]["kek_history"][-1]
            hp = hdr(d)
            cbc = T.Cbc(kek["algorithm"], bytes.fromhex(kek["key"]))
            pl = walk(cbc.dec(bytes.fromhex(kek["iv"]), d[28:hp["len"]]), hp["next"])
            items = [(t, body) for t, body, _ in pl[:-1]]
            seeds.put("push", name, bytes([items[0][0]]) + T.chain(items))
            seeds.put("isakmp", "push-" + name, d)
    finally:
        ini.close()
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    # configurations with IPv6 key servers: valid, and of two families
    base = open(os.path.join(ROOT, "config", "static-group.conf")).read()
    head = base[:base.index("groups")]
    for name, ks, local in (("ks-ipv6", '"[2001:db8::10]:848", "2001:db8::11"', "[2001:db8::9]"),
                            ("ks-ipv6-bare", '"::1"', "::1:848"),
                            ("ks-mixed", '"[2001:db8::10]:848", "192.0.2.1"', "2001:db8::9"),
                            ("ks-local-mixed", '"[2001:db8::10]"', "192.0.2.9")):
        text = head + ('groups = ( { name = "corp"; id = 1001; key_servers = ( ' + ks +
                       ' ); local_address = "' + local +
                       '"; psk = "group-member-psk-0123456789"; } );\n')
        seeds.put("config", name, text.encode())


def configs(seeds):
    import test_config as C
    cdir = os.path.join(ROOT, "config")
    base = open(os.path.join(cdir, "static-group.conf")).read()
    for f in sorted(os.listdir(cdir)):
        if f.endswith(".conf"):
            seeds.put("config", f[:-5], open(os.path.join(cdir, f), "rb").read())
    for what, old, new, _, _ in C.CASES:
        if old in base:
            text = base.replace(old, new, 1)
            key = hashlib.sha1(what.encode()).hexdigest()[:8]
            seeds.put("config", "bad-" + key, text.encode())


# Commands in the order gvpn_telemetry_init() registers them.
TELEMETRY = [(0, None), (1, None), (2, None), (3, "total"), (3, "all"), (4, None),
             (5, "0"), (5, "64"), (5, "-1"), (5, "18446744073709551616"), (6, None),
             (7, "corp"), (7, "nosuch"), (8, "lab"), (9, "corp,on"), (9, "lab,off"),
             (9, "corp,maybe"), (9, "corp,on,off"), (9, ",on")]


def telemetry(seeds):
    for i, (cmd, param) in enumerate(TELEMETRY):
        data = bytes([cmd]) + (param.encode() if param is not None else b"")
        seeds.put("telemetry", f"cmd{cmd}-{i}", data)


# fuzz_worker.c's addresses: the ports' own, the key server's, another host's.
CLEAR_OWN, PROT_OWN, KS_ADDR, STRANGER = "10.9.0.1", "203.0.113.50", "203.0.113.1", "203.0.113.99"


def worker6(mac):
    """IPv6 frames: extension header chains, fragments, neighbour discovery,
    tags, ESP; for the harness's IPv6 rules (fuzz_worker.c)."""
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6ND_NS, IPv6, IPv6ExtHdrDestOpt,
                                    IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
                                    fragment6)
    from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
    from scapy.packet import Raw
    a, b = "2001:db8:1::10", "2001:db8:2::20"
    udp = UDP(sport=40000, dport=848) / (b"\0" * 28)
    chain = (IPv6(src=a, dst=b) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() /
             IPv6ExtHdrDestOpt() / udp)
    frags = fragment6(IPv6(src=a, dst=b) / IPv6ExtHdrFragment(id=7) /
                      UDP(sport=40000, dport=848) / (b"f" * 200), 120)
    return {
        "v6-udp-ext-chain": (0, Ether(src=mac) / chain),
        "v6-nd-ns": (0, Ether(src=mac, dst="33:33:ff:00:00:20") /
                     IPv6(src=a, dst="ff02::1:ff00:20", hlim=255) / ICMPv6ND_NS(tgt=b)),
        "v6-frag-first": (0, Ether(src=mac) / frags[0]),
        "v6-frag-last": (1, Ether(src=mac) / frags[-1]),
        "v6-dot1q-udp": (1, Ether(src=mac) / Dot1Q(vlan=200) / IPv6(src=b, dst=a) / udp),
        "v6-qinq-chain": (0, Ether(src=mac, type=0x88a8) / Dot1AD(vlan=100) / Dot1Q(vlan=200) /
                          chain),
        "v6-esp-in": (1, Ether(src=mac) / IPv6(src=b, dst=a, nh=50) /
                      Raw(bytes.fromhex("00001001000000010000000000000001") + b"\0" * 40)),
        # too big for the protected MTU: Packet Too Big (1500), and under MTU
        # 1300 (mode bit 3) fragmented before encryption when at most 1280
        "v6-too-big-ptb": (0, Ether(src=mac) / IPv6(src=a, dst=b) / UDP(sport=1, dport=2) /
                           (b"t" * 1500)),
        "v6-too-big-icmp-error": (0, Ether(src=mac) / IPv6(src=a, dst=b) / ICMPv6DestUnreach() /
                                  (b"e" * 1500)),
        "v6-too-big-mtu1300-ptb": (8, Ether(src=mac) / Dot1Q(vlan=5) / IPv6(src=a, dst=b) /
                                   UDP(sport=1, dport=2) / (b"p" * 1300)),
        "v6-fragment-chain": (8, Ether(src=mac) / Dot1Q(vlan=5) / IPv6(src=a, dst=b) /
                              IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting() /
                              IPv6ExtHdrDestOpt() / UDP(sport=1, dport=2) / (b"f" * 1180)),
        "v6-fragment-atomic": (8, Ether(src=mac) / IPv6(src=a, dst=b) / IPv6ExtHdrFragment(id=4) /
                               UDP(sport=1, dport=2) / (b"a" * 1200)),
        "v6-ext-too-many": (0, Ether(src=mac) / IPv6(src=a, dst=b) / IPv6ExtHdrHopByHop() /
                            IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
                            IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
                            IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / udp),
    }


def worker(seeds):
    """Frames for the box itself (mode byte 1: in from the protected port,
    0: in from the clear port)."""
    from scapy.layers.inet import ICMP, IP, UDP
    from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
    mac = "02:00:00:00:00:01"
    frames = {
        "arp-prot-own": (1, Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
                         ARP(hwsrc=mac, psrc=KS_ADDR, pdst=PROT_OWN)),
        "udp-ks-to-prot-own": (1, Ether(src=mac) / IP(src=KS_ADDR, dst=PROT_OWN) /
                               UDP(sport=848, dport=848) / (b"\0" * 28)),
        "udp-mcast-rekey": (1, Ether(src=mac, dst="01:00:5e:40:00:07") /
                            IP(src=KS_ADDR, dst="239.192.0.7") / UDP(sport=848, dport=848) /
                            (b"\0" * 28)),
        "udp-stranger-to-prot-own": (1, Ether(src=mac) / IP(src=STRANGER, dst=PROT_OWN) /
                                     UDP(sport=40000, dport=9) / b"x"),
        "arp-clear-own": (0, Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
                          ARP(hwsrc=mac, psrc="10.9.0.5", pdst=CLEAR_OWN)),
        "icmp-to-clear-own": (0, Ether(src=mac) / IP(src="10.9.0.5", dst=CLEAR_OWN) /
                              ICMP(type=8)),
        # VLAN tags: 802.1Q, 802.1ad + 802.1Q, tagged ARP, and a cut tag
        "udp-dot1q-transit": (0, Ether(src=mac) / Dot1Q(vlan=200) /
                              IP(src="10.9.0.5", dst="10.8.0.5") / UDP(sport=1, dport=2) / b"q"),
        "udp-qinq-to-prot-own": (1, Ether(src=mac, type=0x88a8) / Dot1AD(vlan=100) /
                                 Dot1Q(vlan=200) / IP(src=KS_ADDR, dst=PROT_OWN) /
                                 UDP(sport=848, dport=848) / (b"\0" * 28)),
        "arp-dot1q-prot-own": (1, Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=7) /
                               ARP(hwsrc=mac, psrc=KS_ADDR, pdst=PROT_OWN)),
        "dot1q-cut": (0, bytes(Ether(src=mac) / Dot1Q(vlan=9))[:16]),
        # the bypass rule of VLAN 200: matched inside 802.1ad, not as the outer tag
        "udp-vlan200-rule": (0, Ether(src=mac) / Dot1Q(vlan=200, prio=3) /
                             IP(src="10.9.0.5", dst="10.8.0.5") / UDP(sport=1, dport=9999) / b"v"),
        "udp-qinq-vlan200-inner": (1, Ether(src=mac, type=0x88a8) / Dot1AD(vlan=100) /
                                   Dot1Q(vlan=200) / IP(src="10.8.0.5", dst="10.9.0.5") /
                                   UDP(sport=1, dport=9999) / b"v"),
        "udp-qinq-vlan200-outer": (0, Ether(src=mac, type=0x88a8) / Dot1AD(vlan=200) /
                                   Dot1Q(vlan=100) / IP(src="10.9.0.5", dst="10.8.0.5") /
                                   UDP(sport=1, dport=9999) / b"v"),
    }
    frames.update(worker6(mac))
    for name, (mode, f) in frames.items():
        seeds.put("worker", name, bytes([mode]) + bytes(f))


def main():
    args = sys.argv[1:]
    only6 = "--ipv6-only" in args
    only_worker = "--worker-only" in args
    args = [a for a in args if a not in ("--ipv6-only", "--worker-only")]
    out = args[0] if args else os.path.join(HERE, "corpus")
    seeds = Seeds(out)
    if only_worker:
        worker(seeds)
        print(f"{seeds.n} seeds in {out}")
        return
    if only6:
        ipv6(seeds)
        print(f"{seeds.n} seeds in {out}")
        return
    for h in ("mm2", "mm4", "mm6", "pull2", "pull4", "push", "isakmp", "config", "telemetry",
              "worker"):
        shutil.rmtree(os.path.join(out, h), ignore_errors=True)
    work = tempfile.mkdtemp(prefix="gvpn-corpus-")
    srv = T.Server(T.BASE_CONF, work)
    try:
        for suite in SUITES:
            exchange(srv, seeds, suite)
            time.sleep(0.1)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    ipv6(seeds)
    configs(seeds)
    telemetry(seeds)
    worker(seeds)
    print(f"{seeds.n} seeds in {out}")


if __name__ == "__main__":
    main()
