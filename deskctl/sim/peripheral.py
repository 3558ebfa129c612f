"""The plumbing of an emulated BLE desk on Bumble's virtual radio: power, advertising, centrals.

Design: `Peripheral` is one Bumble device on a `BumbleRadio` that serves what a subclass gives
(`_services()`), advertises `_advertisement()` every `ADVERTISING_INTERVAL_MS` while no central
is connected (one connection at a time, as desks take them), advertises again after a
disconnection, and can drop its links as a lost radio would (`drop_link(away_s=...)`). One task
steps the subclass's box on the injected `Clock` (`_step(dt_s)`, `_active()`); when the box rests
it waits for `wake()` instead of spinning, so an idle desk costs nothing, also on virtual time,
and then hands the box the whole time that passed (`_elapsed()`; a write handler steps the box to
now before it takes a command, so a command lands at its own time).
`notify(attribute, data)` sends one notification to the subscribed centrals.

It is the same plumbing as the LINAK `EmulatedDesk` (`sim/ble_emulator.py`), which predates it and
keeps its own copy for now.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self

from bumble import core, gatt, hci
from bumble.device import Connection, Device

from deskctl.clocks.clock import Clock
from deskctl.sim.bleak_bumble import BumbleRadio

__all__ = ["ADVERTISING_INTERVAL_MS", "Peripheral"]

ADVERTISING_INTERVAL_MS = 20.0


class Peripheral(abc.ABC):
    """An emulated BLE desk's radio side; `async with` it, or `start()` and `stop()` it."""

    def __init__(
        self,
        radio: BumbleRadio,
        *,
        name: str,
        address: str | None = None,
        clock: Clock | None = None,
        step_s: float = 0.05,
    ) -> None:
        self.radio = radio
        self.name = name
        self.address = address or radio.new_address()
        self.clock = clock or Clock()
        self.step_s = step_s
        self._device: Device | None = None
        self._connections: list[Connection] = []
        self._wake = asyncio.Event()
        self._resting = asyncio.Event()
        self._motor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reachable = True
        self._return: asyncio.Task[None] | None = None
        self._advertising = asyncio.Lock()
        self._stopping = False
        self._last_s = self.clock.monotonic()

    # -- what a desk serves and does ------------------------------------------------------------
    @abc.abstractmethod
    def _services(self) -> list[gatt.Service]: ...

    @abc.abstractmethod
    def _advertisement(self) -> bytes: ...

    @abc.abstractmethod
    def _active(self) -> bool:
        """Whether anything will change with time (else the motor task waits for `wake()`)."""

    @abc.abstractmethod
    async def _step(self, dt_s: float) -> None:
        """Let `dt_s` seconds pass for the box, and notify what it sent."""

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Power on, serve, advertise, and start the motor."""
        if self._device is not None:
            return
        device = self.radio.add_device(self.name, self.address)
        device.add_services(self._services())
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        self._device = device
        self._stopping = False
        await device.power_on()
        await self._advertise()
        self._motor = asyncio.create_task(self._run_motor(), name=f"{self.name}-motor")

    async def stop(self) -> None:
        """Stop the motor, drop every central and leave the radio. Safe to call twice."""
        device, self._device = self._device, None
        if device is None:
            return
        self._stopping = True
        tasks = [t for t in (self._motor, *self._tasks) if t is not None]
        self._motor = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for connection in list(self._connections):
            with contextlib.suppress(core.BaseBumbleError):
                await connection.disconnect()
        await self.radio.remove_device(device)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def connected(self) -> bool:
        """True while a central is connected."""
        return bool(self._connections)

    def wake(self) -> None:
        """Let the motor task look at the box (after a write, or a hand on the paddle)."""
        self._wake.set()

    async def at_rest(self) -> None:
        """Wait until the box has nothing left to do."""
        while self._active() or self._wake.is_set() or not self._resting.is_set():
            self._wake.set()
            self._resting.clear()
            await self._resting.wait()

    async def drop_link(self, *, away_s: float = 0.0) -> None:
        """Cut every connection as a lost radio link would; advertise again after `away_s`."""
        self._reachable = False
        if self._return is not None:
            self._return.cancel()
        for connection in list(self._connections):
            with contextlib.suppress(core.BaseBumbleError):
                await connection.disconnect(reason=hci.HCI_CONNECTION_TIMEOUT_ERROR)
        self._return = self._spawn(self._come_back(away_s))

    async def notify(self, attribute: gatt.Characteristic[bytes], data: bytes) -> None:
        device = self._device
        if device is None or not self._connections:
            return
        with contextlib.suppress(core.BaseBumbleError):
            await device.notify_subscribers(attribute, data)

    # -- radio --------------------------------------------------------------------------------
    async def _advertise(self) -> None:
        async with self._advertising:  # Bumble's start_advertising must not overlap itself
            device = self._device
            if device is None or self._stopping or not self._reachable or self._connections:
                return
            if device.is_advertising:
                return
            await device.start_advertising(
                advertising_data=self._advertisement(),
                advertising_interval_min=ADVERTISING_INTERVAL_MS,
                advertising_interval_max=ADVERTISING_INTERVAL_MS,
            )

    def _on_connection(self, connection: Connection) -> None:
        self._connections.append(connection)
        connection.on(
            Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection)
        )

    def _on_disconnection(self, connection: Connection) -> None:
        if connection in self._connections:
            self._connections.remove(connection)
        self._spawn(self._advertise())

    async def _come_back(self, away_s: float) -> None:
        await self.clock.sleep(away_s)
        self._reachable = True
        await self._advertise()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- the motor ----------------------------------------------------------------------------
    def _elapsed(self) -> float:
        """Clock seconds since the box was last stepped (it is stepped to now by the caller)."""
        now_s = self.clock.monotonic()
        dt_s, self._last_s = max(0.0, now_s - self._last_s), max(self._last_s, now_s)
        return dt_s

    async def _run_motor(self) -> None:
        self._last_s = self.clock.monotonic()
        while True:
            if not self._active():
                self._wake.clear()
                self._resting.set()
                await self._wake.wait()
                self._resting.clear()
            await self.clock.sleep(self.step_s)
            await self._step(self._elapsed())
