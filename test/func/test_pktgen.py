#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""scripts/bench/pktgen.py, as TAP: the CPU layout and the two command lines
it builds, pktgen's range commands, the rates it reads from a sample
recorded from a real run (pktgen-dpdk 23.06.1 and gvpnd over memif, 64 B
CBC+SHA1 outbound), and its "skipped" without a pktgen binary. With a
pktgen binary ($PKTGEN) it also runs one short case for real.

Usage: test_pktgen.py GVPND SOURCE_ROOT WORKDIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Tap, main_guard  # noqa: E402

# Two readings 2.044 s apart, 5 s into a run: pktgen's /ethdev/stats of its
# ports (per-queue arrays left out) and gvpnd's /gvpn/lcores total (the
# non-zero counts). gvpnd dropped what the full memif ring to pktgen's port
# 1 could not take (tx_full): pktgen's one lcore serves both ports.
SAMPLE = json.loads("""[
 {"time": 1796521435.856,
  "pktgen": {"0": {"ipackets": 0, "opackets": 229952, "ibytes": 0, "obytes": 13797120,
                   "imissed": 0, "ierrors": 0, "oerrors": 0, "rx_nombuf": 0},
             "1": {"ipackets": 225728, "opackets": 0, "ibytes": 26635904, "obytes": 0,
                   "imissed": 0, "ierrors": 0, "oerrors": 0, "rx_nombuf": 0}},
  "gvpnd": {"encrypted": 229952, "decrypted": 0, "drop_tx_full": 3200, "drop_no_sa": 0}},
 {"time": 1796521437.9,
  "pktgen": {"0": {"ipackets": 0, "opackets": 277632, "ibytes": 0, "obytes": 16657920,
                   "imissed": 0, "ierrors": 0, "oerrors": 0, "rx_nombuf": 0},
             "1": {"ipackets": 272960, "opackets": 0, "ibytes": 32209280, "obytes": 0,
                   "imissed": 0, "ierrors": 0, "oerrors": 0, "rx_nombuf": 0}},
  "gvpnd": {"encrypted": 277632, "decrypted": 0, "drop_tx_full": 3648, "drop_no_sa": 0}}
]""")


