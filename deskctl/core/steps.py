"""Steps: today's step count, handed in from outside, against a daily goal. Pure.

Design: deskctl counts no steps itself; a phone or a watch does, and home automation passes the
count on (`B/D/steps/set`, a whole number for today, never retained). This module holds what
the service, Home Assistant, `status`, `stats` and the cue at a walking break need of it:
- `parse_steps(text)`: the payload, a whole number from 0 to `MAX_STEPS` (`"5200"`, also
  `"5200.0"` as a Home Assistant template may render it); anything else raises ValueError with
  one sentence (a negative count, a fraction, `"5,200"`, which is 5.2 or 5200 by locale, words).
- `StepsToday(count, day)`: the last count and the local day it was for. `on(day)` is the count
  for `day`, None on any other day, so the count starts again at the day's start in the person's
  zone without a timer (the caller passes the local date; nothing here reads a clock).
- `DEFAULT_GOAL` is 8,000, the low end of the source article's 8,000 to 12,000 steps a day
  (docs/profiles.md); `steps_to_go` and `progress` say where the day stands against a goal, and
  `progress` is the sentence the walking break's cue and `status` show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "DEFAULT_GOAL",
    "MAX_GOAL",
    "MAX_STEPS",
    "StepsToday",
    "parse_steps",
    "progress",
    "steps_to_go",
]

DEFAULT_GOAL = 8000
MAX_STEPS = 200_000  # more than anyone walks in a day: a larger number is a mistake
MAX_GOAL = 100_000
_WHOLE = re.compile(r"([0-9]+)(?:\.0)?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:[,.' ][0-9]{3})+")


def parse_steps(text: str) -> int:
    """Today's step count from a payload; ValueError (one sentence) if it is not one."""
    words = text.strip()
    shown = repr(words if len(words) <= 40 else words[:39] + "…")
    whole = _WHOLE.fullmatch(words)
    if whole is None:
        if _GROUPED.fullmatch(words):
            raise ValueError(f"{shown} is ambiguous; send the step count without separators")
        raise ValueError(f"{shown} is not a step count; send a whole number like 5200")
    digits = whole[1].lstrip("0") or "0"
    if len(digits) > len(str(MAX_STEPS)) or int(digits) > MAX_STEPS:
        raise ValueError(f"{shown} is more steps than a day holds (at most {MAX_STEPS:,})")
    return int(digits)


@dataclass(frozen=True, slots=True)
class StepsToday:
    """The last step count handed in, and the local day it counts for."""

    count: int
    day: date

    def on(self, day: date) -> int | None:
        """The count for `day` (a local date); None if it was for another day."""
        return self.count if day == self.day else None


def steps_to_go(count: int, goal: int) -> int:
    """How many steps are left to the goal (0 once it is reached)."""
    return max(0, goal - count)


def progress(count: int | None, goal: int) -> str:
    """Where the day stands: `5,200 of 8,000 steps today, 2,800 to go`, or that the goal is
    reached; with no count today, what the goal is."""
    if count is None:
        return f"no step count today yet (goal {goal:,})"
    left = steps_to_go(count, goal)
    if left == 0:
        return f"{count:,} of {goal:,} steps today: the goal is reached"
    return f"{count:,} of {goal:,} steps today, {left:,} to go"
