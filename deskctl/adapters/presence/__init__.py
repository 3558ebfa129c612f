"""Presence sources at the edge: GNOME's idle monitor, the freedesktop ScreenSaver and logind
over D-Bus with dbus-fast, X11's screen saver extension and Wayland's ext-idle-notify-v1 (both
extras), as one chain (`PresenceChain`) feeding `deskctl.core.presence`.

One module per source (`mutter`, `screensaver`, `logind`, `x11`, `wayland`), what they share in
`base`, the chain in `chain`, chain and model together in `watch`. docs/presence.md says what
each one sees and where it works.
"""

from deskctl.adapters.presence.base import DBusSource, Emit, PresenceSource, SourceUnavailable
from deskctl.adapters.presence.chain import (
    NONE_AVAILABLE,
    SOURCE_NAMES,
    PresenceChain,
    build_sources,
)

__all__ = [
    "NONE_AVAILABLE",
    "SOURCE_NAMES",
    "DBusSource",
    "Emit",
    "PresenceChain",
    "PresenceSource",
    "SourceUnavailable",
    "build_sources",
]
