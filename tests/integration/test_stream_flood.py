"""Garbage at every stream service (issue 8): 64 connections per service send random bytes
(random lengths, random newlines, some very long lines), a quarter end with RST; afterwards
every service answers a well-formed request and no fd leaked."""
import os
import random
import socket
import struct
import subprocess
import time

from probes import TCP_PROBES, serve_every, services, tcp_answers
from test_limits import wait_for

CONNS_PER_SERVICE = 64
FLOOD_S = 2.0


def test_random_bytes_64_conns_per_tcp_service_2s_every_service_answers(serve):
    srv, names = serve_every(serve, "tcp")
    addrs = {n: srv.addr(n, "tcp") for n in names}
    assert tcp_answers("echo", addrs["echo"])  # start-up is over: its fds are all open
    baseline = srv.fd_count()
    rng = random.Random(8)
    socks = []
    for n in names:
        for _ in range(CONNS_PER_SERVICE):
            s = socket.create_connection(addrs[n], timeout=5)
            s.setblocking(False)
            socks.append(s)
    sent = 0
    deadline = time.monotonic() + FLOOD_S
    while time.monotonic() < deadline:
        s = rng.choice(socks)
        blob = bytearray(os.urandom(rng.choice((1, 16, 512, 4096, 65536))))
        for _ in range(rng.randrange(4)):  # some lines end, some never do
            blob[rng.randrange(len(blob))] = 0x0a
        try:
            sent += s.send(bytes(blob))
        except (BlockingIOError, ConnectionError):
            pass
        try:
            s.recv(65536)  # read some replies, leave others queued
        except (BlockingIOError, ConnectionError):
            pass
    for i, s in enumerate(socks):
        if i % 4 == 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    assert srv.proc.poll() is None, srv.stderr
    probed = []
    for n in names:
        if n in TCP_PROBES:
            assert tcp_answers(n, addrs[n]), f"{n} stopped answering after the flood"
            probed.append(n)
    if not wait_for(lambda: srv.fd_count() <= baseline, 10):
        ss = subprocess.run(["ss", "-tanpoe"], capture_output=True, text=True).stdout
        mine = [l for l in ss.splitlines() if f"pid={srv.proc.pid}," in l]
        raise AssertionError(f"fds: {srv.fd_count()} open, {baseline} before the flood; "
                             f"endpoints {addrs}; sockets:\n" + "\n".join(mine))
    print(f"{sent >> 10} KiB of random bytes over {len(socks)} connections to "
          f"{', '.join(names)}; answering afterwards: {', '.join(probed)}")
    assert "echo" in probed


REQUEST_TIMEOUT_S = 1


def test_slowloris_request_timeout_1s_on_every_line_service(serve):
    """A client that trickles one byte every 0.2 s and never ends its line is active, so the
    idle timeout never fires; --request-timeout 1 closes it, while a normal client is served."""
    line_services = [n for n in ("time", "chat") if n in services("tcp")]
    assert line_services, "no line-based stream service to test"
    args = []
    for n in line_services:
        args += [f"--{n}", "tcp:127.0.0.1:0"]
    srv = serve(*args, "--request-timeout", str(REQUEST_TIMEOUT_S), "--idle-timeout", "60",
                expect=len(line_services))
    for n in line_services:
        addr = srv.addr(n, "tcp")
        slow = socket.create_connection(addr, timeout=5)
        t0 = time.monotonic()
        closed_after = None
        while time.monotonic() - t0 < REQUEST_TIMEOUT_S * 6:
            try:
                slow.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - t0
                break
            slow.settimeout(0.2)
            try:
                data = slow.recv(4096)
                if data == b"":
                    closed_after = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_after = time.monotonic() - t0
                break
        slow.close()
        print(f"{n}: slowloris closed after {closed_after} s (--request-timeout "
              f"{REQUEST_TIMEOUT_S})")
        assert closed_after is not None, f"{n}: a line never ended yet the connection lived"
        assert REQUEST_TIMEOUT_S * 0.9 <= closed_after < REQUEST_TIMEOUT_S * 5
        assert tcp_answers(n, addr), f"{n}: a normal request failed"
