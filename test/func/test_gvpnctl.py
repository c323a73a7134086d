#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnctl against a running gvpnd on pcap virtual devices, as TAP.

gvpnd runs config/static-group.conf (with a one-hour SA lifetime) while clear
traffic is replayed forever into its clear port and a fixed set of ESP
packets (one with a bad ICV) arrives on its protected port. Every gvpnctl
command is checked against what the telemetry socket says: tables, units,
--json, requests, watch, the Prometheus exporter, and each error with its
exit status. A stand-in telemetry server plays a future gvpnd that has
/gvpn/sa/clear, and a DPDK process that is not gvpnd. Last, the deployment
helper scripts in their harmless modes (--help, --dry-run).

Usage: test_gvpnctl.py GVPND SOURCE_ROOT WORKDIR
"""
import calendar
import json
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, KeyServer, PushControl, Tap, Telemetry, main_guard, run  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
AUTH_KEY = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3")
A, B = "192.0.2.10", "198.51.100.20"
N_ESP = 5  # good ESP packets into the protected port
LIFETIME = 3700


def sa():
    return SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-CBC", crypt_key=KEY,
                               auth_algo="HMAC-SHA1-96", auth_key=AUTH_KEY, tunnel_header=IP())


class Ctl:
    """Runs gvpnctl; every call is checked for the absence of a traceback."""

    def __init__(self, path, prefix):
        self.path, self.prefix = path, prefix

    def __call__(self, *args, prefix=None, timeout=30, **kw):
        pre = [] if prefix is False else ["-f", prefix or self.prefix]
        r = run([self.path] + pre + list(args), timeout=timeout, **kw)
        assert "Traceback" not in r.stderr + r.stdout, f"traceback:\n{r.stderr}"
        return r


def expect(r, rc, *parts, stream="stderr"):
    text = getattr(r, stream)
    assert r.returncode == rc, f"exit {r.returncode}, want {rc}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    for p in parts:
        assert p in text, f"{p!r} not in {stream}:\n{text}"


def rows(text):
    """Table text -> (header line, {first cell: line})."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[0], {ln.split()[0]: ln for ln in lines[1:]}


def aligned(header, line, col, cell, right=False):
    """The cell sits under its column heading (left or right aligned)."""
    if right:
        end = header.index(col) + len(col)
        assert line[end - len(cell):end] == cell, f"{cell!r} not right-aligned under {col}:\n{header}\n{line}"
    else:
        start = header.index(col)
        assert line[start:start + len(cell)] == cell, f"{cell!r} not under {col}:\n{header}\n{line}"


METRIC = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? '
                    r'(-?[0-9.e+]+|[+-]Inf|NaN)$')


PROMTOOL = "/var/lib/gvpn/prometheus/usr/bin/promtool"


def promtool_check(text):
    """promtool check metrics finds no problem. scripts/setup.sh unpacks it from Debian's
    prometheus package; without it (a machine set up otherwise) the check is skipped."""
    promtool = shutil.which("promtool") or (PROMTOOL if os.access(PROMTOOL, os.X_OK) else None)
    if promtool is None:
        print("# promtool not installed: metrics checked by parse_metrics alone", flush=True)
        return
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        f"promtool check metrics: {r.returncode}\n{r.stdout}{r.stderr}"


def parse_metrics(text):
    """Prometheus text -> {'name{labels}': float}; checks HELP/TYPE and grouping."""
    samples, typed, order = {}, {}, []
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            _, _, name, kind = ln.split(" ", 3)
            assert name not in typed, f"second TYPE for {name}"
            typed[name] = kind
            continue
        if ln.startswith("#") or not ln:
            continue
        m = METRIC.match(ln)
        assert m, f"not a sample line: {ln!r}"
        name = m.group(1)
        assert name in typed, f"{name} has no TYPE line"
        if not order or order[-1] != name:
            assert name not in order, f"samples of {name} are not together"
            order.append(name)
        if typed[name] == "counter":
            assert name.endswith("_total"), f"counter {name} without _total"
        samples[ln.rsplit(" ", 1)[0]] = float(m.group(4))
    return samples


class FakeTelemetry:
    """A DPDK telemetry socket with chosen commands: a future gvpnd, or not gvpnd at all."""

    def __init__(self, runtime, prefix, commands, answers):
        d = os.path.join(runtime, "dpdk", prefix)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o700)
        self.path = os.path.join(d, "dpdk_telemetry.v2")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.commands, self.answers = ["/"] + commands, answers
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.bind(self.path)
        self.s.listen(4)
        self.s.settimeout(0.2)
        self.running = True
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while self.running:
            try:
                c, _ = self.s.accept()
            except OSError:
                continue
            with c:
                c.settimeout(5)
                c.send(json.dumps({"version": "DPDK 22.11.11", "pid": os.getpid(),
                                   "max_output_len": 16384}).encode())
                try:
                    while True:
                        cmd = c.recv(1024).decode()
                        if not cmd:
                            break
                        key = cmd.split(",", 1)[0]
                        value = self.commands if cmd == "/" else self.answers.get(cmd)
                        c.send(json.dumps({key: value}).encode())
                except OSError:
                    pass

    def stop(self, unlink=True):
        """Stops answering; unlink=False leaves a stale socket file behind."""
        self.running = False
        self.t.join()
        self.s.close()
        if unlink:
            os.unlink(self.path)


def setup(work):
    clear = [Ether() / IP(src=A, dst=B, id=i) / UDP(sport=40000 + i, dport=40001) / Raw(b"p" * 200)
             for i in range(4)]
    clear.append(Ether() / IP(src="203.0.113.1", dst="203.0.113.2") / UDP(sport=9, dport=9) / Raw(b"x"))
    inner = [IP(src=B, dst=A, id=100 + i) / UDP(sport=40001, dport=40000) / Raw(b"reply %d" % i)
             for i in range(N_ESP)]
    esp = [Ether() / sa().encrypt(p) for p in inner]
    bad = bytearray(bytes(esp[0]))
    bad[-1] ^= 1
    files = {k: os.path.join(work, f"{k}.pcap") for k in ("clear_in", "prot_in")}
    wrpcap(files["clear_in"], clear)
    wrpcap(files["prot_in"], esp + [Ether(bytes(bad))])
    return files


