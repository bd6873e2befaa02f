"""`sockit bench`: replies are verified, counts are exact, --json parses, threads work."""
import json

from conftest import assert_usage_error, run_sockit


def bench(*args, timeout=30):
    return run_sockit("bench", *args, timeout=timeout)


def as_json(res):
    assert res.stdout.count(b"\n") == 1, res.stdout
    return json.loads(res.stdout)


def test_count_is_exact_over_tcp(echo_server):
    res = bench("--count", "1000", "--conns", "3", "--depth", "4", "--json",
                echo_server.spec("echo", "tcp"))
    assert res.returncode == 0, res.stderr
    r = as_json(res)
    assert r["messages"] == 1000
    assert r["mismatches"] == 0 and r["timeouts"] == 0 and r["errors"] == 0
    assert r["transport"] == "tcp" and r["conns"] == 3 and r["depth"] == 4 and r["size"] == 64
    lat = r["latency_us"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]
    assert r["msgs_per_s"] > 0 and r["mb_per_s"] > 0
    assert 0 <= r["client_busy"] <= 1.5  # CPU time over run time (rounding can pass 1)
    assert 0 <= r["client_polling"] <= 1.01


def test_count_is_exact_over_udp_with_threads(echo_server):
    res = bench("-n", "777", "-c", "4", "-d", "3", "-T", "2", "--json",
                echo_server.spec("echo", "udp"))
    assert res.returncode == 0, res.stderr
    r = as_json(res)
    assert r["threads"] == 2
    # udp may lose a datagram on a loaded box; a lost one is a timeout and fails the run
    assert r["messages"] == 777


def test_unix_and_large_messages(serve, tmp_path):
    path = tmp_path / "e.sock"
    srv = serve("--echo", f"unix:{path}", expect=1)
    res = bench("-n", "50", "--size", "200000", "--depth", "2", "--json", f"unix:{path}")
    assert res.returncode == 0, res.stderr
    r = as_json(res)
    assert r["messages"] == 50 and r["mismatches"] == 0
    srv.stop()


def test_duration_mode_runs_and_stops(echo_server):
    res = bench("--duration", "0.5", "-c", "2", "--json", echo_server.spec("echo", "tcp"))
    assert res.returncode == 0, res.stderr
    r = as_json(res)
    assert r["messages"] > 10
    assert 0.4 < r["seconds"] < 5


def test_plain_server_without_plain_is_mismatch(serve):
    srv = serve("--plain", "--echo", "tcp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", expect=2)
    for spec in (srv.spec("echo", "tcp"), srv.spec("echo", "udp")):
        res = bench("-n", "20", "--json", spec)
        assert res.returncode == 65, res.stderr
        r = as_json(res)
        assert r["mismatches"] == 20, r
        assert b"did not match" in res.stderr
        # the same server is right with --plain
        res = bench("-n", "20", "--plain", "--json", spec)
        assert res.returncode == 0, res.stderr
        assert as_json(res)["mismatches"] == 0


def test_uppercase_server_with_plain_is_mismatch(echo_server):
    res = bench("-n", "10", "-d", "2", "--plain", echo_server.spec("echo", "udp"))
    assert res.returncode == 65
    assert b"10 mismatches" in res.stdout


def test_silent_udp_peer_is_timeouts(tmp_path):
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:  # bound, never answers
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        res = bench("-n", "3", "-d", "3", "--timeout", "0.3", "--json", f"udp:127.0.0.1:{port}")
    assert res.returncode == 65, res.stderr
    assert as_json(res)["timeouts"] == 3
    assert b"no reply within 0.3 s" in res.stderr


def test_non_echo_stream_peer_fails(tmp_path):
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def talk():  # answers each message with more bytes than it got
        c, _ = srv.accept()
        c.recv(100)
        c.sendall(b"X" * 200)
        c.recv(100)
        c.close()

    t = threading.Thread(target=talk, daemon=True)
    t.start()
    res = bench("-n", "5", f"tcp:127.0.0.1:{srv.getsockname()[1]}")
    t.join(5)
    srv.close()
    assert res.returncode != 0
    assert b"mismatches" in res.stdout


def test_refused_is_one_clear_line():
    res = bench("-n", "5", "tcp:127.0.0.1:1")
    assert res.returncode == 69
    assert res.stderr == b"sockit: connect tcp:127.0.0.1:1: Connection refused\n"


def test_human_output_and_no_progress_line_off_terminal(echo_server):
    res = bench("-n", "200", echo_server.spec("echo", "tcp"))
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    for word in ("msgs/s", "MB/s", "p50", "p90", "p99", "p99.9", "max", "0 mismatches", "% busy"):
        assert word in out, out
    assert b"\r" not in res.stderr and b"\r" not in res.stdout


