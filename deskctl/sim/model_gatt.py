"""A `GattClient` over the simulated desk, so the real LINAK link drives it in process.

Design: `ModelGattClient` forwards reads and writes to a `DeskModel` and runs one task that steps
the model on the injected clock, `step_s` of clock time at a time; before every read and write the
model is first brought to the clock's now, so the desk lives on the clock, not on our steps. A
radio sits in between (`deskctl.sim.physics.Radio`, realistic by default): a write waits for the
next connection event before it reaches the desk; a read's request does, and its answer comes one
interval later; each notification is delivered at the first connection event after the desk sent
it (its stamp), or, now and then for height reports, lost. When the model is at rest
(`model.active` is False) and nothing is on its way, the task waits for the next write or `poke()`
instead of spinning, so an idle simulated desk costs nothing, even on virtual time. `drop()`
simulates a lost link.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Callable

from deskctl.clocks.clock import Clock
from deskctl.core.linak import Char
from deskctl.errors import LinkError
from deskctl.sim.desk_model import DeskModel, Notification
from deskctl.sim.physics import RADIO, Radio, RadioLink, seeded

__all__ = ["ModelGattClient"]


class ModelGattClient:
    """A GATT client whose peer is a `DeskModel` stepped on `clock`, over `radio`."""

    def __init__(
        self,
        model: DeskModel,
        clock: Clock,
        *,
        step_s: float = 0.02,
        radio: Radio = RADIO,
        rng: random.Random | None = None,
    ) -> None:
        self.model = model
        self.clock = clock
        self.step_s = step_s
        self.radio = RadioLink(radio, rng if rng is not None else seeded(0))
        self._connected = False
        self._on_disconnect: Callable[[], None] | None = None
        self._subscribers: dict[Char, list[Callable[[bytes], None]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._model_at_s: float | None = None  # the clock time the model has reached
        self._air: deque[tuple[float, Notification]] = deque()  # (delivery time, notification)

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        self._on_disconnect = on_disconnect
        self._connected = True
        self.radio.anchor_s = self.clock.monotonic()
        self._air.clear()
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

    async def _next_event(self) -> None:
        """Wait for the next connection event (nothing waits without a radio)."""
        now_s = self.clock.monotonic()
        wait_s = self.radio.next_event_s(now_s) - now_s
        if wait_s > 0:
            await self.clock.sleep(wait_s)
        self._check()

    async def read(self, char: Char) -> bytes:
        self._check()
        await self._next_event()
        self.sync()
        value = self.model.read(char)
        if self.radio.interval_s > 0:
            await self.clock.sleep(self.radio.interval_s)  # the answer, one event later
            self._check()
        return value

    async def write(self, char: Char, data: bytes) -> None:
        self._check()
        await self._next_event()
        self.sync()
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
        self._air.clear()
        if callback is not None:
            callback()

    def sync(self) -> None:
        """Bring the model to the clock's now; put what it sent meanwhile on the air."""
        now_s = self.clock.monotonic()
        if self._model_at_s is None:
            self._model_at_s = now_s
        sent = self.model.advance_stamped(max(now_s - self._model_at_s, 0.0))
        offset_s = now_s - self.model.now_s  # model time to clock time
        self._model_at_s = now_s
        if not self._connected:
            return
        for stamp_s, (char, data) in sent:
            if char is Char.HEIGHT_SPEED and self.radio.lost():
                continue
            at_s = max(self.radio.next_event_s(stamp_s + offset_s), self._air_tail_s())
            self._air.append((at_s, (char, data)))

    def _air_tail_s(self) -> float:
        return self._air[-1][0] if self._air else 0.0

    def _deliver_due(self) -> None:
        now_s = self.clock.monotonic()
        while self._air and self._air[0][0] <= now_s + 1e-9:
            _, (char, data) = self._air.popleft()
            if not self._connected:
                continue
            for callback in list(self._subscribers.get(char, ())):
                callback(data)

    async def _run(self) -> None:
        while True:
            if not self.model.active and not self._air:
                self._wake.clear()
                await self._wake.wait()
                self.sync()
            now_s = self.clock.monotonic()
            wake_s = now_s + self.step_s
            if self._air:
                wake_s = min(wake_s, self._air[0][0])
            await self.clock.sleep(max(wake_s - now_s, 0.0))
            self.sync()
            self._deliver_due()
