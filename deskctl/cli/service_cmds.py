"""`deskctl service install|uninstall`: the systemd user unit for `deskctl run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import fail, guard

service_app = typer.Typer(help="Run deskctl as a systemd user service.", no_args_is_help=True)
app.add_typer(service_app, name="service")


@service_app.command("install")
@guard
def install(
    config: Annotated[Path | None, typer.Option("--config", help="Settings file to use.")] = None,
) -> None:
    """Write and enable a systemd user unit that runs `deskctl run`."""
    from deskctl.adapters import systemd

    path, problem = systemd.install(config.resolve() if config else None)
    print(f"Wrote {path}.")
    env = systemd.env_path()
    unseen = systemd.unseen_environment()
    if unseen:
        print(
            f"The unit does not see {', '.join(unseen)} from this shell; put "
            f"{'it' if len(unseen) == 1 else 'them'} in {env} "
            "(one NAME=value a line, chmod 600) or in the settings file."
        )
    loose = systemd.loose_env_file()
    if loose is not None:
        print(f"{loose} can be read by others; it may hold a password: chmod 600 {loose}")
    if problem:
        fail(
            f"the unit is written but not enabled: {problem}; where systemd runs, enable it with "
            "`systemctl --user enable --now deskctl`, or start `deskctl run` another way",
            1,
        )
    print("Enabled and started; follow it with: journalctl --user -u deskctl -f")


@service_app.command("uninstall")
@guard
def uninstall() -> None:
    """Stop, disable and remove the systemd user unit."""
    from deskctl.adapters import systemd

    path, existed, problem = systemd.uninstall()
    if not existed:
        print(f"No unit at {path}; nothing to do.")
        return
    print(f"Removed {path}." + (f" ({problem})" if problem else ""))
