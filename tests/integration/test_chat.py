"""sockit chat: the seed's UDP "QQ" chat as one peer, against the seed's own programs, another
sockit chat on a pseudo-terminal (tmux), and hostile datagrams."""
import itertools
import os
import re
import shlex
import socket
import subprocess
import threading
import time

import pytest

from conftest import (PYTHON, SANITIZER_MARKS, SOCKIT, WRAPPER, assert_usage_error, free_port, need,
                      run_sockit, seed_program)

LISTEN_RE = re.compile(rb"sockit: chat: listening on udp:\S+:(\d+)")


class Peer:
    """`sockit chat` in plain (non-terminal) mode: lines in on stdin, one line per message out."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen([*WRAPPER, SOCKIT, "chat", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lines = []
        self.err_lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err_lines), daemon=True).start()
        m = LISTEN_RE.search(self.wait_err(rb"listening on"))
        self.port = int(m.group(1))
        self.addr = ("127.0.0.1", self.port)
        self.spec = f"udp:127.0.0.1:{self.port}"

    def _read(self, pipe, into):
        for line in pipe:
            with self.cond:
                into.append(line)
                self.cond.notify_all()
        with self.cond:
            into.append(None)
            self.cond.notify_all()

    def _wait(self, into, pattern, timeout):
        deadline = time.monotonic() + timeout * (3 if WRAPPER else 1)  # valgrind is slow
        with self.cond:
            while True:
                for line in into:
                    if line is not None and re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                assert left > 0, f"no {pattern!r} in {into!r}"
                self.cond.wait(left)

    def wait_out(self, pattern, timeout=10):
        return self._wait(self.lines, pattern, timeout)

    def wait_err(self, pattern, timeout=10):
        return self._wait(self.err_lines, pattern, timeout)

    def send(self, text):
        self.proc.stdin.write(text.encode() if isinstance(text, str) else text)
        self.proc.stdin.flush()

    def finish(self, timeout=10):
        """Close stdin; the peer must exit 0 after its linger. Returns (stdout, stderr) lines."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        assert self.proc.wait(timeout=timeout * (3 if WRAPPER else 1)) == 0, self.err_lines
        time.sleep(0.05)
        with self.cond:
            out = [l for l in self.lines if l is not None]
            err = b"".join(l for l in self.err_lines if l is not None)
        for mark in SANITIZER_MARKS:
            assert mark.encode() not in err, err
        return out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def peers():
    started = []

    def start(*args, env=None):
        p = Peer(*args, env=env)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()


def test_two_plain_peers_talk_and_reply_to_the_last_sender(peers):
    a = peers("--listen", "udp:127.0.0.1:0", "--linger", "0.2")
    b = peers("--listen", "udp:127.0.0.1:0", "--contact", f"狗哥alex={a.spec}", "--to", "狗哥alex",
              "--linger", "0.5")
    b.send("hello a\n")
    assert a.wait_out(rb"hello a") == f"127.0.0.1:{b.port}: hello a\n".encode()
    a.send("hi b\n")  # no recipient: answers the last sender, from the socket that received
    assert b.wait_out(rb"hi b") == "狗哥alex: hi b\n".encode()
    out_b, err_b = b.finish()
    out_a, _ = a.finish()
    assert out_b == ["狗哥alex: hi b\n".encode()]  # exactly one stdout line, no colour on a pipe
    assert out_a == [f"127.0.0.1:{b.port}: hello a\n".encode()]
    assert b"\033[" not in err_b


