"""bench/run, the script that writes BENCHMARKS.md, end to end at its shortest (one round of
0.2 s runs): every comparison runs and every target of issue 7 gets a figure. The figures
themselves are for a quiet machine and longer runs, so this checks that they are there,
not what they are."""
import re
import subprocess
from pathlib import Path

from conftest import ROOT, SOCKIT

TARGETS = [
    "TCP, 1 connection: msgs/s >= 1.0x baseline, p99 <= 1.1x",
    "UDP, 1 socket, depth 1: msgs/s >= 1.0x baseline",
    "TCP, 100 connections: msgs/s >= 1.1x baseline",
    "UDP, 32 sockets: msgs/s >= 1.3x baseline",
    "TCP, 64 KiB messages, 1 connection: MB/s >= 1.0x baseline",
    "10,000 idle TCP connections: RSS <= 64 MiB",
    "SNTP answers/s, 1 in flight: >= 1.2x chronyd",
    "SNTP answers/s, 16 in flight: >= 1.2x chronyd",
    "sockit bench >= a blocking C client",
]


def test_bench_run_measures_every_target(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    res = subprocess.run([str(ROOT / "bench" / "run"), "--seconds", "0.2", "--repeat", "1",
                          "--build", str(Path(SOCKIT).parent), "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for target in TARGETS:
        row = [r for r in rows if r.startswith(f"| {target}")]
        assert len(row) == 1, (target, rows)
        default = row[0].split(" | ")[1]  # the default's median ratio and spread
        assert re.search(r"\d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\)", default), row[0]
    assert "failed" not in text, text
    for client in ("bench/blocking_client.c", "sockit bench", "sockit bench --busy-poll 0"):
        assert re.search(rf"^\| {re.escape(client)} \| [\d,]+ \| \d+\.\d\d \|$", text, re.M), client
