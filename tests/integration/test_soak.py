"""Soak and integrity (issue 8; `make soak`, not `make test`): 1,000 concurrent clients each
send 1 MiB of random bytes in random-sized writes while reading slowly (small receive windows
and a 64 KiB --output-cap, so sockit's backpressure is what keeps up); the SHA-256 of what
each receives equals that of uppercase(what it sent). SOAK_CLIENTS and SOAK_MIB scale it."""
import asyncio
import hashlib
import os
import random
import resource
import socket
import time

import pytest

CLIENTS = int(os.environ.get("SOAK_CLIENTS", "1000"))
BYTES = int(float(os.environ.get("SOAK_MIB", "1")) * (1 << 20))
MAX_WRITE = 65536
MAX_READ = 16384
CLIENT_RCVBUF = 32768
OUTPUT_CAP = "64K"  # small, so that slow readers make sockit hold back
DEADLINE_S = 900


async def client(addr, seed, stats):
    rng = random.Random(seed)
    for attempt in range(50):  # the listen backlog may be full for a moment
        sock = socket.socket()
        # a small window: what the client has not read piles up in sockit, not in the kernel
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RCVBUF)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, addr)
            reader, writer = await asyncio.open_connection(sock=sock)
            break
        except OSError:
            sock.close()
            await asyncio.sleep(0.05 * (attempt + 1))
    else:
        raise AssertionError(f"client {seed}: cannot connect")
    want = hashlib.sha256()

    async def send():
        left = BYTES
        while left:
            n = min(left, rng.randint(1, MAX_WRITE))
            chunk = rng.randbytes(n)
            want.update(chunk.upper())
            writer.write(chunk)
            await writer.drain()
            left -= n
        writer.write_eof()

    async def receive():
        got = hashlib.sha256()
        total = 0
        rrng = random.Random(seed + 1)
        while True:
            data = await reader.read(rrng.randint(1, MAX_READ))
            if not data:
                break
            got.update(data)
            total += len(data)
            if rrng.random() < 0.1:  # a slow reader: the server must hold back, not drop
                await asyncio.sleep(0.002)
        return got, total

    _, (got, total) = await asyncio.gather(send(), receive())
    writer.close()
    assert total == BYTES, f"client {seed}: received {total} of {BYTES} bytes"
    assert got.digest() == want.digest(), f"client {seed}: SHA-256 mismatch"
    stats["done"] += 1


async def run_all(addr):
    stats = {"done": 0}
    await asyncio.wait_for(asyncio.gather(*(client(addr, i, stats) for i in range(CLIENTS))),
                           DEADLINE_S)
    return stats


@pytest.mark.soak
@pytest.mark.parametrize("backend", ["epoll", "poll", "uring"])
def test_soak_1000_clients_1MiB_each_sha256_of_uppercase(serve, backend):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    assert hard >= CLIENTS + 64, f"open-file hard limit {hard} is too low for {CLIENTS} clients"
    srv = serve("--echo", "tcp:127.0.0.1:0", "--output-cap", OUTPUT_CAP, env=dict(os.environ, SOCKIT_EV_BACKEND=backend))
    t0 = time.monotonic()
    stats = asyncio.run(run_all(srv.addr()))
    took = time.monotonic() - t0
    rss_mib = srv.rss_kib() / 1024
    print(f"{backend}: {CLIENTS} clients x {BYTES >> 10} KiB: all {stats['done']} SHA-256 equal to "
          f"uppercase(sent) in {took:.1f} s; server RSS {rss_mib:.1f} MiB")
    assert stats["done"] == CLIENTS
    assert srv.stop() == 0
