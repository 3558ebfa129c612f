"""A bleak backend over Bumble's virtual radio, so the real `BleakClient` talks to emulated desks.

Design: a `BumbleRadio` is one in-process radio: Bumble's `LocalLink`, on which every party gets
its own virtual controller. Desks (`deskctl.sim.ble_emulator.EmulatedDesk`) join it as
peripherals; the host's side is one shared central, "the adapter", powered on when first used.
The radio hands out bleak backend classes bound to it: `radio.client_backend` (a
`BaseBleakClient`) and `radio.scanner_backend` (a `BaseBleakScanner`), to be given to
`BleakClient(..., backend=...)` and `BleakScanner(..., backend=...)`. Nothing leaves the process
and nothing needs a clock of its own, so everything runs on `run_virtual` as well as on a real loop.

The backends behave as bleak's BlueZ backend does where it matters to a desk link:
- scanning reports each advertiser once per advertisement with its name, 128-bit service UUIDs
  (lowercase) and RSSI, filtered by `service_uuids`; addresses are `AA:BB:CC:DD:EE:FF` strings;
- connecting times out with `TimeoutError` after `timeout`; services are discovered on connect;
- GATT error responses raise `BleakGATTProtocolError` with the ATT error code; an operation cut
  short by a lost link, or tried while disconnected, raises `BleakError`;
- `disconnected_callback` is called once per connection when it ends, whoever ended it.
The virtual radio keeps no bonds: `pair()` runs Bumble's pairing (a refusal raises `BleakError` and
ends the connection), `unpair()` has nothing to forget.

Radio timing: Bumble's link delivers at once. `BumbleRadio(radio=Radio())` puts a real
connection's timing between each client and its desk (`deskctl.sim.physics`): a write or a read
waits for the connection's next event (a read's answer one interval later), a notification is
delivered at the first event after it came, in order, and one on a characteristic that cannot be
written (the height report) is lost now and then. The default, `NO_RADIO`, delivers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device
from bumble.gatt_client import CharacteristicProxy
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from deskctl.sim.physics import NO_RADIO, Radio, RadioLink, seeded

__all__ = ["BumbleBleakClient", "BumbleBleakScanner", "BumbleRadio", "bleak_uuid"]

T = TypeVar("T")

_ADDRESS_PREFIX = "C0:DE:5C:00"  # static random addresses: the two top bits set
_GAP_DEVICE_NAME = "00002a00-0000-1000-8000-00805f9b34fb"


def bleak_uuid(uuid: core.UUID) -> str:
    """A Bumble UUID as bleak spells it: 128 bits, lowercase, with dashes."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def _address_text(address: hci.Address) -> str:
    return str(address.to_string(with_type_qualifier=False))


