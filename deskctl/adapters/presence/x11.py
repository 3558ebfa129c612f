"""X11's screen saver extension (an optional extra, python-xlib): idle time on X11 desktops.

Design: for X11 sessions without GNOME's or KDE's services (Xfce, i3, ...). The X server keeps
the time since the last input; the source asks for it (`MIT-SCREEN-SAVER`'s `QueryInfo`, in ms)
every `poll_s` and reports `idle` when it reaches the away threshold and `active` when it drops
below (the first answer is always reported), like the ScreenSaver source. python-xlib is
blocking, so each query runs in a worker thread. `open` says the source is unavailable, in one
sentence, when python-xlib is missing, `DISPLAY` is not set, the server cannot be reached or
lacks the extension, and in a Wayland session: there the X server is XWayland, whose idle time
counts only input to X11 windows and grows while the person types into any other window. An X
server does not come back once its connection closes, so the source is not waited for.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deskctl.adapters.presence.base import Emit, SourceUnavailable
from deskctl.core.presence import Event, Signal

__all__ = ["X11IdleSource"]

POLL_S = 1.5
X11_SOCKETS = "/tmp/.X11-unix"  # noqa: S108 (where every X server has its socket; read only)


class X11IdleSource:
    name = "x11"
    left = False  # an X server that went away does not come back

    def __init__(
        self,
        away_after_s: float,
        *,
        poll_s: float = POLL_S,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._away_after_ms = away_after_s * 1000
        self._poll_s = poll_s
        self._environ = os.environ if environ is None else environ
        self._display: Any = None
        self._root: Any = None

    async def open(self) -> None:
        env = self._environ
        if env.get("WAYLAND_DISPLAY") or env.get("XDG_SESSION_TYPE") == "wayland":
            raise SourceUnavailable(
                "this is a Wayland session, where X11 sees only the input to X11 windows"
            )
        name = env.get("DISPLAY")
        if not name:
            raise SourceUnavailable("DISPLAY is not set, so there is no X11 session to ask")
        try:
            from Xlib import display as xdisplay
        except ImportError:
            raise SourceUnavailable(
                "python-xlib is not installed (pip install 'deskctl[x11]')"
            ) from None
        local = re.fullmatch(r":(\d+)(\.\d+)?", name)
        socket = Path(X11_SOCKETS) / f"X{local.group(1)}" if local else None
        if socket is not None and socket.parent.is_dir() and not socket.exists():
            # python-xlib would try TCP next, and leave its sockets open when that fails too
            raise SourceUnavailable(f"the X server {name} is not running (no {socket})")
        try:
            self._display = await asyncio.to_thread(xdisplay.Display, name)
        except Exception as exc:  # Xlib's DisplayError and socket errors alike
            raise SourceUnavailable(f"the X server {name} cannot be reached ({exc})") from None
        if not self._display.has_extension("MIT-SCREEN-SAVER"):
            await self.close()
            raise SourceUnavailable(f"the X server {name} has no MIT-SCREEN-SAVER extension")
        self._root = self._display.screen().root

    def _idle_ms(self) -> int:
        from Xlib.ext import screensaver

        return int(screensaver.query_info(self._root).idle)

    async def run(self, emit: Emit) -> str:
        if self._display is None:
            raise RuntimeError("open() the source before running it")
        idle: bool | None = None
        while True:
            try:
                idle_ms = await asyncio.to_thread(self._idle_ms)
            except Exception as exc:  # the connection closed, the server died
                return f"the X server stopped answering ({type(exc).__name__})"
            now_idle = idle_ms >= self._away_after_ms
            if now_idle != idle:
                idle = now_idle
                signal = Signal.IDLE if idle else Signal.ACTIVE
                emit(Event(self.name, signal, idle_ms / 1000 if idle else 0.0))
            await asyncio.sleep(self._poll_s)

    async def appeared(self) -> None:
        raise SourceUnavailable("an X server does not come back")

    async def close(self) -> None:
        display, self._display = self._display, None
        if display is not None:
            await asyncio.to_thread(display.close)
