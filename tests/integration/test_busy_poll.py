"""--busy-poll: auto (the default, adaptive), a fixed budget, or off. Under strace, a fixed
budget shows as non-blocking waits between a client's messages and off shows none; the
adaptive policy itself is unit-tested (tests/unit/test_ev_spin.c), since whether it spins
depends on how busy the machine is."""
import re
import socket
import subprocess
import time

import pytest

from conftest import WRAPPER, assert_usage_error, need

ROUND_TRIPS = 50


def zero_timeout_waits(srv, tmp_path):
    """Non-blocking epoll_wait calls of a one-worker server while a client makes ROUND_TRIPS
    round trips, pausing 0.2 ms between them (well inside a 5 ms budget)."""
    out = tmp_path / "strace.txt"
    tracer = subprocess.Popen([need("strace"), "-f", "-qq", "-e", "trace=epoll_wait", "-o",
                               str(out), "-p", str(srv.proc.pid)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)  # strace attaches
        with socket.create_connection(srv.addr("echo", "tcp"), timeout=5) as s:
            for i in range(ROUND_TRIPS):
                s.sendall(b"ping %d\n" % i)
                want, got = b"PING %d\n" % i, b""
                while len(got) < len(want):
                    got += s.recv(100)
                assert got == want
                time.sleep(0.0002)
    finally:
        tracer.send_signal(2)
        tracer.wait(timeout=10)
    return len(re.findall(r"epoll_wait\(.*, 0\) += 0", out.read_text()))


@pytest.mark.skipif(bool(WRAPPER), reason="strace cannot attach to a process under valgrind")
@pytest.mark.parametrize("budget", ["0", "5000"])
def test_fixed_budget_spins_and_off_never_does(serve, tmp_path, budget):
    srv = serve("-v", "--threads", "1", "--busy-poll", budget, "--echo", "tcp:127.0.0.1:0")
    assert f"busy polling {'off' if budget == '0' else budget + ' us'}" in srv.stderr
    polls = zero_timeout_waits(srv, tmp_path)
    print(f"--busy-poll {budget}: {polls} non-blocking waits in {ROUND_TRIPS} round trips")
    if budget == "0":
        assert polls == 0
    else:  # every pause is spun through, with several polls at least in most
        assert polls >= ROUND_TRIPS, polls


def test_auto_is_the_default(serve):
    srv = serve("-v", "--echo", "tcp:127.0.0.1:0")
    assert "busy polling auto, up to 50 us" in srv.stderr
    srv = serve("-v", "--busy-poll", "auto", "--echo", "tcp:127.0.0.1:0")
    assert "busy polling auto, up to 50 us" in srv.stderr
    with socket.create_connection(srv.addr("echo", "tcp"), timeout=5) as s:
        s.sendall(b"spin\n")
        assert s.recv(10) == b"SPIN\n"


@pytest.mark.parametrize("value", ["x", "-1", "10001", "1.5", "50us"])
def test_bad_values_are_refused(value):
    assert_usage_error("serve", ["--busy-poll", value],
                       f"--busy-poll: expected auto or 0-10000 microseconds, got '{value}'")
