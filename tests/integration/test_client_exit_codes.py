"""Every client exits 69 (EX_UNAVAILABLE) when its server cannot be reached: a closed port,
refused over tcp or by ICMP over udp, or no connection within --timeout; --help and the man
pages say so."""
import socket

import pytest

from conftest import ROOT, free_port, full_backlog_port, run_sockit

CLIENTS = [
    ("echo", ["tcp:127.0.0.1:{tcp}", "--", "x"]),
    ("echo", ["udp:127.0.0.1:{udp}", "--", "x"]),
    ("echo", ["tcp:127.0.0.1:{tcp}"]),  # pipe mode
    ("time", ["udp:127.0.0.1:{udp}", "%Y"]),
    ("time", ["-p", "daytime", "tcp:127.0.0.1:{tcp}"]),
    ("time", ["-p", "rfc868", "tcp:127.0.0.1:{tcp}"]),
    ("time", ["-p", "sntp", "udp:127.0.0.1:{udp}"]),
    ("chat", ["--server", "tcp:127.0.0.1:{tcp}", "--nick", "me"]),
    ("bench", ["-n", "1", "tcp:127.0.0.1:{tcp}"]),
    ("bench", ["-n", "1", "udp:127.0.0.1:{udp}"]),
]


@pytest.fixture
def closed_ports():
    """A tcp port bound but not listening (refused, and no one else can take it) and a udp
    port free a moment ago (ICMP port unreachable)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield {"tcp": held.getsockname()[1], "udp": free_port(socket.SOCK_DGRAM)}


@pytest.mark.parametrize("cmd,args", CLIENTS, ids=lambda v: v if isinstance(v, str) else None)
def test_closed_port_exits_69(cmd, args, closed_ports):
    res = run_sockit(cmd, *[a.format(**closed_ports) for a in args], input=b"x\n")
    assert res.returncode == 69, res.stderr
    assert b"Connection refused" in res.stderr
    assert res.stdout == b"" or cmd == "bench"


@pytest.mark.parametrize("cmd,args", [
    ("echo", ["-t", "0.5", "{addr}", "--", "x"]),
    ("time", ["-t", "0.5", "-p", "daytime", "{addr}"]),
])
def test_connect_timeout_exits_69(cmd, args):
    with full_backlog_port() as port:
        res = run_sockit(cmd, *[a.format(addr=f"tcp:127.0.0.1:{port}") for a in args])
    assert res.returncode == 69, res.stderr
    assert res.stderr == f"sockit: connect tcp:127.0.0.1:{port}: Connection timed out\n".encode()


@pytest.mark.parametrize("cmd", ["echo", "time", "chat", "bench"])
def test_help_and_man_page_give_the_code(cmd):
    out = run_sockit(cmd, "--help").stdout.decode()
    assert "69 when the server cannot be reached" in " ".join(out.split()), out
    page = " ".join((ROOT / "man" / f"sockit-{cmd}.1.scd").read_text().split())
    assert "*69* when the server cannot be reached" in page
