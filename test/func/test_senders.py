#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Sender-IDs for counter-mode TEKs (RFC 6054, RFC 6407 5.6.3) between gvpnd
group members and the independent test key server, as TAP.

Two members share an AES-GCM TEK: each asks for a Sender-ID in its pull, and
every IV it sends carries that Sender-ID in its leftmost bits, so no IV is
used twice under the group's key; scapy decrypts both members' ESP. A key
server that gives no Sender-ID leaves the TEK decrypt-only. The reference
key server's little-endian SID_VALUE is read under key_server_habits. A push
that changes the Sender-ID length makes the member register again for a new
one, and the SID values a push carries are never used.

Usage: test_senders.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, KeyServer, PushControl, Tap, main_guard  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, RawPcapReader, wrpcap  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

PSK = "group-member-psk-0123456789"
A, B = "192.0.2.10", "198.51.100.20"
BASE_PORT = 21000 + os.getpid() % 1000 * 8
GID = 1001
# the reference key server reads the 4-octet group ID in host order
GID_SWAPPED = int.from_bytes(GID.to_bytes(4, "little"), "big")
TEK_SPI = 0x5000


def ks_conf(port, control=None, **group):
    g = {"id": GID, "sid_bits": 16,
         "teks": [{"spi": TEK_SPI, "cipher": "aes-gcm", "key_bits": 128,
                   "src": "192.0.2.0/24", "dst": "198.51.100.0/24", "mirror": True,
                   "lifetime": 600}]}
    g.update(group)
    conf = {"listen": "127.0.0.1", "port": port, "psk": PSK, "groups": [g]}
    if control:
        conf["control_file"] = control
    return conf


def gm_conf(port, extra="", gid=GID):
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_pcap1"; }}
);
bypass = ( {{ protocol = "udp"; dst_port = 848; }} );
groups = ( {{
  name = "corp"; id = {gid};
  key_servers = ( "127.0.0.1:{port}" );
  local_address = "127.0.0.1";
  psk = "{PSK}";
  phase1 = ( "aes128-sha1-modp2048" );
  retry_interval = 1; retries = 2;
  {extra}
}} );
"""


def inputs(work):
    """Clear traffic replayed forever: 1 packet in 100 matches the group's
    TEK, the rest no rule (dropped), so the ESP captures stay small."""
    clear = os.path.join(work, "senders.clear.pcap")
    pkts = []
    for i in range(4):
        pkts.append(Ether() / IP(src=A, dst=B, id=i) / UDP(sport=40000, dport=40001) /
                    Raw(b"sender %d" % i))
        pkts += [Ether() / IP(src=A, dst=f"203.0.113.{k}") / UDP(sport=40000, dport=9) /
                 Raw(b"no rule") for k in range(1, 100)]
    wrpcap(clear, pkts)
    empty = os.path.join(work, "senders.empty.pcap")
    wrpcap(empty, [], linktype=1)
    return clear, empty


def member(ctx, name, conf, prot_in=None):
    w = ctx["work"]
    clear, empty = ctx["clear"], ctx["empty"]
    return Gvpnd(ctx["gvpnd"], conf,
                 [f"net_pcap0,rx_pcap={clear},tx_pcap={w}/{name}.back.pcap,infinite_rx=1",
                  f"net_pcap1,rx_pcap={prot_in or empty},tx_pcap={w}/{name}.esp.pcap"
                  + (",infinite_rx=1" if prot_in else "")], w, name=name)


def group(g):
    return g.tel("/gvpn/groups")["corp"]


def esp_packets(ctx, name, spi, limit=2000):
    """Up to @p limit ESP packets of @p spi that @p name sent, as raw IPv4
    bytes, read as a stream (replay makes the capture large)."""
    out = []
    r = RawPcapReader(f"{ctx['work']}/{name}.esp.pcap")
    try:
        for frame, _ in r:
            ip = frame[14:]
            if len(ip) < 36 or ip[9] != 50:
                continue
            esp = ip[(ip[0] & 15) * 4:]
            if struct.unpack("!I", esp[:4])[0] == spi:
                out.append(ip)
                if len(out) == limit:
                    break
    finally:
        r.close()
    return out


def ivs(ctx, name, spi):
    """The 8-octet explicit IVs of @p spi's ESP packets, as integers."""
    return [struct.unpack("!Q", ip[(ip[0] & 15) * 4 + 8:(ip[0] & 15) * 4 + 16])[0]
            for ip in esp_packets(ctx, name, spi)]


def gcm_sa(spi, key_with_salt):
    return SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM",
                               crypt_key=bytes.fromhex(key_with_salt), auth_algo="NULL",
                               tunnel_header=IP())


