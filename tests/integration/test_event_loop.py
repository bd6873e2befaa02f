"""The io_uring event loop: chosen at run time, it really receives through completions, and
where the kernel or a seccomp filter refuses io_uring, sockit falls back to epoll and says
so once."""
import socket
import subprocess
import sys
import time

from conftest import need, run_sockit

# Installs a seccomp filter that fails io_uring_setup with EPERM, then runs the command:
# what a container runtime's default profile does.
NO_URING = r'''
import ctypes, os, struct, sys
NR_IO_URING_SETUP = 425  # x86_64
EPERM = 1
def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)
prog = b"".join([
    insn(0x20, 0, 0, 0),                     # ld [0]: the syscall number
    insn(0x15, 0, 1, NR_IO_URING_SETUP),     # jeq io_uring_setup
    insn(0x06, 0, 0, 0x00050000 | EPERM),    # ret ERRNO(EPERM)
    insn(0x06, 0, 0, 0x7fff0000),            # ret ALLOW
])
buf = ctypes.create_string_buffer(prog)
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(len(prog) // 8, ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0                         # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0, ctypes.get_errno()  # SECCOMP
os.execv(sys.argv[1], sys.argv[1:])
'''


def echo_both(srv):
    res = run_sockit("echo", srv.spec("echo", "tcp"), "--", "over tcp")
    assert (res.returncode, res.stdout) == (0, b"OVER TCP\n"), res.stderr
    res = run_sockit("echo", srv.spec("echo", "udp"), "--", "over udp")
    assert (res.returncode, res.stdout) == (0, b"OVER UDP\n"), res.stderr


def test_uring_is_chosen_and_serves(serve):
    srv = serve("-v", "--event-loop", "uring", "--echo", "tcp:127.0.0.1:0",
                "--echo", "udp:127.0.0.1:0", expect=2)
    echo_both(srv)
    assert "event loop: uring" in srv.stderr
    assert "unavailable" not in srv.stderr


def test_uring_receives_by_completion_not_by_recv_calls(serve, tmp_path):
    """Under strace: 200 round trips on one connection cost io_uring_enter calls and (almost)
    no recv/recvfrom/recvmmsg: the kernel completed the receives. (Datagram sockets stay on
    readiness, see dgram.c, and are not traced here.)"""
    srv = serve("--event-loop", "uring", "--threads", "1", "--echo", "tcp:127.0.0.1:0")
    out = tmp_path / "strace.txt"
    tracer = subprocess.Popen([need("strace"), "-f", "-qq", "-c", "-o", str(out),
                               "-p", str(srv.proc.pid)], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)  # strace attaches
        host, port = srv.addr("echo", "tcp")
        with socket.create_connection((host, port), timeout=5) as s:
            for i in range(200):
                s.sendall(b"ping %d\n" % i)
                want = b"PING %d\n" % i
                got = b""
                while len(got) < len(want):
                    got += s.recv(100)
                assert got == want
    finally:
        tracer.send_signal(2)
        tracer.wait(timeout=10)
    calls = {}
    for line in out.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[-1].isidentifier() and parts[3].isdigit():
            calls[parts[-1]] = int(parts[3])
    receives = sum(calls.get(n, 0) for n in ("recvfrom", "recvmsg", "recvmmsg", "read"))
    assert calls.get("io_uring_enter", 0) >= 200, calls
    assert receives < 10, calls


def test_refused_uring_falls_back_to_epoll_and_says_so_once(serve, tmp_path):
    launcher = tmp_path / "no_uring.py"
    launcher.write_text(NO_URING)
    srv = serve("-v", "--event-loop", "uring", "--threads", "3", "--echo", "tcp:127.0.0.1:0",
                "--echo", "udp:127.0.0.1:0", expect=2, wrap=[sys.executable, str(launcher)])
    echo_both(srv)
    notes = [l for l in srv.stderr.splitlines() if "io_uring unavailable" in l]
    assert len(notes) == 1, srv.stderr
    assert "Operation not permitted" in notes[0] and "using epoll" in notes[0]
    assert "event loop: epoll" in srv.stderr


def test_unknown_event_loop_is_refused_before_anything_starts():
    res = run_sockit("serve", "--event-loop", "kqueue", "--echo", "tcp:127.0.0.1:0", timeout=10)
    assert res.returncode == 64, res.stderr
    assert b"--event-loop: expected epoll, poll or uring, got 'kqueue'" in res.stderr
    assert b"listening" not in res.stderr
