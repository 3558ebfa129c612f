"""A systemd user unit for `deskctl run`: the service starts with the session, logs to journald.

Design: `unit_text()` renders the unit (pure text, tested as such); `install()` writes it to the
user's unit folder (`$XDG_CONFIG_HOME/systemd/user`, overridable for tests) and, when systemctl is
present and a user manager answers, reloads and enables it; `uninstall()` undoes that. The unit runs
the same interpreter deskctl runs under, stops with SIGTERM (the service stops a moving desk before
exiting) and restarts on failure with a pause, so a broken setting never spins.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["UNIT_NAME", "install", "uninstall", "unit_path", "unit_text"]

UNIT_NAME = "deskctl.service"


def unit_path() -> Path:
    override = os.environ.get("DESKCTL_SYSTEMD_DIR")
    if override:
        return Path(override) / UNIT_NAME
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user" / UNIT_NAME


def unit_text(python: str = sys.executable, config: Path | None = None) -> str:
    argv = [python, "-m", "deskctl", "run"]
    if config is not None:
        argv += ["--config", str(config)]
    return (
        "[Unit]\n"
        "Description=deskctl: standing-desk schedule and mobility cues\n"
        "After=network-online.target bluetooth.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={shlex.join(argv)}\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=20\n"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _systemctl(*args: str) -> str | None:
    """Run `systemctl --user ARGS`; None if it ran, else why not (one sentence)."""
    exe = shutil.which("systemctl")
    if exe is None:
        return "systemctl is not on this machine"
    done = subprocess.run(
        [exe, "--user", *args], capture_output=True, text=True, timeout=30, check=False
    )
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        return reason[0] if reason else f"systemctl --user {' '.join(args)} failed"
    return None


def install(config: Path | None = None) -> tuple[Path, str | None]:
    """Write the unit and enable it; returns its path and, if enabling failed, why."""
    path = unit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit_text(config=config), encoding="utf-8")
    problem = _systemctl("daemon-reload") or _systemctl("enable", "--now", UNIT_NAME)
    return path, problem


def uninstall() -> tuple[Path, bool, str | None]:
    """Disable and remove the unit; returns its path, whether it existed, and any problem."""
    path = unit_path()
    existed = path.exists()
    problem = _systemctl("disable", "--now", UNIT_NAME) if existed else None
    if existed:
        path.unlink()
        _systemctl("daemon-reload")
    return path, existed, problem
