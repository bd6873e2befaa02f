"""The chat relay over raw sockets: registration, every error numeric, rooms, DMs, history,
offline messages, keepalive, flood control, long lines and a 1,000-member broadcast."""
import re
import selectors
import socket
import threading
import time

import pytest

from ircpeer import Peer, registered


@pytest.fixture
def relay(serve):
    def start(*args):
        return serve("--chat", "tcp:127.0.0.1:0", *args).addr("chat")
    return start


@pytest.fixture
def addr(relay):
    return relay()


def test_welcome_isupport_and_motd(addr):
    p = Peer(addr)
    p.send("NICK alice", "USER al 0 * :Alice Liddell")
    welcome = p.expect("001")
    assert welcome.params[0] == "alice"
    assert "alice!al@127.0.0.1" in welcome.params[-1]
    for num in ("002", "003", "004"):
        p.expect(num)
    isupport = p.expect("005")
    tokens = isupport.params[1:-1]
    assert "CASEMAPPING=rfc1459" in tokens
    assert "CHANTYPES=#" in tokens
    assert "NICKLEN=30" in tokens
    p.expect("375")
    p.expect("372")
    p.expect("376")


def test_cap_negotiation_holds_registration_and_tags_messages(addr):
    p = Peer(addr)
    p.send("CAP LS 302", "NICK tagged", "USER t 0 * :T")
    ls = p.expect("CAP")
    assert ls.params[:2] == ["*", "LS"]
    assert set(ls.params[2].split()) == {"server-time", "message-tags"}
    assert not [m for m in p.quiet(0.3) if m.cmd == "001"]  # held until CAP END
    p.send("CAP REQ :server-time bogus-cap")
    assert p.expect("CAP").params[1] == "NAK"
    p.send("CAP REQ :server-time message-tags")
    ack = p.expect("CAP")
    assert ack.params[1:] == ["ACK", "server-time message-tags"]
    p.send("CAP END")
    m = p.expect("001")
    assert re.fullmatch(r"time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", m.tags)
    p.send("CAP LIST")
    assert p.expect("CAP").params[1:] == ["LIST", "server-time message-tags"]


def test_registration_numerics(addr):
    p = Peer(addr)
    p.send("JOIN #x")
    p.expect("451")
    p.send("NICK")
    p.expect("431")
    p.send("NICK 9bad")
    p.expect("432", "9bad")
    p.send("NICK a,b")
    p.expect("432")
    p.send("USER onlyone")
    p.expect("461", "USER")
    p.send("NICK good", "USER u 0 * :R")
    p.expect("001")
    p.send("USER u 0 * :R")
    p.expect("462")


def test_nick_collision_is_433_with_case_mapping(addr):
    holder = registered(addr, "Alice[1]")
    p = Peer(addr)
    p.send("NICK alice{1}")
    p.expect("433", "alice{1}")
    p.send("NICK ALICE[1]")
    p.expect("433")
    p.register("alice2")
    p.send("NICK alice{1}")
    p.expect("433")
    holder.send("PING :x")
    holder.expect("PONG")


def test_command_numerics_and_connection_stays(addr):
    a = registered(addr, "alice")
    b = registered(addr, "bob")
    b.send("JOIN #bobs")
    b.expect("366")
    a.send("FROB x")
    a.expect("421", "FROB")
    a.send("PRIVMSG")
    a.expect("411")
    a.send("PRIVMSG bob")
    a.expect("412")
    a.send("PRIVMSG nobody :hi")
    a.expect("401", "nobody")
    a.send("PRIVMSG #nowhere :hi")
    a.expect("403", "#nowhere")
    a.send("PRIVMSG #bobs :let me in")  # +n: not a member
    a.expect("404", "#bobs")
    a.send("PART #bobs")
    a.expect("442", "#bobs")
    a.send("PART #nowhere")
    a.expect("403", "#nowhere")
    a.send("JOIN")
    a.expect("461", "JOIN")
    a.send("TOPIC #bobs :mine now")
    a.expect("442", "#bobs")
    a.send("JOIN bad-name")
    a.expect("403", "bad-name")
    a.send("WHOIS ghost")
    a.expect("401", "ghost")
    a.expect("318", "ghost")
    a.send("PING :still-here")
    assert a.expect("PONG").params[-1] == "still-here"


