"""Profile and plan commands: `deskctl profile list|show|use|validate` and `deskctl plan`.

Design: thin wrappers over `config.profile_library` (files and the remembered choice) and the pure
planner; what `plan` and `profile list` print is in `plan_view.py` (typer-free, for the quick
path). `--desk` picks whose profile is meant: the name given, else the only configured desk, else
`desk` when none is configured (with several, `--desk` is needed, as for every command); when that
desk is configured its limits are checked against the profile's heights.
Heavy imports (pydantic, rich, zoneinfo) stay inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, say, warn_health

if TYPE_CHECKING:
    from deskctl.config.plain_settings import PlainDesk
    from deskctl.config.settings import DeskSettings
    from deskctl.core.profile import Profile

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
    from deskctl.cli import plan_view

    plan_view.plan(profile, day, as_json, tz_name, desk)


@profile_app.command("list")
@guard
def profile_list(desk: DeskOpt = None) -> None:
    """List the profiles; * marks the desk's active one."""
    from deskctl.cli import plan_view

    plan_view.profile_list(desk)


@profile_app.command("show")
@guard
def profile_show(name: Annotated[str, typer.Argument(help="The profile's name.")]) -> None:
    """Show one profile: heights, cycle, hours, warning and cue taste."""
    from deskctl.config.profile_library import find_profiles, load_profile

    profile = load_profile(name, presets=_only_desk_presets())
    found = find_profiles()[name]
    for line in _describe(profile, f"{found.origin}: {found.source}"):
        print(line)
    warn_health(profile)


def _only_desk_presets() -> dict[str, int] | None:
    """The presets of the desk a command without --desk means, if that is clear."""
    from deskctl.cli.plan_view import desk_presets, profile_desk
    from deskctl.errors import DeskctlError

    try:
        return desk_presets(profile_desk(None)[1])
    except DeskctlError:
        return None


def _describe(profile: Profile, source: str) -> list[str]:
    from datetime import UTC, date, timedelta

    from deskctl.cli.plan_view import time_in_words
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
    if profile.stand_for_meetings:
        lines.append("meetings: stood through (the desk rises a minute before; docs/meetings.md)")
    areas = ", ".join(a.value for a in profile.prefer_areas) or "no preference"
    kinds = ", ".join(k.value for k in profile.prefer_kinds) or "no preference"
    lines.append(f"cues:     areas {areas}; kinds {kinds}")
    usual = [d for d in sorted(profile.weekdays) if d not in profile.hours_on]
    if usual:
        monday = date(2024, 1, 1)
        blocks = plan_day(profile, monday + timedelta(days=usual[0]), UTC)
        sit, longest, stand, away = time_in_words(blocks)
        lines.append(f"a day:    sitting {sit} (longest {longest}), standing {stand}, away {away}")
    return lines


@profile_app.command("use")
@guard
def profile_use(
    name: Annotated[str, typer.Argument(help="The profile's name.")], desk: DeskOpt = None
) -> None:
    """Choose the desk's profile; remembered across restarts, and live in a running service."""
    from deskctl.cli import service_calls
    from deskctl.cli.plan_view import profile_desk
    from deskctl.config.profile_library import load_profile, remember_profile
    from deskctl.core.planner import check_fits
    from deskctl.core.units import format_height

    if service_calls.profile_use(name, desk):
        return
    desk_name, settings = profile_desk(desk)
    presets = None if settings is None else settings.preset_heights
    if settings is not None:
        check_fits(load_profile(name, presets=presets), settings.min_mm, settings.max_mm)
    profile = remember_profile(name, desk_name, presets)
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
    from deskctl.cli.plan_view import profile_desk
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
    desk_name, settings = profile_desk(desk)
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
    height_mm, moving, _ = asyncio.run(direct_desk.status(chosen.link()))
    if height_mm is None:
        raise DeskError(f"desk {chosen.name!r} did not say how high it is; try again")
    if moving:
        raise InputError(f"desk {chosen.name!r} is moving; set the height once it stands still")
    return height_mm


def _set_heights(
    desk_name: str, settings: DeskSettings | PlainDesk | None, posture: str, height_mm: int
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
