"""The commands the service takes: one frozen dataclass each, checked once, where they come in.

Design: `parse_command(cmd, desk, args)` turns a command as the control socket or a Python
caller names it (`"snooze"`, `{"duration_s": 600}`) into its dataclass, or raises one sentence
(`InputError`, `DurationError`: exit 2) saying what is wrong with the arguments; arguments it
does not know are ignored, as they always were. `sit`, `stand` and `move` are one command,
`Move`, aimed at a posture, a height or a preset's name (the service knows each desk's presets).
`Release` lets the vendor's phone app in (the desk is left alone for a while), `Connect` ends
that; `Recall` and `SaveSlot` use the desk's own memory slots, where it has them.
`Service.submit` takes these values only; the owner task never sees JSON. `UseProfile` names a
profile: the service reads (and remembers) the file before the owner gets it, so the owner task
does no file IO; `SetHeight` likewise writes the profile file before the owner applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from deskctl.core.meetings import Meeting
from deskctl.core.presence import Belief, Mode
from deskctl.core.presets import preset_name_problem
from deskctl.core.steps import MAX_STEPS
from deskctl.core.units import MAX_DURATION_S, parse_duration_s, parse_height_mm
from deskctl.core.vocab import Posture
from deskctl.errors import DurationError, InputError

__all__ = [
    "RELEASE_S",
    "Confirm",
    "Connect",
    "Inhibit",
    "MeetingsSeen",
    "Move",
    "Pause",
    "PresenceSeen",
    "Recall",
    "Release",
    "Resume",
    "SaveSlot",
    "ServiceCommand",
    "SetHeight",
    "SetPresence",
    "SetSteps",
    "Skip",
    "Snooze",
    "Status",
    "Stop",
    "SwitchSchedule",
    "UseProfile",
    "parse_command",
]

SNOOZE_S = 600.0  # a snooze without a duration
RELEASE_S = 600.0  # a release without a duration


@dataclass(frozen=True, slots=True)
class Status:
    """The status of one desk, or of every desk (`desk` None with several running)."""

    desk: str | None = None
    name: ClassVar[str] = "status"


@dataclass(frozen=True, slots=True)
class Move:
    """Move to the profile's `posture` height, to `height_mm`, or to the desk's `preset`;
    answered when the move ends.

    `remote` (MQTT): refused while inhibit is on or the schedule holds.
    """

    desk: str | None = None
    posture: Posture | None = None  # sit or stand
    height_mm: int | None = None
    remote: bool = False
    preset: str | None = None
    name: ClassVar[str] = "move"

    def __post_init__(self) -> None:
        aims = (self.posture, self.height_mm, self.preset)
        if sum(aim is not None for aim in aims) != 1:
            raise ValueError("a Move has one of a posture, a height or a preset")
        if self.posture not in (None, Posture.SIT, Posture.STAND):
            raise ValueError("a Move's posture is sit or stand")


@dataclass(frozen=True, slots=True)
class Stop:
    desk: str | None = None
    name: ClassVar[str] = "stop"


@dataclass(frozen=True, slots=True)
class Pause:
    """Pause the schedule for `duration_s`, or until resume (None)."""

    desk: str | None = None
    duration_s: float | None = None
    name: ClassVar[str] = "pause"


@dataclass(frozen=True, slots=True)
class Resume:
    desk: str | None = None
    name: ClassVar[str] = "resume"


@dataclass(frozen=True, slots=True)
class Skip:
    desk: str | None = None
    name: ClassVar[str] = "skip"


@dataclass(frozen=True, slots=True)
class Snooze:
    desk: str | None = None
    duration_s: float = SNOOZE_S
    name: ClassVar[str] = "snooze"


@dataclass(frozen=True, slots=True)
class Confirm:
    desk: str | None = None
    name: ClassVar[str] = "confirm"


@dataclass(frozen=True, slots=True)
class Inhibit:
    desk: str | None = None
    on: bool = True
    name: ClassVar[str] = "inhibit"


@dataclass(frozen=True, slots=True)
class SwitchSchedule:
    desk: str | None = None
    on: bool = True
    name: ClassVar[str] = "schedule"


@dataclass(frozen=True, slots=True)
class UseProfile:
    """Switch the desk to the profile called `profile` (and remember it for the next start)."""

    desk: str | None = None
    profile: str = ""
    name: ClassVar[str] = "profile_use"


@dataclass(frozen=True, slots=True)
class SetHeight:
    """Save the sit or stand height of the desk's profile: `height_mm`, or (None) the desk's
    height now, which must stand still."""

    desk: str | None = None
    posture: Posture = Posture.SIT  # sit or stand
    height_mm: int | None = None
    name: ClassVar[str] = "profile_set"


@dataclass(frozen=True, slots=True)
class SetPresence:
    """Home automation's word on presence (`B/D/presence/set`): `present` or `away` decides,
    `auto` hands the decision back to the desktop's sources. It is the person's, so it holds for
    every desk; the presence feed (`adapters.presence.feed`) carries it to the model."""

    desk: str | None = None
    mode: Mode = Mode.AUTO
    name: ClassVar[str] = "presence"


@dataclass(frozen=True, slots=True)
class SetSteps:
    """Today's step count from outside (`B/D/steps/set`: a phone or a watch through home
    automation). It is the person's, so it holds for every desk, and only for the local day it
    came on: at the day's start the count is gone."""

    desk: str | None = None
    count: int = 0
    name: ClassVar[str] = "steps"


