"""What a command does through the running service: one call over the control socket, and the
answer in words (or `--json`).

Design: every command that a running service answers has its service route here, typer-free and
light (the standard library, the control client and `core.units`), so the typer commands and the
quick path (`_fast.py`) run the very same code. A route returns False when no service runs; the
typer command then goes on to the desk directly, or says that the service is not running.
Heights, durations and on/off words are parsed before the call, so bad input never reaches the
service (exit 2).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from deskctl.cli._common import print_json

__all__ = [
    "MOVE_TIMEOUT_S",
    "REST_WAIT_S",
    "move",
    "next_line",
    "profile_use",
    "progress_bar",
    "schedule_call",
    "show_move",
    "status",
    "status_lines",
    "stop",
    "target_of",
    "via_service",
]

MOVE_TIMEOUT_S = 120.0
REST_WAIT_S = 3.0  # how long a stopped desk may take to report that it is at rest


def via_service(
    cmd: str,
    desk: str | None,
    args: dict[str, Any] | None = None,
    *,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    timeout_s: float = 10.0,
) -> dict[str, Any] | None:
    """The running service's answer, or None when no service runs."""
    from deskctl.adapters import control_client

    try:
        return control_client.call(cmd, desk, args, timeout_s=timeout_s, on_progress=on_progress)
    except control_client.NoService:
        return None
    except KeyboardInterrupt:
        if cmd in ("sit", "stand", "move"):
            with contextlib.suppress(control_client.ControlError):
                control_client.call("stop", desk, timeout_s=5.0)
        raise


@contextlib.contextmanager
def progress_bar(target_mm: int, show: bool) -> Iterator[Callable[[int], None]]:
    """A live bar for a move (on a terminal); yields the function to call with each height."""
    if not show:
        yield lambda _height_mm: None
        return
    from rich.progress import BarColumn, Progress, TextColumn

    from deskctl.core.units import format_height

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[now]}"))
    start: list[int] = []
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"→ {format_height(target_mm)}", total=None, now="")

        def update(height_mm: int) -> None:
            if not start:
                start.append(height_mm)
                bar.update(task, total=max(1, abs(target_mm - height_mm)))
            bar.update(task, completed=abs(height_mm - start[0]), now=format_height(height_mm))

        yield update


def show_move(result: dict[str, Any], as_json: bool) -> None:
    """A finished move, as every route prints it."""
    from deskctl.core.units import format_height

    if as_json:
        print_json(result)
    else:
        print(f"{result['desk']}: at {format_height(result['height_mm'])}")


def target_of(height: str | None) -> int | None:
    """The height a move asks for (None for sit and stand); bad input is exit 2 here."""
    from deskctl.core.units import parse_height_mm

    return None if height is None else parse_height_mm(height)


def preset_of(height: str | None) -> str | None:
    """The preset a move names where a height goes (`move focus`), or None for a height."""
    from deskctl.core.presets import looks_like_preset

    return height.strip() if height is not None and looks_like_preset(height) else None


def move(
    cmd: str, height: str | None = None, desk: str | None = None, as_json: bool = False
) -> bool:
    """sit, stand or move HEIGHT (or PRESET) through the service (a live bar on a terminal for
    a move to a height)."""
    preset = preset_of(height)
    target_mm = None if preset is not None else target_of(height)
    show = not as_json and target_mm is not None and sys.stderr.isatty()
    args: dict[str, Any] = {} if target_mm is None else {"height_mm": target_mm}
    if preset is not None:
        args = {"preset": preset}
    with progress_bar(target_mm or 0, show) as progress:
        answer = via_service(
            cmd,
            desk,
            args,
            on_progress=lambda p: progress(int(p["height_mm"])),
            timeout_s=MOVE_TIMEOUT_S,
        )
    if answer is None:
        return False
    height_mm = answer.get("height_mm")
    result = {
        "desk": answer.get("desk"),
        "height_mm": height_mm,
        "target_mm": target_mm or height_mm,
    }
    show_move(result, as_json)
    return True


