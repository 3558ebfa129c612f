"""Which desk a command means, as far as that can be known without loading the settings.

Design: `settings.py` (pydantic-settings) costs more to import than a whole peer CLI takes to
start, and the commands that read no desk (`plan`, `profile list`) need the settings only to
pick a desk. So the rule's light half lives here, and `settings.select_desk` uses it too:
- `settings_given()`: is there anything for `load_settings` to read, a settings file or a
  variable for one of its tables (`DESKCTL_DESKS…`, `DESKCTL_MQTT…`, …, in any case, as
  pydantic-settings reads them; `SETTINGS_TABLES`, which a test holds to the model's fields)?
  When there is none, the settings are the defaults: no desk configured, nothing that could be
  wrong.
- `unconfigured_desk(name)`: the desk a command means when none is configured: the one named
  (if the name can name a desk) or `desk`.
- `desk_name_problem(name)`: why a name cannot name a desk.
"""

from __future__ import annotations

import os
import unicodedata

from deskctl.config import paths
from deskctl.errors import ConfigError

__all__ = [
    "DEFAULT_DESK",
    "SETTINGS_ENV_PREFIX",
    "desk_name_problem",
    "settings_given",
    "shown_key",
    "unconfigured_desk",
]

DEFAULT_DESK = "desk"
SETTINGS_ENV_PREFIX = "DESKCTL_"
SETTINGS_TABLES = (
    "desks",
    "mqtt",
    "notify",
    "presence",
    "calendar",
    "steps",
)  # `Settings`: a test keeps them equal
_DESK_NAME_MAX = 64


def settings_given() -> bool:
    """Whether `load_settings()` has a file or an environment variable to read."""
    prefixes = tuple(f"{SETTINGS_ENV_PREFIX}{table.upper()}" for table in SETTINGS_TABLES)
    if any(key.upper().startswith(prefixes) for key in os.environ):
        return True
    try:
        return paths.settings_file().exists()
    except OSError:  # cannot even look: let `load_settings` read it and say why
        return True


def shown_key(key: object) -> str:
    """A key as an error names it: as written, or quoted with escapes if it would break the line
    (or is empty)."""
    text = str(key)
    return text if text.isprintable() and text and text == text.strip() else repr(text)


def desk_name_problem(name: str) -> str | None:
    """Why `name` cannot name a desk, or None. A desk's name goes into every log line, status
    and topic about it, so it must be seen as it is: 1 to 64 visible characters, no control or
    invisible ones (NUL, a line break, zero-width, bidi controls), no space at either end."""
    if not name:
        return "a desk needs a name, like [desks.office]"
    for char in name:
        if not char.isprintable():
            code = f"U+{ord(char):04X}"
            label = unicodedata.name(char, "")
            what = f"{code} {label}" if label else code
            return (
                f"the name holds {what}, a control or invisible character that hides in logs "
                "and breaks log lines; use visible characters only"
            )
    if name != name.strip():
        return "the name starts or ends with a space; remove it"
    if len(name) > _DESK_NAME_MAX:
        return f"the name is longer than {_DESK_NAME_MAX} characters"
    return None


def unconfigured_desk(name: str | None) -> str:
    """The desk meant when none is configured (as with `--simulate`): `name`, or `desk`."""
    if name is None:
        return DEFAULT_DESK
    problem = desk_name_problem(name)
    if problem is not None:
        raise ConfigError(f"--desk {shown_key(name)}: {problem}")
    return name
