"""The meetings `deskctl plan` shows, and the day's plan laid around them as the service lays it.

Design: `day_meetings(settings, day, tz)` reads each calendar of `[calendar]` without the network:
a file as it is now, an address from the good copy the running service keeps (state folder,
`calendars/`); a calendar that cannot be read is one sentence in the problems it answers, never
an error (the plan is still drawn). `fitted(profile, day, tz, blocks, holds)` runs the pure
scheduler over the day with those meetings (`Scheduler.meetings`), so each change due in a
meeting shows where the service will make it: just before, or at its end.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deskctl.config.settings import CalendarSettings
    from deskctl.core.meetings import Meeting
    from deskctl.core.planner import Block
    from deskctl.core.profile import Profile

__all__ = ["day_meetings", "fitted", "long_sits", "meetings_json"]


def day_meetings(
    settings: CalendarSettings, day: date, tz: tzinfo
) -> tuple[list[Meeting], list[str]]:
    """The meeting holds of `day` from every calendar, merged, and what could not be read."""
    from deskctl.adapters.calendar import CalendarSource, parse_meetings
    from deskctl.adapters.calendar_feed import cache_path
    from deskctl.config.paths import state_dir
    from deskctl.core.meetings import merge
    from deskctl.errors import CalendarError

    start = datetime.combine(day, time(), tz)
    end = start + timedelta(days=1)
    holds: list[Meeting] = []
    problems: list[str] = []
    for location in settings.sources:
        source = CalendarSource(location, cache_path(state_dir() / "calendars", location), tz=tz)
        text = source.text() if source.is_remote else _file_text(location, problems)
        if text is None:
            if source.is_remote:
                problems.append(f"no copy of {location} yet (the running service fetches it)")
            continue
        try:
            holds += parse_meetings(text, start, end, tz, all_day=settings.all_day)
        except CalendarError as exc:
            problems.append(f"{location}: {exc}")
    return merge(holds), problems


def _file_text(location: str, problems: list[str]) -> str | None:
    from pathlib import Path

    path = Path(location).expanduser()
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"cannot read the calendar {path}: {getattr(exc, 'strerror', None) or exc}")
        return None


def fitted(
    profile: Profile, day: date, tz: tzinfo, blocks: list[Block], holds: list[Meeting]
) -> list[Block]:
    """`blocks` (the day's plan) with every change due in a meeting moved, as the service
    moves it when it looks at the day from its start."""
    from dataclasses import replace

    from deskctl.core.schedule import Scheduler

    def plan(
        _p: Profile, _d: date, _tz: tzinfo, now: datetime | None, posture: object
    ) -> list[Block]:
        if now is None:
            return list(blocks)
        from deskctl.config.cue_library import load_cues
        from deskctl.core.planner import plan_with_cues
        from deskctl.core.vocab import Posture

        chosen = posture if isinstance(posture, Posture) else None
        return plan_with_cues(profile, day, tz, load_cues(), now=now, posture_now=chosen)

    midnight = datetime.combine(day, time(), tz)
    scheduler = Scheduler(profile, tz, plan, midnight)
    scheduler.meetings(holds, midnight)
    return [
        replace(b, start=b.start.astimezone(tz), end=b.end.astimezone(tz)) for b in scheduler.blocks
    ]


def long_sits(profile: Profile, blocks: list[Block]) -> list[tuple[datetime, datetime]]:
    """The sitting bouts longer than the profile's sitting step: where a meeting left no room
    to stand before it (as (start, end), in order)."""
    from datetime import UTC

    from deskctl.core.vocab import Posture

    sit_s = next((s.minutes * 60 for s in profile.cycle if s.posture is Posture.SIT), 0)
    bouts: list[tuple[datetime, datetime]] = []
    for block in sorted(blocks, key=lambda b: b.start.astimezone(UTC)):
        if block.posture is not Posture.SIT:
            continue
        if bouts and bouts[-1][1] == block.start:
            bouts[-1] = (bouts[-1][0], block.end)
        else:
            bouts.append((block.start, block.end))
    if not sit_s:
        return []
    return [(a, b) for a, b in bouts if (b - a).total_seconds() > sit_s]


def meetings_json(holds: list[Meeting], tz: tzinfo) -> list[dict[str, str]]:
    return [
        {
            "start": hold.start.astimezone(tz).isoformat(),
            "end": hold.end.astimezone(tz).isoformat(),
            "summary": hold.summary,
        }
        for hold in holds
    ]
