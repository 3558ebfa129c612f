"""`deskctl emulate esphome`: an emulated ESPHome desk on an MQTT broker, to try deskctl's MQTT
desk link (or Home Assistant's MQTT integration) without hardware.

Design: the command builds `deskctl.sim.esphome_desk.EsphomeDesk` (an Upsy Desky, or an ESPHome
cover, with a hold-to-move motor at 38 mm/s and the realistic `EsphomePhysics`: a varying run-on, a
sensor that publishes at most every 500 ms, a radio delay), or for a named bridge recipe
(`autonomous`, `loctek`, `jiecang-uart`, `micropython`) `deskctl.sim.esphome_bridges.BridgeDesk`
with `MEMORY_MM` in its memory slots, on the broker named by
`--host`/`--port`, prints the settings that make deskctl drive it, and runs until Ctrl-C or
SIGTERM, when it says `offline` on `<prefix>/status` and exits 0. A broker that cannot be reached,
or that drops the emulator, is one sentence and exit 1.
"""

from __future__ import annotations

import asyncio
import enum
import signal
import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard

if TYPE_CHECKING:
    from deskctl.sim.esphome_desk import EsphomeDesk

emulate_app = typer.Typer(
    name="emulate",
    help="Run an emulated desk, to try deskctl without hardware.",
    no_args_is_help=True,
)
app.add_typer(emulate_app, name="emulate")


class EmulatedPreset(enum.StrEnum):
    upsy = "upsy"
    cover = "cover"
    autonomous = "autonomous"
    loctek = "loctek"
    jiecang_uart = "jiecang-uart"
    micropython = "micropython"


MEMORY_MM = {1: 720, 2: 1100, 3: 760, 4: 1180}  # what an emulated bridge's memory slots hold
_BRIDGES = ("autonomous", "loctek", "jiecang-uart", "micropython")


def _settings_hint(preset: EmulatedPreset, prefix: str, host: str, port: int) -> str:
    from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM

    lines = [
        "[mqtt]",
        f'host = "{host}"',
        f"port = {port}",
        "",
        "[desks.emulated]",
        'link = "mqtt"',
        "",
        "[desks.emulated.mqtt]",
        f'preset = "{preset.value}"',
        f'prefix = "{prefix}"',
    ]
    if preset is EmulatedPreset.cover:
        lines += [f"cover_min_mm = {DEFAULT_BASE_MM}", f"cover_max_mm = {DEFAULT_TOP_MM}"]
    if preset.value in _BRIDGES and preset is not EmulatedPreset.micropython:  # it has no stop
        slots = ", ".join(f'{slot} = "{mm / 10:g}cm"' for slot, mm in MEMORY_MM.items())
        lines.append(f"memory_heights = {{ {slots} }}")
    return "\n".join(lines)


async def _serve(desk: EsphomeDesk, hint: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with desk:
        print(f"# settings for deskctl to drive this desk:\n{hint}", flush=True)
        print(
            f"emulating {desk.prefix!r} on {desk.broker.host}:{desk.broker.port}; Ctrl-C stops it",
            file=sys.stderr,
        )
        closed = asyncio.create_task(desk.wait_closed())
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (closed, stopped):
            task.cancel()
        if closed in done and not closed.cancelled():
            closed.result()  # raises the LinkError that ended it


@emulate_app.command("esphome")
@guard
def esphome(
    host: Annotated[str, typer.Option("--host", help="The MQTT broker's host.")] = "localhost",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The broker's port.")
    ] = 1883,
    prefix: Annotated[
        str, typer.Option("--prefix", help="The ESPHome node name; every topic starts with it.")
    ] = "upsy-desky-emu",
    preset: Annotated[
        EmulatedPreset,
        typer.Option(
            "--preset",
            help="upsy: an Upsy Desky (height sensor in inches, target number); "
            "cover: an ESPHome cover (position 0..100 over 62..127 cm); autonomous, loctek, "
            "jiecang-uart, micropython: the named bridge recipes (docs/desks.md).",
        ),
    ] = EmulatedPreset.upsy,
    height: Annotated[str, typer.Option("--height", help="Where the desk starts.")] = "75cm",
    username: Annotated[str | None, typer.Option("--username", help="Broker user.")] = None,
    password: Annotated[
        str | None,
        typer.Option("--password", envvar="DESKCTL_MQTT__PASSWORD", help="Broker password."),
    ] = None,
    time_scale: Annotated[
        float, typer.Option("--time-scale", min=0.01, max=1000, help="Run the motor faster.")
    ] = 1.0,
) -> None:
    """Run an emulated ESPHome desk (Upsy Desky, cover or a named bridge) on an MQTT broker."""
    from pydantic import SecretStr, ValidationError

    from deskctl.clocks.clock import Clock
    from deskctl.config.settings import MqttSettings
    from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM
    from deskctl.core.units import check_limits, parse_height_mm
    from deskctl.sim.esphome_desk import EsphomeDesk, EsphomeDeskModel

    start_mm = check_limits(parse_height_mm(height), DEFAULT_BASE_MM, DEFAULT_TOP_MM)
    if not prefix.strip() or any(c in prefix for c in "#+"):
        from deskctl.errors import InputError

        raise InputError(
            f"{prefix!r} cannot be a topic prefix; use a node name like upsy-desky-emu"
        )
    try:
        broker = MqttSettings(
            host=host,
            port=port,
            username=username,
            password=SecretStr(password) if password is not None else None,
        )
    except ValidationError as exc:
        from deskctl.errors import InputError

        first = exc.errors()[0]
        option = "--" + "-".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(f"{option}: {message}") from None
    clock = Clock(scale=time_scale)
    desk: EsphomeDesk
    plain: dict[EmulatedPreset, Literal["upsy", "cover"]] = {
        EmulatedPreset.upsy: "upsy",
        EmulatedPreset.cover: "cover",
    }
    if preset in plain:
        kind = plain[preset]
        model = EsphomeDeskModel(kind, height_mm=start_mm)  # a LINAK desk's travel
        desk = EsphomeDesk(broker, prefix=prefix, preset=kind, clock=clock, model=model)
    else:
        from deskctl.sim.esphome_bridges import BRIDGES, BridgeDesk

        unit: Literal["in", "cm"] = "in" if preset is EmulatedPreset.autonomous else "cm"
        desk = BridgeDesk(
            broker,
            next(b for b in BRIDGES if b == preset.value),
            prefix=prefix,
            clock=clock,
            model=EsphomeDeskModel(height_mm=start_mm, unit=unit),
            memory_mm=MEMORY_MM,
            sleep_after_s=60.0 if preset is EmulatedPreset.loctek else None,
        )
    asyncio.run(_serve(desk, _settings_hint(preset, prefix, host, port)))


