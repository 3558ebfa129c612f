"""Every error deskctl raises on purpose, in one tree.

    DeskctlError                 raised on purpose; str() is one sentence for a person
    ├── InputError               bad usage or bad input: the CLI exits 2, nothing was moved
    │   ├── HeightError          a height that cannot be parsed, or lies outside the desk's limits
    │   ├── DurationError        a duration that cannot be parsed
    │   └── ConfigError          a broken settings, profile or cue file (names file and field)
    ├── ProtocolError            bytes from a desk that do not fit the protocol
    ├── CalendarError            a calendar that cannot be read or parsed (its last good copy stays)
    ├── IllegalTransition        an event a state machine cannot take now (exit 2); unchanged
    ├── ControlError             the service refused a request (its exit code), or cannot be reached
    │   ├── NoService            no service listens on the control socket (none, or a stale one)
    │   └── AlreadyRunning       another service holds the one-service lock (its pid if known)
    └── DeskError                a failure at run time: the CLI exits 1
        ├── LinkError            the desk cannot be reached, or the link dropped
        └── MoveError            a move did not arrive
            ├── Obstruction      the desk stopped short or reversed: something is in the way
            ├── ManualOverride   someone used the desk's own buttons during the move
            └── MoveTimeout      the move took longer than its bound

Library code raises these and never prints or exits; only the CLI turns them into an exit code.
"""

from __future__ import annotations

__all__ = [
    "AlreadyRunning",
    "CalendarError",
    "ConfigError",
    "ControlError",
    "DeskError",
    "DeskctlError",
    "DurationError",
    "HeightError",
    "IllegalTransition",
    "InputError",
    "LinkError",
    "ManualOverride",
    "MoveError",
    "MoveTimeout",
    "NoService",
    "Obstruction",
    "ProtocolError",
]


class DeskctlError(Exception):
    """Base of every error deskctl raises on purpose."""

    exit_code = 1


class InputError(DeskctlError):
    """Bad usage or bad input; nothing was done."""

    exit_code = 2


class HeightError(InputError):
    """A height that cannot be parsed or lies outside the desk's limits."""


class DurationError(InputError):
    """A duration that cannot be parsed."""


class ConfigError(InputError):
    """A broken settings, profile or cue file."""


class ProtocolError(DeskctlError):
    """Bytes from a desk that do not fit the protocol."""


class CalendarError(DeskctlError):
    """A calendar that cannot be read or parsed; the last good copy stays in force."""


class IllegalTransition(DeskctlError):
    """A state machine was given an event it cannot take in its current state.

    When a person's command meets it (confirm with nothing to confirm), that is bad usage: exit 2.
    """

    exit_code = 2


class ControlError(DeskctlError):
    """The service answered with an error, or could not be reached or understood.

    `str()` is one sentence for a person; `exit_code` is what the CLI exits with (1 or 2).
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class NoService(ControlError):
    """No deskctl service listens on the control socket (none there, or a stale one)."""


class AlreadyRunning(ControlError):
    """Another deskctl service holds the lock; `pid` is its process id when known."""

    def __init__(self, pid: int | None) -> None:
        who = f" (pid {pid})" if pid is not None else ""
        super().__init__(f"deskctl is already running{who}; stop it first", 1)
        self.pid = pid


class DeskError(DeskctlError):
    """A failure at run time."""


class LinkError(DeskError):
    """The desk cannot be reached, or the link dropped."""


class MoveError(DeskError):
    """A move did not arrive. `height_mm` is where the desk stood when it ended, if known."""

    def __init__(self, message: str, height_mm: int | None = None) -> None:
        super().__init__(message)
        self.height_mm = height_mm


class Obstruction(MoveError):
    """The desk stopped short of its target or reversed: something is in the way."""


class ManualOverride(MoveError):
    """Someone used the desk's own buttons during the move."""


class MoveTimeout(MoveError):
    """The move took longer than its bound."""
