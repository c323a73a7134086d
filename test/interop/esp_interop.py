#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""ESP interop with independent implementations, printed as TAP.

For every algorithm both sides support:
  * scapy decrypts what gvpn encrypts, received through a veth pair between
    two network namespaces,
  * gvpn decrypts what scapy encrypts, sent through the same veth pair,
  * tshark decrypts gvpn's ESP back to the original packets with a good ICV,
  * the kernel's xfrm, where the running kernel has ESP (skipped otherwise),
  * with a time-based anti-replay window (R23): scapy finds the
    delay-detection stamp of gvpn's packets where doc/esp.md puts it, and
    gvpn takes scapy's freshly stamped packets and drops stale ones;
  * IPv6 SAs (tunnel mode, address preservation), each case with fresh
    random keys: scapy's SecurityAssociation with an IPv6 tunnel header
    decrypts gvpn's ESP and checks the outer header against the inner one
    (addresses, traffic class, flow label, hop limit, next header 50), gvpn
    decrypts scapy's, tampered packets are bad ICVs, tshark decrypts gvpn's;
    behind VLAN tags, with extension headers in front of ESP, with the hop
    limit copied, and with delay-detection stamps.

AES-GMAC (RFC 4543): scapy 2.5 has no such algorithm and tshark 4.0 none in
its ESP SA table; the ESP peer for it is test/pylib/gmac_esp.py, written from
RFC 4543 with python3-cryptography's AESGCM (an empty plaintext, the packet
as AAD). It speaks IPv4 only, so the IPv6 cases cover scapy's algorithms.

Usage: esp_interop.py ESPTOOL WORKDIR
"""
import functools
import os
import socket
import subprocess
import sys
import time


from scapy.all import (Ether, IP, IPv6, UDP, ICMP, ICMPv6EchoRequest, Raw, Dot1Q, Dot1AD,  # noqa: E402
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, rdpcap, wrpcap)
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gmac_esp import GmacSA  # noqa: E402
from gvpntest import Netns, Tap, run  # noqa: E402

SPI = 0x1001
# (gvpn cipher, key length, gvpn auth, scapy cipher, scapy auth, tshark cipher, tshark auth)
ALGS = [
    ("des-cbc", 8, "hmac-md5-96", "DES", "HMAC-MD5-96"),
    ("des-cbc", 8, "hmac-sha1-96", "DES", "HMAC-SHA1-96"),
    ("3des-cbc", 24, "hmac-sha1-96", "3DES", "HMAC-SHA1-96"),
    ("3des-cbc", 24, "hmac-sha256-128", "3DES", "SHA2-256-128"),
    ("aes-cbc", 16, "hmac-md5-96", "AES-CBC", "HMAC-MD5-96"),
    ("aes-cbc", 16, "hmac-sha1-96", "AES-CBC", "HMAC-SHA1-96"),
    ("aes-cbc", 24, "hmac-sha256-128", "AES-CBC", "SHA2-256-128"),
    ("aes-cbc", 32, "hmac-sha1-96", "AES-CBC", "HMAC-SHA1-96"),
    ("aes-cbc", 32, "hmac-sha256-128", "AES-CBC", "SHA2-256-128"),
    ("des-cbc", 8, "hmac-sha384-192", "DES", "SHA2-384-192"),
    ("3des-cbc", 24, "hmac-sha512-256", "3DES", "SHA2-512-256"),
    ("aes-cbc", 16, "hmac-sha384-192", "AES-CBC", "SHA2-384-192"),
    ("aes-cbc", 32, "hmac-sha512-256", "AES-CBC", "SHA2-512-256"),
    ("aes-gcm", 20, "none", "AES-GCM", "NULL"),
    ("aes-gcm", 36, "none", "AES-GCM", "NULL"),
    ("aes-gmac", 20, "none", None, None),  # GmacSA, not scapy
    ("aes-gmac", 36, "none", None, None),
]
AUTH_KEY_LEN = {"none": 0, "hmac-md5-96": 16, "hmac-sha1-96": 20, "hmac-sha256-128": 32,
                "hmac-sha384-192": 48, "hmac-sha512-256": 64}
TSHARK_CIPHER = {"des-cbc": "DES-CBC [RFC2405]", "3des-cbc": "TripleDES-CBC [RFC2451]",
                 "aes-cbc": "AES-CBC [RFC3602]", "aes-gcm": "AES-GCM with 16 octet ICV [RFC4106]"}
TSHARK_AUTH = {"none": "NULL", "hmac-md5-96": "HMAC-MD5-96 [RFC2403]",
               "hmac-sha1-96": "HMAC-SHA-1-96 [RFC2404]",
               "hmac-sha256-128": "HMAC-SHA-256-128 [RFC4868]",
               "hmac-sha384-192": "HMAC-SHA-384-192 [RFC4868]",
               "hmac-sha512-256": "HMAC-SHA-512-256 [RFC4868]"}


def keys(klen, auth):
    return bytes(range(klen)), bytes(range(0xa0, 0xa0 + AUTH_KEY_LEN[auth]))


def sample():
    """Inner traffic: UDP of many sizes (DSCP set on some), ICMP, a DF packet."""
    pkts = []
    for i, size in enumerate([0, 1, 2, 13, 14, 15, 16, 17, 100, 255, 1000, 1400, 1472]):
        pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                    IP(src="192.0.2.10", dst="198.51.100.20", tos=(i * 4) & 0xff, id=i,
                       flags="DF" if i % 3 == 0 else 0) /
                    UDP(sport=40000 + i, dport=40001) / Raw(bytes((j * 3 + i) & 0xff for j in range(size))))
    pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                IP(src="192.0.2.11", dst="198.51.100.21") / ICMP(id=7, seq=1) / Raw(b"gvpn" * 8))
    return pkts


def scapy_sa(scrypt, sauth, ck, ak, ip=None):
    if scrypt is None:
        return GmacSA(SPI, ck, ip)
    return SecurityAssociation(ESP, spi=SPI, crypt_algo=scrypt, crypt_key=ck, auth_algo=sauth,
                               auth_key=ak or None, tunnel_header=ip)


def label_of(cipher, klen, auth):
    bits = (klen - 4) * 8 if cipher in ("aes-gcm", "aes-gmac") else klen * 8
    return f"{cipher}-{bits}/{auth}"


def fresh_keys(klen, auth):
    """Random keys of the algorithm's sizes, new for each case."""
    return os.urandom(klen), os.urandom(AUTH_KEY_LEN[auth])


