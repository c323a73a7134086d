#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""No key in a core dump, as TAP.

gvpnd runs a static group (keys inline and from key files) and a group
registered with the test key server (TEK, KEK and phase-1 keys), encrypting
traffic for both. A `gcore` of it, taken with --allow-core-dump, must hold
none of those keys: not as raw bytes and not as hex text. Without the option
gvpnd is not dumpable at all.

Usage: test_coredump.py GVPND SOURCE_ROOT WORKDIR
"""
import mmap
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, KeyServer, Tap, main_guard, run  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402

PSK = "core-dump-psk-7f3a9c1e5b2d4860"
BASE_PORT = 21000 + os.getpid() % 1000 * 2
# static group: one SA with inline keys, one with keys from files
STATIC_CBC_KEY = "5f1c27a9e08d4b36c2a17e95d3f0684b"
STATIC_CBC_AUTH = "9b2e4d71c6a08f3e5d17b2c94a6e0f8d31c7a5b9"
STATIC_GCM_KEY = "c3a95e17f20b8d64a71e3c59b0f28d46e5a13c7b90f2d4e68b1a5c3f7e9d0b24" "a1b2c3d4"
STATIC_FILE_AUTH = "e4c1a7f3b9d25e8061f4c3a7d9b2e5f81a6c4d3e7b9f0a2c5d8e1b4f7a3c6d9e"


def ks_conf(port):
    return {"listen": "127.0.0.1", "port": port, "psk": PSK,
            "groups": [{"id": 1001, "kek": {"algorithm": "aes-cbc", "key_bits": 128,
                                            "sig_hash": "sha256", "rsa_bits": 2048,
                                            "ack": "sha256", "lifetime": 3600},
                        "teks": [{"spi": 0x1001, "cipher": "aes-cbc", "key_bits": 256,
                                  "auth": "hmac-sha256-128", "src": "192.0.2.0/24",
                                  "dst": "198.51.100.0/24", "mirror": True,
                                  "lifetime": 600}]}]}


def gm_conf(port, work):
    key_file = os.path.join(work, "gcm.key")
    auth_file = os.path.join(work, "cbc.auth")
    with open(key_file, "w") as f:
        f.write(STATIC_GCM_KEY + "\n")
    with open(auth_file, "w") as f:
        f.write(STATIC_FILE_AUTH + "\n")
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_pcap0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_pcap1"; }}
);
bypass = ( {{ protocol = "udp"; dst_port = 848; }} );
groups = (
  {{ name = "corp"; id = 1001;
     key_servers = ( "127.0.0.1:{port}" );
     local_address = "127.0.0.1";
     psk = "{PSK}";
     phase1 = ( "aes256-sha256-modp2048" );
     retry_interval = 1; retries = 2; }},
  {{ name = "lab"; id = 7;
     sas = (
       {{ spi = 0x2001; src = "10.1.0.0/16"; dst = "10.2.0.0/16"; mirror = true;
          cipher = "aes-cbc"; key = "{STATIC_CBC_KEY}";
          auth = "hmac-sha1-96"; auth_key = "{STATIC_CBC_AUTH}"; }},
       {{ spi = 0x2002; src = "10.3.0.0/16"; dst = "10.4.0.0/16";
          cipher = "aes-gcm"; key_file = "{key_file}"; }},
       {{ spi = 0x2003; src = "10.5.0.0/16"; dst = "10.6.0.0/16";
          cipher = "aes-cbc"; key = "{STATIC_CBC_KEY[::-1]}";
          auth = "hmac-sha256-128"; auth_key_file = "{auth_file}"; }}
     ); }}
);
"""


def needles(state):
    """Every secret gvpnd learnt, by name: (name, bytes)."""
    out = [("psk", PSK.encode())]
    for name, hexkey in (("static cbc key", STATIC_CBC_KEY), ("static cbc auth", STATIC_CBC_AUTH),
                         ("static gcm key", STATIC_GCM_KEY[:64]),
                         ("static cbc key 2", STATIC_CBC_KEY[::-1]),
                         ("static file auth", STATIC_FILE_AUTH)):
        out.append((name, bytes.fromhex(hexkey)))
    g = state["groups"]["1001"]
    for t in g["tek_history"]:
        out.append((f"TEK 0x{t['spi']:x} enc", bytes.fromhex(t["enc_key"])))
        out.append((f"TEK 0x{t['spi']:x} auth", bytes.fromhex(t["auth_key"])))
    for k in g["kek_history"]:
        out.append(("KEK key", bytes.fromhex(k["key"])))
    for p in state["phase1"]:
        for f in ("skeyid_d", "skeyid_a", "skeyid_e", "enc_key"):
            if p.get(f):
                out.append((f"phase 1 {f}", bytes.fromhex(p[f])))
    return out


