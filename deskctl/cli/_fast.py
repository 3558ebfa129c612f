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

__all__ = ["fast_status", "status_lines"]


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
        if state.get("held"):
            lines.append(f"  held: {state['held']} (deskctl resume)")
        if state.get("next_change_at"):
            cue = state.get("next_cue") or {}
            then = f" with {cue['title']}" if cue.get("title") else ""
            lines.append(
                f"  next: {state['next_posture']} at {state['next_change_at'][11:16]}{then}"
            )
        lines.append(
            f"  standing today {format_duration(state.get('standing_today_s') or 0)}, "
            f"sitting bout {format_duration(state.get('sitting_bout_s') or 0)}"
        )
    return lines


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
