#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Soak under rekeys: two gvpnd members and the test key server for MINUTES,
numbered traffic both ways at a steady rate, a GROUPKEY-PUSH every INTERVAL
seconds and a pull re-registration every few minutes. Reports packets lost
(sequence numbers sent and not received), drops by reason, pushes and pulls
applied, and the growth of memory, mempool use, flows and SAs after warm-up.

  scripts/bench/run.sh soak [--minutes 3] [--rate 5000] [--interval 10]
                        [--pull-every S] [--warmup 60] [--out FILE.jsonl]
  scripts/bench/soak.py [--warmup 60] growth results/soak-*-samples.jsonl

Layout (network namespaces soak<pid>g, soak<pid>a, soak<pid>b):

  host A 192.0.2.10 --veth-- [gvpnd A] ==net_memif== [gvpnd B] --veth-- host B 198.51.100.20
                      af_packet       (ESP)                af_packet
                           key server 127.0.0.1:848 (members 127.0.0.1, 127.0.0.2)

Both members run in soak<pid>g, each on a core of its own (lcore 0 and 1),
the hosts in soak<pid>a and soak<pid>b. Each host runs `soak.py send`: UDP
datagrams numbered from 0 at RATE per second over FLOWS source ports toward
the other host, and `soak.py recv`, which marks every number it gets. No
mempool, ring or socket can hide a datagram: it is received or missing. A
loss gvpnd did not count shows in the receiving host's kernel counters (UDP
receive errors, veth drops), which the report gives next to it.

Pushes cycle through: a new TEK (ATD 2 s, DTD 15 s), a Delete of the TEK it
replaced (inside its DTD), a new KEK (its own RSA key). Pulls
(/gvpn/group/register on both members) come between pushes, when one TEK is
current. Every SAMPLE seconds: each member's VmRSS (split into DPDK's memory
and the rest), libc's heap, DPDK's heap, its mempools' objects in use
(/gvpn/mempools), flow cache entries, SAs, every counter.

