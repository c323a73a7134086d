#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Measurement helpers of scripts/bench/run.sh.

  bench.py sample  --prefix P --impl gvpnd|ethdev --dir out|in [--warmup S --window S --reps N]
      Read a running process's counters over its DPDK telemetry socket:
      wait for traffic, warm up, then measure REPS back-to-back windows on
      the output port. Prints one JSON object.
  bench.py conf    --impl gvpnd|secgw --alg ALG [--clear-dev D --prot-dev D --mtu N] FILE
      Write the benchmark configuration of gvpnd or ipsec-secgw for one SA.
  bench.py vector  --alg ALG --size SIZE FILE
      Write a dpdk-test-crypto-perf test-vector file (its verify operations
      need one): a CBC ciphertext and its HMAC for the largest buffer.
  bench.py ceiling --alg ALG --dir out|in --size SIZE --window S --reps N --prefix P [--vector F]
      Run dpdk-test-crypto-perf (crypto_aesni_mb, one worker lcore,
      throughput test) on the ESP payload lengths of SIZE; prints JSON.
  bench.py merge   SAMPLE.json...
      Several runs of one case: the median run (every run's rate kept).
  bench.py row     --impl I --dir D --alg A --size S --flows F --lcores L SAMPLE.json
      Turn a sample into a result row (JSON line).
  bench.py report  RESULTS.jsonl [--plot FILE]
      Print the comparison table (with gvpnd/ipsec-secgw and gvpnd/ceiling
      ratios) and draw Mpps and Gbps by frame size for the three systems.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "pylib"))
sys.path.insert(0, HERE)
from gvpntest import Telemetry, write_rows  # noqa: E402
import traffic  # noqa: E402

IMPL_LABEL = {"ceiling": "ceiling", "io": "io", "secgw": "ipsec-secgw", "gvpnd": "gvpnd",
              "before": "gvpnd-before"}
SIZE_ORDER = ["64", "78", "128", "512", "1420", "imix"]


def die(msg):
    sys.stderr.write(f"bench.py: {msg}\n")
    sys.exit(1)


# --------------------------------------------------------------------- sample

# Every measured process polls on lcore 1, pinned to CPU 1.
WORKER_CPU = 1


