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
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, Tap, main_guard, run  # noqa: E402

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


class GcKs:
    """gikev2_ks.py as a process, its actions written to its control file."""

    def __init__(self, root, conf, work, name):
        self.script = os.path.join(root, "test", "ks", "gikev2_ks.py")
        self.path = os.path.join(work, f"{name}.json")
        self.log = os.path.join(work, f"{name}.log")
        self.control = conf["control"]
        with open(self.path, "w") as f:
            json.dump(conf, f)
        open(self.control, "w").close()
        self.proc = None

    def __enter__(self):
        open(self.log, "w").close()
        self.proc = subprocess.Popen(["/usr/bin/python3", self.script, "--config", self.path,
                                      "--log", self.log, "--duration", "3600"],
                                     stdout=open(self.log + ".err", "w"),
                                     stderr=subprocess.STDOUT)
        end = time.time() + 20
        while time.time() < end and '"listening"' not in open(self.log).read():
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)

    def events(self, kind=None):
        with open(self.log) as f:
            ev = [json.loads(x) for x in f if x.endswith("\n")]
        return [e for e in ev if kind is None or e.get("event") == kind]

    def act(self, action, to=None):
        n = len(self.events("sent"))
        with open(self.control, "a") as f:
            f.write((json.dumps({"action": action, "to": to}) if to else action) + "\n")
        end = time.time() + 10
        while time.time() < end:
            if len(self.events("sent")) > n:
                return self.events("sent")[-1]
            time.sleep(0.05)
        raise AssertionError(f"key server did not run {action}")

    def keys(self):
        """SPI -> keymat (hex) of every TEK the key server handed out."""
        k = {}
        for e in self.events():
            for t in e.get("teks", []):
                k[t["spi"]] = t["keymat"]
        return k


def gm_conf(servers, local="127.0.0.1", wan="net_pcap1", extra="", psk=PSK,
            proposals='"aes128-sha256-modp2048-kw128"'):
    ks = ", ".join(f'"127.0.0.1:{p}"' for p in servers)
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
            rc = g.stop()

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


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    ctx = {"gvpnd": gvpnd, "root": root, "work": work}
    tap = Tap()
    test_registration(ctx, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
