"""`deskctl --help` as typer prints it at click's full width (78 columns), for the quick path.

Generated: tests/test_cli_fast.py keeps it equal to typer's own help; after a change to the
commands (a name, a first line of help, an option before the command), rewrite it with
`python -m deskctl.cli._help`.
"""

from __future__ import annotations

__all__ = ["TOP_HELP", "typer_help"]

TOP_HELP = """\
Usage: deskctl [OPTIONS] COMMAND [ARGS]...

  A smart standing-desk controller: safe sit/stand moves, each paired with a
  mobility cue.

Options:
  --version             Print the version and exit.
  --install-completion  Install completion for the current shell.
  --show-completion     Show completion for the current shell, to copy it or
                        customize the installation.
  -h, --help            Show this message and exit.

Commands:
  move      Move the desk to HEIGHT, or to a preset (deskctl preset list).
  sit       Move the desk to the active profile's sitting height.
  stand     Move the desk to the active profile's standing height.
  stop      Stop the desk now.
  status    Show the desk's height, posture and connection (and the...
  scan      Find LINAK and Jiecang desks (IDÅSEN, Uplift, Desky, …)...
  plan      Show a day's plan: when the desk goes up and down, and the...
  run       Run the service: follow the plan, warn before each move, cue...
  pause     Hold the schedule; with a duration it resumes by itself,...
  resume    End a pause, or a hold after an obstruction.
  skip      Skip the coming change of posture.
  snooze    Put the coming change off (10 minutes unless given).
  confirm   Confirm a move that waits for confirmation.
  inhibit   Hold the desk still (on) or let the schedule move it again...
  schedule  Switch the schedule on or off (as MQTT's switch): while off,...
  init      First run: find your desk, set your sit and stand heights,...
  stats     Sitting and standing time, changes, longest sitting bout and...
  release   Let go of the desk for its phone app (10 minutes unless given).
  connect   Connect to the desk again now, ending a release.
  profile   Height profiles: list them, show one, choose one, check files.
  cues      The mobility cue library: list the cues, show how to do one.
  service   Run deskctl as a systemd user service.
  config    Settings: show them, find them, start a file.
  emulate   Run an emulated desk, to try deskctl without hardware.
  preset    Named heights, and the desk's own memory slots.
"""


def typer_help() -> str:
    """The top-level help as typer prints it now, at click's full width."""
    import contextlib
    import io
    import os

    from deskctl.cli._app import app

    out = io.StringIO()
    width = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            app(["--help"], prog_name="deskctl")
    finally:
        if width is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = width
    return out.getvalue()


if __name__ == "__main__":
    from pathlib import Path

    here = Path(__file__)
    text = here.read_text(encoding="utf-8")
    start = text.index('TOP_HELP = """\\\n') + len('TOP_HELP = """\\\n')
    end = text.index('"""', start)
    here.write_text(text[:start] + typer_help() + text[end:], encoding="utf-8")
    print(f"wrote {here}")
