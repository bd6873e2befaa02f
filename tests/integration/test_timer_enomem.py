"""When ev_timer_start fails (-ENOMEM: the loop's timer heap cannot grow), no connection is
left without its deadline: the relay closes a client it cannot keep alive, the chat leaves
rather than linger forever. The shim tests/shim/no_timer_heap.so makes every realloc called
from ev_timer_start fail."""
import socket
import subprocess

import pytest

from conftest import SOCKIT, WRAPPER, need, preload_env, run_sockit

# valgrind puts its own malloc and realloc in place of the shim's, so no allocation fails
# there: these run in `make test` and the ASan build.
pytestmark = pytest.mark.skipif(bool(WRAPPER), reason="valgrind replaces the shim's realloc")


def no_timer_env(tmp_path):
    """The environment under which sockit's timer heap cannot grow."""
    out = subprocess.run([need("nm"), "-S", SOCKIT], capture_output=True, text=True,
                         check=True).stdout
    ranges = [f"{f[0]}:{f[1]}" for f in (line.split() for line in out.splitlines())
              if len(f) == 4 and f[2] in "tT" and f[3].split(".")[0] == "ev_timer_start"]
    assert ranges, "ev_timer_start not in nm -S output"
    return preload_env("no_timer_heap", SOCKIT_FAULT_RANGES=",".join(ranges),
                       XDG_CONFIG_HOME=str(tmp_path))


def test_chat_leaves_when_it_cannot_linger(tmp_path):
    res = run_sockit("chat", "--linger", "60", input=b"", env=no_timer_env(tmp_path), timeout=15)
    assert res.returncode == 0, res.stderr


def test_a_client_whose_deadline_cannot_be_armed_is_refused(serve, tmp_path):
    """The stream layer takes each connection's timer slot at accept (stream.c keeps it armed
    for the connection's life, so later re-arms cannot fail): without one the client is
    closed at once and the refusal logged, never served without its idle deadline. And
    serve still stops on SIGTERM though its shutdown timer cannot be armed either."""
    srv = serve("--chat", "tcp:127.0.0.1:0", env=no_timer_env(tmp_path))
    with socket.create_connection(srv.addr("chat"), timeout=5) as s:
        got = b""
        while chunk := s.recv(4096):
            got += chunk
    assert got == b"", got
    assert srv.stop() == 0
    assert "refused 1 connection(s): out of memory" in srv.stderr, srv.stderr


def chat_clients_until_one_is_closed(srv, before=0):
    """Opens `before` echo connections, then chat connections one at a time (each takes two
    of the loop's timers: the stream's deadline and the relay's keepalive) until the server
    closes one. Returns what that one received and the ones still open."""
    held = [socket.create_connection(srv.addr("echo"), timeout=5) for _ in range(before)]
    for _ in range(100):  # the heap's first 64 slots run out well before
        s = socket.create_connection(srv.addr("chat"), timeout=5)
        s.settimeout(0.3)
        try:
            got = s.recv(4096)
        except socket.timeout:
            held.append(s)
            continue
        s.settimeout(5)  # it is being closed: wait for the rest however slow the build
        while chunk := s.recv(4096):
            got += chunk
        s.close()
        return got, held
    raise AssertionError("no chat connection was closed")


def test_a_chat_client_whose_keepalive_cannot_be_armed_is_told_and_closed(serve, tmp_path):
    """Only the timer heap's second growth fails (SOCKIT_FAULT_MIN_SIZE), so the first timer
    past its 63 slots is refused. Whether that is a connection's stream deadline (refused at
    accept, tested above) or its keepalive depends on how many timers the loop had before;
    one echo connection more (one timer) moves it from the one to the other."""
    env = {**no_timer_env(tmp_path), "SOCKIT_FAULT_MIN_SIZE": "1024"}  # 64 slots: 512 bytes
    for before in (0, 1):
        srv = serve("--threads", "1", "--chat", "tcp:127.0.0.1:0", "--echo", "tcp:127.0.0.1:0",
                    env=env, expect=2)
        got, held = chat_clients_until_one_is_closed(srv, before)
        if got == b"":  # its stream deadline: refused at accept
            for s in held:
                s.close()
            assert srv.stop() == 0
            continue
        assert got.startswith(b"ERROR :Closing Link: 127.0.0.1 (Out of memory)\r\n"), got
        # the clients before it are served as ever
        first = held[before]
        first.settimeout(5)
        first.sendall(b"NICK early\r\nUSER early 0 * :Early\r\n")
        welcome = b""
        while b" 001 early " not in welcome:
            welcome += first.recv(4096)
        for s in held:
            s.close()
        assert srv.stop() == 0
        assert "no memory for its keepalive timer, closing" in srv.stderr, srv.stderr
        return
    raise AssertionError("neither run reached the keepalive timer")
