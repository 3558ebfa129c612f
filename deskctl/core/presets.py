"""Presets: named heights of one desk (`focus = "105cm"`), and the desk's own memory slots.

Design: a preset's name is a word a person types where a height goes (`deskctl move focus`), so
it must never read as a height or a posture: lowercase letters, digits, `-` and `_`, starting
with a letter, at most 32 characters, and not `sit`, `stand` or `away`. `parse_presets` checks a
settings table against the desk's limits and answers name → mm in the order written, or raises
`ValueError` with one sentence; `preset_mm` looks a name up for a command and raises
`InputError` with one sentence naming the presets there are. `looks_like_preset` tells a word
from a height where both are taken. A profile may name a preset for sit or stand
(`sit = "reading"`): `heights_of_presets` turns those into heights against the presets of the
desk the profile is applied to, before the profile is validated. Memory slots are numbered from
1 (`check_slot`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from deskctl.core.units import format_height, parse_height_mm
from deskctl.core.vocab import Posture
from deskctl.errors import ConfigError, HeightError, InputError

__all__ = [
    "check_slot",
    "heights_of_presets",
    "looks_like_preset",
    "parse_presets",
    "preset_mm",
    "preset_name_problem",
]

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_RESERVED = frozenset(str(p) for p in Posture)


def preset_name_problem(name: str) -> str | None:
    """Why `name` cannot name a preset, or None."""
    if name in _RESERVED:
        return f"{name!r} is a posture, so it cannot name a preset; choose another word"
    if not _NAME.match(name):
        shown = name if len(name) <= 40 else name[:39] + "…"
        return (
            f"{shown!r} is not a preset name; use one lowercase word (letters, digits, '-' or "
            "'_', starting with a letter, at most 32 characters)"
        )
    return None  # starting with a letter, it never reads as a height (those start with digits)


def looks_like_preset(text: str) -> bool:
    """Whether `text`, given where a height is taken, is meant as a preset's name."""
    return preset_name_problem(text.strip()) is None


def parse_presets(table: Mapping[str, object], min_mm: int, max_mm: int) -> dict[str, int]:
    """A settings table of presets as name → mm, in the order written; `ValueError` with one
    sentence for a bad name, a bad height, or a height outside the desk's limits."""
    out: dict[str, int] = {}
    for name, value in table.items():
        problem = preset_name_problem(str(name))
        if problem is not None:
            raise ValueError(problem)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f'preset {name!r} must be a height like "105cm"')
        try:  # a bare number is cm, as everywhere in deskctl
            height_mm = value * 10 if isinstance(value, int) else parse_height_mm(str(value))
        except HeightError as exc:
            raise ValueError(f"preset {name!r}: {exc}") from None
        if not min_mm <= height_mm <= max_mm:
            raise ValueError(
                f"preset {name!r} ({format_height(height_mm)}) lies outside the desk's limits "
                f"of {format_height(min_mm)} to {format_height(max_mm)}"
            )
        out[str(name)] = height_mm
    return out


def preset_mm(name: str, presets: Mapping[str, int], desk: str) -> int:
    """The height of preset `name` of `desk`; `InputError` (one sentence) if it has none."""
    if name in presets:
        return presets[name]
    known = ", ".join(presets) if presets else "none yet"
    return _missing(name, desk, known)


def _missing(name: str, desk: str, known: str) -> int:
    raise InputError(
        f"{name!r} is not a height, nor a preset of desk {desk!r} (its presets: {known}); write "
        f'a height like 72cm, or add the preset, like [desks.{desk}.presets] {name} = "105cm"'
    )


def check_slot(slot: int, slots: int, desk: str) -> int:
    """`slot` if the desk has it (1..slots); `InputError` (one sentence) if not."""
    if slots <= 0:
        raise InputError(f"desk {desk!r} has no memory slots of its own; use named presets")
    if not 1 <= slot <= slots:
        raise InputError(f"desk {desk!r} has memory slots 1 to {slots}, not {slot}")
    return slot


def heights_of_presets(
    data: Mapping[str, object], presets: Mapping[str, int] | None, source: str
) -> dict[str, object]:
    """A profile file's mapping with a preset's name for `sit` or `stand` replaced by its height
    (`presets` are the desk's); `ConfigError` naming the file, the key and the presets there are
    if the desk has no such preset. Read for no desk (`presets` None) a name stays as it is, and
    the height's own check says that it is not a height."""
    out = dict(data)
    if presets is None:
        return out
    for key in ("sit", "stand"):
        value = out.get(key)
        if not isinstance(value, str) or not looks_like_preset(value):
            continue
        name = value.strip()
        if name in presets:
            out[key] = f"{presets[name]}mm"
            continue
        known = ", ".join(presets) or "none"
        raise ConfigError(
            f"{source}: {key}: {name!r} is not a height, nor a preset of the desk (its presets: "
            f"{known})"
        )
    return out
