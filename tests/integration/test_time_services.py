"""The time services: the seed's strftime protocol (udp, tcp), daytime, RFC 868 and SNTP,
checked against the seed's client, rdate and chronyd, and every refusal of the issue."""
import os
import re
import socket
import struct
import subprocess
import time

import pytest

from conftest import PYTHON, need, seed_program
from test_metrics import scrape

NTP_EPOCH = 2208988800


def udp_ask(addr, payload, timeout=1.0, sock=None):
    """Send one datagram; the reply, or None when none comes within timeout."""
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(payload, addr)
        try:
            return s.recv(70000)
        except socket.timeout:
            return None
    finally:
        if sock is None:
            s.close()


def tcp_lines(addr, data, nlines, timeout=3.0):
    with socket.create_connection(addr, timeout=timeout) as c:
        c.sendall(data)
        got = b""
        while got.count(b"\n") < nlines:
            chunk = c.recv(4096)
            if not chunk:
                break
            got += chunk
        return got.split(b"\n")[:nlines]


def tcp_all(addr, timeout=3.0):
    with socket.create_connection(addr, timeout=timeout) as c:
        got = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                return got
            got += chunk


def sntp_request(version=4, mode=3, tx=None):
    tx = tx if tx is not None else int((time.time() + NTP_EPOCH) * 2**32)
    return struct.pack("!BBbbII4sQQQQ", (version << 3) | mode, 0, 6, -20, 0, 0, b"\0" * 4,
                       0, 0, 0, tx)


def sntp_decode(data):
    f = struct.unpack("!BBbbII4sQQQQ", data[:48])
    return {"leap": f[0] >> 6, "version": (f[0] >> 3) & 7, "mode": f[0] & 7, "stratum": f[1],
            "poll": f[2], "precision": f[3], "root_delay": f[4], "root_dispersion": f[5],
            "refid": f[6], "ref": f[7], "orig": f[8], "rx": f[9], "tx": f[10]}


@pytest.fixture
def time_server(serve):
    return serve("--time", "udp:127.0.0.1:0", "--time", "tcp:127.0.0.1:0", expect=2)


# ---- the seed's protocol ----