def load(root):
    sys.path.insert(0, os.path.join(root, "scripts", "bench"))
    import pktgen
    return pktgen


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    P = load(root)
    script = os.path.join(root, "scripts", "bench", "pktgen.py")

    def layouts():
        assert P.layout(2) == {"gvpnd": "0@1,1@0", "pktgen": "0@1,1@1", "matrix": "1.[0-1]"}
        assert P.layout(8) == {"gvpnd": "0@0,1@1", "pktgen": "0@2,1@3", "matrix": "1.[0-1]"}
        try:
            P.layout(1)
        except ValueError:
            return
        raise AssertionError("one CPU accepted")
    tap.check("layout: gvpnd's worker has a CPU to itself, on 2 CPUs and on more", layouts)

    def commands():
        lay = P.layout(2)
        socks = ["/run/x/a.sock", "/run/x/b.sock"]
        pg = P.pktgen_cmd("/opt/pktgen", "pg1", socks, lay, "/run/x/c.pkt")
        assert pg == ["/opt/pktgen", "--no-huge", "--no-pci", "-m", "4096", "--file-prefix", "pg1",
                      "--lcores", "0@1,1@1",
                      "--vdev", "net_memif0,role=server,socket=/run/x/a.sock",
                      "--vdev", "net_memif1,role=server,socket=/run/x/b.sock",
                      "--", "-P", "-m", "1.[0-1]", "-f", "/run/x/c.pkt"], pg
        pg = P.pktgen_cmd("/opt/pktgen", "pg1", socks, lay, "/run/x/c.pkt", pcap="/run/x/e.pcap")
        assert pg[-2:] == ["-s", "0:/run/x/e.pcap"], pg
        gv = P.gvpnd_cmd("/opt/gvpnd", "gv1", socks, lay, "/run/x/g.conf")
        assert gv == ["/opt/gvpnd", "--no-huge", "--no-pci", "-m", "1024", "--file-prefix", "gv1",
                      "--lcores", "0@1,1@0", "--log-level", "lib.*:error",
                      "--vdev", "net_memif0,role=client,socket=/run/x/a.sock",
                      "--vdev", "net_memif1,role=client,socket=/run/x/b.sock",
                      "--", "-f", "/run/x/g.conf"], gv
        out, inb = P.gvpnd_conf("out", "aes128-gcm"), P.gvpnd_conf("in", "aes128-gcm")
        assert 'role = "clear"; device = "net_memif0"' in out, out
        assert 'role = "clear"; device = "net_memif1"' in inb, inb
    tap.check("commands: pktgen serves both memif sockets, gvpnd is their client; inbound "
              "swaps gvpnd's ports and replays the ESP capture on pktgen port 0", commands)

    def range_mode():
        c = P.range_commands(1420, 1024)
        for want in ("set 0 size 1420", "range 0 size 1420 1420 1420 0",
                     "range 0 src port 10000 10000 11023 1", "set 0 dst ip 198.51.100.20",
                     "enable 0 range"):
            assert want in c, (want, c)
        assert c[-1] == "start 0" and c[0] == "stop all", c
    tap.check("range commands: the size, 1024 flows as source ports 10000-11023, start last",
              range_mode)

    def parse_sample():
        a, b = SAMPLE
        p0 = {int(k): v for k, v in a["pktgen"].items()}
        p1 = {int(k): v for k, v in b["pktgen"].items()}
        r = P.rates(p0, p1, a["gvpnd"], b["gvpnd"], b["time"] - a["time"], "out")
        dt = 2.044
        assert abs(r["mpps"] - 47232 / dt / 1e6) < 1e-6, r
        assert abs(r["offered_mpps"] - 47680 / dt / 1e6) < 1e-6, r
        assert abs(r["gvpnd_mpps"] - 47680 / dt / 1e6) < 1e-6, r
        assert r["lost"] == {"drop_tx_full": 448}, r
        args = type("A", (), {"dir": "out", "alg": "aes128-cbc-sha1", "flows": 1024,
                              "warmup": 45, "window": 2})
        row = P.row(args, 64, [r, dict(r, mpps=0.03), dict(r, mpps=0.01)], P.layout(2))
        assert row["mpps"] == round(r["mpps"], 4) and row["extra"] == {"drop_tx_full": 1344}, row
        for k in ("impl", "dir", "alg", "size", "flows", "lcores", "mpps", "gbps", "reps"):
            assert k in row, (k, row)
    tap.check("a recorded sample: Mpps at pktgen's port 1 RX, offered at port 0, gvpnd's "
              "encrypted rate and its tx_full drops; the row holds the median sample", parse_sample)

    def skipped():
        env = {k: v for k, v in os.environ.items() if k != "PKTGEN"}
        env["PATH"] = "/usr/bin:/bin"
        r = subprocess.run(["/usr/bin/python3", script, "--pktgen", "/nonexistent/pktgen"],
                           capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 77, r
        assert "scripts/pktgen/README.md says how to build" in r.stderr, r.stderr
    tap.check("no pktgen binary: says where to get one and exits 77 (skipped)", skipped)

    binary = os.environ.get("PKTGEN")
    if not binary or not os.access(binary, os.X_OK):
        tap.skip("a real run through pktgen", "no pktgen binary ($PKTGEN)")
        return tap.done()

    def real():
        out = os.path.join(work, "pktgen.jsonl")
        if os.path.exists(out):
            os.remove(out)
        r = subprocess.run(["/usr/bin/python3", script, "--pktgen", binary, "--gvpnd", gvpnd,
                            "--sizes", "64", "--warmup", "10", "--samples", "2", "--out", out],
                           capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, r
        row = json.loads(open(out).read().splitlines()[0])
        assert row["mpps"] > 0 and min(row["gvpnd_mpps"]) > 0, row
    tap.check("a real run through pktgen: a row with packets at pktgen's RX", real)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
