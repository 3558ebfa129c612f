"""Faults of the landings on an MQTT desk bridge with no move-to (issue 16): steps, recalls.

A bridge that only steps (the MicroPython bridge: each `up` holds the keypad's button 0.2 s, and
the link presses again while the desk must go on) is never given a height, so "never a target
outside the limits" means: no press whose travel could carry the desk past them. Two ways it
could, each proven here on the emulated bridge through a real mosquitto:
- the height reports stop mid-move (Wi-Fi, a crashed sensor): pressing on blind until the
  machine's stall bound would run the desk on for seconds; the link presses again only on a
  fresh report, so the desk stops within the press it has;
- the reports lag (an ESPHome-style sensor publishes at most every 0.5 s, plus the radio): the
  last report lies well behind the moving desk, so a press judged on it overshoots; the link
  judges where the desk may be now (the last reports' speed carried on) and presses only while
  one more press keeps it within the limits.
And a memory recall, which the box runs by itself: a link closed during one sends the stop.
The desk's own travel goes on past the desk's limits (its top is 1270 mm, the limit 1000 mm), as
a real desk's does: only deskctl keeps it inside them.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from deskctl.errors import DeskError
from deskctl.links.base import HeightChanged, LinkEvent
from deskctl.sim.esphome_bridges import BridgeDesk
from deskctl.sim.esphome_desk import EsphomePhysics
from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.test_mqtt_bridges import bridge_and_link

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
MAX_MM = 1000


async def _peak_mm(desk: BridgeDesk, until: asyncio.Future[object]) -> float:
    """The highest the desk got while `until` runs, and until it rests after it."""
    peak = desk.model.position_mm
    while not until.done() or desk.model.active:
        peak = max(peak, desk.model.position_mm)
        await asyncio.sleep(0.002)
    return max(peak, desk.model.position_mm)


async def test_lost_height_reports_stop_the_presses_before_the_desk_passes_its_limit(
    mosquitto: Broker,
) -> None:
    async with bridge_and_link(mosquitto, "micropython", height_mm=800, max_mm=MAX_MM) as (
        desk,
        link,
    ):

        def lose_reports(event: LinkEvent) -> None:
            if isinstance(event, HeightChanged) and event.height_mm >= 935 and desk.reporting:
                desk.reporting = False  # the sensor goes silent; the desk still moves
                TALLY.fault()

        link.subscribe(lose_reports)
        move: asyncio.Future[object] = asyncio.ensure_future(link.move_to(990))
        peak = await _peak_mm(desk, move)
        with contextlib.suppress(DeskError):
            await move
        assert not desk.reporting, "the fault happened"
        assert peak <= MAX_MM, f"the desk ran on to {peak:.1f} mm, past its limit of {MAX_MM} mm"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_late_reports_never_let_a_press_carry_the_desk_past_its_limit(
    mosquitto: Broker, seed: int
) -> None:
    physics = EsphomePhysics(seed=seed)  # reports at most every 0.5 s, the radio's delays
    async with bridge_and_link(
        mosquitto, "micropython", height_mm=800, max_mm=MAX_MM, physics=physics
    ) as (desk, link):
        for target_mm in (1000, 850, 995):  # first to the limit itself, with nothing learned
            TALLY.fault()
            move: asyncio.Future[object] = asyncio.ensure_future(link.move_to(target_mm))
            peak = await _peak_mm(desk, move)
            with contextlib.suppress(DeskError):
                await move
            assert peak <= MAX_MM, f"to {target_mm}: the desk got to {peak:.1f} mm"


async def test_a_link_closed_during_a_memory_recall_stops_the_box(mosquitto: Broker) -> None:
    """A recall runs by itself (the box drives to the slot's height), so the landing sends no
    stop of its own: closing the link (the service stopping, a release) must send the bridge's."""
    async with bridge_and_link(mosquitto, "loctek", height_mm=720) as (desk, link):
        seen: asyncio.Queue[LinkEvent] = asyncio.Queue()
        link.subscribe(seen.put_nowait)
        move = asyncio.ensure_future(link.move_to(1100))  # slot 2: the recall
        async with asyncio.timeout(10):
            while not (isinstance(e := await seen.get(), HeightChanged) and e.height_mm > 780):
                pass
        TALLY.fault()
        await link.close()
        with contextlib.suppress(DeskError):
            await move
        async with asyncio.timeout(5):
            while desk.model.active:  # noqa: ASYNC110 - the model has no event to wait on
                await asyncio.sleep(0.01)
        assert desk.model.position_mm < 900, "the box went on to its memory height"
