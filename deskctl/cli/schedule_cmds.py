"""Schedule commands for the running service: pause, resume, skip, snooze, confirm, inhibit,
and the schedule switch.

Design: these only make sense while `deskctl run` runs, so each is one call over the control
socket (`service_calls.schedule_call`, which the quick path runs too); durations and switches
are parsed before the call, so bad input never reaches the service. A switch takes `on` or `off`
(`true`/`false` too, any case, as over MQTT); anything else, an empty word included, is exit 2.
Without a service they say so in one sentence and exit 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from deskctl.cli import service_calls
from deskctl.cli._app import app
from deskctl.cli._common import guard

DeskOpt = Annotated[str | None, typer.Option("--desk", help="Which desk, when several run.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the status object.")]
ForArg = Annotated[str | None, typer.Argument(metavar="FOR", help="How long: 45m, 2h, 1h30m, 90s.")]


def _call(
    cmd: str, desk: str | None, as_json: bool, for_: str | None = None, state: str | None = None
) -> None:
    from deskctl.errors import DeskError

    if not service_calls.schedule_call(cmd, for_, state, desk, as_json):
        raise DeskError("the deskctl service is not running; start it with `deskctl run`")


@app.command()
@guard
def pause(for_: ForArg = None, desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Hold the schedule; with a duration it resumes by itself, timers where they were."""
    _call("pause", desk, as_json, for_=for_)


@app.command()
@guard
def resume(desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """End a pause, or a hold after an obstruction."""
    _call("resume", desk, as_json)


@app.command()
@guard
def skip(desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Skip the coming change of posture."""
    _call("skip", desk, as_json)


@app.command()
@guard
def snooze(for_: ForArg = None, desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Put the coming change off (10 minutes unless given)."""
    _call("snooze", desk, as_json, for_=for_)


@app.command()
@guard
def confirm(desk: DeskOpt = None, as_json: JsonOpt = False) -> None:
    """Confirm a move that waits for confirmation."""
    _call("confirm", desk, as_json)


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
    _call("inhibit", desk, as_json, state=state)


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
    _call("schedule", desk, as_json, state=state)
