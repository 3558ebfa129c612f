"""An emulated ESPHome Bluetooth proxy: the native API on a TCP port, the virtual radio behind it.

Design: an ESPHome Bluetooth proxy is an ESP32 that relays BLE for clients of its native API
(Home Assistant, and deskctl through bleak-esphome). `EmulatedProxy` is one, in process: a TCP
server that speaks the native API, and, as its radio, a central on a `BumbleRadio`, where the
emulated desks (`ble_emulator.EmulatedDesk`, `jiecang_emulator.EmulatedJiecangDesk`) already
advertise and serve their GATT databases. Nothing about desks is repeated here: the proxy relays
whatever the radio carries, as the real firmware does, through bleak on Bumble
(`radio.client_backend`, `radio.scanner_backend`).

The wire: the message classes and their type numbers are aioesphomeapi's own (`api_pb2`,
`MESSAGE_TYPE_TO_PROTO`), so the emulator cannot drift from the protocol the client speaks.
- plaintext frames: 0x00, varuint length, varuint type, payload (`make_plain_text_packets`);
- with a `key` (the base64 API encryption key), noise frames: 0x01, 16-bit length, a
  ChaCha20-Poly1305 frame holding a 16-bit type, a 16-bit length and the payload, after the
  handshake Noise_NNpsk0_25519_ChaChaPoly_SHA256 with the prologue "NoiseAPIInit\\0\\0" (the
  proxy is the responder; the client's empty hello frame is answered with the chosen protocol,
  the node name and its MAC). A wrong key fails the handshake with "Handshake MAC failure", as
  the firmware says it; a plaintext client meets a noise frame and learns that the device wants
  encryption; a noise client of a plaintext proxy meets a plaintext frame.

Messages: hello; device info with the Bluetooth proxy feature flags (passive scan, active
connections, remote caching, pairing, raw advertisements; `features` takes some away, as an older
firmware's); ping; disconnect; the raw advertisement subscription (the proxy scans for as long as
it runs, as the firmware does, and passes each advertisement the radio hears to its subscribers,
with its address type and RSSI); the connection-slot subscription (free, limit, allocated, sent
again on every change); connect (v3, with or without cache), pairing (through bleak: the desk's
own pairing, or its refusal) and disconnect; the GATT database; reads and writes of
characteristics and descriptors; notifications on and off, and their data. GATT failures are
`BluetoothGATTErrorResponse` with the ATT error code; a desk that drops the link is a connection
response with connected = False. Slots: `slots` in all, of which `taken` are held by others
(another client of the proxy); a connect without a free slot is answered connected = False, as the
firmware does (`set_taken` changes the others' share, and every subscriber is told). A descriptor
write to a CCCD turns notifications on or off through bleak, which writes the CCCD itself. When a
client's session ends, its BLE connections end with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aioesphomeapi import api_pb2
from aioesphomeapi._frame_helper.noise_encryption import (
    ESPHOME_NOISE_BACKEND,
    NOISE_PROTOCOL_NAME,
    decode_noise_psk,
)
from aioesphomeapi._frame_helper.packets import make_plain_text_packets
from aioesphomeapi.core import MESSAGE_TYPE_TO_PROTO
from aioesphomeapi.model import BluetoothProxyFeature
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError, BleakGATTProtocolError
from bluetooth_data_tools import int_to_bluetooth_address, mac_to_int
from google.protobuf.message import Message
from noise.connection import NoiseConnection

from deskctl.sim.bleak_bumble import BumbleRadio

__all__ = ["FEATURES", "EmulatedProxy"]

_LOG = logging.getLogger(__name__)

FEATURES = (
    BluetoothProxyFeature.PASSIVE_SCAN
    | BluetoothProxyFeature.ACTIVE_CONNECTIONS
    | BluetoothProxyFeature.REMOTE_CACHING
    | BluetoothProxyFeature.PAIRING
    | BluetoothProxyFeature.RAW_ADVERTISEMENTS
)
_PROLOGUE = b"NoiseAPIInit\x00\x00"
_TYPE_OF: dict[type[Message], int] = {cls: number for number, cls in MESSAGE_TYPE_TO_PROTO.items()}
_API_VERSION = (1, 12)
_MTU = 23
# ATT errors as the firmware passes them on; anything else is "unlikely error" (0x0e)
_ATT_UNLIKELY = 0x0E
_CONN_FAIL_ESTABLISH = 0x3E
_CONN_TIMEOUT = 0x08
_AUTH_FAILURE = 0x05  # the SMP reason an ESP32 passes on: authentication requirements
_CCCD = "00002902-0000-1000-8000-00805f9b34fb"


class _Closed(Exception):
    """The client went away, or broke the protocol: end its session."""


# -- framing ----------------------------------------------------------------------------------
async def _read_varuint(reader: asyncio.StreamReader) -> int:
    value = shift = 0
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
    raise _Closed("varuint too long")


class _PlainFrames:
    """The plaintext framing (after its 0x00 indicator was read)."""

    async def read(self, reader: asyncio.StreamReader, first: bool) -> tuple[int, bytes]:
        if not first and (await reader.readexactly(1)) != b"\x00":
            raise _Closed("bad indicator")
        length = await _read_varuint(reader)
        kind = await _read_varuint(reader)
        return kind, await reader.readexactly(length) if length else b""

    def pack(self, packets: list[tuple[int, bytes]]) -> bytes:
        return b"".join(make_plain_text_packets(packets))


def _noise_frame(payload: bytes) -> bytes:
    return bytes((0x01, len(payload) >> 8, len(payload) & 0xFF)) + payload


async def _read_noise_frame(reader: asyncio.StreamReader, first: bool) -> bytes:
    if not first and (await reader.readexactly(1)) != b"\x01":
        raise _Closed("bad indicator")
    size = await reader.readexactly(2)
    return await reader.readexactly((size[0] << 8) | size[1])


class _NoiseFrames:
    """The noise framing: the responder's handshake, then encrypted frames."""

    def __init__(self, key: str) -> None:
        proto = NoiseConnection.from_name(NOISE_PROTOCOL_NAME, backend=ESPHOME_NOISE_BACKEND)
        proto.set_as_responder()
        proto.set_psks(decode_noise_psk(key))
        proto.set_prologue(_PROLOGUE)
        proto.start_handshake()
        self._proto = proto

    async def handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str, mac: str
    ) -> None:
        await _read_noise_frame(reader, first=True)  # the client's hello: an empty frame
        writer.write(_noise_frame(b"\x01" + name.encode() + b"\x00" + mac.encode() + b"\x00"))
        message = await _read_noise_frame(reader, first=False)
        try:
            if not message or message[0] != 0:
                raise ValueError("not a handshake frame")
            self._proto.read_message(message[1:])
        except Exception:  # a wrong key is cryptography's InvalidTag; anything else is as bad
            writer.write(_noise_frame(b"\x01Handshake MAC failure"))
            await writer.drain()
            raise _Closed("handshake failed") from None
        writer.write(_noise_frame(b"\x00" + self._proto.write_message()))

    async def read(self, reader: asyncio.StreamReader, first: bool) -> tuple[int, bytes]:
        frame = await _read_noise_frame(reader, first=False)
        try:
            plain = self._proto.decrypt(frame)
        except Exception:
            raise _Closed("a frame that does not decrypt") from None
        if len(plain) < 4:
            raise _Closed("a frame too short")
        return (plain[0] << 8) | plain[1], bytes(plain[4:])

    def pack(self, packets: list[tuple[int, bytes]]) -> bytes:
        out = []
        for kind, data in packets:
            header = bytes((kind >> 8, kind & 0xFF, len(data) >> 8, len(data) & 0xFF))
            out.append(_noise_frame(self._proto.encrypt(header + data)))
        return b"".join(out)


