"""Schedule commands for the running service: pause, resume, skip, snooze, confirm, inhibit,
and the schedule switch.

Design: these only make sense while `deskctl run` runs, so each is one call over the control
socket (no settings, no heavy imports); durations are parsed here, so bad input never reaches
the service. A switch takes `on` or `off` (`true`/`false` too, any case, as over MQTT); anything
else, an empty word included, is exit 2. Without a service they say so in one sentence and exit 1.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json
from deskctl.errors import InputError

DeskOpt = Annotated[str | None, typer.Option("--desk", help="Which desk, when several run.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the status object.")]
ForArg = Annotated[str | None, typer.Argument(metavar="FOR", help="How long: 45m, 2h, 1h30m, 90s.")]


def _call(cmd: str, desk: str | None, args: dict[str, Any], as_json: bool, done: str) -> None:
    from deskctl.cli.desk_cmds import via_service
    from deskctl.errors import DeskError

    answer = via_service(cmd, desk, args)
    if answer is None:
        raise DeskError("the deskctl service is not running; start it with `deskctl run`")
    if as_json:
        print_json(answer)
        return
    from deskctl.cli._fast import next_line

    line = next_line(answer)
    tail = f"\n  {line}" if line else ""
    print(f"{answer.get('desk')}: {done} (schedule {answer.get('schedule', '')}){tail}")


def _duration(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    from deskctl.core.units import parse_duration_s

    return {"duration_s": round(parse_duration_s(text))}


@app.command()
@guard
def pause(for_: ForArg = None, desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Hold the schedule; with a duration it resumes by itself, timers where they were."""
    _call("pause", desk, _duration(for_), as_json, "paused")


@app.command()
@guard
def resume(desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """End a pause, or a hold after an obstruction."""
    _call("resume", desk, {}, as_json, "resumed")


@app.command()
@guard
def skip(desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Skip the coming change of posture."""
    _call("skip", desk, {}, as_json, "skipped the coming change")


@app.command()
@guard
def snooze(for_: ForArg = None, desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Put the coming change off (10 minutes unless given)."""
    _call("snooze", desk, _duration(for_), as_json, "snoozed")


@app.command()
@guard
def confirm(desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Confirm a move that waits for confirmation."""
    _call("confirm", desk, {}, as_json, "confirmed")


def _switch(command: str, text: str) -> bool:
    """`on`/`off` (or `true`/`false`, any case, as over MQTT); anything else is exit 2."""
    word = text.strip().lower()
    if word in ("on", "true"):
        return True
    if word in ("off", "false"):
        return False
    raise InputError(f"{command} takes on or off, not {text[:40]!r}")


@app.command()
@guard
def inhibit(
    state: Annotated[
        str,
        typer.Argument(metavar="on|off", help="on: no automatic move (meeting, away); off: go on."),
    ],
    desk: DeskOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hold the desk still (on) or let the schedule move it again (off)."""
    on = _switch("inhibit", state)
    _call("inhibit", desk, {"on": on}, as_json, "inhibited" if on else "no longer inhibited")


@app.command()
@guard
def schedule(
    state: Annotated[
        str,
        typer.Argument(
            metavar="on|off", help="on: follow the profile's plan; off: no automatic move at all."
        ),
    ],
    desk: DeskOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Switch the schedule on or off (as MQTT's switch): while off, nothing moves by itself."""
    on = _switch("schedule", state)
    _call("schedule", desk, {"on": on}, as_json, f"switched the schedule {'on' if on else 'off'}")
