#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Time-based anti-replay (R23) as the key server configures it, as TAP.

  host --veth-- [gvpnd + test key server in one namespace] --veth-- peer

The key server's GAP carries a 2-second replay window. The ESP that gvpnd
sends for the host is opened here with python-cryptography and the key
server's keys: it carries the send-time stamp (doc/esp.md). ESP built here for
the peer, with stamps of our choosing, arrives at the host's socket when fresh
and again when replayed within the window; replayed after the window, or
stamped too far ahead, it is dropped and counted as drop_esp_replay_window.

Usage: test_replay.py GVPND SOURCE_ROOT WORKDIR
"""
import hashlib
import hmac
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
sys.path.insert(0, HERE)
from gvpntest import Gvpnd, KeyServer, Tap, have_netns, main_guard  # noqa: E402
from test_netns import HOST, PEER, UDP_RECV, UDP_SEND, Lab  # noqa: E402

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from scapy.all import IP, UDP, Raw  # noqa: E402

PSK = "group-member-psk-0123456789"
WINDOW = 2
NTP_UNIX = 2208988800
SPI = 0x1001

# In the peer namespace: one ESP packet received (hex), or one sent (hex).
PEER_RAW = r'''
import socket, sys
if sys.argv[1] == "recv":
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
    r.settimeout(10)
    print("ready", flush=True)
    print(r.recv(65535).hex(), flush=True)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(bytes.fromhex(sys.argv[2]), (sys.argv[3], 0))
'''


def ks_conf(port):
    return {"listen": "127.0.0.1", "port": port, "psk": PSK,
            "groups": [{"id": 1001, "replay_window": WINDOW, "teks": [{
                "spi": SPI, "cipher": "aes-cbc", "key_bits": 128, "auth": "hmac-sha1-96",
                "src": "192.0.2.0/24", "dst": "198.51.100.0/24", "mirror": True,
                "lifetime": 600}]}]}


def gm_conf(port):
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_af_packet0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_af_packet1"; }}
);
groups = ( {{
  name = "corp"; id = 1001;
  key_servers = ( "127.0.0.1:{port}" );
  local_address = "127.0.0.1";
  psk = "{PSK}";
  phase1 = ( "aes128-sha1-modp2048" );
}} );
"""


def ntp_now(offset=0.0):
    t = time.time() + offset
    return struct.pack("!II", int(t) + NTP_UNIX, int((t % 1) * 2**32))


def open_esp(pkt, enc, auth):
    """Check the ICV, decrypt: (next header, plaintext before the padding)."""
    ip = IP(pkt)
    esp = bytes(ip.payload)
    body, icv = esp[:-12], esp[-12:]
    want = hmac.new(auth, body, hashlib.sha1).digest()[:12]
    assert hmac.compare_digest(icv, want), "ICV does not verify"
    d = Cipher(algorithms.AES(enc), modes.CBC(body[8:24])).decryptor()
    pt = d.update(body[24:]) + d.finalize()
    nh, padlen = pt[-1], pt[-2]
    return nh, pt[:-2 - padlen]


def seal_esp(inner, stamp, enc, auth, seq):
    """ESP from the peer to the host (address preservation) with a stamp."""
    pt = bytes([4, 12, 1, 0]) + stamp + inner
    pad = (-(len(pt) + 2)) % 16
    pt += bytes(range(1, pad + 1)) + bytes([pad, 253])
    iv = os.urandom(16)
    e = Cipher(algorithms.AES(enc), modes.CBC(iv)).encryptor()
    body = struct.pack("!II", SPI, seq) + iv + e.update(pt) + e.finalize()
    esp = body + hmac.new(auth, body, hashlib.sha1).digest()[:12]
    return bytes(IP(src=PEER, dst=HOST, proto=50) / Raw(esp))