def main():
    gvpnd_bin, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    gvpnctl = os.path.join(root, "app", "gvpnctl", "gvpnctl")
    absent = f"gvpnctl-absent-{os.getpid()}"
    ctl = Ctl(gvpnctl, absent)

    def runs_as_is():
        assert os.access(gvpnctl, os.X_OK), "not executable"
        first = open(gvpnctl).readline().strip()
        assert first == "#!/usr/bin/python3", first
        # -I -S: no site packages, so only the standard library is there
        r = run(["/usr/bin/python3", "-I", "-S", gvpnctl, "--version"])
        expect(r, 0, "gvpnctl ", stream="stdout")
    tap.check("gvpnctl runs from the source tree on Debian's python3 with the standard library only",
              runs_as_is)

    def not_running():
        r = ctl("show", "sa")
        expect(r, 2, f"gvpnctl: gvpnd is not running (no telemetry socket at /var/run/dpdk/{absent}/"
                     "dpdk_telemetry.v2); is the file prefix right? (-f)")
        assert r.stdout == "", r.stdout
        for args in (["show", "groups", "--json"], ["group", "register", "corp"], ["sa", "clear", "corp"],
                     ["watch", "--count", "1"], ["export", "--once"]):
            r = ctl(*args)
            assert r.returncode == 2 and "gvpnd is not running" in r.stderr, (args, r.returncode, r.stderr)
        if not os.path.exists("/var/run/dpdk/rte/dpdk_telemetry.v2"):
            # $RUNTIME_DIRECTORY belongs to the unit gvpnctl runs in, not to gvpnd's
            r = ctl("show", "sa", prefix=False, env=dict(os.environ, RUNTIME_DIRECTORY="/nonexistent"))
            expect(r, 2, "/var/run/dpdk/rte/dpdk_telemetry.v2")
    tap.check("gvpnd not running (wrong prefix): one clear message, exit 2, for every command", not_running)

    def usage():
        for args in ([], ["show"], ["show", "bogus"], ["group", "fail-open", "corp", "maybe"],
                     ["group", "register"], ["sa"], ["watch", "--count", "x"], ["frobnicate"],
                     ["export", "--listen", "nowhere"], ["watch", "--count", "0"]):
            r = ctl(*args, prefix=False)
            assert r.returncode == 64, (args, r.returncode, r.stderr)
            assert "usage:" in r.stderr or "--" in r.stderr, (args, r.stderr)
        r = ctl("--help", prefix=False)
        expect(r, 0, "show", "group", "watch", "export", "Exit status", stream="stdout")
    tap.check("bad usage: exit 64 with a usage message; --help lists the commands", usage)

    files = setup(work)
    conf = open(os.path.join(root, "config", "static-group.conf")).read()
    assert "lifetime = 0;" in conf
    conf = conf.replace("lifetime = 0;", f"lifetime = {LIFETIME};")
    vdevs = [f"net_pcap0,rx_pcap={files['clear_in']},tx_pcap=/dev/null,infinite_rx=1",
             f"net_pcap1,rx_pcap={files['prot_in']},tx_pcap=/dev/null"]
    g = Gvpnd(gvpnd_bin, conf, vdevs, work, name="gvpnctl")
    ctl = Ctl(gvpnctl, g.prefix)
    with g:
        g.wait(lambda: g.tel("/gvpn/ports")["wan"]["rx_packets"] >= N_ESP + 1 and
               g.tel("/gvpn/ports")["inside"]["rx_packets"] > 100000 and
               g.lcores()["drop_esp_bad_icv"] == 1,
               what="gvpnd to read its input")
        test_running(tap, ctl, g)
        exporter = subprocess.Popen([gvpnctl, "-f", g.prefix, "export", "--listen", "127.0.0.1:0"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = exporter.stderr.readline()
            m = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
            url = f"http://127.0.0.1:{m.group(1)}/metrics" if m else None

            def serves():
                assert url, f"exporter did not say where it listens: {line!r}"
                with urllib.request.urlopen(url, timeout=10) as resp:
                    assert resp.status == 200
                    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                    s = parse_metrics(resp.read().decode())
                # counters were cleared since the ESP came in (test_clear)
                assert s["gvpn_up"] == 1 and s['gvpn_port_rx_packets_total{port="wan"}'] == 0
            tap.check("export --listen: serves /metrics over HTTP in the Prometheus text format", serves)
            rc = g.stop()
            tap.result(rc == 0, "gvpnd stops cleanly", f"exit status {rc}: {g.output()}")

            def down():
                assert url
                with urllib.request.urlopen(url, timeout=10) as resp:
                    s = parse_metrics(resp.read().decode())
                assert s == {"gvpn_up": 0.0}, s
                exporter.terminate()
                rc = exporter.wait(timeout=10)
                err = exporter.stderr.read()
                assert rc == 0, f"exporter exit {rc}"
                assert "gvpnd is not running" in err and "Traceback" not in err, err
            tap.check("export --listen: gvpnd gone -> gvpn_up 0 and the reason logged once; "
                      "SIGTERM ends it with status 0", down)
        finally:
            if exporter.poll() is None:
                exporter.kill()
                exporter.wait()

    def after_stop():
        r = ctl("show", "sa")
        expect(r, 2, "gvpnd is not running (no telemetry socket at")
        r = ctl("export", "--once")
        expect(r, 2, "gvpnd is not running")
        assert parse_metrics(r.stdout) == {"gvpn_up": 0.0}, r.stdout
    tap.check("gvpnd stopped: show exits 2, export --once prints gvpn_up 0 and exits 2", after_stop)

    test_key_server_group(tap, gvpnctl, gvpnd_bin, root, work)
    test_key_servers(tap, gvpnctl, gvpnd_bin, root, work)
    test_many_sas(tap, gvpnctl, gvpnd_bin, work)
    test_coalesced_requests(tap, gvpnctl, gvpnd_bin, work)
    test_rule_hits_and_sa_drops(tap, gvpnctl, gvpnd_bin, root, work)
    test_fake(tap, gvpnctl, work)
    test_key_servers_truncated(tap, gvpnctl, work)
    test_deploy(tap, root)
    return tap.done()


PSK = "group-member-psk-0123456789"
KS_PORT = 21000 + os.getpid() % 1000 * 2


def ks_group_conf(port):
    """gvpnd with a key-server group 'corp' and a static group 'lab'."""
    return f"""
ports = ( {{ name = "inside"; role = "clear"; device = "net_null0"; peer = "wan"; }},
          {{ name = "wan"; role = "protected"; device = "net_null1"; }} );
bypass = ( {{ protocol = "udp"; dst_port = 848; }} );
groups = (
  {{ name = "corp"; id = 1001; key_servers = ( "127.0.0.1:{port}" ); local_address = "127.0.0.1";
     psk = "{PSK}"; phase1 = ( "aes128-sha1-modp2048" ); retry_interval = 1; retries = 2;
     fail_open = ( {{ src = "10.9.0.0/16"; dst = "10.8.0.0/16"; vlan = 42; }} ); }},
  {{ name = "lab"; id = 1002;
     sas = ( {{ spi = 4097; src = "{A}/32"; dst = "{B}/32"; cipher = "aes-cbc"; key = "{KEY.hex()}";
               auth = "hmac-sha1-96"; auth_key = "{AUTH_KEY.hex()}"; }} ); }} );
"""


def secrets_of(ks):
    """Every key the key server knows (hex), none of which gvpnctl may ever print."""
    st = ks.state()
    out = {v for sa in st["phase1"] for k, v in sa.items()
           if k.startswith("skeyid") or k == "enc_key"}
    kek = st["groups"]["1001"]["kek"]
    out |= {kek["key"], kek["iv"]}
    return {s for s in out if s}


def test_key_server_group(tap, gvpnctl, gvpnd_bin, root, work):
    """A group registered with the test key server, which pushes once: show kek, show ike."""
    control = PushControl(os.path.join(work, "ctl-ks.control.json"))
    ks_conf = {"listen": "127.0.0.1", "port": KS_PORT, "psk": PSK, "control_file": control.path,
               "groups": [{"id": 1001, "atd": 1, "dtd": 3,
                           "kek": {"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256",
                                   "rsa_bits": 2048, "ack": "sha256", "lifetime": 3600},
                           "teks": [{"spi": 0x3000, "cipher": "aes-cbc", "key_bits": 128,
                                     "auth": "hmac-sha1-96", "src": "192.0.2.0/24",
                                     "dst": "198.51.100.0/24", "protocol": 17,
                                     "dst_port": 5000, "mirror": True, "lifetime": 600}]}]}
    g = Gvpnd(gvpnd_bin, ks_group_conf(KS_PORT), ["net_null0,no-rx=1", "net_null1,no-rx=1"], work,
              name="ctl-ks")
    ctl = Ctl(gvpnctl, g.prefix)
    with KeyServer(root, ks_conf, work, "ctl-ksd") as ks, g:
        g.wait(lambda: g.tel("/gvpn/groups")["corp"]["state"] == "registered", timeout=20,
               what="registration")
        seq0 = g.tel("/gvpn/groups")["corp"]["push_seq"]
        control.push(ks, rekey=True)
        g.wait(lambda: g.tel("/gvpn/groups")["corp"]["pushes"] == 1 and
               g.tel("/gvpn/groups")["corp"]["acks_sent"] == 1, what="the push and its ack")
        secrets = secrets_of(ks)
        assert secrets, "the key server shows no keys to look for"

        def no_secret(text):
            low = text.lower()
            for sec in secrets:
                assert sec.lower() not in low, "a key is in gvpnctl's output"

        def show_kek():
            kek = ks.state()["groups"]["1001"]["kek"]
            r = ctl("show", "kek")
            expect(r, 0, "GROUP corp", stream="stdout")
            assert "lab" not in r.stdout, r.stdout  # static keys: no KEK
            lines = {ln.strip().split("  ")[0]: ln.split("  ", 2)[-1].strip()
                     for ln in r.stdout.splitlines()[1:] if ln.strip()}
            spi = kek["spi"]
            assert lines["KEK SPI"] == " ".join(spi[i:i + 8] for i in range(0, 32, 8)), lines
            assert lines["algorithm"] == "aes-cbc-128", lines
            assert lines["signature"] == "rsa-2048 sha256", lines
            # the key server sends the KEK's lifetime left: 3600 s or a little less
            m = re.fullmatch(r"(1h00m00s|59m\d\ds), (\d+)m(\d+)s left", lines["lifetime"])
            assert m and 3500 < int(m.group(2)) * 60 + int(m.group(3)) <= 3600, lines["lifetime"]
            assert lines["pushes accepted"] == "1" and lines["acks sent"] == "1", lines
            assert int(lines["last SEQ"]) > seq0, (lines, seq0)
            assert lines["pushes dropped"] == "none", lines
            assert lines["multicast group"] == "none (pushes by unicast)", lines
            no_secret(r.stdout)
            r = ctl("show", "kek", "corp", "--json")
            expect(r, 0, stream="stdout")
            j = json.loads(r.stdout)
            assert set(j) == {"corp"}, j
            k = j["corp"]
            assert k["spi"] == spi and k["algorithm"] == "aes-cbc-128", k
            assert k["sig_hash"] == "sha256" and k["sig_algorithm"] == "rsa", k
            assert k["sig_key_bits"] == 2048 and 3500 < k["lifetime_s"] <= 3600, k
            assert k["pushes"] == 1 and k["acks_sent"] == 1 and k["last_seq"] > seq0, k
            assert k["push_group"] == "" and k["push_drop_bad_signature"] == 0, k
            no_secret(r.stdout)
            r = ctl("show", "kek", "corp")
            expect(r, 0, "GROUP corp", "aes-cbc-128", stream="stdout")
        tap.check("show kek [GROUP]: the KEK's SPI, algorithm, signature, lifetime left, pushes "
                  "accepted, last SEQ, acks, drops and multicast group; no key", show_kek)

        def show_ike():
            p1 = [sa for sa in ks.state()["phase1"] if sa.get("state") == "established"]
            assert len(p1) == 1, p1
            p1 = p1[0]
            r = ctl("show", "ike")
            expect(r, 0, stream="stdout")
            head, lines = rows(r.stdout)
            for col in ("GROUP", "KEY SERVER", "STATE", "ENCRYPTION", "HASH", "DH", "LIFETIME",
                        "LEFT", "COOKIES (I/R)"):
                assert col in head, (col, head)
            assert set(lines) == {"corp"}, lines
            cells = lines["corp"].split()
            assert cells[1:6] == [f"127.0.0.1:{KS_PORT}", "established", "aes-128", "sha1", "14"], cells
            assert cells[-1] == f"{p1['icookie']}/{p1['rcookie']}", (cells, p1)
            no_secret(r.stdout)
            r = ctl("show", "ike", "corp", "--json")
            expect(r, 0, stream="stdout")
            i = json.loads(r.stdout)["corp"]
            assert i["state"] == "established" and i["key_server"] == f"127.0.0.1:{KS_PORT}", i
            assert i["encryption"] == "aes-128" and i["hash"] == "sha1" and i["dh_group"] == 14, i
            assert i["icookie"] == p1["icookie"] and i["rcookie"] == p1["rcookie"], (i, p1)
            assert i["lifetime_s"] == p1["lifetime"], (i, p1)
            assert 0 < i["expires_in_s"] <= i["lifetime_s"], i
            no_secret(r.stdout)
        tap.check("show ike [GROUP]: the phase-1 SA: key server, state, algorithms, DH group, "
                  "lifetime left and the key server's own cookies; no key", show_ike)

        def soft_lifetime():
            grp = g.tel("/gvpn/groups")["corp"]
            sas = {k: v for k, v in g.tel("/gvpn/sa").items() if v["group"] == "corp"}
            r = ctl("show", "sa")
            expect(r, 0, stream="stdout")
            head, lines = rows(r.stdout.split("\n\n")[0])
            softs = {spi: lines[spi][head.index("SOFT") - 12:head.index("SOFT") + 4].split()[-1]
                     for spi in sas}
            for spi, sa in sas.items():
                if sa["remaining_s"] <= grp["rekey_in_s"]:  # ends before the member asks
                    assert softs[spi] == "-", (spi, sa, softs)
                    continue
                hms = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", softs[spi])
                assert hms and softs[spi], (spi, softs)
                left = sum(int(v or 0) * k for v, k in zip(hms.groups(), (3600, 60, 1)))
                # the group's re-registration time, read a moment before
                assert grp["rekey_in_s"] - 3 <= left <= grp["rekey_in_s"], (left, grp)
                assert left < sa["remaining_s"], (left, sa)
            assert any(v != "-" for v in softs.values()), softs
        tap.check("show sa: a key-server group's active SA shows its soft lifetime (when the "
                  "member asks for new keys) below the hard one", soft_lifetime)

        def show_policy():
            r = ctl("show", "policy")
            expect(r, 0, stream="stdout")
            head, lines = rows(r.stdout)
            for col in ("RULE", "KIND", "GROUP", "SRC", "DST", "PROTO", "SPORT", "DPORT", "VLAN",
                        "BOTH WAYS", "STATUS", "HITS", "SAS"):
                assert col in head, (col, head)
            cells = {rank: ln.split() for rank, ln in lines.items()}
            kinds = [c[1] for _, c in sorted(cells.items(), key=lambda kv: int(kv[0]))]
            # in the rule table's order: bypass, TEK policies, fail-open rules
            assert kinds == ["bypass", "tek", "tek", "fail-open"], kinds
            by_kind = {}
            for c in cells.values():
                by_kind.setdefault(c[1], []).append(c)
            assert by_kind["bypass"][0][2:10] == ["-", "any", "any", "udp", "any", "848", "any",
                                                  "yes"], by_kind
            teks = {c[2]: c for c in by_kind["tek"]}
            # the push's new SA and the one before it (until it expires) serve the same policy
            corp_spis = sorted(spi for spi, sa in g.tel("/gvpn/sa").items() if sa["group"] == "corp")
            assert len(corp_spis) == 2, corp_spis
            assert teks["corp"][3:12] == ["192.0.2.0/24", "198.51.100.0/24", "udp", "any", "5000",
                                          "any", "yes", "both", "0"], teks
            assert sorted(teks["corp"][12:]) == corp_spis, (teks, corp_spis)
            assert teks["lab"][3:13] == [f"{A}/32", f"{B}/32", "any", "any", "any", "any", "no",
                                         "both", "0", "0x00001001"], teks
            # the fail-open rule of VLAN 42 alone
            assert by_kind["fail-open"][0][2:12] == ["corp", "10.9.0.0/16", "10.8.0.0/16", "any",
                                                     "any", "any", "42", "yes", "inactive",
                                                     "0"], by_kind
            r = ctl("show", "policy", "corp", "--json")
            expect(r, 0, stream="stdout")
            j = json.loads(r.stdout)
            assert sorted(v["kind"] for v in j.values()) == ["fail_open", "tek"], j
            tek = [v for v in j.values() if v["kind"] == "tek"][0]
            assert sorted(tek.pop("spis").split()) == corp_spis, tek
            assert tek == {"kind": "tek", "group": "corp", "src": "192.0.2.0/24",
                           "dst": "198.51.100.0/24", "family": "ipv4", "protocol": 17,
                           "src_port": "any",
                           "dst_port": "5000", "vlan": 0, "both_ways": 1, "direction": "both",
                           "packets": 0, "hits": 0}, tek
            r = ctl("show", "policy", "lab")
            expect(r, 0, stream="stdout")
            _, lines = rows(r.stdout)
            assert [ln.split()[1] for ln in lines.values()] == ["tek"], lines
            r = ctl("show", "policy", "nope")
            expect(r, 1, "gvpnctl: gvpnd: unknown group 'nope' (groups: corp, lab)")
        tap.check("show policy [GROUP]: bypass, TEK selectors with protocol, ports and their SAs, "
                  "fail-open rules with their state and VLAN, in the rule table's order",
                  show_policy)

        def clear_keeps_state():
            before = g.tel("/gvpn/kek")["corp"]
            assert before["pushes"] == 1 and g.tel("/gvpn/groups")["corp"]["registrations"] >= 1
            r = ctl("clear", "counters")
            expect(r, 0, "counters cleared", stream="stdout")
            after = g.tel("/gvpn/kek")["corp"]
            assert after["pushes"] == 0 and after["acks_sent"] == 0, after
            assert after["last_seq"] == before["last_seq"] and after["spi"] == before["spi"], after
            grp = g.tel("/gvpn/groups")["corp"]
            assert grp["registrations"] == 0 and grp["rx_datagrams"] == 0, grp
            assert grp["state"] == "registered" and grp["push_seq"] == before["last_seq"], grp
            control.push(ks, rekey=True)
            g.wait(lambda: g.tel("/gvpn/kek")["corp"]["pushes"] == 1, what="the next push")
            r = ctl("show", "kek", "corp")
            expect(r, 0, stream="stdout")
            assert re.search(r"pushes accepted\s+1\n", r.stdout), r.stdout
        tap.check("clear counters: a group's pushes, acks and registrations count from zero; "
                  "its KEK, state and last SEQ stay; the next push counts 1", clear_keeps_state)

        def export_kek():
            r = ctl("export", "--once")
            expect(r, 0, stream="stdout")
            m = parse_metrics(r.stdout)
            k = g.tel("/gvpn/kek")["corp"]
            assert m['gvpn_group_kek{group="corp"}'] == 1, m
            info = [key for key in m if key.startswith("gvpn_group_kek_info{")]
            assert info == [f'gvpn_group_kek_info{{group="corp",spi="{k["spi"]}",algorithm="aes-cbc-128",'
                            'sig_algorithm="rsa",sig_hash="sha256",sig_key_bits="2048"}'], info
            assert 3000 < m['gvpn_group_kek_remaining_seconds{group="corp"}'] <= 3600, m
            assert m['gvpn_group_pushes_total{group="corp"}'] == k["pushes"] >= 1, m
            assert m['gvpn_group_push_seq{group="corp"}'] == k["last_seq"], m
            assert m['gvpn_group_push_acks_total{group="corp"}'] == k["acks_sent"], m
            assert m['gvpn_group_push_drops_total{group="corp",reason="bad_signature"}'] == 0, m
            assert m['gvpn_group_ike_established{group="corp"}'] == 1, m
            assert 0 < m['gvpn_group_ike_remaining_seconds{group="corp"}'] <= 86400, m
            assert not any('group="lab"' in key and "kek" in key for key in m), m
            no_secret(r.stdout)
            promtool_check(r.stdout)
        tap.check("export: the KEK (SPI, algorithms, lifetime left), pushes, last SEQ, acks, push "
                  "drops by reason and the phase-1 SA of a key-server group; no key", export_kek)

        def by_group_refusals():
            for what in ("kek", "ike"):
                r = ctl("show", what, "lab")
                expect(r, 1, "gvpnctl: gvpnd: group 'lab' has no key servers")
                r = ctl("show", what, "nope")
                expect(r, 1, "gvpnctl: gvpnd: unknown group 'nope' (groups: corp, lab)")
            r = ctl("show", "flows", "corp")
            expect(r, 64, "show flows takes no GROUP")
        tap.check("show kek|ike GROUP: a static or unknown group is refused with the reason, exit 1; "
                  "a GROUP where none is taken: exit 64", by_group_refusals)

        def debug():
            mark = len(g.output())
            r = ctl("debug", "corp", "on")
            expect(r, 0, "corp: debug on: each GDOI/IKE message in and out is logged",
                   stream="stdout")
            assert g.tel("/gvpn/groups")["corp"]["debug"] == "on"
            g.wait(lambda: "group corp: operator request: debug on" in g.output()[mark:],
                   what="the request logged")
            r = ctl("group", "register", "corp")
            expect(r, 0, stream="stdout")
            ks_at = f"127.0.0.1:{KS_PORT}"
            pull = re.compile(rf"gvpn\.gdoi: group corp: debug: (out to|in from) {ks_at}: "
                              r"GROUPKEY-PULL \(32\), first payload HASH \(8\), message ID "
                              r"[0-9a-f]{8}, encrypted, \d+ bytes$", re.M)
            g.wait(lambda: {m.group(1) for m in pull.finditer(g.output()[mark:])} ==
                   {"out to", "in from"}, timeout=20, what="the pull logged in and out")
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["state"] == "registered", timeout=20,
                   what="registration")
            control.push(ks, rekey=True)
            g.wait(lambda: re.search(r"debug: out to \S+: GROUPKEY-PUSH-ACK \(35\)",
                                     g.output()[mark:]), what="the push's ack logged")
            assert re.search(r"debug: in from \S+: GROUPKEY-PUSH \(33\), first payload \w+ "
                             r"\(\d+\), message ID [0-9a-f]{8}(, encrypted)?, \d+ bytes",
                             g.output()[mark:]), g.output()[mark:]
            no_secret(g.output())
            r = ctl("debug", "corp", "off")
            expect(r, 0, "corp: debug off", stream="stdout")
            assert g.tel("/gvpn/groups")["corp"]["debug"] == "off"
            g.wait(lambda: "group corp: operator request: debug off" in g.output(),
                   what="off logged")
            quiet = len(g.output())
            pushes = g.tel("/gvpn/groups")["corp"]["pushes"]
            control.push(ks, rekey=True)
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["pushes"] > pushes, what="the next push")
            assert "debug: " not in g.output()[quiet:], g.output()[quiet:]
            r = ctl("debug", "lab", "on")
            expect(r, 1, "gvpnctl: gvpnd: group 'lab' has no key servers")
            r = ctl("debug", "nope", "on")
            expect(r, 1, "gvpnctl: gvpnd: unknown group 'nope' (groups: corp, lab)")
        tap.check("debug GROUP on|off: each GDOI/IKE message in and out logged by exchange, "
                  "first payload and length while on, none after off; no key; a static or "
                  "unknown group refused", debug)
        assert g.stop() == 0


