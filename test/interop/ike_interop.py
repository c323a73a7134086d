#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""IKEv1 Main Mode interop, as TAP: gvpn's initiator against strongSwan's
charon as the responder (pre-shared key), for each cipher, hash and DH group
both support, and tshark decrypting the captured exchange with the
phase-1 key.

Usage: ike_interop.py IKETOOL WORKDIR
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Netns, Tap, have_netns, main_guard, run  # noqa: E402

PSK = "interop-test-psk-for-gvpn-0123"
A, B = "10.9.0.1", "10.9.0.2"
# (gvpn-iketool proposal, strongSwan proposal)
PROPOSALS = [
    ("aes128-sha1-modp1024", "aes128-sha1-modp1024"),
    ("aes192-sha256-modp1536", "aes192-sha256-modp1536"),
    ("aes256-sha256-modp2048", "aes256-sha256-modp2048"),
    ("3des-md5-modp1536", "3des-md5-modp1536"),
    ("3des-sha1-modp768", "3des-sha1-modp768"),
    ("aes128-md5-modp2048", "aes128-md5-modp2048"),
]
CHARON = "/usr/lib/ipsec/charon"


def charon_conf(w, props):
    with open(f"{w}/strongswan.conf", "w") as f:
        f.write(f"""charon {{
  load = random nonce openssl pem pkcs1 x509 pubkey kernel-netlink socket-default vici
  plugins {{ vici {{ socket = unix://{w}/charon.vici }} }}
  filelog {{
    log {{ path = {w}/charon.log
          flush_line = yes
          ike = 2 }}
    stderr {{ default = 0 }}
  }}
}}
swanctl {{ socket = unix://{w}/charon.vici }}
""")
    with open(f"{w}/swanctl.conf", "w") as f:
        f.write(f"""connections {{ mm {{
  version = 1
  aggressive = no
  local_addrs = {B}
  remote_addrs = {A}
  proposals = {", ".join(props)}
  local {{ auth = psk
          id = {B} }}
  remote {{ auth = psk
           id = {A} }} }} }}
secrets {{ ike-1 {{ id-1 = {A}
                  id-2 = {B}
                  secret = "{PSK}" }} }}
""")


def main():
    tool, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    if not have_netns() or not os.path.exists(CHARON):
        for p, _ in PROPOSALS:
            tap.skip(f"strongSwan responder, {p}", "needs root, ip netns and strongSwan")
        return tap.done()
    psk = os.path.join(work, "psk")
    with open(psk, "w") as f:
        f.write(PSK)
    os.chmod(psk, 0o600)
    w = os.path.join(work, "sw")
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(f"{w}/run")
    charon_conf(w, [s for _, s in PROPOSALS])
    env = dict(os.environ, STRONGSWAN_CONF=f"{w}/strongswan.conf")
    with Netns("ike", mtu=1500) as n:
        run(["ip", "-n", n.a, "addr", "add", f"{A}/24", "dev", "va"])
        run(["ip", "-n", n.b, "addr", "add", f"{B}/24", "dev", "vb"])
        ch = subprocess.Popen(["ip", "netns", "exec", n.b, "unshare", "-m", "--propagation", "private",
                               "sh", "-c", f"mount --bind {w}/run /run && exec {CHARON}"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.time() + 15
            while run(["swanctl", "--stats"], env=env).returncode != 0:
                if time.time() > end:
                    raise RuntimeError("charon did not start")
                time.sleep(0.2)
            r = run(["swanctl", "--load-all", "--file", f"{w}/swanctl.conf"], env=env)
            if r.returncode != 0:
                raise RuntimeError(f"swanctl: {r.stderr}")
            for ours, theirs in PROPOSALS:
                def one(ours=ours, theirs=theirs):
                    cap = os.path.join(work, f"ike-{ours}.pcap")
                    err = os.path.join(work, f"ike-{ours}.err")
                    ts = subprocess.Popen(["ip", "netns", "exec", n.b, "tshark", "-q", "-i", "vb",
                                           "-f", "udp port 500", "-w", cap, "-c", "6"],
                                          stdout=subprocess.DEVNULL, stderr=open(err, "w"))
                    end = time.time() + 10
                    while "Capture started" not in open(err).read():
                        assert time.time() < end, "tshark did not start"
                        time.sleep(0.1)
                    r = run(["ip", "netns", "exec", n.a, tool, "--local", A, "--peer", B,
                             "--psk-file", psk, "--proposal", ours], timeout=60)
                    assert r.returncode == 0, f"gvpn-iketool: {r.stderr}"
                    f = dict(kv.split("=") for kv in r.stdout.split()[1:])
                    try:
                        ts.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        ts.kill()
                    log = open(f"{w}/charon.log").read()
                    assert "established" in log, "charon did not log an established IKE_SA"
                    # tshark decrypts messages 5 and 6 with the phase-1 key
                    t = run(["tshark", "-r", cap, "-o",
                             f"uat:ikev1_decryption_table:{f['icookie']},{f['key']}",
                             "-T", "fields", "-e", "frame.number", "-e", "isakmp.id.data.ipv4_addr",
                             "-e", "_ws.malformed"])
                    rows = [line.split("\t") for line in t.stdout.splitlines()]
                    ids = {r[0]: r[1] for r in rows if len(r) > 1 and r[1]}
                    assert ids.get("5") == A and ids.get("6") == B, f"tshark: {t.stdout} {t.stderr}"
                    assert not any(len(r) > 2 and r[2] for r in rows), f"malformed: {t.stdout}"
                    run(["swanctl", "--terminate", "--ike", "mm", "--force"], env=env)
                tap.check(f"strongSwan responder accepts gvpn Main Mode {ours}; tshark decrypts "
                          "messages 5-6", one)

            def wrong_psk():
                bad = os.path.join(work, "badpsk")
                with open(bad, "w") as f:
                    f.write(PSK + "x")
                r = run(["ip", "netns", "exec", n.a, tool, "--local", A, "--peer", B,
                         "--psk-file", bad, "--proposal", PROPOSALS[0][0], "--retries", "2"],
                        timeout=60)
                assert r.returncode == 1 and ("failed" in r.stderr or "no answer" in r.stderr), r.stderr
            tap.check("a wrong pre-shared key fails phase 1 with a clear reason", wrong_psk)
        finally:
            ch.terminate()
            ch.wait()
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