def registered_sending(g, what="registration and encryption"):
    g.wait(lambda: group(g)["state"] == "registered" and g.lcores()["encrypted"] >= 50,
           timeout=20, what=what)


def test_two_members(ctx, tap):
    port = BASE_PORT
    with KeyServer(ctx["root"], ks_conf(port), ctx["work"], "ks-senders") as ks:
        a = member(ctx, "sid-a", gm_conf(port))
        b = member(ctx, "sid-b", gm_conf(port))
        with a, b:
            def each_gets_one():
                registered_sending(a)
                registered_sending(b)
                ga, gb = group(a), group(b)
                assert ga["sender_id_bits"] == 16 and gb["sender_id_bits"] == 16, (ga, gb)
                assert {ga["sender_id"], gb["sender_id"]} == {1, 2}, (ga, gb)
                st = ks.state()["groups"][str(GID)]
                assert [s["requested"] for s in st["sids"]] == [1, 1], st["sids"]
            tap.check("each member asks for a Sender-ID in its pull (GAP SENDER_ID_REQUEST) "
                      "and gets its own", each_gets_one)
            sids = {"sid-a": group(a)["sender_id"], "sid-b": group(b)["sender_id"]}
            assert a.stop() == 0 and b.stop() == 0
        tek = ks.state()["groups"][str(GID)]["tek_history"][0]

    def ivs_carry_the_sid():
        seen = set()
        for name, sid in sids.items():
            got = ivs(ctx, name, TEK_SPI)
            assert len(got) >= 50, f"{name}: {len(got)} ESP packets"
            assert all(iv >> 48 == sid for iv in got), \
                f"{name}: IVs {[hex(i) for i in got[:4]]} lack Sender-ID {sid}"
            low = [iv & (1 << 48) - 1 for iv in got]
            assert low == list(range(low[0], low[0] + len(low))), f"{name}: not a counter"
            assert not seen & set(got), f"{name}: an IV the other member used"
            seen |= set(got)
    tap.check("every IV either member sent is unique and carries its Sender-ID in the "
              "leftmost 16 bits", ivs_carry_the_sid)

    def scapy_decrypts_both():
        sa = gcm_sa(TEK_SPI, tek["enc_key_with_salt"])
        for name in sids:
            for ip in esp_packets(ctx, name, TEK_SPI, 20):
                inner = sa.decrypt(IP(ip))
                assert inner[IP].src == A and bytes(inner[Raw]).startswith(b"sender "), name
    tap.check("scapy decrypts both members' ESP with the key server's key", scapy_decrypts_both)


def test_gmac(ctx, tap):
    """AES-GMAC (RFC 4543) counts its IVs as GCM does: the same Sender-ID rule."""
    port = BASE_PORT + 4
    conf = ks_conf(port)
    conf["groups"][0]["teks"][0].update({"cipher": "aes-gmac", "key_bits": 256})
    with KeyServer(ctx["root"], conf, ctx["work"], "ks-sid-gmac"):
        with member(ctx, "sid-gmac", gm_conf(port)) as g:
            def asks_and_counts():
                registered_sending(g)
                assert group(g)["sender_id"] == 1 and group(g)["sender_id_bits"] == 16, group(g)
                assert g.stop() == 0
                got = ivs(ctx, "sid-gmac", TEK_SPI)
                assert len(got) >= 50 and all(iv >> 48 == 1 for iv in got), \
                    [hex(i) for i in got[:4]]
                assert len(set(got)) == len(got)
            tap.check("an AES-GMAC TEK: the member asks for a Sender-ID and its IVs carry it",
                      asks_and_counts)


def test_no_sender_id(ctx, tap):
    """A key server that hands out no Sender-ID: the GCM TEK decrypts only."""
    port = BASE_PORT + 1
    key = "00112233445566778899aabbccddeeff" + "01020304"
    conf = ks_conf(port, sid_bits=0)
    conf["groups"][0]["teks"][0]["keys"] = {"encryption": key}
    sa = gcm_sa(TEK_SPI, key)
    prot_in = os.path.join(ctx["work"], "senders.esp-in.pcap")
    wrpcap(prot_in, [Ether() / sa.encrypt(IP(src=B, dst=A) / UDP(sport=40001, dport=40000) /
                                          Raw(b"inbound %d" % i)) for i in range(4)])
    with KeyServer(ctx["root"], conf, ctx["work"], "ks-nosid"):
        with member(ctx, "nosid", gm_conf(port), prot_in) as g:
            def decrypt_only():
                g.wait(lambda: group(g)["state"] == "registered" and
                       g.lcores()["decrypted"] >= 20, timeout=20,
                       what="registration and decryption")
                sa_info = g.tel("/gvpn/sa")[f"0x{TEK_SPI:08x}"]
                assert sa_info["state"] == "decrypt" and sa_info["waiting_for_sender_id"] == 1, \
                    sa_info
                assert group(g)["sender_id_bits"] == 0, group(g)
                time.sleep(0.5)
                assert g.lcores()["encrypted"] == 0, g.lcores()
            tap.check("no Sender-ID from the key server: the GCM TEK decrypts and never "
                      "encrypts (waiting_for_sender_id)", decrypt_only)
            assert g.stop() == 0
        assert not ivs(ctx, "nosid", TEK_SPI)