Exit status 1 when a datagram was lost, a drop counted for a key reason, a
push not applied by both members, or the RSS outside DPDK's memory, libc's
heap, DPDK's heap, mempool use, flows or SAs grew after warm-up beyond their
slack. The resident part of DPDK's memory is shown, not judged (see GROWTH).
"""
import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3"

MAGIC = 0x534F414B  # "SOAK"
HDR = struct.Struct("!IIQ")  # magic, flow, sequence number
PORT = 5001
PSK = "soak-group-pre-shared-key-0123456789"
# drops a key change could cause (a missing, wrong or deleted SA)
KEY_DROPS = ("drop_no_sa", "drop_no_rule", "drop_esp_bad_spi", "drop_esp_bad_icv",
             "drop_esp_replay_window", "drop_esp_bad_stamp", "drop_esp_bad_padding",
             "drop_inner_policy", "drop_clear_in_policy")


# ------------------------------------------------------------ the traffic

def write_status(path, st):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({**st, "ts": time.time()}, f)
    os.replace(tmp, path)


def send_main(a):
    """Send datagrams numbered 0..RATE*SECONDS-1 to a.dst from a.start on,
    paced at a.rate, round robin over a.flows source ports."""
    tx = []
    for i in range(a.flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, 32, 4 << 20)  # SO_SNDBUFFORCE (root)
        s.bind(("0.0.0.0", 40000 + i))
        tx.append(s)
    total = int(a.rate * a.seconds)
    st = {"sent": 0, "send_errors": 0, "rate": a.rate, "total": total}
    pad = bytes(max(0, a.size - HDR.size))
    dst = (a.dst, PORT)
    time.sleep(max(0.0, a.start - time.time()))
    t0 = a.start
    last = 0.0
    while st["sent"] < total:
        now = time.time()
        due = min(total, int((now - t0) * a.rate) + 1)
        while st["sent"] < due:
            n = st["sent"]
            try:
                tx[n % a.flows].sendto(HDR.pack(MAGIC, n % a.flows, n) + pad, dst)
            except OSError:
                st["send_errors"] += 1  # the number stays unsent: counted as lost
            st["sent"] += 1
        if now - last >= 1:
            last = now
            write_status(a.status, st)
        time.sleep(0.002)
    st["done"] = True
    write_status(a.status, st)
    return 0


def recv_main(a):
    """Mark every numbered datagram received until a.start + a.seconds +
    a.linger; then list the numbers never received, as runs."""
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE (root)
    rx.bind(("0.0.0.0", PORT))
    rx.settimeout(0.2)
    total = int(a.rate * a.seconds)
    seen = bytearray(total)
    st = {"received": 0, "dups": 0, "reordered": 0, "foreign": 0, "max_seq": -1}
    end = a.start + a.seconds + a.linger
    last = 0.0
    while True:
        now = time.time()
        if now >= end:
            break
        if now - last >= 1:
            last = now
            write_status(a.status, st)
        try:
            d = rx.recv(4096)
        except socket.timeout:
            continue
        if len(d) < HDR.size:
            st["foreign"] += 1
            continue
        magic, _, seq = HDR.unpack_from(d)
        if magic != MAGIC or seq >= total:
            st["foreign"] += 1
            continue
        if seen[seq]:
            st["dups"] += 1
            continue
        seen[seq] = 1
        st["received"] += 1
        if seq < st["max_seq"]:
            st["reordered"] += 1
        else:
            st["max_seq"] = seq
    missing = []
    seq = seen.find(0)
    while seq != -1:
        nxt = seen.find(1, seq)
        stop = total if nxt == -1 else nxt
        missing.append([seq, stop - seq])
        seq = -1 if nxt == -1 else seen.find(0, nxt)
    st.update(done=True, missing=missing[:1000], missing_runs=len(missing))
    write_status(a.status, st)
    return 0


# -------------------------------------------------------------- the setup

def sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r.stdout


class Lab:
    """Namespaces soak<pid>{g,a,b}: the members in g, a host in a and b."""

    def __init__(self):
        t = f"soak{os.getpid()}"
        self.g, self.a, self.b = f"{t}g", f"{t}a", f"{t}b"

    def __enter__(self):
        try:
            for ns in (self.g, self.a, self.b):
                sh("ip", "netns", "add", ns)
                sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.g, "addr", "add", "127.0.0.2/8", "dev", "lo")
            for x, ns, addr, other in (("a", self.a, "192.0.2.10", "198.51.100.0/24"),
                                       ("b", self.b, "198.51.100.20", "192.0.2.0/24")):
                sh("ip", "link", "add", "host", "netns", ns, "type", "veth", "peer", "name",
                   f"clr{x}", "netns", self.g)
                sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", "host")
                sh("ip", "-n", ns, "link", "set", "host", "up")
                sh("ip", "-n", ns, "route", "add", other, "dev", "host")
                # af_packet hands over what the kernel sends: no partial checksums
                sh("ip", "netns", "exec", ns, "ethtool", "-K", "host", "tx", "off")
                sh("ip", "-n", self.g, "link", "set", f"clr{x}", "up")
            # each host knows the other's MAC: no ARP through the tunnel
            mac = {ns: json.loads(sh("ip", "-j", "-n", ns, "link", "show", "host"))[0]["address"]
                   for ns in (self.a, self.b)}
            sh("ip", "-n", self.a, "neigh", "replace", "198.51.100.20", "lladdr", mac[self.b],
               "dev", "host", "nud", "permanent")
            sh("ip", "-n", self.b, "neigh", "replace", "192.0.2.10", "lladdr", mac[self.a],
               "dev", "host", "nud", "permanent")
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for ns in (self.g, self.a, self.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def ks_conf():
    return {"listen": "127.0.0.1", "port": 848, "psk": PSK,
            "groups": [{"id": 1001, "atd": 2, "dtd": 15,
                        "kek": {"algorithm": "aes-cbc", "key_bits": 128, "sig_hash": "sha256",
                                "rsa_bits": 2048, "ack": "sha256", "lifetime": 7200},
                        "teks": [{"spi": 0x5000, "cipher": "aes-cbc", "key_bits": 128,
                                  "auth": "hmac-sha1-96", "src": "192.0.2.0/24",
                                  "dst": "198.51.100.0/24", "mirror": True,
                                  "lifetime": 7200}]}]}


def gm_conf(local):
    return f"""
