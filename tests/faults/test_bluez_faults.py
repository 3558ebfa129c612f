"""Faults on the path a real Linux machine takes: bleak's BlueZ backend over D-Bus.

bleak's own BlueZ backend (no custom backend) talks to python-dbusmock's bluez5 template on a
private system bus, with a LINAK desk's GATT objects and a small motor behind it
(tests/bluez_mock.py). Found there: a direct `deskctl move` could not be stopped (and `stop`
said it had), every BlueZ error read "no Bluetooth adapter was found", and a refused pairing
was tried three times. Real time throughout (real processes): waits are on conditions.
"""

from __future__ import annotations

import asyncio
import json
import sys
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

from deskctl.adapters import control_client
from deskctl.clocks.clock import Clock
from deskctl.errors import LinkError
from deskctl.links.ble import BleakGattClient, _diagnose, scan
from deskctl.links.linak import LinakLink
from tests.bluez_mock import ADDRESS, BluezMock, wait_until
from tests.cli import cli_env
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


# -- 22: `deskctl stop` reaches a direct move, and says stopped only at rest -----------------------
def write_settings(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(
        f'[desks.office]\nlink = "ble"\naddress = "{ADDRESS}"\nconnect_timeout_s = 10\n',
        encoding="utf-8",
    )


async def start_cli(tmp_path: Path, bluez: BluezMock, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deskctl",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(tmp_path, **bluez.environ),
    )


async def finish(process: asyncio.subprocess.Process, timeout_s: float) -> tuple[int, str, str]:
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.communicate()
        pytest.fail(f"deskctl did not finish within {timeout_s:g} s")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def run_cli(
    tmp_path: Path, bluez: BluezMock, *args: str, timeout_s: float = 30
) -> tuple[int, str, str]:
    return await finish(await start_cli(tmp_path, bluez, *args), timeout_s)


async def test_stop_reaches_a_direct_move_and_says_stopped_with_the_desk_at_rest(
    tmp_path: Path, bluez: BluezMock
) -> None:
    write_settings(tmp_path)
    move = await start_cli(tmp_path, bluez, "move", "125cm", "--json")
    try:
        await wait_until(lambda: bluez.desk.moving and bluez.desk.height_mm >= 670, 30)
        TALLY.fault()
        stop_code, stop_out, stop_err = await run_cli(tmp_path, bluez, "stop", "--json")
        assert stop_code == 0, stop_err
        stopped = json.loads(stop_out)
        assert stopped["stopped"] is True
        assert not bluez.desk.moving  # seen at rest when it says so
        halted_mm = bluez.desk.height_mm
        assert halted_mm < 1150  # stopped on its way, not at the end of the move
        assert abs(stopped["height_mm"] - halted_mm) <= 2
        move_code, _, move_err = await finish(move, 30)
    finally:
        if move.returncode is None:
            move.kill()
            await move.communicate()
    assert move_code == 1
    assert "was stopped at" in move_err
    assert len(move_err.strip().splitlines()) == 1
    assert abs(bluez.desk.height_mm - halted_mm) <= 2  # no renewal went on after the stop


async def test_a_direct_move_answers_status_and_keeps_a_service_out(
    tmp_path: Path, bluez: BluezMock
) -> None:
    write_settings(tmp_path)
    move = await start_cli(tmp_path, bluez, "move", "125cm", "--json")
    try:
        await wait_until(lambda: bluez.desk.moving, 30)
        TALLY.fault(2)
        (status_code, status_out, status_err), (run_code, _, run_err) = await asyncio.gather(
            run_cli(tmp_path, bluez, "status", "--json", timeout_s=15),
            run_cli(tmp_path, bluez, "run", timeout_s=15),
        )
        assert status_code == 0, status_err
        status = json.loads(status_out)
        assert status["desk"] == "office"
        assert status["moving"] is True
        assert status["service"] is False
        assert status["profile"] == "default"
        assert run_code == 1
        assert "already running" in run_err
        stop_code, stop_out, stop_err = await run_cli(tmp_path, bluez, "stop")
        assert stop_code == 0, stop_err
        assert stop_out.strip() == "office: stopped"
        assert (await finish(move, 30))[0] == 1
    finally:
        if move.returncode is None:
            move.kill()
            await move.communicate()


async def test_stop_says_stopped_only_when_the_desk_is_seen_at_rest(
    tmp_path: Path, bluez: BluezMock
) -> None:
    write_settings(tmp_path)
    bluez.desk.hold_button(+1)  # someone holds the desk's up button: it ignores stop
    TALLY.fault()
    await wait_until(lambda: bluez.desk.moving, 10)
    code, out, err = await run_cli(tmp_path, bluez, "stop", "--json")
    assert bluez.desk.stops >= 1  # stop was sent
    assert code == 1, out
    assert out == ""
    assert "still moves" in err
    assert len(err.strip().splitlines()) == 1
    bluez.desk.hold_button(0)
    await wait_until(lambda: not bluez.desk.moving, 10)
    code, out, err = await run_cli(tmp_path, bluez, "stop", "--json")
    assert code == 0, err
    assert json.loads(out)["stopped"] is True


async def test_stop_through_the_service_says_stopped_only_when_the_desk_is_seen_at_rest(
    tmp_path: Path, bluez: BluezMock
) -> None:
    write_settings(tmp_path)
    service = await start_cli(tmp_path, bluez, "run")
    sock = tmp_path / "run" / "control.sock"

    def desk_reported() -> bool:
        return (
            sock.exists()
            and control_client.service_running(sock)
            and control_client.call("status", path=sock)["height_mm"] is not None
        )

    try:
        await wait_until(lambda: bluez.desk.connected, 30)
        await wait_until(desk_reported, 30)
        control_client.call("pause", path=sock)  # no scheduled move meddles with the test
        bluez.desk.hold_button(+1)
        TALLY.fault()
        await wait_until(lambda: bluez.desk.moving, 10)
        code, out, err = await run_cli(tmp_path, bluez, "stop", "--json")
        assert bluez.desk.stops >= 1
        assert code == 1, out
        assert "still moves" in err
        bluez.desk.hold_button(0)
        await wait_until(lambda: not bluez.desk.moving, 10)
        code, out, err = await run_cli(tmp_path, bluez, "stop", "--json")
        assert code == 0, err
        assert json.loads(out)["stopped"] is True
    finally:
        if service.returncode is None:
            service.terminate()
            await finish(service, 30)