def free_udp_port():
    """A UDP port on 127.0.0.1 that nothing is bound to now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key_servers_conf(servers, local):
    """gvpnd with key-server group 'corp' (servers in order of preference) and static 'lab'."""
    ks = ", ".join(f'"127.0.0.1:{p}"' for p in servers)
    return f"""
ports = ( {{ name = "inside"; role = "clear"; device = "net_null0"; peer = "wan"; }},
          {{ name = "wan"; role = "protected"; device = "net_null1"; }} );
bypass = ( {{ protocol = "udp"; dst_port = 848; }} );
groups = (
  {{ name = "corp"; id = 1001; key_servers = ( {ks} ); local_address = "{local}";
     psk = "{PSK}"; phase1 = ( "aes128-sha1-modp2048" ); retry_interval = 1; retries = 1; }},
  {{ name = "lab"; id = 1002;
     sas = ( {{ spi = 4097; src = "{A}/32"; dst = "{B}/32"; cipher = "aes-cbc"; key = "{KEY.hex()}";
               auth = "hmac-sha1-96"; auth_key = "{AUTH_KEY.hex()}"; }} ); }} );
"""


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def iso_between(cell, start, end):
    """An ISO 8601 UTC time shown by gvpnctl, within [start, end] (unix time, to the second)."""
    assert ISO.match(cell), cell
    t = calendar.timegm(time.strptime(cell, "%Y-%m-%dT%H:%M:%SZ"))
    assert int(start) <= t <= end + 1, (cell, start, end)
    return t


def key_server_rows(text):
    """show key-servers -> {group: (member address line, {preference: cells})}."""
    out, group = {}, None
    for ln in text.splitlines():
        if ln.startswith("GROUP "):
            group = ln.split()[1]
            out[group] = (ln, {})
        elif ln.strip() and group and not ln.strip().startswith("#"):
            cells = re.split(r"\s{2,}", ln.strip())
            out[group][1][cells[0]] = cells
    return out


def test_key_servers(tap, gvpnctl, gvpnd_bin, root, work):
    """Two key servers, the first silent: show key-servers has it failed (when, why) and the
    second current, and the member's own address; show groups has the last registration and
    rekey; a reload that makes a new client keeps the counts; the exporter has it all."""
    control = PushControl(os.path.join(work, "ctl-kss.control.json"))
    dead, live = KS_PORT + 1, KS_PORT
    ks_conf = {"listen": "127.0.0.1", "port": live, "psk": PSK, "control_file": control.path,
               "groups": [{"id": 1001,
                           "kek": {"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256",
                                   "rsa_bits": 2048, "lifetime": 3600},
                           "teks": [{"spi": 0x3100, "cipher": "aes-cbc", "key_bits": 128,
                                     "auth": "hmac-sha1-96", "src": "192.0.2.0/24",
                                     "dst": "198.51.100.0/24", "mirror": True, "lifetime": 600}]}]}
    g = Gvpnd(gvpnd_bin, key_servers_conf([dead, live], "127.0.0.1"),
              ["net_null0,no-rx=1", "net_null1,no-rx=1"], work, name="ctl-kss")
    ctl = Ctl(gvpnctl, g.prefix)
    start = time.time()
    with KeyServer(root, ks_conf, work, "ctl-kssd") as ks, g:
        g.wait(lambda: g.tel("/gvpn/groups")["corp"]["state"] == "registered", timeout=30,
               what="registration through the second key server")
        registered = time.time()

        def members():
            return set(ks.state()["groups"]["1001"]["members"])

        def show_key_servers():
            r = ctl("show", "key-servers")
            expect(r, 0, stream="stdout")
            kss = key_server_rows(r.stdout)
            assert set(kss) == {"corp"}, r.stdout  # a static group has no key servers
            head, rows_ = kss["corp"]
            addr = re.fullmatch(r"GROUP corp  member address (127\.0\.0\.1:\d+)", head)
            assert addr and addr.group(1) in members(), (head, members())
            assert set(rows_) == {"1", "2"}, rows_
            first, second = rows_["1"], rows_["2"]
            assert first[1:4] == [f"127.0.0.1:{dead}", "failed", "0"], first
            assert first[4] == "-" and first[5] == "1", first
            iso_between(first[6], start, registered)
            assert first[7] == "no answer", first
            assert second[1:4] == [f"127.0.0.1:{live}", "current", "1"], second
            iso_between(second[4], start, registered)
            assert second[5:] == ["0", "-", "-"], second
            r = ctl("show", "key-servers", "corp", "--json")
            expect(r, 0, stream="stdout")
            j = json.loads(r.stdout)["corp"]
            assert j["local_address"] == addr.group(1) and j["local_bound"] == "yes", j
            assert j["key_server"] == f"127.0.0.1:{live}", j
            assert j["1"]["status"] == "failed" and j["1"]["error"] == "no answer", j
            assert int(start) <= j["1"]["failed_at"] <= registered and j["1"]["failures"] == 1, j
            assert j["2"]["status"] == "current" and j["2"]["registrations"] == 1, j
            assert int(start) <= j["2"]["registered_at"] <= registered, j
            assert j["2"]["error"] == "" and j["2"]["failed_at"] == 0, j
            r = ctl("show", "key-servers", "lab")
            expect(r, 1, "gvpnctl: gvpnd: group 'lab' has no key servers")
            r = ctl("show", "key-servers", "nope")
            expect(r, 1, "gvpnctl: gvpnd: unknown group 'nope' (groups: corp, lab)")
        tap.check("show key-servers [GROUP]: the silent first key server failed (when, why), the "
                  "second current with its registration; the member's own address as the key "
                  "server saw it; a static or unknown group refused", show_key_servers)

        def show_groups_times():
            r = ctl("show", "groups")
            expect(r, 0, stream="stdout")
            head, lines = rows(r.stdout)
            for col in ("PUSHES", "LAST REGISTRATION", "LAST REKEY"):
                assert col in head, (col, head)
            aligned(head, lines["corp"], "REGS", "1", right=True)
            aligned(head, lines["corp"], "FAILS", "1", right=True)
            aligned(head, lines["corp"], "PUSHES", "0", right=True)
            reg = lines["corp"][head.index("LAST REGISTRATION"):].split()[0]
            iso_between(reg, start, registered)
            aligned(head, lines["corp"], "LAST REKEY", "-")
            aligned(head, lines["lab"], "LAST REGISTRATION", "-")
            before = time.time()
            control.push(ks, rekey=True)
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["pushes"] == 1, what="the push")
            grp = g.tel("/gvpn/groups")["corp"]
            assert int(before) <= grp["last_rekey_at"] <= time.time(), grp
            r = ctl("show", "groups")
            head, lines = rows(r.stdout)
            aligned(head, lines["corp"], "PUSHES", "1", right=True)
            iso_between(lines["corp"][head.index("LAST REKEY"):].split()[0], before, time.time())
        tap.check("show groups: pushes, last registration and last rekey (ISO 8601, UTC)",
                  show_groups_times)

        def export_key_servers():
            r = ctl("export", "--once")
            expect(r, 0, stream="stdout")
            m = parse_metrics(r.stdout)
            grp = g.tel("/gvpn/groups")["corp"]
            kss = g.tel("/gvpn/keyservers")["corp"]
            assert m['gvpn_group_last_registration_timestamp_seconds{group="corp"}'] == \
                grp["last_registration_at"] > 0, m
            assert m['gvpn_group_last_rekey_timestamp_seconds{group="corp"}'] == \
                grp["last_rekey_at"] > 0, m
            assert m['gvpn_group_registrations_total{group="corp"}'] == 1, m
            assert m['gvpn_group_pushes_total{group="corp"}'] == 1, m
            assert m[f'gvpn_group_local_address_info{{group="corp",local_address='
                     f'"{kss["local_address"]}"}}'] == 1, m
            d, lv = f'group="corp",key_server="127.0.0.1:{dead}"', \
                f'group="corp",key_server="127.0.0.1:{live}"'
            for state in ("untried", "current", "failed", "standby"):
                assert m[f'gvpn_key_server_state{{{d},state="{state}"}}'] == (state == "failed"), m
                assert m[f'gvpn_key_server_state{{{lv},state="{state}"}}'] == (state == "current")
            assert m[f"gvpn_key_server_failures_total{{{d}}}"] == 1, m
            assert m[f"gvpn_key_server_registrations_total{{{lv}}}"] == 1, m
            assert m[f"gvpn_key_server_last_failure_timestamp_seconds{{{d}}}"] == \
                kss["1"]["failed_at"] > 0, m
            assert m[f"gvpn_key_server_last_registration_timestamp_seconds{{{lv}}}"] == \
                kss["2"]["registered_at"] > 0, m
            assert m[f"gvpn_key_server_last_registration_timestamp_seconds{{{d}}}"] == 0, m
            assert not any('group="lab"' in k and "key_server" in k for k in m), m
            promtool_check(r.stdout)
        tap.check("export: last registration and rekey times, each key server's state, "
                  "registrations, failures and their times, the member's address; promtool "
                  "finds no problem", export_key_servers)

        def reload_keeps_counts():
            before = g.tel("/gvpn/groups")["corp"]
            assert before["registrations"] == 1 and before["pushes"] == 1, before
            port = free_udp_port()
            with open(g.conf, "w") as f:
                f.write(key_servers_conf([dead, live], f"127.0.0.1:{port}"))
            g.proc.send_signal(signal.SIGHUP)
            g.wait(lambda: g.tel("/gvpn/config")["reloads"] == 1, what="the reload")
            assert g.tel("/gvpn/config")["groups_reregistered"] == 1, g.tel("/gvpn/config")
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["registrations"] == 2 and
                   g.tel("/gvpn/groups")["corp"]["state"] == "registered", timeout=30,
                   what="the new client's registration")
            grp = g.tel("/gvpn/groups")["corp"]
            assert grp["pushes"] == 1 and grp["failures"] == 2, grp  # the first server again
            assert grp["last_rekey_at"] == before["last_rekey_at"], (grp, before)
            assert grp["last_registration_at"] >= before["last_registration_at"], (grp, before)
            assert grp["local_address"] == f"127.0.0.1:{port}", grp
            kss = key_server_rows(ctl("show", "key-servers").stdout)
            assert kss["corp"][0] == f"GROUP corp  member address 127.0.0.1:{port}", kss
            assert f"127.0.0.1:{port}" in members(), members()
            # the new client's own record: one failure on the first, one registration on the second
            assert kss["corp"][1]["1"][2:4] == ["failed", "0"], kss
            assert kss["corp"][1]["1"][5] == "1", kss
            assert kss["corp"][1]["2"][2:4] == ["current", "1"], kss
            r = ctl("show", "groups")
            head, lines = rows(r.stdout)
            aligned(head, lines["corp"], "REGS", "2", right=True)
            aligned(head, lines["corp"], "PUSHES", "1", right=True)
        tap.check("a reload that gives the group a new client (new local_address): registrations, "
                  "failures and pushes count on, the last rekey time stays; the new address shown",
                  reload_keeps_counts)

        def clear_keeps_times():
            grp = g.tel("/gvpn/groups")["corp"]
            r = ctl("clear", "counters")
            expect(r, 0, "counters cleared", stream="stdout")
            after = g.tel("/gvpn/groups")["corp"]
            assert after["registrations"] == 0 and after["pushes"] == 0, after
            assert after["failures"] == 0, after
            assert after["last_registration_at"] == grp["last_registration_at"], (after, grp)
            assert after["last_rekey_at"] == grp["last_rekey_at"], (after, grp)
            kss = g.tel("/gvpn/keyservers")["corp"]
            assert kss["1"]["failures"] == 0 and kss["2"]["registrations"] == 0, kss
            assert kss["1"]["failed_at"] > 0 and kss["2"]["registered_at"] > 0, kss
            assert kss["1"]["status"] == "failed" and kss["2"]["status"] == "current", kss
        tap.check("clear counters: registrations, failures, pushes and each key server's counts "
                  "from zero; the times of the last registration, rekey and failure and the "
                  "statuses stay", clear_keeps_times)
        assert g.stop() == 0


def test_clear(tap, ctl, g):
    """clear counters: every counter counts from zero; the workers' own are not written."""
    def clear():
        before_sa = g.tel("/gvpn/sa")["0x00001001"]
        assert g.lcores()["drop_esp_bad_icv"] == 1 and before_sa["decrypted_packets"] == N_ESP
        start = time.time()
        r = ctl("clear", "counters")
        expect(r, 0, "counters cleared at", stream="stdout")
        cfg = g.tel("/gvpn/config")
        assert start - 1 <= cfg["counters_cleared_at"] <= time.time() + 1, cfg
        # nothing arrives on the protected port any more: its counts stay at zero
        total = g.lcores()
        assert total["drop_esp_bad_icv"] == 0 and total["decrypted"] == 0, total
        wan = g.tel("/gvpn/ports")["wan"]
        assert wan["rx_packets"] == 0 and wan["rx_bytes"] == 0, wan
        sa = g.tel("/gvpn/sa")["0x00001001"]
        assert sa["decrypted_packets"] == 0 and sa["decrypted_bytes"] == 0, sa
        assert sa["installed_at"] == before_sa["installed_at"], (sa, before_sa)
        # clear traffic runs on: counted again from zero, far below what it was
        g.wait(lambda: g.tel("/gvpn/sa")["0x00001001"]["encrypted_packets"] > 0,
               what="encryption to count again")
        assert g.tel("/gvpn/sa")["0x00001001"]["encrypted_packets"] < before_sa["encrypted_packets"]
        r = ctl("show", "counters")
        expect(r, 0, stream="stdout")
        assert "esp_bad_icv" not in r.stdout, r.stdout
        r = ctl("show", "config")
        expect(r, 0, "counters cleared", stream="stdout")
        r = ctl("clear", "counters", "now")
        assert r.returncode == 64, (r.returncode, r.stderr)
    tap.check("clear counters: drops, ports, SAs count from zero (gvpnd notes when); traffic is "
              "counted again at once; the SA's installation time stays", clear)


