#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""README command one, in its short mode, as TAP: both members register
with the key server in band (through their WAN ports, no other route),
traffic crosses encrypted (only ESP on the WAN, the hosts get their data),
the re-registration and a pushed rekey happen with traffic flowing, and
nothing is left behind; two demos at once, each removing only its own, and
demos ended by SIGINT or SIGTERM midway cleaning up all the same. Also the
offline ESP demo.

Usage: test_demo.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Gvpnd, Tap, have_netns, main_guard, run  # noqa: E402


def readme_first_run(gvpnd, root, work, tap):
    """README "Running gvpnd": scripts/lab-pcaps.py writes the pcaps, gvpnd
    on them with config/static-group.conf encrypts the 16 datagrams."""
    def runs():
        os.makedirs(work, exist_ok=True)
        r = run(["/usr/bin/python3", os.path.join(root, "scripts", "lab-pcaps.py"), work])
        assert r.returncode == 0, r.stderr
        conf = open(os.path.join(root, "config", "static-group.conf")).read()
        vdevs = [f"net_pcap0,rx_pcap={work}/clear.pcap,tx_pcap={work}/back.pcap",
                 f"net_pcap1,rx_pcap={work}/esp-in.pcap,tx_pcap={work}/esp-out.pcap"]
        with Gvpnd(gvpnd, conf, vdevs, work, name="readme") as g:
            g.wait(lambda: g.tel("/gvpn/sa")["0x00001001"]["encrypted_packets"] == 16,
                   what="the 16 lab datagrams encrypted")
            assert g.stop() == 0
    tap.check("README first run: scripts/lab-pcaps.py, then gvpnd on its pcaps encrypts them",
              runs)


DEMO_TIMEOUT = 240  # two at once on two cores: about twice the 30 s of one


