"""BlueZ on a private system bus, with a LINAK desk behind it: the path bleak takes on Linux.

bleak's real BlueZ backend (`BleakClient`/`BleakScanner` with no custom backend) speaks D-Bus to
`org.bluez` on the system bus. This harness gives it one that belongs to the test:
- `dbus-daemon` with a generated config of type "system" (a socket in a fresh temporary folder,
  no service activation), its address in `DBUS_SYSTEM_BUS_ADDRESS`;
- python-dbusmock's `bluez5` template as bluetoothd, extended by tests/bluez_desk_template.py
  with the adapter `hci0`, the desk's `Device1` and its GATT services, characteristics (the real
  flags) and CCCD descriptors, and a control object for faults (see that file's docstring);
- a fake `bluetoothctl` first on `PATH`: bleak runs `bluetoothctl --version` once per process and
  refuses BlueZ older than 5.55; the fake prints 5.66, so what the machine has installed (or not)
  does not matter, and nothing needs root;
- `MotorDesk`, the desk itself, in the test's event loop and independent of deskctl's own model:
  it hears every call through dbusmock's `MethodCalled` signals and answers through the control
  object. A small motor: it moves toward the last REFERENCE_INPUT target at about 38 mm/s while
  the target is renewed (within 1 s), halts without renewal, on COMMAND stop or on the cancel
  value, runs about 1 s per COMMAND up/down, notifies height+speed every 50 ms while moving (and
  once at rest), answers the DPG reads (base 620 mm, user id awake), and advertises (an RSSI
  change on the device every 0.2 s) while nothing is connected. `hold_button(+1/-1/0)` is a hand
  on the desk's own buttons: the desk moves and ignores stop until released.

`async with BluezMock(folder) as bluez:` starts it all; `bluez.environ` is what a process needs to
use it (put it in os.environ for bleak in the test process, or pass it to a CLI subprocess);
`bluez.set_fault(method, error, message)` makes every later call of a BlueZ method fail.
Everything runs on real time (there are real processes): wait on conditions with `wait_until`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest
from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

__all__ = ["ADDRESS", "BluezMock", "MotorDesk", "wait_until"]

ADDRESS = "C0:DE:5C:00:12:34"
NAME = "Desk 1234"
WAIT_S = 15.0
TEMPLATE = Path(__file__).with_name("bluez_desk_template.py")
DEVICE_PATH = "/org/bluez/hci0/dev_" + ADDRESS.replace(":", "_")
CONTROL_PATH = "/org/deskctl/TestDesk"
MOCK = "org.freedesktop.DBus.Mock"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:dir={folder}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
_BLUETOOTHCTL = "#!/bin/sh\necho 'bluetoothctl: 5.66'\n"

BASE_RAW = 6200  # 620.0 mm, what DPG 0x81 answers
TRAVEL_RAW = 6500
SPEED_MM_S = 38.0
RENEW_S = 1.0
TICK_S = 0.05
ADVERTISE_S = 0.2

# characteristic object paths (see tests/bluez_desk_template.py)
COMMAND = f"{DEVICE_PATH}/service0010/char0011"
DPG = f"{DEVICE_PATH}/service0020/char0021"
HEIGHT_SPEED = f"{DEVICE_PATH}/service0030/char0031"
REFERENCE_INPUT = f"{DEVICE_PATH}/service0040/char0041"


async def wait_until(predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    """Return once `predicate()` holds (checked every 20 ms); fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s:g} s: {getattr(predicate, '__name__', predicate)}")
        await asyncio.sleep(0.02)


def _reply_ok(reply: Message | None, what: str) -> Message:
    if reply is None or reply.message_type is MessageType.ERROR:
        detail = reply.body if reply is not None else "no reply"
        name = reply.error_name if reply is not None else ""
        raise RuntimeError(f"{what} failed: {name} {detail}")
    return reply


