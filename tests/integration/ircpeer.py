"""A scripted IRC client over a raw socket, for the chat relay's tests (and ngircd's)."""
import re
import socket
import time

LINE_RE = re.compile(r"^(?:@(?P<tags>\S+) )?(?::(?P<prefix>\S+) )?(?P<cmd>\S+)(?P<rest>.*)$")


class Msg:
    def __init__(self, raw):
        self.raw = raw
        m = LINE_RE.match(raw)
        assert m, raw
        self.tags = m.group("tags")
        self.prefix = m.group("prefix")
        self.cmd = m.group("cmd")
        rest = m.group("rest")
        params = []
        while rest:
            rest = rest.lstrip(" ")
            if rest.startswith(":"):
                params.append(rest[1:])
                break
            word, _, rest = rest.partition(" ")
            if word:
                params.append(word)
        self.params = params

    @property
    def nick(self):
        return self.prefix.split("!", 1)[0] if self.prefix else None

    def __repr__(self):
        return f"Msg({self.raw!r})"


class Peer:
    def __init__(self, addr, timeout=10):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.buf = b""
        self.seen = []
        self.timeout = timeout
        self.auto_pong = True  # like a real client

    def send(self, *lines):
        data = b"".join((l if isinstance(l, bytes) else l.encode()) + b"\r\n" for l in lines)
        self.sock.sendall(data)

    def _read_line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; seen: " + repr(self.seen[-20:]))
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        m = Msg(line.rstrip(b"\r").decode("utf-8", "replace"))
        self.seen.append(m)
        if m.cmd == "PING" and self.auto_pong:
            self.send("PONG :" + (m.params[0] if m.params else ""))
        return m

    def expect(self, cmd, *params, timeout=None):
        """Read until a message with this command (and leading params after our nick) arrives."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                m = self._read_line(deadline)
            except TimeoutError:
                raise AssertionError(f"no {cmd} {params}; seen: {self.seen[-20:]}") from None
            if m.cmd != cmd:
                continue
            got = m.params[1:] if cmd.isdigit() else m.params
            if all(p is None or (i < len(got) and got[i] == p) for i, p in enumerate(params)):
                return m

    def quiet(self, seconds=0.3):
        """Messages that arrive within seconds (none expected, usually)."""
        got = []
        deadline = time.monotonic() + seconds
        while True:
            try:
                got.append(self._read_line(deadline))
            except TimeoutError:
                return got

    def register(self, nick, user="u", real="Real Name"):
        self.send(f"NICK {nick}", f"USER {user} 0 * :{real}")
        self.expect("376")
        return self

    def closed(self, timeout=5):
        """True once the server closed the connection (after reading what is left)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._read_line(deadline)
        except (EOFError, ConnectionResetError):
            return True
        except TimeoutError:
            return False

    def close(self):
        self.sock.close()


def registered(addr, nick, **kw):
    return Peer(addr).register(nick, **kw)
