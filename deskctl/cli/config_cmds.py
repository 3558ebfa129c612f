"""`deskctl config show|path|init`: the effective settings (secrets masked) and where they live.

`config init` is `deskctl init` (deskctl/cli/init_cmds.py), the guided first run.
"""

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
    from deskctl.config.settings import Settings

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
    from deskctl.cli.read_only import config_path

    config_path()


@config_app.command("show")
@guard
def show(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The effective settings, secrets masked, and where they came from."""
    from deskctl.config.settings import load_settings, settings_path

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
