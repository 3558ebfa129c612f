"""What every command shares: turning deskctl's errors into one sentence and an exit code.

Exit codes: 0 done, 1 failed at run time (desk unreachable, obstruction), 2 bad usage or input.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer

from deskctl.errors import DeskctlError

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["fail", "guard", "print_json"]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one sentence to stderr and exit with `code`."""
    text = message.strip()
    if text and text[-1] not in ".!?":
        text += "."
    print(f"deskctl: {text}", file=sys.stderr)
    raise typer.Exit(code)


def guard(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command so deskctl's own errors become one sentence and their exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DeskctlError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper


def print_json(value: Any) -> None:
    """Print `value` as one line of JSON on stdout."""
    print(json.dumps(value, sort_keys=True))
