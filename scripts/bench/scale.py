#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""SA and flow scale: gvpnd's outbound Mpps and memory with many SAs and
many flows.

  scripts/bench/scale.py [--sas 1,100,1000,10000] [--flows 1000,1000000] [--out FILE.jsonl]

Each case is one gvpnd (one lcore, AES-128-CBC + HMAC-SHA1-96, 64-byte
frames) whose static groups hold SAS SAs with distinct selectors (SA i
protects 10.(i/256).(i%256).0/24 -> 198.51.100.0/24; 1000 SAs per group, as
many groups as needed). The traffic is a pcap of FLOWS distinct UDP flows
spread evenly over the SAs. Up to 4096 flows the pcap is replayed from
memory (infinite_rx) and measured for 3 s after a second of warm-up; above,
it is written over and over (about 4 million packets) and read once, since
a million flows would need a million mbufs to replay from memory: the first
pass creates the flows (rule lookup, flow-cache insert), the rate is
measured over the later passes, when every flow is cached. The flow cache
is sized to twice the flow count (dataplane.flows).

Memory: gvpnd's resident set (VmRSS) once every flow is in the cache, and
the flow cache's own size from /gvpn/flows. Runs with --no-huge: every
DPDK allocation is in the resident set.
"""
import argparse
import os
import struct
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

PER_GROUP = 1000
FRAME = 60  # 64 bytes with the FCS
STREAMED = 4_000_000  # packets of a streamed run
REPLAYED = 4096       # at most this many flows are replayed from memory (infinite_rx)


def ip_sum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def write_pcap(path, n_sas, n_flows, passes):
    """n_flows flows over n_sas SAs, `passes` times; written with struct (a
    million scapy packets would take minutes)."""
    eth = bytes.fromhex("020000000002" "020000000001" "0800")
    payload = bytes(FRAME - 14 - 20 - 8)
    frames = []
    for f in range(n_flows):
        sa = f % n_sas
        host = f // n_sas
        src = (10 << 24) | (sa << 8) | (1 + host % 250)
        sport = 1024 + (host // 250) % 60000
        hdr = struct.pack("!BBHHHBBHII", 0x45, 0, FRAME - 14, f & 0xffff, 0, 64, 17, 0, src,
                          (198 << 24) | (51 << 16) | (100 << 8) | 20)
        hdr = hdr[:10] + struct.pack("!H", ip_sum(hdr)) + hdr[12:]
        udp = struct.pack("!HHHH", sport, 5001, 8 + len(payload), 0)
        frames.append(eth + hdr + udp + payload)
    rec = [struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr for fr in frames]
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        body = b"".join(rec)
        for _ in range(passes):
            out.write(body)
    return n_flows * passes


def conf(n_sas, n_flows):
    a = traffic.ALGS["aes128-cbc-sha1"]
    groups = []
    for g in range((n_sas + PER_GROUP - 1) // PER_GROUP):
        sas = []
        for i in range(g * PER_GROUP, min(n_sas, (g + 1) * PER_GROUP)):
            sas.append(f'{{ spi = {0x10000 + i}; src = "10.{i >> 8}.{i & 255}.0/24"; '
                       f'dst = "198.51.100.0/24"; cipher = "{a["cipher"]}"; key = "{a["key"]}"; '
                       f'auth = "{a["auth"]}"; auth_key = "{a["auth_key"]}"; }}')
        groups.append(f'{{ name = "g{g}"; id = {g + 1}; sas = ( {", ".join(sas)} ); }}')
    flows = max(1024, 1 << (2 * n_flows - 1).bit_length())
    return f"""
