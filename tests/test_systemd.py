"""`deskctl service install|uninstall`: the unit a person gets, written where systemd looks."""

from __future__ import annotations

import sys
from pathlib import Path

from deskctl.systemd import unit_text
from tests.cli import deskctl


def test_the_unit_runs_the_service_and_stops_it_with_sigterm() -> None:
    text = unit_text(python="/opt/venv/bin/python", config=Path("/home/me/desk.toml"))
    assert "ExecStart=/opt/venv/bin/python -m deskctl run --config /home/me/desk.toml\n" in text
    assert "KillSignal=SIGTERM\n" in text
    assert "Restart=on-failure\n" in text
    assert "WantedBy=default.target\n" in text


def test_install_writes_the_unit_and_uninstall_removes_it(tmp_path: Path) -> None:
    units = tmp_path / "units"
    installed = deskctl(tmp_path, "service", "install", DESKCTL_SYSTEMD_DIR=str(units))
    assert installed.returncode == 0, installed.stderr
    unit = units / "deskctl.service"
    assert f"ExecStart={sys.executable} -m deskctl run" in unit.read_text()
    removed = deskctl(tmp_path, "service", "uninstall", DESKCTL_SYSTEMD_DIR=str(units))
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    again = deskctl(tmp_path, "service", "uninstall", DESKCTL_SYSTEMD_DIR=str(units))
    assert again.returncode == 0
    assert "nothing to do" in again.stdout
