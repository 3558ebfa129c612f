"""The desk's history as values, and the per-day stats drawn from it (pure).

Design: the history is a list of `Event`s (desk, aware time, kind, data). `check_event` is the one
place that says which kinds exist and what each carries; the store calls it before writing.

| kind       | data                                                                             |
|------------|----------------------------------------------------------------------------------|
| `height`   | `height_mm` (int): the desk came to rest at a new height                          |
| `posture`  | `posture` (sit/stand/away), `height_mm` (int or None): a posture bout starts      |
| `move`     | `from_mm` (int or None), `to_mm` (int), `outcome`, `reason`                       |
| `cue`      | `id`, `title`, `area` (str), `status` (shown/done/skipped/snoozed)                |
| `schedule` | `state` (running/paused/inhibited/off_hours/off), optional `until` (aware time),  |
|            | optional `working` (bool: inside the profile's working hours)                    |
| `session`  | `state` (start/stop): the service started or stopped                             |
| `steps`    | `count`, `goal` (int): today's step count came in from outside, and the goal      |
Other keys may ride along (any JSON value or aware datetime).

`daily_stats` turns one desk's events into a row per local day. Only time that counts makes a
bout: the service running (from a `session` start to its stop) and inside working hours (the last
`schedule` event's `working`; rows from before it was recorded: state not `off_hours`), so
evenings, nights and lunch are neither sitting nor away. Bouts: a `posture` event in that time
starts a bout that lasts until the next `posture` event of another posture (the same posture
again just continues the bout), a `session` stop, working hours ending, or `now` if still open.
A `session` start while a bout is open means the service died without a stop: the bout ends at
the last event seen before it, the last moment the history vouches for. Each bout is clipped at
local midnights, so a bout across midnight counts on both days and its longest part is per day.
All arithmetic runs in UTC, so a 23- or 25-hour DST day holds exactly the seconds it has (aware
datetimes sharing a ZoneInfo subtract by wall clock, which is wrong across a DST change). Events
after `now` are ignored; at one instant, session and schedule events come before the others.
A change is a posture event whose posture differs from the open bout's; it counts on its day.
Cues: `shown` when the service showed one, `done` only when the person confirmed it or the desk
really went to the posture the cue came with (the service records that second row), `skipped`
when its change was skipped. They, moves and obstructions count on the local day they happened.
Steps: a day's `steps` and `steps_goal` are those of its last `steps` event (0 and 0 without one),
so the totals add the days that had a count, goals too.

A service that died: the next one to start records its `session` stop at the dead one's last
heartbeat. A running service beats every `HEARTBEAT_S` (kept as state, not as rows; passed here
as `alive_at`): a bout still open at the end of the history runs until `now` only while that
heartbeat is fresh (within `ALIVE_S`); otherwise the service died and the bout ends at its last
heartbeat (or the last event, if later).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from deskctl.core.vocab import Outcome, Posture, ScheduleState

__all__ = [
    "ALIVE_S",
    "COUNTS",
    "CUE_STATUSES",
    "HEARTBEAT_S",
    "KINDS",
    "MOVE_REASONS",
    "SESSION_STATES",
    "DayStats",
    "Event",
    "Totals",
    "check_event",
    "daily_stats",
    "stats_json",
    "totals",
    "working_hours",
]

MOVE_REASONS = ("scheduled", "command", "manual")
CUE_STATUSES = ("shown", "done", "skipped", "snoozed")
SESSION_STATES = ("start", "stop")
HEARTBEAT_S = 60.0  # a running service says it is alive at most this often (one state update)
ALIVE_S = 3 * HEARTBEAT_S  # a heartbeat older than this belongs to a service that died


@dataclass(frozen=True)
class Event:
    """One thing that happened at a desk."""

    desk: str
    at: datetime
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


class _Field(NamedTuple):
    kind: type
    choices: tuple[str, ...] = ()
    nullable: bool = False
    required: bool = True


_SCHEMA: dict[str, dict[str, _Field]] = {
    "height": {"height_mm": _Field(int)},
    "posture": {"posture": _Field(str, tuple(Posture)), "height_mm": _Field(int, nullable=True)},
    "move": {
        "from_mm": _Field(int, nullable=True),
        "to_mm": _Field(int),
        "outcome": _Field(str, tuple(Outcome)),
        "reason": _Field(str, MOVE_REASONS),
    },
    "cue": {
        "id": _Field(str),
        "title": _Field(str),
        "area": _Field(str),
        "status": _Field(str, CUE_STATUSES),
    },
    "schedule": {
        "state": _Field(str, tuple(ScheduleState)),
        "until": _Field(datetime, nullable=True, required=False),
        "working": _Field(bool, required=False),
    },
    "session": {"state": _Field(str, SESSION_STATES)},
    "steps": {"count": _Field(int), "goal": _Field(int)},
}
KINDS = tuple(_SCHEMA)


def check_event(kind: str, data: Mapping[str, Any]) -> None:
    """Raise ValueError (a caller's bug) unless `data` is what `kind` carries."""
    schema = _SCHEMA.get(kind)
    if schema is None:
        raise ValueError(f"{kind!r} is not a kind of event; the kinds are {', '.join(KINDS)}")
    for name, spec in schema.items():
        if name not in data:
            if spec.required:
                raise ValueError(f"a {kind} event needs {name!r}")
            continue
        value = data[name]
        if value is None and spec.nullable:
            continue
        if not isinstance(value, spec.kind) or (spec.kind is int and isinstance(value, bool)):
            raise ValueError(f"{kind}.{name} must be {spec.kind.__name__}, not {value!r}")
        if spec.choices and value not in spec.choices:
            raise ValueError(f"{kind}.{name} is one of {', '.join(spec.choices)}, not {value!r}")
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"{kind}.{name} needs a time zone")