def threads_cpu(pid, cpu=WORKER_CPU):
    """{tid: (run ns, runqueue wait ns)} (schedstat) of the threads of a
    process that are pinned to @p cpu alone: its polling lcore."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            if os.sched_getaffinity(int(tid)) != {cpu}:
                continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait = f.read().split()[:2]
        except (OSError, ValueError):
            continue
        out[int(tid)] = (int(run), int(wait))
    return out


def thread_state(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def busy_thread(t0, t1):
    """(run s, wait s) of the lcore thread that ran most between two
    snapshots."""
    best = (0, 0)
    for tid, (run, wait) in t1.items():
        r0, w0 = t0.get(tid, (0, 0))
        if run - r0 > best[0]:
            best = (run - r0, wait - w0)
    return best[0] / 1e9, best[1] / 1e9


def pin_away(cpu=WORKER_CPU):
    """Keep this helper off the measured core."""
    cpus = os.sched_getaffinity(0) - {cpu}
    if cpus:
        os.sched_setaffinity(0, cpus)


class Counters:
    """Output/input packet counters of one implementation, read by telemetry."""

    def __init__(self, impl, direction, prefix, timeout, pid=None):
        self.impl, self.dir, self.prefix, self.pid = impl, direction, prefix, pid
        self.tel = None
        end = time.monotonic() + timeout
        while True:
            try:
                self.connect()
                break
            except (OSError, ValueError, KeyError):
                self.check_alive()
                if time.monotonic() > end:
                    die(f"no telemetry socket for file prefix {prefix}")
                time.sleep(0.1)

    def check_alive(self):
        if self.pid:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                die(f"{self.impl} (pid {self.pid}) exited during the measurement")

    def connect(self):
        if self.tel:
            self.tel.close()
        self.tel = Telemetry(self.prefix)
        self.tel("/gvpn/version" if self.impl == "gvpnd" else "/ethdev/list")

    def read(self, timeout=10.0):
        """(output packets, input packets, monotonic time)."""
        end = time.monotonic() + timeout
        while True:
            try:
                return self._read()
            except (TypeError, KeyError, ValueError, OSError) as e:
                # ports not started yet, or the process is still starting
                self.check_alive()
                if time.monotonic() > end:
                    die(f"telemetry of {self.prefix}: {e!r}")
                time.sleep(0.05)
                if isinstance(e, (ValueError, OSError)):
                    try:
                        self.connect()
                    except (OSError, ValueError, KeyError):
                        pass

    def _read(self):
        if self.impl == "gvpnd":
            p = self.tel("/gvpn/ports")
            t = time.monotonic()
            out, inp = ("prot", "clear") if self.dir == "out" else ("clear", "prot")
            return p[out]["tx_packets"], p[inp]["rx_packets"], t
        # ipsec-secgw: port 0 is the clear port, port 1 the protected one
        out, inp = (1, 0) if self.dir == "out" else (0, 1)
        o = self.tel(f"/ethdev/stats,{out}")
        i = self.tel(f"/ethdev/stats,{inp}")
        t = time.monotonic()
        return o["opackets"], i["ipackets"], t

    def extra(self):
        """What the implementation says it did (drops, encrypted/decrypted)."""
        if self.impl == "gvpnd":
            tot = self.tel("/gvpn/lcores")["total"]
            return {k: v for k, v in tot.items()
                    if v and (k.startswith("drop") or k in ("encrypted", "decrypted"))}
        names = {}
        for pid in self.tel("/ethdev/list"):
            names[pid] = self.tel(f"/ethdev/info,{pid}").get("name")
        return {"ports": names}


def cmd_sample(a):
    pin_away()
    c = Counters(a.impl, a.dir, a.prefix, a.timeout, a.pid)
    end = time.monotonic() + a.timeout
    first = c.read()
    while True:  # traffic flows once the output counter moves
        time.sleep(0.05)
        now = c.read()
        if now[0] > first[0]:
            break
        if time.monotonic() > end:
            die(f"{a.impl}: no packets on the output port within {a.timeout} s "
                f"(counters {now[:2]}; {c.extra()})")
    time.sleep(a.warmup)
    marks = [(c.read(), threads_cpu(a.pid) if a.pid else {})]
    for _ in range(a.reps):
        time.sleep(a.window)
        marks.append((c.read(), threads_cpu(a.pid) if a.pid else {}))
    c.check_alive()
    wall, core, rx_mpps, share, waits = [], [], [], [], []
    for (m0, t0), (m1, t1) in zip(marks, marks[1:]):
        dt = m1[2] - m0[2]
        pkts = m1[0] - m0[0]
        wall.append(pkts / dt / 1e6)
        rx_mpps.append((m1[1] - m0[1]) / dt / 1e6)
        run, wait = busy_thread(t0, t1)
        # Per core: packets per second the polling thread was on its CPU.
        # On a shared machine other processes take the core away now and
        # then; this does not count against the measured one.
        core.append(pkts / run / 1e6 if run > 0.2 * dt else wall[-1])
        share.append(run / dt)
        waits.append(wait / dt)
    out = {"mpps": statistics.median(core), "reps": [round(x, 4) for x in core],
           "mpps_wall": round(statistics.median(wall), 4),
           "reps_wall": [round(x, 4) for x in wall],
           "cpu_share": [round(x, 3) for x in share], "runq_wait": [round(x, 3) for x in waits],
           "rx_mpps": statistics.median(rx_mpps), "window_s": a.window, "extra": c.extra()}
    c.tel.close()
    print(json.dumps(out))


# --------------------------------------------------------------------- config

SITE_A_NET, SITE_B_NET = traffic.NETS["ipv4"]


def gvpnd_conf(alg, clear_dev, prot_dev, mtu, family="ipv4"):
    a = traffic.ALGS[alg]
    auth = (f'auth = "{a["auth"]}"; auth_key = "{a["auth_key"]}";' if a["auth"] else "")
    src, dst = traffic.NETS[family]
    return f"""# gvpnd benchmark configuration ({a["label"]}, {family})
