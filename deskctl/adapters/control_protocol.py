"""What both ends of the control socket agree on: where it is, its commands, its longest line.

Design: the server (`adapters.control_server`) and the client (`adapters.control_client`)
import this module and nothing of each other. `deskctl status` loads it on its fast path, so it
holds plain constants and imports only `os`; `deskctl.config.paths` (pathlib, platformdirs) is
imported only when a path is asked for. The protocol itself is described in docs/control-socket.md.
"""

from __future__ import annotations

import os

__all__ = ["COMMANDS", "MAX_LINE_BYTES", "SOCKET_NAME", "socket_path"]

SOCKET_NAME = "control.sock"
MAX_LINE_BYTES = 64 * 1024  # one request or answer line, its newline excluded
COMMANDS = frozenset(
    {
        "status", "sit", "stand", "move", "stop", "pause", "resume", "skip", "snooze", "confirm",
        "profile_use", "profile_set", "inhibit", "schedule",
        "release", "connect", "preset_recall", "preset_save",
    }
)  # fmt: skip


def socket_path() -> str:
    """Where the service's control socket lives: `runtime_dir()/control.sock`."""
    from deskctl.config.paths import runtime_dir

    return os.path.join(runtime_dir(), SOCKET_NAME)
