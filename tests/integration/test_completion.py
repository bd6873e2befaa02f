"""Bash completion: commands and each command's flags come from the binary's --help."""
import shlex
import subprocess

from conftest import ROOT, SOCKIT, need


def complete(*words):
    """COMPREPLY for the command line `sockit WORDS...` (the last word being completed)."""
    script = (f"source {shlex.quote(str(ROOT / 'completions' / 'sockit.bash'))}\n"
              f"COMP_WORDS=({' '.join(shlex.quote(w) for w in (SOCKIT, *words))})\n"
              f"COMP_CWORD={len(words)}\n_sockit\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    res = subprocess.run([need("bash"), "-c", script], capture_output=True, text=True,
                         timeout=20, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_commands():
    assert set(complete("")) >= {"serve", "echo", "time", "chat", "--help", "--version"}
    assert complete("se") == ["serve"]


def test_flags_of_each_command():
    assert complete("serve", "--max") == ["--max-conns"]
    assert complete("serve", "--che") == ["--check-config"]
    assert set(complete("chat", "--cont")) == {"--contact", "--contacts"}
    assert "--proto" in complete("time", "--")


def test_values():
    assert complete("time", "--proto", "s") == ["seed", "sntp"]
    assert complete("serve", "--config", "etc/sock") == ["etc/sockit.conf"]


def zsh_complete(*words):
    """What _sockit offers for `sockit WORDS...`, with compadd and _files stubbed to print
    (zsh itself then filters by the typed prefix)."""
    script = ("compadd() { [[ $1 == -- ]] && shift; print -l -- \"$@\" }\n"
              "_files() { print -- FILES }\n"
              f"words=({' '.join(shlex.quote(w) for w in (SOCKIT, *words))})\n"
              f"CURRENT={len(words) + 1}\n"
              f"source {shlex.quote(str(ROOT / 'completions' / '_sockit'))}\n")
    res = subprocess.run([need("zsh"), "-f", "-c", script], capture_output=True, text=True,
                         timeout=20, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_zsh():
    assert {"serve", "echo", "time", "chat", "--help"} <= set(zsh_complete(""))
    assert {"--max-conns", "--config", "--metrics", "-v"} <= set(zsh_complete("serve", "--"))
    assert {"--contacts", "--listen"} <= set(zsh_complete("chat", "--"))
    assert zsh_complete("serve", "--config", "") == ["FILES"]
    assert {"seed", "sntp", "daytime", "rfc868"} <= set(zsh_complete("time", "--proto", ""))
