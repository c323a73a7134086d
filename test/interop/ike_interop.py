#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""IKEv1 Main Mode interop, as TAP: gvpn's initiator against strongSwan's
charon and Libreswan's pluto as responders (pre-shared key), for each
cipher, hash and DH group both sides support, each checked in the
responder's own log (the group it says it used) and by tshark decrypting
the captured exchange with the phase-1 key; and against strongSwan over
IPv6, where both identities are ID_IPV6_ADDR.

Usage: ike_interop.py IKETOOL WORKDIR
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gvpntest import Netns, Tap, have_netns, main_guard, run  # noqa: E402

PSK = "interop-test-psk-for-gvpn-0123"
A, B = "10.9.0.1", "10.9.0.2"
A6, B6 = "2001:db8:9::1", "2001:db8:9::2"
# the proposals tried over IPv6 too (a MODP and an ECP group)
PROPOSALS6 = ["aes256-sha256-modp2048", "aes256-sha256-ecp256"]
# gvpn-iketool proposal, strongSwan's name, Libreswan's name (None: it has
# no such group), and the group as each responder logs it.
PROPOSALS = [
    ("aes128-sha1-modp1024", "aes128-sha1-modp1024", None, "MODP_1024", None),
    ("aes192-sha256-modp1536", "aes192-sha256-modp1536", "aes192-sha2_256-modp1536",
     "MODP_1536", "MODP1536"),
    ("aes256-sha256-modp2048", "aes256-sha256-modp2048", "aes256-sha2_256-modp2048",
     "MODP_2048", "MODP2048"),
    ("3des-md5-modp1536", "3des-md5-modp1536", "3des-md5-modp1536", "MODP_1536", "MODP1536"),
    ("3des-sha1-modp768", "3des-sha1-modp768", None, "MODP_768", None),
    ("aes128-md5-modp2048", "aes128-md5-modp2048", "aes128-md5-modp2048", "MODP_2048",
     "MODP2048"),
    ("aes128-sha1-modp3072", "aes128-sha1-modp3072", "aes128-sha1-modp3072", "MODP_3072",
     "MODP3072"),
    ("aes256-sha256-modp4096", "aes256-sha256-modp4096", "aes256-sha2_256-modp4096",
     "MODP_4096", "MODP4096"),
    ("aes256-sha256-ecp256", "aes256-sha256-ecp256", "aes256-sha2_256-ecp256", "ECP_256",
     "DH19"),
    ("3des-sha1-ecp256", "3des-sha1-ecp256", "3des-sha1-ecp256", "ECP_256", "DH19"),
    ("aes128-sha1-ecp384", "aes128-sha1-ecp384", "aes128-sha1-ecp384", "ECP_384", "DH20"),
    ("aes256-sha256-ecp384", "aes256-sha256-ecp384", "aes256-sha2_256-ecp384", "ECP_384",
     "DH20"),
]
CHARON = "/usr/lib/ipsec/charon"
# scripts/setup.sh unpacks Libreswan's package here (it conflicts with
# strongSwan's packages)
LIBRESWAN = "/var/lib/gvpn/libreswan"
PLUTO = LIBRESWAN + "/usr/libexec/ipsec/pluto"


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
connections {{ mm6 {{
  version = 1
  aggressive = no
  local_addrs = {B6}
  remote_addrs = {A6}
  proposals = {", ".join(props)}
  local {{ auth = psk
          id = {B6} }}
  remote {{ auth = psk
           id = {A6} }} }} }}
secrets {{ ike-1 {{ id-1 = {A}
                  id-2 = {B}
                  secret = "{PSK}" }}
          ike-2 {{ id-1 = {A6}
                  id-2 = {B6}
                  secret = "{PSK}" }} }}
""")


def pluto_conf(w, props):
    for d in ("nss", "run", "ipsec.d"):
        os.makedirs(f"{w}/{d}", exist_ok=True)
    r = run(["certutil", "-N", "-d", f"sql:{w}/nss", "--empty-password"])
    if r.returncode != 0:
        raise RuntimeError(f"certutil: {r.stderr}")
    with open(f"{w}/ipsec.conf", "w") as f:
        f.write(f"""config setup
  ikev1-policy=accept
conn mm
  ikev2=no
  authby=secret
  left={B}
  right={A}
  ike={",".join(props)}
  auto=add
