"""One well-formed request per service and transport, to tell that a service still answers
(after a flood, a fault, a restart). Services are read from `sockit serve --help`, so a new
one is flooded as soon as it lands; add its probe here to have it checked too."""
import re
import socket
import subprocess
import time

from conftest import SOCKIT


def services(transport):
    """Names of the services whose default endpoints include this transport ("tcp", "udp")."""
    out = subprocess.run([SOCKIT, "serve", "--help"], capture_output=True, text=True,
                         timeout=10, env={"LANG": "C", "LANGUAGE": "C", "PATH": "/usr/bin"}).stdout
    return [m.group(1) for m in re.finditer(r"^  --(\S+) ADDR .*\(default: ([^;)]*)", out, re.M)
            if f"{transport}:" in m.group(2)]


def serve_every(serve, transport):
    """Start every service that speaks transport, each on port 0; returns (server, names)."""
    names = services(transport)
    assert "echo" in names
    args = []
    for n in names:
        args += [f"--{n}", f"{transport}:127.0.0.1:0"]
    return serve(*args, expect=len(names)), names


def sntp_request():
    return bytes([0x23]) + bytes(47)  # SNTP v4, mode 3 (client)


# service -> (request, check(reply))
UDP_PROBES = {
    "echo": (b"still here", lambda r: r == b"STILL HERE"),
    "time": (b"%Y", lambda r: re.fullmatch(rb"\d{4}\n?", r) is not None),
    "daytime": (b"", lambda r: re.search(rb"\d", r) is not None),
    "rfc868": (b"", lambda r: len(r) == 4),
    "sntp": (sntp_request(), lambda r: len(r) >= 48 and r[0] & 7 == 4),
}


def _until(s, pred, timeout):
    s.settimeout(timeout)
    got = b""
    deadline = time.monotonic() + timeout
    while not pred(got) and time.monotonic() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


# service -> function(connected socket) -> bool
TCP_PROBES = {
    "echo": lambda s: (s.sendall(b"ping\n"), _until(s, lambda g: len(g) >= 5, 3))[1] == b"PING\n",
    "time": lambda s: re.fullmatch(rb"\d{4}\n", (s.sendall(b"%Y\n"),
                                                 _until(s, lambda g: g.endswith(b"\n"), 3))[1])
    is not None,
    "daytime": lambda s: re.search(rb"\d", _until(s, lambda g: g.endswith(b"\n"), 3)) is not None,
    "rfc868": lambda s: len(_until(s, lambda g: len(g) >= 4, 3)) == 4,
    "chat": lambda s: (s.sendall(b"NICK probe\r\nUSER probe 0 * :probe\r\n"),
                       b" 001 " in _until(s, lambda g: b" 001 " in g, 3))[1],
}


def udp_answers(name, addr, tries=10):
    request, check = UDP_PROBES[name]
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


def tcp_answers(name, addr):
    try:
        with socket.create_connection(addr, timeout=3) as s:
            return TCP_PROBES[name](s)
    except OSError:
        return False
