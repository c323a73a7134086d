#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpnd between the two ports of pktgen-dpdk, as users benchmark an appliance.

pktgen owns two net_memif servers; gvpnd's input port is the client of the
first, its output port the client of the second. Outbound, pktgen port 0
sends clear UDP (range mode: the UDP source port walks FLOWS values) and
port 1 receives gvpnd's ESP; inbound, port 0 replays an ESP capture made
with gvpn-esptool (pcap mode) and port 1 receives the clear packets.

pktgen starts first (it owns the sockets), then gvpnd. After the warm-up the
rate is sampled SAMPLES times over WINDOW seconds, at pktgen's port 1
(its own ethdev counters, read over its telemetry socket) with gvpnd's SA
counts and drops beside it, so that a loss shows. The median sample is the
row's rate; rows are the JSON lines of scripts/bench/run.sh.

  scripts/bench/pktgen.py --pktgen PATH [--dir out|in] [--sizes 64,1420]
        [--alg ALG] [--flows 1024] [--warmup 45] [--samples 5] [--window 2]
        [--gvpnd PATH] [--esptool PATH] [--out FILE.jsonl] [--dry-run]

Without a pktgen binary it says how to build one (scripts/pktgen/README.md)
and exits 77, "skipped". memif back-pressures: pktgen sends only as fast as
gvpnd drains, so the rate is gvpnd's (and pktgen's) throughput, not a no-drop
rate; that search needs real NICs (the README). CPUs: gvpnd's worker gets a
CPU of its own, pktgen the other(s); see layout().
"""
import argparse
import json
import os
import pty
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "pylib"))
sys.path.insert(0, HERE)
from gvpntest import wait_telemetry, write_rows  # noqa: E402
import bench  # noqa: E402
import traffic  # noqa: E402

SKIPPED = 77
README = "scripts/pktgen/README.md"
MTU = 1600


def layout(ncpu):
    """EAL lcore maps and pktgen's port matrix for a machine with ncpu CPUs.

    gvpnd's worker (its lcore 1) has a CPU to itself. Its control core
    (lcore 0) mostly sleeps, as does pktgen's main lcore (the display), so
    on two CPUs they share the other CPU with pktgen's one port lcore, which
    serves both ports. With four or more, pktgen's port lcore gets its own
    CPU too."""
    if ncpu < 2:
        raise ValueError("pktgen and gvpnd need 2 CPUs at least")
    if ncpu < 4:
        return {"gvpnd": "0@1,1@0", "pktgen": "0@1,1@1", "matrix": "1.[0-1]"}
    return {"gvpnd": "0@0,1@1", "pktgen": "0@2,1@3", "matrix": "1.[0-1]"}


def range_commands(size, flows):
    """pktgen commands: port 0 sends SIZE-byte frames (FCS included, RFC 2544)
    from site A to site B with FLOWS UDP source ports, and starts."""
    first, last = traffic.SPORT_BASE, traffic.SPORT_BASE + flows - 1
    a, b = traffic.SITE_A, traffic.SITE_B
    return ["stop all",
            "set 0 proto udp", f"set 0 size {size}", "set 0 rate 100", "set 0 count 0",
            f"set 0 src ip {a}/24", f"set 0 dst ip {b}",
            f"set 0 sport {first}", f"set 0 dport {traffic.DPORT}",
            f"range 0 src port {first} {first} {last} 1",
            f"range 0 dst port {traffic.DPORT} {traffic.DPORT} {traffic.DPORT} 0",
            f"range 0 src ip {a} {a} {a} 0.0.0.0",
            f"range 0 dst ip {b} {b} {b} 0.0.0.0",
            f"range 0 size {size} {size} {size} 0",
            "range 0 proto udp", "enable 0 range", "clr", "start 0"]


def pktgen_cmd(binary, prefix, socks, lay, cmdfile, pcap=None):
    """The pktgen command line: two memif servers, --no-huge (4 GiB: its
    mbuf pools do not fit 2), promiscuous, the port matrix, the command file,
    and for pcap mode the capture port 0 replays."""
    cmd = [binary, "--no-huge", "--no-pci", "-m", "4096", "--file-prefix", prefix,
           "--lcores", lay["pktgen"],
           "--vdev", f"net_memif0,role=server,socket={socks[0]}",
           "--vdev", f"net_memif1,role=server,socket={socks[1]}",
           "--", "-P", "-m", lay["matrix"], "-f", cmdfile]
    if pcap:
        cmd += ["-s", f"0:{pcap}"]
    return cmd


def gvpnd_cmd(binary, prefix, socks, lay, conf):
    """gvpnd: its input port the client of pktgen's port 0, output of port 1."""
    return [binary, "--no-huge", "--no-pci", "-m", "1024", "--file-prefix", prefix,
            "--lcores", lay["gvpnd"], "--log-level", "lib.*:error",
            "--vdev", f"net_memif0,role=client,socket={socks[0]}",
            "--vdev", f"net_memif1,role=client,socket={socks[1]}",
            "--", "-f", conf]


