"""`sockit serve --threads N`: SO_REUSEPORT workers serve tcp and udp, and stop cleanly."""
import os
import re
import socket
import time

from conftest import run_sockit


def thread_count(pid, want):
    """Threads of pid, waiting up to 5 s for want (workers start after the listen lines)."""
    deadline = time.monotonic() + 5
    while True:
        n = len(os.listdir(f"/proc/{pid}/task"))
        if n >= want or time.monotonic() > deadline:
            return n
        time.sleep(0.02)


def test_threads_serve_tcp_and_udp(serve):
    srv = serve("--threads", "2", "--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0",
                expect=2)
    assert thread_count(srv.proc.pid, 2) >= 2  # ASan may add a thread of its own
    # Many connections from different source ports land on both workers.
    host, port = srv.addr("echo", "tcp")
    conns = [socket.create_connection((host, port), timeout=5) for _ in range(16)]
    for i, c in enumerate(conns):
        c.sendall(b"msg %d" % i)
    for i, c in enumerate(conns):
        assert c.recv(100) == b"MSG %d" % i
        c.close()
    uhost, uport = srv.addr("echo", "udp")
    for i in range(8):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(5)
            u.sendto(b"dgram %d" % i, (uhost, uport))
            assert u.recvfrom(100)[0] == b"DGRAM %d" % i
    assert srv.stop() == 0


def test_threads_listen_line_printed_once(serve):
    srv = serve("--threads", "3", "--echo", "tcp:127.0.0.1:0", expect=1)
    time.sleep(0.3)
    assert len(re.findall(r"listening on", srv.stderr)) == 1
    assert thread_count(srv.proc.pid, 3) >= 3
    res = run_sockit("echo", srv.spec("echo", "tcp"), input=b"threads")
    assert res.stdout == b"THREADS"
    assert srv.stop() == 0


def test_threads_drain_open_connection_on_sigterm(serve):
    srv = serve("--threads", "2", "--echo", "tcp:127.0.0.1:0", expect=1)
    host, port = srv.addr("echo", "tcp")
    conns = [socket.create_connection((host, port), timeout=5) for _ in range(6)]
    for c in conns:
        c.sendall(b"x")
        assert c.recv(10) == b"X"
    # Every worker closes its connections on SIGTERM, and the process exits 0.
    assert srv.stop() == 0
    for c in conns:
        assert c.recv(10) == b""
        c.close()


def test_threads_max_conns_counts_all_workers(serve):
    srv = serve("--threads", "2", "--max-conns", "3", "--echo", "tcp:127.0.0.1:0", expect=1)
    host, port = srv.addr("echo", "tcp")
    conns = [socket.create_connection((host, port), timeout=5) for _ in range(3)]
    for c in conns:
        c.sendall(b"a")
        assert c.recv(10) == b"A"
    extra = [socket.create_connection((host, port), timeout=5) for _ in range(4)]
    for c in extra:  # closed at once, whichever worker accepted it
        c.settimeout(5)
        try:
            assert c.recv(10) == b""
        except ConnectionResetError:
            pass
        c.close()
    for c in conns:
        c.close()
    assert srv.stop() == 0


def test_unix_endpoint_with_threads(serve, tmp_path):
    path = tmp_path / "echo.sock"
    srv = serve("--threads", "2", "--echo", f"unix:{path}", expect=1)
    res = run_sockit("echo", f"unix:{path}", input=b"over unix")
    assert res.stdout == b"OVER UNIX"
    assert srv.stop() == 0
