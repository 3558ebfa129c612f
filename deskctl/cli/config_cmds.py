"""`deskctl config show|path|init`: the effective settings (secrets masked) and where they live."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard, print_json

config_app = typer.Typer(help="Settings: show them, find them, start a file.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Settings file to use.")]

_SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY")

STARTER = """\
# deskctl settings. Every key can also be set with an environment variable:
# DESKCTL_<SECTION>__<KEY>, e.g. DESKCTL_DESKS__OFFICE__MAX_MM=1200 or DESKCTL_MQTT__HOST=broker.

# One table per desk. link = "ble" (LINAK / IKEA IDÅSEN), "mqtt" (ESPHome desks) or "sim".
[desks.office]
link = "sim"
# address = "AA:BB:CC:DD:EE:FF"   # for link = "ble": see `deskctl scan`
min_mm = 650                      # never commanded below this
max_mm = 1250                     # never commanded above this
# calibration_mm = 0              # added to the height the desk reports
# profile = "default"             # see `deskctl profile list`

# The MQTT broker, for Home Assistant and MQTT desks.
# [mqtt]
# host = "localhost"
# port = 1883
# tls = false
# username = "deskctl"
# password = "..."
# base_topic = "deskctl"
# discovery_prefix = "homeassistant"

# Where cues and warnings go besides the log.
[notify]
terminal = true
desktop = false
# command = ["/usr/bin/espeak-ng"]  # run with the cue in DESKCTL_* environment variables
"""


_MASK = "**********"


def _secret(name: str) -> bool:
    return any(word in name.upper() for word in _SECRET_WORDS)


def _masked_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _MASK if _secret(str(k)) else _masked_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_json(item) for item in value]
    return value


def _masked_value(key: str, value: str) -> str:
    """A variable's value with secrets masked, also inside JSON (`DESKCTL_MQTT='{...}'`)."""
    if _secret(key):
        return _MASK
    try:
        parsed = json.loads(value)
    except ValueError:
        return _MASK if _secret(value) else value
    if isinstance(parsed, dict | list):
        return json.dumps(_masked_json(parsed))
    return value


def _masked_env() -> dict[str, str]:
    """The DESKCTL_ variables that override settings, secrets masked."""
    from deskctl.settings import Settings

    sections = tuple(f"DESKCTL_{name.upper()}" for name in Settings.model_fields)
    return {
        key: _masked_value(key, value)
        for key, value in sorted(os.environ.items())
        if key.upper().startswith(sections)
    }


@config_app.command("path")
@guard
def path() -> None:
    """Where the settings file, your profiles and cues, the history and the socket live."""
    from deskctl import paths
    from deskctl.settings import settings_path

    file = settings_path()
    print(f"settings  {file}{'' if file.exists() else '  (not there yet: deskctl config init)'}")
    print(f"profiles  {paths.config_dir() / 'profiles'}")
    print(f"cues      {paths.config_dir() / 'cues'}")
    print(f"history   {paths.state_dir()}")
    print(f"socket    {paths.runtime_dir()}")


@config_app.command("show")
@guard
def show(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The effective settings, secrets masked, and where they came from."""
    from deskctl.settings import load_settings, settings_path

    settings = load_settings(config)
    file = config or settings_path()
    effective = settings.model_dump(mode="json")
    environment = _masked_env()
    result = {
        "file": str(file),
        "file_exists": file.exists(),
        "environment": environment,
        "settings": effective,
    }
    if as_json:
        print_json(result)
        return
    print(f"# from {file}" + ("" if file.exists() else " (absent: defaults)"))
    for key, value in environment.items():
        print(f"# overridden by {key}={value}")
    print(json.dumps(effective, indent=2, sort_keys=True))


@config_app.command("init")
@guard
def init(config: ConfigOpt = None) -> None:
    """Write a commented starter settings file (never overwrites one)."""
    from deskctl.files import write_file
    from deskctl.settings import settings_path

    file = config or settings_path()
    # owner-only from the first byte: this is where the MQTT password goes
    write_file(file, STARTER, what="the settings", mode=0o600, exclusive=True)
    print(f"Wrote {file}; edit it, then check it with: deskctl config show")
