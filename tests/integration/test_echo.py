"""The echo service over tcp, udp and unix sockets, on both event-loop backends: every byte,
UTF-8, a 10 MiB stream, 1,000 concurrent clients, disconnects without CPU spin, half-close,
restart with lingering clients, udp sizes, IPv6, --plain, -v logging, --bind and signals."""
import hashlib
import os
import random
import resource
import selectors
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import SOCKIT, parse_addr, run_sockit

BACKENDS = ["epoll", "poll", "uring"]


@pytest.fixture(params=BACKENDS)
def backend_env(request):
    """The environment that makes sockit serve use one event-loop backend."""
    return dict(os.environ, SOCKIT_EV_BACKEND=request.param)


@pytest.fixture
def srv(serve, backend_env):
    """Uppercase echo on tcp and udp, on the parametrized backend."""
    return serve("--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", expect=2,
                 env=backend_env)


def connect(addr, family=socket.AF_INET, timeout=10):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def recv_exact(s, n):
    chunks, got = [], 0
    while got < n:
        b = s.recv(min(n - got, 1 << 20))
        assert b, f"connection closed after {got} of {n} bytes"
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def recv_until_eof(s):
    chunks = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def udp_round_trip(addr, payload, family=socket.AF_INET, timeout=5):
    with socket.socket(family, socket.SOCK_DGRAM) as u:
        u.settimeout(timeout)
        u.sendto(payload, addr)
        reply, peer = u.recvfrom(70000)
        # exactly one reply: nothing else arrives
        u.settimeout(0.2)
        with pytest.raises(socket.timeout):
            u.recvfrom(70000)
        return reply


# ---- tcp byte semantics ----

def test_every_byte_value(srv):
    data = bytes(range(256)) * 4
    with connect(srv.addr("echo", "tcp")) as s:
        s.sendall(data)
        assert recv_exact(s, len(data)) == data.upper()
    # upper() changes only a-z
    assert data.upper() == bytes(b - 32 if 97 <= b <= 122 else b for b in data)


def test_utf8_text_passes_intact(srv):
    text = "héllo wörld, straße, 日本語, ǆ, ﬁ, 😀, линхайфэн nb\n".encode()
    with connect(srv.addr("echo", "tcp")) as s:
        s.sendall(text)
        reply = recv_exact(s, len(text))
    assert reply == text.upper()
    assert reply.decode("utf-8") == "HéLLO WöRLD, STRAßE, 日本語, ǆ, ﬁ, 😀, линхайфэн NB\n"


def test_answers_each_byte_without_waiting_for_a_newline(srv):
    with connect(srv.addr("echo", "tcp"), timeout=5) as s:
        for ch in b"abc":
            s.sendall(bytes([ch]))
            assert s.recv(10) == bytes([ch]).upper()


def test_10_mib_stream_in_odd_sized_writes(srv):
    rng = random.Random(862)
    data = rng.randbytes(10 * 1024 * 1024)
    want = hashlib.sha256(data.upper()).hexdigest()
    sizes = [1, 7, 1021, 4093, 65537, 333, 131071, 2]
    with connect(srv.addr("echo", "tcp"), timeout=30) as s:
        def send():
            off, i = 0, 0
            while off < len(data):
                n = sizes[i % len(sizes)]
                s.sendall(data[off:off + n])
                off += n
                i += 1
            s.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        h, total = hashlib.sha256(), 0
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            h.update(b)
            total += len(b)
        sender.join(10)
    assert total == len(data)
    assert h.hexdigest() == want