def test_seed_client_gets_the_reply(tmp_path, peers):
    """The seed's qq_client1.py writes to `sockit chat --listen` and gets its answer."""
    port = free_port(socket.SOCK_DGRAM)
    chat = peers("--listen", f"udp:127.0.0.1:{port}")
    client = subprocess.Popen([PYTHON, str(seed_program(tmp_path, "qq_client1.py", port))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"})
    try:
        client.stdin.write("狗哥alex\n你好 sockit\n".encode())
        client.stdin.flush()
        line = chat.wait_out("你好 sockit".encode())
        assert re.fullmatch(rb"127\.0\.0\.1:\d+: " + "你好 sockit".encode() + rb"\n", line)
        chat.send("回复 from sockit\n")
        out, err = client.communicate(timeout=10)  # EOF at its next input(): it exits
    finally:
        if client.poll() is None:
            client.kill()
    text = out.decode()
    assert f"来自[127.0.0.1:{port}]的一条消息:\033[1;44m回复 from sockit\033[0m" in text, text
    chat.finish()


def test_chat_gets_the_seed_servers_answer(tmp_path, peers):
    """`sockit chat` with a contact at the seed's qq_server.py gets its operator's answer."""
    port = free_port(socket.SOCK_DGRAM)
    server = subprocess.Popen([PYTHON, str(seed_program(tmp_path, "qq_server.py", port))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"})
    try:
        time.sleep(0.3)  # the seed server cannot bind port 0 or say when it is up
        book = tmp_path / "contacts"
        book.write_text(f"# the seed's server\n狗哥alex udp:127.0.0.1:{port}\n", encoding="utf-8")
        chat = peers("--contacts", str(book), "--to", "狗哥alex", "--linger", "3")
        chat.send("hello seed\n")
        got = b""
        deadline = time.monotonic() + 5
        while "回复消息".encode() not in got:
            assert time.monotonic() < deadline, got
            got += server.stdout.read1(4096)
        assert re.search(rb"\xe6\x9d\xa5\xe8\x87\xaa\[127\.0\.0\.1:\d+\]" + "的一条消息:".encode()
                         + rb"\033\[1;44mhello seed\033\[0m", got), got
        server.stdin.write("operator says hi\n".encode())
        server.stdin.flush()
        assert chat.wait_out(rb"operator") == "狗哥alex: operator says hi\n".encode()
        chat.finish()
    finally:
        server.kill()
        server.wait()


def test_hostile_text_is_shown_escaped_on_one_line(peers):
    chat = peers("--listen", "udp:127.0.0.1:0", "--linger", "0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        me = s.getsockname()[1]
        for msg in (b"\x1b[2Jclear", b"\x1b]0;title\x07", b"bad\xff\xfeutf8", b"two\nlines",
                    b"\xc2\x9b31m"):
            s.sendto(msg, chat.addr)
        chat.wait_out(rb"31m")
    out, _ = chat.finish()
    p = f"127.0.0.1:{me}: ".encode()
    assert out == [p + rb"\x1b[2Jclear" + b"\n", p + rb"\x1b]0;title\x07" + b"\n",
                   p + "bad\ufffd\ufffdutf8".encode() + b"\n", p + rb"two\nlines" + b"\n",
                   p + rb"\u009b31m" + b"\n"]
    assert not any(b"\x1b" in line for line in out)


def test_over_long_message_is_refused_not_truncated(peers):
    a = peers("--listen", "udp:127.0.0.1:0", "--linger", "0.3")
    b = peers("--to", a.spec, "--linger", "0.3")
    b.send("x" * 1025 + "\n")
    b.wait_err(rb"over the")
    b.send("y" * 1024 + "\n")
    assert a.wait_out(rb"y{1024}").endswith(b": " + b"y" * 1024 + b"\n")
    _, err = b.finish()
    assert b"sockit: message of 1025 bytes is over the 1024-byte limit; not sent\n" in err
    out, _ = a.finish()
    assert len(out) == 1  # the long one never left


def test_unknown_contact(peers, tmp_path):
    res = run_sockit("chat", "--contact", "a=udp:127.0.0.1:9", "--to", "nobody", input=b"")
    assert res.returncode == 64
    assert b"sockit: unknown contact 'nobody' (see /contacts, or give udp:HOST:PORT)\n" in res.stderr
    chat = peers("--contact", "a=udp:127.0.0.1:9", "--linger", "0")
    chat.send("/to nob\x1bdy\nhello\n/to a\n/to tcp:127.0.0.1:5\n/contacts\n")
    _, err = chat.finish()
    assert b"sockit: unknown contact 'nob\\x1bdy'" in err
    assert b"sockit: 'tcp:127.0.0.1:5' is not a udp address\n" in err
    # nothing silently dropped: with no recipient the message is refused out loud
    assert b"sockit: no one to send to: pick a contact with /to NAME, or wait for a message\n" in err
    assert b"a udp:127.0.0.1:9\n" in err  # /contacts, on stderr: stdout is for messages


def test_contact_book_errors_name_file_and_line(tmp_path):
    book = tmp_path / "contacts"
    book.write_text("# friends\n狗哥alex udp:127.0.0.1:8081\n瞎驴 tcp:127.0.0.1:8082\n",
                    encoding="utf-8")
    res = run_sockit("chat", "--contacts", str(book), input=b"")
    assert res.returncode == 78
    assert res.stderr == (f"sockit: {book}:3: contact '瞎驴': 'tcp:127.0.0.1:8082' is not a "
                          "udp address\n").encode()
    book.write_text("ok 127.0.0.1:1\nok 127.0.0.1:2\n")
    res = run_sockit("chat", "--contacts", str(book), input=b"")
    assert res.stderr == f"sockit: {book}:2: contact 'ok' is already defined\n".encode()
    res = run_sockit("chat", "--contacts", str(tmp_path / "missing"), input=b"")
    assert res.returncode == 78
    assert res.stderr == f"sockit: open {tmp_path / 'missing'}: No such file or directory\n".encode()
    res = run_sockit("chat", "--contacts", str(tmp_path), input=b"")  # a directory
    assert (res.returncode, res.stderr) == (
        78, f"sockit: read {tmp_path}: Is a directory\n".encode())


def test_default_book_from_xdg_config_home(tmp_path):
    (tmp_path / "sockit").mkdir()
    (tmp_path / "sockit" / "contacts").write_text("一棵树 udp:127.0.0.1:8081\n", encoding="utf-8")
    res = run_sockit("chat", "--linger", "0", input="/contacts\n".encode(),
                     env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    assert "一棵树 udp:127.0.0.1:8081\n".encode() in res.stderr
    assert res.stdout == b""


def test_eof_then_linger_shows_late_replies_then_exits_0(peers):
    a = peers("--listen", "udp:127.0.0.1:0", "--linger", "1.5")
    a.proc.stdin.close()
    t0 = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(b"late", a.addr)
        a.wait_out(rb"late")
    assert a.proc.wait(timeout=10) == 0
    assert 1.0 < time.monotonic() - t0 < 8


# ---- on a terminal: tmux gives each peer a real pseudo-terminal and shows its screen ----

_counter = itertools.count()


class Tmux:
    def __init__(self):
        self.tmux = need("tmux")
        self.sock = f"sockit-chat-{os.getpid()}-{next(_counter)}"

    def run(self, *args):
        return subprocess.run([self.tmux, "-L", self.sock, "-f", "/dev/null", *args],
                              capture_output=True, timeout=10, check=True).stdout.decode("utf-8", "replace")

    def start(self, name, args, env=""):
        cmd = (f"env LANG=C.UTF-8 TERM=xterm {env} {shlex.quote(SOCKIT)} chat "
               + " ".join(shlex.quote(a) for a in args) + "; echo EXIT=$?; sleep 60")
        self.run("new-session", "-d", "-x", "120", "-y", "30", "-s", name, cmd)

    def screen(self, name, escapes=False):
        return self.run("capture-pane", "-p", *(["-e"] if escapes else []), "-t", name)

    def keys(self, name, *keys):
        self.run("send-keys", "-t", name, *keys)

    def wait(self, name, pattern, timeout=10, escapes=False):
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen(name, escapes)
            m = re.search(pattern, text, re.M)
            if m:
                return m
            assert time.monotonic() < deadline, f"no {pattern!r} on screen:\n{text}"
            time.sleep(0.05)

    def last_line(self, name):
        lines = [l for l in self.screen(name).splitlines() if l.strip()]
        return lines[-1]

    def kill(self):
        subprocess.run([self.tmux, "-L", self.sock, "kill-server"], capture_output=True)


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def tty_port(tmux, name):
    return int(tmux.wait(name, r"listening on udp:127\.0\.0\.1:(\d+)").group(1))


def test_terminals_exchange_messages_while_typing(tmux):
    tmux.start("a", ["--listen", "udp:127.0.0.1:0"])
    pa = tty_port(tmux, "a")
    tmux.start("b", ["--listen", "udp:127.0.0.1:0", "--contact", f"狗哥alex=udp:127.0.0.1:{pa}"])
    pb = tty_port(tmux, "b")
    tmux.wait("b", r"Choose a contact: ?$")
    tmux.keys("b", "狗哥alex", "Enter")
    tmux.wait("b", r"Message \(Enter to send\): ?$")
    tmux.keys("b", "first from b", "Enter")
    tmux.wait("a", rf"Message from \[127\.0\.0\.1:{pb}\]: first from b")
    tmux.wait("a", r"Reply: ?$")
    # b is mid-line when a's message arrives; the half-typed text must survive
    tmux.keys("b", "half ty")
    tmux.wait("b", r"Message \(Enter to send\): half ty$")
    tmux.keys("a", "reply from a", "Enter")
    tmux.wait("b", r"Message from 狗哥alex: reply from a")
    assert tmux.last_line("b") == "Message (Enter to send): half ty"
    # and a is mid-line when b's finished line arrives
    tmux.keys("a", "a is typ")
    tmux.wait("a", r"Reply: a is typ$")
    tmux.keys("b", "ped", "Enter")
    tmux.wait("a", rf"Message from \[127\.0\.0\.1:{pb}\]: half typed")
    assert tmux.last_line("a") == "Reply: a is typ"
    tmux.keys("a", "ing", "Enter")
    tmux.wait("b", r"Message from 狗哥alex: a is typing")
    tmux.keys("a", "C-d")
    tmux.keys("b", "/quit", "Enter")
    tmux.wait("a", r"EXIT=0")
    tmux.wait("b", r"EXIT=0")
    for name in ("a", "b"):
        assert not any(m in tmux.screen(name) for m in SANITIZER_MARKS)


def test_terminal_quit_returns_to_contact_choice_and_unknown_contact(tmux):
    tmux.start("a", ["--contact", "瞎驴=udp:127.0.0.1:9", "--contact", "一棵树=udp:127.0.0.1:9"])
    tmux.wait("a", r"Choose a contact: ?$")
    tmux.keys("a", "nobody", "Enter")
    tmux.wait("a", r"sockit: unknown contact 'nobody'")
    tmux.wait("a", r"Choose a contact: ?$")
    tmux.keys("a", "瞎驴", "Enter")
    tmux.wait("a", r"Message \(Enter to send\): ?$")
    tmux.keys("a", "quit", "Enter")
    tmux.wait("a", r"quit\nChoose a contact: ?$")
    tmux.keys("a", "/help", "Enter")
    tmux.wait("a", r"/contacts +list the contacts")
    tmux.keys("a", "/quit", "Enter")
    tmux.wait("a", r"EXIT=0")
    assert not any(m in tmux.screen("a") for m in SANITIZER_MARKS)


def test_colour_on_a_terminal_only_and_never_with_no_color(tmux):
    tmux.start("c", ["--listen", "udp:127.0.0.1:0"])
    tmux.start("n", ["--listen", "udp:127.0.0.1:0"], env="NO_COLOR=1")
    pc, pn = tty_port(tmux, "c"), tty_port(tmux, "n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(b"blue text", ("127.0.0.1", pc))
        s.sendto(b"plain text", ("127.0.0.1", pn))
        s.sendto(b"\x1b[2J\x1b]0;title\x07", ("127.0.0.1", pc))
        coloured = tmux.wait("c", r"\x1b\[[0-9;]*44m(?:\x1b\[[0-9;]*m)*blue text", escapes=True)
        plain = tmux.wait("n", r"Message from \[127\.0\.0\.1:\d+\]: (.*)plain text", escapes=True)
        assert "44m" not in plain.group(0)
        tmux.wait("c", r"\\x1b\[2J\\x1b\]0;title\\x07")  # escaped: the screen was not cleared
    assert "blue text" in tmux.screen("c")
    tmux.keys("c", "C-d")
    tmux.keys("n", "half")
    tmux.wait("n", r"Reply: half$")  # typed, not still in the tty's queue (SIGINT flushes it)
    tmux.keys("n", "C-c")  # SIGINT: a clean exit, the half line kept, the terminal restored
    tmux.wait("c", r"EXIT=0")
    tmux.wait("n", r"half\nEXIT=0")
    for name in ("c", "n"):
        assert not any(m in tmux.screen(name) for m in SANITIZER_MARKS)


def test_stdin_from_a_file(tmp_path, peers):
    """A regular file cannot be polled: it is read at once, and the chat still lingers."""
    a = peers("--listen", "udp:127.0.0.1:0", "--linger", "0")
    script = tmp_path / "lines"
    script.write_text("from a file\n/contacts\nno newline at the end")
    with open(script, "rb") as f:
        res = subprocess.run([SOCKIT, "chat", "--contact", f"a={a.spec}", "--to", "a",
                              "--linger", "0.2"], stdin=f, capture_output=True, timeout=10)
    assert res.returncode == 0, res.stderr
    assert f"a {a.spec}\n".encode() in res.stderr
    a.wait_out(rb"no newline at the end$")
    out, _ = a.finish()
    assert [l.split(b": ", 1)[1] for l in out] == [b"from a file\n", b"no newline at the end\n"]


def test_plain_mode_prompts_go_to_stderr_not_stdout(tmp_path, peers):
    """Off a terminal the prompt is shown like Python's input() does, but on stderr: stdout
    stays one line per incoming message."""
    a = peers("--listen", "udp:127.0.0.1:0", "--linger", "0")
    res = subprocess.run([SOCKIT, "chat", "--contact", f"a={a.spec}", "--to", "a",
                          "--linger", "0.2"], input=b"hello\n", capture_output=True, timeout=10)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count(b"Message (Enter to send): ") == 2, res.stderr  # before and after
    assert res.stdout == b""
    a.wait_out(rb"hello$")
    a.finish()


def test_a_flooding_sender_is_rate_limited_and_reported(peers):
    chat = peers("--listen", "udp:127.0.0.1:0", "--rate", "10", "--linger", "0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for i in range(300):
            s.sendto(b"flood %d" % i, chat.addr)
        chat.wait_err(rb"dropped \d+ messages from senders over 10 a second")
    out, err = chat.finish()
    assert 30 <= len(out) <= 80, len(out)  # the burst (5 s worth) and a little refill
    dropped = sum(int(n) for n in re.findall(rb"dropped (\d+) messages", err))
    assert dropped >= 100 and len(out) + dropped <= 300  # the kernel may drop some too


def test_sigterm_exits_0_at_once(peers):
    chat = peers("--listen", "udp:127.0.0.1:0", "--linger", "30")
    chat.proc.terminate()
    assert chat.proc.wait(timeout=5) == 0


def test_ipv6_peers_and_a_smaller_limit(peers):
    a = peers("--listen", "udp:[::1]:0", "--linger", "0.3")
    b = peers("--to", f"udp:[::1]:{a.port}", "--max-message", "5", "--linger", "0.5")
    b.send("toolong\nshort\n")
    line = a.wait_out(rb"short")
    assert re.fullmatch(rb"\[::1\]:\d+: short\n", line), line
    a.send("back\n")
    assert b.wait_out(rb"back") == f"[::1]:{a.port}: back\n".encode()
    _, err = b.finish()
    assert b"sockit: message of 7 bytes is over the 5-byte limit; not sent\n" in err
    a.finish()


def test_an_over_long_input_line_is_refused_and_the_next_one_works(peers):
    a = peers("--listen", "udp:127.0.0.1:0", "--linger", "0.3")
    b = peers("--to", a.spec, "--linger", "0.5")
    b.send(b"z" * 70000 + b"\nafter\n")
    assert a.wait_out(rb"after").endswith(b": after\n")
    _, err = b.finish()
    assert b"sockit: input line over 65536 bytes ignored\n" in err
    out, _ = a.finish()
    assert len(out) == 1


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "unknown option '--bogus'"),
    (["-x"], "unknown option '-x'"),
    (["--to"], "option '--to' needs a value"),
    (["-l"], "option '-l' needs a value"),
    (["--help=yes"], "option '--help' takes no value"),
])
def test_bad_options_name_the_option(args, message):
    assert_usage_error("chat", args, message)


@pytest.mark.parametrize("args,message", [
    (["--max-message", "0"], "--max-message: expected 1-65507, got '0'"),
    (["-m", "65508"], "--max-message: expected 1-65507, got '65508'"),
    (["--rate", "-1"], "--rate: expected 0-1000000, got '-1'"),
    (["--rate", " 5"], "--rate: expected 0-1000000, got ' 5'"),
])
def test_numbers_out_of_range_name_the_option_and_the_range(args, message):
    assert_usage_error("chat", args, message)



# Runs a program with fds 3-102 open (inherited), as a busy parent may leave them: a client's
# loop must still cover the fd numbers it gets. (pass_fds would leave the low numbers free.)
HOLD_100_FDS = [PYTHON, "-c", "import os, sys\n"
                "for _ in range(100): os.set_inheritable(os.open(os.devnull, os.O_RDONLY), True)\n"
                "os.execv(sys.argv[1], sys.argv[1:])"]


def test_many_inherited_fds_do_not_stop_the_chat():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dest:
        dest.bind(("127.0.0.1", 0))
        dest.settimeout(10)
        res = subprocess.run([*HOLD_100_FDS, SOCKIT, "chat", "--linger", "0", "--to",
                              f"udp:127.0.0.1:{dest.getsockname()[1]}"],
                             input=b"hello\n", capture_output=True, timeout=10)
        assert res.returncode == 0, res.stderr
        assert dest.recvfrom(100)[0] == b"hello"


def test_many_inherited_fds_do_not_stop_irc_mode():
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(10)
        p = subprocess.Popen([*HOLD_100_FDS, SOCKIT, "chat", "--server",
                              f"tcp:127.0.0.1:{srv.getsockname()[1]}", "--nick", "many"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        try:
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(10)
                got = b""
                while b"USER" not in got:
                    chunk = conn.recv(4096)
                    assert chunk, (got, p.stderr.read() if p.poll() is not None else b"")
                    got += chunk
                assert got.startswith(b"NICK many\r\n")
        finally:
            p.kill()
            p.wait(timeout=10)
            p.stdin.close()
            p.stderr.close()
