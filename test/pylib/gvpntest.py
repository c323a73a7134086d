# SPDX-License-Identifier: BSD-3-Clause
"""Shared pieces of gvpn's Python tests: TAP output, network namespaces,
running gvpnd on virtual devices and reading its telemetry socket."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def run_all(cmds, undo):
    """Run set-up commands in order; at the first that fails, call undo()
    and raise RuntimeError naming the command and its error."""
    for c in cmds:
        r = run(c)
        if r.returncode != 0:
            undo()
            raise RuntimeError(f"{' '.join(c)}: {r.stderr.strip()}")


class Tap:
    """TAP producer: one line per test point, a plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def result(self, ok, name, detail=""):
        self.n += 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}", flush=True)
        if not ok:
            self.failed += 1
            for line in str(detail).splitlines()[-20:]:
                print(f"#   {line}", flush=True)
        return ok

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def check(self, name, fn):
        """Run fn(); an AssertionError or any exception fails the point."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported
            import traceback
            return self.result(False, name, traceback.format_exc() + repr(e))
        return self.result(True, name)

    def done(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


class Netns:
    """Namespaces a and b joined by a veth pair (devices va, vb); removed on exit."""

    def __init__(self, tag, mtu=9000):
        t = f"{tag}{os.getpid() % 100000}"
        self.a, self.b = f"{t}a", f"{t}b"
        self.mtu = mtu

    def __enter__(self):
        cmds = [["ip", "netns", "add", self.a], ["ip", "netns", "add", self.b],
                ["ip", "link", "add", "va", "netns", self.a, "type", "veth", "peer", "name", "vb",
                 "netns", self.b]]
        for ns, dev in ((self.a, "va"), (self.b, "vb")):
            cmds += [["ip", "-n", ns, "link", "set", "lo", "up"],
                     ["ip", "-n", ns, "link", "set", dev, "mtu", str(self.mtu), "up"]]
        run_all(cmds, self.__exit__)
        return self

    def __exit__(self, *exc):
        for ns in (self.a, self.b):
            run(["ip", "netns", "del", ns])


def have_netns():
    return os.geteuid() == 0 and run(["ip", "netns", "list"]).returncode == 0


class Telemetry:
    """Client of the DPDK telemetry socket (the protocol of dpdk-telemetry.py)."""

    def __init__(self, prefix):
        self.path = f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2"
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(5)
        self.s.connect(self.path)
        hello = json.loads(self.s.recv(16384).decode())
        self.max_len = hello.get("max_output_len", 16384)

    def __call__(self, cmd):
        self.s.send(cmd.encode())
        reply = json.loads(self.s.recv(self.max_len).decode())
        return reply[cmd.split(",")[0]]

    def close(self):
        self.s.close()


def write_rows(path, rows, append=True):
    """Results as JSON lines, one a row: added to @path, or replacing it."""
    with open(path, "a" if append else "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def wait_telemetry(prefix, proc=None, probe="/gvpn/version", timeout=15):
    """A Telemetry client of the DPDK process with file prefix `prefix`, once
    it answers `probe`. RuntimeError when `proc` exits first or time runs out."""
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode} before its telemetry answered")
        try:
            t = Telemetry(prefix)
            if t(probe) is not None:
                return t
            t.close()
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no telemetry from {prefix} within {timeout} s")


class Gvpnd:
    """gvpnd on virtual devices, with a configuration given as text."""

    def __init__(self, binary, conf, vdevs, workdir, lcores="0", netns=None, name="gvpnd",
                 huge=False):
        self.workdir = workdir
        self.prefix = f"{name}{os.getpid()}{int(time.time() * 1000) % 100000}"
        self.conf = os.path.join(workdir, f"{name}.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.log = os.path.join(workdir, f"{name}.log")
        # on hugepages PCI stays enabled: dpdk-dumpcap (a secondary process)
        # probes the bus as the primary did
        cmd = [binary] + (["--no-huge", "--no-pci"] if not huge else []) + [
            "-l", lcores, "-m", "256" if huge else "512",
            "--file-prefix", self.prefix, "--log-level", "lib.*:error"]
        for v in vdevs:
            cmd += ["--vdev", v]
        cmd += ["--", "-f", self.conf]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.cmd = cmd
        self.proc = None
        self.tel = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=15):
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        try:
            self.tel = wait_telemetry(self.prefix, self.proc, timeout=timeout)
        except RuntimeError as e:
            raise RuntimeError(f"gvpnd {e}: {self.output()}") from None

    def output(self):
        try:
            return open(self.log).read()
        except OSError:
            return ""

    def wait(self, cond, timeout=10, what="condition"):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def lcores(self):
        return self.tel("/gvpn/lcores")["total"]

    def stop(self):
        """SIGTERM; returns the exit status (0 expected)."""
        if self.proc is None:
            return None
        if self.tel:
            self.tel.close()
            self.tel = None
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc


def workdir(name):
    d = os.path.join(os.environ.get("GVPN_TEST_DIR", tempfile.gettempdir()), name)
    os.makedirs(d, exist_ok=True)
    return d


def main_guard(fn):
    """Run a test main and exit with its status; crashes become a failed point."""
    try:
        sys.exit(fn())
    except Exception:  # noqa: BLE001
        import traceback
        print("not ok - test script crashed")
        for line in traceback.format_exc().splitlines():
            print(f"#   {line}")
        sys.exit(1)


class PushControl:
    """The test key server's control file: pushes are queued by id, and
    push() waits until the key server ran one."""

    def __init__(self, path):
        self.path = path
        self.pushes = []
        self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pushes": self.pushes}, f)
        os.rename(tmp, self.path)

    def push(self, ks, **p):
        p.setdefault("group", 1001)
        p["id"] = f"p{len(self.pushes)}"
        self.pushes.append(p)
        self.write()
        end = time.time() + 15
        while time.time() < end:
            for d in ks.state().get("pushes", []):
                if d.get("id") == p["id"]:
                    return d
            time.sleep(0.05)
        raise AssertionError(f"key server did not run push {p}")


class GcKs:
    """The test G-IKEv2 key server (test/ks/gikev2_ks.py) as a process, in
    network namespace `netns` when given; its actions are lines appended to
    its control file (conf["control"]), its events JSON lines in NAME.log."""

    def __init__(self, root, conf, work, name, netns=None):
        self.script = os.path.join(root, "test", "ks", "gikev2_ks.py")
        self.path = os.path.join(work, f"{name}.json")
        self.log = os.path.join(work, f"{name}.log")
        self.control = conf["control"]
        self.netns = netns
        with open(self.path, "w") as f:
            json.dump(conf, f)
        open(self.control, "w").close()
        self.proc = None

    def __enter__(self):
        open(self.log, "w").close()
        cmd = ["/usr/bin/python3", self.script, "--config", self.path, "--log", self.log,
               "--duration", "3600"]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(self.log + ".err", "w"),
                                     stderr=subprocess.STDOUT)
        end = time.time() + 20
        while time.time() < end and '"listening"' not in open(self.log).read():
            if self.proc.poll() is not None:
                raise RuntimeError(f"key server exited: {open(self.log + '.err').read()}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)

    def events(self, kind=None):
        with open(self.log) as f:
            ev = [json.loads(x) for x in f if x.endswith("\n")]
        return [e for e in ev if kind is None or e.get("event") == kind]

    def act(self, action, to=None, **opts):
        """Run @p action (to the members at address @p to, or all; @p opts
        its parameters) and return the key server's "sent" event."""
        n = len(self.events("sent"))
        line = dict(opts, action=action)
        if to:
            line["to"] = to
        with open(self.control, "a") as f:
            f.write((json.dumps(line) if len(line) > 1 else action) + "\n")
        end = time.time() + 10
        while time.time() < end:
            if len(self.events("sent")) > n:
                return self.events("sent")[-1]
            time.sleep(0.05)
        raise AssertionError(f"key server did not run {action}")

    def keys(self):
        """SPI -> keymat (hex) of every TEK the key server handed out."""
        k = {}
        for e in self.events():
            for t in e.get("teks", []):
                k[t["spi"]] = t["keymat"]
        return k


