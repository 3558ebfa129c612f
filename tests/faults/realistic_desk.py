"""The realistic emulated ESPHome desk and an MQTT desk link on it, for the fault tests of issue 13.

Design: two ways to put the desk beside the link on a real mosquitto. `desk_in_thread` runs the
desk on its own event loop in its own thread on real time (`tests/esphome_thread.py`): a device
apart, so stalling or starving this process does not stall the desk (the busy-machine tests).
`desk_here` runs the desk in the test's own loop, for tests on virtual time held while a message
is on its way (`tests/mqtt_traffic.py`): what the desk does then depends on its physics' seed
only, never on the machine. What a person would notice: no move ends as "something is in the
way" when nothing is, no manual move is reported when nobody touched the desk, and the desk
comes to rest within one unit of the firmware's resolution (0.1 in, `STEP_MM`) of the target's
own step; with the stock firmware, which lets go 0.4 in early, within that early release.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from deskctl.clocks.clock import Clock
from deskctl.config.settings import MqttDeskSettings
from deskctl.links.base import LinkEvent
from deskctl.links.mqtt_desk import MqttDeskLink
from deskctl.sim.esphome_desk import EsphomeDesk
from deskctl.sim.esphome_model import EsphomeDeskModel, EsphomePhysics
from tests.esphome_thread import DeskThread
from tests.mosquitto import Broker

__all__ = [
    "BOUND_S",
    "PREFIX",
    "STEP_MM",
    "STOCK_EARLY_MM",
    "desk_here",
    "desk_in_thread",
    "rest_mm",
    "resting_mm",
    "steps_off",
]

PREFIX = "upsy-desky-real"
STEP_MM = 2.54  # 0.1 in
STOCK_EARLY_MM = 0.4 * 25.4  # the stock Upsy Desky template lets go 0.4 in short of its target
BOUND_S = 120.0


@asynccontextmanager
async def desk_in_thread(
    broker: Broker, physics: EsphomePhysics, *, runs_past_mm: float = 0.0
) -> AsyncIterator[tuple[DeskThread, MqttDeskLink, list[LinkEvent]]]:
    """The desk in a thread of its own on real time, and a link to it in this loop."""
    model = EsphomeDeskModel(height_mm=750, physics=physics, runs_past_mm=runs_past_mm)
    desk = DeskThread(broker.settings(), model, prefix=PREFIX)
    desk.start()
    link = MqttDeskLink("office", broker.settings(), MqttDeskSettings(prefix=PREFIX), Clock())
    events: list[LinkEvent] = []
    link.subscribe(events.append)
    try:
        async with asyncio.timeout(BOUND_S), link:
            yield desk, link, events
    finally:
        desk.stop()


@asynccontextmanager
async def desk_here(
    broker: Broker, physics: EsphomePhysics, *, runs_past_mm: float = 0.0
) -> AsyncIterator[tuple[EsphomeDesk, MqttDeskLink, list[LinkEvent]]]:
    """The desk and a link to it, both in this loop (and on its time)."""
    model = EsphomeDeskModel(height_mm=750, physics=physics, runs_past_mm=runs_past_mm)
    clock = Clock()
    link = MqttDeskLink("office", broker.settings(), MqttDeskSettings(prefix=PREFIX), clock)
    events: list[LinkEvent] = []
    link.subscribe(events.append)
    async with (
        asyncio.timeout(BOUND_S),
        EsphomeDesk(broker.settings(), prefix=PREFIX, clock=clock, model=model) as desk,
        link,
    ):
        yield desk, link, events


async def rest_mm(desk: DeskThread) -> float:
    """Where the desk in its thread comes to rest, as a fresh frame would read it (waits for
    the rest)."""
    model = desk.model
    async with asyncio.timeout(10.0):
        while desk.call(lambda: model.active):  # noqa: ASYNC110 - another thread's desk
            await asyncio.sleep(0.05)
    return desk.call(lambda: model.rest_reading_mm)


async def resting_mm(desk: EsphomeDesk) -> float:
    """Where the desk in this loop comes to rest, as a fresh frame would read it."""
    async with asyncio.timeout(10.0):
        while desk.model.active:  # noqa: ASYNC110 - the desk's motor, stepped by its own task
            await asyncio.sleep(0.05)
    return desk.model.rest_reading_mm


def steps_off(rest_mm: float, target_mm: int) -> int:
    """How many steps of the firmware's resolution the rest lies from the target's own step."""
    return abs(round(rest_mm / STEP_MM) - round(target_mm / STEP_MM))
