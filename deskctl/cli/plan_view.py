"""What `deskctl plan` and `deskctl profile list` print, typer-free.

Design: these read no desk, so they run on the quick path (`_fast.py`) as well as under typer
(`plan_cmds.py`), and import neither typer nor pydantic when no settings are given (then the
desk is the one named, or `desk`: `config.desk_choice`). With a settings file they load it
(pydantic-settings) to pick the desk, its configured profile and its limits. `plan` uses the
local time zone (or `--tz`) and seeds the cue picker from the date, so a day's plan is the same
every time it is drawn. Like `read_only.py`, a route returns True once it has answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskctl.cli._common import CALENDAR_YEARS, print_json

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date, datetime, timedelta, tzinfo

    from deskctl.config.plain_settings import PlainDesk
    from deskctl.config.settings import CalendarSettings, DeskSettings
    from deskctl.core.meetings import Meeting
    from deskctl.core.planner import Block
    from deskctl.core.profile import Profile
    from deskctl.core.vocab import Posture

__all__ = ["desk_presets", "plan", "profile_desk", "profile_list", "time_in_words"]


def profile_desk(desk: str | None) -> tuple[str, DeskSettings | PlainDesk | None]:
    """The desk whose profile is meant, by the one rule every command follows
    (`settings.select_desk`, where a desk need not be configured, as with `--simulate`), and its
    settings (limits, configured profile, presets) when it is configured: read without pydantic
    when the settings are plainly valid (`config.plain_settings`)."""
    from deskctl.config.desk_choice import settings_given, unconfigured_desk

    if not settings_given():
        return unconfigured_desk(desk), None
    from deskctl.config.plain_settings import plain_desk

    plain = plain_desk(desk)
    if plain is not None:
        return plain.name, plain.desk
    from deskctl.config.settings import load_settings, select_desk

    settings = load_settings()
    name, _ = select_desk(settings, desk, simulate=True)
    return name, settings.desks.get(name)


def desk_presets(settings: DeskSettings | PlainDesk | None) -> dict[str, int] | None:
    """The desk's presets, which a profile's sit and stand may name (None: no desk)."""
    return None if settings is None else settings.preset_heights


def _parse_date(text: str | None, tz: tzinfo) -> date:
    from datetime import date, datetime

    from deskctl.errors import InputError

    if text is None:
        return datetime.now(tz).date()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date; write it like 2026-11-30") from None
    if day.year not in CALENDAR_YEARS:
        raise InputError(
            f"--date {text}: plan a day between the years {CALENDAR_YEARS.start} and "
            f"{CALENDAR_YEARS.stop - 1}, like 2026-11-30"
        )
    return day


def _plan(
    profile: Profile, day: date, tz: tzinfo, settings: DeskSettings | PlainDesk | None
) -> list[Block]:
    from deskctl.config.cue_library import load_cues
    from deskctl.core.planner import plan_with_cues

    return plan_with_cues(
        profile,
        day,
        tz,
        load_cues(),
        min_mm=None if settings is None else settings.min_mm,
        max_mm=None if settings is None else settings.max_mm,
    )


def plan(
    profile: str | None = None,
    day: str | None = None,
    as_json: bool = False,
    tz_name: str | None = None,
    desk: str | None = None,
) -> bool:
    """A day's plan: when the desk goes up and down, and the cue at each change (laid around
    the day's meetings when calendars are configured)."""
    from deskctl.clocks.localzone import local_tz
    from deskctl.config.profile_library import active_profile_name, load_profile
    from deskctl.core.planner import plan_json

    tz = local_tz(tz_name)
    when = _parse_date(day, tz)
    desk_name, settings = profile_desk(desk)
    name = profile or active_profile_name(desk_name, None if settings is None else settings.profile)
    chosen = load_profile(name, presets=desk_presets(settings))
    blocks = _plan(chosen, when, tz, settings)
    calendar = _calendar_settings()
    holds: list[Meeting] = []
    problems: list[str] = []
    if calendar is not None and calendar.sources:
        from deskctl.cli.plan_meetings import day_meetings, fitted

        holds, problems = day_meetings(calendar, when, tz)
        if holds:
            blocks = fitted(chosen, when, tz, blocks, holds)
    if as_json:
        shown = plan_json(chosen.name, when, blocks)
        if calendar is not None and calendar.sources:  # a plan without calendars reads as ever
            from deskctl.cli.plan_meetings import meetings_json

            shown |= {"meetings": meetings_json(holds, tz), "calendar_problems": problems}
        print_json(shown)
    else:
        _draw(chosen, when, tz, blocks, holds)
        _draw_meetings(holds, problems, tz, chosen, blocks)
    return True


