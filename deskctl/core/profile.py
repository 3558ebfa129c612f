"""Profiles: a person's sit/stand setup, validated from the mapping a TOML file holds.

Design: `parse_profile(data, name=..., source=...)` turns the mapping of one TOML file into a
frozen `Profile` (a dataclass), or raises `ConfigError` with ONE sentence naming the file,
the field and the problem, e.g. `profiles/x.toml: cycle[1].minutes: must be above 0`. The shell
reads the file; this module never touches disk.

Inside, heights are int millimetres (`sit = "72cm"` in the file becomes `sit_mm = 720`), working
hours are minutes since midnight (`"09:00-12:30"` becomes `Hours(540, 750)`; `24:00` may end a
range) and weekdays are `date.weekday()` numbers (mon = 0). Every setting except the heights has
a default: 30 min sit / 15 min stand (the `sit-stand-30-15` rhythm; the shipped `default` adds a
walk after each sitting bout, but a file without `cycle` keeps the rhythm it always had),
09:00-12:30 and 13:30-17:30, Monday to Friday, a 30 s warning, no confirmation. Unknown keys are
errors, so typos show.

Rules beyond the types: stand is higher than sit; ranges of a day are in order and do not
overlap; a day in `hours_on` (per-weekday hours) is one of `weekdays`; the warning is shorter
than the shortest block of the cycle; the name (the file's stem) is lowercase letters, digits,
`-`, `_` and `.`.

The validator is plain Python (no pydantic): `deskctl plan` and `deskctl profile list` read
every profile, and must start faster than importing pydantic takes. It keeps the rules of the
pydantic model it replaced, value for value and sentence for sentence (tests/test_profile_cases.py
pins them on some 1,800 inputs): a whole number may be written as `30`, `30.0`, `"30"` or
`true`; a yes/no as `true`, `1` or `"yes"`; every problem is found (fields in order, then the
unknown keys) and the first is named, with how many more there are; a rule between fields (stand
above sit, the warning within the cycle, `hours_on` within `weekdays`) is checked only when both
fields are good, and only for a field the file gives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from deskctl.core.cues import Area, Kind
from deskctl.core.presets import heights_of_presets
from deskctl.core.units import format_height, parse_height_mm
from deskctl.core.vocab import Posture
from deskctl.errors import ConfigError, HeightError

__all__ = [
    "DAY_NAMES",
    "CycleStep",
    "Hours",
    "Profile",
    "parse_profile",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MIN_HEIGHT_MM = 300
_MAX_HEIGHT_MM = 2000
_DAY_MIN = 24 * 60


class _Problem(ValueError):
    """A validation problem below a field (`where` like `[1]` or `.fri`)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(problem)
        self.where = where
        self.problem = problem


@dataclass(frozen=True, slots=True, order=True)
class Hours:
    """A working range of wall-clock time, in minutes since midnight; `end_min` may be 1440."""

    start_min: int
    end_min: int

    def __str__(self) -> str:
        return f"{_clock(self.start_min)}-{_clock(self.end_min)}"

    @property
    def minutes(self) -> int:
        return self.end_min - self.start_min


def _shown(key: object) -> str:
    """A key as an error names it: as written, or quoted with escapes if it would break the line."""
    text = str(key)
    return text if text.isprintable() else repr(text)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _parse_hours(value: object) -> Hours:
    if isinstance(value, Hours):
        return value
    if not isinstance(value, str):
        raise ValueError('must be a range of time like "09:00-12:30"')
    match = _RANGE.match(value)
    if match is None:
        raise ValueError(f'{value!r} is not a range of time; write it like "09:00-12:30"')
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{value!r} has a time that does not exist; use 00:00 to 24:00")
    hours = Hours(h1 * 60 + m1, h2 * 60 + m2)
    if hours.end_min <= hours.start_min:
        raise ValueError(f"{value!r} must end after it starts (ranges cannot cross midnight)")
    return hours