class MotorDesk:
    """The desk behind the mock: a motor, DPG answers, advertising. See the module docstring."""

    def __init__(self, bus: MessageBus, *, height_mm: int = 750) -> None:
        self._bus = bus
        self.position_raw = float((height_mm - BASE_RAW // 10) * 10)
        self.speed = 0
        self.target_raw: int | None = None
        self._renewed_s = 0.0
        self._run = (0, 0.0)  # direction, until
        self.held = 0
        self.connected = False
        self.advertising = True
        self.writes: list[tuple[str, bytes]] = []
        self.stops = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def height_mm(self) -> int:
        return BASE_RAW // 10 + round(self.position_raw / 10)

    @property
    def moving(self) -> bool:
        return self.speed != 0

    def hold_button(self, direction: int) -> None:
        """A hand on the desk's up (+1) or down (-1) button; 0 lets go."""
        self.held = direction

    async def start(self) -> None:
        self._bus.add_message_handler(self._on_message)
        for rule in (
            f"type='signal',interface='{MOCK}',member='MethodCalled',path_namespace='{DEVICE_PATH}'",
            f"type='signal',interface='org.freedesktop.DBus.Properties',"
            f"member='PropertiesChanged',path='{DEVICE_PATH}'",
        ):
            await self._call(
                "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "AddMatch", "s", [rule],
            )  # fmt: skip
        await self._notify(HEIGHT_SPEED, self._report())
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._motor()), loop.create_task(self._advertise())]

    async def stop(self) -> None:
        for task in (*self._tasks, *self._pending):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._pending, return_exceptions=True)

    async def _call(
        self, dest: str, path: str, iface: str, member: str, sig: str, body: list[Any]
    ) -> Message:
        reply = await self._bus.call(
            Message(
                destination=dest, path=path, interface=iface, member=member, signature=sig,
                body=body,
            )
        )  # fmt: skip
        return _reply_ok(reply, member)

    async def _notify(self, char_path: str, data: bytes) -> None:
        await self._call("org.bluez", CONTROL_PATH, "org.deskctl.TestDesk", "Notify", "say",
                         [char_path, data])  # fmt: skip

    def _later(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _report(self) -> bytes:
        return struct.pack("<Hh", round(self.position_raw), self.speed)

    # -- what the desk hears --------------------------------------------------------------------
    def _on_message(self, message: Message) -> None:
        if message.message_type is not MessageType.SIGNAL:
            return
        if message.member == "PropertiesChanged" and message.path == DEVICE_PATH:
            changed = message.body[1]
            if "Connected" in changed:
                self.connected = bool(changed["Connected"].value)
            return
        if message.member != "MethodCalled" or message.body[0] != "WriteValue":
            return
        data = bytes(message.body[1][0].value)
        self.writes.append((str(message.path), data))
        if message.path == REFERENCE_INPUT:
            self._on_target(data)
        elif message.path == COMMAND:
            self._on_command(data)
        elif message.path == DPG:
            self._on_dpg(data)

    def _on_target(self, data: bytes) -> None:
        if len(data) != 2:
            return
        if data == b"\x01\x80":
            self.target_raw = None
            return
        self.target_raw = min(int.from_bytes(data, "little"), TRAVEL_RAW)
        self._renewed_s = time.monotonic()

    def _on_command(self, data: bytes) -> None:
        if data == b"\xff\x00":
            self.stops += 1
            self.target_raw = None
            self._run = (0, 0.0)
        elif data in (b"\x47\x00", b"\x46\x00"):
            self._run = (1 if data == b"\x47\x00" else -1, time.monotonic() + 1.0)

    def _on_dpg(self, data: bytes) -> None:
        if len(data) < 3 or data[0] != 0x7F:
            return
        if data[2] == 0x80:
            answer = b"\x01\x00"
        elif data[1] == 0x81:
            answer = b"\x01\x03\x01" + BASE_RAW.to_bytes(2, "little")
        elif data[1] == 0x86:
            answer = b"\x01\x02\x01\x00"
        elif data[1] == 0x80:
            answer = b"\x01\x02\x22\x00"
        else:
            answer = b"\x00\x00"
        self._later(self._notify(DPG, answer))

    # -- what the desk does ---------------------------------------------------------------------
    def _direction(self, now_s: float) -> int:
        if self.held:
            return self.held
        if self.target_raw is not None:
            if now_s - self._renewed_s > RENEW_S:
                self.target_raw = None
                return 0
            gap = self.target_raw - self.position_raw
            return 0 if abs(gap) < 0.5 else (1 if gap > 0 else -1)
        direction, until_s = self._run
        return direction if now_s < until_s else 0

    async def _motor(self) -> None:
        last_s = time.monotonic()
        while True:
            await asyncio.sleep(TICK_S)
            now_s = time.monotonic()
            dt_s, last_s = now_s - last_s, now_s
            direction = self._direction(now_s)
            if direction == 0:
                if self.speed != 0:
                    self.speed = 0
                    await self._notify(HEIGHT_SPEED, self._report())
                continue
            step = direction * SPEED_MM_S * 10 * dt_s
            position = self.position_raw + step
            if self.target_raw is not None and not self.held:
                aim = self.target_raw
                if (direction > 0 and position >= aim) or (direction < 0 and position <= aim):
                    position = float(aim)
            position = min(max(position, 0.0), float(TRAVEL_RAW))
            self.position_raw = position
            self.speed = direction * round(SPEED_MM_S * 100)
            await self._notify(HEIGHT_SPEED, self._report())

    async def _advertise(self) -> None:
        rssi = -60
        while True:
            await asyncio.sleep(ADVERTISE_S)
            if self.connected or not self.advertising:
                continue
            rssi = -121 - rssi  # -60, -61, -60, ...: every advertisement is a change
            await self._call(
                "org.bluez", DEVICE_PATH, MOCK, "UpdateProperties", "sa{sv}",
                ["org.bluez.Device1", {"RSSI": Variant("n", rssi)}],
            )  # fmt: skip


class BluezMock:
    """A private system bus, dbusmock's bluez5 with a LINAK desk, and the desk's motor."""

    def __init__(self, folder: Path, *, height_mm: int = 750) -> None:
        self.folder = folder
        self.height_mm = height_mm
        self.address = ""
        self._daemon: subprocess.Popen[bytes] | None = None
        self._mock: subprocess.Popen[bytes] | None = None
        self._bus: MessageBus | None = None
        self._desk: MotorDesk | None = None

    @property
    def desk(self) -> MotorDesk:
        if self._desk is None:
            raise RuntimeError("the mock is not started")
        return self._desk

    @property
    def environ(self) -> dict[str, str]:
        """What a process needs to find this BlueZ: the bus address and the fake bluetoothctl."""
        return {
            "DBUS_SYSTEM_BUS_ADDRESS": self.address,
            "PATH": f"{self.folder / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def _start(self) -> None:
        await asyncio.to_thread(self._spawn)
        self._bus = await MessageBus(bus_address=self.address).connect()
        await self._wait_for_bluez()
        params = {"address": Variant("s", ADDRESS), "name": Variant("s", NAME)}
        await self._mock_call("/", "AddTemplate", "sa{sv}", [str(TEMPLATE), params])
        self._desk = MotorDesk(self._bus, height_mm=self.height_mm)
        await self._desk.start()

    def _spawn(self) -> None:
        """Start dbus-daemon and the dbusmock BlueZ (blocking; run in a thread)."""
        program = shutil.which("dbus-daemon")
        if program is None:
            pytest.fail("dbus-daemon is not installed: run scripts/setup")
        bus_dir = self.folder / "bus"
        bin_dir = self.folder / "bin"
        bus_dir.mkdir(parents=True, exist_ok=True)
        bin_dir.mkdir(parents=True, exist_ok=True)
        (bus_dir / "bus.conf").write_text(_BUS_CONFIG.format(folder=bus_dir), encoding="utf-8")
        fake = bin_dir / "bluetoothctl"
        fake.write_text(_BLUETOOTHCTL, encoding="utf-8")
        fake.chmod(0o755)
        self._daemon = subprocess.Popen(
            [program, f"--config-file={bus_dir / 'bus.conf'}", "--print-address", "--nofork"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self._daemon.stdout is not None
        self.address = self._daemon.stdout.readline().decode().strip()
        if not self.address:
            pytest.fail("dbus-daemon did not start")
        env = {**os.environ, **self.environ}
        with open(self.folder / "bluez-mock.log", "wb") as log:
            self._mock = subprocess.Popen(
                [sys.executable, "-m", "dbusmock", "--system", "--template", "bluez5"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    async def _wait_for_bluez(self) -> None:
        assert self._bus is not None
        deadline = time.monotonic() + WAIT_S
        while True:
            reply = await self._bus.call(
                Message(
                    destination="org.freedesktop.DBus",
                    path="/org/freedesktop/DBus",
                    interface="org.freedesktop.DBus",
                    member="NameHasOwner",
                    signature="s",
                    body=["org.bluez"],
                )
            )
            if _reply_ok(reply, "NameHasOwner").body[0]:
                return
            if self._mock is not None and self._mock.poll() is not None:
                log = (self.folder / "bluez-mock.log").read_text(errors="replace")
                pytest.fail(f"the dbusmock BlueZ did not start: {log.strip()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the dbusmock BlueZ did not appear within {WAIT_S:g} s")
            await asyncio.sleep(0.05)

    async def _mock_call(
        self, path: str, member: str, sig: str, body: list[Any], *, iface: str = MOCK
    ) -> Message:
        assert self._bus is not None
        reply = await self._bus.call(
            Message(
                destination="org.bluez", path=path, interface=iface, member=member,
                signature=sig, body=body,
            )
        )  # fmt: skip
        return _reply_ok(reply, member)

    async def _control(self, member: str, sig: str = "", body: list[Any] | None = None) -> None:
        assert self._bus is not None
        reply = await self._bus.call(
            Message(
                destination="org.bluez", path=CONTROL_PATH, interface="org.deskctl.TestDesk",
                member=member, signature=sig, body=body or [],
            )
        )  # fmt: skip
        _reply_ok(reply, member)

    async def set_fault(self, method: str, error: str, message: str) -> None:
        """Every later call of the BlueZ `method` fails with `org.bluez.Error.<error>`."""
        name = error if "." in error else f"org.bluez.Error.{error}"
        await self._control("SetFault", "sss", [method, name, message])

    async def clear_faults(self) -> None:
        await self._control("ClearFaults")

    async def power(self, on: bool) -> None:
        """Turn the adapter on or off (its Powered property)."""
        await self._mock_call(
            "/org/bluez/hci0", "UpdateProperties", "sa{sv}",
            ["org.bluez.Adapter1", {"Powered": Variant("b", on)}],
        )  # fmt: skip

    async def remove_adapter(self) -> None:
        """Unplug the adapter: it and the desk vanish from BlueZ."""
        self.desk.advertising = False
        await self._mock_call(
            "/", "RemoveAdapterWithDevices", "s", ["hci0"], iface="org.bluez.Mock"
        )

    async def drop(self) -> None:
        """The radio link to the desk is lost."""
        await self._control("Drop")

    async def calls(self, method: str, path: str = DEVICE_PATH) -> int:
        """How often `method` was called on the object at `path` (the desk by default)."""
        reply = await self._mock_call(path, "GetMethodCalls", "s", [method])
        return len(reply.body[0])

    async def _close(self) -> None:
        if self._desk is not None:
            await self._desk.stop()
            self._desk = None
        if self._bus is not None:
            self._bus.disconnect()
            with contextlib.suppress(Exception):
                await self._bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
            self._bus = None
        for process in (self._mock, self._daemon):
            if process is None:
                continue
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, WAIT_S)
            if process.stdout is not None:
                process.stdout.close()
        self._mock = self._daemon = None
