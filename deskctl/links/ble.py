"""LINAK desks over Bluetooth LE through bleak: the GATT client, scanning, errors people can act on.

Design: `BleakGattClient` is the `GattClient` the LINAK link speaks through; everything about the
protocol stays in `LinakLink` and the core. It connects with a timeout and a few retries, pairs
when asked, and turns every bleak error into `LinkError` with a sentence that says what to do
(turn the desk on, close the phone app, hold the pairing button, run a BlueZ agent). Bleak's
backend is injectable (`backend=`), so the same code drives the emulated desk on Bumble's virtual
radio in tests and with `--sim ble`. bleak is imported only when a BLE desk is used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deskctl.core.linak import SERVICE_CONTROL, Char
from deskctl.errors import LinkError

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.scanner import BaseBleakScanner

__all__ = ["BleakGattClient", "FoundDesk", "scan"]

_ATTEMPTS = 3


def _explain(exc: BaseException, address: str) -> str:
    """One sentence a person can act on, for a bleak or OS error."""
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "authenticationfailed" in lowered or "authentication" in lowered or "pair" in lowered:
        return (
            f"pairing with {address} failed: hold the desk's Bluetooth button for about 3 s "
            "until its light blinks, make sure a BlueZ agent runs (bluetoothctl agent on), "
            "then try again with pairing on"
        )
    if "no bluetooth adapters" in lowered or "org.bluez" in lowered or "adapter" in lowered:
        return "no Bluetooth adapter was found on this machine (is bluetoothd running?)"
    if isinstance(exc, TimeoutError) or "not found" in lowered or "timeout" in lowered:
        return (
            f"no desk answered at {address}: is it powered, in range, and not connected to "
            "another device such as the phone app?"
        )
    if "not permitted" in lowered or "protocol error" in lowered:
        return f"the desk at {address} refused the command ({text})"
    return f"the desk at {address} could not be reached ({text})"


class BleakGattClient:
    """A GATT client on bleak for one desk address."""

    def __init__(
        self,
        address: str,
        *,
        timeout_s: float = 20.0,
        pair: bool = False,
        backend: type[Any] | None = None,
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.pair = pair
        self.backend = backend
        self._client: BleakClient | None = None
        self._on_disconnect: Callable[[], None] | None = None

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        from bleak import BleakClient
        from bleak.exc import BleakError

        self._on_disconnect = on_disconnect
        last: BaseException | None = None
        for attempt in range(_ATTEMPTS):
            client = BleakClient(
                self.address,
                disconnected_callback=self._disconnected,
                timeout=self.timeout_s,
                pair=self.pair,
                backend=self.backend,
            )
            try:
                await client.connect()
            except (BleakError, TimeoutError, OSError) as exc:
                last = exc
                if "pair" in str(exc).lower():
                    break
                await asyncio.sleep(min(2.0, 0.5 * (attempt + 1)))
                continue
            self._client = client
            return
        raise LinkError(_explain(last or TimeoutError(), self.address))

    def _disconnected(self, _client: object) -> None:
        callback, self._on_disconnect = self._on_disconnect, None
        if callback is not None:
            callback()

    async def disconnect(self) -> None:
        client, self._client = self._client, None
        self._on_disconnect = None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()

    def _live(self) -> BleakClient:
        if self._client is None or not self._client.is_connected:
            raise LinkError(f"the desk at {self.address} is not connected")
        return self._client

    async def read(self, char: Char) -> bytes:
        from bleak.exc import BleakError

        try:
            return bytes(await self._live().read_gatt_char(char.value))
        except (BleakError, TimeoutError, OSError) as exc:
            raise LinkError(_explain(exc, self.address)) from None

    async def write(self, char: Char, data: bytes) -> None:
        from bleak.exc import BleakError

        try:
            await self._live().write_gatt_char(
                char.value, data, response=char is not Char.REFERENCE_INPUT
            )
        except (BleakError, TimeoutError, OSError) as exc:
            raise LinkError(_explain(exc, self.address)) from None

    async def subscribe(self, char: Char, callback: Callable[[bytes], None]) -> None:
        from bleak.exc import BleakError

        def deliver(_char: object, data: bytearray) -> None:
            callback(bytes(data))

        try:
            await self._live().start_notify(char.value, deliver)
        except (BleakError, TimeoutError, OSError) as exc:
            raise LinkError(_explain(exc, self.address)) from None


@dataclass(frozen=True, slots=True)
class FoundDesk:
    name: str
    address: str
    rssi: int


async def scan(
    timeout_s: float = 5.0, *, backend: type[BaseBleakScanner] | None = None
) -> list[FoundDesk]:
    """Desks advertising the LINAK control service, strongest signal first."""
    from bleak import BleakScanner
    from bleak.exc import BleakError

    try:
        if backend is None:
            found = await BleakScanner.discover(
                timeout=timeout_s, service_uuids=[SERVICE_CONTROL], return_adv=True
            )
        else:
            found = await BleakScanner.discover(
                timeout=timeout_s, service_uuids=[SERVICE_CONTROL], return_adv=True, backend=backend
            )
    except (BleakError, OSError) as exc:
        raise LinkError(
            "no Bluetooth adapter was found on this machine: BlueZ is not reachable "
            f"({exc or type(exc).__name__}); is bluetoothd running?"
        ) from None
    desks = [
        FoundDesk(adv.local_name or device.name or "(no name)", device.address, adv.rssi)
        for device, adv in found.values()
    ]
    return sorted(desks, key=lambda d: -d.rssi)
