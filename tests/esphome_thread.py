"""An emulated ESPHome desk on its own event loop in its own thread: a device apart from the
process under test, so a stalled or starved event loop there does not stall the desk.

Design: `DeskThread(broker, model)` starts a thread running `EsphomeDesk` on a fresh loop with its
own real-time `Clock`; `start()` returns once the desk is online on the broker, `stop()` ends it
(the desk says offline). A watcher on the desk's loop steps the model with the desk and records
when the motor starts and stops (`motion`: (time.perf_counter(), running) at each change), so a
bench or test can compare a move with the motor's own time. `call(fn)` runs `fn()` on the desk's
loop and returns its result (reading the model while it is stepped elsewhere would be a race).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from deskctl.clocks.clock import Clock
from deskctl.config.settings import MqttSettings
from deskctl.sim.esphome_desk import EsphomeDesk, EsphomeDeskModel

__all__ = ["DeskThread"]

T = TypeVar("T")
_WATCH_S = 0.005
_START_S = 10.0


class DeskThread:
    """`EsphomeDesk` in a thread of its own; see the module docstring."""

    def __init__(
        self, broker: MqttSettings, model: EsphomeDeskModel, *, prefix: str = "esp-thread"
    ) -> None:
        self.broker = broker
        self.model = model
        self.prefix = prefix
        self.motion: list[tuple[float, bool]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"{prefix}-desk", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(_START_S) or self._error is not None:
            raise RuntimeError(f"the emulated desk did not start: {self._error!r}")

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(_START_S)

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()` on the desk's loop; its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the emulated desk is not running")

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(_START_S)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        desk = EsphomeDesk(
            self.broker, prefix=self.prefix, preset=self.model.preset, clock=Clock(),
            model=self.model,
        )  # fmt: skip
        async with desk:
            watcher = asyncio.create_task(self._watch())
            self._ready.set()
            await self._stop.wait()
            watcher.cancel()

    async def _watch(self) -> None:
        running = False
        while True:
            model = self.model
            now = model.direction != 0 or model.velocity_mm_s != 0
            if now != running:
                running = now
                self.motion.append((time.perf_counter(), now))
            await asyncio.sleep(_WATCH_S)
