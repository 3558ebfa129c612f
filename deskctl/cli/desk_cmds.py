"""Desk commands: move, sit, stand, stop, status (talking to the desk directly).

Design: each command loads the settings, picks the desk (`--desk`, or the only one, or the simulated
default with `--simulate`), opens its link and does one thing. Heights are parsed before anything
connects, so bad input never moves a desk. A long move shows a live progress bar on a terminal;
`--json` prints one object instead. Ctrl-C during a move stops the desk before exiting.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json

if TYPE_CHECKING:
    from deskctl.clock import Clock
    from deskctl.links.base import DeskLink
    from deskctl.settings import DeskSettings

DeskOpt = Annotated[
    str | None, typer.Option("--desk", help="Which desk, when several are configured.")
]
SimOpt = Annotated[bool, typer.Option("--simulate", help="Use the built-in simulated desk.")]
SimKindOpt = Annotated[
    str | None,
    typer.Option(
        "--sim",
        help="Simulate the desk: 'model' (in process) or 'ble' (the real BLE link and bleak, "
        "against an emulated desk on a virtual radio).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Settings file to use.")]
ScaleOpt = Annotated[
    float,
    typer.Option(
        "--time-scale", min=0.01, max=10000, help="Run a simulated desk this many times faster."
    ),
]

_SIT_MM = 720
_STAND_MM = 1100


def _desk(
    config: Path | None, desk: str | None, simulate: bool, sim: str | None = None
) -> tuple[str, DeskSettings]:
    from deskctl.errors import InputError
    from deskctl.settings import load_settings, select_desk

    if sim is not None and sim not in ("model", "ble"):
        raise InputError(f"--sim takes 'model' or 'ble', not {sim!r}")
    name, settings = select_desk(load_settings(config), desk, simulate=simulate or sim is not None)
    if sim is not None:
        settings = settings.model_copy(update={"sim": sim})
    return name, settings


def _clock(desk: DeskSettings, time_scale: float) -> Clock:
    from deskctl.clock import Clock

    return Clock(scale=time_scale if desk.link == "sim" else 1.0)


def _link(name: str, desk: DeskSettings, clock: Clock) -> DeskLink:
    from deskctl.links.factory import open_link

    return open_link(name, desk, clock)


def posture_heights(name: str, desk: DeskSettings) -> tuple[int, int]:
    """The (sit_mm, stand_mm) of the desk's active profile."""
    try:
        from deskctl.profile_library import active_profile
    except ImportError:  # the profile library is optional in this slice
        return _SIT_MM, _STAND_MM
    profile = active_profile(name, desk.profile)
    return profile.sit_mm, profile.stand_mm


async def _move(link: DeskLink, target_mm: int, show_progress: bool) -> dict[str, Any]:
    async with link:
        start_mm = link.height_mm
        if not show_progress or start_mm is None:
            landed_mm = await link.move_to(target_mm)
        else:
            from rich.progress import BarColumn, Progress, TextColumn

            from deskctl.core.units import format_height

            total = max(1, abs(target_mm - start_mm))
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[now]}"),
            )
            with Progress(*columns, transient=True) as bar:
                task = bar.add_task(
                    f"{format_height(start_mm)} → {format_height(target_mm)}",
                    total=total,
                    now=format_height(start_mm),
                )

                def progress(height_mm: int) -> None:
                    bar.update(
                        task, completed=abs(height_mm - start_mm), now=format_height(height_mm)
                    )

                landed_mm = await link.move_to(target_mm, progress)
        return {
            "desk": link.name,
            "height_mm": landed_mm,
            "target_mm": target_mm,
            "start_mm": start_mm,
        }


def _run_move(
    target_mm: int, name: str, desk: DeskSettings, time_scale: float, as_json: bool
) -> None:
    import asyncio

    from deskctl.core.units import check_limits, format_height

    check_limits(target_mm, desk.min_mm, desk.max_mm)
    link = _link(name, desk, _clock(desk, time_scale))
    result = asyncio.run(_move(link, target_mm, not as_json and sys.stderr.isatty()))
    if as_json:
        print_json(result)
    else:
        print(f"{name}: at {format_height(result['height_mm'])}")