def esptool(tool, mode, cipher, klen, auth, src, dst, extra=(), key=None):
    ck, ak = key or keys(klen, auth)
    cmd = [tool, mode, "--spi", hex(SPI), "--cipher", cipher, "--key", ck.hex(), "--auth", auth]
    if ak:
        cmd += ["--auth-key", ak.hex()]
    return run(cmd + list(extra) + [src, dst])


class Link(Netns):
    """Namespaces a and b joined by veth va/vb, with a sender and a capturer."""

    def __init__(self):
        super().__init__("gvpnE")

    def send_and_capture(self, frames, count, out):
        """Send frames out of va (namespace a) while namespace b captures them on vb."""
        rx = subprocess.Popen(["ip", "netns", "exec", self.b, sys.executable, __file__,
                               "capture", "vb", str(count), out],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = rx.stdout.readline()
        if line.strip() != "ready":
            rx.kill()
            return False, rx.stderr.read()
        snd = run(["ip", "netns", "exec", self.a, sys.executable, __file__, "send", "va", frames])
        try:
            outs, errs = rx.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            rx.kill()
            return False, "capture timed out"
        return rx.returncode == 0 and snd.returncode == 0, outs + errs + snd.stderr


def cmd_capture(iface, count, out):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(10)
    print("ready", flush=True)
    got = []
    while len(got) < int(count):
        data, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        p = Ether(data)
        # ESP only: not IPv6 router solicitations, neighbour discovery etc.
        if (IP in p and p[IP].proto == 50) or (IPv6 in p and p[IPv6].nh == 50):
            got.append(p)
    wrpcap(out, got)


def cmd_send(iface, pcap):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for p in rdpcap(pcap):
        s.send(bytes(p))
        time.sleep(0.002)


def same_inner(got, ref):
    """Compare inner IPv4 packets byte for byte; returns a mismatch description or ''."""
    if len(got) != len(ref):
        return f"{len(got)} packets, expected {len(ref)}"
    for i, (g, r) in enumerate(zip(got, ref)):
        if bytes(g) != bytes(r):
            return f"packet {i}: {bytes(g).hex()} != {bytes(r).hex()}"
    return ""


def check_outer(esp_pkts, ref):
    """Address preservation (R2) and DSCP/ECN copy on gvpn's ESP packets."""
    for e, r in zip(esp_pkts, ref):
        if (e[IP].src, e[IP].dst, e[IP].tos, e[IP].proto) != (r[IP].src, r[IP].dst, r[IP].tos, 50):
            return f"outer {e[IP].src}->{e[IP].dst} tos {e[IP].tos} for inner {r[IP].src}->{r[IP].dst} tos {r[IP].tos}"
    return ""


def tshark_decrypt(pcap, cipher, klen, auth):
    ck, ak = keys(klen, auth)
    ckey = "0x" + ck.hex()
    akey = "0x" + ak.hex() if ak else ""
    uat = (f'uat:esp_sa:"IPv4","*","*","0x{SPI:08x}","{TSHARK_CIPHER[cipher]}","{ckey}",'
           f'"{TSHARK_AUTH[auth]}","{akey}"')
    r = run(["tshark", "-r", pcap, "-o", "esp.enable_encryption_decode:TRUE",
             "-o", "esp.enable_authentication_check:TRUE", "-o", uat,
             "-d", "udp.port==40001,data",
             "-T", "fields", "-E", "separator=|", "-e", "ip.src", "-e", "ip.dst",
             "-e", "esp.icv_good", "-e", "udp.length", "-e", "data.data", "-e", "icmp.seq"])
    return r


def tshark_plain(pcap):
    r = run(["tshark", "-r", pcap, "-d", "udp.port==40001,data", "-T", "fields",
             "-E", "separator=|", "-e", "ip.src", "-e", "ip.dst", "-e", "udp.length",
             "-e", "data.data", "-e", "icmp.seq"])
    return r.stdout.splitlines()


def kernel_has_esp():
    ns = f"gvpnX{os.getpid() % 100000}"
    run(["ip", "netns", "add", ns])
    try:
        r = run(["ip", "-n", ns, "xfrm", "state", "add", "src", "192.0.2.10", "dst", "198.51.100.20",
                 "proto", "esp", "spi", hex(SPI), "mode", "tunnel", "enc", "cbc(aes)",
                 "0x" + bytes(range(16)).hex(), "auth-trunc", "hmac(sha1)",
                 "0x" + bytes(range(0xa0, 0xb4)).hex(), "96"])
        return r.returncode == 0, r.stderr.strip()
    finally:
        run(["ip", "netns", "del", ns])


def kernel_test(tool, work, ref_pcap, tap):
    """The kernel's xfrm decrypts gvpn's AES-CBC/HMAC-SHA1 ESP to a UDP socket."""
    ok, why = kernel_has_esp()
    name = "Linux xfrm decrypts gvpn's aes-cbc/hmac-sha1-96 ESP to a UDP socket"
    if not ok:
        tap.skip(name, f"this kernel has no ESP ({why})")
        return
    esp = os.path.join(work, "kernel.esp.pcap")
    r = esptool(tool, "encrypt", "aes-cbc", 16, "hmac-sha1-96", ref_pcap, esp)
    if r.returncode != 0:
        tap.result(False, name, r.stderr)
        return
    ck, ak = keys(16, "hmac-sha1-96")
    with Link() as n:
        setup = [
            ["ip", "-n", n.b, "addr", "add", "198.51.100.20/32", "dev", "vb"],
            ["ip", "-n", n.b, "route", "add", "192.0.2.0/24", "dev", "vb"],
            ["ip", "-n", n.b, "xfrm", "state", "add", "src", "192.0.2.10", "dst", "198.51.100.20",
             "proto", "esp", "spi", hex(SPI), "mode", "tunnel", "enc", "cbc(aes)", "0x" + ck.hex(),
             "auth-trunc", "hmac(sha1)", "0x" + ak.hex(), "96"],
            ["ip", "-n", n.b, "xfrm", "policy", "add", "src", "192.0.2.10/32", "dst",
             "198.51.100.20/32", "dir", "in", "tmpl", "src", "192.0.2.10", "dst",
             "198.51.100.20", "proto", "esp", "mode", "tunnel"],
        ]
        for c in setup:
            r = run(c)
            if r.returncode != 0:
                tap.result(False, name, f"{' '.join(c)}: {r.stderr}")
                return
        mac = run(["ip", "netns", "exec", n.b, "cat", "/sys/class/net/vb/address"]).stdout.strip()
        frames = [Ether(dst=mac, src="02:00:00:00:00:01") / p[IP] for p in rdpcap(esp)
                  if p[IP].dst == "198.51.100.20"]
        sendfile = os.path.join(work, "kernel.send.pcap")
        wrpcap(sendfile, frames[8:9])
        rx = subprocess.Popen(["ip", "netns", "exec", n.b, sys.executable, "-c",
                               "import socket;s=socket.socket(2,2);s.bind(('',40001));"
                               "s.settimeout(5);print('ready',flush=True);print(s.recv(2000).hex())"],
                              stdout=subprocess.PIPE, text=True)
        rx.stdout.readline()
        run(["ip", "netns", "exec", n.a, sys.executable, __file__, "send", "va", sendfile])
        out, _ = rx.communicate(timeout=10)
        want = bytes(rdpcap(ref_pcap)[8][Raw].load).hex()
        tap.result(out.strip() == want, name, out)


# --- IPv6 SAs ---

SRC6, DST6 = "2001:db8:10::10", "2001:db8:20::20"


def sample6():
    """Inner IPv6 traffic: UDP of many sizes, each with its own traffic class
    (DSCP and ECN), flow label and hop limit, and an ICMPv6 echo request."""
    pkts = []
    for i, size in enumerate([0, 1, 2, 13, 14, 15, 16, 17, 100, 255, 1000, 1400, 1452]):
        pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                    IPv6(src=SRC6, dst=DST6, tc=(i * 37) & 0xff, fl=(i * 40503 + 1) & 0xfffff,
                         hlim=10 + i) /
                    UDP(sport=40000 + i, dport=40001) / Raw(bytes((j * 5 + i) & 0xff for j in range(size))))
    pkts.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                IPv6(src="2001:db8:10::11", dst="2001:db8:20::21", tc=0xb8, fl=0x12345) /
                ICMPv6EchoRequest(id=7, seq=1, data=b"gvpn" * 8))
    return pkts


