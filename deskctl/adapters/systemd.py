"""A systemd user unit for `deskctl run`: the service starts with the session, logs to journald.

Design: `unit_text()` renders the unit (pure text, tested as such, and checked with
`systemd-analyze --user verify` where it exists); `install()` writes it to the user's unit folder
(`$XDG_CONFIG_HOME/systemd/user`, overridable for tests) and reloads and enables it through
`systemctl --user`, saying why when it could not; `uninstall()` undoes that. The unit runs the same
interpreter deskctl runs under and stops with SIGTERM (the service stops a moving desk before
exiting). It orders after nothing: a user manager cannot see system targets such as
`network-online.target` or `bluetooth.target`, and the service reconnects to desks and broker by
itself. It restarts on failure after a pause, at most `START_BURST` times in `START_INTERVAL_S`,
and never after a configuration error (`CONFIG_ERROR_EXIT`) or bad usage (exit 2): restarting
cannot fix a broken settings file. Secrets such as `DESKCTL_MQTT__PASSWORD` come from an optional
environment file (`env_path()`, mode 0600), as the shell's environment does not reach the unit.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from deskctl.config.files import os_reason, shown_path, write_file
from deskctl.errors import DeskError, InputError

__all__ = ["UNIT_NAME", "install", "uninstall", "unit_path", "unit_text"]

UNIT_NAME = "deskctl.service"
CONFIG_ERROR_EXIT = 78
"""`deskctl run`'s exit status for a broken settings or profile file (sysexits' EX_CONFIG, which
systemd shows as `status=78/CONFIG`); the unit does not restart after it."""
START_BURST = 5
START_INTERVAL_S = 300


def unit_path() -> Path:
    override = os.environ.get("DESKCTL_SYSTEMD_DIR")
    if override:
        return Path(override) / UNIT_NAME
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user" / UNIT_NAME


def _exec_word(word: str) -> str:
    """One word of ExecStart: quoted as a shell would, with systemd's own specifiers (`%`) and
    variables (`$`) doubled so that a path holding them reaches deskctl as written. A line break
    or another control character would end the line and start a new directive: refused."""
    if not word.isprintable():
        raise InputError(
            f"{shown_path(word)} holds a control character (a line break?) and cannot go into "
            "a systemd unit; rename or move it"
        )
    return shlex.quote(word).replace("%", "%%").replace("$", "$$")


def unit_text(python: str = sys.executable, config: Path | None = None) -> str:
    argv = [python, "-m", "deskctl", "run"]
    if config is not None:
        argv += ["--config", str(config)]
    exec_start = " ".join(_exec_word(word) for word in argv)
    return (
        "[Unit]\n"
        "Description=deskctl: standing-desk schedule and mobility cues\n"
        f"StartLimitIntervalSec={START_INTERVAL_S}\n"
        f"StartLimitBurst={START_BURST}\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=20\n"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        f"RestartPreventExitStatus=2 {CONFIG_ERROR_EXIT}\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        f"EnvironmentFile=-{env_path()}\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def _systemctl(*args: str) -> str | None:
    """Run `systemctl --user ARGS`; None if it ran, else why not (one sentence)."""
    exe = shutil.which("systemctl")
    if exe is None:
        return "systemctl is not on this machine"
    try:
        done = subprocess.run(
            [exe, "--user", *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"systemctl --user {' '.join(args)} did not run: {exc}"
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        text = reason[0].rstrip(".") if reason else f"systemctl --user {' '.join(args)} failed"
        if "connect to bus" in text or "XDG_RUNTIME_DIR" in text:
            return f"no systemd user manager answers here ({text})"
        return text
    return None


def install(config: Path | None = None) -> tuple[Path, str | None]:
    """Write the unit and enable it; returns its path and, if enabling failed, why."""
    path = unit_path()
    write_file(path, unit_text(config=config), what="the systemd unit", mode=0o644)
    problem = _systemctl("daemon-reload") or _systemctl("enable", "--now", UNIT_NAME)
    return path, problem


def uninstall() -> tuple[Path, bool, str | None]:
    """Disable and remove the unit; returns its path, whether it existed, and any problem."""
    path = unit_path()
    existed = path.exists()
    problem = _systemctl("disable", "--now", UNIT_NAME) if existed else None
    if existed:
        try:
            path.unlink()
        except OSError as exc:
            raise DeskError(f"cannot remove {shown_path(path)}: {os_reason(exc)}") from None
        _systemctl("daemon-reload")
    return path, existed, problem


def env_path() -> Path:
    """The unit's optional environment file: `DESKCTL_…=value` lines, e.g. the MQTT password."""
    from deskctl.config.paths import config_dir

    return config_dir() / "deskctl.env"


def unseen_environment() -> list[str]:
    """The `DESKCTL_…` settings set in this shell, which the unit does not see (names only)."""
    moved = {
        "DESKCTL_CONFIG_DIR",
        "DESKCTL_STATE_DIR",
        "DESKCTL_RUNTIME_DIR",
        "DESKCTL_SYSTEMD_DIR",
    }
    return sorted(k for k in os.environ if k.startswith("DESKCTL_") and k not in moved)


def loose_env_file() -> Path | None:
    """The environment file, if it exists and others than its owner may read it."""
    path = env_path()
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return path if mode & 0o077 else None