@app.command()
@guard
def move(
    height: Annotated[
        str, typer.Argument(help="Target height: 72cm, 720mm, 28.3in; a bare number is cm.")
    ],
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    time_scale: ScaleOpt = 1.0,
) -> None:
    """Move the desk to HEIGHT."""
    from deskctl.core.units import parse_height_mm

    target_mm = parse_height_mm(height)
    name, desk_settings = _desk(config, desk, simulate, sim)
    _run_move(target_mm, name, desk_settings, time_scale, as_json)


@app.command()
@guard
def sit(
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    time_scale: ScaleOpt = 1.0,
) -> None:
    """Move the desk to the active profile's sitting height."""
    name, desk_settings = _desk(config, desk, simulate, sim)
    sit_mm, _ = posture_heights(name, desk_settings)
    _run_move(sit_mm, name, desk_settings, time_scale, as_json)


@app.command()
@guard
def stand(
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    time_scale: ScaleOpt = 1.0,
) -> None:
    """Move the desk to the active profile's standing height."""
    name, desk_settings = _desk(config, desk, simulate, sim)
    _, stand_mm = posture_heights(name, desk_settings)
    _run_move(stand_mm, name, desk_settings, time_scale, as_json)


async def _stop(link: DeskLink) -> dict[str, Any]:
    async with link:
        await link.stop()
        return {"desk": link.name, "height_mm": link.height_mm, "stopped": True}


@app.command()
@guard
def stop(
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Stop the desk now."""
    import asyncio

    name, desk_settings = _desk(config, desk, simulate)
    result = asyncio.run(_stop(_link(name, desk_settings, _clock(desk_settings, 1.0))))
    if as_json:
        print_json(result)
    else:
        print(f"{name}: stopped")


async def _status(link: DeskLink) -> tuple[int | None, bool]:
    async with link:
        return link.height_mm, link.moving


@app.command()
@guard
def status(
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show the desk's height, posture and connection."""
    import asyncio

    from deskctl.core.posture import posture_of
    from deskctl.core.units import format_height

    name, desk_settings = _desk(config, desk, simulate)
    height_mm, moving = asyncio.run(_status(_link(name, desk_settings, _clock(desk_settings, 1.0))))
    sit_mm, stand_mm = posture_heights(name, desk_settings)
    posture = None if height_mm is None else posture_of(height_mm, sit_mm, stand_mm)
    result = {
        "desk": name,
        "height_mm": height_mm,
        "posture": posture,
        "moving": moving,
        "connected": True,
        "service": False,
    }
    if as_json:
        print_json(result)
    else:
        moving_note = ", moving" if moving else ""
        print(f"{name}: {format_height(height_mm)}, {posture or 'unknown posture'}{moving_note}")


async def _scan(timeout_s: float, sim: str | None) -> list[dict[str, Any]]:
    from deskctl.links.ble import scan as ble_scan

    if sim == "ble":
        from deskctl.clock import Clock
        from deskctl.testing.ble_emulator import EmulatedDesk
        from deskctl.testing.bleak_bumble import BumbleRadio

        radio = BumbleRadio()
        async with EmulatedDesk(radio, clock=Clock()):
            found = await ble_scan(timeout_s, backend=radio.scanner_backend)
        await radio.close()
    else:
        found = await ble_scan(timeout_s)
    return [{"name": d.name, "address": d.address, "rssi": d.rssi} for d in found]


@app.command()
@guard
def scan(
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.5, max=120, help="Seconds to listen.")
    ] = 5.0,
    as_json: JsonOpt = False,
    sim: SimKindOpt = None,
) -> None:
    """Find LINAK desks (IKEA IDÅSEN and others) advertising over Bluetooth LE."""
    import asyncio

    desks = asyncio.run(_scan(timeout, sim))
    if as_json:
        print_json(desks)
        return
    if not desks:
        print("No desk found. Is it on, near, and not connected to another device?")
        return
    for desk in desks:
        print(f"{desk['address']}  {desk['rssi']:>4} dBm  {desk['name']}")
    print('Add one to your settings: [desks.office] link = "ble" address = "..."')