def _seen_at_rest(answer: dict[str, Any], desk: str | None) -> dict[str, Any]:
    """The service's answer to `stop`, once its status shows the desk at rest; else DeskError."""
    import time

    from deskctl.core.units import format_height
    from deskctl.errors import DeskError

    name = answer.get("desk") or desk
    deadline = time.monotonic() + REST_WAIT_S
    while answer.get("connected", True) and answer.get("moving"):
        if time.monotonic() > deadline:
            raise DeskError(
                f"desk {name!r} was told to stop but still moves (at "
                f"{format_height(answer.get('height_mm'))}): stop it with its own buttons"
            )
        time.sleep(0.1)
        status_now = via_service("status", name)
        if status_now is None:
            raise DeskError(f"the deskctl service ended before desk {name!r} was seen to stop")
        answer = status_now
    if not answer.get("connected", True):
        raise DeskError(f"desk {name!r} is not connected, so it could not be seen to stop")
    return answer


def stop(desk: str | None = None, as_json: bool = False) -> bool:
    """Stop the desk through the service, and see it at rest."""
    answer = via_service("stop", desk)
    if answer is None:
        return False
    answer = _seen_at_rest(answer, desk)
    if as_json:
        print_json(
            {"desk": answer.get("desk"), "height_mm": answer.get("height_mm"), "stopped": True}
        )
    else:
        print(f"{answer.get('desk')}: stopped")
    return True


def status(desk: str | None = None, as_json: bool = False) -> bool:
    """The running service's status of the desk (or of every desk)."""
    answer = via_service("status", desk)
    if answer is None:
        return False
    if as_json:
        print_json(answer)
    else:
        print("\n".join(status_lines(answer)))
    return True


# The schedule commands: what each says when done, and how it reads its argument.
_DONE = {
    "pause": "paused",
    "resume": "resumed",
    "skip": "skipped the coming change",
    "snooze": "snoozed",
    "confirm": "confirmed",
}


def _switch(command: str, text: str) -> bool:
    """`on`/`off` (or `true`/`false`, any case, as over MQTT); anything else is exit 2."""
    from deskctl.errors import InputError

    word = text.strip().lower()
    if word in ("on", "true"):
        return True
    if word in ("off", "false"):
        return False
    raise InputError(f"{command} takes on or off, not {text[:40]!r}")


def schedule_call(
    cmd: str,
    for_: str | None = None,
    state: str | None = None,
    desk: str | None = None,
    as_json: bool = False,
) -> bool:
    """pause [FOR], resume, skip, snooze [FOR], confirm, inhibit on|off, schedule on|off."""
    args: dict[str, Any] = {}
    if for_ is not None:
        from deskctl.core.units import parse_duration_s

        args["duration_s"] = round(parse_duration_s(for_))
    if state is not None:
        on = _switch(cmd, state)
        args["on"] = on
        if cmd == "inhibit":
            done = "inhibited" if on else "no longer inhibited"
        else:
            done = f"switched the schedule {'on' if on else 'off'}"
    else:
        done = _DONE[cmd]
    answer = via_service(cmd, desk, args)
    if answer is None:
        return False
    if as_json:
        print_json(answer)
        return True
    line = next_line(answer)
    tail = f"\n  {line}" if line else ""
    print(f"{answer.get('desk')}: {done} (schedule {answer.get('schedule', '')}){tail}")
    return True


def profile_use(name: str, desk: str | None = None) -> bool:
    """Switch the running service's profile, live (it remembers the choice)."""
    live = via_service("profile_use", desk, {"name": name})
    if live is None:
        return False
    print(f"{live.get('desk')}: now using profile {name!r}; the day is re-planned from now")
    warnings = live.get("health_warnings")
    if isinstance(warnings, list):  # the service says it: no profile to load here
        from deskctl.cli._common import say, warn

        for sentence in warnings:
            warn(str(sentence))
        notes = live.get("health_notes")
        for sentence in notes if isinstance(notes, list) else ():
            say(f"note: {sentence}")
        return True
    from deskctl.cli._common import warn_health  # a service from before health_warnings
    from deskctl.config.profile_library import load_profile
    from deskctl.errors import ConfigError

    with contextlib.suppress(ConfigError):  # the switch is done; the warning is a bonus
        warn_health(load_profile(name))
    return True


