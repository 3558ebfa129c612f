"""Is the person at the desk? What the service believes, from the presence sources. Pure.

Design:
- Sources (adapters at the edge: GNOME's idle monitor, the freedesktop ScreenSaver, logind, X11,
  a Wayland compositor, home automation) report `Event`s: idle past the threshold / active
  again, locked / unlocked, about to sleep / resumed, gone (the source vanished). The caller
  passes the time of each event in, as a monotonic reading (`mono_s`, for durations) and an
  aware datetime (`at`, for what people read); nothing here reads a clock.
- Each source that has spoken and not gone holds a set of away conditions (idle, locked, asleep),
  each with the moment it began. An idle event carries `idle_s`, how long the input had already
  been still, so the condition starts at the last input, not when the threshold was crossed.
- The belief (`Belief`): with the home automation mode `present` or `away`, that mode, whatever
  the sources say. In `auto`: no source at all is `unknown` (the schedule runs on the clock as
  before); any source holding an away condition is `away` (asleep before locked before idle
  names the reason); otherwise `present`. Every belief says since when, from which source, and
  why, in one sentence.
- An away stretch runs from the moment the belief became `away` (back-dated to the last input
  when an idle report caused it, never before the belief it ends began) to the moment it stops
  being `away`; `away_stretch_s` measures the one in progress, `last_stretch` keeps the one
  that ended last, and `counts_as_break` says whether a stretch is long enough to be a break;
  `present_for_s` says how long the person has been back.
- Durations are on the monotonic clock (a wall clock jump cannot fake a break). On Linux it stands
  still while the machine sleeps, so on resume the time asleep by the wall clock that the
  monotonic clock missed is added to the model's own running time.
- Two thresholds (`Thresholds`): `away_after_s`, idle this long vetoes moves (the idle sources
  watch for it), and `break_after_s`, an away stretch at least this long counts as a break.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from deskctl.core.units import format_duration

__all__ = [
    "SOURCE_LABELS",
    "Belief",
    "Event",
    "Mode",
    "PresenceModel",
    "Signal",
    "State",
    "Stretch",
    "Thresholds",
]

HOME = "home"  # the source name of the home automation mode
SOURCE_LABELS = {
    "mutter": "GNOME's idle monitor",
    "screensaver": "the ScreenSaver service",
    "logind": "logind",
    "x11": "the X server",
    "wayland": "the Wayland compositor",
    HOME: "home automation",
}
UNKNOWN_REASON = "no presence source is available, so the schedule runs on the clock"


class Signal(enum.StrEnum):
    IDLE = "idle"  # no input for the away threshold (or longer: `idle_s`)
    ACTIVE = "active"  # input again
    LOCKED = "locked"
    UNLOCKED = "unlocked"
    SLEEPING = "sleeping"  # the machine is about to sleep
    RESUMED = "resumed"
    GONE = "gone"  # the source vanished; it no longer counts


class Mode(enum.StrEnum):
    """The home automation mode: `auto` lets the sources decide."""

    AUTO = "auto"
    PRESENT = "present"
    AWAY = "away"


class State(enum.StrEnum):
    PRESENT = "present"
    AWAY = "away"
    UNKNOWN = "unknown"


class _Condition(enum.IntEnum):  # the order names the reason when several hold
    IDLE = 1
    LOCKED = 2
    ASLEEP = 3


_SETS = {Signal.IDLE: _Condition.IDLE, Signal.LOCKED: _Condition.LOCKED}
_SETS[Signal.SLEEPING] = _Condition.ASLEEP
_CLEARS = {
    Signal.ACTIVE: _Condition.IDLE,
    Signal.UNLOCKED: _Condition.LOCKED,
    Signal.RESUMED: _Condition.ASLEEP,
}


@dataclass(frozen=True, slots=True)
class Event:
    """What one source reports. `idle_s`: for IDLE, how long the input has been still."""

    source: str
    signal: Signal
    idle_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.source:
            raise ValueError("a presence event needs the name of its source")
        if not self.idle_s >= 0:
            raise ValueError(f"idle time must be zero or more, not {self.idle_s}")


@dataclass(frozen=True, slots=True)
class Thresholds:
    away_after_s: float = 300.0
    break_after_s: float = 600.0

    def __post_init__(self) -> None:
        if not 0 < self.away_after_s <= self.break_after_s:
            raise ValueError(
                f"away_after_s ({self.away_after_s:g}) must be above 0 and at most "
                f"break_after_s ({self.break_after_s:g})"
            )

    def counts_as_break(self, away_s: float) -> bool:
        """An away stretch this long counts as a break (the sitting bout ends)."""
        return away_s >= self.break_after_s


@dataclass(frozen=True, slots=True)
class Belief:
    state: State
    since: datetime | None  # None: unknown from the start
    source: str | None  # the source the reason comes from; None when unknown
    reason: str  # one sentence, no full stop
    mode: Mode = Mode.AUTO

    @property
    def vetoes_moves(self) -> bool:
        return self.state is State.AWAY


@dataclass(frozen=True, slots=True)
class Stretch:
    """An away stretch that has ended."""

    start: datetime
    end: datetime
    away_s: float
    reason: str


@dataclass(slots=True)
class _Held:
    since_s: float  # on the model's running time
    since: datetime
    idle_s: float = 0.0


@dataclass(slots=True)
class _Source:
    held: dict[_Condition, _Held] = field(default_factory=dict)
    present_reason: str = ""


def _label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def _away_reason(source: str, condition: _Condition, held: _Held) -> str:
    label = _label(source)
    if condition is _Condition.ASLEEP:
        return f"{label} says the machine is asleep"
    if condition is _Condition.LOCKED:
        return f"{label} says the screen is locked"
    return f"{label} saw no input for {format_duration(held.idle_s)}"


def _present_reason(source: str, signal: Signal) -> str:
    label = _label(source)
    return {
        Signal.ACTIVE: f"{label} saw input",
        Signal.UNLOCKED: f"{label} says the screen is unlocked",
        Signal.RESUMED: f"{label} says the machine resumed",
    }.get(signal, f"{label} reports nothing away")


class PresenceModel:
    """The belief from the events so far. Feed it `observe` and `set_mode`; read `belief`."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._sources: dict[str, _Source] = {}
        self._mode = Mode.AUTO
        self._offset_s = 0.0  # time asleep the monotonic clock missed
        self._asleep_at: tuple[float, datetime] | None = None
        self._belief = Belief(State.UNKNOWN, None, None, UNKNOWN_REASON)
        self._since_s: float | None = None  # when the current belief began, on running time
        self.last_stretch: Stretch | None = None

    @property
    def belief(self) -> Belief:
        return self._belief

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources that have spoken and not gone, the latest to speak last."""
        return tuple(self._sources)

    def away_stretch_s(self, mono_s: float) -> float:
        """How long the away stretch in progress has lasted; 0 when not away."""
        if self._belief.state is not State.AWAY or self._since_s is None:
            return 0.0
        return max(0.0, mono_s + self._offset_s - self._since_s)

    def present_for_s(self, mono_s: float) -> float:
        """How long the person has been present (for "no move in the first minute back");
        0 when not present."""
        if self._belief.state is not State.PRESENT or self._since_s is None:
            return 0.0
        return max(0.0, mono_s + self._offset_s - self._since_s)

    def counts_as_break(self, away_s: float) -> bool:
        return self.thresholds.counts_as_break(away_s)

    def set_mode(self, mode: Mode, *, mono_s: float, at: datetime) -> Belief:
        """Home automation's word: `present` or `away` decides; `auto` hands back to sources."""
        self._mode = Mode(mode)
        return self._settle(mono_s + self._offset_s, at, backdate=None)

    def observe(self, event: Event, *, mono_s: float, at: datetime) -> Belief:
        """One report from a source, at `mono_s` / `at`; answers the belief after it."""
        self._track_sleep(event.signal, mono_s, at)
        now_s = mono_s + self._offset_s
        if event.signal is Signal.GONE:
            self._sources.pop(event.source, None)
            return self._settle(now_s, at, backdate=None)
        source = self._sources.pop(event.source, None) or _Source()
        self._sources[event.source] = source  # the latest to speak comes last
        backdate: _Held | None = None
        if event.signal in _SETS:
            condition = _SETS[event.signal]
            if condition not in source.held:
                ago = event.idle_s
                source.held[condition] = _Held(now_s - ago, at - timedelta(seconds=ago), ago)
                backdate = source.held[condition] if condition is _Condition.IDLE else None
        else:
            source.held.pop(_CLEARS[event.signal], None)
            source.present_reason = _present_reason(event.source, event.signal)
        if not source.present_reason:
            source.present_reason = f"{_label(event.source)} reports nothing away"
        return self._settle(now_s, at, backdate=backdate)

    def _track_sleep(self, signal: Signal, mono_s: float, at: datetime) -> None:
        if signal is Signal.SLEEPING and self._asleep_at is None:
            self._asleep_at = (mono_s, at)
        elif signal is Signal.RESUMED and self._asleep_at is not None:
            slept_mono_s, slept_at = self._asleep_at
            missed_s = (at - slept_at).total_seconds() - (mono_s - slept_mono_s)
            self._offset_s += max(0.0, missed_s)
            self._asleep_at = None

    def _auto(self) -> tuple[State, str | None, str]:
        if not self._sources:
            return State.UNKNOWN, None, UNKNOWN_REASON
        strongest: tuple[_Condition, str, _Held] | None = None
        for name, source in self._sources.items():
            for condition, held in source.held.items():
                if strongest is None or condition > strongest[0]:
                    strongest = (condition, name, held)
        if strongest is not None:
            condition, name, held = strongest
            return State.AWAY, name, _away_reason(name, condition, held)
        name, source = next(reversed(self._sources.items()))
        return State.PRESENT, name, source.present_reason

    def _settle(self, now_s: float, at: datetime, *, backdate: _Held | None) -> Belief:
        if self._mode is Mode.AUTO:
            state, source, reason = self._auto()
        else:
            state, source = State(self._mode.value), HOME
            reason = f"home automation says {self._mode.value}"
        old = self._belief
        since_s, since = self._since_s, old.since
        if state is not old.state:
            since_s, since = now_s, at
            if state is State.AWAY and backdate is not None:
                floor_s = self._since_s if self._since_s is not None else backdate.since_s
                if backdate.since_s >= floor_s:
                    since_s, since = backdate.since_s, backdate.since
                elif old.since is not None:
                    since_s, since = floor_s, old.since
            if old.state is State.AWAY and self._since_s is not None and old.since is not None:
                self.last_stretch = Stretch(old.since, at, now_s - self._since_s, old.reason)
        self._since_s = since_s
        self._belief = Belief(state, since, source, reason, self._mode)
        return self._belief
