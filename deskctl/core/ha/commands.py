"""MQTT commands, pure: any topic and any bytes into a service command or one sentence why not.

Design: `parse_command` turns any topic and any bytes into a `Request` (a service command) or a
`Refusal` (one sentence saying why nothing moves); it never raises. A command topic is
`B/D/<leaf>` or `B/all/<leaf>`, its leaf one of `COMMAND_LEAVES` (the Home Assistant entities
that send them are in `deskctl.core.ha.entities`). `check_request` adds what depends on the desk
now: its limits, whether it is connected, inhibited or held.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from deskctl.core.ha.topics import Topics, is_profile_name
from deskctl.core.presets import preset_name_problem
from deskctl.core.steps import parse_steps
from deskctl.core.units import MAX_DURATION_S, check_limits, parse_duration_s, parse_height_mm
from deskctl.core.vocab import Posture, ScheduleState
from deskctl.errors import DurationError, HeightError

__all__ = ["COMMAND_LEAVES", "Refusal", "Request", "check_request", "parse_command"]

COMMAND_LEAVES = (
    "height/set",
    "posture/set",
    "profile/set",
    "schedule/set",
    "inhibit/set",
    "presence/set",
    "steps/set",  # today's step count, a whole number (a phone or a watch, through HA)
    "action",
    "preset/set",  # a preset's name: its button (`preset_buttons.py`)
    "release",  # let go of the desk for its phone app: PRESS (10 minutes) or a duration
    "connect",  # end a release
)
MAX_PAYLOAD_BYTES = 256
_ACTIONS = ("stop", "skip", "snooze", "pause", "resume", "confirm")
_PRESENCE_MODES = ("present", "away", "auto")
_ON = ("on", "true")
_OFF = ("off", "false")


@dataclass(frozen=True, slots=True)
class Request:
    """A command for the service: `command` and `args` as `Service.call` takes them.

    `target` is the desk, or None for every desk (`B/all/...`).
    """

    target: str | None
    command: str
    args: Mapping[str, Any] = field(default_factory=dict)
    topic: str = ""

    @property
    def moves(self) -> bool:
        return self.command in ("sit", "stand", "move")

    @property
    def height_mm(self) -> int | None:
        value = self.args.get("height_mm")
        return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A command that cannot be done: nothing moves, and `reason` (one sentence) says why.

    `retained`: the command came with the retain flag, so it sits on the broker and the bridge
    clears it there (an empty retained message on its topic), as `reason` says.
    """

    target: str | None
    reason: str
    topic: str = ""
    retained: bool = False


def _split(topics: Topics, topic: str) -> tuple[str, str] | None:
    prefix = topics.base + "/"
    if not topic.startswith(prefix):
        return None
    target, sep, leaf = topic[len(prefix) :].partition("/")
    if not sep or not target or target == "bridge":
        return None
    return target, leaf


def _text(payload: bytes) -> str | Refusal:
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Refusal(None, f"the payload is too long ({len(payload)} bytes); commands are short")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(None, "the payload is not UTF-8 text")
    text = text.strip()
    if not text:
        return Refusal(None, "the payload is empty")
    if not text.isprintable():
        return Refusal(None, "the payload holds control characters")
    return text


def parse_command(
    topics: Topics,
    topic: str,
    payload: bytes,
    *,
    profiles: Collection[str],
    retained: bool = False,
) -> Request | Refusal | None:
    """A command topic and payload → `Request` or `Refusal`; None if `topic` carries no command.

    Never raises, whatever the bytes.
    """
    split = _split(topics, topic)
    if split is None:
        return None
    target_name, leaf = split
    if leaf not in COMMAND_LEAVES and not leaf.endswith("/set"):
        return None  # state, event, availability: not ours to read
    target = None if target_name == "all" else target_name
    if leaf not in COMMAND_LEAVES:
        known = ", ".join(COMMAND_LEAVES)
        return Refusal(target, f"{leaf!r} is not a command topic; the commands are {known}", topic)
    if retained:
        return Refusal(
            target,
            "a retained command is refused (it would run again at every reconnect) and cleared "
            "from the broker; publish commands without the retain flag",
            topic,
            retained=True,
        )
    text = _text(payload)
    if isinstance(text, Refusal):
        return Refusal(target, text.reason, topic)
    try:
        command, args = _command(leaf, text, profiles)
    except (HeightError, DurationError, ValueError) as exc:
        return Refusal(target, str(exc), topic)
    return Request(target, command, args, topic)