def check_outer6(esp_pkts, ref, hlim=64):
    """Address preservation and what RFC 6040 and doc/esp.md copy, on gvpn's
    outer IPv6 headers: addresses, traffic class, flow label; the hop limit
    (the SA's ttl, or the inner one's when @hlim is None); next header ESP;
    the payload length of what follows."""
    for i, (e, r) in enumerate(zip(esp_pkts, ref)):
        o, n = e[IPv6], r[IPv6]
        want = (n.src, n.dst, n.tc, n.fl, n.hlim if hlim is None else hlim, 50, len(o.payload))
        got = (o.src, o.dst, o.tc, o.fl, o.hlim, o.nh, o.plen)
        if o.version != 6 or got != want:
            return f"packet {i}: outer (src, dst, tc, fl, hlim, nh, plen) {got}, want {want}"
    return ""


def scapy_sa6(scrypt, sauth, ck, ak, tunnel=None):
    return SecurityAssociation(ESP, spi=SPI, crypt_algo=scrypt, crypt_key=ck, auth_algo=sauth,
                               auth_key=ak or None, tunnel_header=tunnel or IPv6())


def scapy_frames6(ref, scrypt, sauth, key, ext=(), tags=None):
    """scapy's IPv6 tunnel-mode ESP of each inner packet, the outer header
    carrying its addresses, traffic class and flow label, with extension
    headers @ext in front of ESP and VLAN tags @tags in front of it all."""
    frames = []
    for p in ref:
        ip = p[IPv6]
        tunnel = IPv6(src=ip.src, dst=ip.dst, tc=ip.tc, fl=ip.fl)
        for h in ext:
            tunnel = tunnel / h
        sa = scapy_sa6(scrypt, sauth, key[0], key[1], tunnel)
        link = Ether(src=p.src, dst=p.dst)
        for t in tags or ():
            link = link / t
        frames.append(link / sa.encrypt(ip))
    return frames