def status_lines(answer: dict[str, Any]) -> list[str]:
    """A running service's status, as `deskctl status` prints it for a person."""
    from deskctl.core.units import format_duration, format_height

    lines: list[str] = []
    for state in answer.get("desks", [answer]):
        line = f"{state['desk']}: {format_height(state.get('height_mm'))}"
        line += f", {state.get('posture') or 'unknown posture'}"
        line += ", moving" if state.get("moving") else ""
        released = state.get("released_until")
        if released:
            line += f" (released for the phone app until {released[11:16]}; deskctl connect)"
        else:
            line += "" if state.get("connected") else " (not connected)"
        line += " (a simulated desk, not a real one)" if state.get("simulated") else ""
        lines.append(line)
        lines.append(f"  profile {state.get('profile')}, schedule {state.get('schedule')}")
        line = next_line(state)
        if line:
            lines.append(f"  {line}")
        lines.extend(f"  {extra}" for extra in person_lines(state))
        lines.append(
            f"  standing today {format_duration(state.get('standing_today_s') or 0)}, "
            f"sitting bout {format_duration(state.get('sitting_bout_s') or 0)}"
        )
    return lines


def person_lines(state: dict[str, Any]) -> list[str]:
    """Presence, the next meeting hold and today's steps, when there is something to say."""
    from deskctl.core.steps import progress

    lines: list[str] = []
    presence = state.get("presence") or {}
    if presence.get("state") in ("present", "away"):
        since = presence.get("since")
        when = f" since {since[11:16]}" if since else ""
        lines.append(f"{presence['state']}{when}: {presence.get('reason')}")
    meeting = state.get("next_meeting")
    if meeting:
        about = f" ({meeting['summary']})" if meeting.get("summary") else ""
        lines.append(f"meeting hold {meeting['start'][11:16]}-{meeting['end'][11:16]}{about}")
    if state.get("calendar_problem"):
        lines.append(f"calendar: {state['calendar_problem']}")
    steps, goal = state.get("steps_today"), state.get("steps_goal")
    if isinstance(steps, int) and isinstance(goal, int):
        lines.append(progress(steps, goal))
    return lines


def next_line(state: dict[str, Any]) -> str:
    """What comes next, in words: what it waits for, then the change (or "" if nothing does).

    `stand at 10:15`; `paused until 10:15, then stand at 10:35`; `paused until you resume
    (deskctl resume), then stand`; `waiting for your confirm to stand (deskctl confirm), until
    10:02`; `held: why (deskctl resume), then sit`; `inhibit is on (deskctl inhibit off), ...`.
    """
    from deskctl.core.vocab import ScheduleState, Waiting

    posture = state.get("next_posture")
    at = state.get("next_change_at")
    cue = state.get("next_cue") or {}
    change = ""
    if posture:
        change = f"{posture} at {at[11:16]}" if at else str(posture)
        change += f" with {cue['title']}" if cue.get("title") else ""
    until = state.get("waiting_until")
    waiting = state.get("waiting_for")
    if waiting == Waiting.CONFIRM:
        by = f", until {until[11:16]}" if until else ""
        return f"waiting for your confirm to {change} (deskctl confirm){by}"
    if waiting == Waiting.SCHEDULE_ON:
        wait = "the schedule is off (deskctl schedule on)"
    elif waiting == Waiting.INHIBIT_OFF:
        wait = "inhibit is on (deskctl inhibit off)"
    elif waiting == Waiting.MEETING:
        wait = f"held for a meeting until {until[11:16]}" if until else "held for a meeting"
    elif waiting == Waiting.AWAY:
        wait = "waiting for you to come back"
    elif (
        waiting == Waiting.RESUME
        and state.get("held")
        and state.get("schedule") != ScheduleState.PAUSED
    ):
        wait = f"held: {state['held']} (deskctl resume)"
    elif waiting == Waiting.RESUME:
        wait = f"paused until {until[11:16]}" if until else "paused until you resume"
        wait += "" if until or state.get("held") else " (deskctl resume)"
    else:
        return f"next: {change}" if change else ""
    if state.get("held") and not wait.startswith("held"):
        wait += f"; held: {state['held']} (deskctl resume)"
    return f"{wait}, then {change}" if change else wait
