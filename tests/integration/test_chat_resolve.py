"""chat /to HOST:PORT and the contact book: an address is used at once, a host name is looked
up off the event loop (src/resolve_async.c), so incoming messages still show while a slow DNS
server thinks, the lines typed meanwhile go, in order, to the new recipient, and a contact
whose name does not resolve keeps the user from no one else."""
import os
import re
import shlex
import socket
import time

import pytest

from conftest import SANITIZER_MARKS, SHIMS, WRAPPER, preload_env, run_sockit
from test_chat import peers, tmux  # noqa: F401 (fixtures)

SLOW_MS = 8000 if WRAPPER else 4000  # well past a start-up, valgrind's too


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


# ---- the contact book: host names are looked up in the background, after startup ----

def write_book(tmp_path, text):
    book = tmp_path / "contacts"
    book.write_text(text, encoding="utf-8")
    return book


def slow_env(ms=SLOW_MS):
    """slow.test answers after ms; no-such-host.invalid fails at once, not after however long
    the machine's resolver takes."""
    return preload_env("slow_dns", SOCKIT_SLOW_NAME="slow.test", SOCKIT_SLOW_MS=str(ms),
                       SOCKIT_FAIL_NAME="no-such-host.invalid")


def test_a_slow_contact_holds_up_neither_startup_nor_the_others(peers, tmp_path):  # noqa: F811
    with udp_receiver() as quick, udp_receiver() as slow:
        slow_port = slow.getsockname()[1]
        book = write_book(tmp_path, f"slowpoke udp:slow.test:{slow_port}\n"
                                    f"quick udp:127.0.0.1:{quick.getsockname()[1]}\n")
        start = time.monotonic()
        chat = peers("--contacts", str(book), "--linger", "0.2", env=slow_env())
        up = time.monotonic() - start
        chat.send("/to quick\nat once\n")
        assert quick.recv(100) == b"at once"
        delivered = time.monotonic() - start
        slow.sendto(b"too early", chat.addr)  # slow.test is still being looked up
        early = chat.wait_out(rb"too early")
        early_at = time.monotonic() - start
        time.sleep(max(0.0, up + SLOW_MS / 1000 + 1 - (time.monotonic() - start)))
        slow.sendto(b"now known", chat.addr)
        known = chat.wait_out(rb"now known")
        chat.finish()
    assert up < SLOW_MS / 1000 / 2, f"listening {up:.1f} s after start: startup waited"
    assert delivered < SLOW_MS / 1000 / 2, f"delivered {delivered:.1f} s after start"
    assert early_at < SLOW_MS / 1000 * 0.9, early_at
    assert early == f"127.0.0.1:{slow_port}: too early\n".encode()
    assert known == b"slowpoke: now known\n"


# s1 is being looked up when chosen; s4 waits for its turn behind s1-s3 (the book looks up
# three at a time), so choosing it must start its lookup at once rather than after theirs.
@pytest.mark.parametrize("chosen", ["s1", "s4"])
def test_lines_for_a_contact_being_looked_up_wait_for_it_in_order(peers, tmp_path,  # noqa: F811
                                                                  chosen):
    with udp_receiver() as r, udp_receiver() as other:
        book = write_book(tmp_path, "".join(
            f"s{i} udp:slow.test:{(r if f's{i}' == chosen else other).getsockname()[1]}\n"
            for i in range(1, 5)))
        start = time.monotonic()
        chat = peers("--contacts", str(book), "--linger", "0.2", env=slow_env())
        chat.send(f"/to {chosen}\nfirst\nsecond\n")
        chat.proc.stdin.close()  # the end of input waits for the answer too
        got = [r.recv(100)]
        arrived = time.monotonic() - start
        got.append(r.recv(100))
        _, err = chat.finish(timeout=SLOW_MS / 1000 * 3)
    assert got == [b"first", b"second"]
    assert SLOW_MS / 1000 * 0.9 < arrived < SLOW_MS / 1000 * 1.9, f"sent after {arrived:.1f} s"
    assert b"contact" not in err, err


def test_a_contact_that_does_not_resolve_is_a_notice_not_an_exit(peers, tmp_path):  # noqa: F811
    notice = rb"sockit: contact 'ghost': resolve udp:no-such-host\.invalid:9: "
    with udp_receiver() as r:
        book = write_book(tmp_path, f"ghost udp:no-such-host.invalid:9\n"
                                    f"friend udp:127.0.0.1:{r.getsockname()[1]}\n")
        chat = peers("--contacts", str(book), "--linger", "0.2", env=slow_env())
        chat.wait_err(notice)
        chat.send("/to friend\nhello friend\n/to ghost\nstill to friend\n")
        got = [r.recv(100), r.recv(100)]
        _, err = chat.finish()  # exit 0
    assert got == [b"hello friend", b"still to friend"]
    assert len(re.findall(notice, err)) == 2, err  # choosing ghost looked it up again


