"""`deskctl move/sit/stand/stop/status` on the simulated desk, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import deskctl


def test_move_110cm_lands_within_1_mm_and_reports_json(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "move", "110cm", "--simulate", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["target_mm"] == 1100
    assert abs(result["height_mm"] - 1100) <= 1


def test_the_simulated_desk_remembers_where_it_went(tmp_path: Path) -> None:
    moved = deskctl(tmp_path, "move", "28.3in", "--simulate", "--json", "--time-scale", "50")
    assert moved.returncode == 0, moved.stderr
    status = deskctl(tmp_path, "status", "--simulate", "--json")
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert state["height_mm"] == 719
    assert state["posture"] == "sit"
    assert state["moving"] is False


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["move", "2000mm", "--simulate"], "1270 mm"),
        (["move", "50cm", "--simulate"], "620 mm"),
        (["move", "72kg", "--simulate"], "unit of height"),
        (["move", "tall", "--simulate"], "not a height"),
    ],
)
def test_bad_heights_exit_2_with_one_sentence_and_move_nothing(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    done = deskctl(tmp_path, *args)
    assert done.returncode == 2
    assert needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "sim-desk.json").exists(), "the desk was touched"


def test_limits_from_the_settings_file_are_obeyed(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(
        '[desks.office]\nlink = "sim"\nmin_mm = 700\nmax_mm = 1200\n', encoding="utf-8"
    )
    done = deskctl(tmp_path, "move", "125cm", "--json")
    assert done.returncode == 2
    assert "1200 mm" in done.stderr
    over_env = deskctl(tmp_path, "move", "115cm", DESKCTL_DESKS__OFFICE__MAX_MM="1100")
    assert over_env.returncode == 2
    assert "1100 mm" in over_env.stderr


def test_a_broken_settings_file_names_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(
        '[desks.office]\nlink = "sim"\nmin_mm = "low"\n', encoding="utf-8"
    )
    done = deskctl(tmp_path, "status")
    assert done.returncode == 2
    assert "settings.toml" in done.stderr
    assert "desks.office.min_mm" in done.stderr
    assert "Traceback" not in done.stderr


def test_sit_and_stand_go_to_the_profile_heights(tmp_path: Path) -> None:
    stand = deskctl(tmp_path, "stand", "--simulate", "--json", "--time-scale", "50")
    assert stand.returncode == 0, stand.stderr
    sit = deskctl(tmp_path, "sit", "--simulate", "--json", "--time-scale", "50")
    assert sit.returncode == 0, sit.stderr
    stand_mm = json.loads(stand.stdout)["height_mm"]
    sit_mm = json.loads(sit.stdout)["height_mm"]
    assert stand_mm > sit_mm + 200


def test_stop_answers_with_the_height(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "stop", "--simulate", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stopped"] is True


def test_no_desk_configured_says_what_to_do(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "status")
    assert done.returncode == 2
    assert "--simulate" in done.stderr


def test_move_over_the_real_ble_link_to_the_emulated_desk_lands_within_1_mm(
    tmp_path: Path,
) -> None:
    done = deskctl(tmp_path, "move", "110cm", "--sim", "ble", "--json", "--time-scale", "10")
    assert done.returncode == 0, done.stderr
    assert abs(json.loads(done.stdout)["height_mm"] - 1100) <= 1


def test_scan_without_a_system_bus_says_so_and_exits_1(tmp_path: Path) -> None:
    no_bus = f"unix:path={tmp_path / 'no-bus'}"
    done = deskctl(tmp_path, "scan", "--timeout", "1", DBUS_SYSTEM_BUS_ADDRESS=no_bus)
    assert done.returncode == 1
    assert "Bluetooth is not available: the system D-Bus cannot be reached" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_scan_finds_the_emulated_desk(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "scan", "--sim", "ble", "--timeout", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert [d["name"] for d in json.loads(done.stdout)] == ["Desk 1234"]
