"""What the service's events become: notices for the person, and rows in the history.

Design: the service emits plain events (desk, at, type, fields). Two sinks turn them into what
lasts or what the person sees:
- `NoticeSink` writes a `Notice` (title and body in the service's words) for the events a person
  should hear about (warning, confirm, cue, arrived, manual move, obstruction, held, error) and
  posts it to the notifiers (terminal, desktop, command hook, MQTT); other events go to the debug
  log only. Posting never waits: a slow channel cannot hold up the owner task.
- `HistorySink` records what `deskctl stats` and a restart need: postures (off hours count as
  away), rest heights, moves, cues (`done`: given at a change that happened; `skipped`: its
  change was skipped), schedule states, sessions. A history that
  cannot be written (full disk, read-only file) is said once per failure streak and never stops
  the service: the desk stays safe whatever the disk does.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from deskctl.core.cues import Cue
from deskctl.core.units import format_height
from deskctl.errors import DeskError
from deskctl.notify import Notice, Notifiers
from deskctl.notify import NoticeKind as K
from deskctl.store import Store

__all__ = ["HistorySink", "NoticeSink", "notice_for"]

log = logging.getLogger("deskctl.service")


def _hhmm(value: Any) -> str:
    return str(value or "")[11:16]


def notice_for(desk: str, kind: str, fields: dict[str, Any]) -> Notice | None:
    """The notice a person gets for an event, or None if the event is not for them."""
    cue = fields.get("cue") if isinstance(fields.get("cue"), Cue) else None
    if kind == "warning":
        height = format_height(fields.get("height_mm"))
        body = f"The desk moves to {height} at {_hhmm(fields.get('move_at'))}."
        if cue is not None:
            body += f" Then: {cue.title}."
        return Notice(
            K.WARNING, desk, f"Time to {fields.get('posture')}", body, None, ("skip", "snooze")
        )
    if kind == "confirm":
        body = f"Confirm to move the desk to {format_height(fields.get('height_mm'))}."
        return Notice(
            K.WARNING, desk, f"Ready to {fields.get('posture')}?", body, cue, ("confirm", "skip")
        )
    if kind == "cue" and cue is not None:
        return Notice(K.CUE, desk, cue.title, "", cue)
    if kind == "arrived":
        return Notice(K.ARRIVED, desk, f"At {format_height(fields.get('height_mm'))}")
    if kind == "manual_move" and fields.get("ended"):
        body = "The schedule follows the posture you chose."
        return Notice(
            K.MANUAL_MOVE, desk, f"Moved by hand to {format_height(fields.get('height_mm'))}", body
        )
    if kind == "obstruction":
        body = f"{fields.get('reason')}. The schedule holds until you resume."
        return Notice(K.OBSTRUCTION, desk, "Stopped: something is in the way", body)
    if kind == "held":
        return Notice(K.ERROR, desk, "Schedule held", f"{fields.get('reason')}; run deskctl resume")
    if kind == "error":
        return Notice(K.ERROR, desk, "Desk error", str(fields.get("reason")))
    return None


class NoticeSink:
    """Posts the person-facing events to the notifiers."""

    def __init__(self, notifiers: Notifiers) -> None:
        self.notifiers = notifiers

    def __call__(self, desk: str, at: datetime, kind: str, fields: dict[str, Any]) -> None:
        notice = notice_for(desk, kind, fields)
        if notice is None:
            log.debug("%s %s %s", desk, kind, fields)
            return
        self.notifiers.post(notice)


_OUTCOMES = {"arrived", "obstruction", "manual_press", "timeout", "stopped", "link_lost"}


class HistorySink:
    """Records events in the history store; never raises."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._failing = False

    def __call__(self, desk: str, at: datetime, kind: str, fields: dict[str, Any]) -> None:
        try:
            wrote = self._record(desk, at, kind, fields)
        except DeskError as exc:
            if not self._failing:
                log.error("history not saved (the desk stays safe): %s", exc)
            self._failing = True
        else:
            if wrote and self._failing:  # an event it does not keep proves nothing about the disk
                log.warning("history is being saved again")
                self._failing = False

    def _record(self, desk: str, at: datetime, kind: str, fields: dict[str, Any]) -> bool:
        """Write the event if the history keeps its kind; True if something was written."""
        record = self.store.record
        if kind == "posture":
            record(
                desk,
                at,
                "posture",
                posture=fields.get("posture") or "away",
                height_mm=fields.get("height_mm"),
            )
        elif kind == "height":
            record(desk, at, "height", height_mm=fields["height_mm"])
        elif kind == "move":
            outcome = fields["outcome"] if fields["outcome"] in _OUTCOMES else "stopped"
            record(
                desk,
                at,
                "move",
                from_mm=fields.get("from_mm"),
                to_mm=fields["to_mm"],
                outcome=outcome,
                reason=fields["reason"],
            )
        elif kind == "cue":
            cue = fields["cue"]
            record(desk, at, "cue", id=cue.id, title=cue.title, area=cue.area.value, status="done")
        elif kind == "dropped" and fields.get("why") == "skipped":
            cue = fields.get("cue")
            if not isinstance(cue, Cue):
                return False
            record(
                desk, at, "cue", id=cue.id, title=cue.title, area=cue.area.value, status="skipped"
            )
        elif kind == "schedule":
            until = fields.get("until")
            extra = {"until": until} if isinstance(until, datetime) else {}
            record(desk, at, "schedule", state=fields["state"], **extra)
        elif kind == "session":
            record(desk, at, "session", state=fields["state"])
        else:
            return False
        return True
