"""logind (systemd, everywhere): the session's lock, and the machine going to sleep and back.

Design: on the system bus, `org.freedesktop.login1`. The session is found, in this order, by
`XDG_SESSION_ID` (the manager's `GetSession`), by this process (`GetSessionByPID`: a command run
in the session) or as the user's display session (`GetUser(uid)`, its `Display` property: a
systemd user unit runs outside any session). Its `LockedHint` property gives the state at the
start; then `locked` / `unlocked` come from the session's `Lock` and `Unlock` signals (logind
asking the screen locker) and from `LockedHint` changing (the locker saying it did it, as GNOME
and KDE do). A `Lock` that no locker confirms (`LockedHint` still false `lock_confirm_s` later)
is taken back with `unlocked`: a locker that never reports (swaylock) sends no `Unlock` either,
and the person would otherwise be away for good. The manager's `PrepareForSleep(true)` reports
`sleeping`, `PrepareForSleep(false)` `resumed`. With no session found, only sleep is watched, and
`session_note` says so. `IdleHint` is not used: KDE leaves it unset.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

from dbus_fast import BusType, Message

from deskctl.adapters.presence.base import CallFailed, DBusSource
from deskctl.core.presence import Signal

__all__ = ["LogindSource"]

SERVICE = "org.freedesktop.login1"
MANAGER_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
USER = "org.freedesktop.login1.User"
PROPERTIES = "org.freedesktop.DBus.Properties"


class LogindSource(DBusSource):
    name = "logind"
    service = SERVICE
    bus_type = BusType.SYSTEM
    lock_confirm_s = 10.0  # a lock request no locker confirms by then does not count

    def __init__(
        self,
        *,
        bus_address: str | None = None,
        environ: Mapping[str, str] | None = None,
        pid: int | None = None,
        uid: int | None = None,
    ) -> None:
        super().__init__(bus_address=bus_address)
        self._environ = os.environ if environ is None else environ
        self._pid = os.getpid() if pid is None else pid
        self._uid = os.getuid() if uid is None else uid
        self.session_path: str | None = None
        self.session_note = ""

    def _reset(self) -> None:
        self._lock_asked: asyncio.Queue[None] = asyncio.Queue()
        self._locked: bool | None = None

    async def _manager(self, member: str, signature: str, body: list[object]) -> str:
        [path] = await self.call(SERVICE, MANAGER_PATH, MANAGER, member, signature, body)
        return str(path)

    async def _find_session(self) -> str | None:
        session_id = self._environ.get("XDG_SESSION_ID")
        if session_id:
            try:
                return await self._manager("GetSession", "s", [session_id])
            except CallFailed:
                pass
        try:
            return await self._manager("GetSessionByPID", "u", [self._pid])
        except CallFailed:
            pass
        try:
            user = await self._manager("GetUser", "u", [self._uid])
            [display] = await self.call(SERVICE, user, PROPERTIES, "Get", "ss", [USER, "Display"])
        except CallFailed:
            return None
        _id, path = display.value
        return str(path) if path and path != "/" else None

    async def _check(self) -> None:
        await self.call(SERVICE, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")
        self.session_path = await self._find_session()
        if self.session_path is None:
            self.session_note = "found no session of this user; only sleep is watched"

    async def _subscribe(self) -> None:
        await self.add_match(
            f"type='signal',sender='{SERVICE}',interface='{MANAGER}',member='PrepareForSleep',"
            f"path='{MANAGER_PATH}'"
        )
        path = self.session_path
        if path is not None:
            await self.add_match(
                f"type='signal',sender='{SERVICE}',interface='{SESSION}',path='{path}'"
            )
            await self.add_match(
                f"type='signal',sender='{SERVICE}',interface='{PROPERTIES}',"
                f"member='PropertiesChanged',path='{path}'"
            )

    async def _locked_hint(self, path: str) -> bool:
        [locked] = await self.call(SERVICE, path, PROPERTIES, "Get", "ss", [SESSION, "LockedHint"])
        return bool(locked.value)

    def _say_locked(self, locked: bool) -> None:
        self._locked = locked
        self.emit(Signal.LOCKED if locked else Signal.UNLOCKED)

    async def _work(self) -> None:
        path = self.session_path
        if path is None:
            await asyncio.get_running_loop().create_future()  # sleep signals only, from here
            return
        self._say_locked(await self._locked_hint(path))
        while True:  # the signals do the rest; a lock request is checked after a while
            await self._lock_asked.get()
            await asyncio.sleep(self.lock_confirm_s)
            if self._locked and not await self._locked_hint(path):
                self._say_locked(False)

    def _on_signal(self, message: Message) -> None:
        if message.member == "PrepareForSleep" and message.path == MANAGER_PATH:
            self.emit(Signal.SLEEPING if message.body[0] else Signal.RESUMED)
        elif message.path != self.session_path or self.session_path is None:
            return
        elif message.member in ("Lock", "Unlock") and message.interface == SESSION:
            self._say_locked(message.member == "Lock")
            if message.member == "Lock":
                self._lock_asked.put_nowait(None)
        elif message.member == "PropertiesChanged" and message.body[0] == SESSION:
            changed = message.body[1]
            if "LockedHint" in changed:
                self._say_locked(bool(changed["LockedHint"].value))
