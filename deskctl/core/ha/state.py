"""What the bridge says about a desk: the `B/D/state` JSON, the `B/D/event` JSON, and when.

Design: `state_payload` picks the state JSON out of the service's status (the fields every
entity in `deskctl.core.ha.entities` reads); `event_payload` turns a service event into the
`B/D/event` JSON (cues with id, title, steps, area and duration), None for events that are state,
not news. `encode` writes either as compact UTF-8 JSON. `state_changed` and `state_due_in_s` are
the rate limit: a changed state goes out at once, but while the desk moves at most once per
interval; the durations that grow by themselves go out with other changes and at each refresh.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from deskctl.core.cues import Cue

__all__ = [
    "EVENT_TYPES",
    "STATE_FIELDS",
    "encode",
    "event_payload",
    "state_changed",
    "state_due_in_s",
    "state_payload",
]

EVENT_TYPES = (
    "warning",
    "confirm",
    "cue",
    "move_started",
    "arrived",
    "manual_move",
    "obstruction",
    "held",
    "dropped",
    "error",
    "withdrawn",
    "presence",
)
STATE_FIELDS = (
    "height_mm",
    "posture",
    "moving",
    "profile",
    "sit_mm",
    "stand_mm",
    "schedule",
    "next_change_at",
    "next_posture",
    "next_cue",
    "standing_today_s",
    "sitting_bout_s",
)
GROWING_FIELDS = ("standing_today_s", "sitting_bout_s")  # change every second by themselves


def state_payload(status: Mapping[str, Any], *, inhibited: bool) -> dict[str, Any]:
    """`B/D/state`: DESIGN.md's fields, plus inhibited, connected, held, paused_until,
    waiting_for, waiting_until, last_cue, presence, next_meeting, calendar_problem,
    released_until (let go for the phone app until), steps_today and steps_goal."""
    out = {key: _jsonable(status.get(key)) for key in STATE_FIELDS}
    out["moving"] = bool(status.get("moving"))
    out["inhibited"] = bool(inhibited)
    out["connected"] = bool(status.get("connected"))
    out["held"] = _jsonable(status.get("held"))
    out["paused_until"] = _jsonable(status.get("paused_until"))
    out["waiting_for"] = _jsonable(status.get("waiting_for"))
    out["waiting_until"] = _jsonable(status.get("waiting_until"))
    out["last_cue"] = _jsonable(status.get("last_cue"))
    out["presence"] = _jsonable(status.get("presence"))
    out["next_meeting"] = _jsonable(status.get("next_meeting"))
    out["calendar_problem"] = _jsonable(status.get("calendar_problem"))
    out["released_until"] = _jsonable(status.get("released_until"))
    out["steps_today"] = _jsonable(status.get("steps_today"))
    out["steps_goal"] = _jsonable(status.get("steps_goal"))
    return out


def state_changed(sent: Mapping[str, Any] | None, state: Mapping[str, Any]) -> bool:
    """Whether `state` holds anything new against the one last `sent` (None: none was).

    The durations that grow by themselves do not count; they go out with every other change
    and at each refresh.
    """
    if sent is None:
        return True
    return any(sent.get(k) != v for k, v in state.items() if k not in GROWING_FIELDS) or any(
        k not in state for k in sent
    )


def event_payload(
    desk: str, at: datetime, kind: str, fields: Mapping[str, Any]
) -> dict[str, Any] | None:
    """`B/D/event` for one service event; None for events that are state, not news."""
    if kind not in EVENT_TYPES:
        return None
    out: dict[str, Any] = {"type": kind, "desk": desk, "at": at.isoformat()}
    cue = fields.get("cue")
    if kind == "cue" and isinstance(cue, Cue):
        out.update(cue.to_full_json())
        out["change"] = _jsonable(fields.get("change"))
        return out
    for key, value in fields.items():
        out.setdefault(key, _jsonable(value))
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Cue):
        return value.to_full_json()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; anything that is not JSON becomes its string."""
    return json.dumps(_jsonable(payload), separators=(",", ":"), ensure_ascii=False).encode()


def state_due_in_s(*, moving: bool, since_last_s: float | None, interval_s: float) -> float:
    """How long to hold back a changed state: nothing when still, the rest of the interval while
    moving (`since_last_s` is the time since the last state went out, None if none did)."""
    if not moving or since_last_s is None:
        return 0.0
    return max(0.0, interval_s - since_last_s)
