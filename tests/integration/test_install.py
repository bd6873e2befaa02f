"""`make install DESTDIR=...`: the binary, a man page per command, the zh_CN catalog, the
systemd units, bash completion and /etc/sockit/sockit.conf land where they belong."""
import os
import subprocess
from pathlib import Path

from conftest import ROOT, SOCKIT, need, run_sockit

BUILD = Path(SOCKIT).parent


def test_make_install_lays_out_the_files(tmp_path):
    dest = tmp_path / "root"
    res = subprocess.run([need("make"), "-C", str(ROOT), "install", f"DESTDIR={dest}",
                          f"BUILD={BUILD}"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    usr = dest / "usr" / "local"
    commands = [line.split()[0] for line in
                run_sockit("--help").stdout.decode().split("Commands:\n")[1]
                .split("\n\n")[0].splitlines()]
    expected = [
        usr / "bin" / "sockit",
        usr / "share" / "man" / "man1" / "sockit.1",
        usr / "share" / "man" / "man5" / "sockit.conf.5",
        *(usr / "share" / "man" / "man1" / f"sockit-{c}.1" for c in commands),
        usr / "share" / "locale" / "zh_CN" / "LC_MESSAGES" / "sockit.mo",
        usr / "lib" / "systemd" / "system" / "sockit.service",
        usr / "lib" / "systemd" / "system" / "sockit-echo.socket",
        usr / "share" / "bash-completion" / "completions" / "sockit",
        usr / "share" / "zsh" / "site-functions" / "_sockit",
        dest / "etc" / "sockit" / "sockit.conf",
    ]
    missing = [str(p.relative_to(dest)) for p in expected if not p.is_file()]
    assert not missing, missing
    assert os.access(usr / "bin" / "sockit", os.X_OK)

    unit = (usr / "lib" / "systemd" / "system" / "sockit.service").read_text()
    assert "ExecStart=/usr/local/bin/sockit serve --config /etc/sockit/sockit.conf\n" in unit
    assert (dest / "etc" / "sockit" / "sockit.conf").read_text() == \
        (ROOT / "etc" / "sockit.conf").read_text()

    # The installed binary with the installed catalog and the installed configuration.
    env = {**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN",
           "SOCKIT_LOCALEDIR": str(usr / "share" / "locale")}
    res = subprocess.run([str(usr / "bin" / "sockit"), "--help"], capture_output=True,
                         env=env, timeout=20)
    assert res.stdout.decode().startswith("用法: sockit")
    res = subprocess.run([str(usr / "bin" / "sockit"), "serve", "--config",
                          str(dest / "etc" / "sockit" / "sockit.conf"), "--check-config"],
                         capture_output=True, timeout=20)
    assert res.returncode == 0, res.stderr
