#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Which pages of gvpnd's memory become resident, and when: every EVERY
seconds, the present pages (/proc/PID/pagemap) of each DPDK memory mapping
(/memfd:nohuge, rtemap_*), anonymous mapping and libc heap of every gvpnd
whose command line contains MATCH; each change is a JSON line with the new
page ranges (address, kB). Read next to DPDK's memzones (/eal/memzone_info)
it tells which allocation the growth of the RSS is in. Needs root.

  scripts/bench/pagewatch.py --match soak- --every 10 --seconds 300 --out pages.jsonl
"""
import argparse
import json
import os
import struct
import time

PAGE = 4096


def gvpnds(match):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"gvpnd") and any(match.encode() in x for x in argv):
            out.append(int(p))
    return out


def mappings(pid):
    for line in open(f"/proc/{pid}/maps"):
        f = line.split()
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        name = f[5] if len(f) > 5 else "[anon]"
        if "nohuge" in name or "rtemap" in name or name in ("[anon]", "[heap]"):
            yield lo, hi, name


def present(pid, lo, hi):
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(lo // PAGE * 8)
        data = f.read((hi - lo) // PAGE * 8)
    return {lo + i * PAGE for i, (v,) in enumerate(struct.iter_unpack("<Q", data)) if v >> 63}


def ranges(pages):
    out = []
    for p in sorted(pages):
        if out and p == out[-1][1]:
            out[-1][1] = p + PAGE
        else:
            out.append([p, p + PAGE])
    return [(hex(lo), (hi - lo) // 1024) for lo, hi in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--match", default="--file-prefix", help="part of gvpnd's command line")
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    prev = {}
    t0 = time.time()
    with open(a.out, "a") as log:
        while time.time() - t0 < a.seconds:
            for pid in gvpnds(a.match):
                try:
                    maps = list(mappings(pid))
                except OSError:
                    continue
                for lo, hi, name in maps:
                    try:
                        now = present(pid, lo, hi)
                    except OSError:
                        continue
                    key = (pid, lo, name)
                    if key in prev and now != prev[key]:
                        new = ranges(now - prev[key])
                        log.write(json.dumps({
                            "t": round(time.time() - t0), "pid": pid, "map": name,
                            "start": hex(lo), "kb": len(now) * 4,
                            "new_kb": len(now - prev[key]) * 4,
                            "gone_kb": len(prev[key] - now) * 4, "new": new[:100],
                            "new_ranges": len(new)}) + "\n")
                        log.flush()
                    prev[key] = now
            time.sleep(a.every)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