@dataclass(frozen=True, slots=True)
class PresenceSeen:
    """What the presence model now believes (from the presence feed, never from a socket), and
    for a return, how long the away stretch that ended lasted."""

    belief: Belief
    away_s: float = 0.0
    desk: str | None = None
    name: ClassVar[str] = "presence_seen"


@dataclass(frozen=True, slots=True)
class MeetingsSeen:
    """The calendars' meetings now (from the calendar feed, never from a socket), and the one
    sentence saying what went wrong with a calendar (its last good copy still counts), or None."""

    holds: tuple[Meeting, ...]
    problem: str | None = None
    desk: str | None = None
    name: ClassVar[str] = "meetings_seen"


@dataclass(frozen=True, slots=True)
class Release:
    """Disconnect from the desk and keep off it for `duration_s` (its phone app may connect)."""

    desk: str | None = None
    duration_s: float = RELEASE_S
    name: ClassVar[str] = "release"


@dataclass(frozen=True, slots=True)
class Connect:
    """End a release: connect to the desk again now."""

    desk: str | None = None
    name: ClassVar[str] = "connect"


@dataclass(frozen=True, slots=True)
class Recall:
    """Move to the desk's own memory slot `slot` (1..its slots); answered when the move ends."""

    desk: str | None = None
    slot: int = 1
    name: ClassVar[str] = "preset_recall"


@dataclass(frozen=True, slots=True)
class SaveSlot:
    """Save the desk's height now in its own memory slot `slot`."""

    desk: str | None = None
    slot: int = 1
    name: ClassVar[str] = "preset_save"


ServiceCommand = (
    Status
    | Move
    | Stop
    | Pause
    | Resume
    | Skip
    | Snooze
    | Confirm
    | Inhibit
    | SwitchSchedule
    | UseProfile
    | SetHeight
    | SetPresence
    | SetSteps
    | PresenceSeen
    | MeetingsSeen
    | Release
    | Connect
    | Recall
    | SaveSlot
)