def test_to_a_contact_with_a_host_name_is_looked_up_before_the_socket(peers, tmp_path):  # noqa: F811
    with udp_receiver() as r:
        book = write_book(tmp_path, f"ghost udp:no-such-host.invalid:9\n"
                                    f"slowpoke udp:slow.test:{r.getsockname()[1]}\n")
        res = run_sockit("chat", "--contacts", str(book), "--to", "ghost", input=b"",
                         env=slow_env())
        assert res.returncode == 64
        assert re.match(rb"sockit: contact 'ghost': resolve udp:no-such-host\.invalid:9: ",
                        res.stderr), res.stderr
        start = time.monotonic()
        chat = peers("--contacts", str(book), "--to", "slowpoke", "--linger", "0.2",
                     env=slow_env(1000))
        up = time.monotonic() - start
        chat.send("hello slowpoke\n")
        assert r.recv(100) == b"hello slowpoke"
        chat.finish()
    assert up > 0.9, f"listening after {up:.1f} s: --to's contact was not looked up first"


def test_choosing_a_contact_being_looked_up_on_a_terminal(tmux, tmp_path):  # noqa: F811
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in {
        "LD_PRELOAD": str(SHIMS / "slow_dns.so"), "SOCKIT_SLOW_NAME": "slow.test",
        "SOCKIT_SLOW_MS": str(SLOW_MS),
        "ASAN_OPTIONS": f"{asan}:verify_asan_link_order=0".lstrip(":")}.items())
    with udp_receiver() as r:
        book = write_book(tmp_path, f"slowpoke udp:slow.test:{r.getsockname()[1]}\n")
        start = time.monotonic()
        tmux.start("a", ["--contacts", str(book)], env=env)
        tmux.wait("a", r"Choose a contact: ?$")
        tmux.keys("a", "slowpoke", "Enter")
        tmux.wait("a", r"Looking up slowpoke\.\.\. ?$")
        tmux.keys("a", "held", "Enter")
        assert r.recv(100) == b"held"
        arrived = time.monotonic() - start
        tmux.wait("a", r"Message \(Enter to send\): ?$")
        tmux.keys("a", "/quit", "Enter")
        tmux.wait("a", r"EXIT=0")
    assert arrived > SLOW_MS / 1000 * 0.9, f"sent after {arrived:.1f} s, before the answer"
    assert not any(m in tmux.screen("a") for m in SANITIZER_MARKS)


def test_contacts_says_which_host_names_are_not_known_yet(peers, tmp_path):  # noqa: F811
    # three lookups at a time in book order: ghost fails at once, so s3 takes its place
    # and s4 still waits
    book = write_book(tmp_path, "friend udp:127.0.0.1:9\nghost udp:no-such-host.invalid:9\n" +
                      "".join(f"s{i} udp:slow.test:9\n" for i in range(1, 5)))
    chat = peers("--contacts", str(book), "--linger", "0", env=slow_env())
    chat.wait_err(rb"sockit: contact 'ghost': ")
    chat.send("/contacts\n")
    chat.wait_err(rb"^s4 ")
    chat.kill()
    # (plain mode prompts on stderr, as the seed's input() does: other lines are there too)
    listed = [l for l in chat.err_lines if l and re.match(rb"(friend|ghost|s\d) ", l)]
    assert listed == [b"friend udp:127.0.0.1:9\n",
                      b"ghost udp:no-such-host.invalid:9 (lookup failed)\n",
                      b"s1 udp:slow.test:9 (looking up)\n",
                      b"s2 udp:slow.test:9 (looking up)\n",
                      b"s3 udp:slow.test:9 (looking up)\n",
                      b"s4 udp:slow.test:9 (not looked up yet)\n"], chat.err_lines


def test_a_held_quit_ends_the_chat_and_what_follows_it_is_not_sent(peers, tmp_path):  # noqa: F811
    with udp_receiver() as r:
        book = write_book(tmp_path, f"slowpoke udp:slow.test:{r.getsockname()[1]}\n")
        chat = peers("--contacts", str(book), "--linger", "5", env=slow_env(1000))
        chat.send("/to slowpoke\nbefore\n/quit\nafter\n")  # stdin stays open: /quit ends it
        assert r.recv(100) == b"before"
        assert chat.proc.wait(timeout=10) == 0
        r.settimeout(0.5)
        with pytest.raises(socket.timeout):
            print("sent after /quit:", r.recv(100))
