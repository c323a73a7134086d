#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Configuration reload on SIGHUP (R18), as TAP.

gvpnd runs three groups: two registered with the test key server (corp,
lab) and one static (site), with clear traffic for corp replayed forever.
The configuration file is edited and gvpnd sent SIGHUP:
- live settings (bypass, ttl, fail-open rules) apply with every SA kept and
  corp's traffic still encrypted;
- a change to lab's local address clears lab's SAs and registers it
  again (a second pull at the key server) while corp and site keep theirs;
- a changed static key installs site's SA again, nothing else moves;
- an invalid file and a file changing a restart-only setting are refused
  whole: nothing changes, gvpnd keeps running;
- a group removed and one added;
- a change to corp's key servers, phase-1 proposals and retry settings keeps
  its SAs with no packet dropped; its next registration uses them.
Every outcome is checked in the log and in /gvpn/config.

Usage: test_reload.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, KeyServer, Tap, main_guard, run  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402

PSK = "group-member-psk-0123456789"
A, B = "192.0.2.10", "198.51.100.20"
KS_PORT = 19000 + os.getpid() % 1000
KEY = "000102030405060708090a0b0c0d0e0f"
KEY2 = "0f0e0d0c0b0a09080706050403020100"
AUTH_KEY = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"


def ks_conf():
    def tek(spi, src, dst):
        return {"spi": spi, "cipher": "aes-cbc", "key_bits": 128, "auth": "hmac-sha1-96",
                "src": src, "dst": dst, "mirror": True, "lifetime": 600}
    return {"listen": "127.0.0.1", "port": KS_PORT, "psk": PSK,
            "groups": [{"id": 1001, "teks": [tek(0x1001, "192.0.2.0/24", "198.51.100.0/24")]},
                       {"id": 1002, "teks": [tek(0x2001, "10.1.0.0/16", "10.2.0.0/16")]}]}


def gdoi_group(name, gid, phase1='"aes256-sha256-modp2048", "aes128-sha1-modp1024"',
               extra=""):
    return f"""{{
  name = "{name}"; id = {gid};
  key_servers = ( "127.0.0.1:{KS_PORT}" );
  local_address = "127.0.0.1";
  psk = "{PSK}";
  phase1 = ( {phase1} );
  retry_interval = 1; retries = 2;
  {extra}
}}"""


def static_group(key=KEY):
    return f"""{{
  name = "site"; id = 3001;
  sas = ( {{ spi = 0x3001; src = "203.0.113.0/25"; dst = "203.0.113.128/25"; mirror = true;
            cipher = "aes-cbc"; key = "{key}"; auth = "hmac-sha1-96";
            auth_key = "{AUTH_KEY}"; }} );
}}"""


def conf(groups=None, bypass='{ protocol = "udp"; dst_port = 848; }', dataplane="",
         mtu=1500):
    if groups is None:
        groups = [gdoi_group("corp", 1001), gdoi_group("lab", 1002), static_group()]
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_pcap1"; mtu = {mtu}; }}
);
dataplane = {{ {dataplane} }};
bypass = ( {bypass} );
groups = ( {", ".join(groups)} );
"""


class Reload:
    """Rewrites gvpnd's file, sends SIGHUP and waits for the outcome."""

    def __init__(self, g):
        self.g = g

    def __call__(self, text):
        before = self.g.tel("/gvpn/config")
        n = before["reloads"] + before["reloads_refused"]
        log_len = len(self.g.output())
        with open(self.g.conf, "w") as f:
            f.write(text)
        self.g.proc.send_signal(signal.SIGHUP)

        def done():
            c = self.g.tel("/gvpn/config")
            return c["reloads"] + c["reloads_refused"] == n + 1
        self.g.wait(done, timeout=10, what="the reload to finish")
        return self.g.tel("/gvpn/config"), self.g.output()[log_len:]


def sas(g):
    """SPI -> (group, state) of the SAs that are not being deleted."""
    return {spi: (s["group"], s["state"]) for spi, s in g.tel("/gvpn/sa").items()
            if s["state"] != "deleting"}