def _calendar_settings() -> CalendarSettings | None:
    """The `[calendar]` table, read only when there are settings to read (the quick path)."""
    from deskctl.config.desk_choice import settings_given

    if not settings_given():
        return None
    from deskctl.config.plain_settings import plain_desks

    if plain_desks() is not None:
        return None  # plainly valid settings hold no [calendar] table
    from deskctl.config.settings import load_settings

    return load_settings().calendar


def _draw_meetings(
    holds: Sequence[Meeting],
    problems: list[str],
    tz: tzinfo,
    profile: Profile,
    blocks: list[Block],
) -> None:
    """The day's meeting holds under the plan (the desk holds still in each), and where one
    leaves no room to keep the sitting limit."""
    from deskctl.cli._common import say

    for hold in holds:
        about = f" {hold.summary}" if hold.summary else ""
        start, end = hold.start.astimezone(tz), hold.end.astimezone(tz)
        print(f"meeting {start:%H:%M}–{end:%H:%M}{about}: the desk holds still")
    if holds:
        from deskctl.cli.plan_meetings import long_sits

        for begin, finish in long_sits(profile, blocks):
            minutes = round((finish - begin).total_seconds() / 60)
            print(
                f"sitting {begin:%H:%M}–{finish:%H:%M} ({minutes} min): a meeting leaves no "
                "room to stand before it"
            )
    for problem in problems:
        say(f"calendar: {problem}")


def _draw(
    profile: Profile, day: date, tz: tzinfo, blocks: list[Block], holds: Sequence[Meeting] = ()
) -> None:
    from datetime import UTC, timedelta

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from deskctl.cli._postures import MARK, STYLE, legend
    from deskctl.core.planner import working_spans
    from deskctl.core.profile import DAY_NAMES
    from deskctl.core.units import format_height

    console = Console(highlight=False)
    console.print(
        Text.assemble((profile.name, "bold"), f" · {day:%A %Y-%m-%d} · {tz}"), soft_wrap=True
    )
    spans = working_spans(profile, day, tz)
    if not spans:
        days = " ".join(DAY_NAMES[d] for d in sorted(profile.weekdays)) or "none"
        console.print(f"A day off: no moves planned (working days: {days}).")
        return
    spans = [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in spans]
    width = max(8, min(96, console.width - 12))  # room for "HH:MM " and " HH:MM"
    rows = [_segments(start, end, blocks) for start, end in spans]
    per_mark_min = _minutes_per_mark(rows, width)
    for (start, end), segments in zip(spans, rows, strict=True):
        marks: list[Posture | None] = []
        held: list[bool] = []  # under each mark: a meeting holds the desk then
        begin = start
        for stretch, minutes in segments:
            count = _mark_count(stretch, minutes, per_mark_min)
            marks += [stretch] * count
            for index in range(count):
                middle = begin + timedelta(minutes=minutes * (index + 0.5) / count)
                held.append(any(h.start <= middle < h.end for h in holds))
            begin += timedelta(minutes=minutes)
        for at in range(0, len(marks), width):  # more blocks than columns: wrap, lose none
            line = Text(f"{start.astimezone(tz):%H:%M} " if at == 0 else " " * 6)
            for mark in marks[at : at + width]:
                if mark is None:
                    line.append(" ")
                else:
                    line.append(MARK[mark], style=STYLE[mark])
            if at + width >= len(marks):
                line.append(f" {end.astimezone(tz):%H:%M}")
            console.print(line, soft_wrap=True)
            if any(held[at : at + width]):
                under = "".join("▔" if h else " " for h in held[at : at + width])
                console.print(Text(" " * 6 + under.rstrip(), style="magenta"), soft_wrap=True)
    key = legend(indent=6)
    key.append(f"(one mark ≈ {per_mark_min} min; every block has one)", style="dim")
    console.print(key, soft_wrap=True)

    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in ("time", "posture", "height", "cue at the change"):
        table.add_column(column)
    for block in blocks:
        cue = ""
        if block.cue is not None:
            area = block.cue.area.value.replace("_", " ")
            cue = f"{block.cue.title} ({area}, {block.cue.duration_s} s)"
        table.add_row(
            f"{block.start:%H:%M}–{block.end:%H:%M}",
            Text(block.posture, style=STYLE[block.posture]),
            "" if block.height_mm is None else format_height(block.height_mm),
            cue,
        )
    console.print(table)
    changes = sum(1 for b in blocks if b.change is not None)
    sit, longest, stand, away = time_in_words(blocks)
    console.print(
        f"sitting {sit} (longest {longest}) · standing {stand} · away {away} · {changes} changes",
        soft_wrap=True,
    )


