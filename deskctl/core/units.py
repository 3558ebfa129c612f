"""Heights and durations as people type them, and as deskctl holds them.

Design: every height inside deskctl is an `int` of millimetres and every duration a number of
seconds; text is parsed once at the edge. `72cm`, `720mm`, `28.3in`, `72.5 cm` and a bare number
(taken as cm) are heights; `45m`, `2h`, `1h30m`, `90s` and a bare number (taken as minutes) are
durations; deskctl writes a duration with every unit spelled out (`2 h 0 min 37 s`). Parse errors
are `HeightError`/`DurationError` with one sentence that says what is accepted.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from deskctl.errors import DurationError, HeightError

__all__ = [
    "MAX_DURATION_S",
    "MM_PER_UNIT",
    "check_limits",
    "format_duration",
    "format_height",
    "parse_duration_s",
    "parse_height_mm",
]

MM_PER_UNIT: dict[str, Decimal] = {
    "mm": Decimal(1),
    "cm": Decimal(10),
    "in": Decimal("25.4"),
    '"': Decimal("25.4"),
}
_UNIT_ALIASES = {"": "cm", "inch": "in", "inches": "in"}

# A sign, digits with points or commas, a unit: what is wrong with a near miss gets its own
# sentence (a minus, a comma), anything else the general one.
_HEIGHT = re.compile(
    r"^\s*([-\u2212+]?)\s*([0-9]+(?:[.,][0-9]*)*|[.,][0-9]+)\s*([a-z\"]*)\s*$", re.IGNORECASE
)
_PLAIN_NUMBER = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_ONE_COMMA = re.compile(r"^([0-9]+),([0-9]+)$")
_MAX_TEXT = 64
_FORMS = "like 72cm, 720mm or 28.3in"


def parse_height_mm(text: str, default_unit: str = "cm") -> int:
    """`'72cm'` → 720. A bare number is in `default_unit`. Rounds to the nearest whole mm.

    Refused with their own sentence: a negative height (`-5cm`), and a comma (`1,100mm` or
    `72,5cm`), which may separate thousands or decimals: guessing could move a desk to 1.1 mm
    instead of 1100 mm, so the person is asked to write it without one.
    """
    if len(text) > _MAX_TEXT:
        raise HeightError(f"a height is a number with mm, cm or in, {_FORMS}")
    match = _HEIGHT.match(text)
    if match is None:
        raise HeightError(
            f"{text.strip()!r} is not a height; write a number with mm, cm or in, {_FORMS}"
        )
    sign, number, unit = match.groups()
    if sign in ("-", "\u2212"):
        raise HeightError(
            f"{text.strip()!r}: a height cannot be negative; write how high the desk should "
            f"be, {_FORMS}"
        )
    if "," in number:
        raise HeightError(_comma_sentence(text.strip(), number, unit))
    if sign or not _PLAIN_NUMBER.match(number):
        raise HeightError(
            f"{text.strip()!r} is not a height; write a number with mm, cm or in, {_FORMS}"
        )
    unit = unit.lower()
    unit = _UNIT_ALIASES.get(unit, unit) if unit else default_unit
    if unit not in MM_PER_UNIT:
        raise HeightError(
            f"{unit!r} is not a unit of height; use mm, cm or in, like 72cm, 720mm or 28.3in"
        )
    try:
        value = Decimal(number)
        # quantize raises InvalidOperation when the result has more digits than the context holds
        mm = (value * MM_PER_UNIT[unit]).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise HeightError(
            f"{text.strip()!r} is far too large to be a height; write it like 72cm, 720mm or 28.3in"
        ) from None
    return int(mm)


def _comma_sentence(text: str, number: str, unit: str) -> str:
    """Why a comma is refused, with both readings written out when there are two."""
    one = _ONE_COMMA.match(number)
    if one is None:
        return (
            f"{text!r}: a comma in a height is ambiguous (thousands or decimals); write the "
            f"number without commas, with a point for decimals, {_FORMS}"
        )
    whole, part = one.groups()
    decimal = f"{whole}.{part}".rstrip("0").rstrip(".")
    return (
        f"{text!r}: a comma in a height is ambiguous (thousands or decimals); write "
        f"{whole}{part}{unit} or {decimal}{unit}, with a point for decimals"
    )


def format_height(height_mm: int | None, unit: str = "cm") -> str:
    """720 → `'72.0 cm'`; `unit` is mm, cm or in."""
    if height_mm is None:
        return "unknown"
    if unit == "mm":
        return f"{height_mm} mm"
    if unit == "in":
        return f"{height_mm / 25.4:.1f} in"
    return f"{height_mm / 10:.1f} cm"


def check_limits(height_mm: int, min_mm: int, max_mm: int) -> int:
    """Return `height_mm` if it lies within the desk's limits.

    Else raise `HeightError`: one sentence naming them (and, for one below zero, that comes as
    a number over the control socket, that a height cannot be negative).
    """
    if height_mm < 0:
        raise HeightError(
            f"{format_height(height_mm)} is below this desk's lowest allowed height of "
            f"{format_height(min_mm)} ({min_mm} mm): a height cannot be negative"
        )
    if height_mm < min_mm:
        raise HeightError(
            f"{format_height(height_mm)} is below this desk's lowest allowed height of "
            f"{format_height(min_mm)} ({min_mm} mm)"
        )
    if height_mm > max_mm:
        raise HeightError(
            f"{format_height(height_mm)} is above this desk's highest allowed height of "
            f"{format_height(max_mm)} ({max_mm} mm)"
        )
    return height_mm


# Longer unit names first: the regex takes the first alternative that matches. No IGNORECASE:
# the text is lower-cased first, and IGNORECASE would let 'ſ' or 'ı' match s and i.
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(h|min|m|sec|s)?")
_SECONDS = {"h": 3600, "m": 60, "min": 60, "s": 1, "sec": 1}

# The longest pause or snooze any command may ask for, from the CLI, the socket or MQTT alike: a
# holiday of a few weeks fits, while years (or infinity, which JSON allows) would overflow the
# date arithmetic. A pause without a duration lasts until resume.
MAX_DURATION_S = 30 * 24 * 3600


def parse_duration_s(text: str) -> float:
    """`'45m'` → 2700.0, `'1h30m'` → 5400.0, `'90s'` → 90.0; a bare number is minutes."""
    stripped = text.strip().lower()
    if not stripped or len(stripped) > _MAX_TEXT:
        raise DurationError("a duration is like 45m, 2h, 1h30m or 90s")
    total = 0.0
    pos = 0
    parts = 0
    while pos < len(stripped):
        match = _DURATION_PART.match(stripped, pos)
        if match is None or match.end() == pos:
            raise DurationError(
                f"{text.strip()!r} is not a duration; write it like 45m, 2h, 1h30m or 90s"
            )
        number, unit = match.groups()
        if unit is None and (parts > 0 or match.end() < len(stripped)):
            # a bare number (minutes) is only allowed on its own
            raise DurationError(
                f"{text.strip()!r} is not a duration; give every part a unit, like 1h30m"
            )
        total += float(number) * _SECONDS[(unit or "m").lower()]
        parts += 1
        pos = match.end()
        while pos < len(stripped) and stripped[pos].isspace():
            pos += 1
    if not math.isfinite(total) or total <= 0:
        raise DurationError(f"{text.strip()!r} is not a positive duration")
    return total


def format_duration(seconds: float) -> str:
    """5400 → `'1 h 30 min'`, 7237 → `'2 h 0 min 37 s'`, 30 → `'30 s'` (whole seconds).

    Every unit is spelled out and, below the largest, none is left out up to the smallest that is
    not zero, so no figure can be read as another unit's (`2h37s` read as two hours thirty-seven).
    `parse_duration_s` reads it back.
    """
    whole = round(seconds)
    if whole < 0:
        return "-" + format_duration(-whole)
    parts = [(whole // 3600, "h"), (whole % 3600 // 60, "min"), (whole % 60, "s")]
    while len(parts) > 1 and parts[0][0] == 0:  # from the largest unit that is not zero
        parts.pop(0)
    while len(parts) > 1 and parts[-1][0] == 0:  # to the smallest that is not zero
        parts.pop()
    return " ".join(f"{value} {unit}" for value, unit in parts)