def decrypt6_all(got, scrypt, sauth, key):
    sa = scapy_sa6(scrypt, sauth, key[0], key[1])
    return [sa.decrypt(p[IPv6]) for p in got]  # a failed ICV raises


def ipv6_tests(tool, work, tap, have_netns):
    """IPv6 SAs against scapy (and tshark), a fresh key for every case."""
    ref = sample6()
    ref_pcap = os.path.join(work, "inner6.pcap")
    wrpcap(ref_pcap, ref)
    ref_ip = [p[IPv6] for p in ref]
    for cipher, klen, auth, scrypt, sauth in ALGS:
        label = "IPv6 " + label_of(cipher, klen, auth)
        if scrypt is None:
            continue  # AES-GMAC: no IPv6 peer (module docstring)

        # scapy decrypts gvpn's ESP received over the veth pair; outer header checked
        name = f"scapy decrypts gvpn ESP {label} received over veth, outer header per R2"
        key = fresh_keys(klen, auth)
        esp_pcap = os.path.join(work, f"gvpn6.{cipher}.{klen}.{auth}.pcap")
        r = esptool(tool, "encrypt", cipher, klen, auth, ref_pcap, esp_pcap,
                    ["--family", "ipv6"], key)
        gvpn_ok = r.returncode == 0 and f"{len(ref)} out" in r.stderr
        if not gvpn_ok:
            tap.result(False, name, r.stderr)
        elif not have_netns:
            tap.skip(name, "needs root and ip netns")
        else:
            cap = os.path.join(work, f"rx6.{cipher}.{klen}.{auth}.pcap")
            with Link() as n:
                ok, detail = n.send_and_capture(esp_pcap, len(ref), cap)
            if ok:
                got = rdpcap(cap)
                try:
                    detail = (check_outer6(got, ref) or
                              same_inner(decrypt6_all(got, scrypt, sauth, key), ref_ip))
                except Exception as e:
                    detail = f"scapy: {e!r}"
                ok = detail == ""
            tap.result(ok, name, detail + f"\nkeys {key[0].hex()} {key[1].hex()}")

        # tshark decrypts gvpn's ESP with a good ICV
        name = f"tshark decrypts gvpn ESP {label} (ICV good, inner packets intact)"
        if not gvpn_ok:
            tap.result(False, name, r.stderr)
        else:
            ok, detail = tshark6_check(esp_pcap, ref_pcap, cipher, key, auth, len(ref))
            tap.result(ok, name, detail)

        # gvpn decrypts scapy's ESP sent over the veth pair
        name = f"gvpn decrypts scapy ESP {label} received over veth"
        key = fresh_keys(klen, auth)
        s_pcap = os.path.join(work, f"scapy6.{cipher}.{klen}.{auth}.pcap")
        wrpcap(s_pcap, scapy_frames6(ref, scrypt, sauth, key))
        src_pcap = s_pcap
        if not have_netns:
            tap.skip(name, "needs root and ip netns")
        else:
            cap = os.path.join(work, f"rx6b.{cipher}.{klen}.{auth}.pcap")
            with Link() as n:
                ok, detail = n.send_and_capture(s_pcap, len(ref), cap)
            if ok:
                src_pcap = cap
                out = os.path.join(work, f"dec6.{cipher}.{klen}.{auth}.pcap")
                r2 = esptool(tool, "decrypt", cipher, klen, auth, cap, out, ["--family", "ipv6"],
                             key)
                detail = r2.stderr
                ok = r2.returncode == 0
                if ok:
                    diff = same_inner([p[IPv6] for p in rdpcap(out)], ref_ip)
                    ok, detail = diff == "", detail + diff
            tap.result(ok, name, detail)

        # tampered: every packet a bad ICV
        name = f"gvpn drops tampered scapy ESP {label} as bad ICV"
        bad_pcap = os.path.join(work, f"bad6.{cipher}.{klen}.{auth}.pcap")
        tampered = []
        for p in rdpcap(src_pcap):
            b = bytearray(bytes(p))
            b[14 + 40 + 8 + 2] ^= 0x01  # a byte of the IV or ciphertext
            tampered.append(Ether(bytes(b)))
        wrpcap(bad_pcap, tampered)
        r3 = esptool(tool, "decrypt", cipher, klen, auth, bad_pcap,
                     os.path.join(work, "bad6.out.pcap"), ["--family", "ipv6"], key)
        tap.result(r3.returncode == 0 and f"0 out, {len(ref)} dropped" in r3.stderr and
                   f"{len(ref)} integrity check failed" in r3.stderr, name, r3.stderr)

    ipv6_variants(tool, work, tap, ref, ref_pcap)


