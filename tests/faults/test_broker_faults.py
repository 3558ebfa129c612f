"""Broker restarts under the service, for an ESPHome desk on a real mosquitto.

tests/test_mqtt_desk.py shows the MQTT desk link alone: a broker dying mid-move ends the move,
and after a restart a fresh connect resumes nothing. Here the whole service runs the desk (built
from settings as `deskctl run` builds it), the broker restarts and crashes several times, and the
person sees the desk go offline, come back by itself (the service reconnects with backoff; the
emulated ESPHome device reconnects and republishes its retained state, as real firmware does),
and take commands again; a command while the broker is down gets one sentence, and the service
never ends. Real time (the broker is another process); every wait is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from deskctl.clocks.clock import Clock
from deskctl.config.settings import DeskSettings, MqttDeskSettings, Settings
from deskctl.errors import LinkError
from deskctl.links.base import ConnectionChanged, LinkEvent
from deskctl.service.assembly import build_service
from deskctl.service.core import Service
from deskctl.sim.esphome_desk import IDEAL, EsphomeDesk, EsphomeDeskModel
from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.service_harness import TZ

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
PREFIX = "upsy-desky-faults"
UPSY_STEP_MM = 2.54
BOUND_S = 60.0  # the whole test, wall time


@pytest.fixture
def quiet_profile(tmp_path: Path) -> str:
    """A profile with no working days: only commands move the desk (the test runs any day)."""
    folder = tmp_path / "deskctl" / "config" / "profiles"
    folder.mkdir(parents=True)
    (folder / "never.toml").write_text('sit = "72cm"\nstand = "110cm"\nweekdays = []\n')
    return "never"


class Connection:
    """The desk link's connection events, waited for with a bound."""

    def __init__(self, service: Service) -> None:
        self.seen: list[bool] = []
        self._changed = asyncio.Condition()
        service.desks["office"].link.subscribe(self._on_event)

    def _on_event(self, event: LinkEvent) -> None:
        if isinstance(event, ConnectionChanged):
            self.seen.append(event.connected)
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def becomes(self, connected: bool, timeout_s: float = 15.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: bool(self.seen) and self.seen[-1] is connected)


@asynccontextmanager
async def service_on(broker: Broker, profile: str) -> AsyncIterator[Service]:
    desk = DeskSettings(
        link="mqtt", profile=profile, mqtt=MqttDeskSettings(preset="upsy", prefix=PREFIX)
    )
    settings = Settings(desks={"office": desk}, mqtt=broker.settings())
    service = build_service(settings, TZ, simulate=False, time_scale=1.0, start_at=None)
    runner = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        service.request_stop()
        await runner


async def move(service: Service, height_mm: int) -> int:
    answer = await service.call("move", args={"height_mm": height_mm})
    landed: int = answer["height_mm"]
    return landed


class Device:
    """The emulated ESPHome device: it reconnects after a broker restart, as real firmware does,
    and says online again with its height (the broker has no persistence: retained state is lost).
    """

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.model = EsphomeDeskModel(height_mm=750, physics=IDEAL)
        self.clock = Clock()
        self.session: EsphomeDesk | None = None

    async def connect(self) -> None:
        await self.close()
        session = EsphomeDesk(
            self.broker.settings(), prefix=PREFIX, clock=self.clock, model=self.model
        )
        await session.__aenter__()
        self.session = session

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.__aexit__(None, None, None)


async def test_broker_restarts_and_a_crash_the_service_reconnects_and_moves_again(
    mosquitto: Broker, quiet_profile: str
) -> None:
    device = Device(mosquitto)
    try:
        async with asyncio.timeout(BOUND_S):
            await device.connect()
            async with service_on(mosquitto, quiet_profile) as service:
                connection = Connection(service)
                await connection.becomes(True)
                assert abs(await move(service, 800) - 800) < UPSY_STEP_MM

                mosquitto.restart()  # a restart: back at once
                TALLY.fault()
                await connection.becomes(False)
                await device.connect()
                await connection.becomes(True)
                assert abs(await move(service, 760) - 760) < UPSY_STEP_MM

                mosquitto.kill()  # a crash: down for a while, and a command meanwhile
                TALLY.fault()
                await connection.becomes(False)
                assert (await service.call("status"))["connected"] is False
                with pytest.raises(LinkError, match="not connected"):
                    await service.call("move", args={"height_mm": 900})
                mosquitto.restart()
                await device.connect()
                await connection.becomes(True)
                assert abs(await move(service, 820) - 820) < UPSY_STEP_MM

                status = await service.call("status")
                assert status["connected"] is True
                assert abs(status["height_mm"] - 820) < UPSY_STEP_MM
    finally:
        await device.close()
    assert connection.seen[0] is True
    assert connection.seen[-1] is True
    assert connection.seen.count(False) >= 2, "each broker loss was noticed"
