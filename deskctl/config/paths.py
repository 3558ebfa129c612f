"""Where deskctl keeps its files: config, state (history, remembered choices), runtime socket.

Each follows the platform (platformdirs) and can be moved with an environment variable, which the
tests use to keep every run in its own folder: DESKCTL_CONFIG_DIR, DESKCTL_STATE_DIR,
DESKCTL_RUNTIME_DIR.
The runtime folder (the control socket) is `$XDG_RUNTIME_DIR/deskctl`; without a session runtime
folder (a container, cron, ssh without logind) it is `run/` in the state folder, which only its
owner can reach, rather than a name in /tmp that anybody could take first. A Unix socket's path
holds at most 107 bytes: when the state folder's path is too long for the socket, the runtime
folder falls back to `/tmp/deskctl-<uid>` (checked like any other: ours, private, no symlink),
and `runtime_dir_note()` says why. The service and the client take the same path the same way.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deskctl.errors import ControlError

__all__ = ["config_dir", "runtime_dir", "runtime_dir_note", "settings_file", "state_dir"]

_APP = "deskctl"
_MAX_UNIX_PATH_BYTES = 107
_ROOM_FOR_SOCKET = len("/control.sock")


def config_dir() -> Path:
    """The user's config folder (settings.toml, their own profiles/ and cues/)."""
    override = os.environ.get("DESKCTL_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(_APP))


def settings_file() -> Path:
    """Where the settings file is: `DESKCTL_CONFIG` if set, else the user's config dir."""
    override = os.environ.get("DESKCTL_CONFIG")
    if override:
        return Path(override)
    return config_dir() / "settings.toml"


def state_dir() -> Path:
    """The folder for history and state that survive restarts."""
    override = os.environ.get("DESKCTL_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir(_APP))


def _fits(folder: Path) -> bool:
    return len(os.fsencode(folder)) + _ROOM_FOR_SOCKET <= _MAX_UNIX_PATH_BYTES


def _runtime_dir() -> tuple[Path, str | None]:
    override = os.environ.get("DESKCTL_RUNTIME_DIR")
    if override:
        return Path(override), None
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and _fits(Path(xdg) / _APP):
        return Path(xdg) / _APP, None
    private = state_dir() / "run"
    if _fits(private):
        return private, None
    fallback = Path(f"/tmp/{_APP}-{os.getuid()}")  # noqa: S108 - checked: ours, 0700, no symlink
    return fallback, (
        f"the control socket is in {fallback}: the path of {private} is too long for a Unix "
        "socket (set DESKCTL_RUNTIME_DIR to choose another folder)"
    )


def runtime_dir() -> Path:
    """The folder for the control socket (owner-only); see the module docstring."""
    return _runtime_dir()[0]


def runtime_dir_note() -> str | None:
    """One sentence when `runtime_dir()` had to fall back to /tmp, else None."""
    return _runtime_dir()[1]


def private_folder(folder: Path) -> None:
    """Create `folder` 0700, or check an existing one: a folder (not a symlink to one), ours, and
    not writable by others."""
    try:
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ControlError(f"cannot create the runtime folder {folder}: {exc.strerror}") from None
    try:
        info = os.lstat(folder)
    except OSError as exc:
        raise ControlError(f"cannot look at the runtime folder {folder}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ControlError(
            f"the runtime folder {folder} is a symbolic link; refusing to follow it "
            "(remove it, or set DESKCTL_RUNTIME_DIR)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise ControlError(f"the runtime folder {folder} is not a folder")
    if info.st_uid != os.geteuid():
        raise ControlError(f"the runtime folder {folder} belongs to uid {info.st_uid}, not to you")
    if info.st_mode & 0o022:
        raise ControlError(
            f"the runtime folder {folder} is writable by others; make it private (chmod 700) "
            "or set DESKCTL_RUNTIME_DIR"
        )
