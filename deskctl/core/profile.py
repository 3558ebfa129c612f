"""Profiles: a person's sit/stand setup, validated from the mapping a TOML file holds.

Design: `parse_profile(data, name=..., source=...)` turns the mapping of one TOML file into a
frozen `Profile` (a pydantic model), or raises `ConfigError` with ONE sentence naming the file,
the field and the problem, e.g. `profiles/x.toml: cycle[1].minutes: must be above 0`. The shell
reads the file; this module never touches disk.

Inside, heights are int millimetres (`sit = "72cm"` in the file becomes `sit_mm = 720`), working
hours are minutes since midnight (`"09:00-12:30"` becomes `Hours(540, 750)`; `24:00` may end a
range) and weekdays are `date.weekday()` numbers (mon = 0). Every setting except the heights has
a default, the `default` profile's: 30 min sit / 15 min stand, 09:00-12:30 and 13:30-17:30,
Monday to Friday, a 30 s warning, no confirmation. Unknown keys are errors, so typos show.

Rules beyond the types: stand is higher than sit; ranges of a day are in order and do not
overlap; a day in `hours_on` (per-weekday hours) is one of `weekdays`; the warning is shorter
than the shortest block of the cycle; the name (the file's stem) is lowercase letters, digits,
`-`, `_` and `.`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from deskctl.core.cues import Area, Kind
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
    """A validation problem below the field pydantic knows about (`where` like `[1]` or `.fri`)."""

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


HeightMM = Annotated[int, PlainValidator(_parse_height)]
DayHours = Annotated[tuple[Hours, ...], PlainValidator(_parse_day_hours)]
Weekdays = Annotated[frozenset[int], PlainValidator(_parse_weekdays)]
HoursOn = Annotated[dict[int, tuple[Hours, ...]], PlainValidator(_parse_hours_on)]


class CycleStep(BaseModel):
    """One block of the repeating cycle: a posture held for some minutes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    posture: Posture
    minutes: int = Field(gt=0, le=240)


_DEFAULT_CYCLE = (
    CycleStep(posture=Posture.SIT, minutes=30),
    CycleStep(posture=Posture.STAND, minutes=15),
)
_DEFAULT_HOURS = (Hours(9 * 60, 12 * 60 + 30), Hours(13 * 60 + 30, 17 * 60 + 30))


class Profile(BaseModel):
    """A person's setup: heights, the cycle of postures, working hours, warning and cue taste."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    sit_mm: HeightMM = Field(alias="sit")
    stand_mm: HeightMM = Field(alias="stand")
    cycle: tuple[CycleStep, ...] = Field(default=_DEFAULT_CYCLE, min_length=1, max_length=64)
    weekdays: Weekdays = frozenset(range(5))
    hours: DayHours = _DEFAULT_HOURS
    hours_on: HoursOn = Field(default_factory=dict)
    warn_s: int = Field(default=30, ge=0, le=600)
    confirm: bool = False
    prefer_areas: tuple[Area, ...] = ()
    prefer_kinds: tuple[Kind, ...] = ()

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not a profile name; use lowercase letters, digits, '-', '_' or '.'"
            )
        return value

    @field_validator("stand_mm")
    @classmethod
    def _stand_above_sit(cls, value: int, info: ValidationInfo) -> int:
        sit_mm = info.data.get("sit_mm")
        if sit_mm is not None and value <= sit_mm:
            raise ValueError(
                f"{format_height(value)} must be higher than the sit height "
                f"({format_height(sit_mm)})"
            )
        return value

    @field_validator("hours_on")
    @classmethod
    def _days_are_workdays(
        cls, value: dict[int, tuple[Hours, ...]], info: ValidationInfo
    ) -> dict[int, tuple[Hours, ...]]:
        weekdays = info.data.get("weekdays")
        for day in sorted(value):
            if weekdays is not None and day not in weekdays:
                raise _Problem(
                    f".{DAY_NAMES[day]}", f"{DAY_NAMES[day]} is not one of the profile's weekdays"
                )
        return value

    @field_validator("warn_s")
    @classmethod
    def _warn_fits(cls, value: int, info: ValidationInfo) -> int:
        cycle = info.data.get("cycle")
        if cycle:
            shortest_s = min(step.minutes for step in cycle) * 60
            if value >= shortest_s:
                raise ValueError(
                    f"the warning of {value} s must be shorter than the shortest block "
                    f"of the cycle ({shortest_s // 60} min)"
                )
        return value

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


def parse_profile(data: Mapping[str, Any], *, name: str, source: str) -> Profile:
    """Validate one file's mapping; `name` is the file's stem, `source` names it in errors."""
    fields = dict(data)
    given = fields.pop("name", name)
    if given != name:
        raise ConfigError(
            f"{source}: name: {given!r} differs from the file's name {name!r}; "
            "rename the file or drop the name"
        )
    fields["name"] = name
    try:
        return Profile.model_validate(fields)
    except ValidationError as exc:
        errors = _root_causes(exc.errors())
        more = len(errors) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{source}: {_describe(errors[0])}{tail}") from None


def _root_causes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop pydantic's follow-on `too_short` when an item of that same list is itself broken."""
    return [
        error
        for error in errors
        if not (
            error["type"] == "too_short"
            and any(
                len(other["loc"]) > len(error["loc"])
                and other["loc"][: len(error["loc"])] == error["loc"]
                for other in errors
            )
        )
    ]


def _describe(error: ErrorDetails) -> str:
    """`cycle[1].minutes: must be above 0` from one pydantic error."""
    where = ""
    for part in error["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif part != "[key]":
            where += f".{_shown(part)}" if where else _shown(part)
    ctx = error.get("ctx") or {}
    kind = error["type"]
    cause = ctx.get("error")
    if isinstance(cause, _Problem):
        where += cause.where
        problem = cause.problem
    elif kind == "value_error" and cause is not None:
        problem = str(cause)
    else:
        problem = _PROBLEMS.get(kind, "").format(**ctx) or error["msg"]
    problem = problem[:1].lower() + problem[1:]
    return f"{where}: {problem}" if where else problem


_PROBLEMS = {
    "missing": "is required",
    "extra_forbidden": "is not a setting a profile has (a typo?)",
    "greater_than": "must be above {gt}",
    "greater_than_equal": "must be {ge} or more",
    "less_than_equal": "must be {le} or less",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text in quotes",
    "literal_error": "must be {expected}",
    "enum": "must be {expected}",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "too_short": "must not be empty",
    "too_long": "has more than {max_length} entries",
    "model_type": 'must be a table like {{posture = "sit", minutes = 30}}',
    "model_attributes_type": 'must be a table like {{posture = "sit", minutes = 30}}',
}
