"""Desks behind an ESPHome Bluetooth proxy: bleak backends whose radio is a proxy's native API.

Design: a Home Assistant household's desk may be out of this computer's Bluetooth range but in
range of an ESPHome Bluetooth proxy (an ESP32 relaying BLE over Wi-Fi). deskctl reaches it the
way Home Assistant does, with aioesphomeapi (the native API: plaintext, or noise-encrypted with
the device's API encryption key) and bleak-esphome's `ESPHomeClient` (bleak's client backend over
that API). Everything above bleak stays as it is: `proxy_backends(target)` returns a client and a
scanner backend bound to one proxy, given to `BleakGattClient`/`BleakPipeGatt`/`FamilyLink` and
`scan` exactly as the Bumble backends are (`deskctl.sim.bleak_bumble`), so the LINAK and Jiecang
links, their safety rules and their sentences are the local adapter's.

Home Assistant wires bleak-esphome into its process-wide Bluetooth manager (habluetooth), which
patches bleak for every caller; deskctl does not. Each connection opens its own API session
(`ProxySession`): hello, device info (the proxy must offer active connections), the
connection-slot subscription (the proxy's free and total slots), and, when the settings do not
give the desk's address type, the raw advertisements until the desk is heard (a connect request
must name it). Then `ESPHomeClient` connects through the proxy; closing the link closes the
session. A session that drops (the proxy rebooted, Wi-Fi lost) ends the BLE connection through
bleak's disconnected callback, and the link reconnects as over a local adapter. The scanner
backend subscribes to the proxy's raw advertisements and parses them (bluetooth-data-tools).

Errors are one sentence each (`ProxyError`, which `links.ble` says as it is): no device at the
address, a wrong or missing encryption key, encryption on one side only, a device that is no
Bluetooth proxy, a desk the proxy never heard, a proxy out of connection slots, and pairing
asked of a proxy too old to pair. A desk that refuses pairing through the proxy is said as over
a local adapter (hold its Bluetooth button).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from deskctl.links.ble import ExplainedError

if TYPE_CHECKING:
    from aioesphomeapi.api_pb2 import BluetoothLERawAdvertisementsResponse
    from aioesphomeapi.client import APIClient
    from bleak.args import SizedBuffer
    from bleak.backends.scanner import AdvertisementDataCallback
    from bleak_esphome.backend.client import ESPHomeClient, ESPHomeClientData

__all__ = ["ProxyError", "ProxySession", "ProxyTarget", "load_libraries", "proxy_backends"]

DEFAULT_PORT = 6053
_SLOTS_WAIT_S = 2.0  # a slot freed by another client within this is taken
_OPEN_TIMEOUT_S = 10.0
_ADDRESS_TYPES = {"public": 0, "random": 1}
_MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")


@dataclass(frozen=True, slots=True)
class ProxyTarget:
    """Which proxy: its host, API port, API encryption key (base64; None: plaintext), and the
    desk's address type if known ("public" or "random"; None: learnt from its advertisements)."""

    host: str
    port: int = DEFAULT_PORT
    key: str | None = None
    address_type: Literal["public", "random"] | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class ProxyError(BleakError, ExplainedError):
    """A proxy's failure, in one sentence a person can act on."""

    def __init__(self, sentence: str, *, retry: bool = False) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.retry = retry


def _api_failure(exc: BaseException, target: ProxyTarget) -> ProxyError:
    from aioesphomeapi.core import (
        EncryptionHelloAPIError,
        EncryptionPlaintextAPIError,
        InvalidEncryptionKeyAPIError,
        RequiresEncryptionAPIError,
        ResolveAPIError,
        TimeoutAPIError,
    )

    where = target.where
    if isinstance(exc, InvalidEncryptionKeyAPIError):
        return ProxyError(
            f"the Bluetooth proxy at {where} refused the encryption key: set key to the "
            "api: encryption: key from its ESPHome configuration"
        )
    if isinstance(exc, RequiresEncryptionAPIError):
        return ProxyError(
            f"the Bluetooth proxy at {where} uses encryption: set key to the api: encryption: "
            "key from its ESPHome configuration"
        )
    if isinstance(exc, (EncryptionPlaintextAPIError, EncryptionHelloAPIError)):
        return ProxyError(
            f"the Bluetooth proxy at {where} does not use encryption: remove the key from the "
            "settings (or turn on api encryption on the proxy)"
        )
    if isinstance(exc, ResolveAPIError):
        return ProxyError(
            f"the Bluetooth proxy's host name {target.host!r} does not resolve: check the "
            "host, or use its IP address"
        )
    if isinstance(exc, (TimeoutAPIError, TimeoutError)):
        return ProxyError(
            f"the Bluetooth proxy at {where} did not answer in time: is it powered and on the "
            "network?",
            retry=True,
        )
    return ProxyError(
        f"no ESPHome device answered at {where}: is the proxy powered and on the network, and "
        "is its API port right?",
        retry=True,
    )


