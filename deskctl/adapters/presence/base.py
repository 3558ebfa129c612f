"""What every presence source over D-Bus shares: the bus, calls, signals, its service coming
and going.

Design: a source is opened (`open`: connect to its bus, check that its service answers and add
the match rules for its signals, or raise `SourceUnavailable` with one sentence), run
(`run(emit)`: hand over what the signals said since it attached, report the state it finds, then
the changes, as `deskctl.core.presence.Event`s to `emit`, until the service leaves the bus or
the bus connection drops; it returns one sentence saying which) and closed (`close`: undo its
watches, disconnect). A service that is not on the bus yet (deskctl's user unit may start before
GNOME Shell) or has left it may come (back): `SourceUnavailable.may_appear` says so, the bus stays
connected, and `appeared()` waits for the name to get an owner and attaches again. Nothing polls
for the service: the source watches `NameOwnerChanged` for its name. Every call waits at most
`CALL_TIMEOUT_S`, so a service that hangs cannot hang the service's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from deskctl.core.presence import Event, Signal

__all__ = [
    "CALL_TIMEOUT_S",
    "CallFailed",
    "DBusSource",
    "Emit",
    "PresenceSource",
    "SourceUnavailable",
]

CALL_TIMEOUT_S = 5.0
DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
# the errors that mean "nobody owns the name (yet)"
NOT_THERE = frozenset(
    {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"}
)

Emit = Callable[[Event], None]


class SourceUnavailable(Exception):
    """The source cannot be used now; the message is one sentence saying why. `may_appear`: the
    service is just not on the bus, and `appeared()` can wait for it."""

    def __init__(self, message: str, *, may_appear: bool = False) -> None:
        super().__init__(message)
        self.may_appear = may_appear


class PresenceSource(Protocol):
    """What the chain needs of a source (a `DBusSource`, or the X11 one)."""

    name: str
    left: bool  # the last run ended because the service left, and it may come back

    async def open(self) -> None: ...
    async def run(self, emit: Emit) -> str: ...
    async def appeared(self) -> None: ...
    async def close(self) -> None: ...


class CallFailed(Exception):
    """A D-Bus call answered with an error (or not at all)."""

    def __init__(self, member: str, error_name: str, text: str) -> None:
        super().__init__(f"{member}: {error_name}: {text}" if text else f"{member}: {error_name}")
        self.error_name = error_name


class DBusSource(ABC):
    """One presence source on one bus; subclasses say what to watch and what it means."""

    name: str  # as in the settings and the model: "mutter", "logind", ...
    service: ClassVar[str]  # the well-known bus name whose owner is the source
    bus_type: ClassVar[BusType] = BusType.SESSION
    call_timeout_s = CALL_TIMEOUT_S  # how long any call may wait for its reply

    def __init__(self, *, bus_address: str | None = None) -> None:
        self._bus_address = bus_address
        self._bus: MessageBus | None = None
        self._closed: asyncio.Task[None] | None = None  # ends when the connection does
        self._owner = asyncio.Event()  # the name got an owner
        self.left = False  # the last run ended because the service left the bus
        self._attach_state()

    def _attach_state(self) -> None:
        """Fresh state for one attachment to the service."""
        self._gone: asyncio.Future[str] | None = None
        self._early: list[Event] | None = []  # events before `run`, handed over when it starts
        self._emit: Emit = self._keep_early
        self._reset()

    def _keep_early(self, event: Event) -> None:
        if self._early is not None:
            self._early.append(event)

    @property
    def bus_label(self) -> str:
        return "system bus" if self.bus_type is BusType.SYSTEM else "session bus"

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.call_timeout_s):
                bus = MessageBus(bus_address=self._bus_address, bus_type=self.bus_type)
                self._bus = await bus.connect()
        except Exception as exc:  # no socket, a bad address, refused: not here
            raise SourceUnavailable(f"the {self.bus_label} cannot be reached ({exc})") from None
        self._closed = loop.create_task(self._bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
        self._bus.add_message_handler(self._on_message)
        try:
            await self.add_match(
                f"type='signal',sender='{DBUS[0]}',interface='{DBUS[2]}',"
                f"member='NameOwnerChanged',arg0='{self.service}'"
            )
        except CallFailed as exc:
            await self.close()
            raise SourceUnavailable(f"the {self.bus_label} refused a match ({exc})") from None
        await self._attach()

    async def _attach(self) -> None:
        self._attach_state()
        self._gone = asyncio.get_running_loop().create_future()
        try:
            await self._check()
            await self._subscribe()
        except CallFailed as exc:
            may_appear = exc.error_name in NOT_THERE
            if not may_appear:
                await self.close()
            raise SourceUnavailable(
                f"{self.service} does not answer on the {self.bus_label} ({exc.error_name})",
                may_appear=may_appear,
            ) from None

    async def appeared(self) -> None:
        """Wait until the service is on the bus, then attach to it. `SourceUnavailable` when
        the bus connection closes or the service comes but cannot be used."""
        while True:
            if self._bus is None or self._closed is None or self._closed.done():
                raise SourceUnavailable(f"the {self.bus_label} connection closed")
            self._owner.clear()
            try:
                [there] = await self.call(*DBUS, "NameHasOwner", "s", [self.service])
            except CallFailed as exc:
                raise SourceUnavailable(f"the {self.bus_label} stopped answering ({exc})") from None
            if not there:
                owner = asyncio.ensure_future(self._owner.wait())
                ends: set[asyncio.Future[Any]] = {owner, self._closed}
                try:
                    await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    owner.cancel()
                continue  # check again: the owner may have left as fast as it came
            try:
                await self._attach()
            except SourceUnavailable as exc:
                if not exc.may_appear:
                    raise
                continue
            return

    async def run(self, emit: Emit) -> str:
        """Report the state, then the changes, until the source goes; answers why it went."""
        if self._bus is None or self._gone is None or self._closed is None:
            raise RuntimeError("open() the source (or wait until it appeared) before running it")
        early, self._early = self._early, None
        self._emit = emit
        for event in early or ():
            emit(event)  # what the signals said between open and run
        gone, closed = self._gone, self._closed
        work = asyncio.ensure_future(self._work())
        ends: set[asyncio.Future[Any]] = {closed, gone, work}
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            self._early, self._emit = None, self._keep_early  # nothing more until attached again
        self.left = gone.done()
        if gone.done():
            return gone.result()
        if closed.done():
            return f"the {self.bus_label} connection closed"
        exc = work.exception()
        if isinstance(exc, CallFailed) and exc.error_name != "no reply":
            return f"{self.service} answered with an error ({exc})"
        if isinstance(exc, CallFailed | TimeoutError):
            return f"{self.service} stopped answering ({exc or 'no reply'})"
        return f"{self.service} stopped" + (f" ({exc})" if exc else "")

    async def close(self) -> None:
        if self._bus is None:
            return
        bus, self._bus = self._bus, None
        if bus.connected:
            with contextlib.suppress(Exception):
                await self._release(bus)
            bus.disconnect()
        if self._closed is not None:
            with contextlib.suppress(Exception):  # an abrupt end of the connection: closed anyway
                await self._closed

    # -- for subclasses ----------------------------------------------------------------------
    @abstractmethod
    async def _check(self) -> None:
        """Raise `CallFailed` if the service is not there or cannot serve this source."""

    def _reset(self) -> None:  # noqa: B027 (optional hook)
        """Forget what the last attachment knew (watch ids, the idle state)."""

    async def _subscribe(self) -> None:  # noqa: B027 (optional hook)
        """Add the match rules for the source's signals (before `open` returns)."""

    @abstractmethod
    async def _work(self) -> None:
        """Report the state found, then keep reporting; return or raise only on failure."""

    async def _release(self, bus: MessageBus) -> None:  # noqa: B027 (optional hook)
        """Undo what `_work` asked of the service (watches), while still connected."""

    def _on_signal(self, message: Message) -> None:  # noqa: B027 (optional hook)
        """A signal from the bus (the source's own matches)."""

    def emit(self, signal: Signal, idle_s: float = 0.0) -> None:
        self._emit(Event(self.name, signal, idle_s))

    async def add_match(self, rule: str) -> None:
        await self.call(*DBUS, "AddMatch", "s", [rule])

    async def call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: Sequence[Any] = (),
        *,
        bus: MessageBus | None = None,
    ) -> list[Any]:
        """The reply's body; `CallFailed` on an error reply or no reply within the bound."""
        bus = bus or self._bus
        if bus is None:
            raise CallFailed(member, "not connected", "")
        message = Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=list(body),
        )
        try:
            async with asyncio.timeout(self.call_timeout_s):
                reply = await bus.call(message)
        except TimeoutError:
            raise CallFailed(member, "no reply", f"within {self.call_timeout_s:g} s") from None
        if reply is None:
            raise CallFailed(member, "no reply", "")
        if reply.message_type is MessageType.ERROR:
            text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
            raise CallFailed(member, reply.error_name or "error", text)
        return list(reply.body)

    def _on_message(self, message: Message) -> None:
        if message.message_type is not MessageType.SIGNAL:
            return
        if message.member == "NameOwnerChanged" and message.interface == DBUS[2]:
            name, old, new = message.body
            if name != self.service:
                return
            if old and self._gone is not None and not self._gone.done():
                self._gone.set_result(f"{self.service} left the {self.bus_label}")
            if new:
                self._owner.set()
            return
        self._on_signal(message)
