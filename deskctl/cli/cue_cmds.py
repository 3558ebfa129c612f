"""Cue commands: `deskctl cues list [--area A] [--kind K] [--json]` and `deskctl cues show ID`.

Design: thin wrappers over `deskctl.cue_library.load_cues` (shipped cues plus the user's own).
`list` draws a rich table, or prints a JSON list of full cue objects; `show` prints one cue's
how-to steps with the safety line, or one JSON object. An unknown id exits 2 with one sentence and
the closest ids. Only the small, pure cue module is imported up front (for the option choices);
the library files and rich load inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json
from deskctl.core.cues import Area, Change, Cue, Kind

cues_app = typer.Typer(
    name="cues",
    help="The mobility cue library: list the cues, show how to do one.",
    no_args_is_help=True,
)
app.add_typer(cues_app, name="cues")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SAFETY = "Move gently and stay in a pain-free range; stop if anything hurts."
_WHEN = {
    Change.TO_STAND: "on standing up",
    Change.TO_SIT: "on sitting down",
    Change.AWAY: "on a walk away from the desk",
}
_AREA_STYLE = {
    Area.LOWER_BACK: "magenta",
    Area.HIPS: "cyan",
    Area.UPPER_BACK: "green",
    Area.NECK: "yellow",
    Area.WHOLE_BODY: "blue",
}


def _suits(cue: Cue) -> str:
    return ", ".join(change.value for change in Change if change in cue.suits)


def _duration(cue: Cue) -> str:
    from deskctl.core.units import format_duration

    return format_duration(cue.duration_s)


@cues_app.command("list")
@guard
def list_cues(
    area: Annotated[
        Area | None, typer.Option("--area", help="Only cues for this body area.")
    ] = None,
    kind: Annotated[Kind | None, typer.Option("--kind", help="Only cues of this kind.")] = None,
    json: JsonOpt = False,
) -> None:
    """List the cues: shipped ones and your own (config dir, cues/*.toml)."""
    from deskctl.cue_library import load_cues

    cues = [
        cue
        for cue in load_cues()
        if (area is None or cue.area is area) and (kind is None or cue.kind is kind)
    ]
    if json:
        print_json([cue.to_full_json() for cue in cues])
        return

    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not cues:
        console.print("No cue matches; `deskctl cues list` shows them all.")
        return
    table = Table(title=f"{len(cues)} cues", title_justify="left")
    for column in ("id", "title", "area", "kind", "time", "suits"):
        table.add_column(
            column, no_wrap=column != "title", justify="right" if column == "time" else "left"
        )
    for cue in cues:
        style = _AREA_STYLE[cue.area]
        table.add_row(
            cue.id,
            cue.title,
            f"[{style}]{cue.area.value}[/]",
            cue.kind.value,
            _duration(cue),
            _suits(cue),
        )
    console.print(table)


@cues_app.command("show")
@guard
def show_cue(
    cue_id: Annotated[
        str, typer.Argument(metavar="ID", help="The cue's id, as `cues list` shows.")
    ],
    json: JsonOpt = False,
) -> None:
    """Show how to do one cue."""
    from deskctl.core.cues import find_cue
    from deskctl.cue_library import load_cues

    cue = find_cue(load_cues(), cue_id)
    if json:
        print_json(cue.to_full_json())
        return

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    when = " or ".join(_WHEN[change] for change in Change if change in cue.suits)
    console.print(f"[bold]{escape(cue.title)}[/]  [dim]({cue.id})[/]")
    console.print(
        f"[{_AREA_STYLE[cue.area]}]{cue.area.value}[/] · {cue.kind.value} · "
        f"{_duration(cue)} · {when}"
    )
    steps = Table.grid(padding=(0, 1))
    steps.add_column(justify="right", style="bold")
    steps.add_column()
    for number, step in enumerate(cue.steps, start=1):
        steps.add_row(f"  {number}.", escape(step))
    console.print(steps)
    console.print(f"[dim]{SAFETY}[/]")
