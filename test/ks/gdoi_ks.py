#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""gvpn's test GDOI key server: IKEv1 Main Mode (PSK) responder,
GROUPKEY-PULL responder and GROUPKEY-PUSH sender (RFC 2409, RFC 6407),
GROUPKEY-PUSH ACK verifier (RFC 8263), with scriptable faults.

    gdoi_ks.py --config FILE.json [--log FILE]

One JSON line per event on stdout, or appended to the --log file (whoever
starts the server need not drain a pipe: a full one would stall it); a
JSON state file (keys included: this
is a test tool) rewritten atomically after every change. SIGTERM/SIGINT
stop it (exit 0); SIGUSR1 re-reads `faults` and `psk` from the config
file; a `control_file` is polled for new faults and pushes. See
README.md.
"""
import argparse
import asyncio
import hashlib
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gdoi  # noqa: E402
import ike  # noqa: E402
import isakmp as I  # noqa: E402
import push  # noqa: E402

ZERO_COOKIE = b"\0" * 8
MALFORM_KINDS = ("truncated", "bad_length", "unknown_next_payload")
REPLY_STEPS = ("mm2", "mm4", "mm6", "pull2", "pull4")


class ConfigError(Exception):
    pass


def load_config(path):
    try:
        with open(path, encoding="utf-8") as f:
            conf = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: {e}") from e
    if not isinstance(conf.get("psk"), str) or not conf["psk"]:
        raise ConfigError(f"{path}: psk (string) is required")
    conf.setdefault("listen", "127.0.0.1")
    conf.setdefault("port", 848)
    conf.setdefault("groups", [])
    conf.setdefault("faults", {})
    check_faults(conf["faults"], path)
    return conf


# Main Mode reply sent from each responder state
MM_STEPS = {"new": "mm2", "sa_sent": "mm4", "ke_sent": "mm6"}


def check_faults(f, where):
    if not isinstance(f, dict):
        raise ConfigError(f"{where}: faults must be an object")
    known = {"silent", "slow", "wrong_psk", "refuse_group", "malformed",
             "drop_after_phase1", "spoof_notify"}
    for k in f:
        if k not in known:
            raise ConfigError(f"{where}: unknown fault {k!r}")
    m = f.get("malformed")
    if m:
        if m.get("kind") not in MALFORM_KINDS:
            raise ConfigError(f"{where}: malformed.kind must be one of "
                              f"{', '.join(MALFORM_KINDS)}")
        if m.get("reply", "any") not in REPLY_STEPS + ("any",):
            raise ConfigError(f"{where}: malformed.reply must be one of "
                              f"{', '.join(REPLY_STEPS)} or any")
    s = f.get("spoof_notify")
    if s:
        if not isinstance(s, dict) or s.get("reply", "mm2") not in MM_STEPS.values():
            raise ConfigError(f"{where}: spoof_notify must be an object whose reply is "
                              f"one of {', '.join(MM_STEPS.values())}")


def accepted_suites(conf):
    p1 = conf.get("phase1", {})
    acc = p1.get("accept")
    if not acc:
        return set(ike.all_suites())
    out = set()
    for a in acc:
        try:
            out.add(ike.suite_key_from_names(a))
        except (KeyError, ValueError) as e:
            raise ConfigError(f"phase1.accept entry {a}: {e}") from e
    return out


class KeyServer(asyncio.DatagramProtocol):
    def __init__(self, conf, config_path, out=sys.stdout):
        self.out = out
        self.conf = conf
        self.config_path = config_path
        self.psk = conf["psk"].encode()
        self.accepted = accepted_suites(conf)
        self.faults = dict(conf.get("faults", {}))
        self.state_path = conf.get("state_file")
        if self.state_path:
            os.makedirs(os.path.dirname(os.path.abspath(self.state_path)),
                        exist_ok=True)
        self.control_path = conf.get("control_file")
        self.control_mtime = None
        self.listen = conf["listen"]
        self.port = int(conf["port"])
        local = conf.get("local_id") or (
            self.listen if self.listen not in ("0.0.0.0", "::") else
            "::1" if self.listen == "::" else "127.0.0.1")
        try:
            self.groups = [gdoi.Group(g, local) for g in conf["groups"]]
        except (gdoi.PolicyError, KeyError, ValueError) as e:
            raise ConfigError(f"groups: {e}") from e
        self.sas = {}
        self.pulls = []
        self.pushes = []            # one record per push object carried out
        self.pushes_done = set()    # push ids already carried out (JSON)
        self.push_ids = []          # the same ids, as given
        self.counters = {"received": 0, "sent": 0, "retransmits": 0,
                         "phase1_started": 0, "phase1_completed": 0,
                         "pulls_served": 0, "notifies_sent": 0,
                         "dropped": 0, "pushes_sent": 0, "acks_valid": 0,
                         "acks_invalid": 0, "errors": {}}
        self.transport = None
        self.loop = None
        self.outbox = []
        self.started = time.time()

    # -- output -------------------------------------------------------
    def event(self, ev, peer=None):
        ev = dict(ev)
        ev.setdefault("ts", round(time.time(), 6))
        if peer:
            ev["peer"] = I.peer_name(peer)
        print(json.dumps(ev, sort_keys=True), file=self.out, flush=True)

    def error(self, reason, peer=None, **detail):
        errs = self.counters["errors"]
        errs[reason] = errs.get(reason, 0) + 1
        self.event({"event": "error", "reason": reason, **detail}, peer)

    def write_state(self):
        if not self.state_path:
            return
        now = time.time()
        st = {
            "pid": os.getpid(), "listen": I.peer_name((self.listen, self.port)),
            "started": self.started, "updated": now,
            "counters": self.counters, "faults": self.faults,
            "phase1": [sa.describe() for sa in self.sas.values()],
            "groups": {str(g.id): g.describe(now) for g in self.groups},
            "pulls": self.pulls[-200:],
            "pushes": self.pushes[-200:],
            "pushes_done": self.push_ids[-500:],
        }
        tmp = f"{self.state_path}.tmp.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(st, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.state_path)

    def send(self, data, peer):
        """Queue a reply; it leaves after the state file shows what led to
        it, so a test that got the reply can read the state at once."""
        self.counters["sent"] += 1
        self.outbox.append((data, peer))

    def flush(self):
        delay = float(self.faults.get("slow") or 0)
        out, self.outbox = self.outbox, []
        for data, peer in out:
            if delay > 0:
                self.loop.call_later(delay, self._sendto, data, peer)
            else:
                self._sendto(data, peer)

    def _sendto(self, data, peer):
        if self.transport is not None:
            self.transport.sendto(data, peer)

    # -- faults -------------------------------------------------------
    def malformer(self):
        def apply(step, first, chain):
            m = self.faults.get("malformed")
            if not m or m.get("reply", "any") not in (step, "any"):
                return first, chain
            if "count" in m:
                m["count"] = int(m["count"]) - 1
                if m["count"] <= 0:
                    self.faults.pop("malformed", None)
            bs = 16 if step in ("mm6", "pull2", "pull4") else 1
            out = malform(m["kind"], first, chain, bs, m)
            self.event({"event": "fault_malformed", "reply": step,
                        "kind": m["kind"]})
            return out
        return apply

    def refuser(self, peer):
        """refuse_group, plus the members a push removed (refused with
        INVALID-ID-INFORMATION)."""
        def refuse(group_id):
            r = self.refused(group_id)
            if r:
                return r
            for g in self.groups:
                if g.id == group_id and push.is_removed(g, peer):
                    return I.N_INVALID_ID_INFORMATION
            return None
        return refuse

    def refused(self, group_id):
        """refuse_group: true (every group), a group number, a list of
        them, or {"groups": one of those, "notify": type}. Returns the
        notify type to refuse with, or None."""
        r = self.faults.get("refuse_group")
        notify = I.N_INVALID_ID_INFORMATION
        if isinstance(r, dict):
            notify = int(r.get("notify", notify))
            r = r.get("groups", True)
        if r is True:
            return notify
        if isinstance(r, list) and group_id in r:
            return notify
        if isinstance(r, int) and not isinstance(r, bool) and group_id == r:
            return notify
        return None

    def prune(self):
        """Forget failed phase-1 attempts after a minute and half-open
        ones after five."""
        now = time.time()
        for ic, sa in list(self.sas.items()):
            age = now - (sa.created or now)
            if (sa.state == "failed" and age > 60) or (
                    sa.state != "established" and age > 300):
                del self.sas[ic]

    def set_faults(self, faults, source):
        check_faults(faults, source)
        self.faults = dict(faults)
        self.event({"event": "faults_changed", "source": source,
                    "faults": self.faults})
        self.write_state()

    def reload_config(self):
        try:
            conf = load_config(self.config_path)
            self.psk = conf["psk"].encode()
            self.set_faults(conf.get("faults", {}), "SIGUSR1")
        except ConfigError as e:
            self.error("config_reload_failed", detail=str(e))

    def poll_control(self):
        if self.control_path:
            try:
                st = os.stat(self.control_path)
                stamp = (st.st_mtime_ns, st.st_size)
                if stamp != self.control_mtime:
                    self.control_mtime = stamp
                    with open(self.control_path, encoding="utf-8") as f:
                        ctl = json.load(f)
                    if not isinstance(ctl, dict):
                        raise ValueError("not a JSON object")
                    # a file with pushes only leaves the faults alone
                    if "faults" in ctl or "pushes" not in ctl:
                        self.set_faults(ctl.get("faults", {}),
                                        self.control_path)
                    self.run_pushes(ctl.get("pushes") or [])
            except FileNotFoundError:
                pass
            except (OSError, ValueError, ConfigError) as e:
                self.error("control_file_bad", detail=str(e))
        self.loop.call_later(0.2, self.poll_control)

    # -- GROUPKEY-PUSH ------------------------------------------------
    def run_pushes(self, pushes):
        """Carry out every push object whose id has not been seen yet, in
        the order of the list."""
        if not isinstance(pushes, list):
            raise ValueError("pushes must be a list")
        for p in pushes:
            pid = p.get("id") if isinstance(p, dict) else None
            key = json.dumps(pid)
            if key in self.pushes_done:
                continue
            if pid is not None:
                self.pushes_done.add(key)
                self.push_ids.append(pid)
            try:
                self.run_push(p)
            except (push.PushError, gdoi.PolicyError, KeyError, TypeError,
                    ValueError) as e:
                self.error("push_failed", id=pid, detail=str(e))
                self.event({"event": "push_done", "id": pid, "sent": 0,
                            "error": str(e)})
            self.write_state()
            self.flush()

    def run_push(self, p):
        push.check(p)
        group = [g for g in self.groups if g.id == int(p["group"])]
        if not group:
            raise push.PushError(f"unknown group {p['group']}")
        group = group[0]
        r = push.plan(group, p)
        pid = p["id"]
        if r["removed"] or p.get("remove_member"):
            self.event({"event": "member_removed", "id": pid,
                        "group": group.id, "member": p.get("remove_member"),
                        "forgotten": r["removed"]})
        rec = {"id": pid, "group": group.id, "ts": time.time(),
               "removed": r["removed"], "peers": []}
        if r["datagram"] is not None:
            ev = {k: r[k] for k in ("group", "seq", "kek_spi", "teks",
                                    "deletes", "new_kek", "fault", "atd",
                                    "dtd")}
            ev["id"] = pid
            if r["new_kek"]:
                ev["new_kek_spi"] = r["new_kek_spi"]
            rec.update(ev)
            rec["kek_cookies"] = r["kek_cookies"]
            rec["length"] = len(r["datagram"])
            for peer in r["targets"]:
                group.pushes_sent += 1
                self.counters["pushes_sent"] += 1
                rec["peers"].append(I.peer_name(peer))
                self.event({"event": "push_sent", **ev}, peer)
                self.send(r["datagram"], peer)
        self.pushes.append(rec)
        self.write_state()
        self.event({"event": "push_done", "id": pid, "group": group.id,
                    "sent": len(rec["peers"]), "seq": r.get("seq")})

    def push_ack(self, hdr, data, peer):
        try:
            res = push.check_ack(self.groups, data, peer)
        except I.ParseError as e:
            res = {"group": None, "seq": None, "valid": False,
                   "reason": "malformed", "detail": str(e)}
        self.counters["acks_valid" if res["valid"] else "acks_invalid"] += 1
        self.write_state()
        self.event({"event": "ack_received", **res}, peer)

    # -- datagrams ----------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, peer):
        self.counters["received"] += 1
        try:
            self.handle(data, peer)
        except Exception as e:  # noqa: BLE001 - a test tool must keep serving
            self.error("internal_error", peer, detail=repr(e))
        self.write_state()
        self.flush()

    def local_id(self, peer):
        """The responder's phase-1 identity: ID_IPV4_ADDR or ID_IPV6_ADDR of
        local_id, the listen address, or the address toward the member."""
        if self.conf.get("local_id"):
            return ipaddress.ip_address(self.conf["local_id"]).packed
        if self.listen not in ("0.0.0.0", "::"):
            return ipaddress.ip_address(self.listen).packed
        s = socket.socket(socket.AF_INET6 if ":" in peer[0] else socket.AF_INET,
                          socket.SOCK_DGRAM)
        try:
            s.connect(peer[:2])
            return ipaddress.ip_address(s.getsockname()[0]).packed
        finally:
            s.close()

    def handle(self, data, peer):
        if self.faults.get("silent"):
            self.counters["dropped"] += 1
            self.event({"event": "dropped", "why": "silent"}, peer)
            return
        try:
            hdr = I.Header.parse(data)
        except I.ParseError as e:
            self.error(e.reason, peer, detail=e.detail)
            return
        data = data[:hdr.length]
        digest = hashlib.sha256(data).digest()
        sa = self.sas.get(hdr.icookie)
        if sa is not None and digest in sa.cache:
            if sa.cache[digest] is None:
                self.counters["dropped"] += 1
                return
            self.counters["retransmits"] += 1
            self.event({"event": "retransmit", "exchange": hdr.exchange,
                        "msgid": f"{hdr.msgid:08x}"}, peer)
            self.send(sa.cache[digest], peer)
            return
        if hdr.exchange == I.EXCH_MAIN:
            self.main_mode(hdr, data, peer, sa, digest)
        elif hdr.exchange == I.EXCH_PULL:
            self.pull(hdr, data, peer, sa, digest)
        elif hdr.exchange == I.EXCH_INFO:
            self.informational(hdr, data, peer, sa)
        elif hdr.exchange == push.EXCH_PUSH_ACK:
            self.push_ack(hdr, data, peer)
        else:
            self.error("unsupported_exchange", peer, exchange=hdr.exchange)

    def main_mode(self, hdr, data, peer, sa, digest):
        if sa is None:
            if hdr.rcookie != ZERO_COOKIE:
                self.error("unknown_cookies", peer,
                           icookie=hdr.icookie.hex())
                return
            psk = self.psk
            wrong = self.faults.get("wrong_psk")
            if wrong:
                psk = (wrong if isinstance(wrong, str)
                       else self.conf["psk"] + "-wrong").encode()
            sa = ike.Phase1SA(hdr.icookie, I.random_cookie(), peer, psk,
                              self.accepted, self.local_id(peer))
            sa.created = time.time()
            self.prune()
            self.sas[hdr.icookie] = sa
            self.counters["phase1_started"] += 1
        elif (hdr.rcookie == ZERO_COOKIE and sa.state != "established"
              and sa.peer == peer):
            # A new message 1 reusing the cookie of an attempt that failed
            # or stalled: start over.
            del self.sas[hdr.icookie]
            return self.main_mode(hdr, data, peer, None, digest)
        elif hdr.rcookie != sa.rcookie or sa.peer != peer:
            self.error("cookie_or_peer_mismatch", peer,
                       icookie=hdr.icookie.hex())
            return
        step = MM_STEPS.get(sa.state)
        try:
            reply, ev = ike.MainModeResponder(
                sa, self.malformer()).handle(hdr, data)
        except (ike.IkeError, I.ParseError) as e:
            self.error(e.reason, peer, icookie=sa.icookie.hex(),
                       detail=e.detail, step=sa.state)
            if e.notify:
                n = ike.clear_notify(sa.icookie, sa.rcookie, sa.doi, e.notify)
                sa.cache[digest] = n
                self.counters["notifies_sent"] += 1
                self.event({"event": "notify_sent", "type": e.notify,
                            "protected": False}, peer)
                self.send(n, peer)
            if sa.state != "established":
                sa.state = "failed"
            return
        sa.cache[digest] = reply
        ev["icookie"] = sa.icookie.hex()
        if ev["event"] == "phase1_established":
            sa.established_at = time.time()
            self.counters["phase1_completed"] += 1
            ev.update({"rcookie": sa.rcookie.hex(),
                       "enc_key": sa.enc_key.hex(), **sa.suite.describe()})
        self.event(ev, peer)
        self.spoof_notify(step, sa, peer)
        self.send(reply, peer)

    def spoof_notify(self, step, sa, peer):
        """Fault spoof_notify: before the chosen Main Mode reply, a
        notification in the clear as anyone who saw the initiator's cookie
        could send it (rcookie zero before message 2, as an off-path
        attacker would not know it)."""
        f = self.faults.get("spoof_notify")
        if not f or f.get("reply", "mm2") != step:
            return
        f["count"] = int(f.get("count", 1)) - 1
        if f["count"] <= 0:
            self.faults.pop("spoof_notify", None)
        ntype = int(f.get("notify", I.N_NO_PROPOSAL_CHOSEN))
        rcookie = ZERO_COOKIE if step == "mm2" else sa.rcookie
        self.counters["notifies_sent"] += 1
        self.event({"event": "notify_sent", "type": ntype, "protected": False,
                    "spoofed": True, "reply": step}, peer)
        self.send(ike.clear_notify(sa.icookie, rcookie, 0, ntype), peer)

    def established(self, hdr, peer, sa, what):
        if sa is None or sa.state != "established":
            self.error(f"{what}_without_phase1", peer,
                       icookie=hdr.icookie.hex())
            return False
        if hdr.rcookie != sa.rcookie or peer != sa.peer:
            self.error("cookie_or_peer_mismatch", peer,
                       icookie=hdr.icookie.hex())
            return False
        life = sa.suite.life
        if (sa.suite.life_type == ike.LIFE_SECONDS and life
                and time.time() > sa.established_at + life):
            # The negotiated phase-1 lifetime is over: the member must
            # start a new phase 1 (R17).
            self.sas.pop(sa.icookie, None)
            self.error("phase1_expired", peer, icookie=hdr.icookie.hex())
            return False
        if self.faults.get("drop_after_phase1"):
            self.counters["dropped"] += 1
            self.event({"event": "dropped", "why": "drop_after_phase1",
                        "exchange": hdr.exchange}, peer)
            return False
        return True

    def pull(self, hdr, data, peer, sa, digest):
        if not self.established(hdr, peer, sa, "pull"):
            return
        ex = sa.exchanges.get(hdr.msgid)
        if ex is None:
            ex = gdoi.PullState(hdr.msgid, sa.phase2_iv(hdr.msgid))
        resp = gdoi.PullResponder(sa, self.groups, self.refuser(peer),
                                  self.malformer(), I.peer_name(peer))
        try:
            reply, ev = resp.handle(hdr, data, ex)
        except (ike.IkeError, I.ParseError) as e:
            self.error(e.reason, peer, icookie=sa.icookie.hex(),
                       msgid=f"{hdr.msgid:08x}", detail=e.detail)
            sa.exchanges.pop(hdr.msgid, None)
            if e.notify:
                n = ike.protected_notify(sa, e.notify, gdoi.DOI_GDOI)
                sa.cache[digest] = n
                self.counters["notifies_sent"] += 1
                self.event({"event": "notify_sent", "type": e.notify,
                            "protected": True}, peer)
                self.send(n, peer)
            return
        sa.exchanges[hdr.msgid] = ex
        sa.cache[digest] = reply
        ev["icookie"] = sa.icookie.hex()
        if ev["event"] == "pull_served":
            self.counters["pulls_served"] += 1
            ex.group.members[I.peer_name(peer)] = {
                "icookie": sa.icookie.hex(), "last_pull": time.time()}
            self.pulls.append({"peer": I.peer_name(peer),
                               "icookie": sa.icookie.hex(),
                               "msgid": f"{hdr.msgid:08x}",
                               "group": ex.group.id, "id_form": ex.id_form,
                               "teks": [t.spi for t in ex.policy["teks"]],
                               "seq": ex.policy["seq"], "ts": time.time()})
        self.event(ev, peer)
        self.send(reply, peer)

    def informational(self, hdr, data, peer, sa):
        if sa is None:
            self.error("informational_unknown_sa", peer)
            return
        if not hdr.flags & I.FLAG_E:
            try:
                pl, _ = I.parse_chain(data[I.HDR_LEN:], hdr.next_payload)
                types = [I.parse_notify(p.body)["type"]
                         for p in I.find(pl, I.P_NOTIFY)]
            except I.ParseError as e:
                self.error(e.reason, peer)
                return
            self.event({"event": "informational", "protected": False,
                        "notify": types}, peer)
            return
        if not self.established(hdr, peer, sa, "informational"):
            return
        try:
            plain, _ = sa.open(hdr, data, sa.phase2_iv(hdr.msgid))
            pl, _ = I.parse_chain(plain, hdr.next_payload)
            if not pl or pl[0].type != I.P_HASH:
                raise ike.IkeError("hash_not_first")
            exact, _ = gdoi.covered(plain, pl, pl[0])
            if sa.info_hash(hdr.msgid, exact) != pl[0].body:
                raise ike.IkeError("bad_hash")
        except (ike.IkeError, I.ParseError) as e:
            self.error(f"informational_{e.reason}", peer)
            return
        notes = [I.parse_notify(p.body) for p in I.find(pl, I.P_NOTIFY)]
        dels = I.find(pl, I.P_DELETE)
        self.event({"event": "informational", "protected": True,
                    "notify": [n["type"] for n in notes],
                    "delete": len(dels)}, peer)
        for n in notes:
            if n["type"] == 36136:      # R-U-THERE (RFC 3706)
                self.send(ike.protected_notify(sa, 36137, sa.doi,
                                               n["data"]), peer)
        for d in dels:
            if len(d.body) >= 8 and d.body[4] == I.PROTO_ISAKMP:
                self.sas.pop(sa.icookie, None)
                self.event({"event": "phase1_deleted",
                            "icookie": sa.icookie.hex()}, peer)


def malform(kind, first, chain, bs, m):
    """Damage a reply's payload chain (before encryption) in one of three
    ways the member must reject."""
    offs = I.chain_offsets(first, chain)
    if not offs:
        return first, chain
    ptype, off, length = offs[-1]
    if kind == "truncated":
        end = off + length
        cut = off + 4 + max(0, (length - 4) // 2)
        while cut > off and -(-cut // bs) * bs >= end:
            cut -= 1
        return first, chain[:cut]
    if kind == "bad_length":
        value = int(m.get("value", length + 0x100)) & 0xFFFF
        return first, (chain[:off + 2] + struct.pack("!H", value)
                       + chain[off + 4:])
    # unknown_next_payload: the first payload names an unassigned type
    value = int(m.get("value", 99))
    ftype, foff, flen = offs[0]
    out = chain[:foff] + bytes([value]) + chain[foff + 1:]
    if len(offs) == 1:
        out += I.generic(I.P_NONE, b"\0\0\0\0")
    return first, out


def ifindex_of(addr):
    """The index of the interface that holds IPv6 address `addr`
    (/proc/net/if_inet6: address hex, index, ...), 0 when none does."""
    want = ipaddress.IPv6Address(addr).packed.hex()
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] == want:
                    return int(fields[1], 16)
    except OSError:
        pass
    return 0


async def serve(ks):
    loop = asyncio.get_running_loop()
    ks.loop = loop
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(1))
    loop.add_signal_handler(signal.SIGUSR1, ks.reload_config)
    v6 = ":" in ks.listen
    transport, _ = await loop.create_datagram_endpoint(
        lambda: ks, local_addr=(ks.listen, ks.port),
        family=socket.AF_INET6 if v6 else socket.AF_INET)
    port = transport.get_extra_info("sockname")[1]
    ks.port = port
    sock = transport.get_extra_info("socket")
    if v6 and ks.listen != "::":
        # pushes to an IPv6 multicast group leave by the listen address's
        # interface (by its index: IPv6 names no source address here)
        idx = ifindex_of(ks.listen)
        if idx:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    elif ks.listen not in ("0.0.0.0", ""):
        # pushes to a KEK's multicast group leave from the listen address
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                        socket.inet_aton(ks.listen))
    ks.write_state()
    ks.event({"event": "listening", "address": ks.listen, "port": port,
              "groups": [g.id for g in ks.groups], "faults": ks.faults})
    loop.call_later(0.2, ks.poll_control)
    await stop
    transport.close()
    ks.transport = None
    ks.write_state()
    ks.event({"event": "stopped", "counters": ks.counters})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--log", metavar="FILE",
                    help="append the events to FILE instead of stdout")
    args = ap.parse_args(argv)
    out = sys.stdout
    if args.log:
        try:
            out = open(args.log, "a", encoding="utf-8")
        except OSError as e:
            print(json.dumps({"event": "log_error", "detail": str(e)}),
                  flush=True)
            return 2
    try:
        conf = load_config(args.config)
        ks = KeyServer(conf, args.config, out)
    except ConfigError as e:
        print(json.dumps({"event": "config_error", "detail": str(e)}),
              file=out, flush=True)
        return 2
    try:
        asyncio.run(serve(ks))
    except OSError as e:
        print(json.dumps({"event": "socket_error", "detail": str(e)}),
              file=out, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
