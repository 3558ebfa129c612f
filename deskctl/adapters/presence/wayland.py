"""Wayland's ext-idle-notify-v1 (an optional extra, pywayland): idle and active from the
compositor itself, by events, no polling.

Design: for Wayland compositors without GNOME's or KDE's D-Bus services (sway 1.9 and later,
Hyprland, niri, ...). The source connects to the compositor named by `WAYLAND_DISPLAY` (a name
in `XDG_RUNTIME_DIR`, or a path), binds `wl_seat` and `ext_idle_notifier_v1` from the registry
and asks for one idle notification with the away threshold as its timeout. The compositor sends
`idled` once the seat has had no input for that long and `resumed` at the next input: they
become `idle` (with the threshold as the idle time) and `active`. After the request one
round trip to the compositor settles the first report: `idle` if the compositor said so at once,
`active` otherwise (the protocol starts the timeout when the notification is made). The
connection's socket is watched by the asyncio loop (`add_reader`); each time it is readable the
events are read and dispatched without blocking, and requests are flushed. The protocol's Python
bindings are the ones pywayland's wheels ship (`pywayland.protocol.ext_idle_notify_v1`, since
0.4.18). `open` says the source is unavailable, in one sentence, when pywayland or its bindings
are missing, `WAYLAND_DISPLAY` is not set, no compositor listens there, it does not answer
within `CALL_TIMEOUT_S`, or it lacks the protocol. A compositor that closes the connection does
not come back (a new one is a new session), so the source is not waited for.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from deskctl.adapters.presence.base import CALL_TIMEOUT_S, Emit, SourceUnavailable
from deskctl.core.presence import Event, Signal

__all__ = ["WaylandIdleSource"]

NOTIFIER = "ext_idle_notifier_v1"
SEAT = "wl_seat"


class WaylandIdleSource:
    name = "wayland"
    left = False  # a compositor that went away does not come back

    def __init__(
        self,
        away_after_s: float,
        *,
        environ: Mapping[str, str] | None = None,
        answer_timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self._away_after_s = away_after_s
        self._environ = os.environ if environ is None else environ
        self._answer_timeout_s = answer_timeout_s
        self._display: Any = None
        self._fd: int | None = None
        self._objects: list[Any] = []  # the proxies to destroy on close, newest last
        self._idle: bool | None = None
        self._emit: Emit | None = None
        self._early: list[Signal] = []
        self._gone: asyncio.Future[str] | None = None
        self._synced: asyncio.Event | None = None

    def _socket(self) -> Path:
        env = self._environ
        name = env.get("WAYLAND_DISPLAY")
        if not name:
            raise SourceUnavailable(
                "WAYLAND_DISPLAY is not set, so there is no Wayland compositor to ask"
            )
        if name.startswith("/"):
            return Path(name)
        runtime = env.get("XDG_RUNTIME_DIR")
        if not runtime:
            raise SourceUnavailable(
                f"XDG_RUNTIME_DIR is not set, so the Wayland socket {name} cannot be found"
            )
        return Path(runtime) / name

    async def open(self) -> None:
        socket = self._socket()
        try:
            from pywayland.client.display import Display
            from pywayland.protocol.wayland import WlSeat
        except ImportError:
            raise SourceUnavailable(
                "pywayland is not installed (pip install 'deskctl[wayland]')"
            ) from None
        try:
            from pywayland.protocol.ext_idle_notify_v1 import ExtIdleNotifierV1
        except ImportError:
            raise SourceUnavailable(
                "this pywayland has no ext-idle-notify-v1 bindings (pip install "
                "'pywayland>=0.4.18' from a wheel)"
            ) from None
        if not socket.exists():
            raise SourceUnavailable(f"no Wayland compositor is running at {socket}")
        display = Display(str(socket))
        try:
            display.connect()
        except ValueError:
            raise SourceUnavailable(
                f"the Wayland compositor at {socket} cannot be reached"
            ) from None
        self._display = display
        self._gone = asyncio.get_running_loop().create_future()
        self._fd = display.get_fd()
        asyncio.get_running_loop().add_reader(self._fd, self._readable)
        try:
            found: dict[str, tuple[int, int]] = {}
            registry = display.get_registry()
            self._objects.append(registry)

            def on_global(_registry: Any, name: int, interface: str, version: int) -> None:
                if interface in (SEAT, NOTIFIER) and interface not in found:
                    found[interface] = (name, version)

            registry.dispatcher["global"] = on_global
            await self._round_trip(socket)
            if NOTIFIER not in found:
                raise SourceUnavailable(
                    f"the Wayland compositor at {socket} has no ext-idle-notify-v1 "
                    f"({NOTIFIER} is not offered)"
                )
            if SEAT not in found:
                raise SourceUnavailable(f"the Wayland compositor at {socket} offers no seat")
            seat = registry.bind(found[SEAT][0], WlSeat, 1)
            self._objects.append(seat)
            notifier = registry.bind(found[NOTIFIER][0], ExtIdleNotifierV1, 1)
            self._objects.append(notifier)
            timeout_ms = round(self._away_after_s * 1000)
            notification = notifier.get_idle_notification(timeout_ms, seat)
            self._objects.append(notification)
            notification.dispatcher["idled"] = lambda _n: self._say(Signal.IDLE)
            notification.dispatcher["resumed"] = lambda _n: self._say(Signal.ACTIVE)
            await self._round_trip(socket)
            if self._idle is None:
                self._say(Signal.ACTIVE)  # not idle at once: the timeout starts now
        except BaseException:
            await self.close()
            raise

    async def _round_trip(self, socket: Path) -> None:
        """Wait (bounded) until the compositor has handled every request sent so far."""
        synced = asyncio.Event()
        callback = self._display.sync()  # referenced until destroyed: a late `done` calls into it
        callback.dispatcher["done"] = lambda *_args: synced.set()
        self._flush()
        gone = self._gone
        if gone is None:
            raise RuntimeError("connect before the round trip")
        waiter = asyncio.ensure_future(synced.wait())
        ends: set[asyncio.Future[Any]] = {waiter, gone}
        try:
            async with asyncio.timeout(self._answer_timeout_s):
                await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            raise SourceUnavailable(
                f"the Wayland compositor at {socket} did not answer within "
                f"{self._answer_timeout_s:g} s"
            ) from None
        finally:
            waiter.cancel()
            callback.destroy()  # no `done` can reach it after this
        if gone.done():
            raise SourceUnavailable(
                f"the Wayland compositor at {socket} closed the connection ({gone.result()})"
            )

    def _say(self, signal: Signal) -> None:
        idle = signal is Signal.IDLE
        if idle == self._idle:
            return
        self._idle = idle
        if self._emit is None:
            self._early.append(signal)
        else:
            self._emit(Event(self.name, signal, self._away_after_s if idle else 0.0))

    def _flush(self) -> None:
        """Send the requests; a full socket (EAGAIN) sends the rest at the next flush."""
        if self._display is None or self._display.flush() >= 0:
            return
        from pywayland import ffi

        error = cast(Any, ffi).errno  # cffi's errno, which the stubs leave out
        if error != errno.EAGAIN:
            self._lost(f"the requests could not be sent ({os.strerror(error)})")

    def _readable(self) -> None:
        display = self._display
        if display is None:
            return
        try:
            display.read()
            display.dispatch(block=False)
        except RuntimeError:
            self._lost("the compositor closed the connection")
            return
        self._flush()

    def _lost(self, why: str) -> None:
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._fd = None
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(why)

    async def run(self, emit: Emit) -> str:
        if self._display is None or self._gone is None:
            raise RuntimeError("open() the source before running it")
        early, self._early = self._early, []
        for signal in early:
            emit(Event(self.name, signal, self._away_after_s if signal is Signal.IDLE else 0.0))
        self._emit = emit
        try:
            return await self._gone
        finally:
            self._emit = None

    async def appeared(self) -> None:
        raise SourceUnavailable("a Wayland compositor does not come back")

    async def close(self) -> None:
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._fd = None
        display, self._display = self._display, None
        objects, self._objects = self._objects, []
        if display is None:
            return
        alive = self._gone is None or not self._gone.done()
        for proxy in reversed(objects):
            destroy: Callable[[], None] | None = getattr(proxy, "destroy", None)
            if alive and destroy is not None:
                with contextlib.suppress(Exception):
                    destroy()
        with contextlib.suppress(Exception):
            display.flush()
        display.disconnect()
