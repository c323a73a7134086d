#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The benchmark's smoke runs, as TAP: scripts/bench/run.sh --smoke drives
gvpnd end to end (pcap traffic in, ESP out to a null device, counters read
over telemetry) and must produce a gvpnd row with a non-zero rate; the
rekey, scale and generator modes run briefly and must produce their rows,
and gvpn-imbcost a cost for each of its cases.

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

    def families():
        """IPv4 and IPv6 in one run, tagged, both ways: a row for each, every
        packet encrypted or decrypted (scripts/bench/traffic.py makes IPv6 and
        802.1Q frames, gvpn-esptool the IPv6 ESP)."""
        out = os.path.join(work, "families.jsonl")
        if os.path.exists(out):
            os.remove(out)
        r = subprocess.run(cmd[:-1] + [out, "--family", "ipv4,ipv6", "--sizes", "78",
                                       "--dirs", "out,in", "--vlan", "7"],
                           capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
        rows = {(x["dir"], x["family"]): x
                for x in (json.loads(ln) for ln in open(out) if ln.strip())}
        assert set(rows) == {(d, f) for d in ("out", "in") for f in ("ipv4", "ipv6")}, rows
        for (d, f), x in rows.items():
            done = x["extra"].get("encrypted" if d == "out" else "decrypted", 0)
            assert x["vlan"] == 7 and x["mpps"] > 0 and done > 0, x
            drops = {k: v for k, v in x["extra"].items() if k.startswith("drop")}
            assert not drops, f"{d} {f}: gvpnd dropped packets: {drops}"
        assert " v6+q " in r.stdout and " v4+q " in r.stdout, r.stdout
    tap.check("bench: --family ipv4,ipv6 --vlan 7 at 78 B, both ways: four rows, nothing dropped",
              families)
    for bad, why in ((["--family", "ipv6", "--sizes", "64"], "cannot hold IPv6"),
                     (["--vlan", "5000"], "--vlan"),
                     (["--vlan", "7", "--systems", "gvpnd,secgw"], "ipsec-secgw does not look")):
        r = subprocess.run(cmd + bad, capture_output=True, text=True, timeout=60)
        tap.result(r.returncode == 2 and why in r.stderr, f"bench: {' '.join(bad)} is refused",
                   f"exit {r.returncode}\n{r.stderr}")

    def before():
        """--gvpnd-before: a second binary takes turns with the first; both
        get a row and the table compares them."""
        out = os.path.join(work, "before.jsonl")
        if os.path.exists(out):
            os.remove(out)
        r = subprocess.run(cmd[:-1] + [out, "--gvpnd-before", os.path.abspath(gvpnd)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
        rows = {x["impl"]: x for x in (json.loads(ln) for ln in open(out) if ln.strip())}
        assert set(rows) == {"gvpnd", "gvpnd-before"}, rows
        assert all(x["mpps"] > 0 and x["extra"].get("encrypted", 0) > 0 for x in rows.values()), rows
        assert "g/before" in r.stdout and "before" in r.stdout.splitlines()[1], r.stdout
    tap.check("bench: --gvpnd-before measures a second binary in turn, a row each, g/before",
              before)
    r = subprocess.run(cmd + ["--gvpnd-before", os.path.join(work, "no-such-gvpnd")],
                       capture_output=True, text=True, timeout=60)
    tap.result(r.returncode == 2 and "--gvpnd-before" in r.stderr,
               "bench: --gvpnd-before with no binary there is refused",
               f"exit {r.returncode}\n{r.stderr}")

    def mode(name, args, check):
        out = os.path.join(work, f"{name}.jsonl")
        if os.path.exists(out):
            os.remove(out)
        r = subprocess.run([os.path.join(root, "scripts", "bench", "run.sh"), name,
                            "--gvpnd", os.path.abspath(gvpnd), "--out", out] + args,
                           capture_output=True, text=True, timeout=240)
        assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
        rows = [json.loads(line) for line in open(out) if line.strip()]
        assert rows, r.stdout
        for x in rows:
            check(x)

    def rekey(x):
        assert x["pushes_applied"] >= 2 and x["lost"] == 0 and x["mpps_decrypted"] > 0, x

    def scale(x):
        assert x["sas"] == 40 and x["mpps"] > 0 and x["rss_mb"] > 0 and not x["drops"], x

    def generator(x):
        assert x["mpps"] > 0 and not x["drops"], x
    tap.check("bench: run.sh rekey (5 s): pushes applied, nothing lost",
              lambda: mode("rekey", ["--seconds", "5"], rekey))
    tap.check("bench: run.sh scale (40 SAs, 1000 flows): a row with Mpps and memory",
              lambda: mode("scale", ["--sas", "40", "--flows", "1000"], scale))
    tap.check("bench: run.sh generator (64 B, 1 s): testpmd's traffic encrypted",
              lambda: mode("generator", ["--sizes", "64", "--window", "1"], generator))

    def imbcost():
        tool = os.path.join(os.path.dirname(esptool), "gvpn-imbcost")
        r = subprocess.run([tool, "--burst", "32", "--ops", "2000"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        rows = {line.split("|")[0].strip(): line for line in r.stdout.splitlines()[3:]}
        assert set(rows) == {"48", "496", "1408", "imix"}, r.stdout
        for name, line in rows.items():
            costs = [float(x) for x in line.replace("|", " ").split()[1:]]
            assert len(costs) == 8 and all(c > 0 for c in costs), line
        r = subprocess.run([tool, "--burst", "0"], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "usage" in r.stderr, r
    tap.check("bench: gvpn-imbcost prints a cost for every route and length", imbcost)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
