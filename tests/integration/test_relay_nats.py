"""Two chat relays made one network by a local `nats-server -js`: DMs, rooms, NAMES and
nick uniqueness across them, recovery when NATS restarts, and a crashed relay's nick freed
within --nats-nick-ttl."""
import signal
import subprocess
import time

import pytest

from conftest import free_port, need, wait_port
from ircpeer import Peer, registered

NICK_TTL = 3  # seconds; the relay's default is 15


class Nats:
    def __init__(self, tmp_path):
        self.binary = need("nats-server")
        self.port = free_port()
        self.store = tmp_path / "js"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "-js", "-sd", str(self.store), "-a", "127.0.0.1",
                                      "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port("127.0.0.1", self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"


@pytest.fixture
def nats(tmp_path):
    n = Nats(tmp_path)
    n.start()
    yield n
    n.stop()


def wait_log(server, text, count=1, timeout=10):
    deadline = time.monotonic() + timeout
    while server.stderr.count(text) < count:
        assert time.monotonic() < deadline, f"no {text!r} x{count} in: {server.stderr}"
        time.sleep(0.05)


def nicks_are_global(server):
    """Connected with the nick bucket open: at once, or after a logged late open."""
    err = server.stderr
    if "nicknames are unique across relays" in err:
        return True
    return any("NATS: connected" in l and "unique on this relay only" not in l
               for l in err.splitlines())


def relay(serve, nats):
    s = serve("--chat", "tcp:127.0.0.1:0", "--nats", nats.url, "--nats-nick-ttl", str(NICK_TTL))
    wait_log(s, "NATS: connected")
    # A loaded machine can time out the bucket's creation; the relay retries, and only then
    # are nicknames unique across relays, which these tests are about.
    deadline = time.monotonic() + 20
    while not nicks_are_global(s):
        assert time.monotonic() < deadline, s.stderr
        time.sleep(0.05)
    return s


