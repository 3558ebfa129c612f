"""What the service's events become: notices for the person, and rows in the history.

Design: the service emits typed events (`service.news`); two subscribers turn them into what
lasts or what the person sees (the history reads the typed events; the notices are worded from
an event's `kind` and its wire fields, as `notice_for` always was):
- `NoticeSink` writes a `Notice` (title and body in the service's words) for the events a person
  should hear about (warning, confirm, cue, move started, arrived, manual move, obstruction, held,
  error) and posts it to the notifiers (terminal, desktop, command hook, MQTT); other events go to
  the debug log only. Posting never waits: a slow channel cannot hold up the owner task.
- `HistorySink` records what `deskctl stats` and a restart need: postures (none outside working
  hours or when stopping: that time is no bout), rest heights, moves, cues (`shown` for each cue
  shown; `done` as well when the desk really went to the cue's posture; `skipped`: its change
  was skipped), schedule states with whether it is working hours, sessions. A history that
  cannot be written (full disk, read-only file) is said once per failure streak and never stops
  the service: the desk stays safe whatever the disk does.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from deskctl.adapters.history_store import Store
from deskctl.adapters.notify import Notice, Notifiers
from deskctl.adapters.notify import NoticeKind as K
from deskctl.core.cues import Cue
from deskctl.core.steps import progress
from deskctl.core.units import format_height
from deskctl.core.vocab import Outcome, Posture
from deskctl.errors import DeskError
from deskctl.service.news import (
    ChangeDropped,
    CueShown,
    HeightReported,
    HeightSettled,
    MoveEnded,
    PostureChanged,
    PresenceModeAsked,
    ScheduleChanged,
    ServiceEvent,
    SessionChanged,
    StatusChanged,
    StepsCounted,
)

__all__ = ["HistorySink", "NoticeSink", "notice_for"]

log = logging.getLogger("deskctl.service")


def _hhmm(value: Any) -> str:
    return str(value or "")[11:16]


def _walk_minutes(fields: dict[str, Any]) -> int:
    try:
        lasts = datetime.fromisoformat(fields["end"]) - datetime.fromisoformat(fields["start"])
    except (KeyError, TypeError, ValueError):
        return 0
    return max(1, round(lasts.total_seconds() / 60))


def _change_title(fields: dict[str, Any], question: bool = False) -> str:
    """`Time to stand` / `Ready to stand?`; a walk break: `Time for a 2-minute walk`."""
    posture = fields.get("posture")
    if posture == Posture.AWAY:
        minutes = _walk_minutes(fields)
        walk = f"a {minutes}-minute walk" if minutes else "a walk"
        return f"Ready for {walk}?" if question else f"Time for {walk}"
    return f"Ready to {posture}?" if question else f"Time to {posture}"


def _then(cue: Cue | None) -> str:
    return "" if cue is None else f" Then: {cue.title}."


def _held(fields: dict[str, Any]) -> str:
    return " The schedule holds until you run deskctl resume." if fields.get("held") else ""


def _sentence(text: Any) -> str:
    words = str(text).strip().rstrip(".")
    return words[:1].upper() + words[1:] + "." if words else ""


def notice_for(desk: str, kind: str, fields: dict[str, Any]) -> Notice | None:
    """The notice a person gets for an event, or None if the event is not for them."""
    cue = fields.get("cue") if isinstance(fields.get("cue"), Cue) else None
    height_mm = fields.get("height_mm")
    if kind == "warning":
        at = _hhmm(fields.get("move_at"))
        if height_mm is None:  # a walk break: the desk stays where it is
            body = f"It starts at {at}."
        elif fields.get("confirm"):  # nothing moves until the person confirms
            body = f"At {at} deskctl asks before it moves the desk to {format_height(height_mm)}."
        else:
            body = f"The desk moves to {format_height(height_mm)} at {at}."
        return Notice(
            K.WARNING, desk, _change_title(fields), body + _then(cue), None, ("skip", "snooze")
        )
    if kind == "confirm":
        if height_mm is None:
            body = "Confirm when you set off."
        else:
            body = f"Confirm to move the desk to {format_height(height_mm)}."
        return Notice(
            K.WARNING,
            desk,
            _change_title(fields, question=True),
            body + _then(cue),
            None,
            ("confirm", "skip"),
        )
    if kind == "cue" and cue is not None:  # at a walking break, how far the day is from the goal
        goal, count = fields.get("steps_goal"), fields.get("steps_today")
        body = _sentence(progress(count, goal)) if goal and count is not None else ""
        return Notice(K.CUE, desk, cue.title, body, cue)
    if kind == "move_started":  # log only; on the desktop it closes the warning it answers
        return Notice(K.MOVE_STARTED, desk, f"Moving to {format_height(fields.get('target_mm'))}")
    if kind == "arrived":
        return Notice(K.ARRIVED, desk, f"At {format_height(height_mm)}")
    if kind == "manual_move" and fields.get("ended"):
        body = "The schedule follows the posture you chose."
        return Notice(K.MANUAL_MOVE, desk, f"Moved by hand to {format_height(height_mm)}", body)
    if kind == "obstruction":  # the reason says what stopped it ("something is in the way")
        body = _sentence(fields.get("reason")) + _held(fields)
        return Notice(K.OBSTRUCTION, desk, "Safety stop", body)
    if kind == "held" and not fields.get("told"):  # a failure's own notice said it already
        return Notice(K.ERROR, desk, "Schedule held", f"{fields.get('reason')}; run deskctl resume")
    if kind == "error":
        return Notice(K.ERROR, desk, "Desk error", _sentence(fields.get("reason")) + _held(fields))
    if kind == "withdrawn":  # on the desktop it closes the warning it takes back
        body = f"{_sentence(fields.get('why'))} It comes again later, with a warning."
        return Notice(K.WITHDRAWN, desk, "Change put off", body)
    return None


class NoticeSink:
    """Posts the person-facing events to the notifiers."""

    def __init__(self, notifiers: Notifiers) -> None:
        self.notifiers = notifiers

    def __call__(self, event: ServiceEvent) -> None:
        if isinstance(event, HeightReported | StatusChanged | PresenceModeAsked):
            return  # for adapters: neither news for a person nor worth a debug line each
        desk, kind, fields = event.desk, event.kind, event.fields()
        notice = notice_for(desk, kind, fields)
        if notice is None:
            log.debug("%s %s %s", desk, kind, fields)
            return
        self.notifiers.post(notice)


class HistorySink:
    """Records events in the history store; never raises."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._failing = False

    def __call__(self, event: ServiceEvent) -> None:
        if isinstance(event, HeightReported | StatusChanged | PresenceModeAsked):
            return
        try:
            wrote = self._record(event)
        except DeskError as exc:
            if not self._failing:
                log.error("history not saved (the desk stays safe): %s", exc)
            self._failing = True
        else:
            if wrote and self._failing:  # an event it does not keep proves nothing about the disk
                log.warning("history is being saved again")
                self._failing = False

    def _record(self, event: ServiceEvent) -> bool:
        """Write the event if the history keeps its kind; True if something was written."""
        desk, at, record = event.desk, event.at, self.store.record
        if isinstance(event, PostureChanged):
            if event.posture is None:  # not counting (off hours, stopping): no bout
                return False
            record(desk, at, "posture", posture=event.posture, height_mm=event.height_mm)
        elif isinstance(event, HeightSettled):
            record(desk, at, "height", height_mm=event.height_mm)
        elif isinstance(event, MoveEnded):
            outcome = event.outcome if event.outcome in tuple(Outcome) else Outcome.STOPPED
            record(
                desk,
                at,
                "move",
                from_mm=event.from_mm,
                to_mm=event.to_mm,
                outcome=outcome,
                reason=event.reason,
            )
        elif isinstance(event, CueShown):
            cue = event.cue
            about = {"id": cue.id, "title": cue.title, "area": cue.area.value}
            record(desk, at, "cue", **about, status="shown")
            if event.done:
                record(desk, at, "cue", **about, status="done")
        elif isinstance(event, ChangeDropped) and event.why == "skipped":
            skipped = event.cue
            if not isinstance(skipped, Cue):
                return False
            about = {"id": skipped.id, "title": skipped.title, "area": skipped.area.value}
            record(desk, at, "cue", **about, status="skipped")
        elif isinstance(event, ScheduleChanged):
            extra: dict[str, Any] = {"until": event.until} if event.until is not None else {}
            extra["working"] = event.working
            record(desk, at, "schedule", state=event.state, **extra)
        elif isinstance(event, SessionChanged):
            record(desk, at, "session", state=event.state)
        elif isinstance(event, StepsCounted):
            record(desk, at, "steps", count=event.count, goal=event.goal)
        else:
            return False
        return True
