"""What a command does on the desk directly, when no service runs (or with `--simulate`,
`--sim`, `--config`): choose the desk, open its link, do one thing, close.

Design: the settings load and the desk is chosen by `settings.select_desk` (`--desk`, the only
one, or the simulated default). A direct move to a real desk holds the desk's only connection, so
it stands in for the service while it runs (`_DirectMove`: the service's lock and control socket,
answering `stop` and `status`). `stop` reports stopped only when the desk is seen at rest, else it
fails (exit 1). Ctrl-C during a move stops the desk before exiting.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskctl.cli.service_calls import REST_WAIT_S, progress_bar

if TYPE_CHECKING:
    from deskctl.adapters.control_server import ProgressSink, Request
    from deskctl.config.settings import DeskSettings, MqttSettings
    from deskctl.links.base import DeskLink
    from deskctl.links.esphome_proxy import ProxyTarget
    from deskctl.sim.ble_emulator import EmulatedDesk

_SIT_MM = 720
_STAND_MM = 1100
_DRAIN_S = 10.0  # how long a direct move waits, at its end, for a `stop` it is answering


@dataclass(frozen=True)
class Chosen:
    """The desk a command is for, with what it takes to reach it."""

    name: str
    desk: DeskSettings
    broker: MqttSettings | None

    def link(self, time_scale: float = 1.0) -> DeskLink:
        from deskctl.clocks.clock import Clock
        from deskctl.service.assembly import open_link

        clock = Clock(scale=time_scale if self.desk.link == "sim" else 1.0)
        return open_link(self.name, self.desk, clock, broker=self.broker)


def chosen_desk(
    config: Path | None, desk: str | None, simulate: bool, sim: str | None = None
) -> Chosen:
    from deskctl.config.settings import load_settings, select_desk, sim_choice

    choice = sim_choice(sim) if sim is not None else None
    settings = load_settings(config)
    name, chosen = select_desk(settings, desk, simulate=simulate or sim is not None)
    if choice is not None:
        chosen = chosen.model_copy(update=choice)
    return Chosen(name, chosen, settings.mqtt)


def _profile_name(chosen: Chosen) -> str | None:
    """The desk's active profile's name, for a status; None when it cannot be read."""
    from deskctl.config.profile_library import active_profile_name
    from deskctl.errors import DeskctlError

    try:
        return active_profile_name(chosen.name, chosen.desk.profile)
    except DeskctlError:
        return None


def posture_heights(name: str, desk: DeskSettings) -> tuple[int, int]:
    """The (sit_mm, stand_mm) of the desk's active profile."""
    try:
        from deskctl.config.profile_library import active_profile
    except ImportError:  # the profile library is optional in this slice
        return _SIT_MM, _STAND_MM
    profile = active_profile(name, desk.profile, desk.preset_heights)
    return profile.sit_mm, profile.stand_mm


async def halt(link: DeskLink) -> dict[str, Any]:
    """Stop the desk and see it at rest; DeskError when it still moves after REST_WAIT_S."""
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
                async with asyncio.timeout(REST_WAIT_S):
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

        from deskctl.adapters.control_client import ControlError
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
            return await halt(self.link)
        finally:
            self._answering -= 1
            if not self._answering:
                self._idle.set()

    def status(self) -> dict[str, Any]:
        from deskctl.core.posture import posture_of
        from deskctl.core.vocab import ScheduleState

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
            "schedule": ScheduleState.OFF,
            "service": False,
        }

    async def drain(self) -> None:
        """Let the `stop` requests being answered finish (bounded), before the link closes."""
        import asyncio

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_S):
                await self._idle.wait()


