"""Desk commands: move, sit, stand, stop, status, scan.

Design: when the service runs, a command goes to it over the control socket (the desk takes one
BLE connection, and the service holds it); that path loads no settings and no heavy library, so
`deskctl status` answers as fast as `deskctl --help` starts. When no service runs, or with
`--simulate`/`--sim`, the command loads the settings, picks the desk (`--desk`, the only one, or
the simulated default), opens its link and does one thing. Heights are parsed before anything
connects, so bad input never moves a desk. A long move shows a live progress bar on a terminal;
`--json` prints one object instead. Ctrl-C during a move stops the desk before exiting.
A direct move to a real desk holds the desk's only connection, so it stands in for the service
while it runs (`_DirectMove`: the service's lock and control socket, answering `stop` and
`status`). `stop` reports stopped only when the desk is seen at rest, else it fails (exit 1).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json

if TYPE_CHECKING:
    from deskctl.control import ProgressSink, Request
    from deskctl.links.base import DeskLink
    from deskctl.settings import DeskSettings, MqttSettings

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
        "--time-scale",
        min=0.01,
        max=240,
        help="Run a simulated desk this many times faster (up to 240).",
    ),
]

_SIT_MM = 720
_STAND_MM = 1100
_MOVE_TIMEOUT_S = 120.0


def via_service(
    cmd: str,
    desk: str | None,
    args: dict[str, Any] | None = None,
    *,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    timeout_s: float = 10.0,
) -> dict[str, Any] | None:
    """The running service's answer, or None when no service runs."""
    from deskctl import control_client

    try:
        return control_client.call(cmd, desk, args, timeout_s=timeout_s, on_progress=on_progress)
    except control_client.NoService:
        return None
    except KeyboardInterrupt:
        if cmd in ("sit", "stand", "move"):
            with contextlib.suppress(control_client.ControlError):
                control_client.call("stop", desk, timeout_s=5.0)
        raise


@contextlib.contextmanager
def progress_bar(target_mm: int, show: bool) -> Iterator[Callable[[int], None]]:
    """A live bar for a move (on a terminal); yields the function to call with each height."""
    if not show:
        yield lambda _height_mm: None
        return
    from rich.progress import BarColumn, Progress, TextColumn

    from deskctl.core.units import format_height

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[now]}"))
    start: list[int] = []
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"→ {format_height(target_mm)}", total=None, now="")

        def update(height_mm: int) -> None:
            if not start:
                start.append(height_mm)
                bar.update(task, total=max(1, abs(target_mm - height_mm)))
            bar.update(task, completed=abs(height_mm - start[0]), now=format_height(height_mm))

        yield update


@dataclass(frozen=True)
class _Chosen:
    """The desk a command is for, with what it takes to reach it."""

    name: str
    desk: DeskSettings
    broker: MqttSettings | None

    def link(self, time_scale: float = 1.0) -> DeskLink:
        from deskctl.clock import Clock
        from deskctl.links.factory import open_link

        clock = Clock(scale=time_scale if self.desk.link == "sim" else 1.0)
        return open_link(self.name, self.desk, clock, broker=self.broker)


def _desk(config: Path | None, desk: str | None, simulate: bool, sim: str | None = None) -> _Chosen:
    from deskctl.errors import InputError
    from deskctl.settings import load_settings, select_desk

    if sim is not None and sim not in ("model", "ble"):
        raise InputError(f"--sim takes 'model' or 'ble', not {sim!r}")
    settings = load_settings(config)
    name, chosen = select_desk(settings, desk, simulate=simulate or sim is not None)
    if sim is not None:
        chosen = chosen.model_copy(update={"sim": sim})
    return _Chosen(name, chosen, settings.mqtt)


def _profile_name(chosen: _Chosen) -> str | None:
    """The desk's active profile's name, for a status; None when it cannot be read."""
    from deskctl.errors import DeskctlError
    from deskctl.profile_library import active_profile_name

    try:
        return active_profile_name(chosen.name, chosen.desk.profile)
    except DeskctlError:
        return None


def posture_heights(name: str, desk: DeskSettings) -> tuple[int, int]:
    """The (sit_mm, stand_mm) of the desk's active profile."""
    try:
        from deskctl.profile_library import active_profile
    except ImportError:  # the profile library is optional in this slice
        return _SIT_MM, _STAND_MM
    profile = active_profile(name, desk.profile)
    return profile.sit_mm, profile.stand_mm


_REST_WAIT_S = 3.0  # how long a stopped desk may take to report that it is at rest
_DRAIN_S = 10.0  # how long a direct move waits, at its end, for a `stop` it is answering


