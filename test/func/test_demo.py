#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""README command one, in its short mode, as TAP: both members register,
traffic crosses encrypted (only ESP on the WAN, the hosts get their data),
the re-registration happens with traffic flowing, and nothing is left
behind. Also the offline ESP demo.

Usage: test_demo.py GVPND SOURCE_ROOT WORKDIR
"""
import os
import sys

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


def main():
    gvpnd, root, work = sys.argv[1:4]
    tap = Tap()
    readme_first_run(gvpnd, root, os.path.join(work, "readme"), tap)
    if not have_netns():
        tap.skip("live demo", "needs root and ip netns")
    else:
        r = run([os.path.join(root, "scripts", "demo.sh"), "--short"], timeout=300)
        out = r.stdout + r.stderr

        def ran():
            assert r.returncode == 0, out[-3000:]
        tap.check("scripts/demo.sh --short exits 0", ran)

        def registered():
            rows = [l for l in out.splitlines() if l.strip().startswith(("gvda", "gvdb"))]
            assert len(rows) == 4 and all(" registered " in l for l in rows), rows
        tap.check("demo: both members registered with the key server", registered)

        def traffic():
            assert "hostB got UDP 'hello from site A' from 192.0.2.10" in out, out[-2000:]
            assert "hostB got 200000 bytes over TCP from 192.0.2.10" in out
            assert " 0 other IP packets" in out and "ESP (SPI=0x00001001)" in out
            assert "192.0.2.10 -> 198.51.100.20 ESP" in out
        tap.check("demo: hosts got their data; the WAN carried only ESP with the hosts' addresses",
                  traffic)

        def rekeyed():
            rows = [l.split() for l in out.splitlines() if l.strip().startswith(("gvda", "gvdb"))]
            assert [r[-1] for r in rows[2:]] == ["2", "2"], rows
            assert " 0% packet loss" in out, out[-1500:]
        tap.check("demo: re-registration while pinging, no ping lost", rekeyed)

        def pushed():
            sas = {l.split()[0]: l.split()[2] for l in out.splitlines()
                   if l.strip().startswith("0x0000100")}
            assert sas.get("0x00001002") == "active", sas
            assert sas.get("0x00001001") in ("retired", "decrypt"), sas
            tail = out[out.index("rekey: the key server pushes"):]
            assert " 0% packet loss" in tail, tail[-1500:]
            assert "(R" not in out and "{'" not in out, "requirement numbers or raw dicts"
        tap.check("demo: a pushed TEK (new SPI) takes over while pinging, old and new SAs shown "
                  "side by side, no ping lost", pushed)

        def clean():
            ns = run(["ip", "netns", "list"]).stdout
            assert "gvd" not in ns, ns
            ps = run(["ps", "-eo", "args"]).stdout
            assert "gvpn-demo" not in ps and "--file-prefix gvd" not in ps, ps
            assert not os.path.exists("/run/gvpn-demo")
            assert not os.path.exists("/var/run/dpdk/gvda")
        tap.check("demo: nothing left behind (namespaces, processes, runtime directories)", clean)

    r = run([os.path.join(root, "scripts", "demo-esp.sh")], timeout=300)

    def offline():
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert "4 of 4 identical to the originals" in r.stdout, r.stdout[-1500:]
    tap.check("scripts/demo-esp.sh: tshark and scapy decrypt the built-in sample", offline)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
