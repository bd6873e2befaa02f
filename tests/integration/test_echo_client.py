"""`sockit echo`: pipe, one-shot, udp lines, nc-style HOST PORT, the interactive prompt
through a pty, and every error path word for word, with timeouts that never hang."""
import re
import socket
import subprocess
import threading
import time

import pexpect
import pytest

from conftest import SANITIZED, SOCKIT, assert_usage_error, full_backlog_port, run_sockit


@pytest.fixture
def silent_tcp():
    """A listener that accepts (in the kernel) but never reads nor answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


@pytest.fixture
def silent_udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture
def hangup_tcp():
    """A server that reads what comes, then closes without answering."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.settimeout(10)

    def serve():
        try:
            while True:
                c, _ = s.accept()
                c.settimeout(5)
                try:
                    c.recv(1024)
                except OSError:
                    pass
                c.close()
        except OSError:
            pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield s.getsockname()[1]
    s.close()


def timed(*args, input=None):
    start = time.monotonic()
    res = run_sockit(*args, input=input, timeout=15)
    return res, time.monotonic() - start


# ---- the happy paths ----

def test_pipe_streams_every_byte_and_exits_zero(echo_server):
    data = bytes(range(256)) * 64 + "naïve 日本\n".encode() * 1000
    res = run_sockit("echo", echo_server.spec("echo", "tcp"), input=data)
    assert res.returncode == 0, res.stderr
    assert res.stdout == data.upper()
    assert res.stderr == b""


def test_pipe_of_a_few_mib(echo_server):
    data = b"0123456789abcdefghijklmnopqrstuvwxyz\n" * 100000
    res = run_sockit("echo", echo_server.spec("echo", "tcp"), input=data)
    assert (res.returncode, len(res.stdout)) == (0, len(data))
    assert res.stdout == data.upper()


def test_empty_pipe_exits_zero(echo_server):
    res = run_sockit("echo", echo_server.spec("echo", "tcp"), input=b"")
    assert (res.returncode, res.stdout, res.stderr) == (0, b"", b"")


def test_one_shot_joins_words(echo_server):
    res = run_sockit("echo", echo_server.spec("echo", "tcp"), "--", "linhaifeng", "nb", "ß")
    assert (res.returncode, res.stdout) == (0, "LINHAIFENG NB ß\n".encode()), res.stderr


def test_udp_pipe_one_datagram_per_line(echo_server):
    res = run_sockit("echo", echo_server.spec("echo", "udp"), input=b"first\n\nsecond line\nthird")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"FIRST\nSECOND LINE\nTHIRD\n"


def test_udp_flag_and_nc_style_host_port(echo_server):
    host, port = echo_server.addr("echo", "udp")
    res = run_sockit("echo", "-u", host, str(port), "--", "via", "-u")
    assert (res.returncode, res.stdout) == (0, b"VIA -U\n"), res.stderr
    host, port = echo_server.addr("echo", "tcp")
    res = run_sockit("echo", host, str(port), input=b"nc style")
    assert (res.returncode, res.stdout) == (0, b"NC STYLE"), res.stderr
    res = run_sockit("echo", f"{host}:{port}", "--", "bare")  # bare HOST:PORT is tcp
    assert (res.returncode, res.stdout) == (0, b"BARE\n"), res.stderr
    res = run_sockit("echo", "--timeout", "3", "localhost", str(port), "--", "named")
    assert (res.returncode, res.stdout) == (0, b"NAMED\n"), res.stderr


# ---- the interactive client, through a pty ----

def spawn(*args):
    child = pexpect.spawn(SOCKIT, ["echo", *args], timeout=5, env={"TERM": "dumb"})
    child.expect_exact(">>: ")
    return child