def _parse_day_hours(value: object) -> tuple[Hours, ...]:
    """A day's list of ranges: each parsed, in order, not overlapping."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError('must be a list of ranges like ["09:00-12:30", "13:30-17:30"]')
    out: list[Hours] = []
    for index, item in enumerate(value):
        try:
            hours = _parse_hours(item)
        except ValueError as exc:
            raise _Problem(f"[{index}]", str(exc)) from None
        if out and hours.start_min < out[-1].end_min:
            raise _Problem(
                f"[{index}]",
                f"{hours} starts before the range before it ({out[-1]}) ends; "
                "list the ranges in order without overlap",
            )
        out.append(hours)
    return tuple(out)


def _parse_day(value: object) -> int:
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in DAY_NAMES:
        return DAY_NAMES.index(text)
    if text in _FULL_DAY_NAMES:
        return _FULL_DAY_NAMES.index(text)
    raise ValueError(f"{value!r} is not a day; use mon, tue, wed, thu, fri, sat or sun")


def _parse_weekdays(value: object) -> frozenset[int]:
    if isinstance(value, frozenset):
        return value
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError('must be a list of days like ["mon", "tue", "wed", "thu", "fri"]')
    days: set[int] = set()
    for index, item in enumerate(value):
        try:
            days.add(_parse_day(item))
        except ValueError as exc:
            raise _Problem(f"[{index}]", str(exc)) from None
    return frozenset(days)


def _parse_hours_on(value: object) -> dict[int, tuple[Hours, ...]]:
    if not isinstance(value, Mapping):
        raise ValueError('must be a table of days, like fri = ["09:00-13:00"]')
    out: dict[int, tuple[Hours, ...]] = {}
    for key, ranges in value.items():
        if isinstance(key, int) and 0 <= key < 7:
            day = key
        else:
            try:
                day = _parse_day(key)
            except ValueError as exc:
                raise _Problem(f".{_shown(key)}", str(exc)) from None
        try:
            out[day] = _parse_day_hours(ranges)
        except _Problem as exc:
            raise _Problem(f".{DAY_NAMES[day]}{exc.where}", exc.problem) from None
        except ValueError as exc:
            raise _Problem(f".{DAY_NAMES[day]}", str(exc)) from None
    return out


def _parse_height(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError('must be a height like "72cm", "720mm" or "28.3in"')
    if isinstance(value, int):
        height_mm = value * 10  # a bare number is cm, as everywhere in deskctl
    elif isinstance(value, (str, float)):
        try:
            height_mm = parse_height_mm(str(value))
        except HeightError as exc:
            raise ValueError(str(exc)) from None
    else:
        raise ValueError('must be a height like "72cm", "720mm" or "28.3in"')
    if not _MIN_HEIGHT_MM <= height_mm <= _MAX_HEIGHT_MM:
        raise ValueError(f'{format_height(height_mm)} is not a desk height; write it like "72cm"')
    return height_mm


@dataclass(frozen=True, slots=True)
class CycleStep:
    """One block of the repeating cycle: a posture held for some minutes (1 to 240)."""

    posture: Posture
    minutes: int


_DEFAULT_CYCLE = (CycleStep(Posture.SIT, 30), CycleStep(Posture.STAND, 15))
_DEFAULT_HOURS = (Hours(9 * 60, 12 * 60 + 30), Hours(13 * 60 + 30, 17 * 60 + 30))
_MAX_CYCLE = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A person's setup: heights, the cycle of postures, working hours, warning and cue taste.
    Made by `parse_profile`, which checks every rule; built directly, it is taken as given."""

    name: str
    description: str = ""
    sit_mm: int
    stand_mm: int
    cycle: tuple[CycleStep, ...] = _DEFAULT_CYCLE
    weekdays: frozenset[int] = frozenset(range(5))
    hours: tuple[Hours, ...] = _DEFAULT_HOURS
    hours_on: dict[int, tuple[Hours, ...]] = field(default_factory=dict)
    warn_s: int = 30
    confirm: bool = False
    stand_for_meetings: bool = False  # the desk rises just before a meeting (docs/meetings.md)
    prefer_areas: tuple[Area, ...] = ()
    prefer_kinds: tuple[Kind, ...] = ()

    def hours_for(self, day: date) -> tuple[Hours, ...]:
        """The working ranges on `day`: none on a day off, else the day's own or the usual ones."""
        weekday = day.weekday()
        if weekday not in self.weekdays:
            return ()
        return self.hours_on.get(weekday, self.hours)

    def height_for(self, posture: Posture) -> int | None:
        """The desk height for a posture; None for `away` (the desk stays where it is)."""
        if posture is Posture.SIT:
            return self.sit_mm
        if posture is Posture.STAND:
            return self.stand_mm
        return None


# --- the value checks: each returns the value as kept, or raises ValueError with the problem ---

