"""Meetings as the schedule sees them: stretches of time when the desk holds still. Pure.

Design: a `Meeting` is a half-open UTC stretch `[start, end)` with its summary; the calendar
adapter (`deskctl.adapters.calendar`) reads calendars into meetings, and everything here works on
those values only. `merge` joins meetings that overlap or touch (two back-to-back calls are one
hold), so a question about a moment has one answer: `meeting_at` (the hold in force, or None) and
`next_meeting` (the first hold that has not ended). Times are compared in UTC; an aware datetime
in any zone may be passed in, a naive one is refused (`ValueError`), since its zone is a guess.

A change due during a meeting is not lost, it is moved (`around_meetings`): to just before the
meeting (`BEFORE_S` ahead of its start, so the desk is still when it begins) when the warning can
still be given in full from now, else to the meeting's end. A meeting never costs a whole block.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["BEFORE_S", "Meeting", "Moved", "around_meetings", "meeting_at", "merge", "next_meeting"]


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone")
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True, order=True)
class Meeting:
    start: datetime
    end: datetime
    summary: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start))
        object.__setattr__(self, "end", _utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"a meeting ends after it starts ({self.summary or 'untitled'})")

    def holds(self, at: datetime) -> bool:
        return self.start <= _utc(at) < self.end


def merge(meetings: Iterable[Meeting]) -> list[Meeting]:
    """The holds, in order: overlapping or touching meetings joined (their summaries too)."""
    merged: list[Meeting] = []
    for meeting in sorted(meetings):
        if merged and meeting.start <= merged[-1].end:
            last = merged[-1]
            summary = last.summary
            if meeting.summary and meeting.summary not in summary.split(" + "):
                summary = f"{summary} + {meeting.summary}" if summary else meeting.summary
            merged[-1] = Meeting(last.start, max(last.end, meeting.end), summary)
        else:
            merged.append(meeting)
    return merged


def meeting_at(holds: Sequence[Meeting], at: datetime) -> Meeting | None:
    """The hold in force at `at` (from `merge`'s list), or None."""
    return next((m for m in holds if m.holds(at)), None)


def next_meeting(holds: Sequence[Meeting], at: datetime) -> Meeting | None:
    """The first hold that has not ended at `at` (in force now, or the next to come)."""
    now = _utc(at)
    return next((m for m in holds if m.end > now), None)


BEFORE_S = 60.0  # a change moved before a meeting ends this long before it starts


@dataclass(frozen=True, slots=True)
class Moved:
    """Where a change due during a meeting goes, and the meeting that moved it."""

    at: datetime
    meeting: Meeting
    before: bool  # True: just before the meeting; False: at its end


def around_meetings(
    holds: Sequence[Meeting], due: datetime, now: datetime, warn_s: float
) -> Moved | None:
    """None when `due` falls in no meeting; else where the change goes instead."""
    meeting = meeting_at(holds, due)
    if meeting is None:
        return None
    before = meeting.start - timedelta(seconds=BEFORE_S)
    earlier = meeting_at(holds, before)  # another meeting may end less than BEFORE_S before
    if earlier is None and before - timedelta(seconds=warn_s) >= _utc(now):
        return Moved(before, meeting, before=True)
    return Moved(meeting.end, meeting, before=False)
