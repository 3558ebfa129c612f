"""A `GattClient` over the simulated desk, so the real LINAK link drives it in process.

Design: `ModelGattClient` forwards reads and writes to a `DeskModel` and runs one task that steps
the model on the injected clock, `step_s` of clock time at a time, delivering its notifications to
subscribers. When the model is at rest (`model.active` is False) the task waits for the next write
or `poke()` instead of spinning, so an idle simulated desk costs nothing, even on virtual time.
`drop()` simulates a lost link. `SimDesk` bundles a model and its client for the CLI and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from deskctl.clocks.clock import Clock
from deskctl.core.linak import Char
from deskctl.errors import LinkError
from deskctl.sim.desk_model import DeskModel

__all__ = ["ModelGattClient"]


class ModelGattClient:
    """A GATT client whose peer is a `DeskModel` stepped on `clock`."""

    def __init__(self, model: DeskModel, clock: Clock, *, step_s: float = 0.05) -> None:
        self.model = model
        self.clock = clock
        self.step_s = step_s
        self._connected = False
        self._on_disconnect: Callable[[], None] | None = None
        self._subscribers: dict[Char, list[Callable[[bytes], None]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        self._on_disconnect = on_disconnect
        self._connected = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="sim-desk-motor")

    async def disconnect(self) -> None:
        self._connected = False
        self._on_disconnect = None
        await self._halt()

    async def _halt(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _check(self) -> None:
        if not self._connected:
            raise LinkError("the simulated desk is not connected")

    async def read(self, char: Char) -> bytes:
        self._check()
        return self.model.read(char)

    async def write(self, char: Char, data: bytes) -> None:
        self._check()
        self.model.write(char, data)
        self.poke()

    async def subscribe(self, char: Char, callback: Callable[[bytes], None]) -> None:
        self._check()
        self._subscribers.setdefault(char, []).append(callback)

    def poke(self) -> None:
        """Wake the motor task (after a write, or after a test pressed the desk's buttons)."""
        self._wake.set()

    def drop(self) -> None:
        """Fault: the link drops. The desk's motor runs on until its commands lapse, unseen."""
        callback = self._on_disconnect
        self._connected = False
        self._on_disconnect = None
        self._subscribers.clear()
        if callback is not None:
            callback()

    async def _run(self) -> None:
        last_s = self.clock.monotonic()
        while True:
            if not self.model.active:
                self._wake.clear()
                await self._wake.wait()
                last_s = self.clock.monotonic()
            await self.clock.sleep(self.step_s)
            now_s = self.clock.monotonic()
            notifications = self.model.advance(now_s - last_s)
            last_s = now_s
            if not self._connected:
                continue
            for char, data in notifications:
                for callback in list(self._subscribers.get(char, ())):
                    callback(data)
