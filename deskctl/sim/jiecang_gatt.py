"""A `PipeGatt` over the simulated Jiecang box, so the real Jiecang link drives it in process.

Design: `ModelPipeGatt` serves one of the four GATT variants (`deskctl.core.jiecang.VARIANTS`; the
FF12 one with its configuration characteristics beside the pipe, which nothing may write),
forwards writes on the variant's write characteristic to a `JiecangModel`, and runs one task that
steps the model on the injected clock, `step_s` of clock time at a time, delivering each report
frame as one notification. When the box rests (`model.active` is False) the task waits for the
next write or `poke()` instead of spinning, and then hands the model the whole time that passed
(the box falls asleep meanwhile). `drop()` simulates a lost link; `split` and `merge` cut or join
notifications as a radio may (the link must read them whole either way).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from deskctl.clocks.clock import Clock
from deskctl.core.jiecang import VARIANTS, Variant, uuid16
from deskctl.errors import LinkError
from deskctl.sim.jiecang_model import JiecangModel

__all__ = ["CONFIG_CHARS", "ModelPipeGatt"]

# The older Uplift adapter's (FF12) other characteristics: pair code, baud rate, reset.
CONFIG_CHARS = (uuid16(0xFF03), uuid16(0xFF04), uuid16(0xFF05))


def served(variant: Variant) -> dict[str, list[str]]:
    """The GATT database an adapter of `variant` serves (service UUID to characteristics)."""
    chars = [variant.write, variant.notify]
    if variant.name == "FF12":
        chars += CONFIG_CHARS
    return {variant.service: chars}


class ModelPipeGatt:
    """A byte pipe whose far end is a `JiecangModel` stepped on `clock`."""

    def __init__(
        self,
        model: JiecangModel,
        clock: Clock,
        *,
        variant: Variant = VARIANTS[0],
        step_s: float = 0.05,
    ) -> None:
        self.model = model
        self.clock = clock
        self.variant = variant
        self.step_s = step_s
        self.split = False  # cut each frame into two notifications
        self.merge = False  # join each step's frames into one notification
        self.rejected: list[tuple[str, bytes]] = []  # writes to a characteristic that is no pipe
        self._connected = False
        self._on_disconnect: Callable[[], None] | None = None
        self._subscribers: list[Callable[[bytes], None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_s: float | None = None  # the clock time the box was stepped to

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        self._on_disconnect = on_disconnect
        self._connected = True
        if self._last_s is None:
            self._last_s = self.clock.monotonic()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="sim-jiecang-motor")

    async def disconnect(self) -> None:
        self._connected = False
        self._on_disconnect = None
        self._subscribers.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _check(self) -> None:
        if not self._connected:
            raise LinkError("the simulated Jiecang desk is not connected")

    def services(self) -> dict[str, list[str]]:
        self._check()
        return served(self.variant)

    async def write(self, uuid: str, data: bytes, *, response: bool = False) -> None:
        self._check()
        if uuid.lower() != self.variant.write:
            self.rejected.append((uuid.lower(), bytes(data)))
            raise LinkError(f"the simulated Jiecang adapter has no writable pipe at {uuid}")
        self._catch_up()  # the box takes the command now, not when it last moved
        self.model.write(bytes(data))
        self.poke()

    async def subscribe(self, uuid: str, callback: Callable[[bytes], None]) -> None:
        self._check()
        if uuid.lower() != self.variant.notify:
            raise LinkError(f"the simulated Jiecang adapter notifies nothing at {uuid}")
        self._subscribers.append(callback)

    def poke(self) -> None:
        """Wake the motor task (after a write, or after a test pressed the paddle)."""
        self._wake.set()

    def drop(self) -> None:
        """Fault: the link drops. The box finishes what it was told, unseen."""
        callback = self._on_disconnect
        self._connected = False
        self._on_disconnect = None
        self._subscribers.clear()
        if callback is not None:
            callback()

    def _cut(self, frames: list[bytes]) -> list[bytes]:
        if self.merge and frames:
            frames = [b"".join(frames)]
        if self.split:
            frames = [part for f in frames for part in (f[: len(f) // 2], f[len(f) // 2 :]) if part]
        return frames

    def _catch_up(self) -> None:
        """Bring the box to the clock's now, delivering what it sent meanwhile."""
        now_s = self.clock.monotonic()
        last_s = now_s if self._last_s is None else self._last_s
        frames = self.model.advance(max(0.0, now_s - last_s))
        self._last_s = max(last_s, now_s)
        if not self._connected:
            return
        for data in self._cut(frames):
            for callback in list(self._subscribers):
                callback(data)

    async def _run(self) -> None:
        while True:
            if not self.model.active:
                self._wake.clear()
                await self._wake.wait()
            await self.clock.sleep(self.step_s)
            self._catch_up()
