"""`deskctl service install|uninstall`: the systemd user unit for `deskctl run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard

service_app = typer.Typer(help="Run deskctl as a systemd user service.", no_args_is_help=True)
app.add_typer(service_app, name="service")


@service_app.command("install")
@guard
def install(
    config: Annotated[Path | None, typer.Option("--config", help="Settings file to use.")] = None,
) -> None:
    """Write and enable a systemd user unit that runs `deskctl run`."""
    from deskctl import systemd

    path, problem = systemd.install(config.resolve() if config else None)
    print(f"Wrote {path}.")
    if problem:
        print(f"It is not enabled yet ({problem}); run: systemctl --user enable --now deskctl")
    else:
        print("Enabled and started; follow it with: journalctl --user -u deskctl -f")


@service_app.command("uninstall")
@guard
def uninstall() -> None:
    """Stop, disable and remove the systemd user unit."""
    from deskctl import systemd

    path, existed, problem = systemd.uninstall()
    if not existed:
        print(f"No unit at {path}; nothing to do.")
        return
    print(f"Removed {path}." + (f" ({problem})" if problem else ""))