def start_demo(root, work, name):
    """scripts/demo.sh --short in the background, its output in WORK/NAME.out."""
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, name + ".out")
    out = open(path, "w")
    p = subprocess.Popen([os.path.join(root, "scripts", "demo.sh"), "--short"],
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out.close()
    p.out_path = path
    return p


def output(p):
    with open(p.out_path) as f:
        return f.read()


def finish(p, timeout=DEMO_TIMEOUT):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return output(p)


def run_id(out):
    """The id the demo printed first ("demo ID: namespaces ...")."""
    m = re.search(r"^demo ([A-Za-z0-9]+): namespaces", out, re.M)
    assert m, out[-2000:]
    return m.group(1)


def group_rows(out):
    """gvpnctl show groups rows, each as {column: value}: the numbers are
    right-aligned under their headings, the others start under them."""
    rows, head = [], None
    for line in out.splitlines():
        if line.strip().startswith("GROUP ") and "REGS" in line:
            head = line
        elif head and line.strip().startswith("corp "):
            end = head.index("REGS") + len("REGS")
            state = head.index("STATE")
            rows.append({"STATE": line[state:].split()[0], "REGS": line[:end].split()[-1]})
        else:
            head = None
    return rows


def shown(out, cmd):
    """The output lines the demo showed under "$ CMD..." (indented by 4)."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  $ ") and re.fullmatch(cmd, line[4:].strip()):
            block = []
            for x in lines[i + 1:]:
                if not x.startswith("    "):
                    break
                block.append(x.strip())
            return block
    raise AssertionError(f"no '$ {cmd}' shown: {out[-2000:]}")


def check_demo(tap, name, rc, out):
    """The first run's checks on one demo's output."""
    def ran():
        assert rc == 0, out[-3000:]
    tap.check(f"{name}: scripts/demo.sh --short exits 0", ran)

    def registered():
        rows = group_rows(out)
        assert len(rows) == 4 and all(r["STATE"] == "registered" for r in rows), rows
        assert "$ app/gvpnctl/gvpnctl -f gvd" in out, "shown by gvpnctl"
    tap.check(f"{name}: both members registered with the key server (gvpnctl show groups)",
              registered)

    def in_band():
        for x, addr in (("a", "10.0.0.2/24"), ("b", "10.0.0.3/24")):
            addrs = shown(out, rf"ip -n gvd[A-Za-z0-9]+g{x} -br -4 addr")
            assert sorted(a.split()[0] for a in addrs) == ["lo", "wan"], addrs
            assert any(a.split()[0] == "wan" and addr in a for a in addrs), addrs
            routes = shown(out, rf"ip -n gvd[A-Za-z0-9]+g{x} route")
            assert "default via 10.0.0.1 dev wan" in routes, routes
            # no side channel: every route of the member's namespace uses the port's interface
            assert routes and all(" dev wan" in r for r in routes), routes
        assert "64 bytes from 10.0.0.2" in out, "the key server's ping of the member's address"
        ports = out[out.index("show ports"):]
        assert re.search(r"^\s+wan\s+10\.0\.0\.2/24\s+10\.0\.0\.1\s+wan\s", ports, re.M), \
            ports[:1500]
    tap.check(f"{name}: the member reaches the key server only in band: its namespace's "
              "one address is its WAN port's, on the interface gvpnd made, and every route "
              "goes through it", in_band)

    def traffic():
        assert "hostB got UDP 'hello from site A' from 192.0.2.10" in out, out[-2000:]
        assert "hostB got 200000 bytes over TCP from 192.0.2.10" in out
        assert " 0 other IP packets" in out and "ESP (SPI=0x00001001)" in out
        assert "192.0.2.10 -> 198.51.100.20 ESP" in out
    tap.check(f"{name}: hosts got their data; the WAN carried only ESP with the hosts' "
              "addresses", traffic)

    def rekeyed():
        rows = group_rows(out)
        assert [r["REGS"] for r in rows] == ["1", "1", "2", "2"], rows
        assert " 0% packet loss" in out, out[-1500:]
    tap.check(f"{name}: re-registration while pinging, no ping lost", rekeyed)

    def pushed():
        sas = {line.split()[0]: line.split()[2] for line in out.splitlines()
               if line.strip().startswith("0x0000100")}
        assert sas.get("0x00001002") == "active", sas
        assert sas.get("0x00001001") in ("retired", "decrypt"), sas
        tail = out[out.index("rekey: the key server pushes"):]
        assert " 0% packet loss" in tail, tail[-1500:]
        assert "(R" not in out and "{'" not in out, "requirement numbers or raw dicts"
    tap.check(f"{name}: a pushed TEK (new SPI) takes over while pinging, old and new SAs "
              "shown side by side, no ping lost", pushed)


def check_clean(tap, name, out):
    """Nothing the run made is left: its namespaces (and the interfaces in
    them), processes, DPDK runtime directories and its own directory."""
    def clean():
        rid = run_id(out)
        m = re.search(rf"^demo {rid} removed: processes (.*); namespaces (.*)$", out, re.M)
        assert m, out[-2000:]
        ns = run(["ip", "netns", "list"]).stdout
        assert rid not in ns, ns
        links = run(["ip", "-o", "link"]).stdout
        assert rid not in links, links
        pids = [int(x.split(":")[1]) for x in m.group(1).split() if ":" in x]
        alive = [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
        assert not alive, f"processes left: {alive}"
        ps = run(["ps", "-eo", "pid,args"]).stdout
        assert rid not in ps, [line for line in ps.splitlines() if rid in line]
        assert not os.path.exists(f"/run/gvpn-demo.{rid}")
        for x in "ab":
            assert not os.path.exists(f"/var/run/dpdk/gvd{rid}{x}")
        left = [f for d in ("/dev/shm", "/dev/hugepages") if os.path.isdir(d)
                for f in os.listdir(d) if rid in f]
        assert not left, left
    tap.check(f"{name}: nothing left behind (namespaces, interfaces, processes, runtime "
              "directories)", clean)


def live_demos(root, work, tap):
    """Two demos at the same time: each runs through and removes only its own."""
    demos = [start_demo(root, work, f"demo-{i}") for i in (1, 2)]
    outs = [finish(p) for p in demos]
    for i, (p, out) in enumerate(zip(demos, outs), 1):
        check_demo(tap, f"demo {i} of 2 at once", p.returncode, out)
        check_clean(tap, f"demo {i} of 2 at once", out)

    def distinct():
        assert run_id(outs[0]) != run_id(outs[1])
    tap.check("two demos at once have their own run ids", distinct)


def killed_demos(root, work, tap):
    """Two demos at once, one ended by SIGINT and one by SIGTERM once their
    members run (registered, traffic starting): both clean up on the way out."""
    demos = [(start_demo(root, work, f"killed-{sig.name}"), sig)
             for sig in (signal.SIGINT, signal.SIGTERM)]
    deadline = time.monotonic() + DEMO_TIMEOUT / 2
    waiting = list(demos)
    while waiting and time.monotonic() < deadline:
        for p, sig in list(waiting):
            if p.poll() is not None or "== traffic" in output(p):
                if p.poll() is None:
                    p.send_signal(sig)
                waiting.remove((p, sig))
        time.sleep(0.2)
    for p, sig in demos:
        out = finish(p, timeout=60)

        def stopped(p=p, sig=sig, out=out):
            assert "== traffic" in out, out[-2000:]
            assert p.returncode == 128 + sig, (p.returncode, out[-2000:])
        tap.check(f"demo ended by {sig.name} midway exits {128 + sig}", stopped)
        check_clean(tap, f"demo ended by {sig.name}", out)


def main():
    gvpnd, root, work = sys.argv[1:4]
    tap = Tap()
    readme_first_run(gvpnd, root, os.path.join(work, "readme"), tap)
    if not have_netns():
        tap.skip("live demo", "needs root and ip netns")
    else:
        live_demos(root, work, tap)
        killed_demos(root, work, tap)

    r = run([os.path.join(root, "scripts", "demo-esp.sh")], timeout=300)

    def offline():
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert "4 of 4 identical to the originals" in r.stdout, r.stdout[-1500:]
    tap.check("scripts/demo-esp.sh: tshark and scapy decrypt the built-in sample", offline)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