async def _halt(link: DeskLink) -> dict[str, Any]:
    """Stop the desk and see it at rest; DeskError when it still moves after _REST_WAIT_S."""
    import asyncio

    from deskctl.errors import DeskError
    from deskctl.links.base import HeightChanged, LinkEvent

    at_rest = asyncio.Event()

    def on_event(event: LinkEvent) -> None:
        if isinstance(event, HeightChanged) and not event.moving:
            at_rest.set()

    unsubscribe = link.subscribe(on_event)
    try:
        await link.stop()
        if link.moving:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_REST_WAIT_S):
                    await at_rest.wait()
    finally:
        unsubscribe()
    if link.moving or not link.connected:
        from deskctl.core.units import format_height

        raise DeskError(
            f"desk {link.name!r} was told to stop but still moves (at "
            f"{format_height(link.height_mm)}): stop it with its own buttons"
            if link.connected
            else f"desk {link.name!r} dropped the link, so it could not be seen to stop"
        )
    return {"desk": link.name, "height_mm": link.height_mm, "moving": False, "stopped": True}


class _DirectMove:
    """A `deskctl move` without a service takes the service's place while it runs.

    The desk allows one connection, and this process holds it: so it takes the service's lock (a
    `deskctl run` started meanwhile refuses) and answers `stop` and `status` on the control
    socket, as the service does; other commands are refused until the move ends. A `stop` that
    arrives while the desk is being connected stops the move before it begins.
    """

    def __init__(
        self,
        link: DeskLink,
        target_mm: int,
        sit_stand_mm: tuple[int, int] | None,
        profile: str | None,
    ) -> None:
        import asyncio

        self.link = link
        self.target_mm = target_mm
        self.sit_stand_mm = sit_stand_mm
        self.profile = profile
        self.halted = False
        self.ready = asyncio.Event()  # set once connecting is over (connected or not)
        self._answering = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle(self, request: Request, _progress: ProgressSink) -> dict[str, Any]:
        import os

        from deskctl.control_client import ControlError
        from deskctl.errors import InputError, LinkError

        if request.desk is not None and request.desk != self.link.name:
            raise InputError(f"only desk {self.link.name!r} is reachable now, by a direct move")
        if request.cmd == "status":
            return self.status()
        if request.cmd != "stop":
            raise ControlError(
                f"`deskctl move` (pid {os.getpid()}) is moving desk {self.link.name!r} without "
                "the service; until it ends only `deskctl stop` and `deskctl status` reach it"
            )
        self.halted = True
        self._answering += 1
        self._idle.clear()
        try:
            await self.ready.wait()
            if not self.link.connected:
                raise LinkError(f"desk {self.link.name!r} is not connected")
            return await _halt(self.link)
        finally:
            self._answering -= 1
            if not self._answering:
                self._idle.set()

    def status(self) -> dict[str, Any]:
        from deskctl.core.posture import posture_of

        height_mm = self.link.height_mm
        posture = None
        if height_mm is not None and self.sit_stand_mm is not None:  # known for sit and stand
            posture = posture_of(height_mm, *self.sit_stand_mm)
        return {
            "desk": self.link.name,
            "height_mm": height_mm,
            "posture": posture,
            "profile": self.profile,
            "moving": self.link.moving,
            "connected": self.link.connected,
            "target_mm": self.target_mm,
            "simulated": self.link.simulated,
            "schedule": "off",
            "service": False,
        }

    async def drain(self) -> None:
        """Let the `stop` requests being answered finish (bounded), before the link closes."""
        import asyncio

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_S):
                await self._idle.wait()


async def _move(
    link: DeskLink,
    target_mm: int,
    show_progress: bool,
    *,
    stand_in: bool = False,
    sit_stand_mm: tuple[int, int] | None = None,
    profile: str | None = None,
) -> dict[str, Any]:
    """Connect, move, close; with `stand_in`, answer the control socket meanwhile (_DirectMove)."""
    from deskctl.errors import MoveError

    direct = _DirectMove(link, target_mm, sit_stand_mm, profile)
    async with contextlib.AsyncExitStack() as stack:
        if stand_in:
            from deskctl.control import ControlServer, ServiceLock

            stack.enter_context(ServiceLock())
            await stack.enter_async_context(ControlServer(None, direct.handle))
        try:
            await link.connect()
        finally:
            direct.ready.set()
        stack.push_async_callback(link.close)
        stack.push_async_callback(direct.drain)
        start_mm = link.height_mm
        if direct.halted:
            raise MoveError("the move was stopped before it began", start_mm)
        with progress_bar(target_mm, show_progress) as progress:
            landed_mm = await link.move_to(target_mm, progress)
        return {
            "desk": link.name,
            "height_mm": landed_mm,
            "target_mm": target_mm,
            "start_mm": start_mm,
        }


def _show_move(result: dict[str, Any], as_json: bool) -> None:
    from deskctl.core.units import format_height

    if as_json:
        print_json(result)
    else:
        print(f"{result['desk']}: at {format_height(result['height_mm'])}")