def test_interactive_prompt_reply_skip_and_quit(echo_server):
    child = spawn(echo_server.spec("echo", "tcp"))
    child.sendline("linhaifeng nb")
    child.expect_exact("LINHAIFENG NB\r\n")
    child.expect_exact(">>: ")
    child.sendline("")  # empty input is skipped: the prompt comes straight back
    child.expect_exact(">>: ")
    assert child.before.strip() == b""
    child.sendline("   ")
    child.expect_exact(">>: ")
    assert child.before.strip() == b""
    child.sendline("  padded  ")  # stripped like the seed's input().strip()
    child.expect_exact("PADDED\r\n")
    child.expect_exact(">>: ")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_interactive_ctrl_d_exits_zero(echo_server):
    child = spawn(echo_server.spec("echo", "tcp"))
    # env has no LANG: the C locale must not make the line editor drop non-ASCII input
    child.sendline("héllo")
    child.expect_exact("HéLLO\r\n".encode())
    child.expect_exact(">>: ")
    child.sendline("你好 linhaifeng")
    child.expect_exact("你好 LINHAIFENG\r\n".encode())
    child.expect_exact(">>: ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_interactive_udp(echo_server):
    child = spawn(echo_server.spec("echo", "udp"))
    child.sendline("over udp")
    child.expect_exact("OVER UDP\r\n")
    child.expect_exact(">>: ")
    child.sendline("quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_interactive_reports_a_dead_server(serve):
    s = serve("--echo", "tcp:127.0.0.1:0", expect=1)
    child = spawn(s.spec("echo", "tcp"))
    s.stop()
    child.sendline("anyone")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert f"sockit: {s.spec('echo', 'tcp')}: connection closed by the server".encode() in child.before


# ---- errors: one line, what failed and where, non-zero exit, never a hang ----

def test_refused_tcp_udp_and_unix(tmp_path):
    res = run_sockit("echo", "tcp:127.0.0.1:1", input=b"x")
    assert (res.returncode, res.stderr) == (69, b"sockit: connect tcp:127.0.0.1:1: Connection refused\n")
    res = run_sockit("echo", "udp:127.0.0.1:1", "--", "x")
    assert (res.returncode, res.stderr) == (69, b"sockit: udp:127.0.0.1:1: Connection refused\n")
    path = tmp_path / "nobody.sock"
    res = run_sockit("echo", f"unix:{path}", "--", "x")
    assert (res.returncode, res.stderr) == (
        69, f"sockit: connect unix:{path}: No such file or directory\n".encode())
    assert res.stdout == b""


def test_unresolvable_host():
    res = run_sockit("echo", "tcp:no-such-host.invalid:9000", "--", "x")
    assert res.returncode == 69
    assert res.stderr.startswith(b"sockit: resolve tcp:no-such-host.invalid:9000: ")
    assert res.stderr.count(b"\n") == 1


@pytest.mark.parametrize("args,message", [
    (["tcp:127.0.0.1:99999"], "bad address 'tcp:127.0.0.1:99999': port 99999 is out of range (0-65535)"),
    (["tcp:127.0.0.1:1", "extra"], "unexpected argument 'extra' (put message words after --)"),
    (["-t", "0"], "--timeout: expected seconds > 0, got '0'"),
    (["-t", "soon"], "--timeout: expected seconds > 0, got 'soon'"),
    (["tcp:127.0.0.1:1", "--"], "nothing to send after --"),
    (["--bogus"], "unknown option '--bogus'"),
    (["-ux"], "unknown option '-x'"),
    (["tcp:127.0.0.1:1", "-t"], "option '-t' needs a value"),
    (["--timeout"], "option '--timeout' needs a value"),
    (["--udp=yes"], "option '--udp' takes no value"),
])
def test_usage_errors(args, message):
    assert_usage_error("echo", args, message)


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "unknown option '--bogus'"),
    (["--max-conns"], "option '--max-conns' needs a value"),
    (["--plain=yes"], "option '--plain' takes no value"),
    (["--echo", "tcp:127.0.0.1:99999"], "--echo: bad address 'tcp:127.0.0.1:99999': port 99999 is out of range (0-65535)"),
])
def test_serve_usage_errors(args, message):
    assert_usage_error("serve", args, message)


def test_top_level_cli():
    res = run_sockit("--version")
    assert res.returncode == 0 and res.stdout.startswith(b"sockit ")
    res = run_sockit("bogus")
    assert (res.returncode, res.stderr) == (64, b"sockit: unknown command 'bogus'\nTry 'sockit --help'.\n")
    res = run_sockit("--help")
    assert res.returncode == 0
    assert b"\n  echo " in res.stdout and b"\n  serve " in res.stdout


def test_help_exits_zero():
    res = run_sockit("echo", "--help")
    assert res.returncode == 0
    assert res.stdout.startswith(b"Usage: sockit echo [OPTIONS] [ADDR | HOST PORT] [-- WORDS...]\n")


def test_one_shot_times_out_against_a_silent_server(silent_tcp):
    res, took = timed("echo", "-t", "0.5", f"tcp:127.0.0.1:{silent_tcp}", "--", "hi")
    assert res.returncode == 1
    assert res.stderr == f"sockit: tcp:127.0.0.1:{silent_tcp}: no reply within 0.5 s\n".encode()
    assert 0.4 < took < 5


