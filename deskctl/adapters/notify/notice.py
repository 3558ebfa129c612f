"""`Notice`, what every channel is given, and `Channel`, what every channel is."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from deskctl.core.cues import Cue

__all__ = ["ACTIONS", "Channel", "Notice", "NoticeKind", "OnAction"]

ACTIONS = ("skip", "snooze", "confirm")
"""The actions a notice may offer; a channel that can show buttons shows these."""


class NoticeKind(StrEnum):
    """What happened; the same names as the MQTT event `type`."""

    WARNING = "warning"
    CUE = "cue"
    MOVE_STARTED = "move_started"
    ARRIVED = "arrived"
    MANUAL_MOVE = "manual_move"
    OBSTRUCTION = "obstruction"
    ERROR = "error"
    WITHDRAWN = "withdrawn"  # a warning taken back (the person left, a meeting came)


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell the person about one desk.

    `title` and `body` are written by the service for people. `cue` is set for `cue` notices (and
    may be set on a `warning` to say what comes next). `actions` are what the person may do now,
    from `ACTIONS`, e.g. `("skip", "snooze")` on a warning.
    """

    kind: NoticeKind
    desk: str
    title: str
    body: str = ""
    cue: Cue | None = None
    actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", NoticeKind(self.kind))
        unknown = [action for action in self.actions if action not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown notice action {unknown[0]!r}; known: {', '.join(ACTIONS)}")


OnAction = Callable[[Notice, str], None]
"""Called when the person picks an action on a notice (a desktop button): (notice, action).
The service should act only if that notice is still the current one (a late press on an old
warning must not skip the next change)."""


class Channel(abc.ABC):
    """One way of reaching the person. `send` logs its own expected failures and returns."""

    name: str = "channel"

    @abc.abstractmethod
    async def send(self, notice: Notice) -> None:
        """Deliver one notice; `Notifiers` bounds it in time and catches what escapes."""

    async def aclose(self) -> None:
        """Release what the channel holds (connections); the default holds nothing."""
        return None