ports = (
  {{ name = "clear"; role = "clear"; device = "{clear_dev}"; peer = "prot"; }},
  {{ name = "prot"; role = "protected"; device = "{prot_dev}"; mtu = {mtu}; }}
);
dataplane = {{ crypto = "ipsecmb"; }};
groups = (
  {{
    name = "bench"; id = 1;
    sas = ( {{
      spi = {traffic.SPI}; src = "{src}"; dst = "{dst}"; mirror = true;
      cipher = "{a["cipher"]}"; key = "{a["key"]}"; {auth}
    }} );
  }}
);
"""


def colons(hexstr):
    return ":".join(hexstr[i:i + 2] for i in range(0, len(hexstr), 2))


def secgw_conf(alg, sa_type, family="ipv4"):
    """Port 0 is the clear port, port 1 the protected one. Tunnel mode with
    the traffic's own addresses as the tunnel end points."""
    a = traffic.ALGS[alg]
    algo = a["secgw"].format(key=colons(a["key"]),
                             auth_key=colons(a["auth_key"]) if a["auth_key"] else "")
    extra = f" type {sa_type}" if sa_type else ""
    spi = traffic.SPI
    net_a, net_b = traffic.NETS[family]
    site_a, site_b = traffic.SITES[family]
    return f"""# ipsec-secgw benchmark configuration ({a["label"]}, {family})
sp {family} out esp protect {spi} pri 1 src {net_a} dst {net_b} sport 0:65535 dport 0:65535
sp {family} in esp protect {spi} pri 1 src {net_b} dst {net_a} sport 0:65535 dport 0:65535
sa out {spi} {algo} mode {family}-tunnel src {site_a} dst {site_b}{extra}
sa in {spi} {algo} mode {family}-tunnel src {site_b} dst {site_a}{extra}
rt {family} dst {net_b} port 1
rt {family} dst {net_a} port 0
"""


def cmd_conf(a):
    with open(a.file, "w") as f:
        if a.impl == "gvpnd":
            f.write(gvpnd_conf(a.alg, a.clear_dev, a.prot_dev, a.mtu, a.family))
        else:
            f.write(secgw_conf(a.alg, a.sa_type, a.family))


# --------------------------------------------------------------------- vector

def fmt_bytes(name, data):
    lines = [", ".join(f"0x{b:02x}" for b in data[i:i + 16]) for i in range(0, len(data), 16)]
    return f"{name} =\n" + ",\n".join(lines) + "\n"


def cmd_vector(a):
    from cryptography.hazmat.primitives import hashes, hmac
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    alg = traffic.ALGS[a.alg]
    n = max(ceiling_buffers(a.alg, a.size)[0])
    n = (n + 15) // 16 * 16
    key = bytes.fromhex(alg["key"])
    iv = bytes(range(16))
    plain = bytes((i * 7 + 3) & 0xff for i in range(n))
    out = [fmt_bytes("plaintext", plain)]
    if alg["cipher"] in ("aes-gcm", "aes-gmac"):
        die("AES-GCM and AES-GMAC decryption need no test vector")
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(plain) + enc.finalize()
    akey = bytes.fromhex(alg["auth_key"])
    h = hmac.HMAC(akey, hashes.SHA1() if "sha1" in alg["auth"] else
                  hashes.SHA384() if "sha384" in alg["auth"] else hashes.SHA256())
    h.update(ct)
    digest = h.finalize()
    out += [fmt_bytes("ciphertext", ct), fmt_bytes("cipher_key", key),
            fmt_bytes("cipher_iv", iv), fmt_bytes("auth_key", akey),
            fmt_bytes("digest", digest)]
    with open(a.file, "w") as f:
        f.write("# gvpn benchmark vector: the HMAC covers the whole (largest) buffer\n")
        f.write("\n".join(out))


# -------------------------------------------------------------------- ceiling