_WHOLE = "must be a whole number"
_INT_TEXT = re.compile(r"[+-]?([0-9]+(?:_[0-9]+)*)(?:\.0+)?")
_INT_DIGITS_MAX = 4300  # Python's own limit on turning text into an int
_TOO_BIG = "unable to parse input string as an integer, exceeded maximum size"
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _whole(value: object) -> int:
    """A whole number, as a person may write one: 30, 30.0, "30", true (= 1)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("input should be a finite number")
        if not value.is_integer():
            raise ValueError(_WHOLE)
        if abs(value) >= 2**63:
            raise ValueError(_TOO_BIG)
        return int(value)
    if isinstance(value, str):
        match = _INT_TEXT.fullmatch(value.strip())
        if match is not None:
            if len(match[1].replace("_", "")) > _INT_DIGITS_MAX:
                raise ValueError(_TOO_BIG)
            return int(value.strip().partition(".")[0])
    raise ValueError(_WHOLE)


def _ranged(low: int, high: int, *, above: bool = False) -> Callable[[object], int]:
    """A whole number from `low` (or above it) up to `high`."""

    def check(value: object) -> int:
        number = _whole(value)
        if above and number <= low:
            raise ValueError(f"must be above {low}")
        if not above and number < low:
            raise ValueError(f"must be {low} or more")
        if number > high:
            raise ValueError(f"must be {high} or less")
        return number

    return check


def _yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError("must be true or false")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text in quotes")
    return value


def _choices(values: Sequence[str]) -> str:
    quoted = [repr(value) for value in values]
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


E = TypeVar("E", bound=Enum)


def _member(kind: type[E]) -> Callable[[object], E]:
    def check(value: object) -> E:
        if isinstance(value, kind):
            return value
        for member in kind:
            if member.value == value:
                return member
        raise ValueError(f"must be {_choices([member.value for member in kind])}")

    return check


# --- collecting problems: (where, problem) in the order a person reads the file ---

_Found = list[tuple[str, str]]
T = TypeVar("T")


def _check(found: _Found, where: str, check: Callable[[object], T], value: object) -> T | None:
    """`check(value)`, or None with its problem added to `found`."""
    try:
        return check(value)
    except _Problem as exc:
        found.append((where + exc.where, exc.problem))
    except ValueError as exc:
        found.append((where, str(exc)))
    return None


def _items(
    found: _Found, where: str, value: object, check: Callable[[object], T]
) -> tuple[T, ...] | None:
    """A list of values, each checked (every broken item is a problem)."""
    if not isinstance(value, (list, tuple)):
        found.append((where, "must be a list"))
        return None
    before = len(found)
    kept = [_check(found, f"{where}[{index}]", check, item) for index, item in enumerate(value)]
    return tuple(item for item in kept if item is not None) if len(found) == before else None


def _table(
    found: _Found, where: str, value: object, fields: Mapping[str, Callable[[object], Any]]
) -> dict[str, Any] | None:
    """A table with exactly `fields` (each required), each checked; unknown keys are problems."""
    before = len(found)
    if not isinstance(value, Mapping):
        found.append((where, 'must be a table like {posture = "sit", minutes = 30}'))
        return None
    out = {}
    for key, check in fields.items():
        if key not in value:
            found.append((f"{where}.{key}", "is required"))
        else:
            out[key] = _check(found, f"{where}.{key}", check, value[key])
    for key in value:
        if key not in fields:
            found.append((f"{where}.{_shown(key)}", _UNKNOWN))
    return out if len(found) == before else None


_UNKNOWN = "is not a setting a profile has (a typo?)"
_STEP = {"posture": _member(Posture), "minutes": _ranged(0, 240, above=True)}


def _step(found: _Found, where: str, value: object) -> CycleStep | None:
    fields = _table(found, where, value, _STEP)
    return None if fields is None else CycleStep(**fields)


def _cycle(found: _Found, value: object) -> tuple[CycleStep, ...] | None:
    """The cycle: every broken step is a problem, unless there are too many good ones (then
    that is the one problem)."""
    if not isinstance(value, (list, tuple)):
        found.append(("cycle", "must be a list"))
        return None
    broken: _Found = []
    kept: list[CycleStep] = []
    for index, item in enumerate(value):
        step = _step(broken, f"cycle[{index}]", item)
        if step is not None:
            kept.append(step)
            if len(kept) > _MAX_CYCLE:
                found.append(("cycle", f"has more than {_MAX_CYCLE} entries"))
                return None
    found += broken
    if broken:
        return None
    if not kept:
        found.append(("cycle", "must not be empty"))
        return None
    return tuple(kept)


_FIELDS = (  # the keys a profile file may hold besides its name, in the order they are checked
    "description",
    "sit",
    "stand",
    "cycle",
    "weekdays",
    "hours",
    "hours_on",
    "warn_s",
    "confirm",
    "stand_for_meetings",
    "prefer_areas",
    "prefer_kinds",
)
_CHECKS: dict[str, Callable[[object], Any]] = {
    "description": _text,
    "sit": _parse_height,
    "stand": _parse_height,
    "weekdays": _parse_weekdays,
    "hours": _parse_day_hours,
    "hours_on": _parse_hours_on,
    "warn_s": _ranged(0, 600),
    "confirm": _yes_no,
    "stand_for_meetings": _yes_no,
    "prefer_areas": _member(Area),
    "prefer_kinds": _member(Kind),
}
_REQUIRED = ("sit", "stand")
_DEFAULTS: dict[str, Any] = {"cycle": _DEFAULT_CYCLE, "weekdays": frozenset(range(5))}


def _validate(name: str, data: Mapping[str, Any]) -> tuple[Profile | None, _Found]:
    """The profile, or None and every problem found: the fields in order, then unknown keys."""
    found: _Found = []
    _check(found, "name", _profile_name, name)
    good: dict[str, Any] = {}  # the fields read so far that hold no problem
    for key in _FIELDS:
        if key not in data:
            if key in _REQUIRED:
                found.append((key, "is required"))
            elif key in _DEFAULTS:
                good[key] = _DEFAULTS[key]  # a rule between fields sees a default as given
            continue
        value = data[key]
        before = len(found)
        if key == "cycle":
            kept: Any = _cycle(found, value)
        elif key.startswith("prefer_"):
            kept = _items(found, key, value, _CHECKS[key])
        else:
            kept = _check(found, key, _CHECKS[key], value)
        if len(found) == before:
            good[key] = kept
            _relate(found, key, good)
    found += [(_shown(key), _UNKNOWN) for key in data if key not in _FIELDS]
    if found:
        return None, found
    fields = {_KEPT_AS.get(key, key): value for key, value in good.items() if key in data}
    return Profile(name=name, **fields), found


_KEPT_AS = {"sit": "sit_mm", "stand": "stand_mm"}


def _relate(found: _Found, key: str, good: dict[str, Any]) -> None:
    """The rules between fields, checked when `key` (given, and good) has just been read; a
    field it depends on must be good too (given, or its default)."""
    if key == "stand" and "sit" in good and good["stand"] <= good["sit"]:
        found.append(
            (
                "stand",
                f"{format_height(good['stand'])} must be higher than the sit height "
                f"({format_height(good['sit'])})",
            )
        )
    elif key == "hours_on" and "weekdays" in good:
        strays = [day for day in sorted(good["hours_on"]) if day not in good["weekdays"]]
        if strays:
            day = DAY_NAMES[strays[0]]
            found.append((f"hours_on.{day}", f"{day} is not one of the profile's weekdays"))
    elif key == "warn_s" and "cycle" in good:
        shortest_s = min(step.minutes for step in good["cycle"]) * 60
        if good["warn_s"] >= shortest_s:
            found.append(
                (
                    "warn_s",
                    f"the warning of {good['warn_s']} s must be shorter than the shortest block "
                    f"of the cycle ({shortest_s // 60} min)",
                )
            )


def _profile_name(value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a profile name; use lowercase letters, digits, '-', '_' or '.'"
        )
    return value


def parse_profile(
    data: Mapping[str, Any],
    *,
    name: str,
    source: str,
    presets: Mapping[str, int] | None = None,
) -> Profile:
    """Validate one file's mapping; `name` is the file's stem, `source` names it in errors.
    `sit` and `stand` may name one of `presets` (the desk's) instead of a height."""
    fields = heights_of_presets(data, presets, source)
    given = fields.pop("name", name)
    if given != name:
        raise ConfigError(
            f"{source}: name: {given!r} differs from the file's name {name!r}; "
            "rename the file or drop the name"
        )
    profile, found = _validate(name, fields)
    if profile is not None:
        return profile
    where, problem = found[0]
    problem = problem[:1].lower() + problem[1:]
    more = len(found) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    raise ConfigError(f"{source}: {where}: {problem}{tail}")
