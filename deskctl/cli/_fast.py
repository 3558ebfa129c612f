"""The quick path: the commands a running service answers, the commands that read no desk
(`config path`, `cues list`, `plan`, `profile list`) and `deskctl --help`, before typer loads.

Design: typer and click cost more to start than a whole peer CLI, and typer builds a pydantic
validator for every parameter of the command it runs; a person who says `deskctl stand` waits for
all of it before the desk starts to move. So `main()` first offers argv to this module. It knows
a small, strict subset of each quick command's grammar: the command's words, its arguments, its
`--desk NAME` / `--desk=NAME`, its other options and flags. Argv that fits runs the same function
the typer command runs (`service_calls.py`, `read_only.py`, `plan_view.py`: typer-free);
anything else (another option, `--help`, `--`, a value that looks like an option, an option
given twice, too many arguments), or no service running, returns None, and the typer
application handles argv with the full machinery: the same output, messages and exit codes
(tests/test_cli_fast.py runs both paths on the same argv).
`deskctl --help` (and `-h`) prints typer's help as kept in `_help.py` when the terminal is wide
enough for click to lay it out at its full width; a test keeps that text equal to typer's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import NamedTuple

__all__ = ["QUICK", "Quick", "fast_main", "parse"]

_DESK = {"--desk": "desk"}
_JSON = {"--json": "as_json"}
_NONE: Mapping[str, str] = {}
_READ_ONLY = "deskctl.cli.read_only"
_PLAN_VIEW = "deskctl.cli.plan_view"
_PLAN_VALUES = {"--profile": "profile", "--date": "day", "--tz": "tz_name", "--desk": "desk"}


class Quick(NamedTuple):
    """One command the quick path answers: its words, what it accepts, and the route to run
    (called with `fixed` and the parsed keywords; it returns False when no service runs).
    A NamedTuple, not a dataclass: importing dataclasses (and with it inspect) would cost more
    than the rest of the quick path."""

    words: tuple[str, ...]
    route: str  # a function in `module`
    arguments: tuple[str, ...] = ()  # positional parameters, in order
    required: int = 0  # how many of them must be given
    values: Mapping[str, str] = _DESK  # option that takes a value: parameter
    flags: Mapping[str, str] = _JSON  # flag: parameter
    fixed: Mapping[str, str] = _NONE
    module: str = "deskctl.cli.service_calls"


def _schedule(word: str, *arguments: str, required: int = 0) -> Quick:
    return Quick((word,), "schedule_call", arguments, required, fixed={"cmd": word})


QUICK: tuple[Quick, ...] = (
    Quick(("status",), "status"),
    Quick(("move",), "move", ("height",), 1, fixed={"cmd": "move"}),
    Quick(("sit",), "move", fixed={"cmd": "sit"}),
    Quick(("stand",), "move", fixed={"cmd": "stand"}),
    Quick(("stop",), "stop"),
    _schedule("pause", "for_"),
    _schedule("resume"),
    _schedule("skip"),
    _schedule("snooze", "for_"),
    _schedule("confirm"),
    _schedule("inhibit", "state", required=1),
    _schedule("schedule", "state", required=1),
    Quick(("profile", "use"), "profile_use", ("name",), 1, flags={}),
    # read no desk: answered here whole, never handed on
    Quick(("config", "path"), "config_path", values={}, flags={}, module=_READ_ONLY),
    Quick(("cues", "list"), "cues_list", values={}, flags={"--json": "json"}, module=_READ_ONLY),
    Quick(("plan",), "plan", values=_PLAN_VALUES, flags={"--json": "as_json"}, module=_PLAN_VIEW),
    Quick(("profile", "list"), "profile_list", flags={}, module=_PLAN_VIEW),
)


def parse(argv: list[str]) -> tuple[Quick, dict[str, object]] | None:
    """The quick command and its keywords for `argv`, or None when argv is not plainly one."""
    for quick in QUICK:
        if tuple(argv[: len(quick.words)]) == quick.words:
            break
    else:
        return None
    given: dict[str, object] = {}
    positional: list[str] = []
    rest = argv[len(quick.words) :]
    while rest:
        arg = rest.pop(0)
        name, has_value, value = arg.partition("=")
        if arg in quick.flags:
            key: str = quick.flags[arg]
            found: object = True
        elif name in quick.values:
            key = quick.values[name]
            if not has_value:
                if not rest or rest[0].startswith("-"):
                    return None
                value = rest.pop(0)
            found = value
        elif arg.startswith("-") or len(positional) == len(quick.arguments):
            return None  # help, `--`, an option typer knows (or rejects), a height like -5cm
        else:
            positional.append(arg)
            continue
        if key in given:
            return None
        given[key] = found
    if len(positional) < quick.required:
        return None
    given.update(zip(quick.arguments, positional, strict=False))
    return quick, {**quick.fixed, **given}


def _help() -> int | None:
    """Typer's top-level help, when click would name the program `deskctl` (not `python -m
    deskctl`) and lay the help out at its full width (78 columns)."""
    import shutil
    import sys

    if os.path.basename(sys.argv[0]) != "deskctl" or shutil.get_terminal_size().columns < 80:
        return None
    from deskctl.cli._help import TOP_HELP

    print(TOP_HELP, end="")
    return 0


def fast_main(argv: list[str]) -> int | None:
    """Run argv on the quick path and return its exit code; None to let typer handle argv."""
    if "_DESKCTL_COMPLETE" in os.environ:  # shell completion is typer's
        return None
    if argv in (["--help"], ["-h"]):
        return _help()
    parsed = parse(argv)
    if parsed is None:
        return None
    quick, keywords = parsed
    import importlib

    from deskctl.cli._common import guard

    route: Callable[..., bool] = getattr(importlib.import_module(quick.module), quick.route)
    return 0 if guard(route)(**keywords) else None
