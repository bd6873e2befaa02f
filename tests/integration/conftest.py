"""Shared fixtures: run the built sockit binary over loopback, on ports from port 0.

Every process a test starts is bounded by a timeout and stopped at teardown; a server must
exit 0 on SIGTERM within 5 s and print no sanitizer report, so an ASan/UBSan build turns
memory errors into test failures.
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "tests" / "seed"
SOCKIT = os.environ.get("SOCKIT_BIN", str(ROOT / "build" / "sockit"))
# A command put before every sockit run, e.g. "valgrind --error-exitcode=1 --leak-check=full"
# (make test-valgrind). Empty for plain runs.
WRAPPER = os.environ.get("SOCKIT_WRAPPER", "").split()
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def _sanitized():
    try:
        with open(SOCKIT, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# An ASan build: memory figures carry its shadow and quarantine.
SANITIZED = _sanitized()
# valgrind -q prints only what it finds: any "==PID== " line is an error or a leak.
VALGRIND_RE = re.compile(r"^==\d+== ", re.M)
LISTEN_RE = re.compile(r"sockit: (\S+): listening on (\S+)")


def parse_addr(spec):
    """'tcp:127.0.0.1:9000' -> ('tcp', ('127.0.0.1', 9000)); 'unix:/p' -> ('unix', '/p')."""
    kind, rest = spec.split(":", 1)
    if kind == "unix":
        return kind, rest
    host, port = rest.rsplit(":", 1)
    return kind, (host.strip("[]"), int(port))


class Server:
    """A running `sockit serve`; endpoints[(service, transport)] -> list of specs."""

    def __init__(self, args, expect, env=None, timeout=10, wrap=()):
        self.args = [*wrap, *WRAPPER, SOCKIT, "serve", *args]  # wrap: a launcher, e.g. socket activation
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.endpoints = {}
        self.stderr_lines = []
        self._lock = threading.Lock()
        deadline = time.monotonic() + timeout
        found = 0
        while found < expect:
            line = self.proc.stderr.readline()
            if not line:
                raise AssertionError(f"sockit serve exited early ({self.proc.wait()}): "
                                     + "".join(self.stderr_lines))
            text = line.decode("utf-8", "replace")
            self.stderr_lines.append(text)
            m = LISTEN_RE.search(text)
            if m:
                kind = m.group(2).split(":", 1)[0]
                self.endpoints.setdefault((m.group(1), kind), []).append(m.group(2))
                found += 1
            if time.monotonic() > deadline:
                raise AssertionError("sockit serve did not come up: " + "".join(self.stderr_lines))
        # Keep draining stderr so -v logging can never block the server on a full pipe.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for line in self.proc.stderr:
            with self._lock:
                self.stderr_lines.append(line.decode("utf-8", "replace"))

    @property
    def stderr(self):
        with self._lock:
            return "".join(self.stderr_lines)

    def spec(self, service="echo", transport="tcp", index=0):
        return self.endpoints[(service, transport)][index]

    def addr(self, service="echo", transport="tcp", index=0):
        return parse_addr(self.spec(service, transport, index))[1]

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self, sig=signal.SIGTERM, timeout=5):
        """Stop the server; returns its exit status. Asserts it exits in time and clean."""
        if WRAPPER:  # valgrind's leak check at exit takes its time
            timeout *= 4
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"sockit serve did not exit within {timeout} s of {sig!r}")
        self._reader.join(timeout=2)
        err = self.stderr
        for mark in SANITIZER_MARKS:
            assert mark not in err, err
        assert not VALGRIND_RE.search(err), err
        return self.proc.returncode


@pytest.fixture
def serve():
    """serve(*args, expect=N) starts `sockit serve`; all are stopped (and must exit 0)."""
    started = []

    def start(*args, expect=1, env=None, wrap=(), timeout=10):
        s = Server(list(args), expect, env=env, wrap=wrap,
                   timeout=timeout * (3 if WRAPPER else 1))
        started.append(s)
        return s

    yield start
    failures = []
    for s in started:
        if s.proc.poll() is None or s.proc.returncode is not None:
            rc = s.stop()
            if rc != 0 and rc != -signal.SIGKILL:
                failures.append(f"{s.args}: exit {rc}\n{s.stderr}")
    assert not failures, "\n".join(failures)


@pytest.fixture
def echo_server(serve):
    """An uppercase echo server on tcp and udp, ports from port 0."""
    return serve("--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", expect=2)


def run_sockit(*args, input=None, timeout=20, env=None):
    """Run a sockit client to completion; returns CompletedProcess (bytes)."""
    res = subprocess.run([*WRAPPER, SOCKIT, *args], input=input, capture_output=True, timeout=timeout,
                         env=env)
    for mark in SANITIZER_MARKS:
        assert mark.encode() not in res.stderr, res.stderr.decode("utf-8", "replace")
    assert not VALGRIND_RE.search(res.stderr.decode("utf-8", "replace")), res.stderr
    return res


def assert_usage_error(cmd, args, message):
    """`sockit CMD ARGS...` is refused as a usage error: exit 64, stdout empty, and on stderr
    the one line naming the problem plus the --help hint."""
    res = run_sockit(cmd, *args)
    assert (res.returncode, res.stderr.decode(), res.stdout) == (
        64, f"sockit: {message}\nTry 'sockit {cmd} --help'.\n", b"")


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port that was free a moment ago (for programs that cannot bind port 0, like the seed's)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


SHIMS = Path(SOCKIT).parent / "tests" / "shim"


def preload_env(shim, **variables):
    """The environment to run sockit with the test shim tests/shim/SHIM.c preloaded (built
    beside the binary) and its variables set. ASan must then be told that it is not first."""
    path = SHIMS / f"{shim}.so"
    assert path.exists(), path
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {**os.environ, "LD_PRELOAD": str(path), **variables,
            "ASAN_OPTIONS": f"{asan}:verify_asan_link_order=0".lstrip(":")}


@contextlib.contextmanager
def full_backlog_port():
    """A loopback tcp port whose accept queue is full: the kernel drops further SYNs, so a
    connect to it hangs until the client's timeout, like a host that is down."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):  # past the accept queue
                f = socket.socket()
                fillers.append(f)
                f.setblocking(False)
                f.connect_ex(("127.0.0.1", port))
            time.sleep(0.2)
            yield port
        finally:
            for f in fillers:
                f.close()


def seed_program(tmp_path, name, port):
    """Copy one of the seed's programs with only its port edited; returns its path."""
    src = (SEED / name).read_text(encoding="utf-8")
    edited, n = re.subn(r"\('127\.0\.0\.1',\s*\d+\)", f"('127.0.0.1',{port})", src)
    assert n >= 1, name
    dst = tmp_path / name
    dst.write_text(edited, encoding="utf-8")
    return dst


PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def wait_port(host, port, kind=socket.SOCK_STREAM, timeout=5):
    """Wait until something listens on a tcp port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listening on {host}:{port}")


def need(binary):
    """The path of a tool the test needs; make test-deps installs it, so absence is a failure."""
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if os.path.exists(f"/usr/sbin/{binary}") else None)
    assert path, f"{binary} is not installed: run scripts/install-deps test"
    return path
