"""The `deskctl` command: thin, and quick to start.

Each command module registers itself on the typer app in `_app.py`; heavy libraries (bleak,
aiomqtt, pydantic, rich) are imported inside the commands that need them, so `deskctl --help`
starts fast (bench/cli_start.py measures it). `deskctl --help` and the commands a running service
answers (status, sit, stand, move, stop, the schedule commands, `profile use`) are answered
before typer loads at all (`_fast.py`).
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Run one command. A reader that goes away early (`deskctl status | head -1`) ends it
    quietly with exit 1, as Python's documentation on SIGPIPE recommends: the rest of the output
    goes to /dev/null, so no traceback is printed, now or when Python flushes at exit."""
    import os
    import sys

    try:
        try:
            _run(sys.argv[1:])
        finally:
            if sys.stdout is not None:  # None when run with stdout closed (`deskctl ... >&-`)
                sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("deskctl: interrupted.", file=sys.stderr)
        raise SystemExit(130) from None


def _run(argv: list[str]) -> None:
    from deskctl.cli._fast import fast_main

    code = fast_main(argv)
    if code is not None:
        raise SystemExit(code)
    from deskctl.cli._app import app

    app()