def test_pipe_times_out_against_a_silent_server(silent_tcp):
    res, took = timed("echo", "-t", "0.5", f"tcp:127.0.0.1:{silent_tcp}", input=b"hi")
    assert res.returncode == 1
    assert res.stderr == (f"sockit: tcp:127.0.0.1:{silent_tcp}: timed out waiting for replies "
                          "(0 of 2 bytes back)\n").encode()
    assert took < 5


def test_pipe_times_out_even_with_stdin_still_open(silent_tcp):
    start = time.monotonic()
    p = subprocess.Popen([SOCKIT, "echo", "-t", "0.5", f"tcp:127.0.0.1:{silent_tcp}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(b"hi")
    p.stdin.flush()  # and never closed: the replies owed must still come in time
    try:
        rc = p.wait(timeout=5)
    finally:
        p.kill()
        p.stdin.close()
    err = p.stderr.read()
    p.stdout.close()
    p.stderr.close()
    assert rc == 1
    assert err == (f"sockit: tcp:127.0.0.1:{silent_tcp}: timed out waiting for replies "
                   "(0 of 2 bytes back)\n").encode()
    assert time.monotonic() - start < 5


def test_udp_times_out_against_a_silent_server(silent_udp):
    for mode in (["--", "hi"], []):
        res, took = timed("echo", "-t", "0.5", f"udp:127.0.0.1:{silent_udp}", *mode, input=b"hi\n")
        assert res.returncode == 1
        assert res.stderr == f"sockit: udp:127.0.0.1:{silent_udp}: no reply within 0.5 s\n".encode()
        assert took < 5


def test_default_timeout_is_two_seconds(silent_udp):
    res, took = timed("echo", f"udp:127.0.0.1:{silent_udp}", "--", "hi")
    assert res.stderr == f"sockit: udp:127.0.0.1:{silent_udp}: no reply within 2 s\n".encode()
    assert 1.8 < took < 6


def test_connect_times_out_when_the_backlog_is_full():
    with full_backlog_port() as port:
        res, took = timed("echo", "-t", "0.5", f"tcp:127.0.0.1:{port}", "--", "hi")
    assert res.returncode == 69
    assert res.stderr == f"sockit: connect tcp:127.0.0.1:{port}: Connection timed out\n".encode()
    assert took < 5


def test_server_that_hangs_up(hangup_tcp):
    res = run_sockit("echo", f"tcp:127.0.0.1:{hangup_tcp}", "--", "hi")
    assert res.returncode == 1
    assert res.stderr == f"sockit: tcp:127.0.0.1:{hangup_tcp}: connection closed by the server\n".encode()
    res = run_sockit("echo", f"tcp:127.0.0.1:{hangup_tcp}", input=b"hi")
    assert res.returncode == 1
    assert res.stderr == (f"sockit: tcp:127.0.0.1:{hangup_tcp}: connection closed after 0 of 2 "
                          "bytes\n").encode()


def test_interactive_shows_hostile_replies_escaped():
    """A server's escape sequences are shown, not obeyed, on the user's terminal."""
    hostile = b"\x1b[31mRED\x07!"  # as long as the 10-byte line sent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        s.settimeout(10)

        def serve():
            c, _ = s.accept()
            with c:
                c.recv(100)
                c.sendall(hostile)
                c.recv(100)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        child = spawn(f"tcp:127.0.0.1:{s.getsockname()[1]}")
        child.sendline("abcdefghij")
        child.expect_exact(b"\\x1b[31mRED\\x07!\r\n")
        child.expect_exact(">>: ")
        child.sendline("quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        t.join(5)


def _peak_rss_kib(pid):
    """VmHWM: the peak resident size of pid's current program (since its exec)."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


def test_udp_pipe_refuses_an_over_long_line_in_bounded_memory(silent_udp):
    """A 64 MiB line is counted, refused with its length, and never held in memory."""
    size = 64 << 20
    p = subprocess.Popen([SOCKIT, "echo", "-t", "0.5", f"udp:127.0.0.1:{silent_udp}"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watchdog = threading.Timer(60, p.kill)  # a hung sockit fails the write, never the run
    watchdog.start()
    try:
        p.stdin.write(b"x" * size)  # returns once sockit has read all but a pipe's worth
        p.stdin.flush()
        peak = _peak_rss_kib(p.pid)
        p.stdin.write(b"\nnext\n")
        p.stdin.close()
        rc = p.wait(timeout=10)
    finally:
        watchdog.cancel()
        p.kill()
    err = p.stderr.read()
    p.stderr.close()
    assert (rc, err) == (1, f"sockit: line of {size} bytes is over the udp limit of 65507\n".encode())
    if not SANITIZED:  # ASan's shadow and quarantine would blur the figure
        assert peak < 32 * 1024, f"peak RSS {peak} KiB"