""")
    with open(f"{w}/ipsec.secrets", "w") as f:
        f.write(f'{B} {A} : PSK "{PSK}"\n')
    os.chmod(f"{w}/ipsec.secrets", 0o600)


class Log:
    """A responder's log file, read from where the last look ended."""

    def __init__(self, path):
        self.path, self.at = path, 0

    def new(self):
        with open(self.path, errors="replace") as f:
            f.seek(self.at)
            text = f.read()
            self.at = f.tell()
        return text


def wait_for(cond, what, timeout=15):
    end = time.time() + timeout
    while not cond():
        if time.time() > end:
            raise RuntimeError(f"{what} did not happen")
        time.sleep(0.2)


def main_mode(n, tool, work, psk, peer, ours, log, established, a=A, b=B):
    """gvpn-iketool from address a against the responder on b in namespace
    b, captured there; established(text) checks the responder's log since
    the last look; tshark decrypts messages 5 and 6 with the key
    gvpn-iketool printed and finds each side's address identity (ID_IPV4_ADDR,
    or ID_IPV6_ADDR over IPv6)."""
    v6 = ":" in a
    cap = os.path.join(work, f"ike-{peer}-{ours}{'-6' if v6 else ''}.pcap")
    err = os.path.join(work, f"ike-{peer}-{ours}{'-6' if v6 else ''}.err")
    log.new()
    ts = subprocess.Popen(["ip", "netns", "exec", n.b, "tshark", "-q", "-i", "vb",
                           "-f", "udp port 500", "-w", cap, "-c", "6"],
                          stdout=subprocess.DEVNULL, stderr=open(err, "w"))
    wait_for(lambda: "Capture started" in open(err).read(), "tshark start", 10)
    r = run(["ip", "netns", "exec", n.a, tool, "--local", a, "--peer", b,
             "--psk-file", psk, "--proposal", ours], timeout=60)
    assert r.returncode == 0, f"gvpn-iketool: {r.stderr}"
    f = dict(kv.split("=") for kv in r.stdout.split()[1:])
    try:
        ts.wait(timeout=10)
    except subprocess.TimeoutExpired:
        ts.kill()
    text = ""
    end = time.time() + 5
    while time.time() < end:
        text += log.new()
        if established(text):
            break
        time.sleep(0.1)
    assert established(text), f"{peer} did not log this SA established:\n{text[-2000:]}"
    t = run(["tshark", "-r", cap, "-o",
             f"uat:ikev1_decryption_table:{f['icookie']},{f['key']}",
             "-T", "fields", "-e", "frame.number",
             "-e", "isakmp.id.data.ipv6_addr" if v6 else "isakmp.id.data.ipv4_addr",
             "-e", "_ws.malformed"])
    rows = [line.split("\t") for line in t.stdout.splitlines()]
    ids = {r[0]: r[1] for r in rows if len(r) > 1 and r[1]}
    assert ids.get("5") == a and ids.get("6") == b, f"tshark: {t.stdout} {t.stderr}"
    assert not any(len(r) > 2 and r[2] for r in rows), f"malformed: {t.stdout}"


