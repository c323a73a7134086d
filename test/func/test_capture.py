#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""dpdk-dumpcap against a running gvpnd (rte_pdump), as TAP.

A secondary process cannot attach to a --no-huge primary, so this test
reserves 2 MiB hugepages (and mounts hugetlbfs) when the machine lets it,
runs gvpnd on them, captures both ports with dpdk-dumpcap and reads the
captures with tshark: ESP with the inner addresses (R2) on the protected
port, and clear UDP on the inside port once that ESP is replayed inbound. Everything it reserved or mounted is
given back. Without hugepages it skips, saying why. Before and on hugepages, a
clean stop must leave neither hugepage files nor the runtime directory.

Usage: test_capture.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, Tap, main_guard, run  # noqa: E402

from scapy.all import IP, UDP, Ether, Raw, wrpcap  # noqa: E402

NR = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
MNT = "/dev/hugepages"
PAGES = 160  # gvpnd -m 256 and dumpcap's share
CAPTURES_AFTER = 6  # captures ending while traffic flows, after the checked one


def free_pages():
    for line in open("/proc/meminfo"):
        if line.startswith("HugePages_Free:"):
            return int(line.split()[1])
    return 0


class Hugepages:
    """At least PAGES free 2 MiB pages and a hugetlbfs mount, undone on exit."""

    def __init__(self):
        self.old = None
        self.mounted = False
        self.why = None

    def __enter__(self):
        if os.geteuid() != 0:
            self.why = "needs root to reserve hugepages"
            return self
        try:
            have = int(open(NR).read())
            if free_pages() < PAGES:
                self.old = have
                with open(NR, "w") as f:
                    f.write(str(have + PAGES - free_pages()))
        except OSError as e:
            self.why = f"cannot reserve hugepages: {e}"
            return self
        if free_pages() < PAGES:
            self.why = f"the kernel gave {free_pages()} free 2 MiB pages, {PAGES} needed"
            return self
        if not any(line.split()[2] == "hugetlbfs" for line in open("/proc/mounts")):
            os.makedirs(MNT, exist_ok=True)
            r = run(["mount", "-t", "hugetlbfs", "nodev", MNT])
            if r.returncode != 0:
                self.why = f"cannot mount hugetlbfs: {r.stderr.strip()}"
                return self
            self.mounted = True
        return self

    def __exit__(self, *exc):
        if self.mounted:
            run(["umount", MNT])
        if self.old is not None:
            with open(NR, "w") as f:
                f.write(str(self.old))


def tshark(path, fields):
    r = run(["tshark", "-r", path, "-T", "fields"] + sum((["-e", f] for f in fields), []))
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def dumpcap(g, port, out):
    r = run(["timeout", "30", "dpdk-dumpcap", "--file-prefix", g.prefix, "-i", port, "-c", "20",
             "-w", out])
    assert r.returncode == 0, f"exit {r.returncode}: {r.stdout}{r.stderr}"
    return out


def test_dumpcap(ctx, tap):
    """Outbound, the protected port is captured; the capture, replayed into
    the protected port of a second run, decrypts, and the clear port is
    captured. (A net_pcap port replaying with infinite_rx cannot be opened
    by a secondary process, so each run captures the other port. And
    the secondary sees only the first 63 characters of a device's
    arguments: longer ones come out cut, and DPDK 22.11's pcap driver then
    fails the probe or, with a trailing infinite_rx cut from its value,
    crashes dpdk-dumpcap. Hence short paths, and infinite_rx first.)"""
    w = ctx["work"]
    short = f"/tmp/gc{os.getpid() % 10000}"  # device arguments: 63 characters at most
    os.makedirs(short, exist_ok=True)
    try:
        dumpcap_runs(ctx, tap, w, short)
    finally:
        shutil.rmtree(short, ignore_errors=True)


def run_and_capture(ctx, conf, w, name, vdevs, counter, port, out, fields):
    """gvpnd on `vdevs` until `counter` passes 100, 20 packets of `port`
    captured into `out` by dpdk-dumpcap: tshark's `fields` of each. Then
    CAPTURES_AFTER more captures, each ending while packets flow: the end of
    a capture must never take gvpnd down (DPDK 22.11 answers the capturing
    process before a worker inside the capture callback has left it;
    gvpnd_capture.c waits for the workers)."""
    with Gvpnd(ctx["gvpnd"], conf, vdevs, w, name=name, huge=True) as g:
        g.wait(lambda: g.lcores()[counter] > 100, what=counter)
        dumpcap(g, port, out)
        for k in range(CAPTURES_AFTER):
            dumpcap(g, port, f"{out}.{k}")
            os.unlink(f"{out}.{k}")
        time.sleep(0.5)
        assert g.proc.poll() is None, f"gvpnd exited ({g.proc.poll()}) after a capture ended"
        assert g.stop() == 0
    rows = tshark(out, fields)
    assert len(rows) >= 20, len(rows)  # -c stops after the burst that reaches it
    return rows