@dataclass(frozen=True, kw_only=True)
class _Counts:
    """What a stats row counts; durations in whole seconds."""

    sitting_s: int = 0
    standing_s: int = 0
    away_s: int = 0
    changes: int = 0
    longest_sitting_bout_s: int = 0
    cues_done: int = 0
    cues_skipped: int = 0
    moves: int = 0
    obstructions: int = 0
    cues_shown: int = 0
    steps: int = 0  # the day's last step count from outside (0: none came)
    steps_goal: int = 0  # the goal it was shown against (0: no count came)

    def _counts(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COUNTS}


@dataclass(frozen=True)
class DayStats(_Counts):
    """One local day of a desk's history; durations in whole seconds."""

    day: date

    def as_json(self) -> dict[str, Any]:
        """The documented `stats --json` day row."""
        return {"date": self.day.isoformat(), **self._counts()}


@dataclass(frozen=True)
class Totals(_Counts):
    """Sums over days; `longest_sitting_bout_s` is the longest of any day."""

    def as_json(self) -> dict[str, Any]:
        return self._counts()


COUNTS = tuple(f.name for f in fields(_Counts))  # a stats row's counts, in their stable order


def totals(days: Sequence[DayStats]) -> Totals:
    """Add the days up (the longest bout is the maximum, not a sum)."""
    sums = {name: sum(getattr(d, name) for d in days) for name in COUNTS}
    sums["longest_sitting_bout_s"] = max((d.longest_sitting_bout_s for d in days), default=0)
    return Totals(**sums)


def stats_json(desk: str, tz_name: str, days: Sequence[DayStats]) -> dict[str, Any]:
    """The documented `deskctl stats --json` object."""
    return {
        "desk": desk,
        "tz": tz_name,
        "days": [d.as_json() for d in days],
        "totals": totals(days).as_json(),
    }


class _Bout(NamedTuple):
    posture: Posture
    start: datetime  # UTC
    end: datetime  # UTC


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{at.isoformat()} needs a time zone")
    return at.astimezone(UTC)


def working_hours(data: Mapping[str, Any]) -> bool:
    """Whether a `schedule` event says working hours are on (older rows: not `off_hours`)."""
    working = data.get("working")
    return working if isinstance(working, bool) else data.get("state") != ScheduleState.OFF_HOURS


def _order(event: Event) -> tuple[datetime, bool]:
    """Time order; at one instant, a session or schedule event before what it frames."""
    return _utc(event.at), event.kind not in ("session", "schedule")