def test_seed_client_against_sockit(serve, tmp_path):
    """The seed's exact setup: only the time service, on udp, the seed's client unchanged."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    srv = serve("--time", f"udp:127.0.0.1:{port}", expect=1)
    client = seed_program(tmp_path, "ntp_client.py", port)
    res = subprocess.run([PYTHON, str(client)], input="%Y %m %d\n\n%H时\n".encode(),
                         capture_output=True, timeout=10)
    out = res.stdout.decode()
    today = time.strftime("%Y %m %d")
    assert f">>: {today}\n" in out, out
    assert re.search(r">>: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n", out), out  # empty = default
    assert re.search(r">>: \d\d时\n", out), out
    time.sleep(0.2)
    assert srv.stderr.count("listening on") == 1, srv.stderr  # nothing else started


def test_refusals_over_udp(time_server):
    addr = time_server.addr("time", "udp")
    cases = {
        b"%600Y": b"error: unsupported conversion %600Y",
        b"%Ey": b"error: unsupported conversion %Ey",
        b"%-d": b"error: unsupported conversion %-d",
        b"%s": b"error: unsupported conversion %s",
        b"%Y %": b"error: format ends in a lone %",
        b"x" * 257: b"error: request over 256 bytes",
        b"%c" * 32: b"error: reply would be over 64 bytes",
    }
    for req, want in cases.items():
        assert udp_ask(addr, req) == want, req
    assert udp_ask(addr, "%Y年%m月".encode()) == time.strftime("%Y年%m月").encode()
    assert udp_ask(addr, b"y" * 256) == b"y" * 256  # the limit itself passes


def test_reply_never_longer_than_request_or_64(time_server):
    addr = time_server.addr("time", "udp")
    for n in (0, 1, 10, 32, 64, 100, 200, 256):
        req = (b"%c" * 128)[:n]
        reply = udp_ask(addr, req)
        assert reply is not None and len(reply) <= max(n, 64), (n, reply)
    assert len(udp_ask(addr, b"%c%c")) == 2 * len(time.strftime("%c"))  # 48 bytes: under 64


def test_tcp_many_lines_per_connection(time_server):
    addr = time_server.addr("time", "tcp")
    lines = tcp_lines(addr, b"%Y\r\n\n%600Y\n" + b"z" * 300 + b"\n%n\n%m\n", 6)
    assert lines[0] == time.strftime("%Y").encode()
    assert re.fullmatch(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", lines[1]), lines
    assert lines[2] == b"error: unsupported conversion %600Y"
    assert lines[3] == b"error: request over 256 bytes"
    assert lines[4] == b"error: %n would split the reply line"
    assert lines[5] == time.strftime("%m").encode()


def test_tz_is_honoured_and_utc_switch(serve):
    env = dict(os.environ, TZ="Asia/Shanghai")
    local = serve("--time", "udp:127.0.0.1:0", env=env)
    utc = serve("--time", "udp:127.0.0.1:0", "--utc", env=env)
    assert udp_ask(local.addr("time", "udp"), b"%z %Z") == b"+0800 CST"
    assert udp_ask(utc.addr("time", "udp"), b"%z") == b"+0000"


# ---- daytime and RFC 868 ----

def test_daytime_tcp_and_udp(serve):
    srv = serve("--daytime", "tcp:127.0.0.1:0", "--daytime", "udp:127.0.0.1:0", expect=2,
                env=dict(os.environ, TZ="UTC"))
    pattern = rb"[A-Z][a-z]+day, [A-Z][a-z]+ \d\d?, \d{4} \d\d:\d\d:\d\d-UTC\r\n"
    text = tcp_all(srv.addr("daytime", "tcp"))
    assert re.fullmatch(pattern, text), text
    shown = time.strptime(text.decode().split(", ", 1)[1].rsplit("-", 1)[0], "%B %d, %Y %H:%M:%S")
    assert abs(time.mktime(shown) - time.mktime(time.gmtime())) < 5
    assert re.fullmatch(pattern, udp_ask(srv.addr("daytime", "udp"), b"anything"))


def rdate_seconds(output):
    """rdate -p prints ctime(3) of the server's time, in the local zone (UTC here)."""
    text = output.decode().strip().splitlines()[0]
    text = text.split("\t")[-1].replace("rdate: [127.0.0.1]", "").strip()
    return time.mktime(time.strptime(text, "%a %b %d %H:%M:%S %Z %Y")) if "UTC" in text else \
        time.mktime(time.strptime(text, "%a %b %d %H:%M:%S %Y"))


def test_rfc868_raw_and_rdate(serve):
    rdate = need("rdate")
    srv = serve("--rfc868", "tcp:127.0.0.1:0", "--rfc868", "udp:127.0.0.1:0", expect=2)
    (tport,), (uport,) = [[srv.addr("rfc868", k)[1]] for k in ("tcp", "udp")]
    raw = tcp_all(("127.0.0.1", tport))
    assert len(raw) == 4 and abs(struct.unpack("!I", raw)[0] - NTP_EPOCH - time.time()) < 3
    raw = udp_ask(("127.0.0.1", uport), b"")
    assert len(raw) == 4 and abs(struct.unpack("!I", raw)[0] - NTP_EPOCH - time.time()) < 3
    env = dict(os.environ, TZ="UTC")
    for args in (["-p", "-o", str(tport)], ["-p", "-u", "-o", str(uport)]):
        res = subprocess.run([rdate, *args, "127.0.0.1"], capture_output=True, timeout=10,
                             env=env)
        assert res.returncode == 0, res.stderr
        assert abs(rdate_seconds(res.stdout) - time.time()) < 3, res.stdout


# ---- SNTP ----

@pytest.fixture
def sntp_server(serve):
    return serve("--sntp", "udp:127.0.0.1:0", expect=1)


def test_sntp_reply_fields(sntp_server):
    addr = sntp_server.addr("sntp", "udp")
    for version in (3, 4):
        t1 = time.time()
        req = sntp_request(version=version)
        r = sntp_decode(udp_ask(addr, req))
        t4 = time.time()
        assert r["mode"] == 4 and r["version"] == version and r["leap"] == 0
        assert r["stratum"] == 10 and r["refid"] == b"LOCL"
        assert r["orig"] == struct.unpack("!Q", req[40:48])[0]
        rx, tx = r["rx"] / 2**32 - NTP_EPOCH, r["tx"] / 2**32 - NTP_EPOCH
        assert t1 - 0.01 <= rx <= tx <= t4 + 0.01, (t1, rx, tx, t4)
        assert -30 <= r["precision"] <= -10
        assert 0 < r["root_dispersion"] < 65536  # under a second