def parse_command(cmd: str, desk: str | None, args: Mapping[str, Any]) -> ServiceCommand:
    """The command `cmd` with its JSON `args`, checked; `InputError` in one sentence if not."""
    if cmd in ("sit", "stand", "move"):
        remote = _bool_arg(args, "remote", False)
        if cmd == "move" and "preset" in args:
            return Move(desk, preset=_preset_arg(args), remote=remote)
        if cmd == "move":
            return Move(desk, height_mm=_height_arg(args), remote=remote)
        return Move(desk, posture=Posture.SIT if cmd == "sit" else Posture.STAND, remote=remote)
    if cmd == "status":
        return Status(desk)
    if cmd == "stop":
        return Stop(desk)
    if cmd == "pause":
        return Pause(desk, _duration_arg(args))
    if cmd == "resume":
        return Resume(desk)
    if cmd == "skip":
        return Skip(desk)
    if cmd == "snooze":
        return Snooze(desk, _duration_arg(args) or SNOOZE_S)
    if cmd == "confirm":
        return Confirm(desk)
    if cmd == "inhibit":
        return Inhibit(desk, _bool_arg(args, "on", True))
    if cmd == "schedule":
        return SwitchSchedule(desk, _bool_arg(args, "on", True))
    if cmd == "presence":
        mode = str(args.get("mode", ""))
        if mode not in tuple(Mode):
            raise InputError(f"presence mode {mode[:40]!r} is not one of present, away, auto")
        return SetPresence(desk, Mode(mode))
    if cmd == "steps":
        count = args.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_STEPS:
            raise InputError(f"a step count is a whole number from 0 to {MAX_STEPS:,}")
        return SetSteps(desk, count)
    if cmd == "profile_use":
        return UseProfile(desk, str(args.get("name", "")))
    if cmd == "profile_set":
        posture = args.get("posture")
        if posture not in (Posture.SIT, Posture.STAND):
            raise InputError("profile_set needs a posture, sit or stand")
        height_mm = None if args.get("here") is True else _height_arg(args)
        return SetHeight(desk, Posture(posture), height_mm)
    if cmd == "release":
        return Release(desk, _duration_arg(args) or RELEASE_S)
    if cmd == "connect":
        return Connect(desk)
    if cmd in ("preset_recall", "preset_save"):
        slot = args.get("slot")
        if isinstance(slot, bool) or not isinstance(slot, int) or not 1 <= slot <= 16:
            raise InputError("a memory slot is a whole number, like 2")
        return Recall(desk, slot) if cmd == "preset_recall" else SaveSlot(desk, slot)
    raise InputError(f"{cmd!r} is not a command the service knows")


def _preset_arg(args: Mapping[str, Any]) -> str:
    """`preset`: a preset's name, as `core.presets` allows them."""
    value = args.get("preset")
    problem = preset_name_problem(value) if isinstance(value, str) else "a preset is a name"
    if problem is not None:
        raise InputError(problem)
    return str(value)


def _bool_arg(args: Mapping[str, Any], name: str, default: bool) -> bool:
    """A JSON true or false; a string like "false" or "off" is refused, not read as true."""
    value = args.get(name, default)
    if not isinstance(value, bool):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:36] + "..."
        raise InputError(f"the argument {name!r} must be true or false (JSON), not {shown}")
    return value


def _height_arg(args: Mapping[str, Any]) -> int:
    """`height_mm` (an int, from the CLI) or `height` (text with a unit, from MQTT)."""
    value = args.get("height_mm")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if "height" in args:
        return parse_height_mm(str(args["height"]))
    raise InputError("a move needs a height, like 110cm")


def _duration_arg(args: Mapping[str, Any]) -> float | None:
    """`duration_s` (a number, from the CLI) or `for` (text like 45m), or None.

    At most `MAX_DURATION_S`: a pause or snooze of years (or of infinity, which JSON allows)
    would overflow the date arithmetic; a pause without a duration lasts until resume.
    """
    value = args.get("duration_s")
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif args.get("for"):
        seconds = parse_duration_s(str(args["for"]))
    else:
        return None
    if not 0 < seconds <= MAX_DURATION_S:  # also refuses NaN
        raise DurationError(
            "a duration must be above zero and at most 30 days; "
            "a pause without a duration lasts until resume"
        )
    return seconds
