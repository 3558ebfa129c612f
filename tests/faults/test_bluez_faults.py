"""Faults on the path a real Linux machine takes: bleak's BlueZ backend over D-Bus.

bleak's own BlueZ backend (no custom backend) talks to python-dbusmock's bluez5 template on a
private system bus, with a LINAK desk's GATT objects and a small motor behind it
(tests/bluez_mock.py). Found there: every BlueZ error read "no Bluetooth adapter was found",
and a refused pairing was tried three times. Real time throughout (real processes): waits are
on conditions.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from deskctl.clock import Clock
from deskctl.errors import LinkError
from deskctl.links.ble import BleakGattClient, _diagnose, scan
from deskctl.links.linak import LinakLink
from tests.bluez_mock import ADDRESS, BluezMock, wait_until
from tests.faults.tally import counter

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
NO_ADAPTER = "no Bluetooth adapter"


@pytest.fixture
async def bluez(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BluezMock]:
    async with BluezMock(tmp_path / "bluez", height_mm=650) as mock:
        for key, value in mock.environ.items():
            monkeypatch.setenv(key, value)
        yield mock


def desk_link(*, pair: bool = False) -> LinakLink:
    return LinakLink("office", BleakGattClient(ADDRESS, timeout_s=5, pair=pair), Clock())


# -- 23: BlueZ's errors in their own words --------------------------------------------------------
def bluez_error(name: str, details: str) -> BleakDBusError:
    return BleakDBusError(f"org.bluez.Error.{name}", [details])


def dbus_error(name: str) -> BleakDBusError:
    return BleakDBusError(f"org.freedesktop.DBus.Error.{name}", [])


# (error, words the sentence must hold, worth another attempt)
SENTENCES: list[tuple[BaseException, str, bool]] = [
    (bluez_error("Failed", "le-connection-abort-by-local"), "aborted while it was being set", True),
    (bluez_error("Failed", "Software caused connection abort"), "Software caused", True),
    (bluez_error("InProgress", "In Progress"), "still busy with another attempt", True),
    (bluez_error("NotPermitted", "Operation Not Permitted"), "did not permit", False),
    (bluez_error("NotAuthorized", "Operation Not Authorized"), "did not authorise", False),
    (bluez_error("NotConnected", "Not Connected"), "is not connected (the link dropped)", True),
    (bluez_error("NotReady", "Resource Not Ready"), "Bluetooth is not ready", False),
    (bluez_error("NotSupported", "Operation is not supported"), "does not support", False),
    (bluez_error("AlreadyConnected", "Already Connected"), "another program", False),
    (bluez_error("AuthenticationFailed", "Authentication Failed"), "Bluetooth button", False),
    (bluez_error("AuthenticationRejected", "Authentication Rejected"), "BlueZ agent", False),
    (bluez_error("AuthenticationTimeout", "Authentication Timeout"), "BlueZ agent", False),
    (bluez_error("AuthenticationCanceled", "Authentication Canceled"), "was cancelled", False),
    (bluez_error("ConnectionAttemptFailed", "Page Timeout"), "powered, in range", True),
    (bluez_error("DoesNotExist", "Does Not Exist"), "deskctl scan", False),
    (bluez_error("AlreadyExists", "Already Exists"), "bluetoothctl remove", False),
    (bluez_error("InvalidArguments", "Invalid arguments"), "please report", False),
    (dbus_error("ServiceUnknown"), "BlueZ is not running", False),
    (dbus_error("AccessDenied"), "bluetooth group", False),
    (dbus_error("NoReply"), "did not answer in time", True),
    (BleakDeviceNotFoundError(ADDRESS, "not found"), "powered, in range", True),
    (TimeoutError(), "powered, in range", True),
    (
        BleakGATTProtocolError(BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION),
        "paired device",
        False,
    ),
    (
        BleakBluetoothNotAvailableError("No powered", BleakBluetoothNotAvailableReason.POWERED_OFF),
        "Bluetooth is turned off",
        False,
    ),
]


@pytest.mark.parametrize(("error", "words", "retry"), SENTENCES)
def test_each_bluez_error_has_its_own_sentence_and_none_blames_the_adapter(
    error: BaseException, words: str, retry: bool
) -> None:
    TALLY.tried()
    sentence, again = _diagnose(error, ADDRESS)
    assert words in sentence
    assert NO_ADAPTER not in sentence
    assert again is retry
    assert "\n" not in sentence
    assert "{" not in sentence


def test_no_adapter_is_said_only_when_there_is_none() -> None:
    TALLY.tried()
    none = BleakBluetoothNotAvailableError(
        "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
    )
    assert _diagnose(none, ADDRESS) == (
        "no Bluetooth adapter was found on this machine: plug one in, or check that the kernel "
        "sees it (bluetoothctl list)",
        False,
    )
    sentences = {_diagnose(error, ADDRESS)[0] for error, _, _ in SENTENCES}
    assert len(sentences) >= 18  # BlueZ's errors are told apart, not lumped into one


# what BlueZ answers, on which method -> what the person reads, and how many tries it is worth
THROUGH_DBUS = [
    ("Connect", "NotReady", "Resource Not Ready", "Bluetooth is not ready", 1),
    ("Connect", "NotPermitted", "Operation Not Permitted", "did not permit", 1),
    ("Connect", "InProgress", "In Progress", "still busy with another attempt", 3),
    ("StartNotify", "NotConnected", "Not Connected", "is not connected (the link dropped)", 1),
]


async def test_bluez_errors_through_dbus_reach_the_person_in_their_own_words(
    bluez: BluezMock,
) -> None:
    for method, error, message, words, tries in THROUGH_DBUS:
        before = await bluez.calls("Connect")
        await bluez.set_fault(method, error, message)
        TALLY.fault()
        link = desk_link()
        with pytest.raises(LinkError) as raised:
            await link.connect()
        sentence = str(raised.value)
        assert words in sentence, (error, sentence)
        assert NO_ADAPTER not in sentence
        if method == "Connect":
            assert await bluez.calls("Connect") - before == tries, error
        await link.close()
        await bluez.clear_faults()
        await wait_until(lambda: not bluez.desk.connected)


async def test_an_adapter_turned_off_is_not_a_missing_one_and_a_missing_one_is(
    bluez: BluezMock,
) -> None:
    await bluez.power(False)
    TALLY.fault()
    with pytest.raises(LinkError, match="Bluetooth is turned off"):
        await desk_link().connect()
    with pytest.raises(LinkError, match="Bluetooth is turned off"):
        await scan(0.5)
    await bluez.remove_adapter()
    TALLY.fault()
    with pytest.raises(LinkError, match="no Bluetooth adapter was found"):
        await desk_link().connect()
    with pytest.raises(LinkError, match="no Bluetooth adapter was found"):
        await scan(0.5)


# -- 24: a refused pairing is said at once ---------------------------------------------------------
async def test_a_refused_pairing_is_tried_once_and_explained_at_once(bluez: BluezMock) -> None:
    await bluez.set_fault("Pair", "AuthenticationFailed", "Authentication Failed")
    TALLY.fault()
    began_s = time.monotonic()
    with pytest.raises(LinkError, match=r"Bluetooth button .* BlueZ agent"):
        await desk_link(pair=True).connect()
    assert await bluez.calls("Pair") == 1
    assert time.monotonic() - began_s < 5.0