@functools.lru_cache
def tshark6_plain(pcap):
    """tshark's fields of the inner packets, read once."""
    return run(["tshark", "-r", pcap, "-d", "udp.port==40001,data", "-T", "fields",
                "-E", "separator=|", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.tclass",
                "-e", "ipv6.flow", "-e", "udp.length", "-e", "data.data",
                "-e", "icmpv6.echo.sequence_number"]).stdout.splitlines()


def tshark6_check(esp_pcap, ref_pcap, cipher, key, auth, count):
    ck, ak = key
    akey = "0x" + ak.hex() if ak else ""
    uat = (f'uat:esp_sa:"IPv6","*","*","0x{SPI:08x}","{TSHARK_CIPHER[cipher]}","0x{ck.hex()}",'
           f'"{TSHARK_AUTH[auth]}","{akey}"')
    fields = ["-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.tclass", "-e", "ipv6.flow"]
    t = run(["tshark", "-r", esp_pcap, "-o", "esp.enable_encryption_decode:TRUE",
             "-o", "esp.enable_authentication_check:TRUE", "-o", uat,
             "-d", "udp.port==40001,data", "-T", "fields", "-E", "separator=|"] + fields +
            ["-e", "esp.icv_good", "-e", "udp.length", "-e", "data.data", "-e", "icmpv6.echo.sequence_number"])
    want = tshark6_plain(ref_pcap)
    lines = t.stdout.splitlines()
    bad = t.returncode != 0 or len(lines) != count
    detail = t.stderr
    for got, w in zip(lines, want):
        f, w = got.split("|"), w.split("|")
        # outer and inner: the same addresses, traffic class and flow label
        pairs = [x.split(",") for x in f[:4]]
        if (f[4] != "1" or any(len(x) != 2 or x[0] != x[1] for x in pairs) or
                [x[1] for x in pairs] != w[:4] or f[5:] != w[4:]):
            bad = True
            detail += f"\ngot {got}\nwant {w}"
    return not bad, detail