def test_1000_concurrent_clients_each_verified(srv):
    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    addr = srv.addr("echo", "tcp")
    socks = []
    try:
        for _ in range(n):  # all connected before anyone speaks: 1,000 at once
            socks.append(connect(addr))
        sel = selectors.DefaultSelector()
        want = {}
        for i, s in enumerate(socks):
            msg = f"client {i} says hello\n".encode()
            s.sendall(msg)
            s.setblocking(False)
            want[s.fileno()] = (msg.upper(), bytearray())
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + 30
        pending = n
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                s = key.fileobj
                expect, got = want[s.fileno()]
                chunk = s.recv(4096)
                assert chunk, "server closed a client early"
                got += chunk
                if len(got) >= len(expect):
                    assert bytes(got) == expect
                    sel.unregister(s)
                    pending -= 1
        assert pending == 0, f"{pending} clients got no full reply"
        sel.close()
    finally:
        for s in socks:
            s.close()


def test_disconnects_leave_no_cpu_spin(srv):
    addr = srv.addr("echo", "tcp")
    socks = [connect(addr) for _ in range(50)]
    for s in socks:
        s.sendall(b"bye")
        assert recv_exact(s, 3) == b"BYE"
    for i, s in enumerate(socks):
        if i % 2:  # half leave with a reset, half with an orderly close
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    time.sleep(0.5)
    before = srv.cpu_seconds()
    time.sleep(1.5)
    spent = srv.cpu_seconds() - before
    assert spent < 0.1, f"server used {spent:.2f} s of CPU while idle (a spin on EOF?)"
    with connect(addr) as s:  # and it still serves
        s.sendall(b"still here")
        assert recv_exact(s, 10) == b"STILL HERE"


def test_half_close_echoes_everything_then_closes(srv):
    data = b"the rest of my input " * 5000
    with connect(srv.addr("echo", "tcp")) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        assert recv_until_eof(s) == data.upper()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_restart_on_same_port_with_lingering_clients(serve, backend_env, sig):
    first = serve("--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", expect=2,
                  env=backend_env)
    host, port = first.addr("echo", "tcp")
    _, uport = first.addr("echo", "udp")
    clients = [connect((host, port)) for _ in range(20)]
    for c in clients:
        c.sendall(b"hi")
        assert recv_exact(c, 2) == b"HI"
    started = time.monotonic()
    rc = first.stop(sig)
    assert rc == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    if sig == signal.SIGTERM:  # idle clients were closed, not abandoned
        assert time.monotonic() - started < 3
        for c in clients:
            assert c.recv(10) == b""
    # at once, on the same ports, while the old connections linger
    second = serve("--echo", f"tcp:{host}:{port}", "--echo", f"udp:{host}:{uport}", expect=2,
                   env=backend_env)
    assert second.spec("echo", "tcp") == f"tcp:{host}:{port}"
    assert second.spec("echo", "udp") == f"udp:{host}:{uport}"
    assert "in use" not in second.stderr
    with connect((host, port)) as s:
        s.sendall(b"again")
        assert recv_exact(s, 5) == b"AGAIN"
    assert udp_round_trip((host, uport), b"again") == b"AGAIN"
    for c in clients:
        c.close()


# ---- udp ----

def test_udp_zero_and_largest_datagrams(srv):
    addr = srv.addr("echo", "udp")
    assert udp_round_trip(addr, b"") == b""
    big = bytes(random.Random(7).randbytes(65507))
    reply = udp_round_trip(addr, big)
    assert len(reply) == 65507
    assert reply == big.upper()
    assert udp_round_trip(addr, b"linhaifeng nb") == b"LINHAIFENG NB"


def test_udp_every_byte_value(srv):
    data = bytes(range(256))
    assert udp_round_trip(srv.addr("echo", "udp"), data) == data.upper()


# ---- addresses: IPv6, unix, --plain, --bind ----