def ceiling_buffers(alg, size):
    """Buffer sizes and IMIX weights for the crypto work of one frame size."""
    if size == "imix":
        return [traffic.esp_payload(s, alg) for s, _ in traffic.IMIX], [w for _, w in traffic.IMIX]
    return [traffic.esp_payload(int(size), alg)], None


def perf_run(a, bufs, weights, total_ops):
    alg = traffic.ALGS[a.alg]
    cmd = [a.perf, "--no-huge", "--no-pci", "-l", a.lcores, "-m", "512", "--file-prefix", a.prefix,
           "--log-level", "lib.*:error", "--vdev", "crypto_aesni_mb_bench", "--",
           "--devtype", "crypto_aesni_mb", "--ptest", "throughput", "--burst-sz", "32",
           "--total-ops", str(total_ops), "--buffer-sz", ",".join(map(str, bufs)),
           "--csv-friendly"] + alg["perf"]
    if weights:
        cmd += ["--imix", ",".join(map(str, weights))]
    gcm = alg["cipher"] == "aes-gcm"
    gmac = alg["cipher"] == "aes-gmac"
    if a.dir == "out":
        cmd += (["--aead-op", "encrypt"] if gcm else ["--auth-op", "generate"] if gmac
                else ["--cipher-op", "encrypt", "--auth-op", "generate"])
    else:
        if gcm:
            cmd += ["--aead-op", "decrypt"]
        elif gmac:
            # crypto-perf verifies only against a test vector; computing
            # the tag is the work of checking it
            cmd += ["--auth-op", "generate"]
        else:
            i = cmd.index("cipher-then-auth")
            cmd[i] = "auth-then-cipher"
            cmd += ["--cipher-op", "decrypt", "--auth-op", "verify"]
        if a.vector:
            cmd += ["--test-file", a.vector]
    # Follow the worker lcore's CPU time while the test runs. A polling
    # lcore is always runnable; once the test is over it blocks, and its
    # CPU time then is the time the test had the core, however often
    # other processes took it away.
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The tool's main lcore spins on the other CPU until the test ends: poll
    # at a real-time priority so as not to miss the moment between the end
    # of the test and the end of the process (the tool itself keeps its
    # ordinary priority, it was started before).
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        pass
    done = {}  # tid -> run ns when first seen blocked after running
    deadline = time.monotonic() + 120
    while p.poll() is None and time.monotonic() < deadline:
        for tid, (run, _) in threads_cpu(p.pid).items():
            if tid not in done and run > 1e7 and thread_state(p.pid, tid) in ("S", "D"):
                done[tid] = run
        time.sleep(0.005)
    try:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except (OSError, AttributeError):
        pass
    try:
        stdout, stderr = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        stdout, stderr = p.communicate()
    rows = [ln.split(",") for ln in stdout.splitlines()
            if ln and ln[0].isdigit() and ln.count(",") >= 8]
    if p.returncode != 0 or not rows:
        die(f"dpdk-test-crypto-perf failed ({p.returncode}): {' '.join(cmd)}\n"
            f"{stdout[-2000:]}{stderr[-2000:]}")
    wall = float(rows[-1][7])
    ops = int(rows[-1][4])
    if not done:
        sys.stderr.write("bench.py: crypto-perf's lcore CPU time not seen; wall-clock rate kept\n")
        return wall, wall
    run = max(done.values()) / 1e9
    # The CPU time also counts the test's set-up: ops per CPU second is a
    # lower bound, as is the tool's own rate when the core was taken away.
    return max(ops / run / 1e6, wall), wall


def cmd_ceiling(a):
    pin_away()
    bufs, weights = ceiling_buffers(a.alg, a.size)
    # A short run sizes the measured ones to about a window each.
    est, _ = perf_run(a, bufs, weights, 200000)
    total = max(200000, int(est * 1e6 * a.window))
    runs = [perf_run(a, bufs, weights, total) for _ in range(a.reps)]
    core = [r[0] for r in runs]
    wall = [r[1] for r in runs]
    print(json.dumps({"mpps": statistics.median(core), "reps": [round(x, 4) for x in core],
                      "mpps_wall": statistics.median(wall), "reps_wall": wall,
                      "buffers": bufs, "total_ops": total}))


