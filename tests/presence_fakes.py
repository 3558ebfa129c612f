"""Fake GNOME idle monitor, freedesktop ScreenSaver and logind on a private bus, for tests.

Each fake is a real D-Bus service (dbus-fast's `ServiceInterface`) on its own connection to a
bus started by `tests.dbus_recorder.private_session_bus()`, owning the name the real one owns,
and the test plays the person and the machine through it:
- `FakeMutter`: `GetIdletime`, `AddIdleWatch` (kept; fired each time the idle time reaches it,
  and at once, after the reply, when added while already idle, as Mutter does),
  `AddUserActiveWatch` (fired once at the next input), `RemoveWatch`, the `WatchFired` signal.
  `idle_for(ms)` and `touch()` are the person going still and coming back; `broken=True`
  makes `AddIdleWatch` fail.
- `FakeScreenSaver`: `GetSessionIdleTime` (seconds), `GetActive`, `ActiveChanged`;
  `gnome=True` answers `GetSessionIdleTime` with an error, as GNOME does; `hung = True` makes it
  stop answering until `unhang()`.
- `FakeLogind`: the manager (`GetSession`, `GetSessionByPID`, `GetUser`, `PrepareForSleep`),
  one session (`LockedHint`, `Lock`, `Unlock`) and one user (`Display`).
Every fake records the calls it got in `calls` and can be waited on (`wait_until`);
`serve(fake, address)` exports it and owns the name; leaving the block drops it. `Heard` is the
other end: it keeps the events a source reports, and waits for them.
"""

# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from the
# annotations at class creation.

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from dbus_fast import DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt32,
    DBusUInt64,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal

from deskctl.core.presence import Event, Signal

WAIT_S = 10.0
SESSION_ID = "2"
SESSION_PATH = "/org/freedesktop/login1/session/_32"
USER_PATH = "/org/freedesktop/login1/user/_1000"
UID = 1000
PID_IN_SESSION = 4242


class _Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._changed = asyncio.Event()

    def _record(self, member: str, *args: Any) -> None:
        self.calls.append((member, args))
        self._changed.set()

    def called(self, member: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.calls if name == member]

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


class FakeMutter(ServiceInterface, _Recording):
    NAME = "org.gnome.Mutter.IdleMonitor"
    PATH = "/org/gnome/Mutter/IdleMonitor/Core"

    def __init__(self, idle_ms: int = 0, *, broken: bool = False) -> None:
        ServiceInterface.__init__(self, "org.gnome.Mutter.IdleMonitor")
        _Recording.__init__(self)
        self.idle_ms = idle_ms
        self.broken = broken  # AddIdleWatch fails, as a service with a bug would
        self.idle_watches: dict[int, int] = {}  # id -> interval, ms
        self.active_watches: set[int] = set()
        self._fired: set[int] = set()  # idle watches fired in this idle stretch
        self._next = 1

    def _new_id(self) -> int:
        self._next += 1
        return self._next - 1

    def _fire_due(self) -> None:
        for watch, interval in self.idle_watches.items():
            if self.idle_ms >= interval and watch not in self._fired:
                self._fired.add(watch)
                self.WatchFired(watch)

    def idle_for(self, idle_ms: int) -> None:
        """The person has not touched anything for `idle_ms`."""
        self.idle_ms = idle_ms
        self._fire_due()

    def touch(self) -> None:
        """Input: the idle time starts again; user-active watches fire once and are dropped."""
        self.idle_ms = 0
        self._fired.clear()
        fired, self.active_watches = self.active_watches, set()
        for watch in sorted(fired):
            self.WatchFired(watch)

    @dbus_method()
    def GetIdletime(self) -> DBusUInt64:
        self._record("GetIdletime")
        return self.idle_ms

    @dbus_method()
    def AddIdleWatch(self, interval_ms: DBusUInt64) -> DBusUInt32:
        watch = self._new_id()
        self._record("AddIdleWatch", interval_ms, watch)
        if self.broken:
            raise DBusError("org.gnome.Mutter.Error.Failed", "the watch could not be added")
        self.idle_watches[watch] = interval_ms
        asyncio.get_running_loop().call_soon(self._fire_due)  # after the reply
        return watch

    @dbus_method()
    def AddUserActiveWatch(self) -> DBusUInt32:
        watch = self._new_id()
        self._record("AddUserActiveWatch", watch)
        self.active_watches.add(watch)
        return watch

    @dbus_method()
    def RemoveWatch(self, watch: DBusUInt32) -> None:
        self._record("RemoveWatch", watch)
        self.idle_watches.pop(watch, None)
        self.active_watches.discard(watch)

    @dbus_signal()
    def WatchFired(self, watch: int) -> DBusUInt32:
        return watch