ports = (
  {{ name = "inside"; role = "clear"; device = "net_af_packet0"; peer = "wan"; }},
  {{ name = "wan"; role = "protected"; device = "net_memif0"; }}
);
groups = ( {{
  name = "corp"; id = 1001;
  key_servers = ( "127.0.0.1" );
  local_address = "{local}";
  psk = "{PSK}";
  retry_interval = 1; retries = 3;
}} );
"""


# -------------------------------------------------------------- sampling

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def malloc_heap_kb(pid):
    """Resident kB of libc's main heap ([heap] in smaps): the control plane's
    malloc, apart from DPDK's memory."""
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):
                cur = line.split()[-1] if len(line.split()) >= 6 else ""
            elif first == "Rss:" and cur == "[heap]":
                return int(line.split()[1])
    return 0


def rss_split_kb(pid):
    """VmRSS split: RssAnon (libc's heaps, key memory, stacks: private
    memory) and the resident part of DPDK's memory (the --no-huge memfd
    "/memfd:nohuge", or hugepage files)."""
    anon = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                anon = int(line.split()[1])
    dpdk = 0
    cur = ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):
                parts = line.split()
                cur = parts[5] if len(parts) >= 6 else ""
            elif first == "Rss:" and ("nohuge" in cur or "rtemap" in cur):
                dpdk += int(line.split()[1])
    return anon, dpdk


def mempools(tel):
    """Per mempool: objects in all and in use (gvpnd's /gvpn/mempools; DPDK
    22.11's /mempool/info has no counts)."""
    return tel("/gvpn/mempools") or {}


def sample(name, g, t):
    tot = g.tel("/gvpn/lcores,total")
    tot = tot.get("total", tot)
    pools = mempools(g.tel)
    flows = g.tel("/gvpn/flows")
    heap = g.tel("/eal/heap_info,0") or {}
    grp = g.tel("/gvpn/groups")["corp"]
    anon, dpdk = rss_split_kb(g.proc.pid)
    rss = rss_kb(g.proc.pid)
    return {"member": name, "t": round(t, 1), "rss_kb": rss,
            "rss_anon_kb": anon, "dpdk_resident_kb": dpdk, "rss_outside_dpdk_kb": rss - dpdk,
            "malloc_heap_kb": malloc_heap_kb(g.proc.pid),
            "dpdk_heap_kb": heap.get("Alloc_size", 0) // 1024,
            "dpdk_allocs": heap.get("Alloc_count", 0),
            "mempool_in_use": sum(p["in_use"] for p in pools.values()), "mempools": pools,
            "flows": flows.get("flows", 0), "flow_stats": flows,
            "sas": len(g.tel("/gvpn/sa")), "counters": tot, "ports": g.tel("/gvpn/ports"),
            "group": grp}


# ---------------------------------------------------------------- the run

