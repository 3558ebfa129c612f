"""Profile and plan commands: `deskctl profile list|show|use|validate` and `deskctl plan`.

Design: thin wrappers over `config.profile_library` (files and the remembered choice) and the pure
planner. `--desk` picks whose profile is meant: the name given, else the only configured desk, else
`desk` when none is configured (with several, `--desk` is needed, as for every command); when that
desk is configured its limits are checked against the profile's heights. `plan`
uses the local time zone (or `--tz`) and seeds the cue picker from the date, so a day's plan is
the same every time it is drawn. Heavy imports (pydantic, rich, zoneinfo) stay inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import CALENDAR_YEARS, guard, print_json, say, warn_health

if TYPE_CHECKING:
    from datetime import date, datetime, timedelta, tzinfo

    from deskctl.config.settings import DeskSettings
    from deskctl.core.planner import Block
    from deskctl.core.profile import Profile
    from deskctl.core.vocab import Posture

profile_app = typer.Typer(
    name="profile",
    help="Height profiles: list them, show one, choose one, check files.",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")

DeskOpt = Annotated[
    str | None,
    typer.Option("--desk", help="Which desk, when several are configured (default: the only one)."),
]


def _desk(desk: str | None) -> tuple[str, DeskSettings | None]:
    """The desk whose profile is meant, by the one rule every command follows
    (`settings.select_desk`, where a desk need not be configured, as with `--simulate`), and its
    settings (limits, configured profile) when it is configured."""
    from deskctl.config.settings import load_settings, select_desk

    settings = load_settings()
    name, _ = select_desk(settings, desk, simulate=True)
    return name, settings.desks.get(name)


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


def _plan(profile: Profile, day: date, tz: tzinfo, settings: DeskSettings | None) -> list[Block]:
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


@app.command()
@guard
def plan(
    profile: Annotated[
        str | None, typer.Option("--profile", help="Profile to plan (default: the desk's).")
    ] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="Day to plan, YYYY-MM-DD (default: today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    tz_name: Annotated[
        str | None, typer.Option("--tz", help="Time zone, like Europe/Berlin (default: local).")
    ] = None,
    desk: DeskOpt = None,
) -> None:
    """Show a day's plan: when the desk goes up and down, and the cue at each change."""
    from deskctl.clocks.localzone import local_tz
    from deskctl.config.profile_library import active_profile_name, load_profile
    from deskctl.core.planner import plan_json

    tz = local_tz(tz_name)
    when = _parse_date(day, tz)
    desk_name, settings = _desk(desk)
    name = profile or active_profile_name(desk_name, None if settings is None else settings.profile)
    chosen = load_profile(name)
    blocks = _plan(chosen, when, tz, settings)
    if as_json:
        print_json(plan_json(chosen.name, when, blocks))
    else:
        _draw(chosen, when, tz, blocks)


def _draw(profile: Profile, day: date, tz: tzinfo, blocks: list[Block]) -> None:
    from datetime import UTC

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
        for stretch, minutes in segments:
            marks += [stretch] * _mark_count(stretch, minutes, per_mark_min)
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
    sit, longest, stand, away = _time_in_words(blocks)
    console.print(
        f"sitting {sit} (longest {longest}) · standing {stand} · away {away} · {changes} changes",
        soft_wrap=True,
    )


def _time_in_words(blocks: list[Block]) -> tuple[str, str, str, str]:
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


@profile_app.command("list")
@guard
def profile_list(desk: DeskOpt = None) -> None:
    """List the profiles; * marks the desk's active one."""
    from deskctl.config.profile_library import active_profile_name, find_profiles, load_profile
    from deskctl.errors import ConfigError

    desk_name, settings = _desk(desk)
    active = active_profile_name(desk_name, None if settings is None else settings.profile)
    for name, found in find_profiles().items():
        origin = "user, replaces shipped" if found.shadows_shipped else found.origin
        try:
            about = load_profile(name).description
        except ConfigError:
            about = f"broken: see `deskctl profile validate {found.source}`"
        mark = "*" if name == active else " "
        print(f"{mark} {name:<18} {origin:<8}  {about}")


@profile_app.command("show")
@guard
def profile_show(name: Annotated[str, typer.Argument(help="The profile's name.")]) -> None:
    """Show one profile: heights, cycle, hours, warning and cue taste."""
    from deskctl.config.profile_library import find_profiles, load_profile

    profile = load_profile(name)
    found = find_profiles()[name]
    for line in _describe(profile, f"{found.origin}: {found.source}"):
        print(line)
    warn_health(profile)


def _describe(profile: Profile, source: str) -> list[str]:
    from datetime import UTC, date, timedelta

    from deskctl.core.planner import plan_day
    from deskctl.core.profile import DAY_NAMES
    from deskctl.core.units import format_duration, format_height

    cycle = " → ".join(f"{s.posture} {format_duration(s.minutes * 60)}" for s in profile.cycle)
    period = sum(step.minutes for step in profile.cycle)
    lines = [f"{profile.name}  ({source})"]
    if profile.description:
        lines.append(profile.description)
    lines += [
        f"heights:  sit {format_height(profile.sit_mm)}, stand {format_height(profile.stand_mm)}",
        f"cycle:    {cycle} (repeats every {format_duration(period * 60)})",
        f"days:     {' '.join(DAY_NAMES[d] for d in sorted(profile.weekdays)) or 'none'}",
        f"hours:    {', '.join(str(h) for h in profile.hours) or 'none'}",
    ]
    for day, hours in sorted(profile.hours_on.items()):
        lines.append(f"  {DAY_NAMES[day]}:    {', '.join(str(h) for h in hours) or 'none'}")
    confirm = "moves wait for a confirmation" if profile.confirm else "no confirmation needed"
    lines.append(f"warning:  {profile.warn_s} s before each move; {confirm}")
    areas = ", ".join(a.value for a in profile.prefer_areas) or "no preference"
    kinds = ", ".join(k.value for k in profile.prefer_kinds) or "no preference"
    lines.append(f"cues:     areas {areas}; kinds {kinds}")
    usual = [d for d in sorted(profile.weekdays) if d not in profile.hours_on]
    if usual:
        monday = date(2024, 1, 1)
        blocks = plan_day(profile, monday + timedelta(days=usual[0]), UTC)
        sit, longest, stand, away = _time_in_words(blocks)
        lines.append(f"a day:    sitting {sit} (longest {longest}), standing {stand}, away {away}")
    return lines


