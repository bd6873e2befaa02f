"""A random-datagram flood at every udp service of `sockit serve` (issue 8): random sizes
(0 to 65,507 bytes) and contents from many source ports; afterwards every service answers
and the server is alive. Services are read from `sockit serve --help`, so new ones join."""
import os
import random
import re
import socket
import subprocess
import time

from conftest import SOCKIT

FLOOD_S = 2.0
SOURCES = 32
MAX_UDP = 65507


def sntp_probe():
    """A 48-byte SNTP v4 client request (mode 3)."""
    return bytes([0x23]) + bytes(47)


# service -> (request, check(reply)); a service without an entry is flooded and must not
# take the server down, but is not probed.
PROBES = {
    "echo": (b"still here", lambda r: r == b"STILL HERE"),
    "sntp": (sntp_probe(), lambda r: len(r) >= 48 and r[0] & 7 == 4),
    "ntp": (sntp_probe(), lambda r: len(r) >= 48 and r[0] & 7 == 4),
}


def udp_services():
    out = subprocess.run([SOCKIT, "serve", "--help"], capture_output=True, text=True,
                         timeout=10).stdout
    names = []
    for m in re.finditer(r"^  --(\S+) ADDR .*\(default: ([^;]*);", out, re.M):
        if "udp:" in m.group(2):
            names.append(m.group(1))
    return names


def probe(addr, request, check, tries=10):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        for _ in range(tries):
            s.sendto(request, addr)
            try:
                reply, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            if check(reply):
                return True
    return False


def test_random_datagram_flood_2s_32_sources_every_udp_service_answers(serve):
    names = udp_services()
    assert "echo" in names
    args = []
    for n in names:
        args += [f"--{n}", "udp:127.0.0.1:0"]
    srv = serve(*args, expect=len(names))
    targets = [srv.addr(n, "udp") for n in names]
    rng = random.Random(8)
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(SOURCES)]
    for s in socks:
        s.setblocking(False)
    sent = 0
    deadline = time.monotonic() + FLOOD_S
    while time.monotonic() < deadline:
        size = rng.choice((0, 1, 2, 47, 48, 49, 512, 1400, rng.randrange(MAX_UDP + 1)))
        try:
            rng.choice(socks).sendto(os.urandom(size), rng.choice(targets))
            sent += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass
    for s in socks:
        s.close()
    assert srv.proc.poll() is None, srv.stderr
    probed = []
    for n, addr in zip(names, targets):
        if n in PROBES:
            request, check = PROBES[n]
            assert probe(addr, request, check), f"{n} stopped answering after the flood"
            probed.append(n)
    print(f"{sent} random datagrams at {', '.join(names)} in {FLOOD_S} s; "
          f"answering afterwards: {', '.join(probed)}")
    assert "echo" in probed