class _Unscanned:
    """What `ESPHomeClient` asks of a scanner: the pause while it connects (nothing to pause)."""

    @contextlib.contextmanager
    def connecting(self) -> Iterator[None]:
        yield


class ProxySession:
    """One native-API session with a proxy: device info, connection slots, advertisements."""

    def __init__(self, target: ProxyTarget) -> None:
        self.target = target
        self.client: APIClient | None = None
        self.data: ESPHomeClientData | None = None
        self.source = ""
        self.name = target.host
        self._first_slots: asyncio.Future[None] | None = None

    async def open(self, *, slots: bool = True) -> None:
        """Connect, say hello, read the device info; with `slots`, wait for the first report of
        the proxy's connection slots. A failure is a `ProxyError`."""
        from aioesphomeapi.client import APIClient
        from aioesphomeapi.core import APIConnectionError
        from aioesphomeapi.model import APIVersion, BluetoothProxyFeature
        from bleak_esphome.backend.client import ESPHomeClientData
        from bleak_esphome.backend.device import ESPHomeBluetoothDevice

        target = self.target
        client = APIClient(
            target.host,
            target.port,
            None,
            client_info="deskctl",
            noise_psk=target.key,
            provide_time=False,
        )
        try:
            async with asyncio.timeout(_OPEN_TIMEOUT_S):
                await client.connect(on_stop=self._stopped, login=False, log_errors=False)
                info = await client.device_info()
        except (APIConnectionError, TimeoutError, OSError) as exc:
            with contextlib.suppress(APIConnectionError, OSError):
                await client.disconnect(force=True)
            raise _api_failure(exc, target) from None
        self.client = client
        version = client.api_version or APIVersion(1, 0)
        features = info.bluetooth_proxy_feature_flags_compat(version)
        self.source = info.bluetooth_mac_address or info.mac_address
        self.name = info.friendly_name or info.name or target.host
        if not features & BluetoothProxyFeature.RAW_ADVERTISEMENTS:
            await self.close()
            raise ProxyError(
                f"the ESPHome device at {target.where} ({self.name}) is no Bluetooth proxy deskctl "
                "can use: add bluetooth_proxy: active: true to its configuration (ESPHome "
                "2023.8 or newer)"
            )
        if slots and not features & BluetoothProxyFeature.ACTIVE_CONNECTIONS:
            await self.close()
            raise ProxyError(
                f"the ESPHome device at {target.where} ({self.name}) is not a Bluetooth proxy "
                "that connects to devices: set bluetooth_proxy: active: true in its "
                "configuration"
            )
        device = ESPHomeBluetoothDevice(info.name, self.source, available=True)
        self.data = ESPHomeClientData(
            bluetooth_device=device,
            client=client,
            device_info=info,
            api_version=version,
            title=self.name,
            scanner=_Unscanned(),  # type: ignore[arg-type]
        )
        if not slots:
            return
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._first_slots = first

        def on_slots(free: int, limit: int, allocated: list[int]) -> None:
            device.async_update_ble_connection_limits(free, limit, allocated)
            if not first.done():
                first.set_result(None)

        client.subscribe_bluetooth_connections_free(on_slots)
        try:
            async with asyncio.timeout(_OPEN_TIMEOUT_S):
                await first
        except TimeoutError:
            await self.close()
            raise ProxyError(
                f"the Bluetooth proxy at {target.where} did not report its connection slots: "
                "is its ESPHome version 2022.12 or newer?"
            ) from None

    def live_data(self) -> ESPHomeClientData:
        if self.data is None:
            raise ProxyError(
                f"the session with the Bluetooth proxy at {self.target.where} is closed"
            )
        return self.data

    def live_client(self) -> APIClient:
        if self.client is None:
            raise ProxyError(
                f"the session with the Bluetooth proxy at {self.target.where} is closed"
            )
        return self.client

    async def free_slot(self) -> None:
        """Return once a connection slot is free; a `ProxyError` if none frees in 2 s."""
        device = self.live_data().bluetooth_device
        if device.ble_connections_free:
            return
        try:
            await device.wait_for_ble_connections_free(_SLOTS_WAIT_S)
        except TimeoutError:
            raise ProxyError(
                f"the Bluetooth proxy {self.name} at {self.target.where} has no free connection "
                f"slot (all {device.ble_connections_limit} are in use by other devices or "
                "Home Assistant): free one, or raise the proxy's connection_slots, and try again"
            ) from None

    def cannot_pair(self) -> ProxyError:
        return ProxyError(
            f"the Bluetooth proxy {self.name} at {self.target.where} cannot pair with a desk (its "
            "ESPHome is older than 2024.3): install a newer ESPHome on it, or set pair = false if "
            "the desk does not need pairing"
        )

    async def address_type(self, address: str, timeout_s: float) -> int:
        """The desk's address type, from the settings or heard in its advertisements."""
        if self.target.address_type is not None:
            return _ADDRESS_TYPES[self.target.address_type]
        from bluetooth_data_tools import int_to_bluetooth_address

        heard: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_raw(raw: BluetoothLERawAdvertisementsResponse) -> None:
            for adv in raw.advertisements:
                if int_to_bluetooth_address(adv.address) == address and not heard.done():
                    heard.set_result(int(adv.address_type))

        unsubscribe = self.live_client().subscribe_bluetooth_le_raw_advertisements(on_raw)
        try:
            async with asyncio.timeout(timeout_s):
                return await heard
        except TimeoutError:
            raise ProxyError(
                f"the Bluetooth proxy {self.name} did not hear the desk at {address} "
                "advertising: is the desk on, in the proxy's range, and not connected to another "
                'device? (if Home Assistant holds the proxy\'s scan, set address_type = "public" '
                'or "random" for the desk)',
                retry=True,
            ) from None
        finally:
            with contextlib.suppress(Exception):
                unsubscribe()

    async def _stopped(self, expected: bool) -> None:
        """The API session ended: every BLE connection through it has ended with it."""
        data = self.data
        if data is None:
            return
        data.bluetooth_device.async_set_unavailable()
        for callback in list(data.disconnect_callbacks):
            callback()
        data.disconnect_callbacks.clear()

    async def close(self) -> None:
        from aioesphomeapi.core import APIConnectionError

        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(APIConnectionError, OSError, TimeoutError):
                await client.disconnect()