@profile_app.command("use")
@guard
def profile_use(
    name: Annotated[str, typer.Argument(help="The profile's name.")], desk: DeskOpt = None
) -> None:
    """Choose the desk's profile; remembered across restarts, and live in a running service."""
    from deskctl.cli import service_calls
    from deskctl.config.profile_library import load_profile, remember_profile
    from deskctl.core.planner import check_fits
    from deskctl.core.units import format_height

    if service_calls.profile_use(name, desk):
        return
    desk_name, settings = _desk(desk)
    if settings is not None:
        check_fits(load_profile(name), settings.min_mm, settings.max_mm)
    profile = remember_profile(name, desk_name)
    print(
        f"{desk_name}: now using profile {profile.name!r} "
        f"(sit {format_height(profile.sit_mm)}, stand {format_height(profile.stand_mm)})"
    )
    warn_health(profile)


@profile_app.command("set")
@guard
def profile_set(
    posture: Annotated[str, typer.Argument(help="sit or stand.")],
    height: Annotated[
        str | None,
        typer.Argument(help="The height: 108cm, 1080mm, 42.5in; a bare number is cm."),
    ] = None,
    here: Annotated[
        bool, typer.Option("--here", help="Take the height the desk is at now.")
    ] = False,
    desk: DeskOpt = None,
) -> None:
    """Set the sit or stand height of the desk's profile; remembered, and live in the service."""
    from deskctl.cli.service_calls import via_service
    from deskctl.core.units import format_height, parse_height_mm
    from deskctl.errors import InputError

    if posture not in ("sit", "stand"):
        raise InputError(f"{posture!r} is not a posture to set; use sit or stand")
    if (height is None) == (not here):
        raise InputError(
            "give a height (like 108cm) or --here for where the desk is now, not both"
            if here
            else "give a height (like 108cm), or --here for where the desk is now"
        )
    height_mm = None if height is None else parse_height_mm(height)
    args: dict[str, object] = {"posture": posture}
    args.update({"here": True} if height_mm is None else {"height_mm": height_mm})
    live = via_service("profile_set", desk, args)
    if live is not None:
        now_mm = live.get(f"{posture}_mm")
        print(
            f"{live.get('desk')}: the {posture} height of profile {live.get('profile')!r} is now "
            f"{format_height(now_mm)}; the running service uses it from the next move"
        )
        return
    desk_name, settings = _desk(desk)
    if height_mm is None:
        height_mm = _height_now(desk)
    name, saved = _set_heights(desk_name, settings, posture, height_mm)
    print(
        f"{desk_name}: the {posture} height of profile {name!r} is now "
        f"{format_height(height_mm)} (saved in {saved})"
    )


def _height_now(desk: str | None) -> int:
    """Where the desk is now, asked of the desk itself (no service runs)."""
    import asyncio

    from deskctl.cli import direct_desk
    from deskctl.errors import DeskError, InputError

    chosen = direct_desk.chosen_desk(None, desk, simulate=False)
    height_mm, moving = asyncio.run(direct_desk.status(chosen.link()))
    if height_mm is None:
        raise DeskError(f"desk {chosen.name!r} did not say how high it is; try again")
    if moving:
        raise InputError(f"desk {chosen.name!r} is moving; set the height once it stands still")
    return height_mm


def _set_heights(
    desk_name: str, settings: DeskSettings | None, posture: str, height_mm: int
) -> tuple[str, Path]:
    """Save the new height in the desk's active profile; (its name, the file that holds it)."""
    from deskctl.config.profile_library import active_profile_name, set_heights
    from deskctl.config.settings import DeskSettings

    limits = settings or DeskSettings()  # not configured: the simulated desk's limits
    name = active_profile_name(desk_name, limits.profile)
    _profile, saved = set_heights(
        name,
        sit_mm=height_mm if posture == "sit" else None,
        stand_mm=height_mm if posture == "stand" else None,
        min_mm=limits.min_mm,
        max_mm=limits.max_mm,
    )
    return name, saved


@profile_app.command("validate")
@guard
def profile_validate(
    files: Annotated[list[Path], typer.Argument(help="Profile files to check.")],
) -> None:
    """Check profile files; each problem is one sentence naming the file and the field."""
    from deskctl.config.profile_library import read_profile_file
    from deskctl.errors import ConfigError

    broken = 0
    for path in files:
        try:
            profile = read_profile_file(path)
        except ConfigError as exc:
            broken += 1
            say(str(exc))
        else:
            print(f"ok: {path} ({profile.name})")
            warn_health(profile)
    if broken:
        raise typer.Exit(2)
