"""systemd socket activation: inherited sockets become endpoints of the service their
FileDescriptorName= names (LISTEN_FDNAMES), tcp and udp alike, started the way systemd does."""
import os
import re
import socket
import subprocess
import threading

from conftest import SOCKIT, free_port, need, wait_port

EXIT_CONFIG = 78


def activate(port, name="echo", udp=True):
    """systemd-socket-activate for a tcp socket, nested with a udp one of the same name."""
    sa = need("systemd-socket-activate")
    wrap = [sa, f"--fdname={name}", "-l", f"127.0.0.1:{port}", "--"]
    if udp:
        wrap += [sa, "--datagram", f"--fdname={name}", "-l", f"127.0.0.1:{port}", "--"]
    return wrap


def poke(port):
    """systemd-socket-activate execs sockit on the first connection: make one, in the
    background, and keep what the server replied."""
    result = {}

    def run():
        wait_port("127.0.0.1", port, timeout=10)  # this connect is the activation
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"inherited")
                result["reply"] = s.recv(100)
        except OSError as e:  # a refused activation resets it
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def test_inherited_tcp_and_udp_sockets_serve_echo(serve):
    port = free_port()
    t, result = poke(port)
    srv = serve("-v", expect=2, wrap=activate(port))
    assert srv.spec("echo", "tcp") == f"tcp:127.0.0.1:{port}"
    assert srv.spec("echo", "udp") == f"udp:127.0.0.1:{port}"
    t.join(10)
    assert result.get("reply") == b"INHERITED"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(b"dgram", ("127.0.0.1", port))
        assert s.recv(100) == b"DGRAM"


def test_inherited_sockets_replace_the_defaults(serve):
    """No default endpoint (port 9000) is opened beside the inherited socket."""
    port = free_port()
    t, _ = poke(port)
    srv = serve(expect=1, wrap=activate(port, udp=False))
    t.join(10)
    assert list(srv.endpoints) == [("echo", "tcp")]


def refused(name):
    """Activate a tcp socket named name; returns (port, stderr) of the refusing sockit."""
    port = free_port()
    t, _ = poke(port)
    res = subprocess.run([*activate(port, name=name, udp=False), SOCKIT, "serve"],
                         capture_output=True, timeout=20)
    t.join(10)
    assert res.returncode == EXIT_CONFIG
    return port, res.stderr.decode()


def test_unknown_name_is_refused():
    port, err = refused("gopher")
    assert err.endswith(f"sockit: systemd socket tcp:127.0.0.1:{port} is named 'gopher', which "
                        "is no service of sockit\n")


def test_sockets_map_by_name_not_order(serve):
    """fd 3 is named daytime and fd 4 echo: the reverse of sockit's service order."""
    day, echo = free_port(), free_port()
    t, result = poke(echo)
    wrap = [need("systemd-socket-activate"), "--fdname=daytime:echo",
            "-l", f"127.0.0.1:{day}", "-l", f"127.0.0.1:{echo}", "--"]
    srv = serve(expect=2, wrap=wrap)
    assert srv.spec("daytime", "tcp") == f"tcp:127.0.0.1:{day}"
    assert srv.spec("echo", "tcp") == f"tcp:127.0.0.1:{echo}"
    t.join(10)
    assert result.get("reply") == b"INHERITED"
    with socket.create_connection(("127.0.0.1", day), timeout=10) as s:
        text = s.makefile("rb").read()
    assert re.fullmatch(rb"\w+day, \w+ \d+, \d{4} \d\d:\d\d:\d\d-\w+\r\n", text), text


def test_wrong_transport_for_the_named_service_is_refused():
    """An SNTP socket must be udp: a tcp socket named sntp is a unit file mistake."""
    port, err = refused("sntp")
    assert err.endswith(f"sockit: systemd socket tcp:127.0.0.1:{port}: sntp does not speak tcp\n")


def test_readiness_and_stopping_are_notified(serve, tmp_path):
    """Type=notify: READY=1 once every endpoint is up, STOPPING=1 on SIGTERM."""
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(10)
        srv = serve("--echo", "tcp:127.0.0.1:0", expect=1,
                    env={**os.environ, "NOTIFY_SOCKET": path})
        assert sock.recv(4096) == b"READY=1"
        assert srv.stop() == 0
        assert sock.recv(4096) == b"STOPPING=1"