def test_many_sas(tap, gvpnctl, gvpnd_bin, work):
    """More SAs than one telemetry reply holds: /gvpn/sa pages, gvpnctl reads them all."""
    n = 200
    groups = []
    for g in range(n // 25):
        sas = ", ".join(f'{{ spi = {0x20000 + i}; src = "10.{i >> 8}.{i & 255}.0/24"; '
                        f'dst = "198.51.100.0/24"; cipher = "aes-cbc"; key = "{KEY.hex()}"; '
                        f'auth = "hmac-sha1-96"; auth_key = "{AUTH_KEY.hex()}"; }}'
                        for i in range(g * 25, (g + 1) * 25))
        groups.append(f'{{ name = "g{g}"; id = {g + 1}; sas = ( {sas} ); }}')
    conf = ('ports = ( { name = "inside"; role = "clear"; device = "net_null0"; peer = "wan"; },\n'
            '          { name = "wan"; role = "protected"; device = "net_null1"; } );\n'
            f'groups = ( {", ".join(groups)} );\n')
    g = Gvpnd(gvpnd_bin, conf, ["net_null0,no-rx=1", "net_null1,no-rx=1"], work, name="many")
    ctl = Ctl(gvpnctl, g.prefix)
    with g:
        def pages():
            first, second = g.tel("/gvpn/sa"), g.tel("/gvpn/sa,40")
            assert len(first) == 40 and len(second) == 40, (len(first), len(second))
            assert not set(first) & set(second)
            assert len(g.tel("/gvpn/sa,192")) == n - 192
            assert g.tel("/gvpn/sa,1000") == {}
            assert "error" in g.tel("/gvpn/sa,x"), g.tel("/gvpn/sa,x")
            r = ctl("show", "sa", "--json")
            assert r.returncode == 0, r.stderr
            assert len(json.loads(r.stdout)) == n
            r = ctl("show", "sa")
            assert r.returncode == 0 and len(r.stdout.splitlines()) == n + 1, r.stdout[-500:]
            first, second = g.tel("/gvpn/policy"), g.tel("/gvpn/policy,48")
            assert len(first) == 48 and len(second) == 48 and not set(first) & set(second)
            assert len(g.tel("/gvpn/policy,g7")) == 25 and "1" not in g.tel("/gvpn/policy,g1,0")
            assert len(g.tel("/gvpn/policy,g7,20")) == 5, g.tel("/gvpn/policy,g7,20")
            assert "error" in g.tel("/gvpn/policy,1,g1"), g.tel("/gvpn/policy,1,g1")
            r = ctl("show", "policy")
            assert r.returncode == 0 and len(r.stdout.splitlines()) == n + 1, r.stdout[-500:]
            r = ctl("show", "policy", "g7", "--json")
            assert r.returncode == 0 and len(json.loads(r.stdout)) == 25, r.stdout[-500:]
        tap.check(f"{n} SAs: /gvpn/sa answers 40 a page (,START), /gvpn/policy 48 "
                  "([GROUP][,START]); gvpnctl show sa and show policy list all", pages)
        assert g.stop() == 0


def test_coalesced_requests(tap, gvpnctl, gvpnd_bin, work):
    """Thousands of state-changing requests from two telemetry clients at once: a
    group keeps one pending request per kind, so the control core rebuilds and
    logs per poll (at most once a millisecond), not per request. The group has
    a key server that never answers (fail-open is for key-server groups) and a
    long retry interval: no failure of its own mixes with the requests."""
    conf = ('ports = ( { name = "inside"; role = "clear"; device = "net_null0"; peer = "wan"; },\n'
            '          { name = "wan"; role = "protected"; device = "net_null1"; } );\n'
            'groups = ( { name = "corp"; id = 1001; fail_open = ( { src = "192.0.2.0/24"; dst = "198.51.100.0/24"; } );\n'
            '  key_servers = ( "127.0.0.1:9" ); local_address = "127.0.0.1";\n'
            '  psk = "group-member-psk-0123456789"; retry_interval = 600; } );\n')
    g = Gvpnd(gvpnd_bin, conf, ["net_null0,no-rx=1", "net_null1,no-rx=1"], work, name="coalesce")
    ctl = Ctl(gvpnctl, g.prefix)
    n_each = 4000
    with g:
        def toggles():
            def client(seed, out):
                t = Telemetry(g.prefix)
                try:
                    for i in range(n_each):
                        r = t(f"/gvpn/group/fail_open,corp,{'on' if (i + seed) % 2 else 'off'}")
                        assert isinstance(r, dict) and r.get("result") == "queued", (i, r)
                    for i in range(n_each // 4):
                        r = t("/gvpn/sa/clear,corp")
                        assert isinstance(r, dict) and r.get("result") == "queued", (i, r)
                except Exception as e:  # noqa: BLE001 - reported by the main thread
                    out.append(e)
                finally:
                    t.close()
            errors = []
            start = time.time()
            threads = [threading.Thread(target=client, args=(k, errors)) for k in (0, 1)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            elapsed_ms = (time.time() - start) * 1000
            assert not errors, errors
            sent = 2 * (n_each + n_each // 4) + 1
            assert g.tel("/gvpn/group/fail_open,corp,on")["result"] == "queued"
            g.wait(lambda: g.tel("/gvpn/groups")["corp"]["requests"] == sent and
                   g.tel("/gvpn/groups")["corp"]["fail_open"] == "on", what="the last request")
            time.sleep(0.1)  # the last pending ones run within a millisecond
            grp = g.tel("/gvpn/groups")["corp"]
            assert grp["state"] == "failed" and grp["fail_open"] == "on", grp
            assert g.tel("/gvpn/sa") == {}, "sa/clear did not run"
            log = g.output()
            rebuilds = log.count(": entered fail-open (") + log.count(": left fail-open (")
            applied = grp["requests"] - grp["requests_coalesced"]
            # each applied request is logged once as the operator's; a fail_open
            # request that changes nothing rebuilds nothing
            said = (log.count("group corp: operator request: fail-open ") +
                    log.count("group corp: operator request: 0 SA(s) cleared, registering again"))
            assert said == applied, (said, applied, grp)
            assert rebuilds <= applied, (rebuilds, applied, grp)
            # one per kind per control-core poll, and those run at most every millisecond
            assert rebuilds <= elapsed_ms + 50, (rebuilds, elapsed_ms)
            assert rebuilds < (2 * n_each) // 4, (rebuilds, elapsed_ms)
            assert grp["requests_coalesced"] >= sent - applied, grp
            r = ctl("show", "groups")
            assert r.returncode == 0 and "corp:requests_coalesced" in r.stdout, (r.stdout, r.stderr)
            print(f"# {sent} requests in {elapsed_ms:.0f} ms: {applied} applied, "
                  f"{grp['requests_coalesced']} coalesced, {rebuilds} fail-open log lines",
                  flush=True)
        tap.check("thousands of fail_open toggles and sa/clear from two clients: the last value "
                  "wins, rule-table rebuilds and log lines are per control-core poll, the rest "
                  "counted in requests_coalesced", toggles)
        assert g.stop() == 0


def test_rule_hits_and_sa_drops(tap, gvpnctl, gvpnd_bin, root, work):
    """Per-rule hits and per-SA drops: clear traffic replayed forever to UDP port 500
    (the second bypass rule) and to 10.9.0.1 (the second fail-open rule of a key-server
    group whose key server never answers), and ESP under the static SA, one packet of it
    tampered with. show policy counts each packet for the rule that passed it and no
    other; show sa names the bad ICV on its SA; the exporter has both; clear counters
    counts them from zero."""
    clear = [Ether() / IP(src="203.0.113.1", dst="203.0.113.2") / UDP(sport=7, dport=500) / Raw(b"b"),
             Ether() / IP(src="10.1.0.1", dst="10.9.0.1") / UDP(sport=7, dport=7) / Raw(b"f")]
    inner = [IP(src=B, dst=A) / UDP(sport=40001, dport=40000) / Raw(b"in %d" % i) for i in range(2)]
    esp = [Ether() / sa().encrypt(p) for p in inner]
    bad = bytearray(bytes(esp[1]))
    bad[-1] ^= 1
    files = {k: os.path.join(work, f"hits-{k}.pcap") for k in ("clear_in", "prot_in")}
    wrpcap(files["clear_in"], clear)
    wrpcap(files["prot_in"], esp + [Ether(bytes(bad))])
    conf = open(os.path.join(root, "config", "static-group.conf")).read()
    ks = ('  },\n  { name = "ks"; id = 1002; key_servers = ( "127.0.0.1:9" ); local_address = "127.0.0.1";\n'
          '    psk = "group-member-psk-0123456789"; retry_interval = 600;\n'
          '    fail_open = ( { dst = "10.8.0.0/16"; }, { dst = "10.9.0.0/16"; } );\n  }\n);')
    conf = conf[:conf.rindex("  }\n);")] + ks + "\n"
    vdevs = [f"net_pcap0,rx_pcap={files['clear_in']},tx_pcap=/dev/null,infinite_rx=1",
             f"net_pcap1,rx_pcap={files['prot_in']},tx_pcap=/dev/null"]
    g = Gvpnd(gvpnd_bin, conf, vdevs, work, name="hits")
    ctl = Ctl(gvpnctl, g.prefix)

    def hits(rules):
        """{(kind, group, index): hits} of the bypass and fail-open rules."""
        return {(r["kind"], r["group"], r["index"]): r["hits"] for r in rules.values()
                if r["kind"] != "tek"}

    with g:
        def static_sa():
            """The static SA's telemetry; {} until the control core has installed it."""
            return g.tel("/gvpn/sa").get("0x00001001", {"drops": {}})

        g.wait(lambda: static_sa()["drops"].get("esp_bad_icv") == 1 and
               static_sa().get("decrypted_packets") == 2 and
               hits(g.tel("/gvpn/policy"))[("bypass", "", 1)] > 1000, what="gvpnd to read its input")

        def policy_hits():
            h = hits(json.loads(ctl("show", "policy", "--json").stdout))
            assert h[("bypass", "", 1)] > 1000, h
            assert h[("bypass", "", 0)] == 0 and h[("bypass", "", 2)] == 0, h
            # the group has not failed: its fail-open rules pass nothing
            assert h[("fail_open", "ks", 0)] == 0 and h[("fail_open", "ks", 1)] == 0, h
            r = ctl("show", "policy")
            expect(r, 0, stream="stdout")
            head, lines = rows(r.stdout)
            assert "HITS" in head and "PACKETS" not in head, head
            assert [lines[k].split()[1] for k in ("1", "2", "3", "5", "6")] == \
                ["bypass"] * 3 + ["fail-open"] * 2, lines
            aligned(head, lines["1"], "HITS", "0", right=True)
            assert lines["2"].split()[11] != "0", lines["2"]
            aligned(head, lines["6"], "HITS", "0", right=True)
            ctl("group", "fail-open", "ks", "on")
            g.wait(lambda: hits(g.tel("/gvpn/policy"))[("fail_open", "ks", 1)] > 1000,
                   what="fail-open traffic")
            h = hits(g.tel("/gvpn/policy"))
            assert h[("fail_open", "ks", 0)] == 0, h
            assert g.lcores()["fail_open"] >= h[("fail_open", "ks", 1)], (g.lcores(), h)
            r = ctl("show", "policy", "ks")
            head, lines = rows(r.stdout)
            assert lines["6"].split()[10] == "active", lines["6"]
            assert lines["5"].split()[11] == "0" and lines["6"].split()[11] != "0", lines
        tap.check("show policy: a HITS column; each bypass and fail-open packet counts for the "
                  "rule that passed it and no other (the group's fail-open rules once it failed)",
                  policy_hits)

        def sa_drops():
            r = ctl("show", "sa")
            expect(r, 0, stream="stdout")
            head, lines = rows(r.stdout)
            aligned(head, lines["0x00001001"], "DROPS", "1", right=True)
            aligned(head, lines["0x00001001"], "DEC PKTS", "2", right=True)
            line = lines["0x00001001:esp_bad_icv"]
            assert line.split()[1] == "1" and "integrity check failed" in line, line
            assert g.tel("/gvpn/sa")["0x00001001"]["drops"] == {"esp_bad_icv": 1}
        tap.check("show sa: the tampered ESP packet counted as esp_bad_icv on its SA (DROPS "
                  "column, and the SA's reasons listed with their meaning)", sa_drops)

        def export():
            r = ctl("export", "--once")
            expect(r, 0, stream="stdout")
            m = parse_metrics(r.stdout)
            assert m['gvpn_sa_drops_total{spi="0x00001001",group="corp",reason="esp_bad_icv"}'] == 1
            assert m['gvpn_rule_hits_total{group="",kind="bypass",index="1"}'] > 1000
            assert m['gvpn_rule_hits_total{group="",kind="bypass",index="0"}'] == 0
            assert m['gvpn_rule_hits_total{group="ks",kind="fail_open",index="1"}'] > 1000
            assert m['gvpn_rule_hits_total{group="ks",kind="fail_open",index="0"}'] == 0
            promtool_check(r.stdout)
        tap.check("export: gvpn_rule_hits_total{group,kind,index} and "
                  "gvpn_sa_drops_total{spi,group,reason}", export)

        def cleared():
            before = hits(g.tel("/gvpn/policy"))
            r = ctl("clear", "counters")
            expect(r, 0, "rule hits", stream="stdout")
            after = hits(g.tel("/gvpn/policy"))
            for k in (("bypass", "", 1), ("fail_open", "ks", 1)):
                assert after[k] < before[k] // 2, (k, before, after)
            assert after[("bypass", "", 0)] == 0 and after[("fail_open", "ks", 0)] == 0, after
            assert g.tel("/gvpn/sa")["0x00001001"]["drops"] == {}, g.tel("/gvpn/sa")
            r = ctl("show", "sa")
            head, lines = rows(r.stdout)
            aligned(head, lines["0x00001001"], "DROPS", "0", right=True)
            assert "esp_bad_icv" not in r.stdout, r.stdout
        tap.check("clear counters: rule hits and SA drops count from zero", cleared)
        assert g.stop() == 0


def test_running(tap, ctl, g):
    def version():
        r = ctl("show", "version")
        expect(r, 0, "gvpnd", "0.1.0", "DPDK", stream="stdout")
        assert str(g.proc.pid) in r.stdout, r.stdout
    tap.check("show version: gvpnd, DPDK and the process", version)

    def ports():
        r = ctl("show", "ports")
        expect(r, 0, stream="stdout")
        head, lines = rows(r.stdout)
        for col in ("PORT", "ROLE", "DEVICE", "PEER", "MTU", "RX PKTS", "RX BYTES", "TX PKTS",
                    "TX BYTES", "RX MISSED"):
            assert col in head, (col, head)
        assert set(lines) == {"inside", "wan"}, lines
        assert lines["inside"].split()[1:4] == ["clear", "net_pcap0", "wan"], lines["inside"]
        assert lines["wan"].split()[1:5] == ["protected", "net_pcap1", "inside", "1500"], lines["wan"]
        link = g.tel("/gvpn/ports")["wan"]
        assert link["link"] == "up" and link["speed_mbps"] > 0, link
        aligned(head, lines["wan"], "LINK", "up")
        aligned(head, lines["wan"], "RX PKTS", str(N_ESP + 1), right=True)
        aligned(head, lines["wan"], "DEVICE", "net_pcap1")
        rx_bytes = g.tel("/gvpn/ports")["wan"]["rx_bytes"]
        want = f"{rx_bytes} B" if rx_bytes < 1000 else f"{rx_bytes / 1e3:.1f} KB"
        aligned(head, lines["wan"], "RX BYTES", want, right=True)
        # the replayed clear traffic: large counts carry K/M/G suffixes and units
        assert re.search(r"\d\.\d[KMG] ", lines["inside"]), lines["inside"]
        assert re.search(r"\d\.\d [KMG]B", lines["inside"]), lines["inside"]
    tap.check("show ports: aligned table, roles, devices, peers, MTU, counts with K/M/G and byte units",
              ports)

    def lcores():
        r = ctl("show", "lcores")
        expect(r, 0, stream="stdout")
        head, lines = rows(r.stdout)
        assert set(lines) == {"0", "total"}, lines
        aligned(head, lines["total"], "DECRYPTED", str(N_ESP), right=True)
        assert "ENCRYPTED" in head and "DROPS" in head
    tap.check("show lcores: one row per worker lcore and the total", lcores)

    def groups():
        r = ctl("show", "groups")
        expect(r, 0, stream="stdout")
        head, lines = rows(r.stdout)
        assert lines["corp"].split()[:6] == ["corp", "1001", "static", "off", "0", "1"], lines["corp"]
        aligned(head, lines["corp"], "STATE", "static")
    tap.check("show groups: corp, id 1001, static, fail-open off, one SA", groups)

    def sas():
        r = ctl("show", "sa")
        expect(r, 0, stream="stdout")
        head, lines = rows(r.stdout)
        line = lines["0x00001001"]
        assert line.split()[1:6] == ["corp", "active", "aes-cbc-128", "hmac-sha1-96", "both"], line
        m = re.search(r"\b1h0[01]m\d\ds\b", line)
        assert m, f"remaining lifetime not as h/m/s near {LIFETIME} s: {line}"
        aligned(head, line, "REMAINING", m.group(0), right=True)
        aligned(head, line, "SOFT", "-", right=True)  # a static group never rekeys
        aligned(head, line, "GROUP", "corp")
        assert re.search(r"\d [KMG]?B +\d+$", line), f"bytes without unit: {line}"
    tap.check("show sa: SPI, group, state, algorithms, lifetime as h/m/s, packets, bytes", sas)

    def sa_directions():
        sa = g.tel("/gvpn/sa")["0x00001001"]
        inner = len(IP(src=B, dst=A) / UDP(sport=40001, dport=40000) / Raw(b"reply 0"))
        assert sa["decrypted_packets"] == N_ESP and sa["decrypted_bytes"] == N_ESP * inner, sa
        assert sa["encrypted_packets"] > 1000 and sa["encrypted_bytes"] > 200 * 1000, sa
        assert sa["packets"] >= sa["encrypted_packets"] + sa["decrypted_packets"] - 1000000, sa
        assert time.time() - 300 < sa["installed_at"] <= time.time() + 1, sa
        r = ctl("show", "sa")
        head, lines = rows(r.stdout)
        line = lines["0x00001001"]
        for col in ("INSTALLED", "ENC PKTS", "ENC BYTES", "DEC PKTS", "DEC BYTES"):
            assert col in head, (col, head)
        aligned(head, line, "DEC PKTS", str(N_ESP), right=True)
        aligned(head, line, "DEC BYTES", f"{N_ESP * inner} B", right=True)
        assert re.search(r"\b\d+(m\d\d)?s ago\b", line), line
    tap.check("show sa: packets and bytes encrypted and decrypted apart (the bad ICV in neither), "
              "and when the SA was installed", sa_directions)

    def policy_packets():
        before = g.tel("/gvpn/sa")["0x00001001"]["packets"]
        r = ctl("show", "policy", "--json")
        expect(r, 0, stream="stdout")
        j = json.loads(r.stdout)
        assert [j[k]["kind"] for k in sorted(j, key=int)] == ["bypass"] * 3 + ["tek"], j
        assert [j[k]["protocol"] for k in ("1", "2", "3")] == [17, 17, 89], j
        tek = j["4"]
        assert tek["spis"] == "0x00001001" and tek["both_ways"] == 1, tek
        # the packets its SAs carried, read after the SA's: traffic runs
        assert tek["packets"] >= before > 0, (tek, before)
        r = ctl("show", "policy")
        _, lines = rows(r.stdout)
        assert lines["3"].split()[1:6] == ["bypass", "-", "any", "any", "89"], lines
    tap.check("show policy: a TEK policy counts the packets of its SAs; an unnamed protocol "
              "shows as its number", policy_packets)

    def flows():
        r = ctl("show", "flows")
        expect(r, 0, "flows", "hits", "misses", "hit rate", "not cached (table full)", stream="stdout")
        assert re.search(r"flows\s+\d+ of 65\.5K \(\d+\.\d % used\)", r.stdout), r.stdout
    tap.check("show flows: entries of capacity, hits, misses, hit rate", flows)

    def counters():
        r = ctl("show", "counters")
        expect(r, 0, stream="stdout")
        drops_part, ports_part = r.stdout.split("\n\n")
        # each port's packets, encrypted counted on the protected port, decrypted on the clear
        phead, plines = rows(ports_part)
        assert phead.split() == ["PORT", "ROLE", "RX", "PKTS", "TX", "PKTS", "ENCRYPTED",
                                 "DECRYPTED"], phead
        # traffic may still run: the totals read between two port readings lie between them
        before = g.tel("/gvpn/ports")
        total = g.lcores()
        after = g.tel("/gvpn/ports")
        for port, what in (("wan", "encrypted"), ("inside", "decrypted")):
            assert 0 < before[port][what] <= total[what] <= after[port][what], \
                (port, before, total, after)
            assert 0 < int(plines[port].split()[4 if what == "encrypted" else 5]) \
                <= after[port][what], plines[port]
        assert after["inside"]["encrypted"] == 0 and after["wan"]["decrypted"] == 0, after
        head, lines = rows(drops_part)
        assert head.split() == ["REASON", "DROPS", "EXACT", "MEANING"], head
        assert "no bypass, group or fail-open rule matched" in lines["no_rule"], lines
        assert "integrity check failed" in lines["esp_bad_icv"], lines
        aligned(head, lines["esp_bad_icv"], "EXACT", "1", right=True)
        assert "total" in lines
        # zero reasons are left out
        total = g.lcores()
        for k, v in total.items():
            if k.startswith("drop_") and v == 0:
                assert k[5:] not in lines, f"{k} is 0 but listed"
    tap.check("show counters: the non-zero drop reasons with their meaning, and their total", counters)

    def as_json():
        for what, cmd in (("groups", "/gvpn/groups"), ("sa", "/gvpn/sa"), ("ports", "/gvpn/ports"),
                          ("lcores", "/gvpn/lcores"), ("flows", "/gvpn/flows"),
                          ("counters", "/gvpn/lcores"), ("version", "/gvpn/version")):
            for args in (["show", what, "--json"], ["--json", "show", what]):
                r = ctl(*args)
                expect(r, 0, stream="stdout")
                got = json.loads(r.stdout)
                want = g.tel(cmd)
                assert set(got) == set(want), (what, set(got), set(want))
                if what in ("groups", "version"):
                    assert got == want, (what, got, want)
        got = json.loads(ctl("show", "sa", "--json").stdout)["0x00001001"]
        assert got["remaining_s"] <= LIFETIME and got["cipher"] == "aes-cbc-128", got
    tap.check("--json on every show command (before or after it): the telemetry JSON", as_json)

    def runtime_dir():
        r = ctl("--runtime-dir", "/var/run", "show", "groups")
        expect(r, 0, "corp", stream="stdout")
        r = ctl("show", "groups", "--runtime-dir", "/nonexistent")
        expect(r, 2, f"no telemetry socket at /nonexistent/dpdk/{g.prefix}/dpdk_telemetry.v2")
    tap.check("--runtime-dir: the socket is DIR/dpdk/PREFIX/dpdk_telemetry.v2", runtime_dir)

    def permission():
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            return "needs root and setpriv"
        r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 "/usr/bin/python3", ctl.path, "-f", g.prefix, "show", "sa"])
        if "Permission denied" in r.stderr and ctl.path in r.stderr:
            return "the user nobody cannot read gvpnctl here"
        expect(r, 2, f"telemetry socket /var/run/dpdk/{g.prefix}/dpdk_telemetry.v2 is not accessible: "
                     "run as root / the socket's owner")
        assert "Traceback" not in r.stderr
        return None
    try:
        why = permission()
        if why:
            tap.skip("a user other than root: not accessible, exit 2", why)
        else:
            tap.result(True, "a user other than root: not accessible, exit 2")
    except Exception as e:  # noqa: BLE001
        tap.result(False, "a user other than root: not accessible, exit 2", repr(e))

    def fail_open():
        r = ctl("group", "fail-open", "corp", "on")
        expect(r, 1, "gvpnctl: gvpnd: a static group keeps its SAs: fail-open is for a group "
                     "that lost its keys")
        assert r.stdout == "", r.stdout
        grp = g.tel("/gvpn/groups")["corp"]
        assert grp["state"] == "static" and grp["fail_open"] == "off", grp
        r = ctl("group", "fail-open", "corp", "off")
        expect(r, 0, "corp: fail-open off, state static", stream="stdout")
        assert g.tel("/gvpn/groups")["corp"]["fail_open"] == "off"
        g.wait(lambda: "group corp: operator request: fail-open off" in g.output(),
               what="the request logged")
        assert g.output().count("group corp: operator request: fail-open") == 1, g.output()[-2000:]
        assert "group corp: operator fail-open on refused" not in g.output()  # refused at the door
    tap.check("group fail-open corp on: refused for a static group with the reason (exit 1), "
              "its SAs stay; off: applied and logged once as an operator request", fail_open)

    def unknown_group():
        r = ctl("group", "fail-open", "nope", "on")
        expect(r, 1, "gvpnctl: gvpnd: unknown group 'nope' (groups: corp)")
        r = ctl("group", "register", "nope")
        expect(r, 1, "gvpnctl: gvpnd: unknown group 'nope' (groups: corp)")
        r = ctl("group", "register", "corp")
        expect(r, 1, "gvpnctl: gvpnd: group 'corp' has no key servers (a static group: its SAs "
               "come from the configuration), so there is nothing to register; "
               "'gvpnctl sa clear corp' installs its SAs again")
        assert r.stdout == ""
    tap.check("unknown group, registering a static group: gvpnd's refusal explained, exit 1", unknown_group)


    def watch():
        t0 = time.monotonic()
        r = ctl("watch", "--count", "2")
        took = time.monotonic() - t0
        expect(r, 0, stream="stdout")
        assert "\033[" not in r.stdout, "ANSI codes in output to a pipe"
        blocks = r.stdout.split(f"gvpnd {g.prefix} ")
        assert len(blocks) == 3 and blocks[0] == "", r.stdout
        assert 1.8 < took < 6, f"took {took:.1f} s for two 1 s refreshes"
        for b in blocks[1:]:
            head, lines = rows("\n".join(b.splitlines()[2:5]))
            for col in ("RX", "RX BITS", "TX", "TX BITS"):
                assert col in head, head
            assert re.search(r"[1-9][0-9.]* [KMG]?pps", lines["inside"]), lines["inside"]
            assert re.search(r"[1-9][0-9.]* [KMG]?bps", lines["inside"]), lines["inside"]
            assert "ENCRYPTED" in b and "DECRYPTED" in b and "DROPS" in b, b
            assert "top drops: no_" in b, b
    tap.check("watch --count 2: two blocks of per-port pps/bps and per-second totals, no ANSI to a pipe",
              watch)

    def watch_tty():
        master, slave = pty.openpty()
        p = subprocess.Popen([ctl.path, "-f", g.prefix, "watch", "-n", "1", "-i", "0.3"], stdout=slave,
                             stderr=subprocess.PIPE)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        assert p.wait(timeout=10) == 0
        assert out.startswith(b"\033[H\033[2J"), out[:40]
    tap.check("watch on a terminal: redraws with an ANSI clear", watch_tty)

    def export_once():
        r = ctl("export", "--once")
        expect(r, 0, stream="stdout")
        s = parse_metrics(r.stdout)
        tel = g.tel("/gvpn/sa")["0x00001001"]
        assert s["gvpn_up"] == 1
        assert s['gvpn_port_rx_packets_total{port="wan"}'] == N_ESP + 1
        assert s['gvpn_port_rx_packets_total{port="inside"}'] > 0
        assert s['gvpn_port_tx_bytes_total{port="wan"}'] > 0
        assert s['gvpn_drops_total{reason="esp_bad_icv"}'] == 1
        assert s['gvpn_drops_total{reason="no_rule"}'] > 0
        assert s['gvpn_drops_total{reason="no_mbuf"}'] == 0
        assert s["gvpn_decrypted_packets_total"] == N_ESP
        assert 0 < s['gvpn_sa_packets_total{spi="0x00001001",group="corp"}'] <= tel["packets"]
        assert s['gvpn_sa_bytes_total{spi="0x00001001",group="corp"}'] > 0
        assert LIFETIME - 60 < s['gvpn_sa_remaining_seconds{spi="0x00001001",group="corp"}'] <= LIFETIME
        assert s['gvpn_group_state{group="corp",state="static"}'] == 1
        assert s['gvpn_group_state{group="corp",state="failed"}'] == 0
        assert s['gvpn_group_fail_open{group="corp"}'] == 0
        assert s["gvpn_flows"] >= 1 and s["gvpn_flows_capacity"] == 65536
        assert s['gvpn_worker_packets_total{lcore="0",kind="encrypted"}'] > 0
        assert any(k.startswith("gvpn_info{") for k in s)
        assert s['gvpn_sa_decrypted_packets_total{spi="0x00001001",group="corp"}'] == N_ESP
        assert s['gvpn_sa_encrypted_packets_total{spi="0x00001001",group="corp"}'] > 0
        assert s['gvpn_sa_decrypted_bytes_total{spi="0x00001001",group="corp"}'] > 0
        promtool_check(r.stdout)
    tap.check("export --once: Prometheus text with the port, drop, SA (encrypted and decrypted "
              "apart), group and flow metrics, sane values; promtool check metrics when present",
              export_once)

    test_clear(tap, ctl, g)

    # last: it replaces the SA the checks above read
    def sa_clear():
        assert "/gvpn/sa/clear" in g.tel("/")
        r = ctl("sa", "clear", "nope")
        assert r.returncode == 1, r
        before = g.tel("/gvpn/sa")
        assert len(before) == 1, before
        enc = g.lcores()["encrypted"]
        r = ctl("sa", "clear", "corp")
        assert r.returncode == 0, r
        line = "group corp: operator request: 1 SA(s) cleared, static SAs installed again"
        g.wait(lambda: line in g.output(), what="the clear logged")
        g.wait(lambda: len(g.tel("/gvpn/sa")) == 1, what="the static SA installed again")
        after = g.tel("/gvpn/sa")
        assert after.keys() == before.keys(), (before, after)
        grp = g.tel("/gvpn/groups")["corp"]
        assert grp["state"] == "static" and grp["sas"] == 1, grp
        g.wait(lambda: g.lcores()["encrypted"] > enc + 1000, what="encryption under the new SA")
        assert g.output().count(line) == 1
    tap.check("sa clear: an unknown group is refused (exit 1); a static group's SA is deleted "
              "and installed again from the configuration, traffic encrypts again, logged once",
              sa_clear)


def test_fake(tap, gvpnctl, work):
    runtime = os.path.join(work, "run")
    ctl = Ctl(gvpnctl, "future")
    future = FakeTelemetry(runtime, "future", ["/gvpn/version", "/gvpn/groups", "/gvpn/sa", "/gvpn/sa/clear"], {
        "/gvpn/groups": {"corp": {"id": 1001, "state": "static", "fail_open": "off", "fail_open_rules": 0,
                                  "sas": 1}},
        "/gvpn/sa/clear,corp": {"group": "corp", "result": "queued"},
        "/gvpn/sa/clear,other": {"error": "group 'other' is being rekeyed"},
    })
    try:
        def clear_works():
            r = ctl("--runtime-dir", runtime, "sa", "clear", "corp")
            expect(r, 0, "corp: SAs cleared", stream="stdout")
            r = ctl("--runtime-dir", runtime, "sa", "clear", "other")
            expect(r, 1, "gvpnctl: gvpnd: group 'other' is being rekeyed")
            r = ctl("--runtime-dir", runtime, "sa", "clear", "nope")
            expect(r, 1, "gvpnctl: gvpnd: unknown group 'nope' (groups: corp)")
            r = ctl("--runtime-dir", runtime, "show", "flows")
            expect(r, 3, "gvpnctl: not supported by this gvpnd (needs /gvpn/flows)")
        tap.check("a gvpnd with /gvpn/sa/clear: sa clear works; an error it returns is shown, exit 1",
                  clear_works)
    finally:
        future.stop(unlink=False)

    def stale():
        r = ctl("--runtime-dir", runtime, "show", "sa")
        expect(r, 2, "gvpnd is not running (stale telemetry socket at")
    tap.check("a stale socket left by a dead gvpnd: not running, exit 2", stale)

    other = FakeTelemetry(runtime, "other", ["/info", "/ethdev/list"], {})
    try:
        def not_gvpnd():
            r = ctl("--runtime-dir", runtime, "show", "sa", prefix="other")
            expect(r, 2, "is not gvpnd: it has no /gvpn/ commands; is the file prefix right? (-f)")
        tap.check("another DPDK application on the prefix: not gvpnd, exit 2", not_gvpnd)
    finally:
        other.stop()


def test_key_servers_truncated(tap, gvpnctl, work):
    """A /gvpn/keyservers reply that left a group out (too long for gvpnd's output
    buffer): gvpnctl asks for that group alone."""
    runtime = os.path.join(work, "run")
    ctl = Ctl(gvpnctl, "kstrunc")

    def ks(name, port, status):
        return {"local_address": "10.0.0.1:848", "local_bound": "yes",
                "key_server": f"10.0.0.9:{port}",
                "1": {"address": f"10.0.0.9:{port}", "status": status, "registrations": 1,
                      "registered_at": 1796520457, "failures": 0, "failed_at": 0, "error": ""}}
    fake = FakeTelemetry(runtime, "kstrunc", ["/gvpn/groups", "/gvpn/keyservers"], {
        "/gvpn/groups": {"a": {"key_server": "10.0.0.9:848"}, "b": {"key_server": "10.0.0.9:849"},
                         "gone": {"key_server": "10.0.0.9:850"}, "lab": {"state": "static"}},
        "/gvpn/keyservers": {"a": ks("a", 848, "current")},
        "/gvpn/keyservers,b": {"b": ks("b", 849, "current")},
    })
    try:
        def asks_each_missing_group():
            r = ctl("--runtime-dir", runtime, "show", "key-servers")
            expect(r, 0, stream="stdout")
            kss = key_server_rows(r.stdout)
            assert set(kss) == {"a", "b"}, r.stdout
            assert kss["b"][1]["1"][1:3] == ["10.0.0.9:849", "current"], kss
            assert kss["b"][1]["1"][4] == "2026-12-06T01:27:37Z", kss
            r = ctl("--runtime-dir", runtime, "show", "key-servers", "--json")
            expect(r, 0, stream="stdout")
            assert set(json.loads(r.stdout)) == {"a", "b"}, r.stdout
        tap.check("show key-servers: a group the reply left out (too long) is asked for alone; "
                  "one gone meanwhile is left out", asks_each_missing_group)
    finally:
        fake.stop()


def test_deploy(tap, root):
    script = os.path.join(root, "scripts", "setup-hugepages.sh")

    def hugepages_help():
        r = run([script, "--help"])
        expect(r, 0, "--dry-run", "--persist", "--size", stream="stdout")
    tap.check("setup-hugepages.sh --help", hugepages_help)

    def hugepages_dry_run():
        before = open("/proc/meminfo").read()
        hp = re.search(r"HugePages_Total:\s+(\d+)", before).group(1)
        r = run([script, "--dry-run", "--persist", str(int(hp) + 64)])
        expect(r, 0, "nr_hugepages", "hugetlbfs", "/etc/sysctl.d/", "/etc/fstab", stream="stdout")
        after = open("/proc/meminfo").read()
        assert re.search(r"HugePages_Total:\s+(\d+)", after).group(1) == hp, "dry run changed hugepages"
        r = run([script, "--dry-run", "--size", "3M", "8"])
        expect(r, 64, "--size")
    tap.check("setup-hugepages.sh --dry-run: prints each step, changes nothing", hugepages_dry_run)

    def unit():
        text = open(os.path.join(root, "config", "gvpnd.service")).read()
        for want in ("ExecStart=", "EnvironmentFile=-/etc/default/gvpnd", "Restart=on-failure",
                     "RestartSec=", "LimitMEMLOCK=infinity", "RuntimeDirectory=", "RuntimeDirectoryMode=0700",
                     "Type=notify", "ExecReload=/bin/kill -HUP $MAINPID"):
            assert want in text, want
        assert "PrivateDevices=yes" not in text and "PrivateDevices=true" not in text
        if shutil.which("systemd-analyze"):
            r = run(["systemd-analyze", "verify", os.path.join(root, "config", "gvpnd.service")])
            bad = [ln for ln in r.stderr.splitlines()
                   if "gvpnd.service" in ln and "/usr/local/bin/gvpnd" not in ln]
            assert not bad, r.stderr
    tap.check("config/gvpnd.service: the settings gvpnd needs, and systemd-analyze verify accepts it", unit)


if __name__ == "__main__":
    main_guard(main)
