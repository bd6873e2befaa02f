"""Fd exhaustion (issue 8): under `prlimit --nofile=64` with 100 clients, sockit does not spin
on EMFILE (CPU time stays small), says so in a clear log line, and serves the clients that
waited as soon as fds free up."""
import select
import time

import pytest

from conftest import WRAPPER, need
from test_limits import connect, round_trip, wait_for

NOFILE = 64
CLIENTS = 100
WAIT_S = 3
CPU_BUDGET_S = 0.5  # a spin on EMFILE would burn about WAIT_S seconds of CPU


def answered(socks, within, close=False):
    """Which of socks (each has sent b"hi") got b"HI" back within `within` seconds; with
    close, each is closed once answered, freeing its server-side fd for the next."""
    done = set()
    deadline = time.monotonic() + within
    while len(done) < len(socks) and time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in socks if s not in done], [], [], 0.1)
        for s in ready:
            assert s.recv(16) == b"HI"
            done.add(s)
            if close:
                s.close()
    return [s for s in socks if s in done]


@pytest.mark.skipif(bool(WRAPPER), reason="valgrind keeps fds of its own")
def test_nofile_64_with_100_clients_no_busy_loop_clear_log_and_recovery(serve):
    srv = serve("--echo", "tcp:127.0.0.1:0", wrap=[need("prlimit"), f"--nofile={NOFILE}"])
    addr = srv.addr()
    assert f"open-file limit is {NOFILE}" in srv.stderr, srv.stderr
    clients = [connect(addr) for _ in range(CLIENTS)]  # the kernel queues what sockit can't take
    for s in clients:
        s.sendall(b"hi")
    served = answered(clients, within=2)
    waiting = [s for s in clients if s not in served]
    assert 0 < len(served) < NOFILE, len(served)
    assert waiting
    assert wait_for(lambda: "out of file descriptors; new connections wait" in srv.stderr, 5), srv.stderr
    cpu0 = srv.cpu_seconds()
    time.sleep(WAIT_S)
    cpu = srv.cpu_seconds() - cpu0
    print(f"{len(served)} of {CLIENTS} served at --nofile={NOFILE}; "
          f"{cpu:.2f} s CPU in {WAIT_S} s of exhaustion")
    assert cpu < CPU_BUDGET_S, f"busy loop on EMFILE: {cpu:.2f} s CPU in {WAIT_S} s"
    for s in served:  # free the fds: the clients that waited get served, each closing
        s.close()     # after its answer (there may be more of them than fds)
    late = answered(waiting, within=10, close=True)
    print(f"{len(late)} of {len(waiting)} waiting clients served once fds came free")
    assert len(late) == len(waiting)
    assert wait_for(lambda: _ok(addr), 5)


def _ok(addr):
    try:
        return round_trip(addr, timeout=2) < 2
    except (AssertionError, OSError):
        return False