def ipv6_variants(tool, work, tap, ref, ref_pcap):
    """What the worker's frames bring besides: VLAN tags, extension headers in
    front of ESP, the hop limit copied; AES-CBC and AES-GCM."""
    cases = [("aes-cbc", 32, "hmac-sha256-128", "AES-CBC", "SHA2-256-128"),
             ("aes-gcm", 20, "none", "AES-GCM", "NULL")]
    tagsets = {"an 802.1Q tag": [Dot1Q(vlan=10, prio=1)],
               "802.1ad and 802.1Q tags": [Dot1AD(vlan=100), Dot1Q(vlan=10)]}
    for cipher, klen, auth, scrypt, sauth in cases:
        label = "IPv6 " + label_of(cipher, klen, auth)
        ref_ip = [p[IPv6] for p in ref]

        for what, tags in tagsets.items():
            # gvpn's ESP keeps the tags; scapy decrypts what follows them
            name = f"gvpn ESP {label} behind {what}: tags kept, scapy decrypts"
            key = fresh_keys(klen, auth)
            tagged = []
            for p in ref:
                link = Ether(src=p.src, dst=p.dst)
                for t in tags:
                    link = link / t.copy()
                tagged.append(link / p[IPv6])
            t_pcap = os.path.join(work, f"tagged6.{cipher}.{len(tags)}.pcap")
            esp_pcap = os.path.join(work, f"tagged6.esp.{cipher}.{len(tags)}.pcap")
            wrpcap(t_pcap, tagged)
            r = esptool(tool, "encrypt", cipher, klen, auth, t_pcap, esp_pcap, ["--family", "ipv6"],
                        key)
            detail, ok = r.stderr, r.returncode == 0 and f"{len(ref)} out" in r.stderr
            if ok:
                got = rdpcap(esp_pcap)
                hl = 14 + 4 * len(tags)
                if [bytes(p)[:hl] for p in got] != [bytes(p)[:hl] for p in tagged]:
                    ok, detail = False, "link header (tags) changed"
                else:
                    try:
                        detail = (check_outer6(got, ref) or
                                  same_inner(decrypt6_all(got, scrypt, sauth, key), ref_ip))
                    except Exception as e:
                        detail = f"scapy: {e!r}"
                    ok = detail == ""
            tap.result(ok, name, detail)

            # and gvpn decrypts scapy's tagged ESP back to the tagged frames
            name = f"gvpn decrypts scapy ESP {label} behind {what}, tags kept"
            s_pcap = os.path.join(work, f"tagged6.scapy.{cipher}.{len(tags)}.pcap")
            out = os.path.join(work, f"tagged6.dec.{cipher}.{len(tags)}.pcap")
            wrpcap(s_pcap, scapy_frames6(ref, scrypt, sauth, key, tags=[t.copy() for t in tags]))
            r = esptool(tool, "decrypt", cipher, klen, auth, s_pcap, out, ["--family", "ipv6"], key)
            detail, ok = r.stderr, r.returncode == 0
            if ok:
                diff = same_inner(rdpcap(out), tagged)  # whole frames: tags included
                ok, detail = diff == "", detail + diff
            tap.result(ok, name, detail)

        # extension headers between the outer IPv6 header and ESP
        name = f"gvpn decrypts scapy ESP {label} behind hop-by-hop and destination options"
        key = fresh_keys(klen, auth)
        s_pcap = os.path.join(work, f"ext6.{cipher}.pcap")
        out = os.path.join(work, f"ext6.dec.{cipher}.pcap")
        frames = scapy_frames6(ref, scrypt, sauth, key,
                               ext=[IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt()])
        wrpcap(s_pcap, frames)
        has_ext = all(IPv6ExtHdrHopByHop in f and IPv6ExtHdrDestOpt in f and
                      f[IPv6ExtHdrDestOpt].nh == 50 for f in frames)
        r = esptool(tool, "decrypt", cipher, klen, auth, s_pcap, out, ["--family", "ipv6"], key)
        ok = has_ext and r.returncode == 0 and same_inner([p[IPv6] for p in rdpcap(out)],
                                                          ref_ip) == ""
        tap.result(ok, name, ("" if has_ext else "scapy put no extension headers\n") + r.stderr)

        # --ttl 0: the hop limit is the inner packet's
        name = f"gvpn ESP {label} with ttl 0 copies the inner hop limit"
        key = fresh_keys(klen, auth)
        esp_pcap = os.path.join(work, f"hlim6.{cipher}.pcap")
        r = esptool(tool, "encrypt", cipher, klen, auth, ref_pcap, esp_pcap,
                    ["--family", "ipv6", "--ttl", "0"], key)
        detail, ok = r.stderr, r.returncode == 0 and f"{len(ref)} out" in r.stderr
        if ok:
            got = rdpcap(esp_pcap)
            try:
                detail = (check_outer6(got, ref, hlim=None) or
                          same_inner(decrypt6_all(got, scrypt, sauth, key), ref_ip))
            except Exception as e:
                detail = f"scapy: {e!r}"
            ok = detail == ""
        tap.result(ok, name, detail)


NTP_UNIX_EPOCH = 2208988800
STAMP_ALGS = [("aes-cbc", 16, "hmac-sha1-96", "AES-CBC", "HMAC-SHA1-96"),
              ("aes-gcm", 20, "none", "AES-GCM", "NULL")]


def ddd_stamp(t, nh=4):
    """doc/esp.md's stamp: next header (4 IPv4, 41 IPv6), length 12, type 1,
    reserved 0, NTP time."""
    return bytes([nh, 12, 1, 0]) + int((t + NTP_UNIX_EPOCH) * 2**32).to_bytes(8, "big")


