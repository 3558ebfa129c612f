"""A link lost mid-move: the desk finishing the move it was given is not a manual move.

Issue 10, item 2. A scheduled move is under way when the link drops: the move fails and the
schedule holds until the person says `resume`. An ESPHome desk goes on to the aim it was given
(its status flaps offline and online a second later, and its reports pause on the way; a real
mosquitto, the whole service driving the emulated Upsy Desky); a LINAK desk on the simulated
model coasts while the service reconnects. Either way the motion towards the old aim must not
read as "Moved by hand", which would clear the hold and let the schedule carry on. A person's
own move afterwards still counts.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from deskctl.service.core import Service
from tests.faults.esphome_service import PREFIX, esphome_service, wait_for
from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.service_harness import Recorded, run_service, sim

pytestmark = pytest.mark.fault
TALLY = counter(__name__)

STATUS = f"{PREFIX}/status"
START = datetime.fromisoformat("2026-11-30T09:29:20+01:00")  # a Monday; 09:30 sit -> stand


@pytest.mark.usefixtures("sit_stand_30_15")
async def test_an_esphome_desk_finishing_its_move_after_a_status_flap_keeps_the_hold(
    mosquitto: Broker,
) -> None:
    # a slow motor (100 mm/s of real time): the 380 mm move lasts long enough for the flap
    async with (
        asyncio.timeout(60),
        esphome_service(
            mosquitto, scale=10, speed_mm_s=10.0, start=START, min_mm=620, max_mm=1270
        ) as h,
    ):
        link, scheduler = h.runner.link, h.runner.scheduler
        await wait_for(lambda: "move_started" in h.kinds(), timeout_s=20)
        await wait_for(lambda: (link.height_mm or 0) >= 760)
        await h.publish(STATUS, "offline", retain=True)  # as the device's last will says it
        TALLY.fault()
        await wait_for(lambda: scheduler.held is not None)
        lost_at_mm = link.height_mm or 0
        await wait_for(lambda: (link.height_mm or 0) >= lost_at_mm + 20)  # it carries on
        h.desk.reporting = False  # and its reports pause for longer than the link's settle time
        TALLY.fault()
        await h.clock.sleep(1.0)
        h.desk.reporting = True
        await h.publish(STATUS, "online", retain=True)
        await wait_for(lambda: not h.desk.model.active)
        landed_mm = h.desk.model.reading_mm
        assert landed_mm > 1050, "the firmware finished the move it was given"
        await wait_for(lambda: not link.moving and link.connected)
        status = await h.service.call("status")  # after every event the link sent so far
        assert abs(status["height_mm"] - landed_mm) < 3
        assert "manual_move" not in h.kinds(), "finishing the old move is not a manual move"
        assert status["held"] is not None, "the hold stays until resume"
        assert scheduler.held is not None

        # a person's own move afterwards is one, and ends the hold as before
        h.desk.press(-1)
        await wait_for(lambda: (link.height_mm or 2000) < landed_mm - 100)
        h.desk.press(0)
        await wait_for(lambda: "manual_move" in h.kinds())
        await wait_for(lambda: scheduler.held is None)


def _drop_mid_move(script_after: Any) -> Recorded:
    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        runner = service.desks["desk"]
        async with asyncio.timeout(600):  # virtual seconds
            await wait_for(lambda: "move_started" in recorded.kinds(), timeout_s=600)
            await wait_for(lambda: (link.height_mm or 0) >= 800)
            link.sim_gatt.drop()  # the motor runs on until its renewals lapse, unseen
            TALLY.fault()
            await wait_for(lambda: runner.scheduler.held is not None)
            await wait_for(lambda: link.connected and not link.model.active, timeout_s=120)
            await script_after(service, recorded, link)

    return run_service(START, script)


def test_a_linak_desk_coasting_after_a_drop_keeps_the_hold() -> None:
    async def after(service: Service, recorded: Recorded, link: Any) -> None:
        await service.call("status")
        assert "manual_move" not in recorded.kinds()
        assert service.desks["desk"].scheduler.held is not None

    _drop_mid_move(after)


def test_a_linak_desk_that_reconnects_while_it_still_moves_keeps_the_hold() -> None:
    """A reconnect within the desk's run-on (a real LINAK desk halts about a second after the
    last renewal; a quick BlueZ reconnect can beat that): the reports show it still moving."""

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        runner = service.desks["desk"]
        link.model.reference_hold_s = 4.0  # a desk that runs on longer than the reconnect takes
        await wait_for(lambda: "move_started" in recorded.kinds(), timeout_s=600)
        await wait_for(lambda: (link.height_mm or 0) >= 800)
        link.sim_gatt.drop()
        TALLY.fault()
        await wait_for(lambda: runner.scheduler.held is not None)
        await wait_for(lambda: link.connected, timeout_s=60)
        seen_moving = link.model.moving
        await wait_for(lambda: not link.model.active, timeout_s=60)
        await service.call("status")
        assert seen_moving, "the desk still moved when the link came back"
        assert "manual_move" not in recorded.kinds()
        assert runner.scheduler.held is not None

    run_service(START, script)