def _command(leaf: str, text: str, profiles: Collection[str]) -> tuple[str, dict[str, Any]]:
    word = text.lower()
    if leaf == "height/set":
        height_mm = parse_height_mm(text)
        if height_mm <= 0:
            raise HeightError(f"{text!r} is not a height above the floor")
        return "move", {"height": f"{height_mm}mm", "height_mm": height_mm}
    if leaf == "posture/set":
        if word in (Posture.SIT, Posture.STAND):
            return word, {}
        raise ValueError(f"{_short(text)} is not a posture to move to; send sit or stand")
    if leaf == "profile/set":
        if is_profile_name(text) and text in profiles:
            return "profile_use", {"name": text}
        known = ", ".join(sorted(profiles)) or "none"
        raise ValueError(f"there is no profile {_short(text)}; the known ones are {known}")
    if leaf == "presence/set":
        if word in _PRESENCE_MODES:
            return "presence", {"mode": word}
        raise ValueError(f"{_short(text)} is not a presence mode; send present, away or auto")
    if leaf == "steps/set":
        return "steps", {"count": parse_steps(text)}
    if leaf == "preset/set":
        problem = preset_name_problem(text)
        if problem is not None:
            raise ValueError(problem)
        return "move", {"preset": text}
    if leaf == "connect":
        if word in ("press", "connect"):
            return "connect", {}
        raise ValueError(f"{_short(text)} is not a connect command; send PRESS")
    if leaf == "release":
        if word in ("press", "release"):
            return "release", {}
        for_s = parse_duration_s(text)
        if not 1 <= for_s <= MAX_DURATION_S:
            raise DurationError(f"a release lasts from 1 second to 30 days, not {_short(text)}")
        return "release", {"for": f"{round(for_s)}s"}
    if leaf in ("schedule/set", "inhibit/set"):
        if word in _ON or word in _OFF:
            return leaf.removesuffix("/set"), {"on": word in _ON}
        raise ValueError(f"{_short(text)} is not a switch state; send ON or OFF")
    verb, _, rest = word.partition(" ")
    if verb not in _ACTIONS:
        raise ValueError(f"{_short(text)} is not an action; send one of {', '.join(_ACTIONS)}")
    rest = rest.strip()
    if not rest:
        return verb, {}
    if verb not in ("pause", "snooze"):
        raise ValueError(f"the action {verb} takes nothing after it")
    for_s = parse_duration_s(rest)
    if not 1 <= for_s <= MAX_DURATION_S:
        raise DurationError(f"a {verb} lasts from 1 second to 30 days, not {_short(rest)}")
    return verb, {"for": f"{round(for_s)}s"}


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check_request(
    request: Request,
    status: Mapping[str, Any],
    *,
    min_mm: int,
    max_mm: int,
    sit_mm: int,
    stand_mm: int,
    inhibited: bool,
    presets: Mapping[str, int] | None = None,
) -> Refusal | None:
    """What refuses a parsed command on one desk now; None if it may go to the service.

    A move must stay within the desk's limits, and waits while the desk is not connected, while
    inhibit is on (a meeting, nobody there) and while the schedule holds after an obstruction.
    """
    if not request.moves:
        return None
    desk = str(status.get("desk") or request.target or "the desk")

    def refuse(reason: str) -> Refusal:
        return Refusal(desk, reason, request.topic)

    target_mm = request.height_mm
    preset = request.args.get("preset")
    if isinstance(preset, str):
        known = presets or {}
        if preset not in known:
            names = ", ".join(known) or "none"
            return refuse(f"desk {desk!r} has no preset called {preset!r} (its presets: {names})")
        target_mm = known[preset]
    if target_mm is None:
        target_mm = sit_mm if request.command == "sit" else stand_mm
    try:
        check_limits(target_mm, min_mm, max_mm)
    except HeightError as exc:
        return refuse(str(exc))
    if not status.get("connected"):
        return refuse(f"desk {desk!r} is not connected, so it cannot move now")
    held = status.get("held")
    if held:
        return refuse(
            f"desk {desk!r} is on hold after {held}; send resume (or move it by hand) first"
        )
    if inhibited or status.get("schedule") == ScheduleState.INHIBITED:
        return refuse(f"desk {desk!r} is inhibited: turn inhibit OFF before moving it remotely")
    return None
