"""A recording `org.freedesktop.Notifications` server on a private D-Bus session bus, for tests.

- `private_session_bus()`: starts `dbus-daemon` with a minimal config of its own (a socket in a
  fresh temporary folder, no service activation, so no real notification daemon is ever started)
  and yields the bus address. Without `dbus-daemon` the test fails saying how to install it.
- `NotificationRecorder`: the server's interface. It answers `GetCapabilities` and
  `GetServerInformation`, records every `Notify` (returning ids 1, 2, ...) and `CloseNotification`,
  and can play the person pressing a button (`press`, the `ActionInvoked` signal).
  `wait_until(predicate)` waits, bounded, for the calls a test expects.
- `recording_server(address)`: connects to the bus, exports the interface and owns the name.
"""

# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from the
# annotations at class creation.

import asyncio
import selectors
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from dbus_fast import Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusDict, DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

__all__ = ["Closed", "NotificationRecorder", "Notified", "private_session_bus", "recording_server"]

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
WAIT_S = 10.0

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={folder}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

DBusStrList = Annotated[list[str], DBusSignature("as")]
ServerInfo = Annotated[tuple[str, str, str, str], DBusSignature("ssss")]


@dataclass(frozen=True)
class Notified:
    """One `Notify` call as the server saw it; hints unwrapped from their variants."""

    id: int
    app_name: str
    summary: str
    body: str
    actions: tuple[str, ...]
    hints: dict[str, Any]
    expire_timeout_ms: int

    def action_keys(self) -> dict[str, str]:
        """The buttons offered: action key -> label (the list comes in pairs)."""
        return dict(zip(self.actions[::2], self.actions[1::2], strict=True))


@dataclass(frozen=True)
class Closed:
    id: int


class NotificationRecorder(ServiceInterface):
    """`org.freedesktop.Notifications` that shows nothing and remembers everything.

    The methods and signals carry their D-Bus names (CamelCase), as the protocol spells them.
    """

    def __init__(self) -> None:
        super().__init__(NAME)
        self.calls: list[Notified | Closed] = []
        self._changed = asyncio.Event()
        self._next_id = 1

    @property
    def notified(self) -> list[Notified]:
        return [call for call in self.calls if isinstance(call, Notified)]

    def _record(self, call: Notified | Closed) -> None:
        self.calls.append(call)
        self._changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
        """Return once `predicate()` holds; fail the test after `timeout_s`."""
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    @dbus_method()
    def GetCapabilities(self) -> DBusStrList:
        return ["actions", "body", "body-markup"]

    @dbus_method()
    def GetServerInformation(self) -> ServerInfo:
        return ("deskctl-test-recorder", "deskctl", "1.0", "1.2")

    @dbus_method()
    def Notify(
        self,
        app_name: DBusStr,
        replaces_id: DBusUInt32,
        app_icon: DBusStr,
        summary: DBusStr,
        body: DBusStr,
        actions: DBusStrList,
        hints: DBusDict,
        expire_timeout: DBusInt32,
    ) -> DBusUInt32:
        notification_id = replaces_id or self._next_id
        self._next_id += 1
        unwrapped = {k: v.value if isinstance(v, Variant) else v for k, v in hints.items()}
        self._record(
            Notified(
                notification_id, app_name, summary, body, tuple(actions), unwrapped, expire_timeout
            )
        )
        return notification_id

    @dbus_method()
    def CloseNotification(self, notification_id: DBusUInt32) -> None:
        self._record(Closed(notification_id))
        self.NotificationClosed(notification_id, 3)

    @dbus_signal()
    def NotificationClosed(
        self, notification_id: int, reason: int
    ) -> Annotated[tuple[int, int], DBusSignature("uu")]:
        return (notification_id, reason)

    @dbus_signal()
    def ActionInvoked(
        self, notification_id: int, action_key: str
    ) -> Annotated[tuple[int, str], DBusSignature("us")]:
        return (notification_id, action_key)

    def press(self, notification_id: int, action_key: str) -> None:
        """The person presses a button on a notification."""
        self.ActionInvoked(notification_id, action_key)


@asynccontextmanager
async def recording_server(address: str) -> AsyncIterator[NotificationRecorder]:
    """A recorder owning `org.freedesktop.Notifications` on the bus at `address`."""
    bus = await MessageBus(bus_address=address).connect()
    recorder = NotificationRecorder()
    bus.export(PATH, recorder)
    await bus.request_name(NAME)
    try:
        yield recorder
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]


def _read_address(daemon: subprocess.Popen[bytes]) -> str:
    """The first line dbus-daemon prints, waited for at most WAIT_S."""
    stdout = daemon.stdout
    if stdout is None:
        raise RuntimeError("dbus-daemon was started without a stdout pipe")
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        if not selector.select(WAIT_S):
            pytest.fail(f"dbus-daemon printed no address within {WAIT_S:g} s")
    address = stdout.readline().decode().strip()
    if not address:
        err = daemon.stderr.read().decode() if daemon.stderr else ""
        pytest.fail(f"dbus-daemon did not start: {err.strip() or 'no output'}")
    return address


@contextmanager
def private_session_bus() -> Iterator[str]:
    """A throwaway session bus; yields its address and stops the daemon afterwards."""
    program = shutil.which("dbus-daemon")
    if program is None:
        pytest.fail(
            "dbus-daemon is not installed, and the desktop notification tests need a private "
            "session bus: run scripts/setup (or `apt-get install dbus-daemon`)"
        )
    with tempfile.TemporaryDirectory(prefix="deskctl-dbus-") as folder:
        config = Path(folder) / "bus.conf"
        config.write_text(_CONFIG.format(folder=folder), encoding="utf-8")
        daemon = subprocess.Popen(
            [program, f"--config-file={config}", "--print-address", "--nofork"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            yield _read_address(daemon)
        finally:
            daemon.terminate()
            try:
                daemon.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(WAIT_S)
            for pipe in (daemon.stdout, daemon.stderr):
                if pipe is not None:
                    pipe.close()
