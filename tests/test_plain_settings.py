"""`config.plain_settings` reads what `load_settings` and `select_desk` give, or gives up.

Each row is a settings file (or none, or an environment variable beside it). For every desk a
command could name (none, each configured one, another, one no desk can be called), the plain
reader either gives up (None) or gives the same desk with the same profile, limits and presets
as pydantic-settings; where pydantic refuses the file or the choice, the plain reader gives up,
so the command goes on to pydantic and says what is wrong. The rows marked plain must be read
without pydantic, or the quick path would never be taken.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deskctl.config.plain_settings import PlainDesk, plain_desk, plain_desks
from deskctl.config.settings import load_settings, select_desk
from deskctl.errors import DeskctlError

BLE = '[desks.office]\nlink = "ble"\naddress = "AA:BB:CC:DD:EE:FF"\n'
# (id, settings text or None for no file, plain: read without pydantic)
ROWS: list[tuple[str, str | None, bool]] = [
    ("no-file", None, True),
    ("empty", "", True),
    ("one-desk", '[desks.office]\nprofile = "standing-4h"\n', True),
    ("empty-desks", "[desks]\n", True),
    (
        "ble-desk",
        BLE + 'min_mm = 650\nmax_mm = 1200\ncalibration_mm = -5\nprofile = "default"\n'
        'connect_timeout_s = 30\npair = true\nprotocol = "linak"\n'
        '[desks.office.presets]\nfocus = "105cm"\ncall = 100\nlow = 72.5\n',
        True,
    ),
    (
        "two-desks",
        '[desks.office]\nprofile = "cornell-20-8-2"\n[desks.home]\nmax_mm = 1100\n',
        True,
    ),
    (
        "jiecang",
        '[desks.box]\nlink = "sim"\nsim = "jiecang"\nsim_variant = "FF12"\n'
        'display_unit = "in"\nconnect_timeout_s = 2.5\n',
        True,
    ),
    ("limits-upside-down", "[desks.office]\nmin_mm = 1200\nmax_mm = 1000\n", False),
    ("limits-equal", "[desks.office]\nmin_mm = 1000\nmax_mm = 1000\n", False),
    ("min-float", "[desks.office]\nmin_mm = 650.0\n", False),
    ("min-text", '[desks.office]\nmin_mm = "650"\n', False),
    ("min-bool", "[desks.office]\nmin_mm = true\n", False),
    ("max-too-high", "[desks.office]\nmax_mm = 2001\n", False),
    ("calibration-too-far", "[desks.office]\ncalibration_mm = 300\n", False),
    ("ble-without-address", '[desks.office]\nlink = "ble"\n', False),
    ("ble-empty-address", '[desks.office]\nlink = "ble"\naddress = ""\n', False),
    ("link-upper", '[desks.office]\nlink = "BLE"\naddress = "x"\n', False),
    ("link-mqtt", '[desks.office]\nlink = "mqtt"\n', False),
    (
        "mqtt-desk",
        '[mqtt]\nhost = "h"\n[desks.office]\nlink = "mqtt"\n'
        '[desks.office.mqtt]\npreset = "upsy"\nprefix = "upsy-desky-a1"\n',
        False,
    ),
    ("unknown-key", "[desks.office]\nheight = 3\n", False),
    ("unknown-table", "[desk.office]\n", False),
    ("calendar", '[calendar]\nsources = []\n[desks.office]\nprofile = "default"\n', False),
    ("notify", "[notify]\ndesktop = true\n", False),
    ("presence", "[presence]\naway_after_s = 60\n", False),
    ("profile-number", "[desks.office]\nprofile = 5\n", False),
    ("pair-text", '[desks.office]\npair = "yes"\n', False),
    ("timeout-zero", "[desks.office]\nconnect_timeout_s = 0\n", False),
    ("timeout-long", "[desks.office]\nconnect_timeout_s = 301\n", False),
    ("timeout-text", '[desks.office]\nconnect_timeout_s = "5"\n', False),
    ("preset-outside", '[desks.office]\npresets = { up = "150cm" }\n', False),
    ("preset-word", '[desks.office]\npresets = { up = "high" }\n', False),
    ("preset-bool", "[desks.office]\npresets = { up = true }\n", False),
    ("preset-list", "[desks.office]\npresets = { up = [1] }\n", False),
    ("presets-not-a-table", '[desks.office]\npresets = "focus"\n', False),
    ("desks-not-a-table", "desks = 5\n", False),
    ("desk-not-a-table", "[desks]\noffice = 5\n", False),
    ("desk-name-space", '[desks." office"]\n', False),
    ("desk-name-control", '[desks."off\\u0000ice"]\n', False),
    ("desk-name-long", f"[desks.{'d' * 65}]\n", False),
    ("not-toml", "[desks.office\n", False),
    ("sim-variant-lower", '[desks.office]\nsim_variant = "fe60"\n', False),
    ("display-unit-mm", '[desks.office]\ndisplay_unit = "mm"\n', False),
]
NAMES = (None, "office", "home", "box", "other", " spaced", "")


def _slow(name: str | None) -> tuple[str, PlainDesk | None] | None:
    """What pydantic-settings gives, as the plain reader would put it; None when it refuses."""
    try:
        settings = load_settings()
        chosen, _ = select_desk(settings, name, simulate=True)
    except DeskctlError:
        return None
    desk = settings.desks.get(chosen)
    if desk is None:
        return chosen, None
    return chosen, PlainDesk(desk.profile, desk.min_mm, desk.max_mm, desk.preset_heights)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.upper().startswith("DESKCTL_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path))
    return tmp_path / "settings.toml"


@pytest.mark.parametrize(("text", "plain"), [row[1:] for row in ROWS], ids=[r[0] for r in ROWS])
def test_the_plain_reader_gives_what_pydantic_gives_or_gives_up(
    config: Path, text: str | None, plain: bool
) -> None:
    if text is not None:
        config.write_text(text)
    assert (plain_desks() is not None) == plain
    for name in NAMES:
        quick = plain_desk(name)
        slow = _slow(name)
        if quick is not None:
            assert slow == (quick.name, quick.desk), f"--desk {name!r}"


def test_with_a_settings_variable_the_plain_reader_gives_up(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text('[desks.office]\nprofile = "default"\n')
    assert plain_desk("office") is not None
    monkeypatch.setenv("deskctl_desks__office__max_mm", "1000")
    assert plain_desk("office") is None
    assert _slow("office") == ("office", PlainDesk("default", 620, 1000, {}))


def test_rows_pydantic_refuses_are_given_up() -> None:
    """Every row not plain really is one the reader must give up on (or it tests nothing)."""
    assert sum(not plain for _, _, plain in ROWS) > 30
