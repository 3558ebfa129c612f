"""An emulated LINAK desk on Bumble: a BLE peripheral with the real services, bytes and motor.

Design: `EmulatedDesk` is one Bumble device (with its own virtual controller) on a `BumbleRadio`.
Its GATT server carries the LINAK services of reference/PROTOCOL.md with the properties a real
desk serves (bleak picks the write type from them when a client does not say); reads and writes go
to a pure `DeskModel` (`deskctl.sim.desk_model`), which holds the controller's state and motor:
    99fa0001 control        0002 COMMAND (write, write without response: 0x0c)
                            0003 ERROR (read, notify: 0x12)
    99fa0010 DPG            0011 DPG (read, write, write without response, notify: 0x1e)
    99fa0020 reference out  0021 HEIGHT_SPEED (read, notify) 0029 MASK, 002a DETECT_MASK (read)
    99fa0030 reference in   0031 REFERENCE_INPUT (write, write without response: 0x0c)
`received` logs each write that reached the desk as `(char, with_response)`, so a test can see
which kind of write a client sent.
While no central is connected it advertises the control service's 128-bit UUID and its name
("Desk 1234") every 20 ms, like a real desk that takes one connection at a time; after a
disconnection it advertises again. (Bumble's virtual controller answers a scan request with the
advertisement itself, so the name has to fit in the advertisement; Flags are left out to keep it
within the 31 bytes of a legacy advertisement.)

Time: one task steps the model on the injected `Clock`, `step_s` at a time, and notifies the
model's reports to subscribed centrals. When the model is at rest (`model.active` is False) the
task waits for the next write instead of spinning, so an idle desk costs nothing, also on virtual
time. A write's immediate answers (DPG) are notified at once.

Fault switches: `drop_link(away_s=...)` cuts every connection as a lost radio link would (and
keeps the desk out of reach for `away_s`); `notifying = False` silences height reports;
`refuse_writes = True` answers writes with the GATT error Write Not Permitted (writes without
response have no answer: they are dropped); `collision_mm` puts an obstacle at a height; DPG1C
mode is a model built with `needs_wake_up=True`; `pairable = False` refuses pairing, as a desk
whose Bluetooth button was not held. `press()` is a hand on the desk's own buttons; `at_rest()`
waits until the motor has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, Self

from bumble import att, core, gatt, hci
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.pairing import PairingConfig, PairingDelegate

from deskctl.clocks.clock import Clock
from deskctl.core.linak import (
    SERVICE_CONTROL,
    SERVICE_DPG,
    SERVICE_REFERENCE_INPUT,
    SERVICE_REFERENCE_OUTPUT,
    Char,
)
from deskctl.errors import LinkError, ProtocolError
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel

__all__ = ["ADVERTISING_INTERVAL_MS", "EmulatedDesk"]

ADVERTISING_INTERVAL_MS = 20.0
_LEGACY_ADVERTISEMENT_BYTES = 31
# What 0029/002a hold is not documented; the emulated desk serves one byte so they can be read.
_MASK_VALUE = b"\x01"

_P = gatt.Characteristic.Properties
_READ = gatt.Characteristic.READABLE
_WRITE = gatt.Characteristic.WRITEABLE
_WRITES = _P.WRITE | _P.WRITE_WITHOUT_RESPONSE
# The properties a real IDÅSEN serves (BlueZ GATT dumps): 0x0c, 0x12, 0x1e, 0x12, 0x02, 0x02, 0x0c.
_CHAR_SHAPES: dict[Char, tuple[gatt.Characteristic.Properties, att.Attribute.Permissions]] = {
    Char.COMMAND: (_WRITES, _WRITE),
    Char.ERROR: (_P.READ | _P.NOTIFY, _READ),
    Char.DPG: (_P.READ | _WRITES | _P.NOTIFY, _READ | _WRITE),
    Char.HEIGHT_SPEED: (_P.READ | _P.NOTIFY, _READ),
    Char.MASK: (_P.READ, _READ),
    Char.DETECT_MASK: (_P.READ, _READ),
    Char.REFERENCE_INPUT: (_WRITES, _WRITE),
}
_SERVICES = (SERVICE_CONTROL, SERVICE_DPG, SERVICE_REFERENCE_OUTPUT, SERVICE_REFERENCE_INPUT)


def _advertising_data(name: str) -> bytes:
    """The advertisement: the control service's 128-bit UUID and the name (shortened to fit)."""
    uuids = (
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        core.UUID(SERVICE_CONTROL).to_bytes(),
    )
    room = _LEGACY_ADVERTISEMENT_BYTES - (2 + len(uuids[1])) - 2
    encoded = name.encode("utf-8")
    name_type = AdvertisingData.COMPLETE_LOCAL_NAME
    if len(encoded) > room:
        encoded = encoded[:room].decode("utf-8", errors="ignore").encode("utf-8")
        name_type = AdvertisingData.SHORTENED_LOCAL_NAME
    return bytes(AdvertisingData([uuids, (name_type, encoded)]))


