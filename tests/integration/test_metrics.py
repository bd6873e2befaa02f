"""--metrics ADDR: a Prometheus scrape over HTTP shows each service's counters moving."""
import re
import socket

from conftest import run_sockit


def http_get(addr, path="/metrics", method="GET"):
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    assert len(body) == length
    return status, head.decode(), body.decode()


def scrape(addr):
    status, head, body = http_get(addr)
    assert status == 200
    assert "Content-Type: text/plain; version=0.0.4" in head
    values = {}
    for line in body.splitlines():
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = int(value)
    return values


def test_counters_move(serve):
    srv = serve("--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0",
                "--metrics", "tcp:127.0.0.1:0", expect=3)
    maddr = srv.addr("metrics", "tcp")
    before = scrape(maddr)
    assert before['sockit_connections_accepted_total{service="echo"}'] == 0
    version = run_sockit("--version").stdout.decode().split()[1]
    assert before[f'sockit_build_info{{version="{version}"}}'] == 1
    assert before['sockit_datagrams_received_total{service="echo"}'] == 0

    assert run_sockit("echo", srv.spec("echo", "tcp"), "--", "hello").returncode == 0
    assert run_sockit("echo", srv.spec("echo", "udp"), "--", "hi").returncode == 0
    after = scrape(maddr)
    assert after['sockit_connections_accepted_total{service="echo"}'] == 1
    assert after['sockit_received_bytes_total{service="echo"}'] == len("hello") + len("hi")
    assert after['sockit_sent_bytes_total{service="echo"}'] == len("HELLO") + len("HI")
    assert after['sockit_datagrams_received_total{service="echo"}'] == 1
    assert after['sockit_replies_total{service="echo"}'] == 1
    assert after['sockit_connections_active{service="echo"}'] == 0


def test_other_paths_and_methods(serve):
    srv = serve("--echo", "tcp:127.0.0.1:0", "--metrics", "tcp:127.0.0.1:0", expect=2)
    maddr = srv.addr("metrics", "tcp")
    assert http_get(maddr, "/")[0] == 200
    assert http_get(maddr, "/nope")[0] == 404
    status, head, _ = http_get(maddr, method="POST")
    assert status == 405 and "Allow: GET" in head


def test_udp_metrics_address_is_refused():
    res = run_sockit("serve", "--metrics", "udp:127.0.0.1:0", "--check-config")
    assert res.returncode == 64
    assert res.stderr.decode() == ("sockit: --metrics: expected a tcp or unix address, got "
                                   "'udp:127.0.0.1:0'\nTry 'sockit serve --help'.\n")
