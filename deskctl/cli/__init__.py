"""The `deskctl` command: thin, and quick to start.

Each command module registers itself on the typer app in `_app.py`; heavy libraries (bleak,
aiomqtt, pydantic, rich) are imported inside the commands that need them, so `deskctl --help`
starts fast (bench/cli_start.py measures it). `deskctl status` against a running service is
answered before typer loads at all (`_fast.py`).
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    import sys

    from deskctl.cli._fast import fast_status

    code = fast_status(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    from deskctl.cli._app import app

    app()