class ProxyBleakClient(BaseBleakClient):
    """bleak's client backend through a proxy (`ESPHomeClient` on a session of its own)."""

    target: ClassVar[ProxyTarget]

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
        self._device = (
            address_or_ble_device if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._session: ProxySession | None = None
        self._inner: ESPHomeClient | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self._device.name or self.address if self._device is not None else self.address

    @property
    def mtu_size(self) -> int:
        return self._inner.mtu_size if self._inner is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._inner is not None and self._inner.is_connected

    def _live(self) -> ESPHomeClient:
        if self._inner is None or not self._inner.is_connected:
            raise BleakError("Not connected")
        return self._inner

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        from bleak_esphome.backend.client import ESPHomeClient

        if self.is_connected:
            return
        if not _MAC.fullmatch(self.address):
            raise ProxyError(
                f"{self.address!r} is not a Bluetooth address (six pairs of hex digits, like "
                "C2:4B:1D:00:12:34): see `deskctl scan --proxy HOST`"
            )
        session = ProxySession(self.target)
        await session.open()
        try:
            details = self._device.details if self._device is not None else None
            if isinstance(details, dict) and "address_type" in details:
                address_type = int(details["address_type"])
            else:
                address_type = await session.address_type(self.address, self._timeout)
            await session.free_slot()
            device = BLEDevice(
                self.address,
                self._device.name if self._device is not None else None,
                {"source": session.source, "address_type": address_type},
            )
            inner = ESPHomeClient(
                device,
                client_data=session.live_data(),
                disconnected_callback=self._lost,
                timeout=self._timeout,
            )
            try:
                await inner.connect(pair)
            except NotImplementedError:  # bleak-esphome's word for a proxy that cannot pair
                raise session.cannot_pair() from None
        except BaseException:
            await session.close()
            raise
        self._session = session
        self._inner = inner
        self.services = inner.services

    def _lost(self) -> None:
        session, self._session = self._session, None
        if session is not None:  # closed beside us: this runs inside the API's own callbacks
            closing = asyncio.get_running_loop().create_task(session.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        inner, session = self._inner, self._session
        self._session = None
        try:
            if inner is not None and inner.is_connected:
                await inner.disconnect()
        finally:
            if session is not None:
                await session.close()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        try:
            await self._live().pair(*args, **kwargs)
        except NotImplementedError:
            session = self._session or ProxySession(self.target)
            raise session.cannot_pair() from None

    async def unpair(self) -> None:
        await self._live().unpair()

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        return await self._live().read_gatt_char(characteristic, **kwargs)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        return await self._live().read_gatt_descriptor(descriptor, **kwargs)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        await self._live().write_gatt_char(characteristic, bytes(data), response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        await self._live().write_gatt_descriptor(descriptor, bytes(data))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        await self._live().start_notify(characteristic, callback, **kwargs)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        await self._live().stop_notify(characteristic)


class ProxyBleakScanner(BaseBleakScanner):
    """bleak's scanner backend through a proxy: its raw advertisements, parsed."""

    target: ClassVar[ProxyTarget]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._session: ProxySession | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        session = ProxySession(self.target)
        await session.open(slots=False)
        self._session = session
        self._unsubscribe = session.live_client().subscribe_bluetooth_le_raw_advertisements(
            self._on_raw
        )

    async def stop(self) -> None:
        session, self._session = self._session, None
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            with contextlib.suppress(Exception):
                unsubscribe()
        if session is not None:
            await session.close()

    def _on_raw(self, raw: BluetoothLERawAdvertisementsResponse) -> None:
        from bluetooth_data_tools import int_to_bluetooth_address, parse_advertisement_data_bytes

        session = self._session
        if session is None:
            return
        for heard in raw.advertisements:
            name, uuids, service_data, manufacturer_data, tx_power = parse_advertisement_data_bytes(
                bytes(heard.data)
            )
            service_uuids = [uuid.lower() for uuid in uuids]
            if not self.is_allowed_uuid(service_uuids):
                continue
            address = int_to_bluetooth_address(heard.address)
            adv = AdvertisementData(
                local_name=name,
                manufacturer_data=dict(manufacturer_data),
                service_data=dict(service_data),
                service_uuids=service_uuids,
                tx_power=tx_power,
                rssi=int(heard.rssi),
                platform_data=(heard,),
            )
            details = {"source": session.source, "address_type": int(heard.address_type)}
            device = self.create_or_update_device(address, address, name, details, adv)
            self.call_detection_callbacks(device, adv)


def load_libraries() -> None:
    """Load the API's libraries now, with the link (about a second on a slow machine), rather
    than inside its first connect."""
    import aioesphomeapi.client  # noqa: F401
    import bleak_esphome.backend.client  # noqa: F401
    import bluetooth_data_tools  # noqa: F401


def proxy_backends(target: ProxyTarget) -> tuple[type[ProxyBleakClient], type[ProxyBleakScanner]]:
    """A client and a scanner backend bound to the proxy `target` (see `load_libraries`)."""
    load_libraries()
    client: type[ProxyBleakClient] = type(
        "ProxyBleakClient", (ProxyBleakClient,), {"target": target}
    )
    scanner: type[ProxyBleakScanner] = type(
        "ProxyBleakScanner", (ProxyBleakScanner,), {"target": target}
    )
    return client, scanner
