#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The G-IKEv2 member (lib/gikev2, through gvpn-gikev2tool) against the
test key server gikev2_ks.py, written separately from the draft. TAP.

  gikev2_test.py GVPN-GIKEV2TOOL WORKDIR
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PSK = "a-test-psk-for-gikev2-000"
TEK = {"encr": 12, "bits": 128, "integ": 12,
       "src": ["10.1.0.0", "10.1.255.255"], "dst": ["10.2.0.0", "10.2.255.255"]}
results = []


def run(tool, work, name, cfg, args, duration=4.0, psk=PSK):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    cfg = dict({"psk": PSK, "group_id": "group1", "teks": [TEK]}, **cfg)
    with open(os.path.join(d, "ks.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(d, "psk"), "w") as f:
        f.write(psk)
    log = os.path.join(d, "ks.log")
    if os.path.exists(log):
        os.unlink(log)
    ks = subprocess.Popen([sys.executable, os.path.join(HERE, "gikev2_ks.py"), "--config",
                           os.path.join(d, "ks.json"), "--log", log,
                           "--duration", str(duration + 3)])
    port = None
    for _ in range(100):
        time.sleep(0.05)
        if os.path.exists(log):
            m = re.search(r'"port": (\d+)', open(log).read())
            if m:
                port = m.group(1)
                break
    out = subprocess.run([tool, "--local", "127.0.0.1", "--peer", "127.0.0.1", "--port", port,
                          "--psk-file", os.path.join(d, "psk"), "--duration", str(duration),
                          "--print-keys"] + args, capture_output=True, text=True, timeout=60)
    ks.wait(timeout=30)
    events = [json.loads(line) for line in open(log)]
    with open(os.path.join(d, "member.out"), "w") as f:
        f.write(out.stdout + out.stderr)
    return out.stdout, events


def check(name, cond, detail=""):
    results.append((name, cond, detail))


def keys_of(events):
    """SPI -> keymat the key server handed out."""
    k = {}
    for e in events:
        for t in e.get("teks", []):
            k[t["spi"]] = t["keymat"]
    return k


def member_keys(out):
    return {int(s, 16): h for s, h in re.findall(r"keys spi=0x([0-9a-f]+) ([0-9a-f]+)", out)}


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)

    # 1. registration, unicast rekeys, faults, inband rekey, a new rekey SA,
    #    exclusion; RSA signatures; GSA_INITIAL_MESSAGE_ID 100
    out, ev = run(tool, work, "rekeys", {
        "atd": 1, "dtd": 2, "rekey": {"initial_msgid": 100},
        "script": ["stale", "rekey", "replay", "bad_signature", "bad_icv", "malformed",
                   "rekey_delete_old", "inband_rekey", "new_rekey_sa", "rekey", "exclude"]},
        ["--proposal", "aes128-sha256-modp2048-kw128"], duration=5.5)
    ks_keys, mk = keys_of(ev), member_keys(out)
    check("registered with GSA_AUTH", "state registered" in out and
          any(e.get("event") == "registered" and e["exchange"] == 39 for e in ev), out)
    check("policy: one TEK, receiver only, GAP", "policy teks=1 atd=1 dtd=2" in out and
          " dir=2 " in out)
    check("every TEK's keys are the key server's", mk and all(ks_keys.get(s) == h
                                                             for s, h in mk.items()),
          f"{mk} {ks_keys}")
    # the faulty messages took message IDs 101-103: the next good one is 104
    check("pushes: rekey 100, 104 with a Delete, inband, new rekey SA, 0 and 1 under it",
          re.findall(r"push seq=(\d+) teks=(\d+) deletes=(\d+)", out) ==
          [("100", "1", "0"), ("104", "1", "1"), ("0", "1", "0"), ("105", "0", "0"),
           ("0", "1", "0"), ("1", "0", "2")], out)
    check("faults refused by reason",
          "stale=1" in out and "replay=1" in out and "bad_signature=1" in out and
          "bad_icv=1" in out and "malformed=1" in out, out)
    check("inband rekey answered", any(e.get("event") == "inband_answered" for e in ev))
    check("excluded at the end", "state excluded" in out and "rekey_sa held=0" in out, out)
    check("stats", "stats registrations=1 rekeys=5 inband=1" in out, out)

    # 2. AES-GCM everywhere, ECP 256, KW 256, a sender with Sender-IDs,
    #    re-registration over the IKE SA (GSA_REGISTRATION)
    gcm = dict(TEK, encr=20, bits=256, integ=0)
    out, ev = run(tool, work, "sender", {
        "teks": [gcm], "sid_bits": 12, "rekey": {"encr": 20, "bits": 256, "kwa": 3},
        "script": ["rekey"]},
        ["--proposal", "aes256gcm16-prfsha384-ecp256-kw256", "--sender", "2",
         "--reregister", "1.5"], duration=3)
    ks_keys, mk = keys_of(ev), member_keys(out)
    check("GCM sender registered with Sender-ID 0 of 12 bits", "sid=0/12" in out and
          " dir=3 " in out and " cipher_key=36 " in out, out)
    check("GCM keys are the key server's", mk and all(ks_keys.get(s) == h
                                                      for s, h in mk.items()))
    check("GSA_REGISTRATION on the IKE SA", "reregister rc=0" in out and
          any(e.get("event") == "registered" and e["exchange"] == 40 for e in ev) and
          "registrations=2" in out, out)
    check("second registration gives new Sender-IDs",
          "sid=2/12" in out, out)

    # 3. faults of the registration
    out, ev = run(tool, work, "wrong_psk", {}, ["--proposal", "aes128-sha256-modp2048-kw128"],
                  duration=2, psk=PSK + "x")
    check("wrong PSK: GCKS refuses, member fails", any(e.get("event") == "auth_failed"
                                                       for e in ev) and
          "state failed" in out and "AUTHENTICATION_FAILED" in out, out)
    out, ev = run(tool, work, "bad_auth", {"registration_fault": "bad_auth"},
                  ["--proposal", "aes128-sha256-modp2048-kw128"], duration=2)
    check("GCKS's AUTH wrong: member fails", "state failed responder's AUTH does not verify"
          in out and "policy teks" not in out, out)
    out, ev = run(tool, work, "authz", {"registration_fault": "authorization_failed"},
                  ["--proposal", "aes128-sha256-modp2048-kw128"], duration=2)
    check("AUTHORIZATION_FAILED reported", "AUTHORIZATION_FAILED (46)" in out, out)
    out, ev = run(tool, work, "bad_group", {}, ["--proposal", "aes128-sha256-modp2048-kw128",
                                                "--group", "nogroup"], duration=2)
    check("INVALID_GROUP_ID reported", "INVALID_GROUP_ID (45)" in out, out)
    out, ev = run(tool, work, "malformed_kd", {"registration_fault": "malformed_kd"},
                  ["--proposal", "aes128-sha256-modp2048-kw128"], duration=2)
    check("malformed KD refused whole", "state failed" in out and "policy teks" not in out, out)

    # 4. implicit authentication: refused unless allowed
    out, ev = run(tool, work, "implicit_refused", {"rekey": {"gcauth": 1}},
                  ["--proposal", "aes128-sha256-modp2048-kw128"], duration=2)
    check("implicit rekey authentication refused by default",
          "implicitly" in out and "state failed" in out, out)
    out, ev = run(tool, work, "implicit", {"rekey": {"gcauth": 1},
                                           "script": ["rekey", "bad_icv"]},
                  ["--proposal", "aes128-sha256-modp2048-kw128", "--implicit"], duration=2.5)
    check("implicit: registered, rekey accepted, forged ICV refused",
          "push seq=0 teks=1" in out and "bad_icv=1" in out, out)

    # 5. RSASSA-PSS (RFC 8017 8.1) signatures: SHA-384, MGF1-SHA-384, 48-octet
    #    salt; a forged signature and one with other parameters refused; PSS
    #    parameters that are not safe refuse the registration
    out, ev = run(tool, work, "pss", {
        "rekey": {"sig": "rsa-pss-sha384", "initial_msgid": 7},
        "script": ["rekey", "bad_signature", "sig_params", "rekey"]},
        ["--proposal", "aes128-sha256-modp2048-kw128"], duration=3)
    check("RSASSA-PSS SHA-384: rekeys 7 and 10 applied, forged and other-parameter "
          "signatures refused by reason",
          re.findall(r"push seq=(\d+)", out) == ["7", "10"] and "bad_signature=1" in out and
          "sig_alg=1" in out, out)
    for name, rk, text in [
            ("salt shorter than the hash", {"sig": "rsa-pss-sha256", "salt": 20},
             "salt shorter than the hash"),
            ("MGF1 hash not the hash", {"sig": "rsa-pss-sha256", "mgf_hash": "sha1"},
             "MGF1 hash is not the signature's hash")]:
        out, ev = run(tool, work, "pss_unsafe", {"rekey": rk},
                      ["--proposal", "aes128-sha256-modp2048-kw128"], duration=2)
        check(f"RSASSA-PSS with the {name}: registration refused",
              "state failed" in out and text in out and "policy teks" not in out, out)

    print(f"1..{len(results)}")
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        if not ok:
            for line in str(detail).splitlines()[:40]:
                print(f"# {line}")
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