class _PairingButton(PairingDelegate):
    """The desk's Bluetooth button: pairing succeeds only while the desk is `pairable`."""

    def __init__(self, desk: EmulatedDesk) -> None:
        super().__init__()
        self._desk = desk

    async def accept(self) -> bool:
        return self._desk.pairable


class EmulatedDesk:
    """A LINAK desk on a virtual radio; `async with` it, or `start()` and `stop()` it."""

    def __init__(
        self,
        radio: BumbleRadio,
        model: DeskModel | None = None,
        *,
        name: str = "Desk 1234",
        address: str | None = None,
        clock: Clock | None = None,
        step_s: float = 0.05,
    ) -> None:
        self.radio = radio
        self.model = model if model is not None else DeskModel()
        self.name = name
        self.address = address or radio.new_address()
        self.clock = clock or Clock()
        self.step_s = step_s
        self._device: Device | None = None
        self._attributes: dict[Char, gatt.Characteristic[bytes]] = {}
        self._by_handle: dict[int, Char] = {}
        self._write_kinds: dict[Char, deque[bool]] = {char: deque() for char in Char}
        self.received: list[tuple[Char, bool]] = []
        self._connections: list[Connection] = []
        self._wake = asyncio.Event()
        self._resting = asyncio.Event()
        self._motor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reachable = True
        self._return: asyncio.Task[None] | None = None
        self._advertising = asyncio.Lock()
        self._stopping = False
        self.pairable = True

    # -- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Power on, serve the LINAK services, advertise, and start the motor."""
        if self._device is not None:
            return
        device = self.radio.add_device(self.name, self.address)
        device.add_services(self._services())
        self._by_handle = {attribute.handle: char for char, attribute in self._attributes.items()}
        self._watch_write_kinds(device)
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        device.pairing_config_factory = lambda connection: PairingConfig(
            delegate=_PairingButton(self)
        )
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
        async with self._advertising:
            pass  # an advertisement being set up finishes: a command cut short is answered late
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

    async def at_rest(self) -> None:
        """Wait until the motor has nothing left to do (no motion, no target, no report due)."""
        while self.model.active or self._wake.is_set() or not self._resting.is_set():
            self._wake.set()  # let the motor task look at the model
            self._resting.clear()
            await self._resting.wait()

    # -- fault switches -----------------------------------------------------------------------
    async def drop_link(self, *, away_s: float = 0.0) -> None:
        """Cut every connection as a lost radio link would; advertise again after `away_s`."""
        self._reachable = False
        if self._return is not None:
            self._return.cancel()
        for connection in list(self._connections):
            with contextlib.suppress(core.BaseBumbleError):
                await connection.disconnect(reason=hci.HCI_CONNECTION_TIMEOUT_ERROR)
        self._return = self._spawn(self._come_back(away_s))

    @property
    def notifying(self) -> bool:
        return self.model.notifying

    @notifying.setter
    def notifying(self, on: bool) -> None:
        self.model.notifying = on

    @property
    def refuse_writes(self) -> bool:
        return self.model.refuse_writes

    @refuse_writes.setter
    def refuse_writes(self, on: bool) -> None:
        self.model.refuse_writes = on

    @property
    def collision_mm(self) -> int | None:
        return self.model.collision_mm

    @collision_mm.setter
    def collision_mm(self, height_mm: int | None) -> None:
        self.model.collision_mm = height_mm

    def press(self, direction: int) -> None:
        """A hand on the desk's own buttons: +1 up, -1 down, 0 release."""
        self.model.press(direction)
        self._wake.set()

    # -- GATT server --------------------------------------------------------------------------
    def _services(self) -> list[gatt.Service]:
        by_service: dict[str, list[gatt.Characteristic[bytes]]] = {uuid: [] for uuid in _SERVICES}
        for char, (properties, permissions) in _CHAR_SHAPES.items():
            value = gatt.CharacteristicValue[bytes](
                read=lambda connection, char=char: self._on_read(char),
                write=lambda connection, data, char=char: self._on_write(char, data),
            )
            attribute = gatt.Characteristic[bytes](char.value, properties, permissions, value)
            self._attributes[char] = attribute
            by_service[char.service].append(attribute)
        return [gatt.Service(uuid, chars) for uuid, chars in by_service.items()]

    def _watch_write_kinds(self, device: Device) -> None:
        """Note whether each write is a request (with response) or a command (without)."""
        server = device.gatt_server
        dispatch = server.on_gatt_pdu

        def on_gatt_pdu(bearer: att.Bearer, att_pdu: att.ATT_PDU) -> None:
            if isinstance(att_pdu, att.ATT_Write_Request | att.ATT_Write_Command):
                char = self._by_handle.get(att_pdu.attribute_handle)
                size = len(att_pdu.attribute_value)
                if char is not None and size <= gatt.GATT_MAX_ATTRIBUTE_VALUE_SIZE:
                    self._write_kinds[char].append(isinstance(att_pdu, att.ATT_Write_Request))
            dispatch(bearer, att_pdu)

        server.on_gatt_pdu = on_gatt_pdu  # type: ignore[method-assign]

    def _on_read(self, char: Char) -> bytes:
        if char in (Char.MASK, Char.DETECT_MASK):
            return _MASK_VALUE
        try:
            return self.model.read(char)
        except ProtocolError:
            raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED) from None

    async def _on_write(self, char: Char, data: bytes) -> None:
        # Bumble hands writes over in the order they arrived, so this write's kind is the first.
        kinds = self._write_kinds[char]
        with_response = kinds.popleft() if kinds else True
        try:
            self.model.write(char, bytes(data))
        except LinkError:
            if not with_response:
                return  # a write without response has no way to say no
            raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED) from None
        except ProtocolError:
            if not with_response:
                return
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED) from None
        self.received.append((char, with_response))
        self._wake.set()
        await self._notify(self.model.advance(0.0))  # answers due at once (DPG)

    async def _notify(self, notifications: Sequence[tuple[Char, bytes]]) -> None:
        device = self._device
        if device is None or not self._connections:
            return
        for char, data in notifications:
            with contextlib.suppress(core.BaseBumbleError):
                await device.notify_subscribers(self._attributes[char], data)

    # -- radio --------------------------------------------------------------------------------
    async def _advertise(self) -> None:
        async with self._advertising:  # Bumble's start_advertising must not overlap itself
            device = self._device
            if device is None or self._stopping or not self._reachable or self._connections:
                return
            if device.is_advertising:
                return
            await device.start_advertising(
                advertising_data=_advertising_data(self.name),
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
    async def _run_motor(self) -> None:
        last_s = self.clock.monotonic()
        while True:
            if not self.model.active:
                self._wake.clear()
                self._resting.set()
                await self._wake.wait()
                self._resting.clear()
                last_s = self.clock.monotonic()
            await self.clock.sleep(self.step_s)
            now_s = self.clock.monotonic()
            notifications = self.model.advance(now_s - last_s)
            last_s = now_s
            await self._notify(notifications)
