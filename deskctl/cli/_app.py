"""The typer application; command modules attach themselves here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="deskctl",
    help="A smart standing-desk controller: safe sit/stand moves, each paired with a mobility cue.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module adds its commands to `app` on import.
from deskctl.cli import desk_cmds  # noqa: E402, F401
