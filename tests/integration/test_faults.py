"""Faults a reachable server meets (issue 8): RST mid-stream, a client killed mid-transfer,
half-close, SIGPIPE, ECONNREFUSED on udp replies, interrupted syscalls. None may kill, leak
(fds) or wedge the server; the serve fixture then checks it exits 0 with no sanitizer report.
"""
import os
import signal
import socket
import struct
import subprocess
import time

from conftest import PYTHON
from probes import UDP_PROBES, services, udp_answers
from test_limits import connect, round_trip, wait_for

MIB = 1 << 20


def settle_fds(srv, baseline, timeout=5):
    """The server's fd count comes back to baseline: nothing leaked."""
    assert wait_for(lambda: srv.fd_count() <= baseline, timeout), \
        f"fds: {srv.fd_count()} open, {baseline} before"


def test_rst_mid_stream_20_clients_no_leak(serve):
    srv = serve("--echo", "tcp:127.0.0.1:0")
    addr = srv.addr()
    round_trip(addr)
    baseline = srv.fd_count()
    for _ in range(20):
        s = connect(addr)
        s.sendall(os.urandom(MIB // 4))
        # linger 0: close() sends RST while the server is still writing to us
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    settle_fds(srv, baseline)
    assert round_trip(addr) < 1.0


KILLER = r"""
import socket, sys, os
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
sys.stdout.write("go\n"); sys.stdout.flush()
while True:
    s.sendall(os.urandom(65536))
    s.recv(4096)
"""


def test_client_killed_mid_transfer_5_clients_no_leak(serve):
    srv = serve("--echo", "tcp:127.0.0.1:0")
    addr = srv.addr()
    round_trip(addr)
    baseline = srv.fd_count()
    procs = [subprocess.Popen([PYTHON, "-c", KILLER, str(addr[1])], stdout=subprocess.PIPE)
             for _ in range(5)]
    for p in procs:
        assert p.stdout.readline() == b"go\n"
    time.sleep(0.5)  # well into their transfers
    for p in procs:
        p.kill()
        p.wait()
        p.stdout.close()
    settle_fds(srv, baseline)
    assert round_trip(addr) < 1.0


HALF_MIB = MIB // 2


def test_half_close_4MiB_all_echoed_then_eof(serve):
    """The client sends 4 MiB then shuts its write side: every byte comes back, then EOF."""
    srv = serve("--echo", "tcp:127.0.0.1:0")
    data = os.urandom(4 * MIB)
    with connect(srv.addr(), timeout=20) as s:
        got = bytearray()
        s.setblocking(False)
        sent = 0
        while True:
            if sent < len(data):
                try:
                    sent += s.send(data[sent:sent + 65536])
                except BlockingIOError:
                    pass
                if sent == len(data):
                    s.shutdown(socket.SHUT_WR)
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            except BlockingIOError:
                if sent == len(data):
                    time.sleep(0.001)
    assert len(got) == len(data)
    assert bytes(got) == data.upper()


def test_sigpipe_write_to_vanished_reader_50_clients(serve):
    """Clients write 1 MiB and close at once without reading: the server's replies hit a
    closed socket (EPIPE/ECONNRESET, SIGPIPE if it were not ignored). It must live on."""
    srv = serve("--echo", "tcp:127.0.0.1:0")
    addr = srv.addr()
    round_trip(addr)
    baseline = srv.fd_count()
    for _ in range(50):
        s = connect(addr)
        try:
            s.sendall(os.urandom(MIB))
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.close()
    settle_fds(srv, baseline)
    assert srv.proc.poll() is None
    assert round_trip(addr) < 1.0


def test_udp_replies_refused_500_datagrams_every_udp_service_answers(serve):
    """Each datagram comes from a socket closed before the reply lands: the reply draws ICMP
    port unreachable, and the next socket call on the endpoint reports ECONNREFUSED."""
    names = [n for n in services("udp") if n in UDP_PROBES]
    assert "echo" in names
    args = []
    for n in names:
        args += [f"--{n}", "udp:127.0.0.1:0"]
    srv = serve(*args, expect=len(names))
    for n in names:
        addr = srv.addr(n, "udp")
        request = UDP_PROBES[n][0]
        for _ in range(500):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(request, addr)
        assert udp_answers(n, addr), f"{n} stopped answering after refused replies"


def test_interrupted_syscalls_200_signals_mid_transfer_intact(serve, tmp_path):
    """SIGHUP storms while 2 MiB flow: every syscall the signals interrupt is retried."""
    srv = serve("--echo", "tcp:127.0.0.1:0", "--log-file", str(tmp_path / "log"))
    data = os.urandom(2 * MIB)
    with connect(srv.addr(), timeout=20) as s:
        s.setblocking(False)
        got = bytearray()
        sent = 0
        signals = 0
        while len(got) < len(data):
            if signals < 200:
                srv.proc.send_signal(signal.SIGHUP)
                signals += 1
            if sent < len(data):
                try:
                    sent += s.send(data[sent:sent + 16384])
                except BlockingIOError:
                    pass
            try:
                chunk = s.recv(65536)
                assert chunk, "server closed mid-transfer"
                got += chunk
            except BlockingIOError:
                time.sleep(0.0005)
    assert bytes(got) == data.upper()
    assert srv.proc.poll() is None
