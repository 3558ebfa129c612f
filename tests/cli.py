"""Run the real `deskctl` command in a subprocess, with its folders inside a test's tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCTL_")}
    env.update(
        DESKCTL_CONFIG_DIR=str(tmp_path / "config"),
        DESKCTL_STATE_DIR=str(tmp_path / "state"),
        DESKCTL_RUNTIME_DIR=str(tmp_path / "run"),
        COLUMNS="120",
        TZ="Europe/Berlin",
    )
    env.update(extra)
    return env


def deskctl(
    tmp_path: Path, *args: str, timeout_s: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """`deskctl ARGS…` as a user would run it; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "deskctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=cli_env(tmp_path, **env),
        check=False,
    )
