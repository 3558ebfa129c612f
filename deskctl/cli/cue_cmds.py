"""Cue commands: `deskctl cues list [--area A] [--kind K] [--json]` and `deskctl cues show ID`.

Design: thin wrappers over `config.cue_library.load_cues` (shipped cues plus the user's own).
`list` draws a rich table, or prints a JSON list of full cue objects; `show` prints one cue's
how-to steps with the safety line, or one JSON object. An unknown id exits 2 with one sentence and
the closest ids. Only the small, pure cue module is imported up front (for the option choices);
the library files and rich load inside the commands. `cues list` itself is in `read_only.py`,
which the quick path (`_fast.py`) runs too.
"""

from __future__ import annotations

from typing import Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json
from deskctl.cli.read_only import AREA_STYLE, cue_time
from deskctl.core.cues import Area, Change, Kind

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
    from deskctl.cli.read_only import cues_list

    cues_list(area, kind, json)


@cues_app.command("show")
@guard
def show_cue(
    cue_id: Annotated[
        str, typer.Argument(metavar="ID", help="The cue's id, as `cues list` shows.")
    ],
    json: JsonOpt = False,
) -> None:
    """Show how to do one cue."""
    from deskctl.config.cue_library import load_cues
    from deskctl.core.cues import find_cue

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
        f"[{AREA_STYLE[cue.area]}]{cue.area.value}[/] · {cue.kind.value} · {cue_time(cue)} · {when}"
    )
    steps = Table.grid(padding=(0, 1))
    steps.add_column(justify="right", style="bold")
    steps.add_column()
    for number, step in enumerate(cue.steps, start=1):
        steps.add_row(f"  {number}.", escape(step))
    console.print(steps)
    console.print(f"[dim]{SAFETY}[/]")
