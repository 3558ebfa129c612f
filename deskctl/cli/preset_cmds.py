"""Presets and the phone app: `preset list|recall|save`, `release [FOR]`, `connect`.

Design: `preset list` reads the settings only (a preset is a named height of one desk,
`[desks.office.presets] focus = "105cm"`; `deskctl move focus` goes there). `preset recall N`
and `preset save N` use the desk's own memory slots (a Jiecang box has four; a desk without them
is refused in one sentence): through the service when it runs, else on the desk directly.
`save` overwrites what the desk keeps, so it asks first unless `--yes`. `release` and `connect`
are the service's: it holds the desk's one Bluetooth connection, and lets go of it for a while
so that the vendor's phone app can connect; without a service nothing holds the desk.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from deskctl.cli import direct_desk
from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json
from deskctl.cli.desk_cmds import ConfigOpt, DeskOpt, JsonOpt, SimKindOpt, SimOpt
from deskctl.cli.service_calls import next_line, show_move, via_service

preset_app = typer.Typer(help="Named heights, and the desk's own memory slots.")
app.add_typer(preset_app, name="preset")

SlotArg = Annotated[int, typer.Argument(metavar="SLOT", help="The desk's memory slot, from 1.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")]
ForArg = Annotated[
    str | None, typer.Argument(metavar="FOR", help="How long: 10m (the default), 1h, 90s.")
]


@preset_app.command("list")
@guard
def list_presets(desk: DeskOpt = None, as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The desk's presets (from the settings), highest last."""
    from deskctl.core.units import format_height

    chosen = direct_desk.chosen_desk(config, desk, simulate=False)
    presets = chosen.desk.preset_heights
    if as_json:
        print_json({"desk": chosen.name, "presets": presets})
        return
    if not presets:
        table = f"[desks.{chosen.name}.presets]"
        print(f'{chosen.name}: no presets; add some, like {table} focus = "105cm"')
        return
    width = max(len(name) for name in presets)
    for name, height_mm in sorted(presets.items(), key=lambda item: item[1]):
        print(f"{name:<{width}}  {format_height(height_mm)}")


@preset_app.command("recall")
@guard
def recall(
    slot: SlotArg,
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Move the desk to the height it keeps in its memory SLOT."""
    if not (simulate or sim is not None or config is not None):
        answer = via_service("preset_recall", desk, {"slot": slot}, timeout_s=120.0)
        if answer is not None:
            height_mm = answer.get("height_mm")
            show_move({"desk": answer.get("desk"), "height_mm": height_mm, "slot": slot}, as_json)
            return
    chosen = direct_desk.chosen_desk(config, desk, simulate, sim)
    link = chosen.link()

    async def go() -> int:
        async with link:
            _has_slot(link.memory_slots, slot, chosen.name)
            return await link.recall(slot)

    show_move({"desk": chosen.name, "height_mm": asyncio.run(go()), "slot": slot}, as_json)


@preset_app.command("save")
@guard
def save(
    slot: SlotArg,
    yes: YesOpt = False,
    desk: DeskOpt = None,
    simulate: SimOpt = False,
    sim: SimKindOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Keep the desk's height now in its memory SLOT (it asks first, unless --yes)."""
    if not yes and not typer.confirm(f"Overwrite the desk's memory slot {slot}?", default=False):
        print("Nothing saved.")
        return
    answer: dict[str, Any] | None = None
    if not (simulate or sim is not None or config is not None):
        answer = via_service("preset_save", desk, {"slot": slot})
    if answer is None:
        chosen = direct_desk.chosen_desk(config, desk, simulate, sim)
        link = chosen.link()

        async def go() -> dict[str, Any]:
            async with link:
                _has_slot(link.memory_slots, slot, chosen.name)
                await link.save(slot)
                return {"desk": chosen.name, "height_mm": link.height_mm}

        answer = asyncio.run(go())
    _saved(answer, slot, as_json)


def _has_slot(slots: int, slot: int, desk: str) -> None:
    from deskctl.core.presets import check_slot

    check_slot(slot, slots, desk)


def _saved(answer: dict[str, Any], slot: int, as_json: bool) -> None:
    from deskctl.core.units import format_height

    if as_json:
        print_json({"desk": answer.get("desk"), "height_mm": answer.get("height_mm"), "slot": slot})
    else:
        print(f"{answer.get('desk')}: kept {format_height(answer.get('height_mm'))} in slot {slot}")


def _service_only(cmd: str, desk: str | None, args: dict[str, Any]) -> dict[str, Any]:
    from deskctl.errors import DeskError

    answer = via_service(cmd, desk, args)
    if answer is None:
        raise DeskError(
            "the deskctl service is not running, so nothing holds the desk: its phone app can "
            "connect now"
        )
    return answer


@app.command()
@guard
def release(for_: ForArg = None, desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Let go of the desk for its phone app (10 minutes unless given)."""
    from deskctl.core.units import parse_duration_s

    args = {} if for_ is None else {"duration_s": round(parse_duration_s(for_))}
    answer = _service_only("release", desk, args)
    if as_json:
        print_json(answer)
        return
    until = str(answer.get("released_until") or "")[11:16]
    print(
        f"{answer.get('desk')}: released for the phone app until {until} (deskctl connect ends it)"
    )


@app.command()
@guard
def connect(desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Connect to the desk again now, ending a release."""
    answer = _service_only("connect", desk, {})
    if as_json:
        print_json(answer)
        return
    line = next_line(answer)
    print(f"{answer.get('desk')}: connecting" + (f"\n  {line}" if line else ""))
