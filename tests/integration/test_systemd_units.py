"""The systemd units: `systemd-analyze verify` accepts them, `systemd-analyze security`
rates sockit.service below 5.0, and each socket unit names a service sockit has."""
import re
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT, SOCKIT, need, run_sockit

UNITS = ROOT / "systemd"
BUILT_SERVICE = Path(SOCKIT).parent / "systemd" / "sockit.service"


def units(tmp_path):
    """The built units, with ExecStart pointing at the binary under test."""
    text = BUILT_SERVICE.read_text()
    text = re.sub(r"^ExecStart=\S+ serve --config \S+",
                  f"ExecStart={SOCKIT} serve --config {ROOT}/etc/sockit.conf", text, flags=re.M)
    (tmp_path / "sockit.service").write_text(text)
    sockets = sorted(UNITS.glob("sockit-*.socket"))
    for s in sockets:
        shutil.copy(s, tmp_path)
    return [tmp_path / "sockit.service", *(tmp_path / s.name for s in sockets)]


def test_verify_accepts_the_units(tmp_path):
    files = units(tmp_path)
    assert len(files) >= 2
    res = subprocess.run([need("systemd-analyze"), "verify", "--man=no", *map(str, files)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "", res.stderr


def test_security_exposure_is_ok(tmp_path):
    service = units(tmp_path)[0]
    res = subprocess.run([need("systemd-analyze"), "security", "--offline=true", str(service)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    m = re.search(r"Overall exposure level for sockit.service: ([\d.]+) (\w+)", res.stdout)
    assert m, res.stdout + res.stderr
    assert float(m.group(1)) < 5.0, res.stdout
    assert m.group(2) == "OK"


def test_socket_units_name_services_by_fd_name():
    services = set(re.findall(r"^  --([\w-]+) ADDR", run_sockit("serve", "--help").stdout.decode(),
                              flags=re.M))
    for unit in UNITS.glob("sockit-*.socket"):
        text = unit.read_text()
        name = re.search(r"^FileDescriptorName=(\S+)$", text, flags=re.M).group(1)
        assert unit.name == f"sockit-{name}.socket"
        assert name in services, f"{unit.name}: no service '{name}'"
        assert re.search(r"^Service=sockit.service$", text, flags=re.M)
        assert re.search(r"^Listen(Stream|Datagram)=\d+$", text, flags=re.M)