def test_window(lab, ctx, tap):
    port = 19500 + os.getpid() % 400
    with KeyServer(ctx["root"], ks_conf(port), ctx["work"], "ks-replay", netns=lab.g) as ks, \
            Gvpnd(ctx["gvpnd"], gm_conf(port), ["net_af_packet0,iface=gC",
                                                 "net_af_packet1,iface=gW"],
                  ctx["work"], netns=lab.g, name="replay") as g:
        g.wait(lambda: g.tel("/gvpn/groups")["corp"]["state"] == "registered", timeout=20,
               what="registration")
        tek = ks.state()["groups"]["1001"]["teks"][0]
        enc, auth = bytes.fromhex(tek["enc_key"]), bytes.fromhex(tek["auth_key"])

        def sender_stamps():
            rx = lab.start(lab.p, PEER_RAW, "recv")
            r = lab.exec(lab.h, UDP_SEND, PEER, "stamped by gvpnd")
            assert r.returncode == 0, r.stderr
            out, err = lab.finish(rx)
            assert out, f"the peer got no ESP: {err}"
            nh, pt = open_esp(bytes.fromhex(out), enc, auth)
            assert nh == 253, f"ESP next header {nh}, not the stamp's 253"
            assert pt[:4] == bytes([4, 12, 1, 0]), pt[:4].hex()
            sec, frac = struct.unpack("!II", pt[4:12])
            sent = sec - NTP_UNIX + frac / 2**32
            assert abs(sent - time.time()) < 1.5, f"stamp {sent} vs now {time.time()}"
            inner = IP(pt[12:])
            assert inner.src == HOST and inner.dst == PEER, inner.summary()
            assert bytes(inner[UDP].payload) == b"stamped by gvpnd"
        tap.check("the member stamps what it encrypts with its send time (the window came "
                  "from the key server's GAP); opened with python-cryptography", sender_stamps)

        inner = bytes(IP(src=PEER, dst=HOST) / UDP(sport=40001, dport=40000) /
                      Raw(b"hello within the window"))

        def deliver(pkt, expect):
            rx = lab.start(lab.h, UDP_RECV, "40000", "3" if expect else "1.5")
            r = lab.exec(lab.p, PEER_RAW, "send", pkt.hex(), HOST)
            assert r.returncode == 0, r.stderr
            out, _ = lab.finish(rx)
            got = out.startswith("hello within the window")
            assert got == expect, f"host socket got {out!r}"

        t0 = time.time()
        fresh = seal_esp(inner, ntp_now(), enc, auth, 1)

        def fresh_passes():
            deliver(fresh, True)
            time.sleep(0.5)
            deliver(fresh, True)  # a replay inside the window: groups have many senders
        tap.check("a fresh stamp passes, and so does the same packet replayed within the "
                  "window", fresh_passes)

        def late_replay_dropped():
            before = g.lcores()["drop_esp_replay_window"]
            time.sleep(max(0.0, t0 + WINDOW + 0.7 - time.time()))
            deliver(fresh, False)
            assert g.lcores()["drop_esp_replay_window"] == before + 1, g.lcores()
        tap.check("the captured packet replayed after the window is dropped as replay_window",
                  late_replay_dropped)

        def future_dropped():
            before = g.lcores()["drop_esp_replay_window"]
            deliver(seal_esp(inner, ntp_now(WINDOW + 3), enc, auth, 2), False)
            deliver(seal_esp(inner, ntp_now(-(WINDOW + 3)), enc, auth, 3), False)
            assert g.lcores()["drop_esp_replay_window"] == before + 2, g.lcores()
            deliver(seal_esp(inner, ntp_now(-1), enc, auth, 4), True)
        tap.check("stamps beyond the window either way are dropped; one a second old passes",
                  future_dropped)
        rc = g.stop()
    tap.result(rc == 0, "gvpnd exits 0", g.output())


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    if not have_netns():
        tap.skip("time-based anti-replay through namespaces", "needs root and ip netns")
        return tap.done()
    with Lab() as lab:
        test_window(lab, {"gvpnd": gvpnd, "root": root, "work": work}, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
