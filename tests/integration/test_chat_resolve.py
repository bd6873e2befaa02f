"""chat /to HOST:PORT: an address is used at once, a name is looked up off the event loop
(src/resolve_async.c), so incoming messages still show while a slow DNS server thinks, and
the lines typed meanwhile go, in order, to the new recipient."""
import os
import socket
import time

from conftest import preload_env
from test_chat import peers  # noqa: F401 (a fixture)

SLOW_MS = 4000


def udp_receiver():
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", 0))
    r.settimeout(10)
    return r


def test_to_a_name_from_etc_hosts_an_address_and_a_bad_name(peers, tmp_path):  # noqa: F811
    with udp_receiver() as r:
        port = r.getsockname()[1]
        chat = peers("--linger", "0.2", env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
        chat.send(f"/to localhost:{port}\nby name\n/to no-such-host.invalid:9\nstill to localhost\n"
                  f"/to 127.0.0.1:{port}\nby address\n")
        got = [r.recv(100) for _ in range(3)]
        _, err = chat.finish()
    assert got == [b"by name", b"still to localhost", b"by address"]
    assert b"sockit: resolve udp:no-such-host.invalid:9: " in err


def test_a_slow_lookup_does_not_stop_incoming_messages(peers, tmp_path):  # noqa: F811
    env = preload_env("slow_dns", SOCKIT_SLOW_NAME="slow.test", SOCKIT_SLOW_MS=str(SLOW_MS),
                      XDG_CONFIG_HOME=str(tmp_path))
    with udp_receiver() as r, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as friend:
        chat = peers("--linger", "0.2", env=env)
        start = time.monotonic()
        chat.send(f"/to slow.test:{r.getsockname()[1]}\nheld until the answer\n")
        time.sleep(0.3)  # the chat is now waiting for slow.test
        friend.sendto(b"are you there", chat.addr)
        chat.wait_out(rb"are you there", timeout=SLOW_MS / 1000 + 5)
        shown = time.monotonic() - start
        assert r.recv(100) == b"held until the answer"
        sent = time.monotonic() - start
        chat.send("after\n")
        assert r.recv(100) == b"after"
        chat.finish()
    assert shown < SLOW_MS / 1000 / 2, f"shown {shown:.1f} s after /to: the loop waited"
    assert sent > SLOW_MS / 1000 * 0.9, f"sent {sent:.1f} s after /to, before the answer"