def test_sntp_stratum_option(serve):
    srv = serve("--sntp", "udp:127.0.0.1:0", "--stratum", "3")
    assert sntp_decode(udp_ask(srv.addr("sntp", "udp"), sntp_request()))["stratum"] == 3


def test_sntp_ignores_malformed_and_other_modes(sntp_server):
    addr = sntp_server.addr("sntp", "udp")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ignored = [b"", b"\x23", sntp_request()[:47], sntp_request() + b"\0", sntp_request() * 2,
               sntp_request(version=0), sntp_request(version=5)]
    ignored += [sntp_request(mode=m) for m in (0, 1, 2, 4, 5, 6, 7)]
    ignored += [b"\x16\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"]  # mode 6 READSTAT
    ignored += [b"\x17\x00\x03\x2a" + b"\0" * 4]  # mode 7 monlist, the classic amplifier
    for payload in ignored:
        s.sendto(payload, addr)
    s.settimeout(0.5)
    with pytest.raises(socket.timeout):
        s.recv(1024)
    assert len(udp_ask(addr, sntp_request() + b"\0" * 20, sock=s)) == 48  # MAC-sized: fine


def test_rdate_sntp(sntp_server):
    rdate = need("rdate")
    port = sntp_server.addr("sntp", "udp")[1]
    res = subprocess.run([rdate, "-p", "-n", "-v", "-o", str(port), "127.0.0.1"],
                         capture_output=True, timeout=10, env=dict(os.environ, TZ="UTC"))
    assert res.returncode == 0, res.stderr
    assert abs(rdate_seconds(res.stdout) - time.time()) < 3, res.stdout
    m = re.search(rb"adjust local clock by (-?[\d.]+) seconds", res.stdout)
    assert m and abs(float(m.group(1))) < 0.01, res.stdout


def test_chronyd_accepts_sntp(sntp_server, tmp_path):
    chronyd = need("chronyd")
    port = sntp_server.addr("sntp", "udp")[1]
    # -Q: measure and print the offset, never touch the clock. Every path chronyd might
    # write lives in tmp_path, no command port, and no privilege drop (tmp_path is root's).
    res = subprocess.run([chronyd, "-Q", "-u", "root", "-t", "10",
                          f"server 127.0.0.1 port {port} iburst maxsamples 1",
                          f"pidfile {tmp_path}/chronyd.pid", "cmdport 0",
                          f"ntsdumpdir {tmp_path}"],
                         capture_output=True, timeout=20)
    out = (res.stdout + res.stderr).decode()
    assert res.returncode == 0, out
    m = re.search(r"System clock wrong by (-?[\d.]+) seconds \(ignored\)", out)
    assert m, out
    assert abs(float(m.group(1))) < 0.01, out


# ---- abuse resistance, for every udp service ----

def burst(addr, payload, count, sock, wait=0.5):
    """Send count datagrams back to back; the replies that come within wait."""
    for _ in range(count):
        sock.sendto(payload, addr)
    replies = []
    sock.settimeout(wait)
    try:
        while True:
            replies.append(sock.recv(2048))
    except socket.timeout:
        return replies


def test_rate_limit_burst_drop_refill(serve):
    srv = serve("--time", "udp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", "--udp-rate", "2",
                "--udp-burst", "10", "--limit-loopback", "--metrics", "tcp:127.0.0.1:0",
                expect=3)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = burst(srv.addr("time", "udp"), b"%Y", 40, s)
    # the burst is answered, the excess dropped (a slow box may refill a token or two)
    assert 10 <= len(got) <= 12, len(got)
    # ... and counted
    counters = scrape(srv.addr("metrics", "tcp"))
    assert counters['sockit_rate_limited_total{service="time"}'] == 40 - len(got)
    # the bucket is per source, not per service: echo shares it
    assert len(burst(srv.addr("echo", "udp"), b"x", 5, s, wait=0.3)) <= 2
    time.sleep(2.0)  # 2 tokens/s: about 4 back
    again = burst(srv.addr("echo", "udp"), b"x", 20, s)
    assert 3 <= len(again) <= 7, len(again)