def _bouts(
    ordered: Sequence[Event], now: datetime, alive_at: datetime | None = None
) -> tuple[list[_Bout], list[datetime]]:
    """Posture bouts and posture-change instants (UTC) from time-ordered events up to `now`.

    Only time that counts makes a bout: the service running (between a session's start and its
    stop) and inside working hours (the last `schedule` event's `working`). A posture outside
    that time is not a bout, and the first posture once it counts again is not a change.
    """
    bouts: list[_Bout] = []
    changes: list[datetime] = []
    open_: tuple[Posture, datetime] | None = None
    running = True  # histories from before sessions were recorded: always
    working = True  # before the first schedule event: as if working
    last_seen: datetime | None = None
    for event in ordered:
        at = _utc(event.at)
        if at > now:
            break
        if event.kind == "posture" and event.data.get("posture") in tuple(Posture):
            posture = Posture(event.data["posture"])
            if not (running and working):  # no time counts now: nothing starts or changes
                pass
            elif open_ is None:
                open_ = (posture, at)
            elif open_[0] != posture:
                bouts.append(_Bout(open_[0], open_[1], at))
                changes.append(at)
                open_ = (posture, at)
        elif event.kind == "session":
            if open_ is not None:
                end = at if event.data.get("state") == "stop" else (last_seen or at)
                bouts.append(_Bout(open_[0], open_[1], end))
                open_ = None
            running = event.data.get("state") != "stop"
        elif event.kind == "schedule":
            working = working_hours(event.data)
            if not working and open_ is not None:
                bouts.append(_Bout(open_[0], open_[1], at))
                open_ = None
        last_seen = at
    if open_ is not None:
        end = now
        if alive_at is not None and (now - _utc(alive_at)).total_seconds() > ALIVE_S:
            end = min(now, max(_utc(alive_at), last_seen or open_[1]))  # the service died
        bouts.append(_Bout(open_[0], open_[1], end))
    return bouts, changes


def _midnight(day: date, tz: tzinfo) -> datetime:
    """The UTC instant a local day starts (a midnight lost to DST starts at the jump)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass
class _Day:
    """A day being counted: the seconds in each posture and the longest sitting bout (rounded
    once, at the end), and the whole counts under their `_Counts` names."""

    seconds: dict[Posture, float] = field(default_factory=lambda: dict.fromkeys(Posture, 0.0))
    longest_sit_s: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)


def daily_stats(
    events: Iterable[Event],
    first: date,
    last: date,
    tz: tzinfo,
    now: datetime,
    *,
    alive_at: datetime | None = None,
) -> list[DayStats]:
    """One `DayStats` per local day from `first` to `last` (inclusive), as of `now`.

    Pass one desk's events in the order they were recorded, including the latest posture or
    session event from before `first` so a bout already open at the first midnight counts, and
    the newest session's last heartbeat as `alive_at` (None: an open bout runs until `now`).
    """
    if last < first:
        raise ValueError("the last day comes before the first")
    now_utc = _utc(now)
    ordered = sorted(events, key=_order)
    count = (last - first).days + 1
    starts = [_midnight(first + timedelta(days=n), tz) for n in range(count + 1)]
    acc = [_Day() for _ in range(count)]

    def index(at: datetime) -> int:
        return (at.astimezone(tz).date() - first).days

    bouts, changes = _bouts(ordered, now_utc, alive_at)
    for bout in bouts:
        for n in range(max(0, index(bout.start)), min(count, index(bout.end) + 1)):
            overlap_s = (min(bout.end, starts[n + 1]) - max(bout.start, starts[n])).total_seconds()
            if overlap_s > 0:
                acc[n].seconds[bout.posture] += overlap_s
                if bout.posture is Posture.SIT:
                    acc[n].longest_sit_s = max(acc[n].longest_sit_s, overlap_s)
    for at in changes:
        if 0 <= index(at) < count:
            acc[index(at)].counts["changes"] += 1
    for event in ordered:
        at = _utc(event.at)
        n = index(at)
        if at > now_utc or not 0 <= n < count:
            continue
        if event.kind == "cue" and event.data.get("status") in ("done", "skipped", "shown"):
            acc[n].counts[f"cues_{event.data['status']}"] += 1
        elif event.kind == "steps":  # the last count of the day stands
            acc[n].counts["steps"] = int(event.data["count"])
            acc[n].counts["steps_goal"] = int(event.data["goal"])
        elif event.kind == "move":
            acc[n].counts["moves"] += 1
            acc[n].counts["obstructions"] += event.data.get("outcome") == Outcome.OBSTRUCTION
    return [
        DayStats(
            day=first + timedelta(days=n),
            sitting_s=round(a.seconds[Posture.SIT]),
            standing_s=round(a.seconds[Posture.STAND]),
            away_s=round(a.seconds[Posture.AWAY]),
            longest_sitting_bout_s=round(a.longest_sit_s),
            **a.counts,
        )
        for n, a in enumerate(acc)
    ]
