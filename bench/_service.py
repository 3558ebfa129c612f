"""The simulated service in this process, in a thread of its own, its desk writes stamped.

Design: `ServiceThread(time_scale, history=..., beside=...)` runs `build_service` (as
`deskctl run --simulate` builds it, on the simulated LINAK desk) in a daemon thread with its own
real-time event loop, so a bench script can drive it from the main thread (control socket, MQTT)
and time the path to the desk. The desk link's GATT client is wrapped in a `StampedGatt`, which
stamps the first write, and the first target, after `arm()` with `time.perf_counter()` (one clock
for the whole process, threads included). The service's clock starts at `IDLE_START`, a Sunday
evening, so the schedule never moves the desk on its own meanwhile.
- `history=True` gives the service the SQLite history and the notifiers `deskctl run` has (in the
  folders the environment names: run it inside `_common.deskctl_home`).
- `beside(service, stop)` is an async context manager for what runs beside the service (a
  control server, an MQTT bridge): entered once the service runs, left after `stop` is set and
  before the service is asked to stop.
`start()` returns once the desk has reported its height (a move before that is refused) and
gives the `StampedGatt`; it raises RuntimeError when the service does not get there within 30 s.
`stop()` sets `stop` and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from zoneinfo import ZoneInfo

from deskctl.adapters.history_store import Store
from deskctl.adapters.notify import build_notifiers
from deskctl.config.settings import Settings
from deskctl.core.linak import Char
from deskctl.links.gatt import GattClient
from deskctl.links.linak import LinakLink
from deskctl.service.assembly import build_service
from deskctl.service.core import Service

__all__ = ["IDLE_START", "TZ", "Beside", "ServiceThread", "StampedGatt"]

TZ = ZoneInfo("Europe/Berlin")
IDLE_START = datetime(2026, 11, 29, 20, 0, tzinfo=TZ)  # a Sunday evening: no schedule
_WAIT_S = 30.0

Beside = Callable[[Service, asyncio.Event], AbstractAsyncContextManager[object]]


class StampedGatt:
    """A `GattClient` that stamps the first write, and the first target, after `arm()`."""

    def __init__(self, inner: GattClient) -> None:
        self.inner = inner
        self.first_write: float | None = None
        self.first_target: float | None = None
        self.target_seen = threading.Event()

    def arm(self) -> None:
        self.first_write = self.first_target = None
        self.target_seen.clear()

    @property
    def is_connected(self) -> bool:
        return self.inner.is_connected

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        await self.inner.connect(on_disconnect)

    async def disconnect(self) -> None:
        await self.inner.disconnect()

    async def read(self, char: Char) -> bytes:
        return await self.inner.read(char)

    async def write(self, char: Char, data: bytes) -> None:
        now = time.perf_counter()
        if self.first_write is None:
            self.first_write = now
        if char is Char.REFERENCE_INPUT and self.first_target is None:
            self.first_target = now
            self.target_seen.set()
        await self.inner.write(char, data)

    async def subscribe(self, char: Char, callback: Callable[[bytes], None]) -> None:
        await self.inner.subscribe(char, callback)


class ServiceThread:
    """The simulated service in a thread with its own event loop; see the module docstring."""

    def __init__(
        self, time_scale: float, *, history: bool = False, beside: Beside | None = None
    ) -> None:
        self.time_scale = time_scale
        self.history = history
        self.beside = beside
        self.gatt: StampedGatt | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="service", daemon=True)

    def start(self) -> StampedGatt:
        self._thread.start()
        if not self._ready.wait(_WAIT_S) or self.gatt is None:
            raise RuntimeError(f"the in-process service did not start: {self._error!r}")
        return self.gatt

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(_WAIT_S)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = stop = asyncio.Event()
        settings = Settings()
        async with contextlib.AsyncExitStack() as stack:
            store: Store | None = None
            notifiers = None
            if self.history:
                store = stack.enter_context(Store())
                notifiers = await stack.enter_async_context(build_notifiers(settings.notify))
            service = build_service(
                settings,
                TZ,
                simulate=True,
                time_scale=self.time_scale,
                start_at=IDLE_START,
                store=store,
                notifiers=notifiers,
            )
            link = next(iter(service.desks.values())).link
            if not isinstance(link, LinakLink):
                raise TypeError(f"the simulated desk's link is a {type(link).__name__}")
            self.gatt = StampedGatt(link.gatt)
            link.gatt = self.gatt
            runner = asyncio.create_task(service.run())
            beside = self.beside or _nothing
            async with beside(service, stop):
                await _first_report(link)
                self._ready.set()
                await stop.wait()
            service.request_stop()
            await runner


@contextlib.asynccontextmanager
async def _nothing(_service: Service, _stop: asyncio.Event) -> AsyncIterator[None]:
    yield


async def _first_report(link: LinakLink) -> None:
    """Until the desk has reported its height (it connects after the service starts)."""
    known = asyncio.Event()
    unsubscribe = link.subscribe(lambda _event: known.set())
    try:
        async with asyncio.timeout(_WAIT_S):
            while link.height_mm is None:
                known.clear()
                await known.wait()
    finally:
        unsubscribe()
