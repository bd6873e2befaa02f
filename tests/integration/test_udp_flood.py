"""A random-datagram flood at every udp service of `sockit serve` (issue 8): random sizes
(0 to 65,507 bytes) and contents from many source ports; afterwards every service answers
and the server is alive. Services are read from `sockit serve --help`, so new ones join
(probes.py says how to check each one answers)."""
import os
import random
import socket
import time

from probes import UDP_PROBES, serve_every, udp_answers

FLOOD_S = 2.0
SOURCES = 32
MAX_UDP = 65507


def test_random_datagram_flood_2s_32_sources_every_udp_service_answers(serve):
    srv, names = serve_every(serve, "udp")
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
        if n in UDP_PROBES:
            assert udp_answers(n, addr), f"{n} stopped answering after the flood"
            probed.append(n)
    print(f"{sent} random datagrams at {', '.join(names)} in {FLOOD_S} s; "
          f"answering afterwards: {', '.join(probed)}")
    assert "echo" in probed
