"""`deskctl config`: a starter file, the effective settings, and secrets never shown."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import deskctl


def test_init_writes_settings_that_load_and_never_overwrites(tmp_path: Path) -> None:
    first = deskctl(tmp_path, "config", "init", "--simulate", "--yes", "--max", "125cm")
    assert first.returncode == 0, first.stderr
    settings = tmp_path / "config" / "settings.toml"
    written = settings.read_text()
    shown = deskctl(tmp_path, "config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["settings"]["desks"]["desk"]["max_mm"] == 1250
    again = deskctl(tmp_path, "config", "init", "--simulate", "--yes")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert settings.read_text() == written


def test_show_masks_passwords_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text('[mqtt]\nhost = "broker"\npassword = "from-file-pw"\n')
    shown = deskctl(tmp_path, "config", "show")
    assert shown.returncode == 0, shown.stderr
    assert "from-file-pw" not in shown.stdout
    assert "**********" in shown.stdout
    env = deskctl(tmp_path, "config", "show", "--json", DESKCTL_MQTT__PASSWORD="env-pw-1234")
    assert "env-pw-1234" not in env.stdout
    data = json.loads(env.stdout)
    assert data["environment"] == {"DESKCTL_MQTT__PASSWORD": "**********"}
    assert data["settings"]["mqtt"]["host"] == "broker"


def test_a_broken_setting_names_the_variable_it_came_from(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "config", "show", DESKCTL_MQTT__PORT="seventy")
    assert done.returncode == 2
    assert done.stderr.startswith("deskctl: DESKCTL_MQTT__PORT: mqtt.port:")


def test_path_lists_every_place(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "config", "path")
    assert done.returncode == 0
    for word in ("settings", "profiles", "cues", "history", "socket"):
        assert word in done.stdout


def test_a_settings_file_with_a_password_that_others_can_read_is_warned_about(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    settings = config / "settings.toml"
    settings.write_text('[mqtt]\nhost = "broker"\npassword = "pw-1234"\n')
    settings.chmod(0o644)
    loose = deskctl(tmp_path, "config", "show")
    assert "chmod 600" in loose.stderr
    assert "pw-1234" not in loose.stderr + loose.stdout
    settings.chmod(0o600)
    tight = deskctl(tmp_path, "config", "show")
    assert "chmod 600" not in tight.stderr
