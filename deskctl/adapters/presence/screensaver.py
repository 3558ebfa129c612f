"""The freedesktop ScreenSaver (KDE Plasma): idle time by polling, the locker by its signal.

Design: on the session bus, `org.freedesktop.ScreenSaver` at `/org/freedesktop/ScreenSaver`.
It has no idle watches, so the source asks `GetSessionIdleTime()` (seconds, on KDE) every
`poll_s` (1.5 s: a return is noticed within two seconds, at a cost of one small call) and reports
`idle` when the idle time reaches the away threshold and `active` when it drops below it again
(the first answer is always reported). `GetActive()` at the start and the `ActiveChanged(b)`
signal after it say whether the screen saver, on KDE the screen locker, is on: `locked` /
`unlocked`. GNOME owns the name too but answers `GetSessionIdleTime` with an error: `open` then
says the source is unavailable, and the GNOME idle monitor is the one to use there.
"""

from __future__ import annotations

import asyncio

from dbus_fast import Message

from deskctl.adapters.presence.base import DBusSource
from deskctl.core.presence import Signal

__all__ = ["ScreenSaverSource"]

SERVICE = "org.freedesktop.ScreenSaver"
PATH = "/org/freedesktop/ScreenSaver"
INTERFACE = "org.freedesktop.ScreenSaver"
POLL_S = 1.5


class ScreenSaverSource(DBusSource):
    name = "screensaver"
    service = SERVICE

    def __init__(
        self, away_after_s: float, *, poll_s: float = POLL_S, bus_address: str | None = None
    ) -> None:
        self._away_after_s = away_after_s
        self._poll_s = poll_s
        super().__init__(bus_address=bus_address)

    def _reset(self) -> None:
        self._idle: bool | None = None

    async def _idle_s(self) -> float:
        [idle_s] = await self.call(SERVICE, PATH, INTERFACE, "GetSessionIdleTime")
        return float(idle_s)

    async def _check(self) -> None:
        await self._idle_s()

    async def _subscribe(self) -> None:
        await self.add_match(
            f"type='signal',interface='{INTERFACE}',member='ActiveChanged',path='{PATH}'"
        )

    async def _work(self) -> None:
        [active] = await self.call(SERVICE, PATH, INTERFACE, "GetActive")
        if active:
            self.emit(Signal.LOCKED)
        while True:
            idle_s = await self._idle_s()
            idle = idle_s >= self._away_after_s
            if idle != self._idle:
                self._idle = idle
                if idle:
                    self.emit(Signal.IDLE, idle_s)
                else:
                    self.emit(Signal.ACTIVE)
            await asyncio.sleep(self._poll_s)

    def _on_signal(self, message: Message) -> None:
        if message.member == "ActiveChanged" and message.path == PATH:
            self.emit(Signal.LOCKED if message.body[0] else Signal.UNLOCKED)