class EmulatedFamily(enum.StrEnum):
    linak = "linak"
    jiecang = "jiecang"


def _proxy_hint(address: str, host: str, port: int, key: str | None) -> str:
    lines = [
        "[desks.emulated]",
        'link = "ble"',
        f'address = "{address}"',
        "",
        "[desks.emulated.proxy]",
        f'host = "{host}"',
        f"port = {port}",
    ]
    if key is not None:
        lines.append(f'key = "{key}"')
    return "\n".join(lines)


async def _serve_proxy(
    family: EmulatedFamily, start_mm: int, time_scale: float, proxy_options: dict[str, Any]
) -> None:
    from deskctl.clocks.clock import Clock
    from deskctl.sim.ble_emulator import EmulatedDesk
    from deskctl.sim.bleak_bumble import BumbleRadio
    from deskctl.sim.desk_model import DeskModel
    from deskctl.sim.esphome_proxy import EmulatedProxy
    from deskctl.sim.jiecang_emulator import EmulatedJiecangDesk
    from deskctl.sim.jiecang_model import JiecangModel

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    clock = Clock(scale=time_scale)
    radio = BumbleRadio()
    desk: EmulatedDesk | EmulatedJiecangDesk
    if family is EmulatedFamily.linak:
        desk = EmulatedDesk(radio, DeskModel(height_mm=start_mm), clock=clock)
    else:
        desk = EmulatedJiecangDesk(radio, JiecangModel(height_mm=start_mm), clock=clock)
    proxy = EmulatedProxy(radio, **proxy_options)
    await desk.start()
    try:
        try:
            await proxy.start()
        except OSError as exc:
            from deskctl.errors import LinkError

            raise LinkError(
                f"the emulated proxy cannot listen on {proxy.host}:{proxy.port} "
                f"({exc.strerror or exc}): pick another --port"
            ) from None
        hint = _proxy_hint(desk.address, proxy.host, proxy.port, proxy.key)
        print(f"# settings for deskctl to drive this desk:\n{hint}", flush=True)
        print(
            f"emulating an ESPHome Bluetooth proxy on {proxy.host}:{proxy.port} "
            f"({'encrypted' if proxy.key else 'plaintext'}, {proxy.slots} connection slots) "
            f"with a {family.value} desk at {desk.address}; Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        await proxy.stop()
        await desk.stop()
        await radio.close()


@emulate_app.command("proxy")
@guard
def proxy(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="The native API port (0: any free).")
    ] = 6053,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            envvar="DESKCTL_PROXY_KEY",
            help="An API encryption key (base64 of 32 bytes) to require; none: plaintext.",
        ),
    ] = None,
    slots: Annotated[
        int, typer.Option("--slots", min=0, max=9, help="Its BLE connection slots.")
    ] = 3,
    taken: Annotated[
        int, typer.Option("--taken", min=0, max=9, help="Slots held by other clients.")
    ] = 0,
    family: Annotated[
        EmulatedFamily, typer.Option("--desk", help="The desk in its range: linak or jiecang.")
    ] = EmulatedFamily.linak,
    height: Annotated[str, typer.Option("--height", help="Where the desk starts.")] = "75cm",
    time_scale: Annotated[
        float, typer.Option("--time-scale", min=0.01, max=1000, help="Run the motor faster.")
    ] = 1.0,
) -> None:
    """Run an emulated ESPHome Bluetooth proxy with an emulated BLE desk in its range."""
    from deskctl.config.settings import ProxySettings
    from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM
    from deskctl.core.units import check_limits, parse_height_mm
    from deskctl.errors import InputError

    start_mm = check_limits(parse_height_mm(height), DEFAULT_BASE_MM, DEFAULT_TOP_MM)
    if key is not None:
        from pydantic import SecretStr, ValidationError

        try:
            ProxySettings(host=host, key=SecretStr(key))
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise InputError(f"--key {message}") from None
    if taken > slots:
        raise InputError(f"--taken ({taken}) cannot be more than --slots ({slots})")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "key": key.strip() if key is not None else None,
        "slots": slots,
        "taken": taken,
    }
    asyncio.run(_serve_proxy(family, start_mm, time_scale, options))