def time_in_words(blocks: list[Block]) -> tuple[str, str, str, str]:
    """Sitting, the longest sitting bout, standing and away in a day's blocks, in words."""
    from deskctl.core.planner import longest_bout, time_in
    from deskctl.core.units import format_duration
    from deskctl.core.vocab import Posture

    def words(span: timedelta) -> str:
        return format_duration(span.total_seconds())

    return (
        words(time_in(blocks, Posture.SIT)),
        words(longest_bout(blocks, Posture.SIT)),
        words(time_in(blocks, Posture.STAND)),
        words(time_in(blocks, Posture.AWAY)),
    )


_MARK_MINUTES = (1, 2, 3, 5, 10, 15, 20, 30, 60, 120)


def _segments(
    start: datetime, end: datetime, blocks: list[Block]
) -> list[tuple[Posture | None, float]]:
    """A working span as (posture, minutes) in order; None where no block covers it."""
    from datetime import UTC

    segments: list[tuple[Posture | None, float]] = []
    at = start
    for block in sorted(blocks, key=lambda b: b.start.astimezone(UTC)):
        begin, finish = max(block.start.astimezone(UTC), at), min(block.end.astimezone(UTC), end)
        if finish <= begin:
            continue
        if begin > at:
            segments.append((None, (begin - at).total_seconds() / 60))
        segments.append((block.posture, (finish - begin).total_seconds() / 60))
        at = finish
    if at < end:
        segments.append((None, (end - at).total_seconds() / 60))
    return segments


def _mark_count(posture: Posture | None, minutes: float, per_mark_min: int) -> int:
    """Marks for one stretch: in proportion, and at least one for every block."""
    count = round(minutes / per_mark_min)
    return max(1, count) if posture is not None else count


def _minutes_per_mark(rows: list[list[tuple[Posture | None, float]]], width: int) -> int:
    """The finest scale at which every span fits in `width` marks (the coarsest if none does:
    then the lines wrap)."""
    for per_mark_min in _MARK_MINUTES:
        if all(sum(_mark_count(p, m, per_mark_min) for p, m in row) <= width for row in rows):
            return per_mark_min
    return _MARK_MINUTES[-1]


def profile_list(desk: str | None = None) -> bool:
    """The profiles, one a line; * marks the desk's active one."""
    from deskctl.config.profile_library import active_profile_name, find_profiles, load_profile
    from deskctl.errors import ConfigError

    desk_name, settings = profile_desk(desk)
    active = active_profile_name(desk_name, None if settings is None else settings.profile)
    for name, found in find_profiles().items():
        origin = "user, replaces shipped" if found.shadows_shipped else found.origin
        try:
            about = load_profile(name, presets=desk_presets(settings)).description
        except ConfigError:
            about = f"broken: see `deskctl profile validate {found.source}`"
        mark = "*" if name == active else " "
        print(f"{mark} {name:<18} {origin:<8}  {about}")
    return True