def test_bad_options_are_usage_errors():
    for args in (["--conns", "0"], ["--depth", "x"], ["--proto", "nope"],
                 ["--size", "70000", "udp:127.0.0.1:9"], ["--count", "2", "--conns", "3"]):
        res = bench(*args)
        assert res.returncode == 64, args
        assert res.stderr.startswith(b"sockit: "), res.stderr


def test_numbers_out_of_range_name_the_option_and_the_range():
    for opt, value, low, high in (("--conns", "0", 1, 100000), ("--depth", "x", 1, 1024),
                                  ("--threads", "-1", 1, 64), ("--size", "1e3", 1, 1048576),
                                  ("--count", " 5", 1, 2**63 - 1)):
        assert_usage_error("bench", [opt, value], f"{opt}: expected {low}-{high}, got '{value}'")


def test_sntp_proto_checks_replies(serve):
    srv = serve("--sntp", "udp:127.0.0.1:0", "--echo", "udp:127.0.0.1:0", expect=2)
    res = bench("--proto", "sntp", "-n", "300", "-d", "4", "--json", srv.spec("sntp", "udp"))
    assert res.returncode == 0, res.stderr
    r = as_json(res)
    assert r["proto"] == "sntp" and r["messages"] == 300 and r["size"] == 48
    # an echo server sends the request back: mode 3, not an answer
    res = bench("--proto", "sntp", "-n", "5", "--json", srv.spec("echo", "udp"))
    assert res.returncode == 65
    assert as_json(res)["mismatches"] == 5


def test_sntp_against_chronyd(tmp_path):
    import subprocess
    import time
    from conftest import free_port, need
    chronyd = need("chronyd")
    port = free_port(socket_kind_udp())
    conf = tmp_path / "chrony.conf"
    conf.write_text(f"port {port}\nbindaddress 127.0.0.1\nlocal stratum 10\nallow 127.0.0.1\n"
                    f"cmdport 0\npidfile {tmp_path}/chronyd.pid\n")
    proc = subprocess.Popen([chronyd, "-d", "-x", "-u", "root", "-f", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:  # chronyd needs a moment to bind
            res = bench("--proto", "sntp", "-n", "50", "-t", "0.5", "--json",
                        f"udp:127.0.0.1:{port}")
            if res.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert res.returncode == 0, res.stderr
        assert as_json(res)["messages"] == 50
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def socket_kind_udp():
    import socket
    return socket.SOCK_DGRAM


def test_ctrl_c_ends_early_with_a_report(echo_server):
    import signal
    import subprocess
    import time
    from conftest import SOCKIT
    p = subprocess.Popen([SOCKIT, "bench", "--duration", "60", "--json",
                          echo_server.spec("echo", "tcp")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.7)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    r = json.loads(out)
    assert r["messages"] > 0 and r["seconds"] < 30


def test_progress_line_only_on_a_terminal(echo_server):
    import pexpect
    from conftest import SOCKIT
    child = pexpect.spawn(SOCKIT, ["bench", "--duration", "2.5", echo_server.spec("echo", "tcp")],
                          timeout=20)
    child.expect(r"\r\s+1\.\d s\s+\d+ msgs\s+\d+ msgs/s\s+0 problems")
    child.expect(r"msgs/s\s+[\d.]+ MB/s each way")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_time_protocols_over_udp(serve):
    srv = serve("--time", "udp:127.0.0.1:0", "--daytime", "udp:127.0.0.1:0",
                "--rfc868", "udp:127.0.0.1:0", expect=3)
    for proto, service, extra in (("time", "time", ["-d", "4"]), ("daytime", "daytime", []),
                                  ("rfc868", "rfc868", ["-c", "2"])):
        res = bench("--proto", proto, "-n", "200", "--json", *extra, srv.spec(service, "udp"))
        assert res.returncode == 0, (proto, res.stderr)
        r = as_json(res)
        assert r["messages"] == 200 and r["mismatches"] == 0, (proto, r)
    # the wrong service's replies fail the checks
    for proto, service in (("rfc868", "daytime"), ("time", "daytime"), ("daytime", "rfc868")):
        res = bench("--proto", proto, "-n", "20", "--json", srv.spec(service, "udp"))
        assert res.returncode == 65, (proto, service, res.stdout)
        assert as_json(res)["mismatches"] == 20
        assert b"--plain" not in res.stderr


def test_depth_needs_request_ids():
    res = bench("--proto", "daytime", "--depth", "2", "udp:127.0.0.1:9")
    assert res.returncode == 64
    assert b"--depth must be 1" in res.stderr
