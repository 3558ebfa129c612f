"""Desks over Bluetooth LE through bleak: the GATT clients, scanning, errors people can act on.

Design: `BleakGattClient` is the `GattClient` the LINAK link speaks through, `BleakPipeGatt` the
`PipeGatt` a Jiecang link speaks through (by UUID, to whichever of the four GATT variants the
adapter serves); both share one connection class (`_BleakPeer`), and everything about the
protocols stays in the links and the core. It connects with a timeout and a few retries, pairs
when asked, and turns every bleak error into `LinkError` with a sentence that says what to do
(turn the desk on, close the phone app, hold the pairing button, run a BlueZ agent). On Linux
bleak reports BlueZ's D-Bus errors as `[org.bluez.Error.<name>] <details>`; `_BLUEZ_ERRORS` gives
each name its own sentence and says whether another attempt may help: a refused pairing, Bluetooth
turned off or a missing adapter is said at once, a busy or aborted connection is tried again.
"No Bluetooth adapter" is said only when bleak finds none. Bleak's
backend is injectable (`backend=`), so the same code drives the emulated desk on Bumble's virtual
radio in tests and with `--sim ble`. bleak is imported only when a BLE desk is used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deskctl.core.jiecang import VARIANTS
from deskctl.core.linak import SERVICE_CONTROL, Char
from deskctl.errors import LinkError

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.scanner import BaseBleakScanner

__all__ = ["BleakGattClient", "BleakPipeGatt", "ExplainedError", "FoundDesk", "scan"]

_ATTEMPTS = 3


class ExplainedError(Exception):
    """Mixed into a backend's error that carries its own sentence (an ESPHome proxy's), said as
    it is; `retry` says whether another attempt may help."""

    sentence: str
    retry: bool


_PAIRING = (
    "pairing with {address} failed: hold the desk's Bluetooth button for about 3 s until its "
    "light blinks, make sure a BlueZ agent runs (bluetoothctl agent on), then try again with "
    "pairing on"
)
_NEEDS_PAIRING = (
    "the desk at {address} accepts this only from a paired device: set pair = true for it, hold "
    "its Bluetooth button for about 3 s, and connect again"
)
_UNREACHABLE = (
    "no desk answered at {address}: is it powered, in range, and not connected to another "
    "device such as the phone app?"
)
_NOT_CONNECTED = (
    "the desk at {address} is not connected (the link dropped): check that it is powered and in "
    "range, then try again"
)
_ABORTED = (
    "the connection to {address} was aborted while it was being set up (radio interference, or "
    "the desk is busy with another device): move closer and try again"
)

# BlueZ's D-Bus errors (org.bluez.Error.<name>, and the bus's own) -> (sentence, worth a retry).
# {address} is the desk's address, {detail} BlueZ's own words in brackets (or nothing).
_BLUEZ_ERRORS: dict[str, tuple[str, bool]] = {
    "AuthenticationFailed": (_PAIRING, False),
    "AuthenticationRejected": (_PAIRING, False),
    "AuthenticationTimeout": (_PAIRING, False),
    "AuthenticationCanceled": (
        "pairing with {address} was cancelled before it finished (by the desk or by the BlueZ "
        "agent): hold the desk's Bluetooth button for about 3 s, accept the pairing if asked, "
        "and try again",
        False,
    ),
    "ConnectionAttemptFailed": (_UNREACHABLE, True),
    "InProgress": (
        "BlueZ is still busy with another attempt to reach {address} (another program, or an "
        "earlier try): wait a few seconds and try again",
        True,
    ),
    "AlreadyConnected": (
        "another program on this machine holds the connection to {address}: close it, or "
        "disconnect it with `bluetoothctl disconnect {address}`",
        False,
    ),
    "NotConnected": (_NOT_CONNECTED, True),
    "NotReady": (
        "Bluetooth is not ready (the adapter is powered off or still starting): turn it on with "
        "`bluetoothctl power on` and try again",
        False,
    ),
    "NotPermitted": (
        "BlueZ did not permit this on the desk at {address}{detail}: if the desk wants pairing, "
        "set pair = true for it and hold its Bluetooth button while connecting",
        False,
    ),
    "NotAuthorized": (
        "BlueZ did not authorise this on the desk at {address}{detail}: pair with the desk "
        "(pair = true, holding its Bluetooth button) and check that your user may use Bluetooth",
        False,
    ),
    "NotSupported": (
        "the desk at {address} or this Bluetooth adapter does not support that{detail}: is it a "
        "LINAK desk, and does the adapter do Bluetooth LE?",
        False,
    ),
    "DoesNotExist": (
        "BlueZ does not know the desk at {address} (it was removed, or never seen): check the "
        "address with `deskctl scan`",
        False,
    ),
    "AlreadyExists": (
        "BlueZ keeps a pairing with {address} that the desk no longer accepts: remove it with "
        "`bluetoothctl remove {address}` and pair again",
        False,
    ),
    "InvalidArguments": (
        "BlueZ rejected deskctl's request for {address} as invalid{detail}; please report this",
        False,
    ),
    "Failed": (
        "BlueZ could not reach the desk at {address}{detail}: try again; if it keeps failing, "
        "restart Bluetooth (systemctl restart bluetooth)",
        True,
    ),
    "le-connection-abort-by-local": (_ABORTED, True),
    "org.freedesktop.DBus.Error.ServiceUnknown": (
        "BlueZ is not running (nothing answers as org.bluez on the system bus): start it with "
        "`systemctl start bluetooth`",
        False,
    ),
    "org.freedesktop.DBus.Error.AccessDenied": (
        "this user may not use Bluetooth: the system's D-Bus policy keeps it from BlueZ (is the "
        "user in the bluetooth group?)",
        False,
    ),
    "org.freedesktop.DBus.Error.UnknownObject": (
        "BlueZ no longer lists the desk at {address} (it forgets desks that stop advertising): "
        "make sure the desk is on and try again",
        True,
    ),
    "org.freedesktop.DBus.Error.NoReply": (
        "BlueZ did not answer in time about {address}: try again; if it keeps happening, restart "
        "Bluetooth (systemctl restart bluetooth)",
        True,
    ),
}

# errors whose sentence names no desk, so a scan says them as a connection does
_SCAN_AS_CONNECT = frozenset(
    {
        "NotReady",
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.AccessDenied",
    }
)
_BLUEZ_OTHER = (
    "BlueZ could not reach the desk at {address}{detail}: try again; if it keeps failing, restart "
    "Bluetooth (systemctl restart bluetooth)",
    True,
)


def _dbus_error(exc: BaseException) -> tuple[str, str] | None:
    """(error name, BlueZ's own words) of a D-Bus error from bleak, else None."""
    from bleak.exc import BleakDBusError

    if not isinstance(exc, BleakDBusError):
        return None
    name = exc.dbus_error
    details = exc.dbus_error_details or ""
    return name, details


def _not_available(exc: BaseException) -> str | None:
    """The sentence for bleak's "Bluetooth is not available" (by its reason), else None."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason

    if not isinstance(exc, BleakBluetoothNotAvailableError):
        return None
    reason = exc.reason
    if reason is BleakBluetoothNotAvailableReason.NO_BLUETOOTH:
        return (
            "no Bluetooth adapter was found on this machine: plug one in, or check that the "
            "kernel sees it (bluetoothctl list)"
        )
    if reason is BleakBluetoothNotAvailableReason.POWERED_OFF:
        return "Bluetooth is turned off: turn it on with `bluetoothctl power on` and try again"
    if reason is BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE:
        return (
            "this machine's Bluetooth adapter cannot connect to Bluetooth LE devices: use one "
            "that supports Bluetooth LE"
        )
    if reason is BleakBluetoothNotAvailableReason.UNKNOWN:
        return f"Bluetooth is not available on this machine ({exc.args[0]})"
    return (
        "this user may not use Bluetooth (the system denied access to BlueZ): is the user in "
        "the bluetooth group?"
    )


def _diagnose(exc: BaseException, address: str) -> tuple[str, bool]:
    """(one sentence a person can act on, whether another attempt may help) for a bleak error."""
    from bleak.exc import (
        BleakDeviceNotFoundError,
        BleakGATTProtocolError,
        BleakGATTProtocolErrorCode,
    )

    if isinstance(exc, ExplainedError):
        return exc.sentence, exc.retry
    unavailable = _not_available(exc)
    if unavailable is not None:
        return unavailable, False
    dbus = _dbus_error(exc)
    if dbus is not None:
        name, details = dbus
        short = name.removeprefix("org.bluez.Error.")
        sentence, retry = _BLUEZ_ERRORS.get(details) or _BLUEZ_ERRORS.get(short, _BLUEZ_OTHER)
        detail = f" ({details})" if details else ""
        return sentence.format(address=address, detail=detail), retry
    if isinstance(exc, BleakGATTProtocolError):
        code = exc.code
        if code in (
            BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION,
            BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHORIZATION,
            BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION,
            BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION_KEY_SIZE,
        ):
            return _NEEDS_PAIRING.format(address=address), False
        return f"the desk at {address} refused the command ({exc.args[-1]})", False
    if isinstance(exc, (TimeoutError, BleakDeviceNotFoundError)):
        return _UNREACHABLE.format(address=address), True
    if isinstance(exc, OSError):
        return (
            "Bluetooth is not available: the system D-Bus cannot be reached "
            f"({exc.strerror or exc}), so BlueZ cannot be asked; are dbus and bluetoothd "
            "running?",
            False,
        )
    # bleak's own errors, and other backends' (Bumble's virtual radio), carry only words
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "authentication" in lowered or "pair" in lowered:
        return _PAIRING.format(address=address), False
    if "not permitted" in lowered or "protocol error" in lowered:
        return f"the desk at {address} refused the command ({text})", False
    if lowered == "not connected":
        return _NOT_CONNECTED.format(address=address), True
    if "device disconnected" in lowered:
        return (
            f"the desk at {address} dropped the link while deskctl set it up: check that it is "
            "powered and in range, then try again",
            True,
        )
    if "not found" in lowered or "timeout" in lowered:
        return _UNREACHABLE.format(address=address), True
    return f"the desk at {address} could not be reached ({text})", True


def _scan_failure(exc: BaseException) -> str:
    """One sentence for a scan that could not start."""
    if isinstance(exc, ExplainedError):
        return exc.sentence
    dbus = _dbus_error(exc)
    name = "" if dbus is None else dbus[0].removeprefix("org.bluez.Error.")
    if _not_available(exc) is not None or isinstance(exc, OSError) or name in _SCAN_AS_CONNECT:
        return _diagnose(exc, "")[0]
    if name == "InProgress":
        return "BlueZ is busy with another scan (another program): wait a few seconds and try again"
    what = f"{name}: {dbus[1]}" if dbus is not None else (str(exc) or type(exc).__name__)
    return (
        f"BlueZ could not scan for desks ({what}): try again; if it keeps failing, restart "
        "Bluetooth (systemctl restart bluetooth)"
    )


def _explain(exc: BaseException, address: str) -> str:
    """One sentence a person can act on, for a bleak or OS error."""
    return _diagnose(exc, address)[0]


class _BleakPeer:
    """One desk address on bleak: connecting (with retries and sentences), the link's end."""

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
        if self._client is not None and self._client.is_connected:
            return  # a connection taken over from another view of it (`adopt`)
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
                if not _diagnose(exc, self.address)[1]:
                    break  # pairing refused, Bluetooth off, no adapter...: one sentence at once
                await asyncio.sleep(min(2.0, 0.5 * (attempt + 1)))
                continue
            self._client = client
            return
        raise LinkError(_explain(last or TimeoutError(), self.address))

    def adopt(self, other: _BleakPeer) -> None:
        """Take over `other`'s live connection (a family found on it: no second connect)."""
        self._client, other._client = other._client, None
        other._on_disconnect = lambda: self._disconnected(None)

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


class BleakGattClient(_BleakPeer):
    """A GATT client on bleak for one LINAK desk address."""

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


class BleakPipeGatt(_BleakPeer):
    """A byte pipe on bleak for one desk address (a Jiecang adapter), keyed by UUID strings."""

    def services(self) -> dict[str, list[str]]:
        client = self._live()
        return {
            service.uuid.lower(): [char.uuid.lower() for char in service.characteristics]
            for service in client.services
        }

    async def write(self, uuid: str, data: bytes, *, response: bool = False) -> None:
        from bleak.exc import BleakError

        try:
            await self._live().write_gatt_char(uuid, data, response=response)
        except (BleakError, TimeoutError, OSError) as exc:
            raise LinkError(_explain(exc, self.address)) from None

    async def subscribe(self, uuid: str, callback: Callable[[bytes], None]) -> None:
        from bleak.exc import BleakError

        def deliver(_char: object, data: bytearray) -> None:
            callback(bytes(data))

        try:
            await self._live().start_notify(uuid, deliver)
        except (BleakError, TimeoutError, OSError) as exc:
            raise LinkError(_explain(exc, self.address)) from None


@dataclass(frozen=True, slots=True)
class FoundDesk:
    name: str
    address: str
    rssi: int
    family: str = "linak"  # "linak" or "jiecang", by the service it advertises
    variant: str | None = None  # a Jiecang adapter's advertised service (FE60, FF12, FF00, 00FF)


# The services a desk advertises: LINAK's control service, and the four Jiecang adapters'.
_ADVERTISED = {SERVICE_CONTROL: ("linak", None)} | {
    v.service: ("jiecang", v.name) for v in VARIANTS
}


def _family(uuids: list[str]) -> tuple[str, str | None]:
    for uuid in uuids:
        known = _ADVERTISED.get(uuid.lower())
        if known is not None:
            return known
    return "linak", None


async def scan(
    timeout_s: float = 5.0, *, backend: type[BaseBleakScanner] | None = None
) -> list[FoundDesk]:
    """Desks advertising the LINAK control service or a Jiecang adapter's, strongest first (a
    Jiecang adapter's variant as advertised: one advertises 00FF and serves FF00)."""
    from bleak import BleakScanner
    from bleak.exc import BleakError

    wanted = list(_ADVERTISED)
    try:
        if backend is None:
            found = await BleakScanner.discover(
                timeout=timeout_s, service_uuids=wanted, return_adv=True
            )
        else:
            found = await BleakScanner.discover(
                timeout=timeout_s, service_uuids=wanted, return_adv=True, backend=backend
            )
    except (BleakError, OSError) as exc:
        raise LinkError(_scan_failure(exc)) from None
    desks = [
        FoundDesk(
            adv.local_name or device.name or "(no name)",
            device.address,
            adv.rssi,
            *_family(list(adv.service_uuids)),
        )
        for device, adv in found.values()
    ]
    return sorted(desks, key=lambda d: -d.rssi)