def test_loopback_is_exempt_by_default(serve):
    srv = serve("--echo", "udp:127.0.0.1:0", "--udp-rate", "1", "--udp-burst", "2")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    assert len(burst(srv.addr("echo", "udp"), b"x", 30, s)) == 30


def test_sntp_rate_limited_client_gets_kod(serve):
    srv = serve("--sntp", "udp:127.0.0.1:0", "--udp-rate", "1", "--udp-burst", "3",
                "--limit-loopback", "--threads", "1")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    replies = [sntp_decode(r) for r in burst(srv.addr("sntp", "udp"), sntp_request(), 10, s)]
    assert len(replies) == 10
    normal = [r for r in replies if r["stratum"] == 10]
    kod = [r for r in replies if r["stratum"] == 0]
    assert 3 <= len(normal) <= 4 and len(normal) + len(kod) == 10
    assert all(r["refid"] == b"RATE" and r["leap"] == 3 for r in kod)
    # a rate-limited source sending junk gets nothing, not even a KoD
    assert burst(srv.addr("sntp", "udp"), sntp_request(mode=4), 3, s, wait=0.3) == []


def low_port_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))  # we are root here
    return s


def test_no_reply_to_source_port_below_1024(serve):
    srv = serve("--time", "udp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0",
                "--sntp", "udp:127.0.0.1:0", expect=3)
    s = low_port_socket(1001)
    assert udp_ask(srv.addr("time", "udp"), b"%Y", timeout=0.3, sock=s) is None
    assert udp_ask(srv.addr("echo", "udp"), b"x", timeout=0.3, sock=s) is None
    assert udp_ask(srv.addr("sntp", "udp"), sntp_request(), timeout=0.3, sock=s) is None
    ntp = low_port_socket(123)  # NTP clients may use 123: sntp answers, nothing else does
    assert len(udp_ask(srv.addr("sntp", "udp"), sntp_request(), sock=ntp)) == 48
    assert udp_ask(srv.addr("time", "udp"), b"%Y", timeout=0.3, sock=ntp) is None
    s.close()
    ntp.close()


def raw_udp(src_port, dst, payload):
    """A udp datagram from 127.0.0.1:src_port, whoever owns that port (a spoofed source)."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    header = struct.pack("!HHHH", src_port, dst[1], 8 + len(payload), 0)  # no checksum: ok on v4
    raw.sendto(header + payload, (dst[0], 0))
    raw.close()


def test_spoofed_own_endpoint_cannot_start_a_ping_pong(serve):
    """A datagram 'from' the echo endpoint to the time endpoint: answering would start the
    two services answering each other forever. Both must stay silent."""
    srv = serve("-vv", "--time", "udp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", expect=2)
    echo = srv.addr("echo", "udp")
    tport = srv.addr("time", "udp")
    raw_udp(echo[1], tport, b"%Y")
    raw_udp(tport[1], echo, b"hello")
    cpu = srv.cpu_seconds()
    time.sleep(1.0)
    log = srv.stderr
    assert f"time: {srv.spec('time', 'udp')}: dropped datagram from 127.0.0.1:{echo[1]}: " \
           "source is one of our own endpoints" in log, log
    assert f"echo: {srv.spec('echo', 'udp')}: dropped datagram from 127.0.0.1:{tport[1]}: " \
           "source is one of our own endpoints" in log, log
    assert "format" not in log  # the time service never formatted (never answered) it
    assert srv.cpu_seconds() - cpu < 0.5  # no loop spinning
    assert udp_ask(tport, b"%Y") == time.strftime("%Y").encode()  # still serving others


def test_one_limit_per_source_across_workers(serve):
    """SO_REUSEPORT spreads a source's ports over the workers; the limit is still one."""
    srv = serve("--time", "udp:127.0.0.1:0", "--threads", "2", "--udp-rate", "1",
                "--udp-burst", "8", "--limit-loopback")
    addr = srv.addr("time", "udp")
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(24)]
    for s in socks:
        s.sendto(b"%Y", addr)
    time.sleep(0.5)  # every answer is in by then
    answered = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(100)
            answered += 1
        except BlockingIOError:
            pass
        s.close()
    assert 8 <= answered <= 10, answered