def dumpcap_runs(ctx, tap, w, short):
    clear = os.path.join(short, "c")
    wrpcap(clear, [Ether() / IP(src="192.0.2.10", dst="198.51.100.20") /
                   UDP(sport=40000, dport=40001) / Raw(b"captured %d" % i) for i in range(4)])
    empty = os.path.join(short, "e")
    wrpcap(empty, [], linktype=1)
    conf = open(os.path.join(ctx["root"], "config", "static-group.conf")).read()
    esp_ng, esp = os.path.join(w, "capture-wan.pcapng"), os.path.join(short, "w")
    back = os.path.join(w, "capture-inside.pcapng")

    def wan():
        vdevs = [f"net_pcap0,infinite_rx=1,rx_pcap={clear},tx_pcap=/dev/null",
                 f"net_pcap1,rx_pcap={empty},tx_pcap=/dev/null"]
        rows = run_and_capture(ctx, conf, w, "capture-out", vdevs, "encrypted", "net_pcap1",
                               esp_ng, ["ip.src", "ip.dst", "esp.spi"])
        assert all(r[:2] == ["192.0.2.10", "198.51.100.20"] and int(r[2], 0) == 0x1001
                   for r in rows), rows
    if not tap.check("dpdk-dumpcap on the protected port of a running gvpnd: ESP with the "
                     "inner addresses (R2)", wan):
        return

    def inside():
        r = run(["editcap", "-F", "pcap", esp_ng, esp])
        assert r.returncode == 0, r.stderr
        vdevs = [f"net_pcap0,rx_pcap={empty},tx_pcap=/dev/null",
                 f"net_pcap1,infinite_rx=1,rx_pcap={esp},tx_pcap=/dev/null"]
        rows = run_and_capture(ctx, conf, w, "capture-in", vdevs, "decrypted", "net_pcap0",
                               back, ["ip.src", "ip.dst", "udp.dstport", "data.data"])
        assert all(r[:3] == ["192.0.2.10", "198.51.100.20", "40001"] and
                   bytes.fromhex(r[3]).startswith(b"captured ") for r in rows), rows
    tap.check("dpdk-dumpcap on the clear port: that capture, replayed, arrives decrypted",
              inside)


def leftovers(prefix):
    """Hugepage files and the runtime directory a gvpnd with `prefix` left."""
    files = [f for m in hugetlbfs_mounts() for f in os.listdir(m)
             if f.startswith(prefix + "map_")]
    rundir = os.path.join("/var/run/dpdk", prefix)
    return files + ([rundir] if os.path.exists(rundir) else [])


def hugetlbfs_mounts():
    return [line.split()[1] for line in open("/proc/mounts") if line.split()[2] == "hugetlbfs"]


def test_clean_stop(ctx, tap, huge):
    """A clean stop gives back what EAL took from the host: the hugepage
    files (-m reserves them all up front) and /var/run/dpdk/<prefix>."""
    conf = open(os.path.join(ctx["root"], "config", "static-group.conf")).read()
    vdevs = ["net_null0", "net_null1"]
    conf = conf.replace("net_pcap0", "net_null0").replace("net_pcap1", "net_null1")

    def clean():
        g = Gvpnd(ctx["gvpnd"], conf, vdevs, ctx["work"], name="clean-stop", huge=huge)
        with g:
            held = leftovers(g.prefix)
            assert os.path.join("/var/run/dpdk", g.prefix) in held, held
            if huge:
                assert len(held) > 100, f"-m 256 should hold 128 page files: {held}"
            assert g.stop() == 0
        assert leftovers(g.prefix) == [], leftovers(g.prefix)
    what = "hugepage files and" if huge else "(--no-huge)"
    tap.check(f"a clean stop removes its {what} runtime directory", clean)


def main():
    gvpnd, root, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    ctx = {"gvpnd": gvpnd, "root": root, "work": work}
    test_clean_stop(ctx, tap, huge=False)
    with Hugepages() as h:
        if h.why:
            for name in ("dumpcap clear port", "dumpcap protected port",
                         "clean stop on hugepages"):
                tap.skip(name, h.why)
        else:
            test_dumpcap(ctx, tap)
            test_clean_stop(ctx, tap, huge=True)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