def main_soak(a):
    sys.path.insert(0, os.path.join(ROOT, "test", "pylib"))
    sys.path.insert(0, os.path.join(ROOT, "test", "func"))
    from gvpntest import Gvpnd, KeyServer, write_rows
    from test_push import Control, active_spi, wait_acks

    if os.geteuid() != 0:
        print("soak.py: needs root (network namespaces, DPDK telemetry)", file=sys.stderr)
        return 2
    seconds = a.minutes * 60
    pull_every = a.pull_every or min(180, max(30, seconds / 3))
    warmup = min(a.warmup, seconds / 3)
    work = tempfile.mkdtemp(prefix="gvpn-soak-")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = a.out or os.path.join(ROOT, "results", f"soak-{stamp}.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    samples_path = os.path.join(os.path.dirname(os.path.abspath(out)),
                                os.path.basename(out).replace(".jsonl", "") + "-samples.jsonl")
    log = lambda m: print(f"soak: {time.strftime('%H:%M:%S')} {m}", file=sys.stderr, flush=True)  # noqa: E731
    sock = os.path.join(work, "wan.sock")
    control = Control(os.path.join(work, "control.json"))
    conf = ks_conf()
    conf["control_file"] = control.path
    with Lab() as lab, KeyServer(ROOT, conf, work, "soak-ks", netns=lab.g) as ks:
        ma = Gvpnd(a.gvpnd, gm_conf("127.0.0.1"), [
            "net_af_packet0,iface=clra,framecnt=4096,qdisc_bypass=0",
            f"net_memif0,role=server,socket={sock},id=0,rsize=14"], work, lcores="0", netns=lab.g,
            name="soak-a")
        mb = Gvpnd(a.gvpnd, gm_conf("127.0.0.2"), [
            "net_af_packet0,iface=clrb,framecnt=4096,qdisc_bypass=0",
            f"net_memif0,role=client,socket={sock},id=0,rsize=14"], work, lcores="1", netns=lab.g,
            name="soak-b")
        members = {"a": ma, "b": mb}
        flows = {}
        try:
            ma.start()
            mb.start()
            grp = lambda g: g.tel("/gvpn/groups")["corp"]  # noqa: E731
            for g in members.values():
                g.wait(lambda g=g: grp(g)["state"] == "registered" and active_spi(g),
                       timeout=30, what="registration")
            log(f"members registered; {a.rate} datagrams/s each way, {a.size} B, "
                f"{a.flows} flows, {a.minutes} min, push every {a.interval} s, "
                f"pull every {pull_every:.0f} s, warm-up {warmup:.0f} s; work {work}")
            base = {x: {"counters": g.tel("/gvpn/lcores,total"), "group": grp(g)}
                    for x, g in members.items()}
            for x in base:
                base[x]["counters"] = base[x]["counters"].get("total", base[x]["counters"])
            # receivers first, then senders: all start sending at t0
            t0 = time.time() + 3
            common_args = ["--rate", str(a.rate), "--seconds", str(seconds),
                           "--start", repr(t0)]
            for x, ns, dst in (("a", lab.a, "198.51.100.20"), ("b", lab.b, "192.0.2.10")):
                for role in ("recv", "send"):
                    status = os.path.join(work, f"{role}-{x}.json")
                    args = common_args + ["--status", status]
                    if role == "send":
                        args += ["--dst", dst, "--size", str(a.size), "--flows", str(a.flows)]
                    flows[f"{role}-{x}"] = (subprocess.Popen(
                        ["ip", "netns", "exec", ns, PY, os.path.abspath(__file__), role] + args,
                        stdout=open(status + ".log", "w"), stderr=subprocess.STDOUT), status)
            time.sleep(max(0.0, t0 - time.time()))
            samples = []
            kinds = ("rekey", "delete", "new_kek")
            n_push = n_pull = acks = 0
            pushed = {k: 0 for k in kinds}
            old_spi = None
            # --interval 0: no pushes or pulls, the baseline a rate is chosen by
            next_push = t0 + a.interval if a.interval > 0 else float("inf")
            next_sample = t0
            next_pull = t0 + pull_every
            errors = []
            while time.time() - t0 < seconds:
                now = time.time()
                if now >= next_sample:
                    next_sample += a.sample
                    for x, g in members.items():
                        s = sample(x, g, now - t0)
                        samples.append(s)
                        write_rows(samples_path, [{"bench": "soak", "kind": "sample", **s}])
                    sa, sb = samples[-2], samples[-1]
                    log(f"t={now - t0:6.0f}s  rss {sa['rss_kb']}/{sb['rss_kb']} kB  "
                        f"mempool {sa['mempool_in_use']}/{sb['mempool_in_use']}  "
                        f"flows {sa['flows']}/{sb['flows']}  sas {sa['sas']}/{sb['sas']}  "
                        f"pushes {n_push} pulls {n_pull}  " + flow_line(flows))
                if now >= next_push:
                    kind = kinds[n_push % len(kinds)]
                    next_push += a.interval
                    try:
                        if kind == "rekey":
                            old_spi = active_spi(ma)
                            control.push(ks, rekey=True)
                            acks += 2
                            wait_acks(ks, acks, timeout=10)
                            for g in members.values():
                                g.wait(lambda g=g: active_spi(g) not in (None, old_spi),
                                       timeout=8, what="the pushed TEK to encrypt")
                        elif kind == "delete":
                            control.push(ks, delete=[{"protocol": "tek", "spi": int(old_spi, 16)}])
                            acks += 2
                            wait_acks(ks, acks, timeout=10)
                        else:
                            control.push(ks, new_kek=True)
                            acks += 2
                            wait_acks(ks, acks, timeout=10)
                    except (AssertionError, RuntimeError, TypeError) as e:
                        errors.append(f"t={now - t0:.0f}s {kind}: {e}")
                        log(f"push {kind} failed: {e}")
                        acks = ks.state()["counters"].get("acks_valid", 0)
                    n_push += 1
                    pushed[kind] += 1
                    if kind == "delete" and time.time() >= next_pull - a.interval and \
                            time.time() - t0 < seconds - a.interval:
                        # between pushes, one TEK current: both members pull
                        time.sleep(a.interval / 3)
                        next_pull += pull_every
                        try:
                            for g in members.values():
                                regs = grp(g)["registrations"]
                                r = g.tel("/gvpn/group/register,corp")
                                assert r.get("result") == "queued", r
                                g.wait(lambda g=g, r=regs: grp(g)["registrations"] > r,
                                       timeout=10, what="re-registration")
                        except (AssertionError, RuntimeError) as e:
                            errors.append(f"t={time.time() - t0:.0f}s pull: {e}")
                            log(f"pull failed: {e}")
                        n_pull += 1
                time.sleep(max(0.0, min(next_push, next_sample, t0 + seconds) - time.time()))
            log("traffic ends; waiting for the last datagrams")
            for x, (p, _) in flows.items():
                p.wait(timeout=60)
            end = {x: {"counters": g.tel("/gvpn/lcores,total"), "group": grp(g)}
                   for x, g in members.items()}
            for x in end:
                end[x]["counters"] = end[x]["counters"].get("total", end[x]["counters"])
                samples.append(sample(x, members[x], time.time() - t0))
            write_rows(samples_path, [{"bench": "soak", "kind": "sample", **s}
                                      for s in samples[-2:]])
            kss = ks.state()
            hosts = {"a": host_stats(lab.a), "b": host_stats(lab.b)}
            stops = {x: g.stop() for x, g in members.items()}
        finally:
            for p, _ in flows.values():
                if p.poll() is None:
                    p.terminate()
            mb.stop()
            ma.stop()
    res = {k: json.load(open(st)) for k, (_, st) in flows.items()}
    rows, ok = report(a, seconds, warmup, pull_every, base, end, samples, res, kss,
                      pushed, n_pull, stops, errors, hosts)
    write_rows(out, rows)
    log(f"results: {out} (samples: {samples_path}); work {work}")
    return 0 if ok else 1