def test_over_long_line_is_417_and_connection_stays(addr):
    a = registered(addr, "longer")
    a.send("PRIVMSG longer :" + "x" * 600)
    a.expect("417")
    a.send("PRIVMSG longer :" + "y" * 20000)  # past the stream's line limit too
    a.expect("417")
    a.send("PING :after")
    assert a.expect("PONG").params[-1] == "after"


def test_rooms_messages_names_topic_list(addr):
    a = registered(addr, "alice", real="Alice A")
    b = registered(addr, "bob")
    a.send("JOIN #room,#other")
    a.expect("JOIN")
    names = a.expect("353")
    assert names.params[-2:] == ["#room", "alice"]
    a.expect("366", "#other")
    b.send("JOIN #ROOM")
    join = a.expect("JOIN")
    assert join.nick == "bob" and join.params == ["#room"]
    b_names = b.expect("353")
    assert sorted(b_names.params[-1].split()) == ["alice", "bob"]
    b.send("PRIVMSG #room :hello, 世界")
    m = a.expect("PRIVMSG")
    assert m.prefix.startswith("bob!") and m.params == ["#room", "hello, 世界"]
    b.send("NOTICE #room :a notice")
    assert a.expect("NOTICE").params == ["#room", "a notice"]
    a.send("TOPIC #room :Talk here")
    assert b.expect("TOPIC").params == ["#room", "Talk here"]
    b.send("TOPIC #room")
    assert b.expect("332").params[-1] == "Talk here"
    b.expect("333", "#room", "alice")
    b.send("TOPIC #other")
    b.expect("331", "#other")
    b.send("NAMES #room")
    assert sorted(b.expect("353").params[-1].split()) == ["alice", "bob"]
    b.expect("366", "#room")
    b.send("LIST")
    b.expect("321")
    rooms = {}
    while True:
        m = b.expect("322")
        rooms[m.params[1]] = (m.params[2], m.params[3])
        if len(rooms) == 2:
            break
    assert rooms == {"#room": ("2", "Talk here"), "#other": ("1", "")}
    b.expect("323")
    b.send("PART #room :bye now")
    part = a.expect("PART")
    assert part.nick == "bob" and part.params == ["#room", "bye now"]
    b.send("PRIVMSG #room :gone")
    b.expect("404")


def test_queries_who_whois_ison_away_mode(addr):
    a = registered(addr, "alice", user="al", real="Alice A")
    b = registered(addr, "bob")
    a.send("JOIN #room")
    a.expect("366")
    b.send("WHO #room")
    who = b.expect("352")
    assert who.params[1:] == ["#room", "al", "127.0.0.1", "sockit.relay", "alice", "H", "0 Alice A"]
    b.expect("315", "#room")
    b.send("WHOIS alice")
    assert b.expect("311").params[1:] == ["alice", "al", "127.0.0.1", "*", "Alice A"]
    assert b.expect("319").params[-1] == "#room"
    b.expect("318", "alice")
    b.send("ISON alice carol bob")
    assert b.expect("303").params[-1] == "alice bob"
    a.send("AWAY :at lunch")
    a.expect("306")
    b.send("PRIVMSG alice :you there?")
    assert b.expect("301", "alice").params[-1] == "at lunch"
    b.send("WHO alice")
    assert b.expect("352").params[6] == "G"
    a.send("AWAY")
    a.expect("305")
    a.send("MODE #room")
    assert a.expect("324").params[1:] == ["#room", "+n"]
    a.send("MODE #room b")
    a.expect("368", "#room")
    a.send("MODE #room +m")
    a.expect("482", "#room")
    a.send("MODE alice +i")
    a.expect("221")
    a.send("MODE bob")
    a.expect("502")
    a.send("MODE #none")
    a.expect("403", "#none")


