"""The few settings `plan` and the `profile` commands need, without pydantic when plainly valid.

Design: `settings.py` is a pydantic-settings model, whose import alone costs more than a peer CLI
takes to start; `plan` and `profile list` need from it only the desk a command means and that
desk's profile, limits and presets (and whether calendars are set). `plain_desk(name)` reads
them from a settings file that is plainly valid, in plain Python, and gives up (None) on
anything else, so that `load_settings` reads the file as ever and says what is wrong. Plainly
valid means, and nothing more is taken:
- no `DESKCTL_…` variable for a settings table (`desk_choice.settings_given` names them), and a
  file that `toml_files.read_toml` reads (a missing file: no desk configured);
- at the top only `[desks.NAME]` tables, whose names `desk_choice.desk_name_problem` accepts
  (a `[calendar]`, `[mqtt]`, `[notify]` or `[presence]` table, even an empty one, gives up);
- in a desk only the keys of `DeskSettings` below, each of the exact TOML type the model takes
  without converting (an int for an int, a bool for a bool, a member's exact spelling for a
  choice), within the model's bounds; no `mqtt` table (so no `link = "mqtt"`); `link = "ble"`
  with an address; `min_mm` below `max_mm`; presets that `core.presets.parse_presets` accepts;
- a desk that `select_desk` picks without an error: the one named, any name that can name a
  desk (then unconfigured: None), or the only one; several desks and no name gives up.
`tests/test_plain_settings.py` holds it to `load_settings` and `select_desk`: for every file in
its table, whatever this reads is what they give, and where they refuse, this gives up.

Public API:
    plain_desks() -> {name: PlainDesk} | None, plain_desk(name) -> PlainChoice | None
    PlainChoice(name, desk: PlainDesk | None), PlainDesk(profile, min_mm, max_mm, preset_heights)
"""

from __future__ import annotations

from typing import NamedTuple

from deskctl.config import paths
from deskctl.config.desk_choice import SETTINGS_ENV_PREFIX, desk_name_problem, unconfigured_desk
from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM

__all__ = ["PlainChoice", "PlainDesk", "plain_desk", "plain_desks"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "link": ("ble", "sim"),  # "mqtt" needs the mqtt table: pydantic's
    "sim": ("model", "ble", "jiecang"),
    "sim_variant": ("FE60", "FF12", "FF00", "00FF"),
    "protocol": ("auto", "linak", "jiecang"),
    "display_unit": ("cm", "in"),
}
_INTS = {"min_mm": (0, 2000), "max_mm": (0, 2000), "calibration_mm": (-200, 200)}
_STRINGS = ("address", "profile")


class PlainDesk(NamedTuple):
    """What the profile commands use of a configured desk (as `DeskSettings` has it)."""

    profile: str | None
    min_mm: int
    max_mm: int
    preset_heights: dict[str, int]


class PlainChoice(NamedTuple):
    """The desk a command means, and its settings when it is configured."""

    name: str
    desk: PlainDesk | None


def plain_desks() -> dict[str, PlainDesk] | None:
    """The configured desks, read without pydantic ({} with no settings file); None when the
    settings are not plainly valid (see the module)."""
    import os

    prefix = SETTINGS_ENV_PREFIX.upper()
    tables = ("DESKS", "MQTT", "NOTIFY", "PRESENCE", "CALENDAR")
    if any(key.upper().startswith(tuple(prefix + t for t in tables)) for key in os.environ):
        return None
    try:
        file = paths.settings_file()
        if not file.exists():
            return {}
        from deskctl.config.files import shown_path
        from deskctl.config.toml_files import read_toml

        data = read_toml(shown_path(file), file, missing_ok=True)
    except Exception:  # whatever it is, load_settings reads the file again and says it
        return None
    return _desks(data)


def plain_desk(name: str | None) -> PlainChoice | None:
    """The desk `name` means (None: the only one) and its settings, read without pydantic; None
    when the settings are not plainly valid or the choice is not plain (see the module)."""
    desks = plain_desks()
    if desks is None:
        return None
    if name is not None:
        if name in desks:
            return PlainChoice(name, desks[name])
        if desk_name_problem(name) is not None:
            return None  # select_desk says why
        return PlainChoice(name, None)
    if len(desks) == 1:
        only, desk = next(iter(desks.items()))
        return PlainChoice(only, desk)
    if not desks:
        return PlainChoice(unconfigured_desk(None), None)
    return None  # several: select_desk asks which


def _desks(data: dict[str, object]) -> dict[str, PlainDesk] | None:
    if set(data) - {"desks"}:
        return None
    tables = data.get("desks", {})
    if not isinstance(tables, dict):
        return None
    desks: dict[str, PlainDesk] = {}
    for key, table in tables.items():
        if not isinstance(key, str) or desk_name_problem(key) is not None:
            return None
        desk = _desk(table)
        if desk is None:
            return None
        desks[key] = desk
    return desks


def _desk(table: object) -> PlainDesk | None:
    if not isinstance(table, dict):
        return None
    known = {*_CHOICES, *_INTS, *_STRINGS, "connect_timeout_s", "pair", "presets"}
    if set(table) - known:
        return None
    for key, members in _CHOICES.items():
        if key in table and table[key] not in members:
            return None
    for key, (low, high) in _INTS.items():
        value = table.get(key, 0)
        if type(value) is not int or not low <= value <= high:
            return None
    for key in _STRINGS:
        if key in table and type(table[key]) is not str:
            return None
    timeout = table.get("connect_timeout_s", 20.0)
    if type(timeout) not in (int, float) or not 0 < timeout <= 300:
        return None
    if type(table.get("pair", False)) is not bool:
        return None
    if table.get("link") == "ble" and not table.get("address"):
        return None
    min_mm: int = table.get("min_mm", DEFAULT_BASE_MM)
    max_mm: int = table.get("max_mm", DEFAULT_TOP_MM)
    if min_mm >= max_mm:
        return None
    presets = _presets(table.get("presets", {}), min_mm, max_mm)
    if presets is None:
        return None
    return PlainDesk(table.get("profile"), min_mm, max_mm, presets)


def _presets(table: object, min_mm: int, max_mm: int) -> dict[str, int] | None:
    if not isinstance(table, dict):
        return None
    if any(not isinstance(k, str) or type(v) not in (str, int, float) for k, v in table.items()):
        return None
    from deskctl.core.presets import parse_presets

    try:
        return parse_presets(table, min_mm, max_mm)
    except Exception:  # the model's validator says it
        return None