def flow_line(flows):
    parts = []
    for x, other in (("a", "b"), ("b", "a")):
        try:
            sent = json.load(open(flows[f"send-{x}"][1]))["sent"]
            got = json.load(open(flows[f"recv-{other}"][1]))["received"]
            parts.append(f"{x}->{other} sent {sent} got {got}")
        except (OSError, ValueError, KeyError):
            parts.append(f"{x}->{other} -")
    return "  ".join(parts)


def host_stats(ns):
    """What the kernel dropped on a host's side: UDP receive errors and the
    veth's drops (loss outside gvpnd)."""
    out = {}
    snmp = sh("ip", "netns", "exec", ns, "cat", "/proc/net/snmp").splitlines()
    udp = [line.split()[1:] for line in snmp if line.startswith("Udp:")]
    if len(udp) == 2:
        out.update({f"udp_{k}": int(v) for k, v in zip(*udp)
                    if k in ("InErrors", "RcvbufErrors", "SndbufErrors", "NoPorts")})
    link = json.loads(sh("ip", "-j", "-s", "-n", ns, "link", "show", "host"))[0]["stats64"]
    out.update({"veth_rx_dropped": link["rx"]["dropped"], "veth_tx_dropped": link["tx"]["dropped"]})
    return out


def commit():
    """The source the run measured (gvpnd's build follows the tree)."""
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    c = r.stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "HEAD", "--", "lib", "drivers",
                            "app"]).returncode
    return c + ("-dirty" if dirty else "")


