#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Rekeys at full rate: two gvpnd members joined by net_memif replay clear
traffic at each other as fast as they can while the test key server pushes a
new TEK every INTERVAL seconds (GROUPKEY-PUSH with ATD/DTD; every fourth a new
KEK too) for SECONDS. Reported per member: Mpps encrypted and decrypted, every
drop by reason; "lost" counts the drops a key change could cause (no SA,
SPI mismatch, bad ICV, replay window, no rule), which must be 0. A full memif
ring at the sender (drop_tx_full) is congestion between two members sharing
the machine's cores and is reported separately.

usage: scripts/bench/rekey.py [--seconds 30] [--interval 2] [--payload 64]
                              [--gvpnd build/app/gvpnd] [--out FILE.jsonl]
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "pylib"))
sys.path.insert(0, os.path.join(ROOT, "test", "func"))
from gvpntest import KeyServer, write_rows  # noqa: E402
from test_push import Control, Pair, active_spi, group, ks_conf, wait_acks  # noqa: E402

KEY_DROPS = ("drop_no_sa", "drop_no_rule", "drop_esp_bad_spi", "drop_esp_bad_icv",
             "drop_esp_replay_window", "drop_esp_bad_stamp")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--interval", type=float, default=2)
    ap.add_argument("--payload", type=int, default=64, help="UDP payload octets")
    ap.add_argument("--gvpnd", default=os.path.join(ROOT, "build", "app", "gvpnd"))
    ap.add_argument("--out", help="append one JSON line per member")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gvpn-rekey-")
    ctx = {"gvpnd": a.gvpnd, "root": ROOT, "work": work}
    port = 20000 + os.getpid() % 1000
    control = Control(os.path.join(work, "control.json"))
    with KeyServer(ROOT, ks_conf(port, control.path), work, "ks") as ks, \
            Pair(ctx, port, "bench", a.payload) as pair:
        for g in pair.both():
            g.wait(lambda g=g: group(g)["state"] == "registered" and active_spi(g), timeout=20,
                   what="registration")
            g.wait(lambda g=g: g.lcores()["decrypted"] > 1000, timeout=10, what="traffic")
        before = {g: g.lcores() for g in pair.both()}
        t0 = time.time()
        n = acks = 0
        spis = set()
        while time.time() - t0 < a.seconds:
            n += 1
            control.push(ks, rekey=True, new_kek=(n % 4 == 0), keep_rsa=True)
            acks += 2
            wait_acks(ks, acks)
            spis.add(active_spi(pair.a))
            time.sleep(max(0.0, t0 + n * a.interval - time.time()))
        wall = time.time() - t0
        after = {g: g.lcores() for g in pair.both()}
        rows = []
        for name, g in (("a", pair.a), ("b", pair.b)):
            d = {k: after[g][k] - before[g][k] for k in after[g]}
            drops = {k: v for k, v in d.items() if k.startswith("drop") and v}
            lost = sum(drops.get(k, 0) for k in KEY_DROPS)
            info = group(g)
            rows.append({"bench": "rekey", "member": name, "seconds": round(wall, 1),
                         "pushes": n, "pushes_applied": info["pushes"],
                         "payload": a.payload,
                         "mpps_encrypted": round(d["encrypted"] / wall / 1e6, 3),
                         "mpps_decrypted": round(d["decrypted"] / wall / 1e6, 3),
                         "lost": lost, "drops": drops, "spis": len(spis)})
    print(f"{'member':6} {'pushes':>6} {'enc Mpps':>9} {'dec Mpps':>9} {'lost':>5}  drops")
    for r in rows:
        print(f"{r['member']:6} {r['pushes_applied']:>6} {r['mpps_encrypted']:>9} "
              f"{r['mpps_decrypted']:>9} {r['lost']:>5}  {r['drops']}")
    if a.out:
        write_rows(a.out, rows)
    return 0 if all(r["lost"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
