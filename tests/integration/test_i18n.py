"""zh_CN: under LANGUAGE=zh_CN the clients prompt exactly as the seed's programs did, and
the rest of the interface is Chinese; English stays the default. The catalogs are the
build tree's (SOCKIT_LOCALEDIR), the locale is the one scripts/install-deps generates."""
import os
import re
import socket
import subprocess
from pathlib import Path

import pexpect

from conftest import ROOT, SOCKIT, need, run_sockit

LOCALEDIR = str(Path(SOCKIT).parent / "po")
ZH = {**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN", "LC_ALL": "",
      "SOCKIT_LOCALEDIR": LOCALEDIR, "TERM": "dumb"}
EN = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "", "LC_ALL": "",
      "SOCKIT_LOCALEDIR": LOCALEDIR}


def spawn(*args):
    child = pexpect.spawn(SOCKIT, list(args), env=ZH, encoding="utf-8", timeout=10)
    child.delaybeforesend = None
    return child


def test_locale_is_installed():
    out = os.popen("locale -a").read().lower()
    assert re.search(r"^zh_cn\.utf-?8$", out, re.M), "run scripts/install-deps test"


def test_english_is_the_default():
    res = run_sockit("--help", env=EN)
    assert res.stdout.decode().startswith("Usage: sockit COMMAND [OPTIONS]")


def test_help_and_errors_are_chinese():
    res = run_sockit("--help", env=ZH)
    assert res.stdout.decode().startswith("用法: sockit 命令 [选项]\n\n经典的网络服务及其客户端。")
    res = run_sockit("serve", "--max-conns", "0", env=ZH)
    assert res.stderr.decode() == ("sockit: --max-conns: 应为 1 到 1000000 之间的整数,却是 '0'\n"
                                   "请尝试 'sockit serve --help'。\n")


def test_echo_prompt_is_the_seeds(echo_server):
    child = spawn("echo", echo_server.spec("echo", "tcp"))
    child.expect_exact(">>: ")
    child.sendline("hello")
    child.expect_exact("HELLO")
    child.expect_exact(">>: ")
    child.sendline("quit")
    child.expect(pexpect.EOF)


def test_chat_prompts_are_the_seeds():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as friend:
        friend.bind(("127.0.0.1", 0))
        friend.settimeout(10)
        fport = friend.getsockname()[1]
        child = spawn("chat", "--listen", "udp:127.0.0.1:0", "--contact",
                      f"狗哥alex=udp:127.0.0.1:{fport}")
        child.expect(r"listening on udp:127\.0\.0\.1:(\d+)")
        port = int(child.match.group(1))
        child.expect_exact("请选择聊天对象: ")
        child.sendline("狗哥alex")
        child.expect_exact("请输入消息,回车发送: ")
        child.sendline("你好")
        assert friend.recvfrom(1024)[0] == "你好".encode()
        child.close(force=True)

        # A stranger writes to a peer without contacts: the seed's banner, then a reply.
        child = spawn("chat", "--listen", "udp:127.0.0.1:0")
        child.expect(r"listening on udp:127\.0\.0\.1:(\d+)")
        port = int(child.match.group(1))
        friend.sendto("在吗".encode(), ("127.0.0.1", port))
        child.expect_exact(f"来自[127.0.0.1:{fport}]的一条消息:")
        child.expect_exact("回复消息: ")
        child.sendline("在")
        assert friend.recvfrom(1024)[0] == "在".encode()
        child.close(force=True)


def test_time_prompt_is_the_seeds(serve):
    srv = serve("--time", "udp:127.0.0.1:0", expect=1)
    child = spawn("time", srv.spec("time", "udp"))
    child.expect_exact("请输入时间格式(例%Y %m %d)>>: ")
    child.sendline("%Y")
    child.expect(r"\d{4}")
    child.expect_exact("请输入时间格式(例%Y %m %d)>>: ")
    child.sendline("quit")
    child.expect(pexpect.EOF)


def test_every_marked_string_is_translated(tmp_path):
    """xgettext over every source file (not only POTFILES), merged into zh_CN.po: nothing
    untranslated or fuzzy, and POTFILES names every file with marked strings."""
    src = sorted((ROOT / "src").glob("*.c"))
    marked = [p for p in src if re.search(r"\bN?_\(\"", p.read_text(encoding="utf-8"))]
    listed = (ROOT / "po" / "POTFILES").read_text().split()
    assert sorted(listed) == sorted(str(p.relative_to(ROOT)) for p in marked), \
        "po/POTFILES must list every src/*.c with _() or N_() marks"
    pot = tmp_path / "all.pot"
    subprocess.run([need("xgettext"), "--keyword=_", "--keyword=N_", "--from-code=UTF-8",
                    "-o", str(pot), *map(str, marked)], check=True, timeout=60)
    merged = tmp_path / "zh_CN.po"
    subprocess.run([need("msgmerge"), "--quiet", "-o", str(merged), str(ROOT / "po" / "zh_CN.po"),
                    str(pot)], check=True, timeout=60)
    res = subprocess.run([need("msgfmt"), "--check", "--statistics", "-o", os.devnull,
                          str(merged)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert re.fullmatch(r"\d+ translated messages?\.\n", res.stderr), (
        res.stderr + "run `ninja -C build sockit-pot sockit-update-po` and translate the new "
        "entries of po/zh_CN.po (msgfmt --statistics po/zh_CN.po shows what is left)")
