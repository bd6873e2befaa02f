"""The first promise of the README: piped, one-shot and udp echo against sockit serve."""
from conftest import run_sockit


def test_pipe_prints_uppercase(echo_server):
    res = run_sockit("echo", echo_server.spec("echo", "tcp"), input=b"linhaifeng nb")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"LINHAIFENG NB"


def test_one_shot_udp(echo_server):
    res = run_sockit("echo", echo_server.spec("echo", "udp"), "--", "hello", "udp")
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"HELLO UDP\n"


def test_connection_refused_is_one_clear_line(echo_server):
    res = run_sockit("echo", "tcp:127.0.0.1:1", "--", "x")
    assert res.returncode == 69  # EX_UNAVAILABLE, as cli.h says
    assert res.stderr == b"sockit: connect tcp:127.0.0.1:1: Connection refused\n"