# -- the proxy --------------------------------------------------------------------------------
@dataclass
class _Link:
    """One BLE connection the proxy holds for a client."""

    address: int
    client: BleakClient
    notifying: dict[int, bool] = field(default_factory=dict)


class EmulatedProxy:
    """An ESPHome Bluetooth proxy on `host`:`port` (0: any free port), relaying `radio`."""

    def __init__(
        self,
        radio: BumbleRadio,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "desk-proxy",
        mac: str = "AC:0B:FB:00:00:01",
        key: str | None = None,
        slots: int = 3,
        taken: int = 0,
        features: BluetoothProxyFeature = FEATURES,
    ) -> None:
        if key is not None:
            decode_noise_psk(key)  # a malformed key is the caller's ValueError, now
        self.radio = radio
        self.host = host
        self.port = port
        self.name = name
        self.mac = mac
        self.key = key
        self.slots = slots
        self.taken = taken
        self.features = features
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._links: dict[int, _Link] = {}
        self._scanner: BleakScanner | None = None
        self._listeners: set[Callable[[list[Message]], None]] = set()
        self._serving: set[asyncio.Task[Any]] = set()

    # -- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen and scan; a proxy already started stays as it is."""
        if self._server is not None:
            return
        await self._start_scanning()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for session in list(self._sessions):
            await session.close()
        for task in list(self._serving):  # sessions ending on their own, still stopping a scan
            with contextlib.suppress(Exception):
                await task
        await self._stop_scanning()
        if server is not None:
            await server.wait_closed()

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
    def free(self) -> int:
        return max(0, self.slots - self.taken - len(self._links))

    def slot_report(self) -> api_pb2.BluetoothConnectionsFreeResponse:
        return api_pb2.BluetoothConnectionsFreeResponse(
            free=self.free, limit=self.slots, allocated=list(self._links)
        )

    def set_taken(self, taken: int) -> None:
        """Slots held by others (another client of the proxy); every subscriber is told."""
        self.taken = taken
        self._slots_changed()

    def _slots_changed(self) -> None:
        for session in list(self._sessions):
            session.slots_changed()

    # -- the radio: advertisements ---------------------------------------------------------------
    def listen(self, listener: Callable[[list[Message]], None]) -> None:
        self._listeners.add(listener)

    def unlisten(self, listener: Callable[[list[Message]], None]) -> None:
        self._listeners.discard(listener)

    async def _start_scanning(self) -> None:
        """Scan for as long as the proxy runs, as the firmware does (subscribers come and go)."""
        scanner = BleakScanner(
            self._on_advertisement, scanning_mode="active", backend=self.radio.scanner_backend
        )
        await scanner.start()
        self._scanner = scanner

    async def _stop_scanning(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            with contextlib.suppress(BleakError):
                await scanner.stop()

    def _on_advertisement(self, device: BLEDevice, adv: AdvertisementData) -> None:
        heard = adv.platform_data[0] if adv.platform_data else None
        data = getattr(heard, "data", None)
        address = getattr(heard, "address", None)
        if data is None or address is None:
            return
        raw = api_pb2.BluetoothLERawAdvertisement(
            address=mac_to_int(device.address),
            rssi=adv.rssi,
            address_type=int(address.address_type),
            data=bytes(data),
        )
        message = api_pb2.BluetoothLERawAdvertisementsResponse(advertisements=[raw])
        for listener in list(self._listeners):
            listener([message])

    # -- the radio: connections ------------------------------------------------------------------
    async def connect(self, session: _Session, address: int) -> None:
        if address in self._links:
            session.connection_state(address, True, _MTU, 0)
            return
        if self.free <= 0:
            session.connection_state(address, False, 0, 0)  # the firmware: no free connection
            return
        text = int_to_bluetooth_address(address)

        def lost(_client: BleakClient) -> None:
            link = self._links.pop(address, None)
            if link is not None:
                session.connection_state(address, False, 0, 0x13)
                self._slots_changed()

        client = BleakClient(
            text, disconnected_callback=lost, timeout=10.0, backend=self.radio.client_backend
        )
        link = _Link(address, client)
        self._links[address] = link  # the slot is allocated while the link is attempted
        self._slots_changed()
        try:
            await client.connect()
        except (BleakError, TimeoutError) as exc:
            self._links.pop(address, None)
            self._slots_changed()
            code = _CONN_TIMEOUT if isinstance(exc, TimeoutError) else _CONN_FAIL_ESTABLISH
            session.connection_state(address, False, 0, code)
            return
        if self._links.get(address) is link:
            session.connection_state(address, True, client.mtu_size, 0)

    async def disconnect(self, session: _Session, address: int) -> None:
        link = self._links.pop(address, None)
        if link is not None:
            with contextlib.suppress(BleakError):
                await link.client.disconnect()
        session.connection_state(address, False, 0, 0)  # before the slot shows free, as on an ESP32
        if link is not None:
            self._slots_changed()

    def link(self, address: int) -> _Link | None:
        return self._links.get(address)

    # -- sessions --------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, reader, writer)
        self._sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        try:
            await session.run()
        finally:
            self._sessions.discard(session)
            await session.close()


class _Session:
    """One API client of the proxy: its framing, its subscriptions, its BLE connections."""

    def __init__(
        self, proxy: EmulatedProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.reader = reader
        self.writer = writer
        self.frames: _PlainFrames | _NoiseFrames | None = None
        self.addresses: set[int] = set()
        self.wants_slots = False
        self.listening = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    async def run(self) -> None:
        try:
            await self._open()
            frames = self.frames
            first = True
            while not self.closed and frames is not None:
                kind, payload = await frames.read(self.reader, first)
                first = False
                if self.closed:
                    break  # the proxy closed this session while the message came in
                cls = MESSAGE_TYPE_TO_PROTO.get(kind)
                if cls is None:
                    continue  # a message this proxy does not know: the firmware ignores it
                message = cls()
                message.ParseFromString(payload)
                self._handle(message)
        except (_Closed, asyncio.IncompleteReadError, ConnectionError) as exc:
            _LOG.debug("proxy session ended: %s", exc)

    async def _open(self) -> None:
        indicator = await self.reader.readexactly(1)
        key = self.proxy.key
        if key is None:
            if indicator != b"\x00":
                # a noise client of a plaintext device: it meets a plaintext frame and says so
                self.writer.write(b"\x00\x00\x00")
                await self.writer.drain()
                raise _Closed("noise hello to a plaintext proxy")
            self.frames = _PlainFrames()
            return
        if indicator != b"\x01":
            # a plaintext client of an encrypted device: a noise frame tells it encryption is on
            self.writer.write(_noise_frame(b"\x01Bad indicator byte"))
            await self.writer.drain()
            raise _Closed("plaintext hello to an encrypted proxy")
        frames = _NoiseFrames(key)
        await frames.handshake(self.reader, self.writer, self.proxy.name, self.proxy.mac)
        self.frames = frames

    def send(self, *messages: Message) -> None:
        if self.closed or self.frames is None:
            return
        packets = [(_TYPE_OF[type(m)], m.SerializeToString()) for m in messages]
        self.writer.write(self.frames.pack(packets))

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in list(self.tasks):
            task.cancel()
        self.proxy.unlisten(self._advertisements)
        for address in list(self.addresses):
            await self.proxy.disconnect(self, address)
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    # -- what the proxy tells this client ------------------------------------------------------
    def slots_changed(self) -> None:
        if self.wants_slots:
            self.send(self.proxy.slot_report())

    def connection_state(self, address: int, connected: bool, mtu: int, error: int) -> None:
        if connected:
            self.addresses.add(address)
        else:
            self.addresses.discard(address)
        self.send(
            api_pb2.BluetoothDeviceConnectionResponse(
                address=address, connected=connected, mtu=mtu, error=error
            )
        )

    def _advertisements(self, messages: list[Message]) -> None:
        self.send(*messages)

    # -- what this client asks -----------------------------------------------------------------
    def _handle(self, message: Message) -> None:
        proxy = self.proxy
        if isinstance(message, api_pb2.HelloRequest):
            major, minor = _API_VERSION
            self.send(
                api_pb2.HelloResponse(
                    api_version_major=major,
                    api_version_minor=minor,
                    server_info="deskctl emulated Bluetooth proxy",
                    name=proxy.name,
                )
            )
        elif isinstance(message, api_pb2.DeviceInfoRequest):
            self.send(
                api_pb2.DeviceInfoResponse(
                    name=proxy.name,
                    friendly_name="Desk proxy (emulated)",
                    mac_address=proxy.mac,
                    bluetooth_mac_address=proxy.mac,
                    esphome_version="2025.11.0",
                    model="esp32dev",
                    manufacturer="Espressif",
                    bluetooth_proxy_feature_flags=int(proxy.features),
                    api_encryption_supported=proxy.key is not None,
                )
            )
        elif isinstance(message, api_pb2.PingRequest):
            self.send(api_pb2.PingResponse())
        elif isinstance(message, api_pb2.DisconnectRequest):
            self.send(api_pb2.DisconnectResponse())
            self._spawn(self.close())
        elif isinstance(message, api_pb2.SubscribeBluetoothLEAdvertisementsRequest):
            if not self.listening:
                self.listening = True
                proxy.listen(self._advertisements)
        elif isinstance(message, api_pb2.UnsubscribeBluetoothLEAdvertisementsRequest):
            if self.listening:
                self.listening = False
                proxy.unlisten(self._advertisements)
        elif isinstance(message, api_pb2.SubscribeBluetoothConnectionsFreeRequest):
            self.wants_slots = True
            self.send(proxy.slot_report())
        elif isinstance(message, api_pb2.BluetoothDeviceRequest):
            self._device_request(message)
        elif isinstance(message, api_pb2.BluetoothGATTGetServicesRequest):
            self._services(message.address)
        elif isinstance(
            message,
            (
                api_pb2.BluetoothGATTReadRequest,
                api_pb2.BluetoothGATTReadDescriptorRequest,
                api_pb2.BluetoothGATTWriteRequest,
                api_pb2.BluetoothGATTWriteDescriptorRequest,
                api_pb2.BluetoothGATTNotifyRequest,
            ),
        ):
            self._spawn(self._gatt(message))
        # anything else (entities, states, logs, time) this proxy has nothing for

    def _device_request(self, message: api_pb2.BluetoothDeviceRequest) -> None:
        kinds = api_pb2.BluetoothDeviceRequestType
        if message.request_type in (
            kinds.Value("BLUETOOTH_DEVICE_REQUEST_TYPE_CONNECT_V3_WITH_CACHE"),
            kinds.Value("BLUETOOTH_DEVICE_REQUEST_TYPE_CONNECT_V3_WITHOUT_CACHE"),
        ):
            self._spawn(self.proxy.connect(self, message.address))
        elif message.request_type == kinds.Value("BLUETOOTH_DEVICE_REQUEST_TYPE_DISCONNECT"):
            self._spawn(self.proxy.disconnect(self, message.address))
        elif message.request_type == kinds.Value("BLUETOOTH_DEVICE_REQUEST_TYPE_PAIR") and (
            self.proxy.features & BluetoothProxyFeature.PAIRING
        ):
            self._spawn(self._pair(message.address))
        else:  # the old connect, unpairing, cache clearing: not among this proxy's features
            self.connection_state(message.address, False, 0, _CONN_FAIL_ESTABLISH)

    async def _pair(self, address: int) -> None:
        """Pair through bleak (Just Works); a refusal is paired = False with an error code, and
        the radio ends the connection, as BlueZ and the ESP32 do."""
        link = self.proxy.link(address)
        if link is None or address not in self.addresses:
            self.connection_state(address, False, 0, 0)
            return
        try:
            await link.client.pair()
        except (BleakError, TimeoutError):
            self.send(
                api_pb2.BluetoothDevicePairingResponse(
                    address=address, paired=False, error=_AUTH_FAILURE
                )
            )
            return
        self.send(api_pb2.BluetoothDevicePairingResponse(address=address, paired=True, error=0))

    def _services(self, address: int) -> None:
        link = self.proxy.link(address)
        if link is None or address not in self.addresses:
            self.send(api_pb2.BluetoothGATTErrorResponse(address=address, handle=0, error=-1))
            return
        for service in link.client.services:
            self.send(
                api_pb2.BluetoothGATTGetServicesResponse(
                    address=address,
                    services=[
                        api_pb2.BluetoothGATTService(
                            uuid=_split_uuid(service.uuid),
                            handle=service.handle,
                            characteristics=[
                                api_pb2.BluetoothGATTCharacteristic(
                                    uuid=_split_uuid(char.uuid),
                                    handle=char.handle,
                                    properties=_properties(char.properties),
                                    descriptors=[
                                        api_pb2.BluetoothGATTDescriptor(
                                            uuid=_split_uuid(d.uuid), handle=d.handle
                                        )
                                        for d in char.descriptors
                                    ],
                                )
                                for char in service.characteristics
                            ],
                        )
                    ],
                )
            )
        self.send(api_pb2.BluetoothGATTGetServicesDoneResponse(address=address))

    async def _gatt(self, message: Any) -> None:
        address, handle = message.address, message.handle
        link = self.proxy.link(address)
        if link is None or address not in self.addresses:
            self.send(api_pb2.BluetoothGATTErrorResponse(address=address, handle=handle, error=-1))
            return
        client = link.client
        try:
            if isinstance(message, api_pb2.BluetoothGATTReadRequest):
                data = await client.read_gatt_char(handle)
                self.send(
                    api_pb2.BluetoothGATTReadResponse(
                        address=address, handle=handle, data=bytes(data)
                    )
                )
            elif isinstance(message, api_pb2.BluetoothGATTReadDescriptorRequest):
                data = await client.read_gatt_descriptor(handle)
                self.send(
                    api_pb2.BluetoothGATTReadResponse(
                        address=address, handle=handle, data=bytes(data)
                    )
                )
            elif isinstance(message, api_pb2.BluetoothGATTWriteRequest):
                await client.write_gatt_char(handle, message.data, response=message.response)
                if message.response:
                    self.send(api_pb2.BluetoothGATTWriteResponse(address=address, handle=handle))
            elif isinstance(message, api_pb2.BluetoothGATTWriteDescriptorRequest):
                await self._write_descriptor(link, handle, bytes(message.data))
                self.send(api_pb2.BluetoothGATTWriteResponse(address=address, handle=handle))
            else:  # BluetoothGATTNotifyRequest
                await self._notify(link, handle, enable=message.enable)
        except BleakGATTProtocolError as exc:
            self.send(
                api_pb2.BluetoothGATTErrorResponse(address=address, handle=handle, error=exc.code)
            )
        except Exception:  # the firmware answers every request; so does the emulator
            _LOG.debug("GATT request %s failed", type(message).__name__, exc_info=True)
            self.send(
                api_pb2.BluetoothGATTErrorResponse(
                    address=address, handle=handle, error=_ATT_UNLIKELY
                )
            )

    async def _write_descriptor(self, link: _Link, handle: int, data: bytes) -> None:
        """A descriptor write; on a CCCD (which the client writes itself on a v3 connection)
        it turns the characteristic's notifications on or off through bleak, which writes it."""
        descriptor = link.client.services.get_descriptor(handle)
        if descriptor is None or descriptor.uuid != _CCCD:
            await link.client.write_gatt_descriptor(handle, data)
            return
        char = descriptor.characteristic_handle
        if any(data):
            if not link.notifying.get(char):
                await self._notify(link, char, enable=True, answer=False)
        elif link.notifying.pop(char, False):
            await link.client.stop_notify(char)

    async def _notify(self, link: _Link, handle: int, *, enable: bool, answer: bool = True) -> None:
        address = link.address
        if not enable:
            if link.notifying.pop(handle, False):
                await link.client.stop_notify(handle)
            return
        if not link.notifying.get(handle):

            def deliver(_char: object, data: bytearray) -> None:
                self.send(
                    api_pb2.BluetoothGATTNotifyDataResponse(
                        address=address, handle=handle, data=bytes(data)
                    )
                )

            await link.client.start_notify(handle, deliver)
            link.notifying[handle] = True
        if answer:
            self.send(api_pb2.BluetoothGATTNotifyResponse(address=address, handle=handle))


def _split_uuid(uuid: str) -> list[int]:
    value = int(uuid.replace("-", ""), 16)
    return [value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF]


_PROPERTY_BITS = {
    "broadcast": 0x01,
    "read": 0x02,
    "write-without-response": 0x04,
    "write": 0x08,
    "notify": 0x10,
    "indicate": 0x20,
    "authenticated-signed-writes": 0x40,
    "extended-properties": 0x80,
}


def _properties(names: Sequence[str]) -> int:
    return sum(_PROPERTY_BITS.get(name, 0) for name in names)
