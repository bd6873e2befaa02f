"""`sockit bench` with one connection per thread: no event loop, a send and a receive per
message, yet every reply checked and mismatches, timeouts and the deadline still counted.
The receive polls before it blocks as --busy-poll allows (auto by default, adaptive: the
policy is unit-tested in tests/unit/test_ev_spin.c); a fixed budget shows under strace as
receives that found nothing, and 0 as none."""
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

from conftest import SOCKIT, assert_usage_error, run_sockit

MSG = 64  # sockit bench's default message size


def bench(*args, timeout=30):
    return run_sockit("bench", *args, timeout=timeout)


def as_json(res):
    assert res.stdout.count(b"\n") == 1, res.stdout
    return json.loads(res.stdout)


def failing_bench(*args):
    """A run that must end in time, with problems (exit 65): its JSON and its stderr."""
    t0 = time.monotonic()
    res = bench("--json", *args)
    assert time.monotonic() - t0 < 10
    assert res.returncode == 65, res.stderr
    return as_json(res), res.stderr


class TcpPeer:
    """A one-connection tcp server in a thread: reply(offset, data) -> bytes to send back,
    offset being where data starts in the stream."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.spec = f"tcp:127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, args=(reply,), daemon=True)
        self.thread.start()

    def _serve(self, reply):
        conn, _ = self.sock.accept()
        off = 0
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                out = reply(off, data)
                off += len(data)
                if out:
                    conn.sendall(out)

    def close(self):
        self.sock.close()
        self.thread.join(5)


def corrupt_every_third(off, data):
    """Uppercase echo, but message 2, 5, 8, ... gets one wrong byte."""
    out = bytearray(data.upper())
    for i in range(len(out)):
        if ((off + i) // MSG) % 3 == 2 and (off + i) % MSG == 20:
            out[i] = ord("!")
    return bytes(out)


def test_one_connection_counts_mismatches_at_depth_1_and_4():
    for depth in ("1", "4"):
        peer = TcpPeer(corrupt_every_third)
        r, err = failing_bench("-n", "30", "-d", depth, peer.spec)
        peer.close()
        assert (r["messages"], r["mismatches"], r["timeouts"]) == (30, 10, 0), (depth, r)
        assert b"10 replies did not match" in err


def test_one_connection_counts_timeouts_when_replies_stop():
    def four_then_silence(off, data):
        return data.upper()[:max(0, 4 * MSG - off)]

    peer = TcpPeer(four_then_silence)
    r, err = failing_bench("-n", "10", "-d", "2", "-t", "0.3", peer.spec)
    peer.close()
    # 4 answered; the next two were in flight when the peer went quiet; 6-9 never started
    assert (r["messages"], r["mismatches"], r["timeouts"]) == (4, 0, 2), r
    assert b"2 messages got no reply within 0.3 s" in err


def test_deadline_ends_a_run_blocked_on_a_silent_peer():
    # accepts and reads, never answers: the run ends at --duration plus one --timeout
    peer = TcpPeer(lambda off, data: b"")
    r, _ = failing_bench("-D", "0.5", "-t", "0.3", peer.spec)
    peer.close()
    assert r["messages"] == 0 and r["timeouts"] == 1, r


def test_a_peer_that_never_reads_is_a_timeout_not_a_hang():
    # 64 KiB messages: the send may block on full buffers; it must still give up in time
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held = []
    threading.Thread(target=lambda: held.append(srv.accept()), daemon=True).start()
    r, _ = failing_bench("-n", "5", "-s", "65536", "-t", "0.5",
                         f"tcp:127.0.0.1:{srv.getsockname()[1]}")
    srv.close()
    assert r["messages"] == 0 and r["timeouts"] == 1, r


def test_one_udp_socket_counts_lost_replies():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)

    def every_other():  # answers datagram 0, 2, 4, ... and drops the others
        n = 0
        try:
            while True:
                data, peer = sock.recvfrom(2048)
                if n % 2 == 0:
                    sock.sendto(data.upper(), peer)
                n += 1
        except OSError:
            return

    t = threading.Thread(target=every_other, daemon=True)
    t.start()
    r, _ = failing_bench("-n", "10", "-t", "0.2", f"udp:127.0.0.1:{sock.getsockname()[1]}")
    sock.close()
    t.join(5)
    assert (r["messages"], r["mismatches"], r["timeouts"]) == (5, 0, 5), r


def test_long_runs_on_one_socket_are_clean(echo_server):
    # a timeout check against a clock read before the last send once made false timeouts
    for transport in ("tcp", "udp"):
        res = bench("-D", "1", "--json", echo_server.spec("echo", transport))
        assert res.returncode == 0, res.stderr
        r = as_json(res)
        assert r["messages"] > 100
        assert r["timeouts"] == 0 and r["late"] == 0 and r["mismatches"] == 0, r


def strace_bench(strace_args, args):
    """sockit bench ARGS under strace STRACE_ARGS; its stderr (with strace's -c table)."""
    strace = shutil.which("strace")
    assert strace, "strace is needed (scripts/install-deps test)"
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")  # LeakSanitizer fails under ptrace
    res = subprocess.run([strace, "-f", *strace_args, SOCKIT, "bench", *args],
                         capture_output=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    return res.stderr


def syscalls(args):
    """Counts of the calls the bench made with busy polling off, from strace -c."""
    stderr = strace_bench(["-c", "-U", "calls,name"], ["--busy-poll", "0", *args])
    counts = {}
    for line in stderr.decode().splitlines():
        m = re.match(r"\s*(\d+)\s+(\w+)\s*$", line)
        if m:
            counts[m.group(2)] = int(m.group(1))
    return counts


def test_one_connection_is_one_send_and_one_recv_per_message(echo_server, tmp_path):
    for transport, send, recv in (("tcp", "sendto", "recvfrom"),
                                  ("udp", "sendmmsg", "recvmmsg")):
        c = syscalls(["-n", "400", echo_server.spec("echo", transport)])
        assert not any(k.startswith("epoll") for k in c), c
        assert c.get(send) == 400, c
        # a reply split in two reads is possible, not usual
        assert 400 <= c.get(recv, 0) <= 440, c
    # depth 4 on one connection still needs no event loop
    c = syscalls(["-n", "400", "-d", "4", echo_server.spec("echo", "tcp")])
    assert not any(k.startswith("epoll") for k in c), c
    # two connections on one thread do; on two threads, one each, they do not
    c = syscalls(["-n", "400", "-c", "2", echo_server.spec("echo", "tcp")])
    assert c.get("epoll_wait", 0) > 0, c
    c = syscalls(["-n", "400", "-c", "2", "-T", "2", echo_server.spec("echo", "tcp")])
    assert not any(k.startswith("epoll") for k in c), c
    assert c.get("sendto") == 400, c


SLOW_REPLIES = 40
REPLY_DELAY = 0.002  # well inside a 5 ms budget, far outside one receive under strace


def udp_peer(reply_delay):
    """A udp uppercase echo in a thread that answers each datagram reply_delay late."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)

    def serve():
        try:
            while True:
                data, peer = sock.recvfrom(2048)
                time.sleep(reply_delay)
                sock.sendto(data.upper(), peer)
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    return sock, f"udp:127.0.0.1:{sock.getsockname()[1]}"


def empty_receives(spec, budget, tmp_path):
    """Receives that found nothing while sockit bench --busy-poll BUDGET sent SLOW_REPLIES
    messages to spec."""
    out = tmp_path / f"strace-{budget}.txt"
    strace_bench(["-qq", "-e", "trace=recvfrom,recvmmsg", "-o", str(out)],
                 ["-n", str(SLOW_REPLIES), "--busy-poll", budget, spec])
    return len(re.findall(r"= -1 EAGAIN", out.read_text()))


def test_busy_poll_polls_for_the_reply_before_sleeping(tmp_path):
    slow = lambda off, data: (time.sleep(REPLY_DELAY), data.upper())[1]
    for transport in ("tcp", "udp"):
        for budget in ("0", "5000"):
            if transport == "tcp":
                peer = TcpPeer(slow)
                spec, close = peer.spec, peer.close
            else:
                sock, spec = udp_peer(REPLY_DELAY)
                close = sock.close
            empty = empty_receives(spec, budget, tmp_path)
            close()
            print(f"{transport} --busy-poll {budget}: {empty} empty receives")
            if budget == "0":  # one blocking receive per reply, none timing out
                assert empty == 0, transport
            else:  # every wait for a reply is spun through, most with many polls
                assert empty >= SLOW_REPLIES, (transport, empty)


def test_time_spent_polling_is_reported_apart_from_work():
    # replies 2 ms late, a 5 ms budget: most of the run is polling, none of it with 0
    for budget in ("0", "5000"):
        peer = TcpPeer(lambda off, data: (time.sleep(REPLY_DELAY), data.upper())[1])
        res = bench("-n", str(SLOW_REPLIES), "--json", "--busy-poll", budget, peer.spec)
        peer.close()
        assert res.returncode == 0, res.stderr
        r = as_json(res)
        if budget == "0":
            assert r["client_polling"] == 0, r
        else:
            assert r["client_polling"] > 0.5, r
            assert r["client_busy"] < r["client_polling"], r


def test_busy_poll_default_and_fixed_runs_are_clean(echo_server):
    for budget in ([], ["--busy-poll", "auto"], ["--busy-poll", "200"], ["--busy-poll", "0"]):
        for transport in ("tcp", "udp"):
            res = bench("-n", "300", "--json", *budget, echo_server.spec("echo", transport))
            assert res.returncode == 0, res.stderr
            r = as_json(res)
            assert (r["messages"], r["mismatches"], r["timeouts"]) == (300, 0, 0), r


def test_bad_busy_poll_values_are_refused():
    for value in ("x", "-1", "10001", "1.5", "50us"):
        assert_usage_error("bench", ["--busy-poll", value, "tcp:127.0.0.1:7"],
                           f"--busy-poll: expected auto or 0-10000 microseconds, got '{value}'")