class FakeScreenSaver(ServiceInterface, _Recording):
    NAME = "org.freedesktop.ScreenSaver"
    PATH = "/org/freedesktop/ScreenSaver"

    def __init__(self, idle_s: int = 0, *, active: bool = False, gnome: bool = False) -> None:
        ServiceInterface.__init__(self, "org.freedesktop.ScreenSaver")
        _Recording.__init__(self)
        self.idle_s = idle_s
        self.active = active
        self.gnome = gnome
        self.hung = False  # GetSessionIdleTime does not answer until `unhang()`
        self._unhung = asyncio.Event()

    def set_active(self, active: bool) -> None:
        self.active = active
        self.ActiveChanged(active)

    @dbus_method()
    async def GetSessionIdleTime(self) -> DBusUInt32:
        self._record("GetSessionIdleTime")
        if self.gnome:
            raise DBusError("org.freedesktop.DBus.Error.NotSupported", "This method is not part")
        if self.hung:
            await self._unhung.wait()  # a service stuck in a loop of its own
        return self.idle_s

    def unhang(self) -> None:
        """Let the calls that hang answer (late: their callers gave up)."""
        self.hung = False
        self._unhung.set()

    @dbus_method()
    def GetActive(self) -> DBusBool:
        self._record("GetActive")
        return self.active

    @dbus_signal()
    def ActiveChanged(self, active: bool) -> DBusBool:
        return active


class LogindSession(ServiceInterface, _Recording):
    def __init__(self, locked: bool) -> None:
        ServiceInterface.__init__(self, "org.freedesktop.login1.Session")
        _Recording.__init__(self)
        self.locked = locked

    def set_locked_hint(self, locked: bool) -> None:
        self.locked = locked
        self.emit_properties_changed({"LockedHint": locked})

    @dbus_property(access=PropertyAccess.READ)
    def LockedHint(self) -> DBusBool:
        self._record("LockedHint")
        return self.locked

    @dbus_signal()
    def Lock(self) -> None:
        return None

    @dbus_signal()
    def Unlock(self) -> None:
        return None


class LogindUser(ServiceInterface):
    def __init__(self, display_path: str) -> None:
        super().__init__("org.freedesktop.login1.User")
        self.display_path = display_path

    @dbus_property(access=PropertyAccess.READ)
    def Display(self) -> Annotated[tuple[str, str], DBusSignature("(so)")]:
        return (SESSION_ID if self.display_path != "/" else "", self.display_path)


class FakeLogind(ServiceInterface, _Recording):
    """The manager; `session` and `user` are exported beside it by `serve`."""

    NAME = "org.freedesktop.login1"
    PATH = "/org/freedesktop/login1"

    def __init__(self, *, locked: bool = False, display: bool = True) -> None:
        ServiceInterface.__init__(self, "org.freedesktop.login1.Manager")
        _Recording.__init__(self)
        self.session = LogindSession(locked)
        self.user = LogindUser(SESSION_PATH if display else "/")

    @dbus_method()
    def GetSession(self, session_id: DBusStr) -> DBusObjectPath:
        self._record("GetSession", session_id)
        if session_id != SESSION_ID:
            raise DBusError("org.freedesktop.login1.NoSuchSession", f"No session '{session_id}'")
        return SESSION_PATH

    @dbus_method()
    def GetSessionByPID(self, pid: DBusUInt32) -> DBusObjectPath:
        self._record("GetSessionByPID", pid)
        if pid != PID_IN_SESSION:
            raise DBusError(
                "org.freedesktop.login1.NoSessionForPID",
                f"PID {pid} does not belong to any known session",
            )
        return SESSION_PATH

    @dbus_method()
    def GetUser(self, uid: DBusUInt32) -> DBusObjectPath:
        self._record("GetUser", uid)
        if uid != UID:
            raise DBusError("org.freedesktop.login1.NoSuchUser", f"No user {uid} known")
        return USER_PATH

    @dbus_signal()
    def PrepareForSleep(self, start: bool) -> DBusBool:
        return start


@asynccontextmanager
async def serve(fake: Any, address: str) -> AsyncIterator[MessageBus]:
    """`fake` on the bus at `address`, owning its name, until the block ends (or `bus` closes)."""
    bus = await MessageBus(bus_address=address).connect()
    bus.export(fake.PATH, fake)
    if isinstance(fake, FakeLogind):
        bus.export(SESSION_PATH, fake.session)
        bus.export(USER_PATH, fake.user)
    await bus.request_name(fake.NAME)
    try:
        yield bus
    finally:
        if bus.connected:
            bus.disconnect()
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]


class Heard:
    """The events a source reports, waitable."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    @property
    def signals(self) -> list[tuple[Signal, float]]:
        return [(e.signal, e.idle_s) for e in self.events]

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def count(self, n: int) -> list[tuple[Signal, float]]:
        await self.until(lambda: len(self.events) >= n)
        return self.signals