def pulls(ks, gid):
    return ks.state()["groups"][str(gid)]["pulls_served"]


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    pkts = [Ether() / IP(src=A, dst=B, id=i) / UDP(sport=40000, dport=40001) / Raw(b"r %d" % i)
            for i in range(4)]
    clear_in = os.path.join(work, "clear.pcap")
    wrpcap(clear_in, pkts)
    empty = os.path.join(work, "empty.pcap")
    wrpcap(empty, [], linktype=1)
    vdevs = [f"net_pcap0,rx_pcap={clear_in},tx_pcap=/dev/null,infinite_rx=1",
             f"net_pcap1,rx_pcap={empty},tx_pcap=/dev/null"]

    # systemd's readiness socket, as a Type=notify unit has it
    notify_path = os.path.join(work, "notify.sock")
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(10)
    os.environ["NOTIFY_SOCKET"] = notify_path
    with KeyServer(root, ks_conf(), work, "ks-reload") as ks, \
            Gvpnd(gvpnd, conf(), vdevs, work, name="reload") as g:
        del os.environ["NOTIFY_SOCKET"]
        reload = Reload(g)
        start = {}

        def ready():
            msg = notify.recv(4096).decode()
            assert msg.split("\n")[0] == "READY=1", msg
            assert "gvpnd: running:" in g.output(), "READY=1 before the ports and workers run"
            assert g.tel("/gvpn/ports")["wan"]["link"] == "up"
        tap.check("READY=1 on $NOTIFY_SOCKET once ports and workers run (systemd Type=notify)",
                  ready)

        def registers():
            g.wait(lambda: all(grp["state"] in ("registered", "static")
                               for grp in g.tel("/gvpn/groups").values()),
                   timeout=30, what="both key-server groups to register")
            s = sas(g)
            assert set(s) == {"0x00001001", "0x00002001", "0x00003001"}, s
            assert all(st == "active" for _, st in s.values()), s
            c = g.tel("/gvpn/config")
            assert c["file"] == g.conf and c["reloads"] == 0 and c["reloads_refused"] == 0, c
            assert c["loaded_at"] > 0 and c["last_reload_at"] == 0, c
            assert c["last_result"] == "none" and c["last_error"] == "", c
            g.wait(lambda: pulls(ks, 1001) == 1 and pulls(ks, 1002) == 1, what="one pull each")
            start.update(sas=s)
        tap.check("three groups up; /gvpn/config names the file, no reloads yet", registers)

        def live_change():
            before = g.tel("/gvpn/sa")
            text = conf(groups=[gdoi_group("corp", 1001, extra='fail_open = ( { src = "192.0.2.0/24"; '
                                           'dst = "198.51.100.0/24"; } );'),
                                gdoi_group("lab", 1002), static_group()],
                        bypass='{ protocol = "udp"; dst_port = 848; }, { protocol = "ospf"; }',
                        dataplane="ttl = 32;")
            c, log = reload(text)
            assert c["reloads"] == 1 and c["last_error"] == "", c
            want = ("config reloaded: 3 group(s) unchanged, 0 re-registered, 0 added, 0 removed; "
                    "live changes: bypass, dataplane.ttl, groups[corp].fail_open")
            assert want in log, log
            assert c["last_result"] == "applied" and c["groups_unchanged"] == 3, c
            assert c["live_changes"] == "bypass, dataplane.ttl, groups[corp].fail_open", c
            assert "gvpn.ctrl: group corp: fail_open changed (1 rules): applied" in log, log
            assert "dataplane.ttl changed: applies to SAs installed from now on" in log, log
            assert "SA added" not in log and "cleared" not in log, log
            assert sas(g) == start["sas"], sas(g)
            assert g.tel("/gvpn/groups")["corp"]["fail_open_rules"] == 1
            # nothing went back to the key server, and corp's SA keeps encrypting
            assert pulls(ks, 1001) == 1 and pulls(ks, 1002) == 1
            p0 = before["0x00001001"]["packets"]
            g.wait(lambda: g.tel("/gvpn/sa")["0x00001001"]["packets"] > p0 + 10,
                   what="corp's SA to keep encrypting")
        tap.check("live change (bypass, ttl, fail-open rules): applied, every SA kept, "
                  "traffic still encrypted", live_change)
        live = conf(groups=[gdoi_group("corp", 1001, extra='fail_open = ( { src = "192.0.2.0/24"; '
                                       'dst = "198.51.100.0/24"; } );'),
                            gdoi_group("lab", 1002), static_group()],
                    bypass='{ protocol = "udp"; dst_port = 848; }, { protocol = "ospf"; }',
                    dataplane="ttl = 32;")

        def group_change():
            text = live.replace(gdoi_group("lab", 1002),
                                gdoi_group("lab", 1002).replace(
                                    'local_address = "127.0.0.1";',
                                    f'local_address = "127.0.0.1:{KS_PORT + 1000}";'))
            assert text != live
            corp_pkts = g.tel("/gvpn/sa")["0x00001001"]["packets"]
            c, log = reload(text)
            want = ("config reloaded: 2 group(s) unchanged, 1 re-registered, 0 added, 0 removed; "
                    "live changes: none")
            assert c["reloads"] == 2 and want in log, (c, log)
            assert (c["groups_unchanged"], c["groups_reregistered"]) == (2, 1), c
            assert c["live_changes"] == "none", c
            assert "gvpn.ctrl: group lab: local_address changed: SAs cleared, registering again" \
                in log, log
            g.wait(lambda: pulls(ks, 1002) == 2, timeout=20, what="lab's second pull")
            g.wait(lambda: g.tel("/gvpn/groups")["lab"]["state"] == "registered"
                   and sas(g) == start["sas"], timeout=20, what="lab registered again")
            assert pulls(ks, 1001) == 1, "corp registered again"
            full = g.output()
            assert full.count("SA added: group 1002 SPI 0x00002001") == 2, full
            assert full.count("SA added: group 1001 SPI 0x00001001") == 1, full
            assert full.count("SA added: group 3001 SPI 0x00003001") == 1, full
            assert g.tel("/gvpn/sa")["0x00001001"]["packets"] > corp_pkts
            start["conf"] = text
        tap.check("lab's local address changed: lab's SAs cleared and pulled again, "
                  "corp and site untouched", group_change)

        def static_change():
            text = start["conf"].replace(f'key = "{KEY}"', f'key = "{KEY2}"')
            c, log = reload(text)
            assert "gvpn.ctrl: group site: sas changed: SAs cleared, static SAs installed again" \
                in log, log
            assert c["groups_reregistered"] == 1, c
            assert KEY2 not in g.output() and KEY not in g.output(), "a key in the log"
            g.wait(lambda: sas(g) == start["sas"], what="site's SA back")
            full = g.output()
            assert full.count("SA added: group 3001 SPI 0x00003001") == 2, full
            assert pulls(ks, 1001) == 1 and pulls(ks, 1002) == 2
            start["conf"] = text
        tap.check("a static key changed: site's SA installed again, no key in the log",
                  static_change)

        def invalid_refused():
            before = sas(g)
            text = start["conf"].replace("retries = 2;", "retries = 0;", 1)
            c, log = reload(text)
            assert c["reloads_refused"] == 1 and c["reloads"] == 3, c
            assert "config reload refused: " in log and "groups[0].retries: must be 1..100" in log, log
            assert "(running configuration kept)" in log, log
            assert c["last_result"] == "refused", c
            assert c["last_error"] == "line 14: groups[0].retries: must be 1..100", c
            c, log = reload(start["conf"].replace("groups = (", "groups = ((", 1))
            assert c["reloads_refused"] == 2 and c["reloads"] == 3, c
            assert c["last_error"].startswith("line ") and "syntax" in c["last_error"], c
            assert sas(g) == before and g.proc.poll() is None
            assert pulls(ks, 1001) == 1 and pulls(ks, 1002) == 2
        tap.check("an invalid file is refused with file, line and setting; nothing changes",
                  invalid_refused)

        def restart_refused():
            # a live change too: it must not apply either (all or nothing)
            text = start["conf"].replace("ttl = 32;", "ttl = 32; flows = 4096;").replace(
                'fail_open = ( { src = "192.0.2.0/24"; dst = "198.51.100.0/24"; } );', "")
            c, log = reload(text)
            assert c["reloads_refused"] == 3, c
            msg = "config reload refused: dataplane.flows needs a restart"
            assert msg in log and c["last_result"] == "refused", (c, log)
            assert c["last_error"] == "dataplane.flows needs a restart", c
            assert g.tel("/gvpn/groups")["corp"]["fail_open_rules"] == 1, "partly applied"
            c, log = reload(start["conf"].replace("mtu = 1500", "mtu = 1400"))
            assert "config reload refused: ports[1].mtu needs a restart" in log, log
            assert sas(g) == start["sas"] and g.proc.poll() is None
        tap.check("a restart-only setting (dataplane.flows, ports[1].mtu) is refused whole",
                  restart_refused)

        def remove_and_add():
            bypass = '{ protocol = "udp"; dst_port = 848; }, { protocol = "ospf"; }'
            groups = [gdoi_group("corp", 1001, extra='fail_open = ( { src = "192.0.2.0/24"; '
                                 'dst = "198.51.100.0/24"; } );'), static_group(KEY2)]
            c, log = reload(conf(groups=groups, bypass=bypass, dataplane="ttl = 32;"))
            want = ("config reloaded: 1 group(s) unchanged, 1 re-registered, 0 added, 1 removed; "
                    "live changes: none")
            assert want in log, log
            assert c["groups_removed"] == 1 and c["groups_reregistered"] == 1, c
            assert "gvpn.ctrl: group lab: removed: SAs cleared" in log, log
            assert "gvpn.ctrl: group site: moved from groups[2] to groups[1]: SAs cleared" in log, log
            g.wait(lambda: set(sas(g)) == {"0x00001001", "0x00003001"}, what="lab's SA gone")
            assert set(g.tel("/gvpn/groups")) == {"corp", "site"}
            # appended at the end, lab moves no other group
            c, log = reload(conf(groups=groups + [gdoi_group("lab", 1002)], bypass=bypass,
                                 dataplane="ttl = 32;"))
            want = ("config reloaded: 2 group(s) unchanged, 0 re-registered, 1 added, 0 removed; "
                    "live changes: none")
            assert want in log and "gvpn.ctrl: group lab: added" in log, log
            assert c["groups_added"] == 1 and c["reloads"] == 5, c
            g.wait(lambda: g.tel("/gvpn/groups").get("lab", {}).get("state") == "registered"
                   and set(sas(g)) == {"0x00001001", "0x00002001", "0x00003001"}, timeout=20,
                   what="lab back")
            assert pulls(ks, 1001) == 1 and pulls(ks, 1002) == 3
        tap.check("a group removed, then added back: only it and the groups that moved change",
                  remove_and_add)

        def gvpnctl_config():
            ctl = os.path.join(root, "app", "gvpnctl", "gvpnctl")
            r = run([ctl, "-f", g.prefix, "show", "config"], timeout=30)
            assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
            rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in r.stdout.splitlines()[1:])
            assert rows["file"] == g.conf and rows["reloads applied"] == "5", r.stdout
            assert rows["reloads refused"] == "4", r.stdout
            assert rows["last reload"].endswith(" applied"), r.stdout
            assert rows["groups (last applied)"] == "2 unchanged, 0 re-registered, 1 added, " \
                "0 removed", r.stdout
            assert rows["live changes"] == "none" and "last error" not in rows, r.stdout
        tap.check("gvpnctl show config: file, reloads applied and refused, the last result",
                  gvpnctl_config)

        def fifo_key_refused():
            # a FIFO without a writer as key_file: refused at once, never read
            fifo = os.path.join(work, "reload-key.fifo")
            if os.path.exists(fifo):
                os.unlink(fifo)
            os.mkfifo(fifo)
            cur = open(g.conf).read()
            text, n = re.subn(r'\bkey = "[0-9a-f]+";', f'key_file = "{fifo}";', cur, count=1)
            assert n == 1, cur
            before = sas(g)
            t0 = time.monotonic()
            c, log = reload(text)
            took = time.monotonic() - t0
            assert c["last_result"] == "refused" and "is not a regular file" in log, (c, log)
            assert took < 2, f"the reload took {took:.1f} s"
            assert sas(g) == before and g.proc.poll() is None
            assert g.tel("/gvpn/version"), "telemetry does not answer"
        tap.check("a key_file that is a FIFO: the reload is refused at once, nothing changes",
                  fifo_key_refused)

        def lossless_change():
            bypass = '{ protocol = "udp"; dst_port = 848; }, { protocol = "ospf"; }'
            fo = 'fail_open = ( { src = "192.0.2.0/24"; dst = "198.51.100.0/24"; } );'
            corp = gdoi_group("corp", 1001, phase1='"aes128-sha1-modp1024"', extra=fo).replace(
                "retry_interval = 1; retries = 2;", "retry_interval = 3; retries = 5;").replace(
                f'key_servers = ( "127.0.0.1:{KS_PORT}" );',
                f'key_servers = ( "127.0.0.1:{KS_PORT}", "127.0.0.1:{KS_PORT + 1}" );')
            text = conf(groups=[corp, static_group(KEY2), gdoi_group("lab", 1002)], bypass=bypass,
                        dataplane="ttl = 32;")

            def drops():
                return sum(v for k, v in g.lcores().items() if k.startswith("drop_"))
            before, d0, p1001 = sas(g), drops(), pulls(ks, 1001)
            pk = g.tel("/gvpn/sa")["0x00001001"]["packets"]
            c, log = reload(text)
            want = ("config reloaded: 3 group(s) unchanged, 0 re-registered, 0 added, 0 removed; "
                    "live changes: groups[corp].key_servers (next registration)")
            assert want in log and c["last_result"] == "applied", (c, log)
            assert "gvpn.ctrl: group corp: key_servers changed: SAs kept, applies from the next " \
                "registration" in log, log
            assert "SA added" not in log and "cleared" not in log, log
            g.wait(lambda: g.tel("/gvpn/sa")["0x00001001"]["packets"] > pk + 1000,
                   what="corp's SA to keep encrypting")
            assert sas(g) == before and drops() == d0, (sas(g), drops() - d0)
            assert pulls(ks, 1001) == p1001
            assert g.tel("/gvpn/groups")["corp"]["state"] == "registered"
            # the next registration: phase 1 with the new proposal, the SA kept
            n_mm = len([e for e in ks.events() if e["event"] == "mm_proposal_chosen"])
            assert g.tel("/gvpn/group/register,corp")["result"] == "queued"
            g.wait(lambda: pulls(ks, 1001) == p1001 + 1, timeout=20, what="corp's next pull")
            chosen = [e for e in ks.events() if e["event"] == "mm_proposal_chosen"][n_mm:]
            assert chosen and chosen[-1]["encryption"] == "aes-cbc" and \
                chosen[-1]["key_bits"] == 128 and chosen[-1]["hash"] == "sha1" and \
                chosen[-1]["dh_group"] == 2, chosen
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["state"] == "registered",
                   what="corp registered")
            assert sas(g) == before and drops() == d0, (sas(g), drops() - d0)
            full = g.output()
            assert full.count("SA added: group 1001 SPI 0x00001001") == 1, full
            assert "group corp: operator request: register" in full, full
        tap.check("corp's key servers, phase 1 and retry settings changed: SAs kept, zero drops, "
                  "no pull; the next registration runs phase 1 with the new proposal",
                  lossless_change)

        def clean_stop():
            log = g.output()
            assert "failed part way" not in log and "not created" not in log, log
            assert g.stop() == 0
            assert notify.recv(4096).decode() == "STOPPING=1"
        tap.check("gvpnd still stops cleanly (exit 0), STOPPING=1 to systemd", clean_stop)
    notify.close()
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
