"""Man pages: one per command, built by meson, rendered by man(1), and documenting every
flag that the command's --help prints."""
import os
import re
import subprocess
from pathlib import Path

from conftest import ROOT, need, run_sockit

BUILT = Path(os.environ.get("SOCKIT_BIN", str(ROOT / "build" / "sockit"))).parent / "man"
FLAG_LINE = re.compile(r"^\s+(-\w, )?--?\w")
FLAG = re.compile(r"(?<![\w-])(--[a-z][\w-]*|-[a-zA-Z])(?![\w-])")


def commands():
    out = run_sockit("--help").stdout.decode()
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def help_flags(*cmd):
    out = run_sockit(*cmd, "--help").stdout.decode()
    flags = set()
    for line in out.splitlines():
        if FLAG_LINE.match(line):
            option_part = re.split(r"\s{2,}", line.strip())[0]
            flags.update(FLAG.findall(option_part))
    assert flags, out
    return flags


def pages():
    return [("sockit", ())] + [(f"sockit-{c}", (c,)) for c in commands()]


def test_every_command_has_a_page():
    for page, _ in pages():
        assert (ROOT / "man" / f"{page}.1.scd").exists(), f"man/{page}.1.scd is missing"
        assert (BUILT / f"{page}.1").exists(), f"{page}.1 is not built"


def test_every_help_flag_is_documented():
    missing = {}
    for page, cmd in pages():
        text = (ROOT / "man" / f"{page}.1.scd").read_text()
        lost = sorted(f for f in help_flags(*cmd) if f"*{f}*" not in text)
        if lost:
            missing[page] = lost
    assert not missing, f"flags in --help but not in man/PAGE.1.scd: {missing}"


def test_man_renders_each_page():
    man = need("man")
    for page, section in [(p, 1) for p, _ in pages()] + [("sockit.conf", 5)]:
        res = subprocess.run([man, f"./{page}.{section}"], cwd=BUILT, capture_output=True, text=True,
                             timeout=30, env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"})
        assert res.returncode == 0, res.stderr
        assert res.stderr == "", res.stderr
        assert re.search(rf"^NAME\n\s+{page} - ", res.stdout, flags=re.M), res.stdout[:300]
        assert "SYNOPSIS" in res.stdout
