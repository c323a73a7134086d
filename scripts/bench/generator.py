#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd fed by a real packet generator, the way users benchmark it:
dpdk-testpmd in txonly mode is the memif server, gvpnd's clear port the memif
client, ESP leaves through net_null. Outbound only (the generator makes clear
frames). For each frame size: the generator's offered rate, what gvpnd
encrypted, and what it dropped, read from both processes' telemetry over a
window after a warm-up.

  scripts/bench/generator.py [--sizes 64,512,1420] [--alg aes128-cbc-sha1]
                             [--window 3] [--flows 1] [--out FILE.jsonl]

On this 2-core machine testpmd's generating lcore and gvpnd's worker get a
core each; testpmd's main lcore sleeps between its statistics. With pktgen
instead of testpmd, see scripts/pktgen/README.md.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "pylib"))
sys.path.insert(0, HERE)
from gvpntest import wait_telemetry, write_rows  # noqa: E402
import traffic  # noqa: E402

FCS = 4


def conf(alg):
    a = traffic.ALGS[alg]
    auth = f'auth = "{a["auth"]}"; auth_key = "{a["auth_key"]}";' if a["auth"] else ""
    # testpmd's multi-flow mode varies the source address beyond any /16
    return f"""
ports = (
  {{ name = "clear"; role = "clear"; device = "net_memif0"; peer = "prot"; }},
  {{ name = "prot"; role = "protected"; device = "net_null0"; mtu = 1600; }}
);
groups = ( {{
  name = "bench"; id = 1;
  sas = ( {{ spi = {traffic.SPI}; src = "0.0.0.0/0"; dst = "198.51.100.0/24"; mirror = true;
            cipher = "{a["cipher"]}"; key = "{a["key"]}"; {auth} }} );
}} );
"""


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def one(a, size, work):
    tag = f"{os.getpid()}{size}"
    sock = os.path.join(work, f"gen{tag}.sock")
    path = os.path.join(work, "gvpnd.conf")
    with open(path, "w") as f:
        f.write(conf(a.alg))
    gen_cmd = [a.testpmd, "--no-huge", "--no-pci", "-l", "0,1", "-m", "512",
               "--file-prefix", f"gen{tag}", "--vdev", f"net_memif0,role=server,socket={sock}",
               "--", "--forward-mode=txonly", f"--txpkts={size - FCS - 14}",
               "--tx-ip=192.0.2.10,198.51.100.20", "--tx-udp=10000,5001", "--auto-start",
               "--nb-cores=1", "--total-num-mbufs=16384", "--stats-period=60"]
    if a.flows > 1:
        gen_cmd.append("--txonly-multi-flow")
    gv_cmd = [a.gvpnd, "--no-huge", "--no-pci", "-l", "0", "-m", "512",
              "--file-prefix", f"gv{tag}", "--log-level", "lib.*:error",
              "--vdev", f"net_memif0,role=client,socket={sock}",
              "--vdev", "net_null0,no-rx=1", "--", "-f", path]
    log = open(os.path.join(work, f"gen{size}.log"), "w")
    gen = subprocess.Popen(gen_cmd, stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    gv = None
    try:
        gt = wait_telemetry(f"gen{tag}", gen, probe="/ethdev/list")
        gv = subprocess.Popen(gv_cmd, stdout=log, stderr=subprocess.STDOUT)
        vt = wait_telemetry(f"gv{tag}", gv)
        time.sleep(a.warmup)

        def sample():
            s = vt("/gvpn/lcores")["total"]
            return time.time(), gt("/ethdev/stats,0")["opackets"], s
        t0, g0, s0 = sample()
        time.sleep(a.window)
        t1, g1, s1 = sample()
        dt = t1 - t0
        drops = {k: s1[k] - s0[k] for k in s1 if k.startswith("drop") and s1[k] != s0[k]}
        return {"bench": "generator", "generator": "dpdk-testpmd txonly", "link": "net_memif",
                "alg": a.alg, "size": size, "flows": a.flows,
                "offered_mpps": round((g1 - g0) / dt / 1e6, 3),
                "mpps": round((s1["encrypted"] - s0["encrypted"]) / dt / 1e6, 3),
                "gbps": round((s1["encrypted"] - s0["encrypted"]) / dt * size * 8 / 1e9, 3),
                "drops": drops}
    finally:
        if gv is not None:
            stop(gv)
        stop(gen)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="64,512,1420")
    ap.add_argument("--alg", default="aes128-cbc-sha1", choices=sorted(traffic.ALGS))
    ap.add_argument("--flows", type=int, default=1, help="1, or more: testpmd multi-flow")
    ap.add_argument("--window", type=float, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--gvpnd", default=os.path.join(ROOT, "build", "app", "gvpnd"))
    ap.add_argument("--testpmd", default="dpdk-testpmd")
    ap.add_argument("--out")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gvpn-gen-")
    rows = [one(a, int(s), work) for s in a.sizes.split(",")]
    print(f"{'size':>5} {'offered Mpps':>13} {'gvpnd Mpps':>11} {'Gbps':>7}  drops")
    for r in rows:
        print(f"{r['size']:>5} {r['offered_mpps']:>13} {r['mpps']:>11} {r['gbps']:>7}  {r['drops']}")
    if a.out:
        write_rows(a.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