GROWTH_NAMES = {"rss_kb": "RSS, kB", "dpdk_resident_kb": "  of it DPDK memory, kB",
                "rss_outside_dpdk_kb": "  of it the rest, kB",
                "malloc_heap_kb": "libc heap resident, kB",
                "dpdk_heap_kb": "DPDK heap allocated, kB", "dpdk_allocs": "DPDK heap allocations",
                "mempool_in_use": "mbufs in use", "flows": "flow cache entries",
                "sas": "SAs"}


def GROWTH(a):  # noqa: N802 - a table, built from the options
    """What must stay flat after warm-up, and by how much it may move (None:
    shown, not judged).

    The resident part of DPDK's memory is not judged: with --no-huge, DPDK's
    memory is a memfd whose pages become resident when first written, and
    rte_zmalloc() does not write memory that was never used. The worker's
    rte_hash tables (flow cache, SPIs: some 2.9 MB) are such memory; each
    new SPI lands in a bucket at random, and the first key or lookup in a
    bucket of an untouched page makes that page resident. That growth is
    bounded by the tables' size and holds no memory; with hugepages
    (production) the pages are resident from the start. What DPDK memory
    holds is judged by its heap (bytes, allocations: rte_malloc, memzones,
    rings, hashes and rule tables all come from it) and the mempools; the
    rest of the RSS (libc's heaps, key memory, stacks, libraries) is judged
    as RSS."""
    return (("rss_kb", None), ("dpdk_resident_kb", None),
            ("rss_outside_dpdk_kb", a.rss_slack_kb), ("malloc_heap_kb", a.rss_slack_kb),
            ("dpdk_heap_kb", 64), ("dpdk_allocs", 4), ("mempool_in_use", a.mempool_slack),
            ("flows", a.flow_slack), ("sas", 0))


def growth(samples, member, key, warmup):
    vals = [s[key] for s in samples if s["member"] == member and s["t"] >= warmup and key in s]
    if not vals:
        return None, None, None
    return vals[0], vals[-1], max(vals)


def member_growth(a, samples, x, warmup, missing_ok=False):
    """Growth after warm-up of what GROWTH lists; missing_ok: a value older
    samples lack is shown as - and not judged."""
    gr = {}
    for k, slack in GROWTH(a):
        first, last, top = growth(samples, x, k, warmup)
        gr[k] = {"after_warmup": first, "end": last, "max": top, "slack": slack,
                 "growth": None if first is None else last - first,
                 "flat": slack is None or (first is None and missing_ok) or
                 (first is not None and last - first <= slack)}
    return gr


def print_growth(a, grows, warmup):
    print(f"\n{'after warm-up (' + str(round(warmup)) + ' s) -> end':34} "
          f"{'member a':>26} {'member b':>26} {'slack':>6}")
    for k, slack in GROWTH(a):
        cells = []
        for x in ("a", "b"):
            g = grows[x][k]
            cells.append("-" if g["growth"] is None else
                         f"{g['after_warmup']} -> {g['end']} ({g['growth']:+})"
                         f"{'' if g['flat'] else ' !'}")
        print(f"{GROWTH_NAMES[k]:34} {cells[0]:>26} {cells[1]:>26} "
              f"{'-' if slack is None else slack:>6}")


