#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bad configuration table: every malformed setting gives a message naming the
file, the line and the setting, exit status 2, and never shows a key.

Usage: test_config.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Tap, main_guard, run  # noqa: E402

KEY = "000102030405060708090a0b0c0d0e0f"
AUTH_KEY = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"

# (what, replace this, with this, setting named in the message, message part)
CASES = [
    ("syntax error", 'name = "corp";', 'name = "corp;', None, "syntax"),
    ("unknown top-level setting", "dataplane = {", "dataplan = {", "dataplan", "unknown setting"),
    ("unknown group setting", 'id = 1001;', 'id = 1001; colour = "red";', "groups[0].colour",
     "unknown setting"),
    ("port role", 'role = "protected"', 'role = "outside"', "ports[1].role", "not one of"),
    ("port without device", 'device = "net_pcap1";', '', "ports[1].device", "missing"),
    ("peer unknown", 'peer = "wan"', 'peer = "wan2"', "ports[0].peer", "no port is named"),
    ("peer with the same role", 'role = "protected"', 'role = "clear"', "ports[0].peer",
     "same role"),
    ("duplicate port name", 'name = "wan";', 'name = "inside";', "ports[1].name", "already used"),
    ("MTU too small", "mtu = 1500;", "mtu = 100;", "ports[1].mtu", "576..9000"),
    ("df_bit", 'df_bit = "clear";', 'df_bit = "maybe";', "dataplane.df_bit", "not one of"),
    ("inner_df", 'inner_df = "fragment";', 'inner_df = "drop";', "dataplane.inner_df",
     "not one of"),
    ("ipv6_too_big", 'inner_df = "fragment";', 'inner_df = "fragment"; ipv6_too_big = "drop";',
     "dataplane.ipv6_too_big", "not one of"),
    ("flows too few", "flows = 65536;", "flows = 10;", "dataplane.flows", "1024.."),
    ("burst too large", "flows = 65536;", "flows = 65536; burst = 257;", "dataplane.burst",
     "1..256"),
    ("burst zero", "flows = 65536;", "flows = 65536; burst = 0;", "dataplane.burst", "1..256"),
    ("crypto backend", 'crypto = "ipsecmb";', 'crypto = "qat";', "dataplane.crypto", "not one of"),
    ("bypass port without protocol", '{ protocol = "ospf"; }', '{ dst_port = 179; }',
     "bypass[2].protocol", "ports need protocol"),
    ("bypass unknown protocol", 'protocol = "ospf";', 'protocol = "ospf2";', "bypass[2].protocol",
     "unknown protocol"),
    ("bypass port range reversed", "dst_port = 500;", 'dst_port = "600-500";',
     "bypass[1].dst_port", "range"),
    ("prefix not an address", 'src = "192.0.2.0/24";', 'src = "192.0.2/24";',
     "groups[0].sas[0].src", "not an address or prefix"),
    ("prefix with host bits", 'src = "192.0.2.0/24";', 'src = "192.0.2.1/24";',
     "groups[0].sas[0].src", "192.0.2.0/24"),
    ("group without name", 'name = "corp";', '', "groups[0].name", "missing"),
    ("group direction", 'direction = "both";', 'direction = "sideways";', "groups[0].direction",
     "not one of"),
    ("eleven fail-open rules", 'direction = "both";',
     'direction = "both"; fail_open = (' + ",".join(['{ src = "10.0.0.0/8"; }'] * 11) + ");",
     "groups[0].fail_open", "at most 10"),
    ("SPI below 256", "spi = 0x1001;", "spi = 255;", "groups[0].sas[0].spi", "256.."),
    ("SPI missing", "spi = 0x1001;", "", "groups[0].sas[0].spi", "missing"),
    ("cipher unknown", 'cipher = "aes-cbc";', 'cipher = "rc4";', "groups[0].sas[0].cipher",
     "not one of"),
    ("cipher key 15 bytes", f'key = "{KEY}";', f'key = "{KEY[:30]}";', "groups[0].sas[0].key",
     "15 bytes; aes-cbc needs 16, 24 or 32"),
    ("cipher key not hex", f'key = "{KEY}";', f'key = "{KEY[:30]}zz";', "groups[0].sas[0].key",
     "not a hex key"),
    ("cipher key missing", f'key = "{KEY}";', "", "groups[0].sas[0].key", "missing"),
    ("key and key_file", f'key = "{KEY}";', f'key = "{KEY}"; key_file = "/nonexistent";',
     "groups[0].sas[0].key", "not both"),
    ("key_file unreadable", f'key = "{KEY}";', 'key_file = "/nonexistent/key";',
     "groups[0].sas[0].key_file", "cannot read"),
    ("auth unknown", 'auth = "hmac-sha1-96";', 'auth = "crc32";', "groups[0].sas[0].auth",
     "not one of"),
    ("auth missing for CBC", 'auth = "hmac-sha1-96";', "", "groups[0].sas[0].auth",
     "needs an integrity algorithm"),
    ("auth key wrong length", f'auth_key = "{AUTH_KEY}";', f'auth_key = "{AUTH_KEY[:32]}";',
     "groups[0].sas[0].auth_key", "needs a 20-byte key"),
    ("GCM with an auth algorithm", 'cipher = "aes-cbc";', 'cipher = "aes-gcm";',
     "groups[0].sas[0].auth", "own ICV"),
    ("SA unknown setting", "lifetime = 0;", "lifetime = 0; replay = 64;",
     "groups[0].sas[0].replay", "unknown setting"),
    ("lifetime negative", "lifetime = 0;", "lifetime = -5;", "groups[0].sas[0].lifetime", ".."),
    # libconfig keeps these in 32 bits: 4294971393 would read as 0x1001,
    # 4294967296 as 0, 4294968796 as 1500; refused, never wrapped
    ("SPI beyond 32 bits", "spi = 0x1001;", "spi = 4294971393;", "groups[0].sas[0].spi",
     "256..4294967295"),
    ("SPI beyond 32 bits in hex", "spi = 0x1001;", "spi = 0x100001001;", "groups[0].sas[0].spi",
     "256..4294967295"),
    ("SPI beyond 64 bits", "spi = 0x1001;", "spi = 99999999999999999999L;",
     "groups[0].sas[0].spi", "256..4294967295"),
    ("lifetime of 2^32 seconds", "lifetime = 0;", "lifetime = 4294967296;",
     "groups[0].sas[0].lifetime", ".."),
    ("TTL beyond 32 bits beside its wrapped value", "ttl = 64;",
     "ttl = 4294967360; burst = 64;", "dataplane.ttl", "line of its own"),
    ("MTU beyond 32 bits", "mtu = 1500;", "mtu = 4294968796;", "ports[1].mtu", "576..9000"),
    ("port beyond 32 bits", "dst_port = 500;", "dst_port = 4294967796;", "bypass[1].dst_port",
     "0..65535"),
    ("protocol beyond 32 bits", 'protocol = "ospf";', "protocol = 4294967385;",
     "bypass[2].protocol", "0..255"),
    # libconfig drops a \x00 escape without a word
    ("NUL inside a key", f'key = "{KEY}";', f'key = "{KEY[:2]}\\x00{KEY[2:]}";',
     "groups[0].sas[0].key", "NUL"),
    ("NUL inside a name", 'name = "corp";', 'name = "co\\x00rp";', "groups[0].name", "NUL"),
]


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    base = open(os.path.join(root, "config", "static-group.conf")).read()
    tap = Tap()

    for i, (what, old, new, setting, part) in enumerate(CASES):
        def case(old=old, new=new, setting=setting, part=part, i=i):
            assert old in base, f"the example no longer contains {old!r}"
            path = os.path.join(work, f"bad{i}.conf")
            with open(path, "w") as f:
                f.write(base.replace(old, new, 1))
            r = run([gvpnd, "--", "-f", path])
            msg = r.stderr.strip()
            assert r.returncode == 2, f"exit {r.returncode}: {msg}"
            m = re.match(rf"gvpnd: {re.escape(path)}:(\d+): (.*)", msg)
            assert m, f"no file:line in {msg!r}"
            if setting:
                assert m.group(2).startswith(setting + ":"), f"setting not named: {msg!r}"
                # the line named is the one that holds the setting (or its block)
                lines = open(path).read().splitlines()
                line = lines[int(m.group(1)) - 1]
                leaf = setting.split(".")[-1]
                assert leaf in line or "{" in line or "(" in line, f"line {m.group(1)}: {line!r}"
            assert part in msg, f"{part!r} not in {msg!r}"
            for k in (KEY, AUTH_KEY, KEY[:30], AUTH_KEY[:32]):
                assert k not in msg + r.stdout, "key material in the message"
        tap.check(f"bad config: {what} -> exit 2 naming the setting", case)

    # key files that are no regular file, or too large to be a key: refused
    # at once (a FIFO without a writer must not hold up --check)
    fifo = os.path.join(work, "key.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    big = os.path.join(work, "key.big")
    with open(big, "w") as f:
        f.write("00" * 200)
    for what, path, part in (("a FIFO", fifo, "not a regular file"),
                             ("a device", "/dev/zero", "not a regular file"),
                             ("a folder", work, "not a regular file"),
                             ("larger than a key", big, "larger than a key can be")):
        def key_file(path=path, part=part, what=what):
            conf = os.path.join(work, "keyfile.conf")
            with open(conf, "w") as f:
                f.write(base.replace(f'key = "{KEY}";', f'key_file = "{path}";', 1))
            t0 = time.monotonic()
            r = run([gvpnd, "--", "-f", conf, "--check"], timeout=10)
            took = time.monotonic() - t0
            msg = r.stderr.strip()
            assert r.returncode == 2, f"exit {r.returncode}: {msg}"
            assert re.match(rf"gvpnd: {re.escape(conf)}:\d+: groups\[0\]\.sas\[0\]\.key_file: ",
                            msg), msg
            assert part in msg, msg
            assert took < 1.0, f"took {took:.2f} s"
        tap.check(f"bad config: key_file is {what} -> exit 2 within a second", key_file)

    def missing_file():
        r = run([gvpnd, "--", "-f", os.path.join(work, "absent.conf")])
        assert r.returncode == 2 and "No such file" in r.stderr, r.stderr
    tap.check("bad config: missing file -> exit 2", missing_file)

    def no_device():
        r = run([gvpnd, "--no-huge", "--no-pci", "-l", "0", "--file-prefix", f"cfg{os.getpid()}",
                 "--log-level", "lib.*:error", "--vdev", "net_null0", "--vdev", "net_null1", "--",
                 "-f", os.path.join(root, "config", "static-group.conf")])
        assert r.returncode == 2, f"exit {r.returncode}: {r.stderr}"
        assert re.search(r"static-group.conf:\d+: ports\[0\]\.device: no DPDK port 'net_pcap0' "
                         r"\(ports: net_null0, net_null1\)", r.stderr), r.stderr
    tap.check("bad config: device that is no DPDK port -> exit 2 listing the ports", no_device)

    def check_mode():
        for name in sorted(os.listdir(os.path.join(root, "config"))):
            if name.endswith(".conf"):
                r = run([gvpnd, "--", "-f", os.path.join(root, "config", name), "--check"])
                assert r.returncode == 0 and "configuration valid" in r.stdout, (name, r.stderr)
    tap.check("every shipped example in config/ passes --check", check_mode)

    def usage():
        r = run([gvpnd, "--"])
        assert r.returncode == 2 and "-f FILE is required" in r.stderr, r.stderr
        r = run([gvpnd, "--", "-f", "x", "--bogus"])
        assert r.returncode == 2, r
        assert r.stderr == "gvpnd: unknown option '--bogus' (gvpnd --help)\n", r.stderr
        r = run([gvpnd, "--", "-f"])
        assert r.returncode == 2 and r.stderr == "gvpnd: -f needs a value (gvpnd --help)\n", r.stderr
    tap.check("bad command line -> exit 2, one line pointing to --help", usage)

    def help_():
        for args in (["--help"], ["-h"], ["--", "--help"], ["--no-huge", "-h"]):
            r = run([gvpnd] + args)
            assert r.returncode == 0 and r.stdout.startswith("usage: gvpnd") and not r.stderr, \
                (args, r)
            assert "--syslog" in r.stdout and "Exit status" in r.stdout, r.stdout
    tap.check("--help and -h, before or after '--': usage on stdout, exit 0", help_)

    def misplaced():
        for args, opt in ((["-f", "x.conf"], "-f"), (["-l", "0", "--check", "--", "-f", "x"], "--check"),
                          (["--config=x.conf", "--"], "--config=x.conf"),
                          (["--syslog", "--", "-f", "x"], "--syslog")):
            r = run([gvpnd] + args)
            assert r.returncode == 2, (args, r)
            assert r.stderr.startswith(f"gvpnd: {opt} is a gvpnd option: it goes after '--'"), \
                (args, r.stderr)
            assert len(r.stderr.splitlines()) == 1 and "gvpnd --help" in r.stderr, r.stderr
    tap.check("a gvpnd option before '--' -> exit 2 saying where it goes", misplaced)

    conf = os.path.join(root, "config", "static-group.conf")

    def eal(*vdevs, prefix="cfg"):
        args = [gvpnd, "--no-huge", "--no-pci", "-l", "0", "--file-prefix", f"{prefix}{os.getpid()}"]
        for v in vdevs:
            args += ["--vdev", v]
        return args

    def missing_pcap():
        absent = os.path.join(work, "absent.pcap")
        r = run(eal(f"net_pcap0,rx_pcap={absent},tx_pcap={work}/out.pcap", "net_null1")
                + ["--", "-f", conf], timeout=30)
        assert r.returncode == 2, r
        assert r.stderr == (f"gvpnd: --vdev net_pcap0: rx_pcap file '{absent}': No such file or "
                            "directory: make the capture first, or correct the path\n"), r.stderr
        r = run(eal(f"net_pcap0,rx_pcap={conf},tx_pcap=/nonexistent/out.pcap", "net_null1")
                + ["--", "-f", conf], timeout=30)
        assert r.returncode == 2 and "no folder '/nonexistent': create it" in r.stderr, r.stderr
    tap.check("a missing pcap file or output folder -> exit 2 naming it and the fix", missing_pcap)

    def not_probed():
        bad = os.path.join(work, "notapcap.pcap")
        with open(bad, "w") as f:
            f.write("not a capture")
        r = run(eal(f"net_pcap0,rx_pcap={bad},tx_pcap={work}/out.pcap", "net_null1")
                + ["--", "-f", conf], timeout=30)
        assert r.returncode == 2, r
        assert "ports[0].device: no DPDK port 'net_pcap0' (ports: net_null1): it did not probe" \
            in r.stderr, r.stderr
    tap.check("a device that did not probe -> exit 2 saying so", not_probed)

    def no_hugepages():
        args = [gvpnd, "--huge-dir", os.path.join(work, "nohuge"), "--no-pci", "-l", "0",
                "--file-prefix", f"cfgh{os.getpid()}", "--vdev", "net_null0", "--", "-f", conf]
        os.makedirs(os.path.join(work, "nohuge"), exist_ok=True)
        r = run(args, timeout=30)
        assert r.returncode == 2, r
        assert r.stderr.splitlines()[-1] == (
            "gvpnd: EAL init failed: no hugepages (no hugetlbfs mounted): run "
            "scripts/setup-hugepages.sh, or pass --no-huge"), r.stderr
    tap.check("EAL finds no hugepages -> exit 2 naming scripts/setup-hugepages.sh and --no-huge",
              no_hugepages)

    def not_root():
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            tap.skip("EAL as a user other than root -> exit 2 saying so", "needs root and setpriv")
            return
        args = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", gvpnd,
                "--no-pci", "-l", "0", "--file-prefix", f"cfgr{os.getpid()}", "--vdev", "net_null0",
                "--", "-f", conf]
        r = run(args, timeout=30)
        # without hugepages EAL fails on their information, with them on their files
        ok = r.returncode == 2 and r.stderr.splitlines()[-1] in (
            "gvpnd: EAL init failed: permission denied, not root: run gvpnd as root",
            "gvpnd: EAL init failed: no memory, not root: run gvpnd as root")
        tap.result(ok, "EAL as a user other than root -> exit 2 saying so", repr(r))
    not_root()

    def short_memory():
        null_conf = os.path.join(work, "null.conf")
        with open(null_conf, "w") as f:
            f.write(open(conf).read().replace("net_pcap", "net_null"))
        args = [gvpnd, "--no-huge", "-m", "16", "--no-pci", "-l", "0", "--file-prefix",
                f"cfgm{os.getpid()}", "--vdev", "net_null0", "--vdev", "net_null1", "--",
                "-f", null_conf]
        r = run(args, timeout=30)
        assert r.returncode == 2, r
        assert re.search(r"gvpnd: mbuf pool on NUMA node 0 \(\d+ mbufs\): not enough memory: "
                         r"reserve more hugepages on that node \(scripts/setup-hugepages.sh\), "
                         r"give EAL more \(--socket-mem, -m\)", r.stderr), r.stderr
    tap.check("too little memory for the mbuf pools -> exit 2 naming the fix", short_memory)

    def prefix_taken():
        null_conf = os.path.join(work, "null.conf")
        with open(null_conf, "w") as f:
            f.write(open(conf).read().replace("net_pcap", "net_null"))
        prefix = f"cfgp{os.getpid()}"
        args = [gvpnd, "--no-huge", "-m", "256", "--no-pci", "-l", "0", "--file-prefix", prefix,
                "--vdev", "net_null0", "--vdev", "net_null1", "--", "-f", null_conf]
        first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            sock = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
            end = time.time() + 15
            while not os.path.exists(sock) and time.time() < end:
                time.sleep(0.1)
            r = run(args, timeout=30)
        finally:
            first.terminate()
            first.wait(timeout=15)
        assert r.returncode == 2, r
        assert r.stderr.splitlines()[-1] == (
            f"gvpnd: EAL init failed: another DPDK primary process (pid {first.pid}) runs with "
            f"this file prefix (/var/run/dpdk/{prefix}): stop it, or give this gvpnd its own "
            "--file-prefix NAME"), r.stderr
    tap.check("a file prefix another gvpnd runs with -> exit 2 naming its pid and the fix",
              prefix_taken)

    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} EAL: ", re.M)
    bare = re.compile(r"^EAL: ", re.M)

    def stderr_of(args, journal=False):
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        path = os.path.join(work, "stderr.txt")
        with open(path, "w") as f:
            if journal:  # as systemd does: the device and inode of stderr
                st = os.fstat(f.fileno())
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            subprocess.run(args, stdout=subprocess.DEVNULL, stderr=f, env=env, timeout=30)
        return open(path).read()

    def timestamps():
        args = eal("net_null0", "net_null1") + ["--", "-f", conf]
        err = stderr_of(args)
        assert stamp.search(err) and not bare.search(err), err
        err = stderr_of(args, journal=True)
        assert bare.search(err) and not stamp.search(err), err
        # another stream than the journal's: stamped still
        env = dict(os.environ, JOURNAL_STREAM="1:1")
        r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)
        assert stamp.search(r.stderr), r.stderr
    tap.check("log lines stamped on stderr, not when stderr is the journal", timestamps)

    def to_syslog():
        r = run(eal("net_null0", "net_null1") + ["--", "-f", conf, "--syslog"], timeout=30)
        assert r.returncode == 2, r
        assert "EAL: " not in r.stderr and "no DPDK port" in r.stderr, r.stderr
    tap.check("--syslog: log lines leave stderr", to_syslog)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