class KeyServer:
    """The test GDOI key server (test/ks/gdoi_ks.py) with a JSON configuration.
    Its events go to WORKDIR/NAME.log (--log): no pipe to drain, so a long
    run never blocks on a full one."""

    def __init__(self, root, conf, workdir, name="ks", netns=None):
        self.script = os.path.join(root, "test", "ks", "gdoi_ks.py")
        self.netns = netns
        self.conf = dict(conf)
        self.conf.setdefault("state_file", os.path.join(workdir, f"{name}-state.json"))
        self.path = os.path.join(workdir, f"{name}.json")
        self.log = os.path.join(workdir, f"{name}.log")
        with open(self.path, "w") as f:
            json.dump(self.conf, f)
        self.proc = None

    def __enter__(self):
        cmd = ["/usr/bin/python3", self.script, "--config", self.path, "--log", self.log]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        open(self.log, "w").close()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(self.log + ".err", "w"),
                                     stderr=subprocess.STDOUT)
        end = time.time() + 20
        while time.time() < end:
            with open(self.log) as f:
                first = f.readline()
            if '"listening"' in first:
                return self
            if first.endswith("\n") or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"key server did not start: {first} {open(self.log + '.err').read()}")

    def __exit__(self, *exc):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def events(self):
        """Every event logged so far, oldest first."""
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]

    def state(self):
        with open(self.conf["state_file"]) as f:
            return json.load(f)