def growth_main(a):
    """The growth table of a finished run, from its samples file."""
    samples = [r for r in map(json.loads, open(a.samples)) if r.get("kind") == "sample"]
    for s in samples:
        if "rss_outside_dpdk_kb" not in s and "dpdk_resident_kb" in s:
            s["rss_outside_dpdk_kb"] = s["rss_kb"] - s["dpdk_resident_kb"]
    end = max(s["t"] for s in samples)
    warmup = min(a.warmup, end / 3)
    grows = {x: member_growth(a, samples, x, warmup, missing_ok=True) for x in ("a", "b")}
    print_growth(a, grows, warmup)
    for x in ("a", "b"):
        curve = [(round(s["t"]), s.get("dpdk_resident_kb")) for s in samples
                 if s["member"] == x and s["t"] >= warmup]
        print(f"\nmember {x}, DPDK memory resident (t s, kB): "
              + " ".join(f"{t}:{v}" for t, v in curve[::max(1, len(curve) // 12)]))
    ok = all(g["flat"] for gr in grows.values() for g in gr.values())
    print(f"\ngrowth: {'flat' if ok else 'GREW'}")
    return 0 if ok else 1


def report(a, seconds, warmup, pull_every, base, end, samples, res, kss, pushed, n_pull,
           stops, errors, hosts):
    rows = []
    ok = not errors
    common = {"bench": "soak", "minutes": a.minutes, "rate_pps": a.rate, "size": a.size,
              "flows": a.flows, "interval_s": a.interval, "pull_every_s": round(pull_every),
              "commit": commit()}
    print(f"\nsoak: {a.minutes} min, {a.rate} datagrams/s each way ({a.size} B UDP payload, "
          f"{a.flows} flows), a push every {a.interval} s, pulls every {pull_every:.0f} s\n")
    print(f"{'direction':10} {'sent':>10} {'received':>10} {'lost':>6} {'dups':>5} "
          f"{'reordered':>9}  receiving host's kernel drops; loss runs (first seq, count)")
    for x, other in (("a", "b"), ("b", "a")):
        s, r = res[f"send-{x}"], res[f"recv-{other}"]
        lost = s["sent"] - r["received"]
        kern = {k: v for k, v in hosts[other].items() if v}
        row = {**common, "kind": "direction", "direction": f"{x}->{other}", "sent": s["sent"],
               "send_errors": s["send_errors"], "received": r["received"], "lost": lost,
               "dups": r["dups"], "reordered": r["reordered"], "receiver_kernel": hosts[other],
               "loss_runs": r.get("missing", [])[:20]}
        ok &= lost == 0 and r.get("done", False) and s.get("done", False)
        rows.append(row)
        print(f"{x + ' -> ' + other:10} {s['sent']:>10} {r['received']:>10} {lost:>6} "
              f"{r['dups']:>5} {r['reordered']:>9}  {kern or '-'}; {row['loss_runs'][:5] or '-'}")
    print(f"\n{'member':6} {'pushes':>6} {'pulls':>5} {'push drops':>10} {'key drops':>9} "
          f"{'other drops':>11} {'encrypted':>10} {'decrypted':>10}  exit")
    kinds_sent = dict(pushed)
    grows = {}
    for x in ("a", "b"):
        c0, c1 = base[x]["counters"], end[x]["counters"]
        d = {k: c1[k] - c0.get(k, 0) for k in c1 if k.startswith("drop") and c1[k] != c0.get(k, 0)}
        key = {k: v for k, v in d.items() if k in KEY_DROPS}
        other = {k: v for k, v in d.items() if k not in KEY_DROPS}
        g0, g1 = base[x]["group"], end[x]["group"]
        pushes = g1["pushes"] - g0["pushes"]
        pulls = g1["registrations"] - g0["registrations"]
        pdrops = {k: g1[k] - g0[k] for k in g1 if k.startswith("push_drop") and g1[k] != g0[k]}
        gr = grows[x] = member_growth(a, samples, x, warmup)
        ok &= all(g["flat"] for g in gr.values())
        ok &= not key and pushes == sum(kinds_sent.values()) and not pdrops and \
            pulls == n_pull and stops[x] == 0
        enc, dec = c1["encrypted"] - c0["encrypted"], c1["decrypted"] - c0["decrypted"]
        rows.append({**common, "kind": "member", "member": x, "pushes_sent": kinds_sent,
                     "pushes_applied": pushes, "pulls": pulls, "push_drops": pdrops,
                     "key_drops": key, "other_drops": other, "growth": gr,
                     "encrypted": enc, "decrypted": dec, "exit": stops[x]})
        print(f"{x:6} {pushes:>6} {pulls:>5} {sum(pdrops.values()):>10} {sum(key.values()):>9} "
              f"{sum(other.values()):>11} {enc:>10} {dec:>10}  {stops[x]}")
        if key or other:
            print(f"       drops: {d}")
    print_growth(a, grows, warmup)
    c = kss["counters"]
    print(f"\nkey server: {sum(kinds_sent.values())} pushes ({kinds_sent}), "
          f"{c.get('pushes_sent', 0)} datagrams, {c.get('acks_valid', 0)} valid acks, "
          f"{c.get('acks_invalid', 0)} invalid, {c.get('pulls_served', 0)} pulls served")
    rows.append({**common, "kind": "key_server", "pushes": kinds_sent,
                 "counters": {k: v for k, v in c.items() if k != "errors"},
                 "errors": c.get("errors", {}), "run_errors": errors})
    for e in errors:
        print(f"error: {e}")
    print(f"\nsoak: {'PASS' if ok else 'FAIL'}: no datagram lost, no key drop, every push "
          "and pull applied, nothing grew after warm-up" if ok else
          "\nsoak: FAIL (see above)")
    for r in rows:
        r["pass"] = ok
    return rows, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    for role in ("send", "recv"):
        f = sub.add_parser(role, help=f"one host's numbered {role}er (started by the soak)")
        f.add_argument("--rate", type=float, required=True)
        f.add_argument("--seconds", type=float, required=True)
        f.add_argument("--start", type=float, required=True, help="unix time of datagram 0")
        f.add_argument("--status", required=True)
        if role == "send":
            f.add_argument("--dst", required=True)
            f.add_argument("--size", type=int, default=200)
            f.add_argument("--flows", type=int, default=4)
        else:
            f.add_argument("--linger", type=float, default=5)
    f = sub.add_parser("growth", help="the growth table of a finished run, from its samples")
    f.add_argument("samples", help="results/soak-*-samples.jsonl")
    ap.add_argument("--minutes", type=float, default=3)
    ap.add_argument("--rate", type=int, default=5000, help="datagrams per second each way")
    ap.add_argument("--size", type=int, default=200, help="UDP payload octets")
    ap.add_argument("--flows", type=int, default=4, help="UDP source ports each way")
    ap.add_argument("--interval", type=float, default=10,
                    help="seconds between pushes (0: none, no pulls either)")
    ap.add_argument("--pull-every", type=float, default=0,
                    help="seconds between pulls (default: 180, at most a third of the run)")
    ap.add_argument("--sample", type=float, default=30, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=60,
                    help="growth is judged after this (at most a third of the run)")
    ap.add_argument("--rss-slack-kb", type=int, default=1024,
                    help="growth allowed to the RSS outside DPDK's memory and to libc's heap")
    ap.add_argument("--mempool-slack", type=int, default=64)
    ap.add_argument("--flow-slack", type=int, default=0)
    ap.add_argument("--gvpnd", default=os.path.join(ROOT, "build", "app", "gvpnd"))
    ap.add_argument("--out", help="JSON lines (results/soak-<date>.jsonl)")
    a = ap.parse_args()
    if a.cmd == "send":
        return send_main(a)
    if a.cmd == "recv":
        return recv_main(a)
    if a.cmd == "growth":
        return growth_main(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return main_soak(a)


if __name__ == "__main__":
    sys.exit(main())