def gvpnd_conf(direction, alg):
    """Outbound the clear port is memif0 (pktgen port 0 sends into it)."""
    clear, prot = ("net_memif0", "net_memif1") if direction == "out" else \
        ("net_memif1", "net_memif0")
    return bench.gvpnd_conf(alg, clear, prot, MTU)


def rates(p0, p1, g0, g1, dt, direction):
    """One sample from two readings of pktgen's ports ({port: /ethdev/stats})
    and of gvpnd (/gvpn/lcores total): Mpps received by pktgen port 1,
    offered by port 0, gvpnd's SA count, and what either side lost."""
    rx = (p1[1]["ipackets"] - p0[1]["ipackets"]) / dt / 1e6
    tx = (p1[0]["opackets"] - p0[0]["opackets"]) / dt / 1e6
    done = "encrypted" if direction == "out" else "decrypted"
    lost = {f"pktgen_{k}": p1[n][k] - p0[n][k] for n in (0, 1)
            for k in ("imissed", "ierrors", "oerrors", "rx_nombuf") if p1[n][k] != p0[n][k]}
    lost.update({k: g1[k] - g0[k] for k in g1
                 if k.startswith("drop") and g1[k] != g0[k]})
    return {"mpps": rx, "offered_mpps": tx, "gvpnd_mpps": (g1[done] - g0[done]) / dt / 1e6,
            "lost": lost}


class Pktgen:
    """pktgen on a pseudo-terminal (it needs one for its display), the
    display drained to a log so that pktgen never blocks on it."""

    def __init__(self, cmd, log):
        self.log = open(log, "wb")
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True)
        os.close(slave)
        self.master = master
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.log.write(data)

    def stop(self):
        stop(self.proc, signal.SIGINT)
        os.close(self.master)
        self.reader.join(timeout=5)
        self.log.close()


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def started(pt):
    """Whether pktgen has started both ports. A memif server takes a client
    only once its port is started (before, it answers "ID not found"), and
    gvpnd's memif client tries once, when its own port starts."""
    return all(pt(f"/ethdev/info,{n}").get("dev_started") for n in (0, 1))


def ports_up(t):
    ports = t("/gvpn/ports")
    return all(v.get("link") == "up" or v.get("link_up") in (1, "yes", True)
               for v in ports.values()), ports


def one(a, size, work, lay):
    tag = f"{os.getpid() % 100000}{size}"
    socks = [os.path.join(work, f"pg{tag}-{i}.sock") for i in (0, 1)]
    conf = os.path.join(work, "gvpnd.conf")
    with open(conf, "w") as f:
        f.write(gvpnd_conf(a.dir, a.alg))
    cmdfile = os.path.join(work, f"pktgen{size}.pkt")
    pcap = None
    if a.dir == "out":
        cmds = range_commands(size, a.flows)
    else:
        clear = os.path.join(work, f"clear{size}.pcap")
        pcap = os.path.join(work, f"esp{size}.pcap")
        subprocess.run([sys.executable, os.path.join(HERE, "traffic.py"), "clear", "--size",
                        str(size), "--flows", str(a.flows), "--dir", "in", clear], check=True)
        subprocess.run([sys.executable, os.path.join(HERE, "traffic.py"), "esp", "--alg", a.alg,
                        "--esptool", a.esptool, clear, pcap], check=True)
        cmds = ["stop all", "enable 0 pcap", "clr", "start 0"]
    with open(cmdfile, "w") as f:
        f.write("\n".join(cmds) + "\n")
    pg_prefix, gv_prefix = f"pg{tag}", f"gv{tag}"
    pcmd = pktgen_cmd(a.pktgen, pg_prefix, socks, lay, cmdfile, pcap)
    gcmd = gvpnd_cmd(a.gvpnd, gv_prefix, socks, lay, conf)
    if a.dry_run:
        print(" ".join(pcmd))
        print(" ".join(gcmd))
        return None
    pg = Pktgen(pcmd, os.path.join(work, f"pktgen{size}.log"))
    gv = None
    try:
        pt = wait_telemetry(pg_prefix, pg.proc, probe="/ethdev/list", timeout=60)
        end = time.time() + 60
        while not started(pt):
            if time.time() > end or pg.proc.poll() is not None:
                raise RuntimeError(f"pktgen did not start its ports: see {pg.log.name}")
            time.sleep(0.2)
        gv = subprocess.Popen(gcmd, stdout=open(os.path.join(work, f"gvpnd{size}.log"), "w"),
                              stderr=subprocess.STDOUT)
        gt = wait_telemetry(gv_prefix, gv)
        end = time.time() + 15
        while not ports_up(gt)[0]:
            if time.time() > end:
                raise RuntimeError(f"memif links not up: {ports_up(gt)[1]}")
            time.sleep(0.2)
        sys.stderr.write(f"pktgen.py: {a.dir} {size} B: links up, warming up {a.warmup} s\n")
        time.sleep(a.warmup)

        def reading():
            return (time.time(), {n: pt(f"/ethdev/stats,{n}") for n in (0, 1)},
                    gt("/gvpn/lcores")["total"])
        samples = []
        t0, p0, g0 = reading()
        for _ in range(a.samples):
            time.sleep(a.window)
            t1, p1, g1 = reading()
            samples.append(rates(p0, p1, g0, g1, t1 - t0, a.dir))
            t0, p0, g0 = t1, p1, g1
        return row(a, size, samples, lay)
    finally:
        if gv is not None:
            stop(gv)
        pg.stop()


