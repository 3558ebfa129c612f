"""Reading one TOML file that a person may have broken (a profile, a cue file).

Design: `read_toml(source, entry)` reads `entry` (a path, or a file inside the package through
importlib.resources) as UTF-8 and parses it with tomllib. Whatever goes wrong becomes one
`ConfigError` that starts with `source` (the path to show): the file cannot be read, or is not
valid TOML, including tomllib's own limits (a number with too many digits, nesting too deep),
which it raises as ValueError or RecursionError rather than as a TOMLDecodeError.
"""

from __future__ import annotations

import tomllib
from importlib.resources.abc import Traversable
from typing import Any

from deskctl.errors import ConfigError

__all__ = ["read_toml"]


def read_toml(source: str, entry: Traversable) -> dict[str, Any]:
    """The parsed table of one TOML file; a `ConfigError` naming `source` if it cannot be had."""
    try:
        text = entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{source}: cannot read the file: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: is not valid TOML: {exc}") from None
    except (ValueError, RecursionError):  # tomllib's own limits: int digits, nesting depth
        raise ConfigError(
            f"{source}: is not valid TOML: it nests too deeply or holds a number with too many "
            "digits"
        ) from None
