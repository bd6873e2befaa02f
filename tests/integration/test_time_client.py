"""`sockit time`: against the seed's Python time server, sockit's own services (every
--proto), the seed's prompt loop on a terminal, and clear errors."""
import os
import re
import socket
import subprocess
import time

import pexpect
import pytest

from conftest import PYTHON, SOCKIT, assert_usage_error, free_port, run_sockit, seed_program

PROMPT = "Time format (e.g. %Y %m %d)>>: "


@pytest.fixture
def seed_server(tmp_path):
    """The seed's ntp_server.py, its port edited, answering once it is up."""
    port = free_port(socket.SOCK_DGRAM)
    prog = seed_program(tmp_path, "ntp_server.py", port)
    proc = subprocess.Popen([PYTHON, str(prog)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.1)
        while True:
            s.sendto(b"%Y", ("127.0.0.1", port))
            try:
                s.recv(100)
                break
            except OSError:
                assert time.monotonic() < deadline, "the seed's server did not start"
                time.sleep(0.05)
        s.close()
        yield f"udp:127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def test_against_the_seeds_server(seed_server):
    res = run_sockit("time", seed_server, "%Y %m %d")
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode() == time.strftime("%Y %m %d") + "\n"
    res = run_sockit("time", seed_server, input=b"")  # no format, not a terminal: default
    assert re.fullmatch(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n", res.stdout), res
    host, port = seed_server[4:].rsplit(":", 1)
    res = run_sockit("time", host, port, "%H时%M分")  # nc-style HOST PORT, then FORMAT
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(r"\d\d时\d\d分\n", res.stdout.decode()), res


@pytest.fixture
def time_all(serve):
    return serve("--time", "udp:127.0.0.1:0", "--time", "tcp:127.0.0.1:0",
                 "--daytime", "tcp:127.0.0.1:0", "--daytime", "udp:127.0.0.1:0",
                 "--rfc868", "tcp:127.0.0.1:0", "--rfc868", "udp:127.0.0.1:0",
                 "--sntp", "udp:127.0.0.1:0", expect=7, env=dict(os.environ, TZ="UTC"))


def test_seed_protocol_udp_and_tcp(time_all):
    for kind in ("udp", "tcp"):
        res = run_sockit("time", time_all.spec("time", kind), "%Y年%m月%d日")
        assert res.returncode == 0, res.stderr
        assert res.stdout.decode() == time.strftime("%Y年%m月%d日") + "\n"


def test_server_error_is_a_clear_failure(time_all):
    spec = time_all.spec("time", "udp")
    res = run_sockit("time", spec, "%600Y")
    assert res.returncode == 65
    assert res.stdout == b""
    assert res.stderr.decode() == f"sockit: {spec}: error: unsupported conversion %600Y\n"


def test_every_proto(time_all):
    env = dict(os.environ, TZ="UTC")
    date_re = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}\n"
    for kind in ("tcp", "udp"):
        res = run_sockit("time", "-p", "daytime", time_all.spec("daytime", kind), env=env)
        assert re.fullmatch(r"[A-Z][a-z]+day, [A-Z][a-z]+ \d\d?, \d{4} \d\d:\d\d:\d\d-UTC\n",
                            res.stdout.decode()), res
        res = run_sockit("time", "--proto", "rfc868", time_all.spec("rfc868", kind), env=env)
        assert re.fullmatch(date_re, res.stdout.decode()), res
        res = run_sockit("time", "-p", "rfc868", time_all.spec("rfc868", kind), "%Y", env=env)
        assert res.stdout.decode() == time.strftime("%Y") + "\n"
    res = run_sockit("time", "-p", "sntp", time_all.spec("sntp", "udp"), env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.decode().splitlines(keepends=True)
    assert re.fullmatch(date_re, lines[0]), lines
    m = re.fullmatch(r"offset ([-+][\d.]+) s, delay ([\d.]+) s, stratum 10, refid LOCL\n",
                     lines[1])
    assert m, lines
    assert abs(float(m.group(1))) < 0.01 and float(m.group(2)) < 0.5


def test_sntp_kiss_of_death_is_reported(serve):
    srv = serve("--sntp", "udp:127.0.0.1:0", "--udp-rate", "1", "--udp-burst", "1",
                "--limit-loopback", "--threads", "1")
    spec = srv.spec("sntp", "udp")
    # the client is one source whatever its port: a query right after another is over
    # the rate (a loaded box may refill a token between two runs, hence a few tries)
    first = run_sockit("time", "-p", "sntp", spec)
    assert first.returncode == 0, first.stderr
    for _ in range(5):
        again = run_sockit("time", "-p", "sntp", spec)
        if again.returncode != 0:
            break
    assert again.returncode == 69
    assert again.stdout == b""
    assert again.stderr.decode() == f"sockit: {spec}: kiss-o'-death RATE\n"


def test_errors_and_usage(time_all):
    res = run_sockit("time", "udp:127.0.0.1:1", "%Y", timeout=10)
    assert res.returncode == 69
    assert res.stderr == b"sockit: udp:127.0.0.1:1: Connection refused\n"
    res = run_sockit("time", "-p", "rfc868", time_all.spec("rfc868", "tcp"), "%Ey")
    assert res.returncode == 64
    assert res.stderr == b"sockit: FORMAT: unsupported conversion %Ey\n"
    res = run_sockit("time", "-p", "nope")
    assert res.returncode == 64
    assert b"--proto: expected seed, daytime, rfc868 or sntp, got 'nope'" in res.stderr
    res = run_sockit("time", "-p", "sntp", "tcp:127.0.0.1:9")
    assert res.returncode == 64 and b"sntp is spoken over udp only" in res.stderr
    # a silent server: the timeout, said plainly
    quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    quiet.bind(("127.0.0.1", 0))
    res = run_sockit("time", "-t", "0.3", f"udp:127.0.0.1:{quiet.getsockname()[1]}", "%Y")
    assert res.returncode == 1
    assert res.stderr.decode() == \
        f"sockit: udp:127.0.0.1:{quiet.getsockname()[1]}: no reply within 0.3 s\n"
    quiet.close()


def test_prompt_loop_on_a_terminal(time_all):
    for kind in ("udp", "tcp"):
        child = pexpect.spawn(SOCKIT, ["time", time_all.spec("time", kind)], timeout=5,
                              encoding="utf-8", env=dict(os.environ, LANG="C.UTF-8",
                                                         LC_ALL="C.UTF-8", TERM="dumb"))
        child.expect_exact(PROMPT)
        child.sendline("%Y %m %d")
        child.expect_exact(time.strftime("%Y %m %d") + "\r\n")
        child.expect_exact(PROMPT)
        child.sendline("")  # the seed sends an empty line too: the server's default
        child.expect(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\r\n")
        child.expect_exact(PROMPT)
        child.sendline("%600Y")  # an error reply is shown, the loop goes on
        child.expect_exact("error: unsupported conversion %600Y\r\n")
        child.expect_exact(PROMPT)
        child.sendline("quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "unknown option '--bogus'"),
    (["-x"], "unknown option '-x'"),
    (["--proto"], "option '--proto' needs a value"),
    (["-t"], "option '-t' needs a value"),
    (["--help=yes"], "option '--help' takes no value"),
])
def test_bad_options_name_the_option(args, message):
    assert_usage_error("time", args, message)