def _move_command(
    cmd: str,
    height: str | None,
    *,
    desk: str | None,
    simulate: bool,
    sim: str | None,
    as_json: bool,
    config: Path | None,
    time_scale: float,
) -> None:
    """sit, stand or move: through the service when it runs, else to the desk directly."""
    import asyncio

    from deskctl.core.units import check_limits, parse_height_mm

    target_mm = None if height is None else parse_height_mm(height)
    show = not as_json and sys.stderr.isatty()
    if not simulate and sim is None and config is None:
        args = {} if target_mm is None else {"height_mm": target_mm}
        with progress_bar(target_mm or 0, show and target_mm is not None) as progress:
            answer = via_service(
                cmd,
                desk,
                args,
                on_progress=lambda p: progress(int(p["height_mm"])),
                timeout_s=_MOVE_TIMEOUT_S,
            )
        if answer is not None:
            height_mm = answer.get("height_mm")
            _show_move(
                {
                    "desk": answer.get("desk"),
                    "height_mm": height_mm,
                    "target_mm": target_mm or height_mm,
                },
                as_json,
            )
            return
    chosen = _desk(config, desk, simulate, sim)
    sit_stand_mm = None
    if target_mm is None:
        sit_stand_mm = posture_heights(chosen.name, chosen.desk)
        target_mm = sit_stand_mm[0] if cmd == "sit" else sit_stand_mm[1]
    check_limits(target_mm, chosen.desk.min_mm, chosen.desk.max_mm)
    link = chosen.link(time_scale)
    stand_in = chosen.desk.link != "sim"  # a real desk: `stop` must reach this process
    moved = _move(
        link,
        target_mm,
        show,
        stand_in=stand_in,
        sit_stand_mm=sit_stand_mm,
        profile=_profile_name(chosen),
    )
    _show_move(asyncio.run(moved), as_json)


# A height that starts with a minus (`move -5cm`) reaches the parser, which says that heights
# cannot be negative, instead of click calling it an unknown option.
@app.command(context_settings={"ignore_unknown_options": True})
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
    _move_command(
        "move",
        height,
        desk=desk,
        simulate=simulate,
        sim=sim,
        as_json=as_json,
        config=config,
        time_scale=time_scale,
    )


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
    _move_command(
        "sit",
        None,
        desk=desk,
        simulate=simulate,
        sim=sim,
        as_json=as_json,
        config=config,
        time_scale=time_scale,
    )


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
    _move_command(
        "stand",
        None,
        desk=desk,
        simulate=simulate,
        sim=sim,
        as_json=as_json,
        config=config,
        time_scale=time_scale,
    )


async def _stop(link: DeskLink) -> dict[str, Any]:
    async with link:
        return await _halt(link)


def _seen_at_rest(answer: dict[str, Any], desk: str | None) -> dict[str, Any]:
    """The service's answer to `stop`, once its status shows the desk at rest; else DeskError."""
    import time

    from deskctl.core.units import format_height
    from deskctl.errors import DeskError

    name = answer.get("desk") or desk
    deadline = time.monotonic() + _REST_WAIT_S
    while answer.get("connected", True) and answer.get("moving"):
        if time.monotonic() > deadline:
            raise DeskError(
                f"desk {name!r} was told to stop but still moves (at "
                f"{format_height(answer.get('height_mm'))}): stop it with its own buttons"
            )
        time.sleep(0.1)
        status = via_service("status", name)
        if status is None:
            raise DeskError(f"the deskctl service ended before desk {name!r} was seen to stop")
        answer = status
    if not answer.get("connected", True):
        raise DeskError(f"desk {name!r} is not connected, so it could not be seen to stop")
    return answer


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

    if not simulate and config is None:
        answer = via_service("stop", desk)
        if answer is not None:
            answer = _seen_at_rest(answer, desk)
            if as_json:
                print_json(
                    {
                        "desk": answer.get("desk"),
                        "height_mm": answer.get("height_mm"),
                        "stopped": True,
                    }
                )
            else:
                print(f"{answer.get('desk')}: stopped")
            return
    chosen = _desk(config, desk, simulate)
    name = chosen.name
    result = asyncio.run(_stop(chosen.link()))
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
    """Show the desk's height, posture and connection (and the schedule, with the service)."""
    import asyncio

    if not simulate and config is None:
        answer = via_service("status", desk)
        if answer is not None:
            _show_service_status(answer, as_json)
            return
    from deskctl.core.posture import posture_of
    from deskctl.core.units import format_height

    chosen = _desk(config, desk, simulate)
    name = chosen.name
    height_mm, moving = asyncio.run(_status(chosen.link()))
    sit_mm, stand_mm = posture_heights(name, chosen.desk)
    posture = None if height_mm is None else posture_of(height_mm, sit_mm, stand_mm)
    result = {
        "desk": name,
        "height_mm": height_mm,
        "posture": posture,
        "moving": moving,
        "connected": True,
        "simulated": chosen.desk.link == "sim",
        "service": False,
    }
    if as_json:
        print_json(result)
    else:
        moving_note = ", moving" if moving else ""
        simulated = " (a simulated desk, not a real one)" if result["simulated"] else ""
        print(
            f"{name}: {format_height(height_mm)}, {posture or 'unknown posture'}{moving_note}"
            f"{simulated}"
        )


def _show_service_status(answer: dict[str, Any], as_json: bool) -> None:
    from deskctl.cli._fast import status_lines

    if as_json:
        print_json(answer)
    else:
        print("\n".join(status_lines(answer)))


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
