"""Which desk a command is for: one rule for every command (`settings.select_desk`).

The desk named with `--desk`, else the only configured one, else (none configured) the default
desk; with several configured and none named, a command asks which, in one sentence (exit 2),
rather than guessing. The profile commands follow it too: before, `deskctl profile use NAME`
with two desks configured silently remembered NAME for a desk called `desk` that neither is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import deskctl, deskctl_in_process

TWO_DESKS = '[desks.home]\nlink = "sim"\n\n[desks.office]\nlink = "sim"\n'
ASK = "deskctl: several desks are configured (home, office); choose one with --desk NAME.\n"


@pytest.fixture
def two_desks(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(TWO_DESKS, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ("profile", "use", "standing-4h"),
        ("profile", "list"),
        ("plan", "--date", "2026-11-30"),
        ("status",),
    ],
)
def test_with_two_desks_a_command_asks_which(two_desks: Path, args: tuple[str, ...]) -> None:
    done = deskctl(two_desks, *args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", ASK)


def test_with_two_desks_the_named_one_gets_the_profile(two_desks: Path) -> None:
    used = deskctl(two_desks, "profile", "use", "standing-4h", "--desk", "office")
    assert used.returncode == 0, used.stderr
    assert used.stdout.startswith("office: now using profile 'standing-4h'")
    listed = deskctl(two_desks, "profile", "list", "--desk", "office")
    assert "* standing-4h" in listed.stdout
    other = deskctl(two_desks, "profile", "list", "--desk", "home")
    assert "* default" in other.stdout


def test_with_no_desk_configured_the_profile_commands_use_the_default_desk(
    tmp_path: Path,
) -> None:
    used = deskctl(tmp_path, "profile", "use", "standing-4h")
    assert used.returncode == 0, used.stderr
    assert used.stdout.startswith("desk: now using profile 'standing-4h'")


def test_the_light_desk_choice_knows_every_table_the_settings_have() -> None:
    """`plan` and `profile list` load the settings only when a file or a variable for one of
    their tables is there: a table the light check does not know would go unread."""
    from deskctl.config.desk_choice import SETTINGS_TABLES
    from deskctl.config.settings import Settings

    assert set(SETTINGS_TABLES) == set(Settings.model_fields)


def test_a_variable_for_any_settings_table_is_read_by_plan(tmp_path: Path) -> None:
    for name in ("DESKCTL_PRESENCE__AWAY_AFTER_S", "deskctl_notify__desktop"):
        done = deskctl_in_process(tmp_path, "plan", **{name: "never"})
        assert done.returncode == 2, (name, done.stdout)
        assert name.upper() in done.stderr.upper(), done.stderr