def test_reference_sid(ctx, tap):
    """The reference key server writes its 4-octet SID_VALUE in host order."""
    port = BASE_PORT + 2
    conf = ks_conf(port, habits="reference", sid_first=5)
    with KeyServer(ctx["root"], conf, ctx["work"], "ks-sid-ref"):
        with member(ctx, "sid-strict", gm_conf(port, gid=GID_SWAPPED)) as g:
            def strict():
                g.wait(lambda: group(g)["state"] == "registered", timeout=20,
                       what="registration")
                sa_info = g.tel("/gvpn/sa")[f"0x{TEK_SPI:08x}"]
                assert sa_info["waiting_for_sender_id"] == 1, sa_info
                assert group(g)["sender_id_bits"] == 0, group(g)
            tap.check("strict: SID_VALUE 05 00 00 00 does not fit 16 bits read big endian, so "
                      "the GCM TEK decrypts only", strict)
            assert g.stop() == 0
        with member(ctx, "sid-ref", gm_conf(port, 'key_server_habits = "reference";',
                                            GID_SWAPPED)) as g:
            def reference():
                registered_sending(g)
                assert group(g)["sender_id"] == 6 and group(g)["sender_id_bits"] == 16, group(g)
            tap.check('key_server_habits = "reference": the little-endian SID_VALUE reads as '
                      "Sender-ID 6 and the TEK encrypts", reference)
            assert g.stop() == 0

    def ivs_carry_6():
        got = ivs(ctx, "sid-ref", TEK_SPI)
        assert got and all(iv >> 48 == 6 for iv in got), [hex(i) for i in got[:4]]
    tap.check("its IVs carry Sender-ID 6", ivs_carry_6)


def test_push_changes_length(ctx, tap):
    """A push with NUMBER_OF_SID_BITS of a new length (and SID values, which
    a member must not use) voids the Sender-ID: the member registers again."""
    port = BASE_PORT + 3
    control = PushControl(os.path.join(ctx["work"], "senders.control.json"))
    conf = ks_conf(port, control.path, atd=0, dtd=2,
                   kek={"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256",
                        "rsa_bits": 2048, "lifetime": 3600})
    with KeyServer(ctx["root"], conf, ctx["work"], "ks-sid-push") as ks:
        with member(ctx, "sid-push", gm_conf(port)) as g:
            def reregisters():
                registered_sending(g)
                before = group(g)
                assert before["sender_id"] == 1 and before["sender_id_bits"] == 16, before
                control.push(ks, rekey=True, sid_bits=12, sid_values=[7])
                g.wait(lambda: group(g)["pushes"] == 1 and group(g)["registrations"] == 2 and
                       group(g)["sender_id_bits"] == 12, timeout=20,
                       what="a pull for a Sender-ID of 12 bits")
                after = group(g)
                assert after["sender_id"] == 2, after  # the key server's next, not 7
                spi = f"0x{TEK_SPI + 1:08x}"
                g.wait(lambda: g.tel("/gvpn/sa")[spi]["state"] == "active", timeout=5,
                       what="the pushed TEK to encrypt")
                g.wait(lambda: len(esp_packets(ctx, "sid-push", TEK_SPI + 1, 10)) >= 10,
                       timeout=10, what="ESP under the pushed TEK")
            tap.check("a push with Sender-IDs of a new length: the member registers again and "
                      "the pushed TEK encrypts under the new Sender-ID", reregisters)
            assert g.stop() == 0

    def new_sid_in_ivs():
        got = ivs(ctx, "sid-push", TEK_SPI + 1)
        assert got and all(iv >> 52 == 2 for iv in got), [hex(i) for i in got[:4]]
    tap.check("the pushed TEK's IVs carry Sender-ID 2 in 12 bits, never the push's SID 7",
              new_sid_in_ivs)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    clear, empty = inputs(work)
    ctx = {"gvpnd": gvpnd, "root": root, "work": work, "clear": clear, "empty": empty}
    tap = Tap()
    test_two_members(ctx, tap)
    test_gmac(ctx, tap)
    test_no_sender_id(ctx, tap)
    test_reference_sid(ctx, tap)
    test_push_changes_length(ctx, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
