#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The benchmark's smoke run, as TAP: scripts/bench/run.sh --smoke drives
gvpnd end to end (pcap traffic in, ESP out to a null device, counters read
over telemetry) and must produce a gvpnd row with a non-zero rate.

Usage: test_bench_smoke.py GVPND SOURCE_ROOT WORKDIR
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Tap, main_guard  # noqa: E402


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    results = os.path.join(work, "smoke.jsonl")
    if os.path.exists(results):
        os.remove(results)
    esptool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(gvpnd))),
                           "test", "tools", "gvpn-esptool")
    cmd = [os.path.join(root, "scripts", "bench", "run.sh"), "--smoke", "--gvpnd", os.path.abspath(gvpnd),
           "--esptool", esptool, "--out", results]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    tap.result(r.returncode == 0, "bench: run.sh --smoke exits 0",
               f"exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    tap.result("gvpnd" in r.stdout and "Mpps" in r.stdout, "bench: the table is printed",
               r.stdout + r.stderr)

    def row():
        rows = [json.loads(line) for line in open(results) if line.strip()]
        g = [x for x in rows if x["impl"] == "gvpnd"]
        assert g, f"no gvpnd row in {rows}"
        x = g[0]
        for k in ("impl", "dir", "alg", "size", "flows", "lcores", "mpps", "gbps"):
            assert k in x, f"{k} missing from {x}"
        assert x["mpps"] > 0 and x["gbps"] > 0, x
        assert x["extra"].get("encrypted", 0) > 0, f"nothing encrypted: {x}"
        drops = {k: v for k, v in x["extra"].items() if k.startswith("drop")}
        assert not drops, f"gvpnd dropped packets: {drops}"
    tap.check("bench: a gvpnd row with mpps > 0, packets encrypted, no drops", row)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
