"""`sockit serve --config FILE`: the example is complete and valid, flags override the file,
and every kind of mistake is one line naming FILE:LINE, the key or value, and what was wanted."""
import re
import socket

from conftest import ROOT, run_sockit

EXAMPLE = ROOT / "etc" / "sockit.conf"
EXIT_CONFIG = 78
NOT_KEYS = {"config", "check-config", "verbose", "help"}


def help_sections():
    """{section: {key: default or None}} from `sockit serve --help`, services as [NAME]."""
    out = run_sockit("serve", "--help").stdout.decode()
    sections, current = {}, None
    for line in out.splitlines():
        if line.startswith("Limits and general options"):
            current = sections.setdefault("serve", {})
            continue
        m = re.match(r"  (?:-\w, )?--([\w-]+)(?: (\S+))?\s+(.*)", line)
        if not m:
            continue
        name, metavar, text = m.groups()
        if name in NOT_KEYS:
            continue
        if metavar == "ADDR" and "repeatable)" in text:  # a service's flag opens its section
            current = sections.setdefault(name, {})
            current["listen"] = None
            continue
        default = re.search(r"\(default: ([^;)]*)\)$", text)
        current[name] = default.group(1) if default else None
    return sections


def example_sections():
    """{section: {key: value}} of the example, commented-out listen lines included."""
    sections, current = {}, None
    for line in EXAMPLE.read_text().splitlines():
        line = re.sub(r"^# (listen = )", r"\1", line)
        if line.startswith(("#", ";")) or not line.strip():
            continue
        m = re.match(r"\[(\S+)\]$", line)
        if m:
            current = sections.setdefault(m.group(1), {})
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        current[key] = value
    return sections


def test_example_is_valid():
    res = run_sockit("serve", "--config", str(EXAMPLE), "--check-config")
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode() == f"{EXAMPLE}: configuration OK\n"


def test_example_has_every_key_with_its_default():
    want, have = help_sections(), example_sections()
    assert set(have) == set(want), "sections differ from `sockit serve --help`"
    for section, keys in want.items():
        missing = set(keys) - set(have[section])
        assert not missing, f"etc/sockit.conf: [{section}] lacks {sorted(missing)}"
        for key, default in keys.items():
            if default is not None:
                assert have[section][key] == default, f"etc/sockit.conf: [{section}] {key}"


def config_error(tmp_path, text, *extra):
    path = tmp_path / "bad.conf"
    path.write_text(text)
    res = run_sockit("serve", "--config", str(path), "--check-config", *extra)
    assert res.returncode == EXIT_CONFIG, res.stderr
    assert res.stdout == b""
    return res.stderr.decode().replace(str(path), "FILE")


def test_error_messages_are_exact(tmp_path):
    cases = {
        "[serve]\nmax-conns\n": "FILE:2: expected 'key = value', got 'max-conns'",
        "[serve\n": "FILE:1: expected '[section]', got '[serve'",
        "# x\n[nope]\n": "FILE:2: unknown section [nope]; expected one of: " + ", ".join(
            f"[{name}]" for name in ["serve", *(n for n in help_sections() if n != "serve")]),
        "udp-rate = 5\n": "FILE:1: key 'udp-rate' is outside any section; "
                          "expected a [section] first",
        "[serve]\n = 5\n": "FILE:2: expected a key before '=', got '= 5'",
        "[echo]\nplian = yes\n": "FILE:2: [echo] unknown key 'plian'; expected one of: "
                                 "listen, plain",
        "[echo]\nplain = maybe\n": "FILE:2: [echo] plain: expected true or false, got 'maybe'",
        "[serve]\nmax-conns = 0\n": "FILE:2: [serve] max-conns: expected a whole number "
                                    "from 1 to 1000000, got '0'",
        "[serve]\noutput-cap = 1T\n": "FILE:2: [serve] output-cap: expected a size from 4096 "
                                      "to 1073741824 bytes (K, M, G suffixes), got '1T'",
        "[serve]\nidle-timeout = soon\n": "FILE:2: [serve] idle-timeout: expected seconds "
                                          "from 0 to 86400, got 'soon'",
        "[echo]\nlisten = nope\n": "FILE:2: [echo] listen: bad address 'nope': expected "
                                   "HOST:PORT, [IPV6]:PORT or unix:/path",
        "[echo]\n\nlisten = tcp:1.2.3.4:99999\n": "FILE:3: [echo] listen: bad address "
                                                 "'tcp:1.2.3.4:99999': port 99999 is out of "
                                                 "range (0-65535)",
        "[sntp]\nlisten = tcp:127.0.0.1:0\n": "FILE:2: [sntp] listen: sntp does not speak tcp",
        "[serve]\nmetrics = udp:127.0.0.1:9100\n": "FILE:2: [serve] metrics: expected a tcp or "
                                                    "unix address, got 'udp:127.0.0.1:9100'",
        "[serve]\nmetrics = nope\n": "FILE:2: [serve] metrics: bad address 'nope': expected "
                                     "HOST:PORT, [IPV6]:PORT or unix:/path",
        "[serve]\n\nx=" + "y" * 5000 + "\n": "FILE:3: line longer than 4096 bytes",
    }
    for text, message in cases.items():
        assert config_error(tmp_path, text) == f"sockit: {message}\n", text[:80]



def test_missing_file_is_named(tmp_path):
    res = run_sockit("serve", "--config", str(tmp_path / "none.conf"))
    assert res.returncode == EXIT_CONFIG
    assert res.stderr.decode() == f"sockit: {tmp_path}/none.conf: No such file or directory\n"


def test_file_endpoints_and_options_apply(serve, tmp_path):
    path = tmp_path / "s.conf"
    path.write_text("[echo]\nlisten = tcp:127.0.0.1:0\nlisten = udp:127.0.0.1:0\nplain = yes\n")
    srv = serve("--config", str(path), expect=2)
    res = run_sockit("echo", srv.spec("echo", "tcp"), "--", "Plain")
    assert res.stdout == b"Plain\n", res.stderr


def test_flags_override_the_file(serve, tmp_path):
    path = tmp_path / "s.conf"
    path.write_text("[serve]\nbind = 127.0.0.2\n[echo]\nlisten = tcp:127.0.0.1:0\n")
    srv = serve("--config", str(path), "--echo", "udp:127.0.0.1:0", "--bind", "127.0.0.1",
                expect=1)
    assert list(srv.endpoints) == [("echo", "udp")]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(b"up", srv.addr("echo", "udp"))
        assert s.recv(100) == b"UP"


def test_the_man_page_example_is_valid(tmp_path):
    page = (ROOT / "man" / "sockit.conf.5.scd").read_text()
    example = page.split("# EXAMPLE", 1)[1].split("```\n")[1]
    path = tmp_path / "example.conf"
    path.write_text(example)
    res = run_sockit("serve", "--config", str(path), "--check-config")
    assert res.returncode == 0, res.stderr
