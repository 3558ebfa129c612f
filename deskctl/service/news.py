"""What the service tells its subscribers: one frozen dataclass per kind of event.

Design: every event carries the desk it is about and when it happened (the service's clock),
then its own fields, in the order the JSON on `B/D/event` has always shown them. `kind` is the
event's name on the wire and in the history; `fields()` gives the fields as that JSON's object
(without `type`, `desk` and `at`), so `core.ha.event_payload` keeps producing the same bytes.
A kind may have two shapes (`manual_move` is both a person's move and a command move that a
hand on the buttons ended): each shape is its own class with the same `kind`.
`HeightReported` (every height report, for the control socket's progress lines) and
`StatusChanged` (a desk's `DeskStatus` changed, besides the durations that grow by themselves)
are for adapters; they never reach the history, the notices or `B/D/event`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from deskctl.core.cues import Cue
from deskctl.core.vocab import Outcome, Posture
from deskctl.service.status import DeskStatus

__all__ = [
    "Arrived",
    "ChangeDropped",
    "ConfirmAsked",
    "ConnectionNoted",
    "CueShown",
    "ErrorReported",
    "HeightReported",
    "HeightSettled",
    "HoldStarted",
    "ManualMoved",
    "MoveEnded",
    "MoveOverridden",
    "MoveStarted",
    "Obstructed",
    "PostureChanged",
    "PresenceChanged",
    "PresenceModeAsked",
    "ScheduleChanged",
    "ServiceEvent",
    "SessionChanged",
    "StatusChanged",
    "StepsCounted",
    "Warned",
    "WarningWithdrawn",
]


@dataclass(frozen=True, slots=True)
class _Event:
    desk: str
    at: datetime
    kind: ClassVar[str]
    _optional: ClassVar[frozenset[str]] = frozenset()  # left out of `fields()` when None

    def fields(self) -> dict[str, Any]:
        """The event's own fields as the wire has them (JSON-ready but for `Cue` and times)."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(self)[2:]:
            value = getattr(self, item.name)
            if value is None and item.name in self._optional:
                continue
            out[item.name] = value
        return out


@dataclass(frozen=True, slots=True)
class SessionChanged(_Event):
    kind = "session"
    state: str  # "start" or "stop"


@dataclass(frozen=True, slots=True)
class ErrorReported(_Event):
    kind = "error"
    _optional = frozenset({"held"})
    reason: str
    held: bool | None = None  # a failed move says whether the schedule now holds


@dataclass(frozen=True, slots=True)
class PostureChanged(_Event):
    kind = "posture"
    posture: Posture | None  # None: not counting (off hours, stopping)
    height_mm: int | None


@dataclass(frozen=True, slots=True)
class ScheduleChanged(_Event):
    kind = "schedule"
    state: str
    until: datetime | None
    working: bool


@dataclass(frozen=True, slots=True)
class HeightSettled(_Event):
    """The desk came to rest at a new height."""

    kind = "height"
    height_mm: int


@dataclass(frozen=True, slots=True)
class HeightReported(_Event):
    """Every height report of the link, moving or not (for progress; not news)."""

    kind = "height_report"
    height_mm: int
    moving: bool


@dataclass(frozen=True, slots=True)
class ManualMoved(_Event):
    """Someone moved the desk with its own buttons; `ended` is False when it starts."""

    kind = "manual_move"
    height_mm: int
    ended: bool


@dataclass(frozen=True, slots=True)
class MoveOverridden(_Event):
    """A move deskctl started was ended by a hand on the desk's buttons."""

    kind = "manual_move"
    height_mm: int | None
    reason: str
    held: bool


@dataclass(frozen=True, slots=True)
class Obstructed(_Event):
    kind = "obstruction"
    height_mm: int | None
    reason: str
    held: bool


@dataclass(frozen=True, slots=True)
class ConnectionNoted(_Event):
    kind = "connection"
    connected: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _BlockEvent(_Event):
    """An event about one block of the plan; its times are ISO text as on the wire."""

    posture: Posture
    height_mm: int | None
    start: str
    end: str
    cue: Cue | None


@dataclass(frozen=True, slots=True)
class Warned(_BlockEvent):
    """A change is coming (`move_at`, ISO text)."""

    kind = "warning"
    move_at: str | None
    confirm: bool


@dataclass(frozen=True, slots=True)
class ConfirmAsked(_BlockEvent):
    kind = "confirm"


@dataclass(frozen=True, slots=True)
class ChangeDropped(_BlockEvent):
    kind = "dropped"
    why: str


@dataclass(frozen=True, slots=True)
class CueShown(_Event):
    """A cue at a change; at a walking break, with today's step count (None: none came today)
    and the goal, so the notice can say how far the day is from it (never on `B/D/event`)."""

    kind = "cue"
    _optional = frozenset({"steps_today", "steps_goal"})
    cue: Cue
    change: str
    done: bool
    steps_today: int | None = None
    steps_goal: int | None = None


@dataclass(frozen=True, slots=True)
class HoldStarted(_Event):
    kind = "held"
    reason: str
    told: bool  # the failure's own notice said it already


@dataclass(frozen=True, slots=True)
class MoveStarted(_Event):
    kind = "move_started"
    target_mm: int
    scheduled: bool


@dataclass(frozen=True, slots=True)
class MoveEnded(_Event):
    kind = "move"
    from_mm: int | None
    to_mm: int
    outcome: Outcome
    reason: str  # "scheduled" or "command"


@dataclass(frozen=True, slots=True)
class Arrived(_Event):
    kind = "arrived"
    height_mm: int | None


@dataclass(frozen=True, slots=True)
class WarningWithdrawn(_Event):
    """A warning (or a question) given for a change no longer holds: the person left, or a
    meeting came; the change comes again later, warned again."""

    kind = "withdrawn"
    posture: Posture
    height_mm: int | None
    start: str
    end: str
    cue: Cue | None
    why: str


@dataclass(frozen=True, slots=True)
class PresenceChanged(_Event):
    """What the service believes about the person changed (`state`: present, away, unknown)."""

    kind = "presence"
    state: str
    source: str | None
    since: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class PresenceModeAsked(_Event):
    """Home automation set the presence mode (`SetPresence`): for the presence feed; not news
    (it never reaches the history, the notices or `B/D/event`)."""

    kind = "presence_mode"
    mode: str


@dataclass(frozen=True, slots=True)
class StepsCounted(_Event):
    """Today's step count came in from outside (`SetSteps`), with the goal it is shown against:
    for the history (`deskctl stats`); not on `B/D/event` (the state carries it)."""

    kind = "steps"
    count: int
    goal: int


@dataclass(frozen=True, slots=True)
class StatusChanged(_Event):
    """The desk's status changed (the durations that grow by themselves do not count)."""

    kind = "status"
    status: DeskStatus


ServiceEvent = (
    SessionChanged
    | ErrorReported
    | PostureChanged
    | ScheduleChanged
    | HeightSettled
    | HeightReported
    | ManualMoved
    | MoveOverridden
    | Obstructed
    | ConnectionNoted
    | Warned
    | ConfirmAsked
    | ChangeDropped
    | CueShown
    | HoldStarted
    | MoveStarted
    | MoveEnded
    | Arrived
    | StatusChanged
    | WarningWithdrawn
    | PresenceChanged
    | PresenceModeAsked
    | StepsCounted
)