def test_ipv6(serve, backend_env):
    s6 = serve("--echo", "tcp:[::1]:0", "--echo", "udp:[::1]:0", expect=2, env=backend_env)
    spec = s6.spec("echo", "tcp")
    assert spec.startswith("tcp:[::1]:")
    addr = s6.addr("echo", "tcp")
    with connect(addr, family=socket.AF_INET6) as s:
        s.sendall(b"ipv6 ok")
        assert recv_exact(s, 7) == b"IPV6 OK"
    assert udp_round_trip(s6.addr("echo", "udp"), b"udp6", family=socket.AF_INET6) == b"UDP6"
    res = run_sockit("echo", spec, input=b"via client")
    assert (res.returncode, res.stdout) == (0, b"VIA CLIENT"), res.stderr
    res = run_sockit("echo", s6.spec("echo", "udp"), "--", "one", "shot")
    assert (res.returncode, res.stdout) == (0, b"ONE SHOT\n"), res.stderr
    res = run_sockit("echo", "::1", str(addr[1]), "--", "nc", "style")
    assert (res.returncode, res.stdout) == (0, b"NC STYLE\n"), res.stderr


def test_unix_socket_and_restart_after_kill(serve, backend_env, tmp_path):
    path = str(tmp_path / "echo.sock")
    first = serve("--echo", f"unix:{path}", expect=1, env=backend_env)
    assert first.spec("echo", "unix") == f"unix:{path}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(b"unix \x00\xff ok")
        s.shutdown(socket.SHUT_WR)
        assert recv_until_eof(s) == b"UNIX \x00\xff OK"
    res = run_sockit("echo", f"unix:{path}", input=b"piped")
    assert (res.returncode, res.stdout) == (0, b"PIPED"), res.stderr
    lingering = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lingering.connect(path)
    first.stop(signal.SIGKILL)  # leaves the socket file behind
    assert os.path.exists(path)
    second = serve("--echo", f"unix:{path}", expect=1, env=backend_env)
    res = run_sockit("echo", f"unix:{path}", "--", "back")
    assert (res.returncode, res.stdout) == (0, b"BACK\n"), res.stderr
    lingering.close()
    assert second.stop() == 0


def test_unix_socket_in_use_is_not_stolen(serve, tmp_path):
    path = str(tmp_path / "busy.sock")
    serve("--echo", f"unix:{path}", expect=1)
    res = run_sockit("serve", "--echo", f"unix:{path}", timeout=10)
    assert res.returncode != 0
    assert res.stderr.decode().startswith(f"sockit: echo: listen unix:{path}: Address already in use")
    res = run_sockit("echo", f"unix:{path}", "--", "mine")
    assert res.stdout == b"MINE\n"


def test_plain_is_identity(serve, backend_env):
    p = serve("--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", "--plain", expect=2,
              env=backend_env)
    data = bytes(range(256)) + "straße".encode()
    with connect(p.addr("echo", "tcp")) as s:
        s.sendall(data)
        assert recv_exact(s, len(data)) == data
    assert udp_round_trip(p.addr("echo", "udp"), b"Keep Case") == b"Keep Case"
    res = run_sockit("echo", p.spec("echo", "tcp"), input=b"linhaifeng nb")
    assert res.stdout == b"linhaifeng nb"


def run_in_netns(tmp_path, script):
    """Run a shell script in a private network namespace (its own loopback), so the fixed
    default ports cannot collide with anything else on the machine."""
    path = tmp_path / "netns.sh"
    path.write_text("ip link set lo up\n" + script)
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    return subprocess.run([*unshare, "sh", str(path)], capture_output=True, timeout=30)


def wait_for_line(errfile):
    return (f"for i in $(seq 100); do grep -q 'echo: listening on udp:' {errfile} && break; "
            "sleep 0.1; done\n")


def test_defaults_in_a_private_network_namespace(tmp_path):
    """`sockit serve` with no options and `sockit echo` with no address meet on 127.0.0.1:9000."""
    err = tmp_path / "serve.err"
    res = run_in_netns(tmp_path, f"""
"{SOCKIT}" serve 2>"{err}" &
pid=$!
{wait_for_line(err)}
printf 'linhaifeng nb' | "{SOCKIT}" echo
echo " rc=$?"
"{SOCKIT}" echo -u -- udp default
kill -TERM $pid
wait $pid
echo "serve rc=$?"
"{SOCKIT}" echo -- nobody 2>&1
""")
    out, log = res.stdout.decode(), err.read_text()
    assert "sockit: echo: listening on tcp:127.0.0.1:9000\n" in log, log + res.stderr.decode()
    assert "sockit: echo: listening on udp:127.0.0.1:9000\n" in log, log
    assert out == ("LINHAIFENG NB rc=0\nUDP DEFAULT\nserve rc=0\n"
                   "sockit: connect tcp:127.0.0.1:9000: Connection refused\n"), out + log


