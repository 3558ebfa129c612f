"""What every command shares: turning deskctl's errors into one sentence and an exit code.

Exit codes: 0 done, 1 failed at run time (desk unreachable, obstruction), 2 bad usage or input.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

from deskctl.errors import DeskctlError

if TYPE_CHECKING:
    from deskctl.core.profile import Profile

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["CALENDAR_YEARS", "fail", "guard", "print_json", "say", "warn", "warn_health"]

# The years a date on the command line may name (`plan --date`, `run --from`): wide enough for
# any real day, and far enough from datetime's ends (years 1 and 9999) that a day, its time zone
# and the weeks a simulation runs on can always be computed.
CALENDAR_YEARS = range(1970, 3000)


def _sentence(message: str) -> str:
    """`message` as one line ending in a full stop: a line break or a control character that
    came in with a name or a path is shown escaped, never acted on by the terminal."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message.strip())
    if text and text[-1] not in ".!?":
        text += "."
    return text


def say(message: str) -> None:
    """Print one sentence to stderr, as `deskctl: …`; the command goes on."""
    print(f"deskctl: {_sentence(message)}", file=sys.stderr)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one sentence to stderr and exit with `code` (a plain SystemExit: typer lets it
    through, and the quick path in `_fast.py` needs no typer to raise it)."""
    say(message)
    raise SystemExit(code)


def warn(message: str) -> None:
    """Print one sentence of warning to stderr; the command goes on (and exits 0)."""
    say(f"warning: {message}")


def warn_health(profile: Profile) -> None:
    """Say (on stderr, exit still 0) where the profile's day goes past the health limits, and
    note a day of more than about 2 hours of standing."""
    from deskctl.core.health import profile_warnings, standing_note

    for sentence in profile_warnings(profile):
        warn(sentence)
    note = standing_note(profile)
    if note is not None:
        say(f"note: {note}")


def guard(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command so deskctl's own errors become one sentence and their exit code.

    An `OSError` that no adapter turned into deskctl's own (a file that cannot be read or
    written) is a failure at run time: one sentence naming the file, exit 1. A broken pipe is
    left to `deskctl.cli.main`, which ends quietly.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DeskctlError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            raise
        except OSError as exc:
            from deskctl.config.files import os_reason, shown_path

            where = f"{shown_path(exc.filename)}: " if exc.filename is not None else ""
            fail(f"{where}{os_reason(exc)}", 1)

    return wrapper


def print_json(value: Any) -> None:
    """Print `value` as one line of JSON on stdout."""
    import json

    print(json.dumps(value, sort_keys=True))
