#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd's worker cycles by pipeline stage, from a perf recording.

profile.sh records the worker lcore; this splits each sample by where it
landed. A sample in a shared library belongs to that library (crypto, the
PMDs, rte_hash, rte_acl...). A sample in gvpnd itself is followed through
the inlining (addr2line -i, so the binary needs debug info: -Ddebug=true,
which changes no code) to the innermost gvpnd function that names a stage:
a byte swap inlined into the ESP encapsulation counts as encapsulation.

usage: stages.py PERF_DATA GVPND --comm COMM --cycles CPP [--json]

CPP is the worker's cycles per packet (clock / rate); each row is its share
of the samples times CPP.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

# gvpnd's functions by stage; a function not listed is looked through to the
# one it was inlined into.
STAGES = [
    ("parse and classify", """worker_set_l2l3 worker_parse worker_key decide worker_classify
        gvpn_policy_classify worker_vlan_skip worker_arp_is_own worker_has_ports worker_parse6
        worker_ipv6_walk worker_ipv6_len worker_key6 gather6 decide_from worker_classify6
        gvpn_policy_classify6 gvpn_policy_classify_ctx"""),
    ("flow and SA lookup", """worker_lookup_flows front_halves front_set front_put flow_encode
        flow_decode worker_decrypt_key lookup_sa max_inner rte_hash_crc worker_lookup_flows6"""),
    ("encapsulation", """gvpn_esp_encrypt_burst esp_encap_select esp_encap_run esp_encap_one
        encap_any encap_cbc16 encap_gcm cksum_fold iv_random iv_random16 iv_counter stamp_off
        stamp_ntp clock_now gvpn_esp_clock_now esp_encap_one6 esp_encap_tail encap_any6
        encap_cbc16_6 encap_gcm6 stamp_ntp4 stamp_ntp6"""),
    ("decapsulation", """gvpn_esp_decrypt_burst esp_check_one esp_decap_one ecn_set check_off
        check_ntp inner_allowed esp_check_one6 esp_decap_one6 esp_check_run esp_open_run
        outer6_check ecn6_of ecn6_set check4 open4 check6 open6 inner_allowed6 inner_ports"""),
    ("crypto submission", """mb_process mb_run mb_chunk_route mb_run_jobs mb_run_cbc_hmac
        mb_run_gcm mb_run_gmac mb_fill_common mb_fill_hmac_job mb_gcm_nonce mb_fill_job mb_icv_eq
        mb_outcome mb_complete esp_keep esp_finish"""),
    ("TX", "worker_tx out_flush"),
    ("fragments and ICMP", """worker_frag_expire worker_reassemble worker_fragment
        worker_icmp_too_big worker_frag_chunk worker_frag_count worker_reassemble6 frag_done"""),
    ("drops", "worker_drop esp_drop"),
    ("burst loop and inbox", """gvpn_worker_poll gvpn_worker_outbound gvpn_worker_inbound
        worker_inbox_drain apply sender_ivs inbound6 outbound6 in_clear in_decrypt
        out_clear"""),
]
STAGE_OF = {f: name for name, fs in STAGES for f in fs.split()}

# shared libraries by what they do
LIBS = [
    ("crypto library", re.compile(r"IPSec_MB|libcrypto")),
    ("PMDs (RX and TX)", re.compile(r"librte_net_|librte_ethdev|pmds-")),
    ("rte_hash", re.compile(r"librte_hash")),
    ("rte_acl", re.compile(r"librte_acl")),
    ("mbufs and rings", re.compile(r"librte_mbuf|librte_mempool|librte_ring")),
]
# which part of the table each row belongs to
OWN = [name for name, _ in STAGES]


