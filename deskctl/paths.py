"""Where deskctl keeps its files: config, state (history, remembered choices), runtime socket.

Each follows the platform (platformdirs) and can be moved with an environment variable, which the
tests use to keep every run in its own folder: DESKCTL_CONFIG_DIR, DESKCTL_STATE_DIR,
DESKCTL_RUNTIME_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["config_dir", "runtime_dir", "state_dir"]

_APP = "deskctl"


def config_dir() -> Path:
    """The user's config folder (settings.toml, their own profiles/ and cues/)."""
    override = os.environ.get("DESKCTL_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(_APP))


def state_dir() -> Path:
    """The folder for history and state that survive restarts."""
    override = os.environ.get("DESKCTL_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir(_APP))


def runtime_dir() -> Path:
    """The folder for the control socket (owner-only)."""
    override = os.environ.get("DESKCTL_RUNTIME_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / _APP
    # no session runtime dir (a container, cron, ssh without logind): a private folder in /tmp,
    # made owner-only by whoever creates it
    return Path(f"/tmp/{_APP}-{os.getuid()}")  # noqa: S108