def eventually(fn, timeout=10):
    """Retry fn (which asserts) until it passes: remote state takes a moment to spread."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def names_of(peer, room):
    peer.send(f"NAMES {room}")
    nicks = []
    while True:
        m = peer._read_line(time.monotonic() + 5)
        if m.cmd == "353":
            nicks += m.params[-1].split()
        elif m.cmd == "366":
            return sorted(nicks)


def test_two_relays_are_one_network(serve, nats):
    a_srv, b_srv = relay(serve, nats), relay(serve, nats)
    alice = registered(a_srv.addr("chat"), "alice")
    alice.send("JOIN #room")
    alice.expect("366")
    bob_addr = b_srv.addr("chat")

    def nick_taken_on_b():
        p = Peer(bob_addr)
        p.send("NICK Alice")
        p.expect("433", "Alice", timeout=2)
        p.close()
    eventually(nick_taken_on_b)

    bob = registered(bob_addr, "bob")
    bob.send("JOIN #room")
    bob.expect("366")
    assert alice.expect("JOIN").nick == "bob"
    assert eventually(lambda: _assert_eq(names_of(bob, "#room"), ["alice", "bob"]))
    assert eventually(lambda: _assert_eq(names_of(alice, "#room"), ["alice", "bob"]))

    bob.send("PRIVMSG #room :hello from B")
    m = alice.expect("PRIVMSG")
    assert m.nick == "bob" and m.params == ["#room", "hello from B"]
    alice.send("PRIVMSG #room :hello from A")
    assert bob.expect("PRIVMSG").params == ["#room", "hello from A"]
    alice.send("PRIVMSG BOB :a DM across")
    assert bob.expect("PRIVMSG").params == ["bob", "a DM across"]
    bob.send("PRIVMSG alice :and back")
    m = alice.expect("PRIVMSG")
    assert m.nick == "bob" and m.params == ["alice", "and back"]

    alice.send("WHO #room")
    who = {alice.expect("352").params[5] for _ in range(2)}
    assert who == {"alice", "bob"}
    bob.send("TOPIC #room :shared topic")
    assert alice.expect("TOPIC").params == ["#room", "shared topic"]
    alice.send("TOPIC #room")
    assert alice.expect("332").params[-1] == "shared topic"
    bob.send("JOIN #OnlyOnB")
    bob.expect("366")
    bob.send("TOPIC #OnlyOnB :set on B")
    bob.expect("TOPIC")

    def topic_on_a():  # a room new on A takes the topic B announced
        carol = registered(a_srv.addr("chat"), "carol")
        carol.send("JOIN #onlyonb")
        got = carol.expect("332", timeout=1).params[-1]
        carol.send("QUIT")
        carol.closed()
        assert got == "set on B"
    eventually(topic_on_a)
    time.sleep(0.3)  # carol's QUIT reaches B before the LIST below

    def listed():
        alice.send("LIST")
        alice.expect("321")
        rooms = {}
        while True:
            m = alice._read_line(time.monotonic() + 5)
            if m.cmd == "322":
                rooms[m.params[1]] = m.params[2]
            elif m.cmd == "323":
                break
        assert rooms == {"#room": "2", "#OnlyOnB": "1"}, rooms
    eventually(listed)
    bob.send("AWAY :lunch")
    bob.expect("306")

    def away_seen():
        alice.send("PRIVMSG bob :are you there?")
        assert alice.expect("301", "bob", timeout=1).params[-1] == "lunch"
    eventually(away_seen)
    alice.send("ISON bob carol")
    assert alice.expect("303").params[-1] == "bob"
    bob.send("QUIT :bye")
    q = alice.expect("QUIT")
    assert q.nick == "bob" and q.params == ["Quit: bye"]

    def bob_free_on_a():  # free on A too once bob quit on B (the delete is not awaited)
        p = Peer(a_srv.addr("chat"))
        p.send("NICK bob", "USER b 0 * :B")
        p.expect("001", timeout=2)
    eventually(bob_free_on_a)


def _assert_eq(got, want):
    assert got == want, (got, want)
    return True


def test_nats_restart_local_goes_on_remote_resumes(serve, nats):
    a_srv, b_srv = relay(serve, nats), relay(serve, nats)
    alice = registered(a_srv.addr("chat"), "alice")
    carol = registered(a_srv.addr("chat"), "carol")
    bob = registered(b_srv.addr("chat"), "bob")
    for p in (alice, carol, bob):
        p.send("JOIN #room")
        p.expect("366")
    bob.send("PRIVMSG #room :before")
    assert alice.expect("PRIVMSG").params[-1] == "before"

    nats.stop()
    wait_log(a_srv, "NATS: disconnected")
    wait_log(b_srv, "NATS: disconnected")
    carol.send("PRIVMSG #room :local while NATS is down")
    assert alice.expect("PRIVMSG").params[-1] == "local while NATS is down"

    nats.start()
    wait_log(a_srv, "NATS: connected", count=2, timeout=15)
    wait_log(b_srv, "NATS: connected", count=2, timeout=15)

    def flows():
        bob.send("PRIVMSG #room :after")
        m = alice.expect("PRIVMSG", timeout=1)
        assert m.params[-1] == "after"
    eventually(flows, timeout=15)
    alice.send("PRIVMSG bob :dm after restart")
    assert bob.expect("PRIVMSG").params[-1] == "dm after restart"


def test_killed_relay_frees_its_nicks_within_ttl(serve, nats):
    a_srv, b_srv = relay(serve, nats), relay(serve, nats)
    alice = registered(a_srv.addr("chat"), "alice")  # kept open until A dies
    watcher = registered(b_srv.addr("chat"), "watcher")
    for peer in (alice, watcher):
        peer.send("JOIN #room")
        peer.expect("366")
    eventually(lambda: _assert_eq(names_of(watcher, "#room"), ["alice", "watcher"]))
    p = Peer(b_srv.addr("chat"))

    def taken():
        p.send("NICK alice")
        p.expect("433", timeout=2)
    eventually(taken)
    a_srv.proc.send_signal(signal.SIGKILL)
    a_srv.proc.wait()
    killed = time.monotonic()
    p.register("someone")
    freed = None
    while time.monotonic() - killed < NICK_TTL * 3 + 5:
        p.send("NICK alice")
        m = p._read_line(time.monotonic() + 2)
        if m.cmd == "NICK":
            freed = time.monotonic() - killed
            break
        assert m.cmd == "433", m
        time.sleep(0.3)
    assert freed is not None, "alice was never freed"
    assert freed <= NICK_TTL * 2 + 2, freed  # the TTL, plus JetStream's expiry scan
    alice.close()
    # B forgets A's users once A's heartbeat is missing for the TTL: a QUIT for its rooms
    q = watcher.expect("QUIT", timeout=NICK_TTL * 3 + 5)
    assert q.nick == "alice" and q.params == ["Instance lost"]
    assert names_of(watcher, "#room") == ["watcher"]


def test_history_and_offline_dms_are_shared(serve, nats):
    a_srv, b_srv = relay(serve, nats), relay(serve, nats)
    a_addr, b_addr = a_srv.addr("chat"), b_srv.addr("chat")
    alice = registered(a_addr, "alice")
    alice.send("JOIN #log")
    alice.expect("366")
    for i in range(3):
        alice.send(f"PRIVMSG #log :line {i}")

    def replayed_on_b():  # B never saw #log: the lines come from JetStream
        p = registered(b_addr, "reader")
        p.send("JOIN #log")
        p.expect("366")
        got = [m.params[-1] for m in p.quiet(0.5) if m.cmd == "PRIVMSG"]
        p.send("QUIT")
        p.closed()
        assert got == ["line 0", "line 1", "line 2"], got
    eventually(replayed_on_b)

    bob = registered(b_addr, "bob")
    bob.send("QUIT")
    bob.closed()
    time.sleep(0.3)
    alice.send("PRIVMSG bob :kept in JetStream")
    assert "offline" in alice.expect("NOTICE").params[-1]
    bob_on_a = registered(a_addr, "bob")  # back, on the other relay
    m = bob_on_a.expect("PRIVMSG")
    assert m.nick == "alice" and m.params[-1].endswith("] kept in JetStream")
    bob_on_a.send("QUIT")
    bob_on_a.closed()

    def back_on_b():  # once B has seen the QUIT: presence spreads asynchronously
        p = Peer(b_addr)
        p.send("NICK bob", "USER b 0 * :B")
        p.expect("001", timeout=2)
        return p
    again = eventually(back_on_b)
    assert not [x for x in again.quiet(0.5) if x.cmd == "PRIVMSG"]  # delivered only once