async def move(
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
            from deskctl.adapters.control_server import ControlServer
            from deskctl.adapters.service_lock import ServiceLock

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


async def stop(link: DeskLink) -> dict[str, Any]:
    async with link:
        return await halt(link)


async def status(link: DeskLink) -> tuple[int | None, bool, int]:
    """The desk's height, whether it moves, and its own memory slots (0: none)."""
    async with link:
        return link.height_mm, link.moving, link.memory_slots


def proxy_target(proxy: str, key: str | None) -> ProxyTarget:
    """`--proxy HOST[:PORT]` and `--proxy-key` as a proxy; InputError in one sentence."""
    from pydantic import SecretStr, ValidationError

    from deskctl.config.settings import ProxySettings
    from deskctl.errors import InputError
    from deskctl.links.esphome_proxy import ProxyTarget

    host, colon, port_text = proxy.rpartition(":") if ":" in proxy else (proxy, "", "")
    if colon and not port_text.isdigit():
        raise InputError(
            f"--proxy takes HOST or HOST:PORT (like desk-proxy.local:6053), not {proxy!r}"
        )
    try:
        settings = ProxySettings(
            host=host,
            port=int(port_text) if colon else 6053,
            key=SecretStr(key) if key is not None else None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        option = {"key": "--proxy-key"}.get(str(first["loc"][0]), "--proxy")
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(f"{option} {message}") from None
    secret = settings.key.get_secret_value().strip() if settings.key is not None else None
    return ProxyTarget(settings.host, settings.port, secret)


async def scan(
    timeout_s: float, sim: str | None, proxy: ProxyTarget | None = None
) -> list[dict[str, Any]]:
    from deskctl.config.settings import sim_choice
    from deskctl.links.ble import scan as ble_scan

    kind = None if sim is None else sim_choice(sim)
    if kind is not None and kind["sim"] in ("ble", "jiecang", "proxy"):
        from deskctl.clocks.clock import Clock
        from deskctl.sim.bleak_bumble import BumbleRadio
        from deskctl.sim.jiecang_emulator import EmulatedJiecangDesk
        from deskctl.sim.jiecang_links import variant_named
        from deskctl.sim.peripheral import Peripheral

        radio = BumbleRadio()
        emulated: Peripheral | EmulatedDesk
        if kind["sim"] in ("ble", "proxy"):
            from deskctl.sim.ble_emulator import EmulatedDesk

            emulated = EmulatedDesk(radio, clock=Clock())
        else:
            variant = variant_named(kind.get("sim_variant", "FE60"))
            emulated = EmulatedJiecangDesk(radio, variant=variant, clock=Clock())
        await emulated.start()
        try:
            if kind["sim"] == "proxy":
                from deskctl.links.esphome_proxy import ProxyTarget, proxy_backends
                from deskctl.sim.esphome_proxy import EmulatedProxy

                async with EmulatedProxy(radio) as emulated_proxy:
                    target = ProxyTarget("127.0.0.1", emulated_proxy.port)
                    found = await ble_scan(timeout_s, backend=proxy_backends(target)[1])
            else:
                found = await ble_scan(timeout_s, backend=radio.scanner_backend)
        finally:
            await emulated.stop()
            await radio.close()
    elif proxy is not None:
        from deskctl.links.esphome_proxy import proxy_backends

        found = await ble_scan(timeout_s, backend=proxy_backends(proxy)[1])
    else:
        found = await ble_scan(timeout_s)
    return [
        {"name": d.name, "address": d.address, "rssi": d.rssi, "family": d.family}
        | ({"variant": d.variant} if d.variant else {})
        for d in found
    ]


def move_command(
    cmd: str,
    height: str | None,
    desk: str | None,
    simulate: bool,
    sim: str | None,
    as_json: bool,
    config: Path | None,
    time_scale: float,
) -> None:
    """move, sit or stand: through the service when it runs (and none of `--simulate`, `--sim`,
    `--config` is given), else on the desk itself (sit and stand: the profile's heights)."""
    import asyncio
    import sys

    from deskctl.cli import service_calls
    from deskctl.core.units import check_limits

    direct = simulate or sim is not None or config is not None
    if not direct and service_calls.move(cmd, height, desk, as_json):
        return
    preset = service_calls.preset_of(height)
    target_mm = None if preset is not None else service_calls.target_of(height)
    chosen = chosen_desk(config, desk, simulate, sim)
    if preset is not None:
        from deskctl.core.presets import preset_mm

        target_mm = preset_mm(preset, chosen.desk.preset_heights, chosen.name)
    sit_stand_mm = None
    if target_mm is None:
        sit_stand_mm = posture_heights(chosen.name, chosen.desk)
        target_mm = sit_stand_mm[0] if cmd == "sit" else sit_stand_mm[1]
    check_limits(target_mm, chosen.desk.min_mm, chosen.desk.max_mm)
    link = chosen.link(time_scale)
    moved = move(
        link,
        target_mm,
        not as_json and sys.stderr.isatty(),
        stand_in=chosen.desk.link != "sim",  # a real desk: `stop` must reach this process
        sit_stand_mm=sit_stand_mm,
        profile=_profile_name(chosen),
    )
    service_calls.show_move(asyncio.run(moved), as_json)


def stop_directly(
    *, desk: str | None, simulate: bool, sim: str | None, as_json: bool, config: Path | None
) -> None:
    """Stop the desk itself, and see it at rest."""
    import asyncio

    from deskctl.cli._common import print_json

    chosen = chosen_desk(config, desk, simulate, sim)
    result = asyncio.run(stop(chosen.link()))
    if as_json:
        print_json(result)
    else:
        print(f"{chosen.name}: stopped")


def status_directly(
    *, desk: str | None, simulate: bool, sim: str | None, as_json: bool, config: Path | None
) -> None:
    """The desk's height, posture and connection, asked of the desk itself."""
    import asyncio

    from deskctl.cli._common import print_json
    from deskctl.core.posture import posture_of
    from deskctl.core.units import format_height

    chosen = chosen_desk(config, desk, simulate, sim)
    name = chosen.name
    height_mm, moving, memory_slots = asyncio.run(status(chosen.link()))
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
        "memory_slots": memory_slots,
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