# ---------------------------------------------------------------------- merge

def cmd_merge(a):
    """Samples of several runs of one case -> one sample: the median run."""
    runs = [json.load(open(f)) for f in a.samples]
    out = {"mpps": statistics.median(r["mpps"] for r in runs),
           "reps": [round(r["mpps"], 4) for r in runs],
           "mpps_wall": round(statistics.median(r["mpps_wall"] for r in runs), 4),
           "reps_wall": [round(r["mpps_wall"], 4) for r in runs],
           "cpu_share": [s for r in runs for s in r["cpu_share"]],
           "runq_wait": [s for r in runs for s in r["runq_wait"]],
           "rx_mpps": statistics.median(r["rx_mpps"] for r in runs),
           "window_s": runs[0]["window_s"]}
    extra = {}
    for r in runs:  # counters add up over the runs
        for k, v in r["extra"].items():
            extra[k] = extra.get(k, 0) + v if isinstance(v, int) else v
    out["extra"] = extra
    print(json.dumps(out))


# ------------------------------------------------------------------------ row

def cmd_row(a):
    s = json.load(open(a.sample))
    mean = traffic.mean_frame(a.size)
    row = {"impl": IMPL_LABEL[a.impl], "dir": a.dir, "alg": a.alg, "size": a.size,
           "flows": a.flows if a.flows else None, "lcores": a.lcores,
           "family": a.family, "vlan": a.vlan or None,
           "mpps": round(s["mpps"], 4), "gbps": round(s["mpps"] * mean * 8 / 1000, 3),
           "reps": s.get("reps"), "frame_mean": round(mean, 2)}
    for k in ("mpps_wall", "reps_wall", "cpu_share", "runq_wait", "rx_mpps", "buffers", "extra"):
        if k in s:
            row[k] = s[k]
    row["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    if os.environ.get("GVPN_BENCH_COMMIT"):
        row["commit"] = os.environ["GVPN_BENCH_COMMIT"]
    print(json.dumps(row))
    if a.progress:
        sys.stderr.write(f"run.sh:   {row['impl']:<11} {a.dir:<3} {variant(row):<4} {a.alg:<17} "
                         f"{a.size:>4} B "
                         f"{row['flows'] or '-':>4} flows {row['mpps']:8.3f} Mpps "
                         f"{row['gbps']:7.2f} Gbps  windows {row['reps']}\n")


# --------------------------------------------------------------------- report

def size_key(s):
    return SIZE_ORDER.index(s) if s in SIZE_ORDER else 99


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def variant(r):
    """A row's traffic variant: its family, and its VLAN tag where it has one
    ("ipv4", "ipv6", "ipv6+q"). Rows written before families were measured
    are IPv4."""
    return (r.get("family") or "ipv4").replace("ipv", "v") + ("+q" if r.get("vlan") else "")


def index(rows):
    by = {}
    for r in rows:
        if r["impl"] == "ceiling":
            by[("ceiling", r["dir"], r["alg"], r["size"], None)] = r
        else:
            by[(r["impl"], r["dir"], r["alg"], r["size"], r["flows"], variant(r))] = r
    return by


def cases(rows):
    """(dir, alg, size, flows, variant) of every network row, or of the
    ceiling alone."""
    seen = set()
    for r in rows:
        if r["impl"] != "ceiling":
            seen.add((r["dir"], r["alg"], r["size"], r["flows"], variant(r)))
    for r in rows:  # a ceiling with no network row keeps a line of its own
        if r["impl"] == "ceiling" and not any(n[:3] == (r["dir"], r["alg"], r["size"])
                                              for n in seen):
            seen.add((r["dir"], r["alg"], r["size"], None, ""))
    algs = list(traffic.ALGS)
    return sorted(seen, key=lambda c: (c[0] != "out", algs.index(c[1]) if c[1] in algs else 9,
                                       size_key(c[2]), c[3] or 0, c[4]))


def ratio(a, b):
    return a / b if a and b else None


def both(crypto, io):
    """Rate of a core that must do the crypto and the device I/O, nothing
    else: the times per packet add up."""
    return 1 / (1 / crypto + 1 / io) if crypto and io else None


def enrich(rows):
    """gvpnd rows get their ratios to ipsec-secgw and to the ceiling."""
    by = index(rows)
    for r in rows:
        if r["impl"] != "gvpnd":
            continue
        v = variant(r)
        s = by.get(("ipsec-secgw", r["dir"], r["alg"], r["size"], r["flows"], v))
        c = by.get(("ceiling", r["dir"], r["alg"], r["size"], None))
        r["vs_secgw"] = round(ratio(r["mpps"], s["mpps"] if s else None) or 0, 3) or None
        r["vs_ceiling"] = round(ratio(r["mpps"], c["mpps"] if c else None) or 0, 3) or None
        i = by.get(("io", r["dir"], r["alg"], r["size"], r["flows"], v))
        r["vs_ceiling_io"] = round(ratio(r["mpps"], both(c["mpps"] if c else None,
                                                       i["mpps"] if i else None)) or 0, 3) or None
    return rows


def fmt(v, spec):
    return format(v, spec) if v is not None else "-"


def table(rows):
    by = index(rows)
    cols = [("ceiling", "ceiling")]
    if any(r["impl"] == "io" for r in rows):
        cols.append(("io", "io only"))
    cols.append(("ipsec-secgw", "secgw"))
    before = any(r["impl"] == "gvpnd-before" for r in rows)
    if before:
        cols.append(("gvpnd-before", "before"))
    cols.append(("gvpnd", "gvpnd"))
    hdr = f"{'dir':<4} {'alg':<18} {'size':>5} {'flows':>5} {'ip':<5}"
    for _, label in cols:
        hdr += f" | {label:>7} {'Gbps':>6}"
    io = any(c[0] == "io" for c in cols)
    hdr += f" | {'g/secgw':>7} {'g/ceil':>6}" + (f" {'g/c+io':>6}" if io else "")
    hdr += f" {'g/before':>8}" if before else ""
    out = ["Mpps per worker lcore (per second of its core time); Gbps of the clear frames "
           "(FCS included)", hdr, "-" * len(hdr)]
    for d, alg, size, flows, v in cases(rows):
        line = f"{d:<4} {alg:<18} {size:>5} {fmt(flows, ''):>5} {v or '-':<5}"
        got = {}
        for impl, _ in cols:
            key = (impl, d, alg, size, None) if impl == "ceiling" else (impl, d, alg, size, flows, v)
            r = by.get(key)
            got[impl] = r["mpps"] if r else None
            line += f" | {fmt(got[impl], '.3f'):>7} {fmt(r['gbps'] if r else None, '.2f'):>6}"
        line += (f" | {fmt(ratio(got['gvpnd'], got['ipsec-secgw']), '.2f'):>7}"
                 f" {fmt(ratio(got['gvpnd'], got['ceiling']), '.2f'):>6}")
        if io:
            line += f" {fmt(ratio(got['gvpnd'], both(got['ceiling'], got['io'])), '.2f'):>6}"
        if before:
            line += f" {fmt(ratio(got['gvpnd'], got['gvpnd-before']), '.3f'):>8}"
        out.append(line)
    return "\n".join(out)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net_flows = sorted({r["flows"] for r in rows if r["flows"]})
    flows = net_flows[-1] if net_flows else None
    algs = [a for a in traffic.ALGS if any(r["alg"] == a for r in rows)]
    sizes = sorted({r["size"] for r in rows}, key=size_key)
    fig, axes = plt.subplots(2, len(algs), figsize=(max(6, 5 * len(algs)), 8), squeeze=False)
    style = {"ceiling": ("tab:gray", "crypto ceiling"), "ipsec-secgw": ("tab:blue", "ipsec-secgw"),
             "gvpnd": ("tab:red", "gvpnd")}
    by = index(rows)
    for col, alg in enumerate(algs):
        for row, metric in enumerate(("mpps", "gbps")):
            ax = axes[row][col]
            for impl, (color, label) in style.items():
                for d, ls, mk in (("out", "-", "o"), ("in", "--", "s")):
                    ys = []
                    for s in sizes:
                        r = by.get((impl, d, alg, s, None) if impl == "ceiling"
                                   else (impl, d, alg, s, flows, "v4"))
                        ys.append(r[metric] if r else float("nan"))
                    if all(y != y for y in ys):
                        continue
                    ax.plot(range(len(sizes)), ys, ls, marker=mk, color=color,
                            label=f"{label} {'outbound' if d == 'out' else 'inbound'}")
            ax.set_xticks(range(len(sizes)))
            ax.set_xticklabels(sizes)
            ax.set_xlabel("frame size (bytes)")
            ax.set_ylabel("Mpps" if metric == "mpps" else "Gbps (clear frames)")
            ax.set_title(traffic.ALGS[alg]["label"])
            ax.grid(True, alpha=0.3)
            if row == 0 and col == 0:
                ax.legend(fontsize=7)
    fig.suptitle(f"One worker lcore, {flows} flows; virtual devices on a 2-core VM", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def cmd_report(a):
    rows = enrich(load(a.results))
    if a.rewrite:
        write_rows(a.results, rows, append=False)
    print(table(rows))
    if a.plot:
        plot(rows, a.plot)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sample")
    p.add_argument("--prefix", required=True)
    p.add_argument("--impl", choices=("gvpnd", "ethdev"), required=True,
                   help="gvpnd: /gvpn/ports; ethdev: /ethdev/stats of ports 0 (clear) and 1")
    p.add_argument("--dir", choices=("out", "in"), required=True)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--window", type=float, default=3.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--pid", type=int, help="the measured process: stop early when it is gone")
    p = sub.add_parser("conf")
    p.add_argument("--impl", choices=("gvpnd", "secgw"), required=True)
    p.add_argument("--alg", choices=sorted(traffic.ALGS), required=True)
    p.add_argument("--clear-dev", default="net_pcap0")
    p.add_argument("--prot-dev", default="net_null0")
    p.add_argument("--mtu", type=int, default=1600)
    p.add_argument("--sa-type", default="")
    p.add_argument("--family", choices=("ipv4", "ipv6"), default="ipv4")
    p.add_argument("file")
    p = sub.add_parser("vector")
    p.add_argument("--alg", choices=sorted(traffic.ALGS), required=True)
    p.add_argument("--size", required=True)
    p.add_argument("file")
    p = sub.add_parser("ceiling")
    p.add_argument("--alg", choices=sorted(traffic.ALGS), required=True)
    p.add_argument("--dir", choices=("out", "in"), required=True)
    p.add_argument("--size", required=True)
    p.add_argument("--window", type=float, default=3.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--prefix", required=True)
    p.add_argument("--lcores", default="0-1")
    p.add_argument("--vector")
    p.add_argument("--perf", default="dpdk-test-crypto-perf")
    p = sub.add_parser("merge")
    p.add_argument("samples", nargs="+")
    p = sub.add_parser("row")
    for opt in ("--impl", "--dir", "--alg", "--size"):
        p.add_argument(opt, required=True)
    p.add_argument("--flows", type=int, default=0)
    p.add_argument("--lcores", type=int, default=1)
    p.add_argument("--family", choices=("ipv4", "ipv6"), default="ipv4")
    p.add_argument("--vlan", type=int, default=0)
    p.add_argument("--progress", action="store_true", help="also a line for people on stderr")
    p.add_argument("sample")
    p = sub.add_parser("report")
    p.add_argument("results")
    p.add_argument("--plot")
    p.add_argument("--rewrite", action="store_true", help="store the ratios in the results file")
    a = ap.parse_args()
    {"sample": cmd_sample, "conf": cmd_conf, "vector": cmd_vector, "ceiling": cmd_ceiling, "merge": cmd_merge, "row": cmd_row,
     "report": cmd_report}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
