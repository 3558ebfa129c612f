"""The day planner: a profile and a date become the day's blocks of sitting, standing and away.

Design: `plan_day(profile, day, tz, ...)` is a pure function.
- Working ranges are wall-clock times in `tz` (`09:00-12:30`); each becomes a real interval by
  attaching the zone to the wall time and converting to UTC. All arithmetic then runs in UTC
  (real minutes), and blocks are handed back in `tz`. So a range on a DST day lasts what the
  clock on the wall says it lasts (01:00-04:00 is 2 h on the spring-forward night, 4 h on the
  fall-back night), and a 30-minute block is 30 real minutes. A wall time the clock skips (02:30
  on the spring-forward night) means the moment it skips to (03:00 summer time); a wall time the
  clock shows twice (02:30 on the fall-back night) means the first time (`wall_time`).
- In each range the profile's cycle starts from its first step and repeats; the block that
  reaches the end of the range is cut there, and the next range starts the cycle afresh. Days off
  and times outside the ranges get no blocks.
- A block whose posture differs from the block before it in the same range starts with a change
  (`to_sit`, `to_stand`, `away`) and carries the picker's cue for that change. The first block of
  every range counts as a change too: the person arrives at the desk (in the morning, after lunch)
  and the desk moves to that posture, so the day starts with mobility, as docs/profiles.md advises.
- `now` re-plans mid-day (a change of profile, a manual move): ranges that are over are dropped,
  and the range that holds `now` restarts the cycle at `now`. `posture_now`, when known, says what
  the person is doing at `now`: the cycle then restarts at its first step in that posture, which
  is no change and gets no cue, so a re-plan never fights the posture the person chose.
- The desk's limits (`min_mm`/`max_mm`) are checked before anything is planned: a profile whose
  sit or stand height lies outside them raises `ConfigError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from deskctl.core.cues import Change, Cue, CuePicker
from deskctl.core.profile import Hours, Profile
from deskctl.core.units import format_height
from deskctl.core.vocab import Posture
from deskctl.errors import ConfigError

__all__ = [
    "Block",
    "Picker",
    "check_fits",
    "day_seed",
    "longest_bout",
    "plan_day",
    "plan_json",
    "plan_with_cues",
    "time_in",
    "wall_time",
    "working_spans",
]

CHANGE_TO: dict[Posture, Change] = {
    Posture.SIT: Change.TO_SIT,
    Posture.STAND: Change.TO_STAND,
    Posture.AWAY: Change.AWAY,
}


class Picker(Protocol):
    """What the planner needs from a cue picker (`deskctl.core.cues.CuePicker` is one)."""

    def pick(self, change: Change) -> Cue: ...


@dataclass(frozen=True, slots=True)
class Block:
    """A stretch of the day in one posture; `change` and `cue` are set when it starts with one.

    `start` and `end` carry the plan's zone. Python compares and subtracts two datetimes of the
    same zone by their wall clocks, which is wrong across a DST change: use `duration`, or
    convert with `.astimezone(UTC)` first.
    """

    start: datetime
    end: datetime
    posture: Posture
    height_mm: int | None
    cue: Cue | None
    change: Change | None

    @property
    def duration(self) -> timedelta:
        """Real time, whatever the wall clock did in between."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "posture": self.posture,
            "height_mm": self.height_mm,
            "cue": None if self.cue is None else self.cue.to_json(),
        }


def day_seed(day: date) -> int:
    """The cue picker's seed for a day (20261130 for 2026-11-30), so a day's plan is stable."""
    return day.year * 10000 + day.month * 100 + day.day


def check_fits(profile: Profile, min_mm: int | None, max_mm: int | None) -> None:
    """Raise `ConfigError` if the profile's sit or stand height lies outside the desk's limits."""
    for posture, height_mm in ((Posture.SIT, profile.sit_mm), (Posture.STAND, profile.stand_mm)):
        if min_mm is not None and height_mm < min_mm:
            raise ConfigError(
                f"profile {profile.name!r}: the {posture} height {format_height(height_mm)} is "
                f"below this desk's lowest allowed height of {format_height(min_mm)}"
            )
        if max_mm is not None and height_mm > max_mm:
            raise ConfigError(
                f"profile {profile.name!r}: the {posture} height {format_height(height_mm)} is "
                f"above this desk's highest allowed height of {format_height(max_mm)}"
            )


