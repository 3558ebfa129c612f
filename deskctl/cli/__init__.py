"""The `deskctl` command: thin, and quick to start.

Each command module registers itself on the typer app in `_app.py`; heavy libraries (bleak,
aiomqtt, pydantic, rich) are imported inside the commands that need them, so `deskctl --help`
starts fast (bench/cli_start.py measures it).
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    from deskctl.cli._app import app

    app()