def stamp_tests(tool, work, ref, tap, v6=False):
    """R23 with scapy, written from doc/esp.md rather than from gvpn's code;
    @v6: IPv6 SAs, whose stamps say 41, with fresh keys."""
    L3, nh, fam = (IPv6, 41, ["--family", "ipv6"]) if v6 else (IP, 4, [])
    tag = "IPv6 " if v6 else ""
    ref_pcap = os.path.join(work, "inner6.pcap" if v6 else "inner.pcap")
    for cipher, klen, auth, scrypt, sauth in STAMP_ALGS:
        label = tag + label_of(cipher, klen, auth)
        key = fresh_keys(klen, auth) if v6 else keys(klen, auth)
        ck, ak = key
        # Transport-mode SAs in scapy: the ESP next header and the payload
        # are then exactly what is on the wire (253, stamp + inner packet).
        sa = scapy_sa(scrypt, sauth, ck, ak)

        name = f"scapy finds the delay-detection stamp in gvpn ESP {label} (window 30 s)"
        esp_pcap = os.path.join(work, f"gvpn.stamped.{tag.strip()}{cipher}.pcap")
        before = time.time()
        r = esptool(tool, "encrypt", cipher, klen, auth, ref_pcap, esp_pcap,
                    ["--replay-window", "30"] + fam, key)
        after = time.time()
        detail = r.stderr
        ok = r.returncode == 0 and f"{len(ref)} out" in r.stderr
        if ok:
            try:
                for i, (p, want) in enumerate(zip(rdpcap(esp_pcap), ref)):
                    d = sa.decrypt(p[L3])  # raises on a bad ICV
                    body = bytes(d[L3].payload)
                    ts = int.from_bytes(body[4:12], "big") / 2**32 - NTP_UNIX_EPOCH
                    got_nh = d[L3].nh if v6 else d[L3].proto
                    if got_nh != 253 or body[:4] != bytes([nh, 12, 1, 0]):
                        detail = f"packet {i}: next header {got_nh}, stamp {body[:12].hex()}"
                    elif not before - 1 <= ts <= after + 1:
                        detail = f"packet {i}: stamp {ts:.3f}, sent between {before:.3f} and {after:.3f}"
                    elif body[12:] != bytes(want[L3]):
                        detail = f"packet {i}: inner {body[12:].hex()} != {bytes(want[L3]).hex()}"
                    else:
                        continue
                    ok = False
                    break
            except Exception as e:
                ok, detail = False, f"scapy: {e!r}"
        tap.result(ok, name, detail)

        for age, fresh in ((0, True), (-40, False), (40, False)):
            what = "fresh" if fresh else f"{abs(age)} s too {'old' if age < 0 else 'new'}"
            name = f"gvpn {'takes' if fresh else 'drops'} scapy ESP {label} with a {what} stamp"
            frames = []
            for p in ref:
                ip = p[L3]
                if v6:
                    outer = IPv6(src=ip.src, dst=ip.dst, tc=ip.tc, fl=ip.fl, nh=253)
                else:
                    outer = IP(src=ip.src, dst=ip.dst, tos=ip.tos, proto=253)
                frames.append(Ether(src=p.src, dst=p.dst) /
                              sa.encrypt(outer / Raw(ddd_stamp(time.time() + age, nh) + bytes(ip))))
            s_pcap = os.path.join(work, f"scapy.stamped.{tag.strip()}{cipher}.{age}.pcap")
            out = os.path.join(work, f"dec.stamped.{tag.strip()}{cipher}.{age}.pcap")
            wrpcap(s_pcap, frames)
            r = esptool(tool, "decrypt", cipher, klen, auth, s_pcap, out,
                        ["--replay-window", "30"] + fam, key)
            if fresh:
                ok = (r.returncode == 0 and
                      same_inner([p[L3] for p in rdpcap(out)], [p[L3] for p in ref]) == "")
            else:
                ok = (r.returncode == 0 and f"0 out, {len(ref)} dropped" in r.stderr and
                      f"{len(ref)} timestamp outside the replay window" in r.stderr)
            tap.result(ok, name, r.stderr)