def wall_time(day: date, minute: int, tz: tzinfo) -> datetime:
    """The real instant (UTC) when the wall clock in `tz` first shows `minute` of `day` (1440 is
    the midnight after it), or, if the clock skips it, the moment it skips to: 02:30 is 03:00
    summer time on the spring-forward night, and the first 02:30 on the fall-back night."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minute)
    for _ in range(2 * 24 * 60):  # a skipped stretch is an hour, at most a day (Samoa, 2011)
        instant = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the first of two
        if instant.astimezone(tz).replace(tzinfo=None) == wall:
            return instant
        wall += timedelta(minutes=1)  # not on this clock: the skip lands on a later minute
    return wall.replace(tzinfo=tz).astimezone(UTC)


def working_spans(profile: Profile, day: date, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    """The day's working ranges as real intervals (aware, in `tz`; see `Block` on comparing)."""
    spans: list[tuple[datetime, datetime]] = []
    for hours in profile.hours_for(day):
        start, end = _span(hours, day, tz)
        if end > start:
            spans.append((start.astimezone(tz), end.astimezone(tz)))
    return spans


def _span(hours: Hours, day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    return wall_time(day, hours.start_min, tz), wall_time(day, hours.end_min, tz)


def plan_day(
    profile: Profile,
    day: date,
    tz: tzinfo,
    *,
    picker: Picker | None = None,
    now: datetime | None = None,
    posture_now: Posture | None = None,
    min_mm: int | None = None,
    max_mm: int | None = None,
) -> list[Block]:
    """The day's blocks in order; see the module docstring for the rules."""
    check_fits(profile, min_mm, max_mm)
    if now is not None and now.tzinfo is None:
        raise ValueError("`now` needs a time zone")
    now_utc = None if now is None else now.astimezone(UTC)
    blocks: list[Block] = []
    for hours in profile.hours_for(day):
        start, end = _span(hours, day, tz)
        previous: Posture | None = None
        first_step = 0
        if now_utc is not None:
            if end <= now_utc:
                continue
            if start < now_utc:
                start, previous = now_utc, posture_now
                first_step = _step_of(profile, posture_now)
        blocks.extend(
            _fill(
                profile, start, end, tz=tz, picker=picker, previous=previous, first_step=first_step
            )
        )
    return blocks


def plan_with_cues(
    profile: Profile,
    day: date,
    tz: tzinfo,
    cues: Sequence[Cue],
    *,
    now: datetime | None = None,
    posture_now: Posture | None = None,
    min_mm: int | None = None,
    max_mm: int | None = None,
) -> list[Block]:
    """`plan_day` with the day's seeded picker: `deskctl plan` shows the cues the service gives."""
    picker = CuePicker(
        cues,
        seed=day_seed(day),
        prefer_areas=profile.prefer_areas,
        prefer_kinds=profile.prefer_kinds,
    )
    return plan_day(
        profile,
        day,
        tz,
        picker=picker,
        now=now,
        posture_now=posture_now,
        min_mm=min_mm,
        max_mm=max_mm,
    )


def _step_of(profile: Profile, posture: Posture | None) -> int:
    """The first step of the cycle in `posture` (0 if none is): a re-plan follows the person."""
    for index, step in enumerate(profile.cycle):
        if step.posture == posture:
            return index
    return 0


def _fill(
    profile: Profile,
    start: datetime,
    end: datetime,
    *,
    tz: tzinfo,
    picker: Picker | None,
    previous: Posture | None,
    first_step: int = 0,
) -> list[Block]:
    """One range (UTC instants) filled with the cycle from `first_step`, cut at `end`."""
    blocks: list[Block] = []
    cycle = profile.cycle
    at = start
    index = first_step
    while at < end:
        step = cycle[index % len(cycle)]
        stop = min(at + timedelta(minutes=step.minutes), end)
        change = None if step.posture == previous else CHANGE_TO[step.posture]
        cue = picker.pick(change) if (change is not None and picker is not None) else None
        blocks.append(
            Block(
                start=at.astimezone(tz),
                end=stop.astimezone(tz),
                posture=step.posture,
                height_mm=profile.height_for(step.posture),
                cue=cue,
                change=change,
            )
        )
        previous = step.posture
        at = stop
        index += 1
    return blocks


def time_in(blocks: Sequence[Block], posture: Posture) -> timedelta:
    """Total real time planned in `posture`."""
    return sum((b.duration for b in blocks if b.posture == posture), timedelta())


def longest_bout(blocks: Sequence[Block], posture: Posture) -> timedelta:
    """The longest unbroken stretch in `posture` (adjacent blocks of it count as one bout)."""
    longest = current = timedelta()
    previous: Block | None = None
    for block in blocks:
        joined = (
            previous is not None
            and previous.posture == posture
            and previous.end.astimezone(UTC) == block.start.astimezone(UTC)
        )
        if block.posture == posture:
            current = (current if joined else timedelta()) + block.duration
            longest = max(longest, current)
        previous = block
    return longest


def plan_json(profile_name: str, day: date, blocks: Sequence[Block]) -> dict[str, object]:
    """The object `deskctl plan --json` prints (DESIGN.md)."""
    return {
        "profile": profile_name,
        "date": day.isoformat(),
        "blocks": [block.to_json() for block in blocks],
    }
