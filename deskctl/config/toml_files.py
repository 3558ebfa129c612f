"""Reading one TOML file that a person may have broken (the settings, a profile, a cue file).

Design: `read_toml(source, entry)` is deskctl's one TOML reader: it reads `entry` (a path, or a
file inside the package: `shipped`) as UTF-8 and parses it with tomllib.
Whatever goes wrong becomes one `ConfigError` that starts with `source` (the path to show): the
file cannot be read (why, in plain words), is not UTF-8, or is not valid TOML, including tomllib's
own limits (a number with too many digits, nesting too deep), which it raises as ValueError or
RecursionError rather than as a TOMLDecodeError. `missing_ok` makes a file that is not there an
empty table (the settings: without a file the defaults stand). At most `MAX_BYTES` are read
(`read_text`): a settings or profile file is a few kilobytes, and a path to /dev/zero or a runaway
file must give a sentence, not fill the memory.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskctl.config.files import os_reason
from deskctl.errors import ConfigError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["MAX_BYTES", "TooLarge", "read_text", "read_toml", "shipped"]

MAX_BYTES = 1024 * 1024


class TooLarge(ValueError):
    """The file holds more than `MAX_BYTES`."""

    def __str__(self) -> str:
        return "it is larger than 1 MiB, far more than any deskctl file; is it the right file?"


def shipped(folder: str) -> Traversable:
    """A folder of files shipped inside the package (`profiles`, `cues`): a plain path when
    deskctl is installed as files, as pip installs it, else (from a zip) through
    importlib.resources, which costs more to import than the rest of `deskctl plan`."""
    here = Path(__file__).resolve().parent.parent / folder
    if here.is_dir():
        return here
    from importlib.resources import files

    return files("deskctl") / folder


def read_text(entry: Traversable) -> str:
    """The file's UTF-8 text, read no further than `MAX_BYTES`; `TooLarge` past that."""
    with entry.open("rb") as file:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise TooLarge
    return data.decode("utf-8")


def read_toml(source: str, entry: Traversable, *, missing_ok: bool = False) -> dict[str, Any]:
    """The parsed table of one TOML file; a `ConfigError` naming `source` if it cannot be had.

    With `missing_ok`, a file that is not there is an empty table.
    """
    try:
        text = read_text(entry)
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ConfigError(f"{source}: cannot read the file: there is no such file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the file: {os_reason(exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: cannot read the file: it is not UTF-8 text") from None
    except TooLarge as exc:
        raise ConfigError(f"{source}: cannot read the file: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: is not valid TOML: {exc}") from None
    except (ValueError, RecursionError):  # tomllib's own limits: int digits, nesting depth
        raise ConfigError(
            f"{source}: is not valid TOML: it nests too deeply or holds a number with too many "
            "digits"
        ) from None