ports = (
  {{ name = "clear"; role = "clear"; device = "net_pcap0"; peer = "prot"; }},
  {{ name = "prot"; role = "protected"; device = "net_null0"; mtu = 1600; }}
);
dataplane = {{ flows = {flows}; }};
groups = ( {", ".join(groups)} );
"""


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def one(a, n_sas, n_flows, work):
    pcap = os.path.join(work, f"scale-{n_sas}-{n_flows}.pcap")
    replay = n_flows <= REPLAYED
    passes = 1 if replay else max(3, -(-STREAMED // n_flows))
    total = write_pcap(pcap, n_sas, n_flows, passes)
    path = os.path.join(work, "gvpnd.conf")
    with open(path, "w") as f:
        f.write(conf(n_sas, n_flows))
    prefix = f"scale{os.getpid()}{n_sas}x{n_flows}"
    cmd = [a.gvpnd, "--no-huge", "--no-pci", "-l", "0", "-m", str(a.mem),
           "--file-prefix", prefix, "--log-level", "lib.*:error",
           "--vdev", f"net_pcap0,rx_pcap={pcap}" + (",infinite_rx=1" if replay else ""),
           "--vdev", "net_null0,no-rx=1",
           "--", "-f", path]
    log = open(os.path.join(work, "gvpnd.log"), "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.time() + 60
        try:
            tel = wait_telemetry(prefix, p, timeout=60)  # 10 000 SAs take a while
        except RuntimeError as e:
            raise RuntimeError(f"gvpnd {e}: see {log.name}") from None
        samples = []
        rss = 0
        window_end = None
        while time.time() < end:
            t = (tel("/gvpn/lcores") or {}).get("total")
            if t is None:
                time.sleep(0.05)
                continue
            samples.append((time.time(), t["encrypted"]))
            if t["encrypted"] >= n_flows and not rss:
                rss = rss_kb(p.pid)
                flows = tel("/gvpn/flows")
                first = t
                window_end = time.time() + 4 if replay else None
            if window_end is not None and time.time() >= window_end:
                break
            if len(samples) > 3 and samples[-1][1] == samples[-4][1] and samples[-1][1] > 0:
                break
            time.sleep(0.02)
        done = samples[-1][1]
        # drops once every flow had been seen (before, the rule tables of
        # many groups may still be arriving at the worker)
        drops = {k: t[k] - first[k] for k in t if k.startswith("drop") and t[k] != first[k]}
        last = tel("/gvpn/flows")
        if replay:  # one second of warm-up after the flows exist, then the rest
            t_lo = next(s[0] for s in samples if s[1] >= n_flows) + 1
            inside = [s for s in samples if s[0] >= t_lo]
        else:  # the passes after the first, every flow cached
            lo, hi = n_flows + n_flows // 10, done - n_flows // 10
            inside = [s for s in samples if lo <= s[1] <= hi]
        if len(inside) < 2:
            raise RuntimeError(f"too few samples ({len(inside)}): a longer run is needed")
        (t0, e0), (t1, e1) = inside[0], inside[-1]
        return {"bench": "scale", "alg": "aes128-cbc-sha1", "size": 64, "sas": n_sas,
                "flows": n_flows, "packets": total, "encrypted": done,
                "mpps": round((e1 - e0) / (t1 - t0) / 1e6, 3), "rss_mb": round(rss / 1024, 1),
                "flow_cache": {"flows": flows.get("flows"), "capacity": flows.get("capacity"),
                               "hit_rate_pct_after_first_pass": round(
                                   100 * (last["hits"] - flows["hits"]) /
                                   max(1, last["hits"] - flows["hits"] + last["misses"] -
                                       flows["misses"]))},
                "drops": drops}
    finally:
        p.terminate()
        p.wait(timeout=20)
        os.unlink(pcap)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sas", default="1,100,1000,10000")
    ap.add_argument("--flows", default="1000,1000000")
    ap.add_argument("--gvpnd", default=os.path.join(ROOT, "build", "app", "gvpnd"))
    ap.add_argument("--mem", type=int, default=2048, help="gvpnd -m (MB)")
    ap.add_argument("--out")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gvpn-scale-")
    rows = []
    for s in (int(x) for x in a.sas.split(",")):
        for f in (int(x) for x in a.flows.split(",")):
            rows.append(one(a, s, max(f, s), work))
            r = rows[-1]
            print(f"{r['sas']:>6} SAs {r['flows']:>8} flows: {r['mpps']:>6} Mpps, "
                  f"RSS {r['rss_mb']} MB, flow cache {r['flow_cache']}, drops {r['drops']}",
                  flush=True)
    if a.out:
        write_rows(a.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
