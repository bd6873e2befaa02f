"""Soak: 10,000 idle TCP connections cost sockit serve little memory and no speed."""
import json
import resource
import socket

import pytest

from conftest import run_sockit

IDLE = 10000
RSS_LIMIT_KIB = 64 * 1024


@pytest.mark.soak
def test_ten_thousand_idle_connections(serve):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= IDLE + 200, "the hard open-file limit is too low for this test"
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    srv = serve("--max-conns", str(IDLE + 100), "--echo", "tcp:127.0.0.1:0", expect=1)
    host, port = srv.addr("echo", "tcp")
    socks = []
    try:
        for _ in range(IDLE):
            socks.append(socket.create_connection((host, port), timeout=10))
        socks[-1].sendall(b"last")  # the newest is served: all were accepted
        assert socks[-1].recv(10) == b"LAST"
        assert srv.rss_kib() <= RSS_LIMIT_KIB, srv.rss_kib()
        res = run_sockit("bench", "--count", "2000", "--json", srv.spec("echo", "tcp"))
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["messages"] == 2000
    finally:
        for s in socks:
            s.close()
