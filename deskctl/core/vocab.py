"""The words deskctl says on every wire: postures, how a move ended, the schedule's state, and
what the next change waits for.

Design: each vocabulary is one `StrEnum`, defined here once and imported by the core, the
service, the history, MQTT and the CLI alike. A member is its word (`Posture.SIT == "sit"`,
`str(Outcome.ARRIVED) == "arrived"`, JSON writes the word), so the control socket, `B/D/state`,
`B/D/event`, the history and `--json` carry the same strings as before
(tests/test_wire_formats.py pins them). Read a word back with `Posture(word)` (ValueError if it
is not one), or test it with `word in tuple(Posture)` (`word in Posture` raises on Python 3.11).
"""

from __future__ import annotations

import enum
from typing import Literal

__all__ = ["DeskPosture", "Outcome", "Posture", "ScheduleState", "Waiting"]


class Posture(enum.StrEnum):
    """What a person does at the desk in a block of the day, or now."""

    SIT = "sit"
    STAND = "stand"
    AWAY = "away"  # a walk break: the desk stays where it is


# the postures a height can mean (away has no height)
DeskPosture = Literal[Posture.SIT, Posture.STAND]


class Outcome(enum.StrEnum):
    """How a move ended (a link's decision, a `move` event, a history row)."""

    ARRIVED = "arrived"
    OBSTRUCTION = "obstruction"
    MANUAL_PRESS = "manual_press"
    TIMEOUT = "timeout"
    STOPPED = "stopped"
    LINK_LOST = "link_lost"


class ScheduleState(enum.StrEnum):
    """The schedule's state, as status, MQTT and the history say it."""

    RUNNING = "running"
    PAUSED = "paused"
    INHIBITED = "inhibited"
    OFF_HOURS = "off_hours"
    OFF = "off"


class Waiting(enum.StrEnum):
    """What the next change waits for, besides time (status and MQTT `waiting_for`)."""

    SCHEDULE_ON = "schedule_on"  # the schedule is off (`deskctl schedule on`)
    RESUME = "resume"  # a pause, or a hold after an obstruction (`deskctl resume`)
    INHIBIT_OFF = "inhibit_off"  # inhibit is on (a meeting, away)
    CONFIRM = "confirm"  # the profile asks first (`deskctl confirm`)
    AWAY = "away"  # the person is away (presence): the change waits for them to come back
    MEETING = "meeting"  # a meeting holds the desk still until its end