def test_bind_moves_the_default_endpoints(tmp_path):
    err = tmp_path / "serve.err"
    res = run_in_netns(tmp_path, f"""
"{SOCKIT}" serve --bind 127.0.0.2 2>"{err}" &
pid=$!
{wait_for_line(err)}
printf 'bound' | "{SOCKIT}" echo 127.0.0.2:9000
echo
"{SOCKIT}" echo -u 127.0.0.2 9000 -- bound udp
"{SOCKIT}" echo -- not on 127.0.0.1 2>&1
kill -TERM $pid
wait $pid
echo "serve rc=$?"
""")
    out, log = res.stdout.decode(), err.read_text()
    # no service option: echo on its defaults, tcp and udp port 9000, on the --bind host
    assert "sockit: echo: listening on tcp:127.0.0.2:9000\n" in log, log + res.stderr.decode()
    assert "sockit: echo: listening on udp:127.0.0.2:9000\n" in log, log
    assert "127.0.0.1" not in log, log
    assert out == ("BOUND\nBOUND UDP\nsockit: connect tcp:127.0.0.1:9000: Connection refused\n"
                   "serve rc=0\n"), out + log


# ---- logging and signals ----

def test_verbose_logs_peers_and_escaped_messages(serve, backend_env):
    v = serve("-v", "--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", expect=2,
              env=backend_env)
    assert f"event loop: {backend_env['SOCKIT_EV_BACKEND']}" in v.stderr
    evil = b"hi\x1b[2J\x1b]0;owned\x07\x9b\xc2\x9b\r\n"
    with connect(v.addr("echo", "tcp")) as s:
        s.sendall(evil)
        recv_exact(s, len(evil))
        peer = "%s:%d" % s.getsockname()
    udp_round_trip(v.addr("echo", "udp"), b"dgram\x1b[31m")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and ("closed" not in v.stderr or "dgram" not in v.stderr):
        time.sleep(0.05)
    log = v.stderr
    assert f"connection from {peer}" in log, log
    assert "hi\\x1b[2J\\x1b]0;owned\\x07\ufffd\\u009b\\r\\n" in log, log
    assert "dgram\\x1b[31m" in log, log
    assert f"{peer}: closed" in log, log
    assert "\x1b" not in log and "\x07" not in log


def test_quiet_by_default(srv):
    with connect(srv.addr("echo", "tcp")) as s:
        s.sendall(b"secret")
        recv_exact(s, 6)
    time.sleep(0.2)
    assert "secret" not in srv.stderr and "SECRET" not in srv.stderr
    assert [line for line in srv.stderr.splitlines() if "listening on" not in line] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["int", "term"])
def test_signals_exit_zero_after_in_flight_output(serve, backend_env, sig):
    s = serve("--echo", "tcp:127.0.0.1:0", expect=1, env=backend_env)
    c = connect(s.addr("echo", "tcp"))
    # more than the kernel buffers hold, and nothing read yet: replies are in flight
    data = b"in flight " * 800000

    def send():
        try:
            c.sendall(data)
        except OSError:  # the server stops reading once signalled
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    time.sleep(0.3)
    s.proc.send_signal(sig)
    got = recv_until_eof(c)  # an orderly end: no reset that would destroy replies
    c.close()
    sender.join(5)
    assert s.proc.wait(timeout=5) == 0
    assert len(got) > 0 and data.upper().startswith(got)
