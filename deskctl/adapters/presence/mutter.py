"""GNOME's idle monitor (Mutter, on X11 and Wayland): idle and active by watches, no polling.

Design: on the session bus, `org.gnome.Mutter.IdleMonitor` at
`/org/gnome/Mutter/IdleMonitor/Core`. The source adds one idle watch for the away threshold
(`AddIdleWatch(ms)`: Mutter keeps it and fires `WatchFired(id)` each time the idle time reaches
it, and at once when it is added while the person is already idle), then asks `GetIdletime()`
for the state now. Going idle (the idle watch fired, or the idle time is already past the
threshold) adds a user-active watch (`AddUserActiveWatch()`, fired once, at the next input, then
dropped by Mutter) and then reports `idle` with how long the input has been still; the
user-active watch firing reports `active`. The firings go through a queue and are handled in
order, so an idle watch that fires at once and an idle time that says the same give one report,
not two. `close` removes the watches (`RemoveWatch(id)`).
"""

from __future__ import annotations

import asyncio
import math

from dbus_fast import Message
from dbus_fast.aio import MessageBus

from deskctl.adapters.presence.base import DBusSource
from deskctl.core.presence import Signal

__all__ = ["MutterIdleSource"]

SERVICE = "org.gnome.Mutter.IdleMonitor"
PATH = "/org/gnome/Mutter/IdleMonitor/Core"
INTERFACE = "org.gnome.Mutter.IdleMonitor"


class MutterIdleSource(DBusSource):
    name = "mutter"
    service = SERVICE

    def __init__(self, away_after_s: float, *, bus_address: str | None = None) -> None:
        self._threshold_ms = max(1, math.ceil(away_after_s * 1000))
        super().__init__(bus_address=bus_address)

    def _reset(self) -> None:
        self._fired: asyncio.Queue[int] = asyncio.Queue()
        self._idle_watch: int | None = None
        self._active_watch: int | None = None
        self._idle = False

    async def _idletime_ms(self) -> int:
        [idle_ms] = await self.call(SERVICE, PATH, INTERFACE, "GetIdletime")
        return int(idle_ms)

    async def _check(self) -> None:
        await self._idletime_ms()

    async def _subscribe(self) -> None:
        await self.add_match(
            f"type='signal',interface='{INTERFACE}',member='WatchFired',path='{PATH}'"
        )

    async def _work(self) -> None:
        [self._idle_watch] = await self.call(
            SERVICE, PATH, INTERFACE, "AddIdleWatch", "t", [self._threshold_ms]
        )
        idle_ms = await self._idletime_ms()
        if idle_ms >= self._threshold_ms:
            await self._went_idle(idle_ms)
        else:
            self.emit(Signal.ACTIVE)
        while True:
            watch = await self._fired.get()
            if watch == self._idle_watch and not self._idle:
                await self._went_idle(max(await self._idletime_ms(), self._threshold_ms))
            elif watch == self._active_watch:
                self._active_watch = None
                self._idle = False
                self.emit(Signal.ACTIVE)

    async def _went_idle(self, idle_ms: int) -> None:
        self._idle = True
        [self._active_watch] = await self.call(SERVICE, PATH, INTERFACE, "AddUserActiveWatch")
        self.emit(Signal.IDLE, idle_ms / 1000)

    def _on_signal(self, message: Message) -> None:
        if message.member == "WatchFired" and message.path == PATH:
            self._fired.put_nowait(int(message.body[0]))

    async def _release(self, bus: MessageBus) -> None:
        for watch in (self._idle_watch, self._active_watch):
            if watch is not None:
                await self.call(SERVICE, PATH, INTERFACE, "RemoveWatch", "u", [watch], bus=bus)
        self._idle_watch = self._active_watch = None
