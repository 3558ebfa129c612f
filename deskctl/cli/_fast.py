"""`deskctl status` against a running service, answered before typer loads.

Design: status is the command people (and status bars) run most, and the service already holds
the answer, so `main()` tries this first: it reads `status [--json] [--desk NAME]` from argv by
hand, asks the service over the control socket (stdlib only), and prints. Anything else on the
command line, or no service running, falls through to the typer application, which behaves the
same way with the full machinery. Only the standard library and deskctl's light modules load here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["fast_status", "next_line", "status_lines"]


def _parse(argv: list[str]) -> tuple[bool, str | None] | None:
    """(as_json, desk) for `status [--json] [--desk NAME]`, or None for anything else."""
    if not argv or argv[0] != "status":
        return None
    as_json, desk = False, None
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--json":
            as_json = True
        elif arg == "--desk" and rest:
            desk = rest.pop(0)
        elif arg.startswith("--desk="):
            desk = arg.partition("=")[2]
        else:
            return None
    return as_json, desk


def status_lines(answer: dict[str, Any]) -> list[str]:
    """A running service's status, as `deskctl status` prints it for a person."""
    from deskctl.core.units import format_duration, format_height

    lines: list[str] = []
    for state in answer.get("desks", [answer]):
        line = f"{state['desk']}: {format_height(state.get('height_mm'))}"
        line += f", {state.get('posture') or 'unknown posture'}"
        line += ", moving" if state.get("moving") else ""
        line += "" if state.get("connected") else " (not connected)"
        line += " (a simulated desk, not a real one)" if state.get("simulated") else ""
        lines.append(line)
        lines.append(f"  profile {state.get('profile')}, schedule {state.get('schedule')}")
        line = next_line(state)
        if line:
            lines.append(f"  {line}")
        lines.append(
            f"  standing today {format_duration(state.get('standing_today_s') or 0)}, "
            f"sitting bout {format_duration(state.get('sitting_bout_s') or 0)}"
        )
    return lines


def next_line(state: dict[str, Any]) -> str:
    """What comes next, in words: what it waits for, then the change (or "" if nothing does).

    `stand at 10:15`; `paused until 10:15, then stand at 10:35`; `paused until you resume
    (deskctl resume), then stand`; `waiting for your confirm to stand (deskctl confirm), until
    10:02`; `held: why (deskctl resume), then sit`; `inhibit is on (deskctl inhibit off), ...`.
    """
    posture = state.get("next_posture")
    at = state.get("next_change_at")
    cue = state.get("next_cue") or {}
    change = ""
    if posture:
        change = f"{posture} at {at[11:16]}" if at else str(posture)
        change += f" with {cue['title']}" if cue.get("title") else ""
    until = state.get("waiting_until")
    waiting = state.get("waiting_for")
    if waiting == "confirm":
        by = f", until {until[11:16]}" if until else ""
        return f"waiting for your confirm to {change} (deskctl confirm){by}"
    if waiting == "schedule_on":
        wait = "the schedule is off (deskctl schedule on)"
    elif waiting == "inhibit_off":
        wait = "inhibit is on (deskctl inhibit off)"
    elif waiting == "resume" and state.get("held") and state.get("schedule") != "paused":
        wait = f"held: {state['held']} (deskctl resume)"
    elif waiting == "resume":
        wait = f"paused until {until[11:16]}" if until else "paused until you resume"
        wait += "" if until or state.get("held") else " (deskctl resume)"
    else:
        return f"next: {change}" if change else ""
    if state.get("held") and not wait.startswith("held"):
        wait += f"; held: {state['held']} (deskctl resume)"
    return f"{wait}, then {change}" if change else wait


def fast_status(argv: list[str]) -> int | None:
    """Answer `deskctl status` from a running service; None to let typer handle argv."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    as_json, desk = parsed
    from deskctl import control_client

    try:
        answer = control_client.call("status", desk, timeout_s=5.0)
    except control_client.NoService:
        return None
    except control_client.ControlError as exc:
        print(f"deskctl: {exc}", file=sys.stderr)
        return exc.exit_code
    if as_json:
        print(json.dumps(answer, sort_keys=True))
    else:
        print("\n".join(status_lines(answer)))
    return 0
