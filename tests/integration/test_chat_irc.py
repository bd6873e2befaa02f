"""`sockit chat --server ADDR --nick NAME` against sockit's relay and against ngircd: room
messages and DMs both ways, /who and /rooms, network escapes shown escaped."""
import queue
import subprocess
import threading
import time

import pytest

from conftest import SOCKIT, SANITIZER_MARKS, free_port, need, wait_port
from ircpeer import registered


class ChatClient:
    """sockit chat in plain mode: lines to stdin; stdout and stderr collected line by line."""

    def __init__(self, server, nick):
        self.proc = subprocess.Popen([SOCKIT, "chat", "--server", server, "--nick", nick],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.all = []
        for stream, tag in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            threading.Thread(target=self._read, args=(stream, tag), daemon=True).start()

    def _read(self, stream, tag):
        for raw in stream:
            self.lines.put((tag, raw.decode("utf-8", "replace").rstrip("\n")))

    def type(self, *lines):
        self.proc.stdin.write("".join(l + "\n" for l in lines).encode())
        self.proc.stdin.flush()

    def expect(self, tag, text, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {tag} line with {text!r}; got {self.all}") from None
            self.all.append(got)
            if got[0] == tag and text in got[1]:
                return got[1]

    def finish(self):
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=10)
        rest = "".join(l for _, l in self.all)
        for mark in SANITIZER_MARKS:
            assert mark not in rest
        return rc


@pytest.fixture
def ngircd(tmp_path):
    binary = need("ngircd")
    port = free_port()
    conf = tmp_path / "ngircd.conf"
    conf.write_text(f"""[Global]
Name = irc.test
Info = sockit test server
Listen = 127.0.0.1
Ports = {port}
ServerUID = nobody
ServerGID = nogroup
PidFile = {tmp_path}/ngircd.pid
MotdPhrase = test
[Limits]
MaxNickLength = 30
[Options]
DNS = no
Ident = no
PAM = no
""")
    proc = subprocess.Popen([binary, "-n", "-f", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port("127.0.0.1", port)
        yield ("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
def relay_addr(serve):
    return serve("--chat", "tcp:127.0.0.1:0").addr("chat")


@pytest.fixture(params=["sockit", "ngircd"])
def irc_server(request):
    name = "relay_addr" if request.param == "sockit" else "ngircd"
    return request.getfixturevalue(name)


def test_room_and_dm_both_ways(irc_server):
    host, port = irc_server
    bob = registered((host, port), "bob")
    bob.send("JOIN #room")
    bob.expect("366")
    chat = ChatClient(f"tcp:{host}:{port}", "alice")
    chat.expect("err", "connected as alice")
    chat.type("/join #room")
    assert bob.expect("JOIN").nick == "alice"
    chat.type("hello room")
    m = bob.expect("PRIVMSG")
    assert m.nick == "alice" and m.params == ["#room", "hello room"]
    bob.send("PRIVMSG #room :hi \x1b[31malice")
    assert chat.expect("out", "[#room] bob: ") == "[#room] bob: hi \\x1b[31malice"
    chat.type("/msg bob psst")
    assert bob.expect("PRIVMSG").params == ["bob", "psst"]
    bob.send("PRIVMSG alice :private reply")
    assert chat.expect("out", "bob: private") == "bob: private reply"
    chat.type("/to bob", "direct after /to")
    assert bob.expect("PRIVMSG").params == ["bob", "direct after /to"]
    chat.type("/who #room")
    chat.expect("err", "bob in #room")
    chat.type("/part #room")
    assert bob.expect("PART").nick == "alice"
    assert chat.finish() == 0


def test_two_sockit_chats_through_the_relay(relay_addr):
    host, port = relay_addr
    a = ChatClient(f"tcp:{host}:{port}", "alice")
    b = ChatClient(f"tcp:{host}:{port}", "bob")
    a.expect("err", "connected as alice")
    b.expect("err", "connected as bob")
    a.type("/join #r")
    a.expect("err", "alice joined #r")
    b.type("/join #r")
    a.expect("err", "bob joined #r")
    b.type("from bob")
    assert a.expect("out", "from bob") == "[#r] bob: from bob"
    a.type("/msg bob 你好")
    assert b.expect("out", "你好") == "alice: 你好"
    b.type("answer without a target")  # goes back to the room, the current target
    assert a.expect("out", "answer") == "[#r] bob: answer without a target"
    a.type("/rooms")
    a.expect("err", "#r (2 people)")
    a.type("/nosuch")
    a.expect("err", "unknown command")
    assert a.finish() == 0
    b.expect("err", "alice quit")
    assert b.finish() == 0


def test_nick_taken_gets_an_underscore(relay_addr):
    host, port = relay_addr
    holder = registered((host, port), "alice")
    chat = ChatClient(f"tcp:{host}:{port}", "alice")
    chat.expect("err", "connected as alice_")
    assert chat.finish() == 0
    holder.close()


def test_bad_arguments_and_unreachable_server():
    res = subprocess.run([SOCKIT, "chat", "--server", "tcp:127.0.0.1:1", "--nick", "x"],
                         capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert res.returncode == 69
    assert res.stderr == b"sockit: connect tcp:127.0.0.1:1: Connection refused\n"
    res = subprocess.run([SOCKIT, "chat", "--server", "tcp:127.0.0.1:1"],
                         capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert res.returncode == 64 and b"--server and --nick go together" in res.stderr
    res = subprocess.run([SOCKIT, "chat", "--server", "tcp:127.0.0.1:1", "--nick", "9x"],
                         capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert res.returncode == 64 and b"not an IRC nickname" in res.stderr


def test_terminal_shows_messages_while_typing(relay_addr):
    from test_chat import Tmux  # the chat UI's own terminal harness
    tmux = Tmux()
    try:
        host, port = relay_addr
        bob = registered((host, port), "bob")
        bob.send("JOIN #room")
        bob.expect("366")
        tmux.start("a", ["--server", f"tcp:{host}:{port}", "--nick", "alice"])
        tmux.wait("a", r"connected as alice")
        tmux.keys("a", "/join #room", "Enter")
        assert bob.expect("JOIN").nick == "alice"
        tmux.wait("a", r"^\[#room\] ?$")
        tmux.keys("a", "half ty")
        tmux.wait("a", r"^\[#room\] half ty$")
        bob.send("PRIVMSG #room :hi \x1b[2Jalice")
        tmux.wait("a", r"\[#room\] bob: hi \\x1b\[2Jalice")
        assert tmux.last_line("a") == "[#room] half ty"
        tmux.keys("a", "ped", "Enter")
        assert bob.expect("PRIVMSG").params == ["#room", "half typed"]
        tmux.keys("a", "/quit", "Enter")
        tmux.wait("a", r"EXIT=0")
        assert not any(m in tmux.screen("a") for m in SANITIZER_MARKS)
    finally:
        tmux.kill()