def test_direct_messages_and_nick_change(addr):
    a = registered(addr, "alice")
    b = registered(addr, "bob")
    a.send("JOIN #r")
    a.expect("366")
    b.send("JOIN #r")
    b.expect("366")
    a.send("PRIVMSG BOB :psst")
    m = b.expect("PRIVMSG")
    assert m.nick == "alice" and m.params == ["bob", "psst"]
    b.send("NICK robert")
    assert b.expect("NICK").params == ["robert"]
    m = a.expect("NICK")
    assert m.nick == "bob" and m.params == ["robert"]
    a.send("PRIVMSG robert :again")
    assert b.expect("PRIVMSG").params == ["robert", "again"]


def test_quit_is_seen_by_room_and_frees_nick(addr):
    a = registered(addr, "alice")
    b = registered(addr, "bob")
    for p in (a, b):
        p.send("JOIN #r")
        p.expect("366")
    b.send("QUIT :see you")
    assert b.expect("ERROR").params[0].endswith("(Quit: see you)")
    q = a.expect("QUIT")
    assert q.nick == "bob" and q.params == ["Quit: see you"]
    registered(addr, "bob")  # free again at once


def test_closed_connection_is_a_quit(addr):
    a = registered(addr, "alice")
    b = registered(addr, "bob")
    for p in (a, b):
        p.send("JOIN #r")
        p.expect("366")
    b.close()
    assert a.expect("QUIT").nick == "bob"


def test_offline_dm_delivered_on_return(addr):
    b = registered(addr, "bob")
    b.send("QUIT")
    b.closed()
    a = registered(addr, "alice")
    a.send("PRIVMSG bob :first", "PRIVMSG bob :second")
    note = a.expect("NOTICE")
    assert "bob is offline" in note.params[-1]
    a.send("PRIVMSG neverseen :x")
    a.expect("401", "neverseen")
    b2 = registered(addr, "Bob")
    b2.expect("NOTICE")
    first = b2.expect("PRIVMSG")
    assert first.nick == "alice"
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] first", first.params[-1])
    assert b2.expect("PRIVMSG").params[-1].endswith("] second")
    # With server-time the time is a tag and the text is untouched; delivered only once.
    b2.send("QUIT")
    b2.closed()
    a.send("PRIVMSG bob :third")
    a.expect("NOTICE")
    b3 = Peer(addr)
    b3.send("CAP LS", "CAP REQ :server-time", "NICK bob", "USER b 0 * :B", "CAP END")
    m = b3.expect("PRIVMSG")
    assert m.params == ["bob", "third"] and m.tags.startswith("time=")
    assert not [x for x in b3.quiet(0.3) if x.cmd == "PRIVMSG"]


def test_offline_queue_is_bounded(relay):
    addr = relay("--offline-max", "2")
    registered(addr, "bob").send("QUIT")
    time.sleep(0.2)
    a = registered(addr, "alice")
    for i in range(3):
        a.send(f"PRIVMSG bob :m{i}")
    notes = [a.expect("NOTICE").params[-1] for _ in range(3)]
    assert "not kept" in notes[2] and "delivered" in notes[0]
    b = registered(addr, "bob")
    got = [b.expect("PRIVMSG").params[-1][-2:] for _ in range(2)]
    assert got == ["m0", "m1"]


def test_history_replayed_on_join(relay):
    addr = relay("--history", "3")
    a = registered(addr, "alice")
    a.send("JOIN #log")
    a.expect("366")
    for i in range(5):
        a.send(f"PRIVMSG #log :line {i}")
    a.send("PING :sync")
    a.expect("PONG")
    b = Peer(addr)
    b.send("CAP LS", "CAP REQ :server-time", "NICK bob", "USER b 0 * :B", "CAP END", "JOIN #log")
    b.expect("366")
    got = [b.expect("PRIVMSG") for _ in range(3)]
    assert [m.params[-1] for m in got] == ["line 2", "line 3", "line 4"]
    assert all(m.nick == "alice" and m.tags.startswith("time=") for m in got)
    c = registered(addr, "carol")
    c.send("JOIN #log")
    assert c.expect("PRIVMSG").tags is None  # no server-time: no tags