class _Controller(Controller):
    """Bumble's virtual controller, with an LE Create Connection Cancel that cancels.

    Bumble's own answers "success" and keeps the attempt pending, so a timed-out connect would
    still complete whenever the desk comes back; a real controller ends the attempt and reports
    it with an LE Connection Complete event carrying Unknown Connection Identifier.
    """

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        ended = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # after the Command Complete that the caller sends once this returns
        asyncio.get_running_loop().call_soon(self.send_hci_packet, ended)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class BumbleRadio:
    """A virtual radio: a Bumble `LocalLink` with the host's adapter (a central) on it."""

    def __init__(self, *, radio: Radio = NO_RADIO, rng: random.Random | None = None) -> None:
        self.timing = radio
        self.rng = rng if rng is not None else seeded(0)
        self.intervals_s: list[float] = []  # each connection's interval, in order
        new_link: Callable[[], LocalLink] = LocalLink  # LocalLink.__init__ carries no types
        self.link = new_link()
        self._next_host = 0
        self._adapter: Device | None = None
        self._adapter_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._scanners = 0
        self._devices: list[tuple[Device, _Controller]] = []
        self.client_backend: type[BumbleBleakClient] = type(
            "BumbleBleakClient", (BumbleBleakClient,), {"radio": self}
        )
        self.scanner_backend: type[BumbleBleakScanner] = type(
            "BumbleBleakScanner", (BumbleBleakScanner,), {"radio": self}
        )

    def new_address(self) -> str:
        """A fresh static random address on this radio, e.g. `C0:DE:5C:00:00:01`."""
        self._next_host += 1
        return f"{_ADDRESS_PREFIX}:{self._next_host >> 8:02X}:{self._next_host & 0xFF:02X}"

    def add_device(self, name: str, address: str | None = None) -> Device:
        """A Bumble device with its own controller on this radio (call it inside a running loop)."""
        address = address or self.new_address()
        controller = _Controller(name, link=self.link)
        device = Device(
            name=name,
            address=hci.Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self._devices.append((device, controller))
        return device

    async def remove_device(self, device: Device) -> None:
        """Take a device off the radio: power it off and unplug its controller from the link."""
        for entry in list(self._devices):
            if entry[0] is device:
                self._devices.remove(entry)
                with contextlib.suppress(core.BaseBumbleError):
                    await device.power_off()
                self.link.remove_controller(entry[1])

    async def adapter(self) -> Device:
        """The host's own adapter: one central shared by every client and scanner."""
        async with self._adapter_lock:
            if self._adapter is None:
                adapter = self.add_device("deskctl")
                await adapter.power_on()
                self._adapter = adapter
            return self._adapter

    async def connect(self, address: hci.Address, timeout_s: float) -> Connection:
        """Connect the adapter to `address` (one connection attempt at a time, as with BlueZ)."""
        adapter = await self.adapter()
        async with self._connect_lock:
            try:
                connection: Connection = await adapter.connect(address, timeout=timeout_s)
            except core.TimeoutError:
                raise TimeoutError(f"no answer from {_address_text(address)}") from None
            except asyncio.CancelledError:
                # Bumble only cancels the attempt on its own timeout, not when its caller is
                with contextlib.suppress(core.BaseBumbleError):
                    await adapter.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
                raise
            except core.BaseBumbleError as exc:
                raise BleakError(f"could not connect to {_address_text(address)}: {exc}") from exc
            return connection

    async def start_scanning(self, *, active: bool) -> Device:
        """Scan on the adapter (shared: the first scanner's mode holds until the last stops)."""
        adapter = await self.adapter()
        self._scanners += 1
        if self._scanners == 1:
            await adapter.start_scanning(active=active)
        return adapter

    async def stop_scanning(self) -> None:
        self._scanners = max(0, self._scanners - 1)
        if self._scanners == 0 and self._adapter is not None and self._adapter.is_scanning:
            await self._adapter.stop_scanning()

    async def close(self) -> None:
        """Disconnect and remove everything on the radio (emulated desks should stop first)."""
        adapter, self._adapter = self._adapter, None
        self._scanners = 0
        if adapter is not None:
            for connection in list(adapter.connections.values()):
                with contextlib.suppress(core.BaseBumbleError):
                    await connection.disconnect()
        for device, _ in list(self._devices):
            await self.remove_device(device)


class BumbleBleakScanner(BaseBleakScanner):
    """`BaseBleakScanner` on a `BumbleRadio`'s adapter; use `radio.scanner_backend`."""

    radio: ClassVar[BumbleRadio]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"
        self._adapter: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        adapter = await self.radio.start_scanning(active=self._active)
        adapter.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._adapter = adapter

    async def stop(self) -> None:
        adapter, self._adapter = self._adapter, None
        if adapter is not None:
            adapter.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            await self.radio.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data: AdvertisingData = advertisement.data
        service_uuids: list[str] = []
        for ad_type in (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            for uuids in data.get_all(ad_type):
                for uuid in uuids:
                    text = bleak_uuid(uuid)
                    if text not in service_uuids:  # a scan response may repeat the advertisement
                        service_uuids.append(text)
        if not self.is_allowed_uuid(service_uuids):
            return
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        manufacturer_data = {
            int(company): bytes(payload)
            for company, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA)
        }
        service_data = {
            bleak_uuid(uuid): bytes(payload)
            for uuid, payload in data.get_all(AdvertisingData.SERVICE_DATA_128_BIT_UUID)
            + data.get_all(AdvertisingData.SERVICE_DATA_16_BIT_UUID)
        }
        tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
        local_name = str(name) if name is not None else None
        adv = AdvertisementData(
            local_name=local_name,
            manufacturer_data=manufacturer_data,
            service_data=service_data,
            service_uuids=service_uuids,
            tx_power=int(tx_power) if isinstance(tx_power, int) else None,
            rssi=int(advertisement.rssi),
            platform_data=(advertisement,),
        )
        address = _address_text(advertisement.address)
        device = self.create_or_update_device(
            address, address, local_name, advertisement.address, adv
        )
        self.call_detection_callbacks(device, adv)


class BumbleBleakClient(BaseBleakClient):
    """`BaseBleakClient` on a `BumbleRadio`'s adapter; use `radio.client_backend`."""

    radio: ClassVar[BumbleRadio]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = (
            address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._peer = details if isinstance(details, hci.Address) else hci.Address(self.address)
        self._connection: Connection | None = None
        self._name: str | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._air = _Air(RadioLink(self.radio.timing, self.radio.rng))

    # -- connection ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        connection = await self.radio.connect(self._peer, self._timeout)
        self._connection = connection
        self._air = _Air(RadioLink(self.radio.timing, self.radio.rng, anchor_s=_now_s()))
        self.radio.intervals_s.append(self._air.timing.interval_s)
        connection.on(Connection.EVENT_DISCONNECTION, lambda reason: self._on_lost(connection))
        try:
            async with asyncio.timeout(self._timeout):
                if pair:
                    await self.pair()
                self.services = await self._discover(connection)
        except BaseException:
            with contextlib.suppress(BleakError, core.BaseBumbleError):
                await self.disconnect()
            raise

    async def _discover(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        collection = BleakGATTServiceCollection()
        for service in await self._gatt(client.discover_services()):
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for char in await self._gatt(client.discover_characteristics((), service)):
                await self._gatt(client.discover_descriptors(char))
                properties: list[CharacteristicPropertyName] = [
                    name for bit, name in CHARACTERISTIC_PROPERTIES.items() if char.properties & bit
                ]
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    bleak_uuid(char.uuid),
                    properties,
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in char.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, bleak_uuid(descriptor.type), bleak_char
                        )
                    )
        name_char = collection.get_characteristic(_GAP_DEVICE_NAME)
        if name_char is not None:
            raw = await self._gatt(client.read_value(name_char.handle))
            self._name = bytes(raw).decode("utf-8", errors="replace")
        return collection

    def _on_lost(self, connection: Connection) -> None:
        if self._connection is not connection:
            return
        self._connection = None
        self.services = None
        self._subscribers.clear()
        self._air.close()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(core.BaseBumbleError):  # already gone
            await connection.disconnect()
        self._on_lost(connection)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pair (Just Works); a refusal ends the connection, as BlueZ's failed pairing does."""
        connection = self._live()
        try:
            await self._gatt(connection.pair())
        except BleakError as exc:
            await self.disconnect()
            raise BleakError(f"Pairing failed: {exc}") from exc

    async def unpair(self) -> None:
        """The virtual radio keeps no bonds, so there is nothing to forget."""

    # -- GATT ---------------------------------------------------------------------------------
    def _live(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    async def _gatt(self, operation: Coroutine[Any, Any, T]) -> T:
        """Run a Bumble GATT operation; its errors become bleak's."""
        connection = self._connection
        if connection is None:
            operation.close()
            raise BleakError("Not connected")
        try:
            return await operation
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except core.TimeoutError as exc:
            raise TimeoutError("the GATT request got no answer") from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            lost = self._connection is not connection
            if lost and (task is None or task.cancelling() == 0):
                raise BleakError("Disconnected during the GATT operation") from None
            raise
        except core.BaseBumbleError as exc:
            raise BleakError(str(exc)) from exc

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._air.next_event()
        value = bytearray(await self._gatt(self._live().gatt_client.read_value(proxy.handle)))
        await self._air.answer()
        return value

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._gatt(self._live().gatt_client.read_value(descriptor.handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        await self._air.next_event()
        client = self._live().gatt_client
        await self._gatt(
            client.write_value(characteristic.handle, bytes(data), with_response=response)
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        client = self._live().gatt_client
        await self._gatt(client.write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj

        losable = "write" not in characteristic.properties  # a report, not an answer

        def deliver(value: bytes) -> None:
            self._air.send(lambda: callback(bytearray(value)), losable=losable)

        client = self._live().gatt_client
        await self._gatt(client.subscribe(proxy, deliver))
        self._subscribers[characteristic.handle] = deliver

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        deliver = self._subscribers.pop(characteristic.handle, None)
        client = self._live().gatt_client
        await self._gatt(client.unsubscribe(proxy, deliver))


def _now_s() -> float:
    return asyncio.get_running_loop().time()


class _Air:
    """One connection's timing on the client's side: connection events, notifications in order."""

    def __init__(self, timing: RadioLink) -> None:
        self.timing = timing
        self._queue: deque[tuple[float, Callable[[], None]]] = deque()
        self._task: asyncio.Task[None] | None = None

    async def next_event(self) -> None:
        if self.timing.interval_s > 0:
            now_s = _now_s()
            await asyncio.sleep(max(self.timing.next_event_s(now_s) - now_s, 0.0))

    async def answer(self) -> None:
        if self.timing.interval_s > 0:
            await asyncio.sleep(self.timing.interval_s)

    def send(self, deliver: Callable[[], None], *, losable: bool) -> None:
        if self.timing.interval_s <= 0 and self.timing.radio.loss <= 0:
            deliver()
            return
        if losable and self.timing.lost():
            return
        tail_s = self._queue[-1][0] if self._queue else 0.0
        self._queue.append((max(self.timing.next_event_s(_now_s()), tail_s), deliver))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            at_s, deliver = self._queue[0]
            wait_s = at_s - _now_s()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            self._queue.popleft()
            deliver()

    def close(self) -> None:
        self._queue.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None
