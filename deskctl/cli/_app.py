"""The typer application; command modules attach themselves here."""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

app = typer.Typer(
    name="deskctl",
    help="A smart standing-desk controller: safe sit/stand moves, each paired with a mobility cue.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish)
    context_settings={"help_option_names": ["-h", "--help"]},  # every command inherits it
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: importing rich for it would double the start time
)


def _print_version(value: bool) -> None:
    if value:
        from deskctl import __version__

        print(f"deskctl {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options that come before the command."""


# Each module adds its commands to `app` on import.
_COMMAND_MODULES = (
    "desk_cmds",
    "plan_cmds",
    "cue_cmds",
    "run_cmds",
    "schedule_cmds",
    "service_cmds",
    "config_cmds",
    "init_cmds",
    "stats_cmds",
    "emulate_cmds",
    "preset_cmds",
)
for _module in _COMMAND_MODULES:
    importlib.import_module(f"deskctl.cli.{_module}")
