"""`DeskStatus`: one desk's state as the service sees it, and its one JSON form.

Design: the owner task makes a `DeskStatus` (a frozen value) for `Service.snapshot()`, for the
answers to commands and for `StatusChanged` events; adapters read only this value. `status_json`
is the one function that turns it into the object `deskctl status --json`, the control socket
and MQTT `B/D/state` carry: the same keys in the same order as always (a test pins the bytes).
`same_but_growing` compares two values without the durations that grow every second, which is
what "the status changed" means to a subscriber.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deskctl.core.steps import DEFAULT_GOAL
from deskctl.core.vocab import Posture

__all__ = ["GROWING", "DeskFacts", "DeskStatus", "same_but_growing", "status_json"]

GROWING = ("standing_today_s", "sitting_bout_s")  # seconds that grow by themselves


@dataclass(frozen=True, slots=True)
class DeskFacts:
    """What stays true of a desk while the service runs: its name, limits, maker and model."""

    name: str
    min_mm: int
    max_mm: int
    maker: str | None
    model: str
    presets: tuple[tuple[str, int], ...] = ()  # the desk's named heights (name, mm), in order


@dataclass(frozen=True, slots=True)
class DeskStatus:
    """One desk now. Field order is the JSON's key order (`status_json`)."""

    desk: str
    height_mm: int | None
    posture: Posture | None
    moving: bool
    connected: bool
    profile: str
    sit_mm: int
    stand_mm: int
    simulated: bool
    schedule: str
    inhibited: bool
    paused_until: datetime | None
    held: str | None
    next_change_at: datetime | None
    next_posture: Posture | None
    next_cue: dict[str, object] | None
    waiting_for: str | None
    waiting_until: datetime | None
    standing_today_s: int
    sitting_bout_s: int
    last_cue: dict[str, Any] | None
    presence: dict[str, Any] | None = None  # state, source, since, mode, reason
    next_meeting: dict[str, Any] | None = None  # start, end, summary of the next meeting hold
    calendar_problem: str | None = None  # what is wrong with a calendar, one sentence
    memory_slots: int = 0  # the desk's own memory slots (0: none)
    released_until: datetime | None = None  # let go for the vendor's app until then
    steps_today: int | None = None  # the person's step count today (None: none came today)
    steps_goal: int = DEFAULT_GOAL  # the daily goal it is shown against (`[steps] goal`)


def status_json(status: DeskStatus) -> dict[str, Any]:
    """The status as JSON's object: instants as ISO text, everything else as it is."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(status):
        value = getattr(status, item.name)
        out[item.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def same_but_growing(a: DeskStatus | None, b: DeskStatus) -> bool:
    """Whether `a` and `b` say the same, the durations that grow by themselves aside."""
    if a is None:
        return False
    return dataclasses.replace(a, standing_today_s=0, sitting_bout_s=0) == dataclasses.replace(
        b, standing_today_s=0, sitting_bout_s=0
    )