def main(tool, work):
    tap = Tap()
    os.makedirs(work, exist_ok=True)
    ref = sample()
    ref_pcap = os.path.join(work, "inner.pcap")
    wrpcap(ref_pcap, ref)
    ref_ip = [p[IP] for p in ref]
    plain_fields = tshark_plain(ref_pcap)
    have_netns = os.geteuid() == 0 and run(["ip", "netns", "list"]).returncode == 0

    for cipher, klen, auth, scrypt, sauth in ALGS:
        label = label_of(cipher, klen, auth)
        peer = "scapy" if scrypt else "python3-cryptography"
        ck, ak = keys(klen, auth)
        esp_pcap = os.path.join(work, f"gvpn.{cipher}.{klen}.{auth}.pcap")
        r = esptool(tool, "encrypt", cipher, klen, auth, ref_pcap, esp_pcap)
        gvpn_ok = r.returncode == 0 and f"{len(ref)} out" in r.stderr

        # tshark: decrypts with the ICV good, the inner packets as sent, outer = inner addresses
        name = f"tshark decrypts gvpn ESP {label} (ICV good, inner packets intact)"
        if cipher not in TSHARK_CIPHER:
            tap.skip(name, "tshark 4.0 has no AES-GMAC in its ESP SA table")
        elif not gvpn_ok:
            tap.result(False, name, r.stderr)
        else:
            t = tshark_decrypt(esp_pcap, cipher, klen, auth)
            lines = t.stdout.splitlines()
            bad = t.returncode != 0 or len(lines) != len(ref)
            detail = t.stderr
            for got, want in zip(lines, plain_fields):
                f = got.split("|")
                src, dst = f[0].split(","), f[1].split(",")
                w = want.split("|")
                if (f[2] != "1" or len(src) != 2 or src[0] != src[1] or dst[0] != dst[1] or
                        src[1] != w[0] or dst[1] != w[1] or f[3:] != w[2:]):
                    bad = True
                    detail += f"\ngot {got}\nwant {want}"
            tap.result(not bad, name, detail)

        # scapy decrypts gvpn's ESP, received through the veth pair
        name = f"{peer} decrypts gvpn ESP {label} received over veth"
        if not have_netns:
            tap.skip(name, "needs root and ip netns")
        elif not gvpn_ok:
            tap.result(False, name, r.stderr)
        else:
            cap = os.path.join(work, f"rx.{cipher}.{klen}.{auth}.pcap")
            with Link() as n:
                ok, detail = n.send_and_capture(esp_pcap, len(ref), cap)
            if ok:
                got = rdpcap(cap)
                sa = scapy_sa(scrypt, sauth, ck, ak, IP())  # tunnel mode: strip outer
                try:
                    detail = check_outer(got, ref) or same_inner([sa.decrypt(p[IP]) for p in got], ref_ip)
                except Exception as e:  # a failed ICV raises
                    detail = f"{peer}: {e!r}"
                ok = detail == ""
            tap.result(ok, name, detail)

        # gvpn decrypts scapy's ESP, sent through the veth pair
        name = f"gvpn decrypts {peer} ESP {label} received over veth"
        s_pcap = os.path.join(work, f"scapy.{cipher}.{klen}.{auth}.pcap")
        frames = []
        for p in ref:
            ip = p[IP]
            sa = scapy_sa(scrypt, sauth, ck, ak, IP(src=ip.src, dst=ip.dst, tos=ip.tos))
            frames.append(Ether(src=p.src, dst=p.dst) / sa.encrypt(ip))
        wrpcap(s_pcap, frames)
        src_pcap = s_pcap
        if not have_netns:
            tap.skip(name, "needs root and ip netns")
        else:
            cap = os.path.join(work, f"rx2.{cipher}.{klen}.{auth}.pcap")
            with Link() as n:
                ok, detail = n.send_and_capture(s_pcap, len(ref), cap)
            if ok:
                src_pcap = cap
                out = os.path.join(work, f"dec.{cipher}.{klen}.{auth}.pcap")
                r2 = esptool(tool, "decrypt", cipher, klen, auth, cap, out)
                detail = r2.stderr
                ok = r2.returncode == 0 and same_inner([p[IP] for p in rdpcap(out)], ref_ip) == ""
                if not ok and r2.returncode == 0:
                    detail += same_inner([p[IP] for p in rdpcap(out)], ref_ip)
            tap.result(ok, name, detail)

        # tampering with scapy's packets: gvpn drops every one as a bad ICV
        name = f"gvpn drops tampered {peer} ESP {label} as bad ICV"
        bad_pcap = os.path.join(work, f"bad.{cipher}.{klen}.{auth}.pcap")
        tampered = []
        for p in rdpcap(src_pcap):
            b = bytearray(bytes(p))
            b[14 + 20 + 8 + 2] ^= 0x01  # a byte of the IV or ciphertext
            tampered.append(Ether(bytes(b)))
        wrpcap(bad_pcap, tampered)
        r3 = esptool(tool, "decrypt", cipher, klen, auth, bad_pcap, os.path.join(work, "bad.out.pcap"))
        tap.result(r3.returncode == 0 and f"0 out, {len(ref)} dropped" in r3.stderr and
                   f"{len(ref)} integrity check failed" in r3.stderr, name, r3.stderr)

    stamp_tests(tool, work, ref, tap)
    ipv6_tests(tool, work, tap, have_netns)
    stamp_tests(tool, work, sample6(), tap, v6=True)
    kernel_test(tool, work, ref_pcap, tap)
    return tap.done()


if __name__ == "__main__":
    if sys.argv[1] == "capture":
        cmd_capture(*sys.argv[2:5])
    elif sys.argv[1] == "send":
        cmd_send(*sys.argv[2:4])
    else:
        sys.exit(main(sys.argv[1], sys.argv[2]))