def strongswan(tap, n, tool, work, psk):
    w = os.path.join(work, "sw")
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(f"{w}/run")
    charon_conf(w, [p[1] for p in PROPOSALS])
    open(f"{w}/charon.log", "w").close()
    env = dict(os.environ, STRONGSWAN_CONF=f"{w}/strongswan.conf")
    ch = subprocess.Popen(["ip", "netns", "exec", n.b, "unshare", "-m", "--propagation", "private",
                           "sh", "-c", f"mount --bind {w}/run /run && exec {CHARON}"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: run(["swanctl", "--stats"], env=env).returncode == 0, "charon start")
        r = run(["swanctl", "--load-all", "--file", f"{w}/swanctl.conf"], env=env)
        if r.returncode != 0:
            raise RuntimeError(f"swanctl: {r.stderr}")
        log = Log(f"{w}/charon.log")
        for ours, _, _, group, _ in PROPOSALS:
            def one(ours=ours, group=group):
                # "selected proposal: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"
                def established(text):
                    return (re.search(rf"selected proposal: IKE:\S*/{group}\b", text) and
                            re.search(r"IKE_SA mm\[\d+\] established", text))
                main_mode(n, tool, work, psk, "strongswan", ours, log, established)
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

        for ours in PROPOSALS6:
            def one6(ours=ours):
                def established(text):
                    return re.search(r"IKE_SA mm6\[\d+\] established between "
                                     rf"{re.escape(B6)}\[{re.escape(B6)}\]\.\.\."
                                     rf"{re.escape(A6)}\[{re.escape(A6)}\]", text)
                main_mode(n, tool, work, psk, "strongswan", ours, log, established, A6, B6)
                run(["swanctl", "--terminate", "--ike", "mm6", "--force"], env=env)
            tap.check(f"strongSwan responder accepts gvpn Main Mode {ours} over IPv6, "
                      "identities ID_IPV6_ADDR both ways; tshark decrypts messages 5-6", one6)
    finally:
        ch.terminate()
        ch.wait()


def libreswan(tap, n, tool, work, psk):
    w = os.path.join(work, "lsw")
    shutil.rmtree(w, ignore_errors=True)
    props = [p for p in PROPOSALS if p[2] is not None]
    pluto_conf(w, [p[2] for p in props])
    # pluto runs addconn from its built-in /usr/libexec/ipsec: the unpacked
    # package's, in a private mount namespace
    pl = subprocess.Popen(
        ["ip", "netns", "exec", n.b, "unshare", "-m", "--propagation", "private", "sh", "-c",
         f"mount --bind {LIBRESWAN}/usr/libexec /usr/libexec && exec {PLUTO} --nofork "
         f"--stderrlog --config {w}/ipsec.conf --rundir {w}/run --dumpdir {w}/run "
         f"--nssdir {w}/nss --secretsfile {w}/ipsec.secrets --ipsecdir {w}/ipsec.d "
         "--no-dnssec"],
        stdout=open(f"{w}/pluto.log", "w"), stderr=subprocess.STDOUT)
    try:
        log = Log(f"{w}/pluto.log")
        text = ""

        def listening():
            nonlocal text
            text += log.new()
            return "listening for IKE" in text and '"mm": added IKEv1 connection' in text
        wait_for(listening, "pluto start")
        for ours, _, _, _, group in props:
            def one(ours=ours, group=group):
                # "IKE SA established {auth=PRESHARED_KEY cipher=AES_CBC_256
                # integ=HMAC_SHA2_256 group=DH19}"
                def established(text):
                    return re.search(rf"IKE SA established {{[^}}]*group={group}}}", text)
                main_mode(n, tool, work, psk, "libreswan", ours, log, established)
            tap.check(f"Libreswan responder accepts gvpn Main Mode {ours}; tshark decrypts "
                      "messages 5-6", one)
    finally:
        pl.terminate()
        pl.wait()


def main():
    tool, work = sys.argv[1:3]
    os.makedirs(work, exist_ok=True)
    tap = Tap()
    peers = [("strongSwan", CHARON, [p[0] for p in PROPOSALS] + ["wrong pre-shared key"]
              + [f"{p} over IPv6" for p in PROPOSALS6]),
             ("Libreswan", PLUTO, [p[0] for p in PROPOSALS if p[2] is not None])]
    run_peers = []
    for name, binary, points in peers:
        if not have_netns() or not os.path.exists(binary):
            for p in points:
                tap.skip(f"{name} responder, {p}",
                         f"needs root, ip netns and {binary} (scripts/setup.sh)")
        else:
            run_peers.append(name)
    if not run_peers:
        return tap.done()
    psk = os.path.join(work, "psk")
    with open(psk, "w") as f:
        f.write(PSK)
    os.chmod(psk, 0o600)
    with Netns("ike", mtu=1500) as n:
        run(["ip", "-n", n.a, "addr", "add", f"{A}/24", "dev", "va"])
        run(["ip", "-n", n.b, "addr", "add", f"{B}/24", "dev", "vb"])
        # IPv6 without duplicate address detection: usable at once
        run(["ip", "-n", n.a, "addr", "add", f"{A6}/64", "dev", "va", "nodad"])
        run(["ip", "-n", n.b, "addr", "add", f"{B6}/64", "dev", "vb", "nodad"])
        # one responder at a time on UDP 500 in namespace b
        if "strongSwan" in run_peers:
            strongswan(tap, n, tool, work, psk)
        if "Libreswan" in run_peers:
            libreswan(tap, n, tool, work, psk)
    return tap.done()


if __name__ == "__main__":
    main_guard(main)
