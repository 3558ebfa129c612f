"""`deskctl service install|uninstall`: the unit a person gets, written where systemd looks, and
what they are told when systemd cannot take it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from deskctl.adapters.systemd import CONFIG_ERROR_EXIT, unit_text
from tests.cli import deskctl


def _fake_systemctl(
    tmp_path: Path, *, fails_on: str | None = None, says: str = "Failed to enable: Unit is masked."
) -> Path:
    """A folder holding a `systemctl` that logs its arguments (and fails on one verb)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    fail = f'case "$*" in *{fails_on}*) echo "{says}" >&2; exit 1;; esac\n'
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path / "systemctl.log"}\n' + (fail if fails_on else "") + "exit 0\n"
    )
    script.chmod(0o755)
    return bin_dir


def _settings_line(unit: str, key: str) -> str:
    return next(line for line in unit.splitlines() if line.startswith(f"{key}="))


def test_the_unit_runs_the_service_and_stops_it_with_sigterm() -> None:
    text = unit_text(python="/opt/venv/bin/python", config=Path("/home/me/desk.toml"))
    assert "ExecStart=/opt/venv/bin/python -m deskctl run --config /home/me/desk.toml\n" in text
    assert "KillSignal=SIGTERM\n" in text
    assert "Restart=on-failure\n" in text
    assert "WantedBy=default.target\n" in text


def test_a_config_path_with_specifiers_reaches_deskctl_as_written() -> None:
    """systemd expands `%h` and `$HOME` in ExecStart; a path that holds them is escaped."""
    text = unit_text(python="/usr/bin/python3", config=Path("/home/me/100%/$HOME/desk.toml"))
    assert "--config '/home/me/100%%/$$HOME/desk.toml'\n" in text


def test_install_writes_the_unit_and_uninstall_removes_it(tmp_path: Path) -> None:
    units = tmp_path / "units"
    path = f"{_fake_systemctl(tmp_path)}:/usr/bin:/bin"  # a systemctl that enables it
    installed = deskctl(tmp_path, "service", "install", DESKCTL_SYSTEMD_DIR=str(units), PATH=path)
    assert installed.returncode == 0, installed.stderr
    assert "Enabled and started" in installed.stdout
    assert "--user enable --now deskctl.service" in (tmp_path / "systemctl.log").read_text()
    unit = units / "deskctl.service"
    assert f"ExecStart={sys.executable} -m deskctl run" in unit.read_text()
    removed = deskctl(tmp_path, "service", "uninstall", DESKCTL_SYSTEMD_DIR=str(units), PATH=path)
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    again = deskctl(tmp_path, "service", "uninstall", DESKCTL_SYSTEMD_DIR=str(units), PATH=path)
    assert again.returncode == 0
    assert "nothing to do" in again.stdout


def test_the_unit_orders_after_no_system_target_and_gives_up_on_a_broken_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", "/home/me/.config/deskctl")
    text = unit_text()
    # a user manager cannot see system targets: a dependency on them does nothing
    assert "network-online.target" not in text
    assert "bluetooth.target" not in text
    assert int(_settings_line(text, "StartLimitBurst").split("=")[1]) >= 1
    assert int(_settings_line(text, "StartLimitIntervalSec").split("=")[1]) >= 60
    assert str(CONFIG_ERROR_EXIT) in _settings_line(text, "RestartPreventExitStatus").split()
    # optional (-): a person without secrets needs no file
    assert "EnvironmentFile=-/home/me/.config/deskctl/deskctl.env\n" in text


def test_run_with_a_broken_settings_file_exits_with_the_status_the_unit_does_not_restart(
    tmp_path: Path,
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text("[mqtt\n")
    done = deskctl(tmp_path, "run")
    assert done.returncode == CONFIG_ERROR_EXIT, done.stderr
    assert "settings.toml" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    restart_prevented = _settings_line(unit_text(), "RestartPreventExitStatus").split("=")[1]
    assert str(done.returncode) in restart_prevented.split()


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian's systemd package has it)",
)
def test_systemd_analyze_finds_nothing_wrong_with_the_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path))
    unit = tmp_path / "deskctl.service"
    unit.write_text(unit_text())
    runtime = tmp_path / "xdg-run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    done = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", "systemd-analyze warned about the unit"


@pytest.mark.parametrize(
    ("fails_on", "says", "told"),
    [
        ("enable", "Failed to enable unit: Unit file deskctl.service is masked.", "is masked"),
        (
            "daemon-reload",
            "Failed to connect to bus: No medium found",
            "no systemd user manager answers here (Failed to connect to bus: No medium found)",
        ),
    ],
)
def test_install_fails_in_one_sentence_when_the_unit_cannot_be_enabled(
    tmp_path: Path, fails_on: str, says: str, told: str
) -> None:
    units = tmp_path / "units"
    path = f"{_fake_systemctl(tmp_path, fails_on=fails_on, says=says)}:/usr/bin:/bin"
    done = deskctl(tmp_path, "service", "install", DESKCTL_SYSTEMD_DIR=str(units), PATH=path)
    assert done.returncode == 1
    assert (units / "deskctl.service").exists(), "the unit is written all the same"
    assert len(done.stderr.strip().splitlines()) == 1
    assert "the unit is written but not enabled" in done.stderr
    assert told in done.stderr
    assert "Enabled" not in done.stdout


def test_install_without_systemctl_says_so_and_fails(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    units = tmp_path / "units"
    done = deskctl(tmp_path, "service", "install", DESKCTL_SYSTEMD_DIR=str(units), PATH=str(empty))
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert "systemctl is not on this machine" in done.stderr
    assert "Traceback" not in done.stderr


def test_install_says_where_the_mqtt_password_goes_and_that_the_file_must_be_private(
    tmp_path: Path,
) -> None:
    env_file = tmp_path / "config" / "deskctl.env"
    env_file.parent.mkdir()
    env_file.write_text("DESKCTL_MQTT__PASSWORD=hunter2\n")
    env_file.chmod(0o644)
    path = f"{_fake_systemctl(tmp_path)}:/usr/bin:/bin"
    done = deskctl(
        tmp_path,
        "service",
        "install",
        DESKCTL_SYSTEMD_DIR=str(tmp_path / "units"),
        PATH=path,
        DESKCTL_MQTT__PASSWORD="hunter2",
    )
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout + done.stderr
    assert f"does not see DESKCTL_MQTT__PASSWORD from this shell; put it in {env_file}" in (
        done.stdout
    )
    assert f"chmod 600 {env_file}" in done.stdout
    unit = (tmp_path / "units" / "deskctl.service").read_text()
    assert f"EnvironmentFile=-{env_file}\n" in unit
    env_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    quiet = deskctl(
        tmp_path, "service", "install", DESKCTL_SYSTEMD_DIR=str(tmp_path / "units"), PATH=path
    )
    assert "chmod" not in quiet.stdout