def test_server_pings_idle_client_then_drops_it(relay):
    addr = relay("--ping-interval", "0.5", "--ping-timeout", "1")
    alive = registered(addr, "alive")
    start = time.monotonic()  # before silent's last line: the drop is >= 1.5 s after it
    silent = registered(addr, "silent")
    # The one that answers (quiet() answers PINGs, like a client) stays.
    answering = threading.Thread(target=alive.quiet, args=(3,))
    answering.start()
    silent.auto_pong = False
    silent.expect("PING")
    err = silent.expect("ERROR")
    assert "Ping timeout" in err.params[-1]
    assert 1.5 <= time.monotonic() - start < 8
    assert silent.closed()
    answering.join()
    assert sum(m.cmd == "PING" for m in alive.seen) >= 2
    alive.send("PING :ok")
    assert alive.expect("PONG").params[-1] == "ok"


def test_flood_control_queues_then_disconnects(relay):
    addr = relay("--flood-rate", "5", "--flood-burst", "5")
    a = registered(addr, "alice")
    b = registered(addr, "bob")
    time.sleep(1.2)  # refill the bucket after registration
    start = time.monotonic()
    a.send(*[f"PRIVMSG bob :m{i}" for i in range(10)])
    got = [b.expect("PRIVMSG").params[-1] for _ in range(10)]
    assert got == [f"m{i}" for i in range(10)]  # queued, in order, nothing lost
    assert time.monotonic() - start >= 0.6  # the last 5 waited for tokens
    a.send(*[f"PRIVMSG bob :{'z' * 400}" for _ in range(60)])  # past the 8 KiB queue
    err = a.expect("ERROR")
    assert "Excess Flood" in err.params[-1]
    assert a.closed()


def test_thousand_members_all_receive_a_broadcast(relay):
    addr = relay("--flood-rate", "0")
    n = 1000
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        s = socket.create_connection(addr)
        s.setblocking(False)
        s.sendall(f"NICK m{i}\r\nUSER u 0 * :R\r\nJOIN #big\r\n".encode())
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    bufs = [b""] * n
    joined = set()
    got = set()

    def pump(until, deadline):
        while not until() and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                i = key.data
                try:
                    data = key.fileobj.recv(262144)
                except BlockingIOError:
                    continue
                assert data, f"member {i} was disconnected"
                bufs[i] += data
                lines = bufs[i].split(b"\r\n")
                bufs[i] = lines.pop()
                for line in lines:
                    if b" 366 " in line:
                        joined.add(i)
                    elif b" PRIVMSG #big :to all members" in line:
                        got.add(i)

    pump(lambda: len(joined) == n, time.monotonic() + 60)
    assert len(joined) == n
    start = time.monotonic()
    socks[0].sendall(b"PRIVMSG #big :to all members\r\n")
    pump(lambda: len(got) == n - 1, time.monotonic() + 30)
    assert len(got) == n - 1 and 0 not in got
    assert time.monotonic() - start < 10
    for s in socks:
        s.close()


def test_slow_reader_is_dropped_without_stalling_the_room(serve):
    addr = serve("--chat", "tcp:127.0.0.1:0", "--flood-rate", "0",
                 "--output-cap", "4096").addr("chat")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(addr)
    slow.sendall(b"NICK slow\r\nUSER s 0 * :S\r\nJOIN #r\r\n")  # and never reads again
    fast = registered(addr, "fast")
    talker = registered(addr, "talker")
    for p in (fast, talker):
        p.send("JOIN #r")
        p.expect("366")
    text = "x" * 400
    n = 0
    quit_seen = False
    deadline = time.monotonic() + 30
    while not quit_seen and time.monotonic() < deadline:
        talker.send(*[f"PRIVMSG #r :{i} {text}" for i in range(n, n + 200)])
        n += 200
        while True:  # the fast reader gets every message, in order
            m = fast.expect("PRIVMSG", "#r") if not quit_seen else None
            if m is None:
                break
            assert m.params[1].split()[0] == str(len([x for x in fast.seen if x.cmd == "PRIVMSG"]) - 1)
            if m.params[1].startswith(f"{n - 1} "):
                break
        quit_seen = any(x.cmd == "QUIT" and x.nick == "slow" for x in fast.seen)
    assert quit_seen, "the slow reader was never dropped"
    talker.send("PRIVMSG #r :after")
    assert fast.expect("PRIVMSG").params[1] == "after"
    slow.close()
