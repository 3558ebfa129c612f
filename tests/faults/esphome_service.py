"""The service driving an emulated ESPHome desk on a real mosquitto, on one scaled clock.

Design: as `deskctl run` builds it (open_link, DeskRunner, Service), but with a `Clock` that the
emulated desk's motor shares, so a scheduled change can come within a second of real time and
the motor and the link's timing run equally fast. `Harness` gives the test what a person sees:
the events the service emitted, and a plain MQTT client that plays anything else on the broker
(a firmware publishing nonsense, a device whose status flaps).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from deskctl.clocks.clock import Clock
from deskctl.config.cue_library import load_cues
from deskctl.config.profile_library import active_profile
from deskctl.config.settings import DeskSettings, MqttDeskSettings
from deskctl.links.mqtt_broker import broker_client
from deskctl.links.mqtt_desk import MqttDeskLink
from deskctl.service.assembly import open_link
from deskctl.service.core import Service
from deskctl.service.desk import DeskRunner
from deskctl.sim.esphome_desk import IDEAL, EsphomeDesk, EsphomeDeskModel
from tests.mosquitto import Broker
from tests.service_harness import TZ

__all__ = ["PREFIX", "Harness", "esphome_service", "wait_for"]

PREFIX = "esp1"
DESK = "office"


async def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll `condition` every 10 ms until it holds; TimeoutError after `timeout_s` (seconds of
    the loop's time: real, or virtual under `run_virtual`)."""
    async with asyncio.timeout(timeout_s):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


@dataclass
class Harness:
    service: Service
    desk: EsphomeDesk
    clock: Clock
    publisher: Any  # an aiomqtt.Client of the test's own
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def runner(self) -> DeskRunner:
        return self.service.desks[DESK]

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    async def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        await self.publisher.publish(topic, payload, qos=1, retain=retain)


@asynccontextmanager
async def esphome_service(
    broker: Broker,
    *,
    profile: str = "default",
    preset: str = "upsy",
    scale: float = 1.0,
    start: datetime | None = None,
    height_mm: int = 750,
    min_mm: int = 650,
    max_mm: int = 1250,
    speed_mm_s: float = 38.0,
) -> AsyncIterator[Harness]:
    clock = Clock(scale=scale, start=start, tz=TZ)
    cover = preset == "cover"
    model = EsphomeDeskModel(
        "cover" if cover else "upsy", height_mm=height_mm, speed_mm_s=speed_mm_s, physics=IDEAL
    )
    emulator = EsphomeDesk(
        broker.settings(), prefix=PREFIX, preset=model.preset, clock=clock, model=model
    )
    extra: dict[str, Any] = {"cover_min_mm": 620, "cover_max_mm": 1270} if cover else {}
    settings = DeskSettings(
        link="mqtt",
        min_mm=min_mm,
        max_mm=max_mm,
        profile=profile,
        mqtt=MqttDeskSettings(preset=preset, prefix=PREFIX, **extra),
    )
    service = Service(clock)
    link = open_link(DESK, settings, clock, broker=broker.settings())
    if isinstance(link, MqttDeskLink):  # a busy machine's late report is not a stalled desk
        link.timing = replace(link.timing, landing=replace(link.timing.landing, stall_s=30.0))
    runner = DeskRunner(
        DESK,
        link,
        active_profile(DESK, profile),
        clock=clock,
        tz=TZ,
        cues=load_cues(),
        emit=service.publish,
        post=service.post,
    )
    service.add_desk(runner)
    async with emulator, broker_client(broker.settings()) as publisher:
        harness = Harness(service, emulator, clock, publisher)
        service.subscribe(lambda e: harness.events.append((e.kind, e.fields())))
        task = asyncio.create_task(service.run())
        try:
            await wait_for(lambda: link.connected and link.height_mm is not None)
            yield harness
        finally:
            service.request_stop()
            await task