def row(a, size, samples, lay):
    """A results row as run.sh writes them, from the samples of one case."""
    mpps = statistics.median(s["mpps"] for s in samples)
    lost = {}
    for s in samples:
        for k, v in s["lost"].items():
            lost[k] = lost.get(k, 0) + v
    return {"impl": "gvpnd", "bench": "pktgen", "generator": "pktgen-dpdk", "link": "net_memif",
            "dir": a.dir, "alg": a.alg, "size": size, "flows": a.flows, "lcores": 1,
            "mpps": round(mpps, 4), "gbps": round(mpps * size * 8 / 1000, 3),
            "reps": [round(s["mpps"], 4) for s in samples],
            "offered_mpps": [round(s["offered_mpps"], 4) for s in samples],
            "gvpnd_mpps": [round(s["gvpnd_mpps"], 4) for s in samples],
            "extra": lost, "warmup_s": a.warmup, "window_s": a.window,
            "layout": lay, "date": time.strftime("%Y-%m-%dT%H:%M:%S")}


def find_pktgen(arg):
    for p in (arg, os.environ.get("PKTGEN"), shutil.which("pktgen")):
        if p and os.access(p, os.X_OK):
            return p
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pktgen", help="pktgen binary (else $PKTGEN, else pktgen on PATH)")
    ap.add_argument("--dir", choices=("out", "in"), default="out")
    ap.add_argument("--sizes", default="64,1420")
    ap.add_argument("--alg", default="aes128-cbc-sha1", choices=sorted(traffic.ALGS))
    ap.add_argument("--flows", type=int, default=1024)
    ap.add_argument("--warmup", type=float, default=45,
                    help="seconds before sampling: memif and pktgen ramp up (45 s measured)")
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--window", type=float, default=2)
    ap.add_argument("--gvpnd", default=os.path.join(ROOT, "build", "app", "gvpnd"))
    ap.add_argument("--esptool", default=os.path.join(ROOT, "build", "test", "tools",
                                                      "gvpn-esptool"))
    ap.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPUs to lay out")
    ap.add_argument("--out")
    ap.add_argument("--dry-run", action="store_true", help="print the two commands only")
    a = ap.parse_args(argv)
    a.pktgen = find_pktgen(a.pktgen)
    if a.pktgen is None:
        print(f"pktgen.py: skipped: no pktgen binary (--pktgen PATH, $PKTGEN or PATH); "
              f"{README} says how to build pktgen-dpdk 23.06.1 against Debian's DPDK",
              file=sys.stderr)
        return SKIPPED
    lay = layout(a.cpus)
    work = tempfile.mkdtemp(prefix="gvpn-pktgen-")
    rows = []
    try:
        for s in a.sizes.split(","):
            r = one(a, int(s), work, lay)
            if r is not None:
                rows.append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if a.dry_run:
        return 0
    print(f"{'dir':<4}{'size':>5} {'Mpps (pktgen RX)':>17} {'gvpnd Mpps':>11} {'Gbps':>7}  "
          "samples; lost")
    for r in rows:
        print(f"{r['dir']:<4}{r['size']:>5} {r['mpps']:>17} "
              f"{statistics.median(r['gvpnd_mpps']):>11} {r['gbps']:>7}  "
              f"{r['reps']}; {r['extra'] or 'none'}")
    if a.out:
        write_rows(a.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
