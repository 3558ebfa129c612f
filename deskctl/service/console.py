"""The service's own voice: one readable line per event, for a terminal or journald.

Design: an event sink (desk, at, type, fields) that writes through `logging`, so `deskctl run`
in a terminal shows the day as it happens (warnings, moves, cues with their steps) and under
systemd every line lands in the journal with its level.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from deskctl.core.cues import Cue
from deskctl.core.units import format_height

__all__ = ["console_sink", "describe"]

log = logging.getLogger("deskctl.events")

_QUIET = {"posture", "connection", "move_started"}


def describe(kind: str, fields: dict[str, Any]) -> str | None:
    """One sentence for an event, or None for events only worth a debug line."""
    cue = fields.get("cue")
    if kind == "warning":
        then = f" Then: {cue.title}." if isinstance(cue, Cue) else ""
        when = str(fields.get("move_at", ""))[11:16]
        return (
            f"Time to {fields['posture']} at {when}: the desk moves to "
            f"{format_height(fields.get('height_mm'))}.{then} (deskctl skip / deskctl snooze)"
        )
    if kind == "confirm":
        return f"Ready to {fields['posture']}: run `deskctl confirm` to move the desk."
    if kind == "cue" and isinstance(cue, Cue):
        steps = "\n".join(f"    - {step}" for step in cue.steps)
        return f"{cue.title} ({cue.area.value.replace('_', ' ')}, {cue.duration_s} s)\n{steps}"
    if kind == "arrived":
        return f"Arrived at {format_height(fields.get('height_mm'))}."
    if kind == "obstruction":
        return f"Stopped: {fields.get('reason')}. The schedule holds until you resume."
    if kind == "manual_move":
        if fields.get("ended"):
            return f"You moved the desk to {format_height(fields.get('height_mm'))}."
        return None
    if kind == "held":
        return f"Schedule held: {fields.get('reason')}. Run `deskctl resume` to go on."
    if kind == "dropped":
        when = str(fields.get("start"))[11:16]
        return f"Change to {fields.get('posture')} at {when} {fields.get('why')}."
    if kind == "error":
        return f"Error: {fields.get('reason')}."
    if kind == "connection":
        return "Desk connected." if fields.get("connected") else "Desk connection lost."
    return None


def console_sink(desk: str, at: datetime, kind: str, fields: dict[str, Any]) -> None:
    text = describe(kind, fields)
    if text is None:
        log.debug("%s %s %s", desk, kind, fields)
        return
    level = logging.WARNING if kind in ("obstruction", "error", "held") else logging.INFO
    log.log(level, "%s %s: %s", at.strftime("%H:%M:%S"), desk, text)
