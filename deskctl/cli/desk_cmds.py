"""Desk commands: move, sit, stand, stop, status, scan.

Design: the typer declarations only. When the service runs, a command goes to it over the control
socket (the desk takes one BLE connection, and the service holds it): `service_calls.py`, which
the quick path (`_fast.py`) runs too, before typer loads. When no service runs, or with
`--simulate`/`--sim`/`--config`, the command goes to the desk directly: `direct_desk.py`. Heights
are parsed before anything connects, so bad input never moves a desk. A long move shows a live
progress bar on a terminal; `--json` prints one object instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from deskctl.cli import direct_desk, service_calls
from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json

DeskOpt = Annotated[
    str | None, typer.Option("--desk", help="Which desk, when several are configured.")
]
SimOpt = Annotated[bool, typer.Option("--simulate", help="Use the built-in simulated desk.")]
SimKindOpt = Annotated[
    str | None,
    typer.Option(
        "--sim",
        help="Simulate the desk: 'model' (in process), 'ble' (the real BLE link and bleak, "
        "against an emulated desk on a virtual radio), 'jiecang' (a Jiecang desk; "
        "jiecang:FF12 picks its adapter's layout) or 'proxy' (that desk behind an emulated "
        "ESPHome Bluetooth proxy).",
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
HeightArg = Annotated[
    str,
    typer.Argument(
        help="Target height: 72cm, 720mm, 28.3in; a bare number is cm; or a preset's name."
    ),
]


# A height that starts with a minus (`move -5cm`) reaches the parser, which says that heights
# cannot be negative, instead of click calling it an unknown option.
@app.command(context_settings={"ignore_unknown_options": True})
@guard
def move(
    height: HeightArg,
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    time_scale: ScaleOpt = 1.0,
) -> None:
    """Move the desk to HEIGHT, or to a preset (deskctl preset list)."""
    direct_desk.move_command("move", height, desk, simulate, sim, as_json, config, time_scale)


def _add_posture_command(posture: str, height_word: str) -> None:
    """`sit` or `stand`: `move` to the active profile's height for the posture, with the very
    options of `move` (its signature without HEIGHT, which typer reads)."""
    import inspect

    def command(**options: Any) -> None:
        direct_desk.move_command(posture, None, **options)

    options = list(inspect.signature(move, eval_str=True).parameters.values())[1:]
    command.__signature__ = inspect.Signature(options, return_annotation=None)  # type: ignore[attr-defined]
    command.__doc__ = f"Move the desk to the active profile's {height_word} height."
    app.command(posture)(guard(command))


_add_posture_command("sit", "sitting")
_add_posture_command("stand", "standing")


@app.command()
@guard
def stop(
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Stop the desk now."""
    if not simulate and sim is None and config is None and service_calls.stop(desk, as_json):
        return
    direct_desk.stop_directly(desk=desk, simulate=simulate, sim=sim, as_json=as_json, config=config)


@app.command()
@guard
def status(
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show the desk's height, posture and connection (and the schedule, with the service)."""
    if not simulate and sim is None and config is None and service_calls.status(desk, as_json):
        return
    direct_desk.status_directly(
        desk=desk, simulate=simulate, sim=sim, as_json=as_json, config=config
    )


@app.command()
@guard
def scan(
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.5, max=120, help="Seconds to listen.")
    ] = 5.0,
    as_json: JsonOpt = False,
    sim: SimKindOpt = None,
    proxy: Annotated[
        str | None,
        typer.Option(
            "--proxy",
            help="Scan through an ESPHome Bluetooth proxy instead: HOST or HOST:PORT (6053).",
        ),
    ] = None,
    proxy_key: Annotated[
        str | None,
        typer.Option(
            "--proxy-key",
            envvar="DESKCTL_PROXY_KEY",
            help="The proxy's API encryption key (api: encryption: key), if it has one.",
        ),
    ] = None,
) -> None:
    """Find LINAK and Jiecang desks (IDÅSEN, Uplift, Desky, …) advertising over Bluetooth LE."""
    import asyncio

    from deskctl.errors import InputError

    if proxy_key is not None and proxy is None:
        raise InputError("--proxy-key goes with --proxy HOST, the proxy it unlocks")
    target = direct_desk.proxy_target(proxy, proxy_key) if proxy is not None else None
    desks = asyncio.run(direct_desk.scan(timeout, sim, target))
    if as_json:
        print_json(desks)
        return
    if not desks:
        near = "near the proxy" if target is not None else "near"
        print(f"No desk found. Is it on, {near}, and not connected to another device?")
        return
    for desk in desks:
        family = desk["family"] + (f" {desk['variant']}" if "variant" in desk else "")
        print(f"{desk['address']}  {desk['rssi']:>4} dBm  {family:<12}  {desk['name']}")
    print('Add one to your settings: [desks.office] link = "ble" address = "..."')
    if target is not None:
        key = ' key = "..."' if target.key is not None else ""
        print(
            f'and the proxy: [desks.office.proxy] host = "{target.host}" port = {target.port}{key}'
        )