def find_all(core, secrets):
    """name -> count of the raw bytes and of their hex text (either case)."""
    hits = {}
    with open(core, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        for name, raw in secrets:
            for form, pat in (("raw", raw), ("hex", raw.hex().encode()),
                              ("HEX", raw.hex().upper().encode())):
                n, pos = 0, m.find(pat)
                while pos >= 0:
                    n += 1
                    pos = m.find(pat, pos + 1)
                if n:
                    hits[f"{name} ({form})"] = n
    return hits


def gdb_call(pid, expr):
    """Evaluate @p expr inside the process (prctl is in libc's dynamic symbols)."""
    t = run(["gdb", "-nx", "-batch", "-p", str(pid), "-ex", f"print (int){expr}"])
    for line in t.stdout.splitlines():
        if line.startswith("$1 = "):
            return int(line.split("=")[1])
    raise AssertionError(f"gdb: {t.stdout} {t.stderr}")


def start(ctx, name, conf, clear_in, empty, extra_args=()):
    w = ctx["work"]
    vdevs = [f"net_pcap0,rx_pcap={clear_in},tx_pcap=/dev/null,infinite_rx=1",
             f"net_pcap1,rx_pcap={empty},tx_pcap=/dev/null"]
    g = Gvpnd(ctx["gvpnd"], conf, vdevs, w, name=name)
    g.cmd += list(extra_args)
    return g


def test_core(ctx, tap):
    w = ctx["work"]
    pkts = [Ether() / IP(src=s, dst=d) / UDP(sport=40000, dport=40001) / Raw(b"x" * 64)
            for s, d in (("192.0.2.1", "198.51.100.1"), ("10.1.0.1", "10.2.0.1"),
                         ("10.3.0.1", "10.4.0.1"), ("10.5.0.1", "10.6.0.1"))]
    clear_in = os.path.join(w, "clear.pcap")
    wrpcap(clear_in, pkts)
    empty = os.path.join(w, "empty.pcap")
    wrpcap(empty, [], linktype=1)
    port = BASE_PORT
    core = os.path.join(w, "gvpnd.core")
    result = {}

    with KeyServer(ctx["root"], ks_conf(port), w, "ks-core") as ks:
        g = start(ctx, "core", gm_conf(port, w), clear_in, empty, ["--allow-core-dump"])
        with g:
            def registers():
                g.wait(lambda: g.tel("/gvpn/groups")["corp"]["state"] == "registered",
                       timeout=30, what="registration")
                assert g.tel("/gvpn/groups")["corp"]["kek"] == "yes"
                g.wait(lambda: g.lcores()["encrypted"] >= 200, what="traffic to be encrypted")
            tap.check("gvpnd (--allow-core-dump) registers and encrypts for both groups",
                      registers)

            def dumps():
                assert gdb_call(g.proc.pid, "prctl(3, 0, 0, 0, 0)") == 1, "not dumpable"
                smaps = open(f"/proc/{g.proc.pid}/smaps").read()
                assert " dd" in smaps, "no mapping is marked MADV_DONTDUMP"
                if os.path.exists(core):
                    os.unlink(core)
                t = run(["gcore", "-o", core, str(g.proc.pid)])
                got = [f for f in os.listdir(w) if f.startswith("gvpnd.core")]
                assert got, t.stdout + t.stderr
                os.replace(os.path.join(w, got[0]), core)
                assert os.path.getsize(core) > 1 << 20, "core too small"
                result["state"] = ks.state()
                result["prefix"] = g.prefix
            tap.check("with --allow-core-dump it is dumpable and gcore writes a core", dumps)
            assert g.stop() == 0

    def no_keys():
        assert "state" in result, "no core"
        secrets = needles(result["state"])
        assert len(secrets) >= 12, secrets
        # the search sees what the process holds: EAL's file prefix is there
        control = find_all(core, [("EAL file prefix", result["prefix"].encode())])
        assert control.get("EAL file prefix (raw)"), "the core lacks even the EAL prefix"
        hits = find_all(core, secrets)
        assert not hits, f"keys in the core: {hits}"
    tap.check("the core holds no PSK, static key, TEK, KEK or phase-1 key (raw or hex)",
              no_keys)
    if os.path.exists(core):
        os.unlink(core)

    def not_dumpable():
        conf = gm_conf(port + 1, w).split("groups = (")[0] + "groups = ();\n"
        with start(ctx, "nodump", conf, clear_in, empty) as g2:
            assert gdb_call(g2.proc.pid, "prctl(3, 0, 0, 0, 0)") == 0, "dumpable"
            assert g2.stop() == 0
    tap.check("without --allow-core-dump gvpnd is not dumpable (PR_GET_DUMPABLE 0)",
              not_dumpable)


def main():
    tap = Tap()
    ctx = {"gvpnd": sys.argv[1], "root": sys.argv[2], "work": sys.argv[3]}
    os.makedirs(ctx["work"], exist_ok=True)
    if shutil.which("gcore") is None:
        tap.skip("gcore", "gdb is not installed (scripts/setup.sh installs it)")
        return tap.done()
    test_core(ctx, tap)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