def samples(perf_data, comm):
    """(period, dso, symbol, offset) of each sample of the worker thread."""
    r = subprocess.run(["perf", "script", "-i", perf_data, "--comms", comm, "-G",
                        "-F", "period,ip,sym,symoff,dso"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"stages.py: perf script failed: {r.stderr.strip()}")
    line_re = re.compile(r"^\s*(\d+)\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$")
    for line in r.stdout.splitlines():
        m = line_re.match(line)
        if not m:
            continue
        period, sym, dso = int(m.group(1)), m.group(2), m.group(3)
        off = 0
        if "+0x" in sym:
            sym, o = sym.rsplit("+0x", 1)
            off = int(o, 16)
        yield period, dso, sym, off


def symbols(binary):
    """Address of each function symbol of the binary."""
    r = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"stages.py: nm {binary}: {r.stderr.strip()}")
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            out.setdefault(parts[2], int(parts[0], 16))
    return out


def inline_chains(binary, addrs):
    """Innermost-first function names of each address (addr2line -i)."""
    addrs = sorted(addrs)
    if not addrs:
        return {}
    r = subprocess.run(["addr2line", "-f", "-i", "-a", "-e", binary],
                       input="".join(f"{a:#x}\n" for a in addrs), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"stages.py: addr2line: {r.stderr.strip()}")
    chains, cur = {}, None
    lines = r.stdout.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("0x"):
            cur = int(lines[i], 16)
            chains[cur] = []
            i += 1
            continue
        chains[cur].append(lines[i])  # function, then its file:line
        i += 2
    return chains


def has_debug_info(binary):
    r = subprocess.run(["readelf", "-S", binary], capture_output=True, text=True)
    return ".debug_info" in r.stdout


def stage_of(chain, sym):
    for f in chain + [sym]:
        if f in STAGE_OF:
            return STAGE_OF[f]
    return "gvpnd, other"


def split(perf_data, binary, comm):
    """Sample periods by row name, and the total."""
    own = os.path.realpath(binary)
    rows = collections.Counter()
    mine = []
    for period, dso, sym, off in samples(perf_data, comm):
        if os.path.realpath(dso) == own if os.path.exists(dso) else dso == binary:
            mine.append((period, sym, off))
            continue
        name = next((n for n, rx in LIBS if rx.search(dso)), None)
        if name is None:
            name = "kernel" if "kernel" in dso else "other libraries"
        rows[name] += period
    syms = symbols(binary)
    addrs = {syms[s] + off for _, s, off in mine if s in syms}
    chains = inline_chains(binary, addrs)
    for period, sym, off in mine:
        chain = chains.get(syms[sym] + off, []) if sym in syms else []
        rows[stage_of(chain, sym)] += period
    return rows, sum(rows.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("perf_data")
    ap.add_argument("gvpnd")
    ap.add_argument("--comm", required=True)
    ap.add_argument("--cycles", type=float, required=True, help="worker cycles per packet")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not has_debug_info(a.gvpnd):
        print(f"stages.py: {a.gvpnd} has no debug info, so inlined code cannot be told apart: "
              "build it with -Ddebug=true (same code, e.g. meson setup build-perf "
              "--buildtype=release -Ddebug=true)", file=sys.stderr)
        return 2
    rows, total = split(a.perf_data, a.gvpnd, a.comm)
    if total == 0:
        print("stages.py: no samples of the worker", file=sys.stderr)
        return 1
    cyc = {k: v * a.cycles / total for k, v in rows.items()}
    if a.json:
        print(json.dumps({k: round(v, 1) for k, v in cyc.items()}, sort_keys=True))
        return 0
    own = [k for k in OWN + ["gvpnd, other"] if k in cyc]
    other = sorted((k for k in cyc if k not in own), key=lambda k: -cyc[k])
    print(f"{'stage':<26} {'cyc/pkt':>8} {'share':>6}")
    for k in own:
        print(f"  {k:<24} {cyc[k]:8.1f} {100 * rows[k] / total:5.1f}%")
    mine = sum(cyc[k] for k in own)
    print(f"{'gvpnd own work':<26} {mine:8.1f} {100 * mine / a.cycles:5.1f}%")
    for k in other:
        print(f"  {k:<24} {cyc[k]:8.1f} {100 * rows[k] / total:5.1f}%")
    print(f"{'total':<26} {a.cycles:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
