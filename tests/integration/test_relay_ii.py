"""A stock IRC client from Debian, ii (a file-tree client), talking through the chat relay."""
import subprocess
import time

from conftest import need
from ircpeer import registered


def wait_for(path, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.05)
    content = path.read_text(encoding="utf-8", errors="replace") if path.exists() else "(none)"
    raise AssertionError(f"{text!r} not in {path}: {content}")


def write_in(path, line, timeout=10):
    """ii's 'in' is a fifo it creates; wait for it, then write one command."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    with open(path, "w", encoding="utf-8") as f:
        f.write(line + "\n")


def test_ii_joins_talks_and_gets_dms(serve, tmp_path):
    ii = need("ii")
    host, port = serve("--chat", "tcp:127.0.0.1:0").addr("chat")
    bob = registered((host, port), "bob")
    bob.send("JOIN #room")
    bob.expect("366")
    proc = subprocess.Popen([ii, "-s", host, "-p", str(port), "-n", "iiuser", "-i", str(tmp_path),
                             "-f", "ii user"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        srv = tmp_path / host
        wait_for(srv / "out", "End of /MOTD")
        write_in(srv / "in", "/j #room")
        joined = bob.expect("JOIN")
        assert joined.nick == "iiuser"
        room = srv / "#room"
        write_in(room / "in", "hello from ii, 你好")
        m = bob.expect("PRIVMSG")
        assert m.nick == "iiuser" and m.params == ["#room", "hello from ii, 你好"]
        bob.send("PRIVMSG #room :hi ii")
        wait_for(room / "out", "<bob> hi ii")
        bob.send("PRIVMSG iiuser :a secret")
        wait_for(srv / "bob" / "out", "<bob> a secret")
        write_in(srv / "in", "/j #room")  # already in: nothing new
        write_in(srv / "in", "/q")
        assert bob.expect("QUIT").nick == "iiuser"
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
