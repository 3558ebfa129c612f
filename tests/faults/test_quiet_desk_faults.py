"""A desk that goes quiet at rest, as a real one does: every move still ends, on the truth, at once.

Issue 13. A real LINAK desk notifies its height only while it moves; now and then it sends no
zero-speed report when it stops, and its last report may be from a fraction of a millimetre
before where it rests; a notification may be lost on the radio. deskctl used to wait for zero-
speed reports that never came: a move ran into its overall bound and ended as a timeout (the
desk stopped, the schedule held), a manual move never ended (no move could start after it), and
the height it reported was the last notified one. Now a quiet move reads the height back and
lands on that. These run the simulated desk with its realistic physics and radio, seeded.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.linak import Char, decode_height_speed
from deskctl.errors import MoveError
from deskctl.links.base import LinkEvent, ManualMove
from deskctl.links.linak import LinakLink
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.links import SimLink
from deskctl.sim.model_gatt import ModelGattClient
from deskctl.sim.physics import Physics, Radio, seeded
from deskctl.testing.virtual_time import run_virtual
from tests.faults.tally import counter

pytestmark = pytest.mark.fault
TALLY = counter(__name__)

NEVER_A_ZERO_REPORT = Physics(stop_report_p=0.0)  # the realistic desk at its quietest


def read_back_mm(link: SimLink) -> int:
    return decode_height_speed(link.model.read(Char.HEIGHT_SPEED), link.base_mm).height_mm


async def rests(link: SimLink) -> None:
    while link.model.active:
        await link.clock.sleep(0.1)


@pytest.mark.parametrize("physics", [Physics(), NEVER_A_ZERO_REPORT], ids=["realistic", "quiet"])
def test_sixty_moves_on_a_quiet_desk_land_on_where_it_rests_soon_after_it_stops(
    physics: Physics,
) -> None:
    rng = random.Random(1313)
    latencies_s: list[float] = []

    async def main() -> None:
        clock = Clock()
        link = SimLink("quiet", clock, min_mm=620, max_mm=1270, persist=False, physics=physics)
        async with asyncio.timeout(3600), link:  # virtual seconds
            for n in range(60):
                target_mm = rng.randint(620, 1270)
                if target_mm == link.height_mm:
                    continue
                TALLY.tried()
                landed_mm = await link.move_to(target_mm)  # no timeout, no obstruction
                link.sim_gatt.sync()
                arrived_s = link.model.now_s
                await rests(link)  # a desk creeping in is called arrived just before it rests
                rested_s = link.model.rested_at_s
                assert rested_s is not None
                latencies_s.append(arrived_s - rested_s)
                assert abs(landed_mm - read_back_mm(link)) <= 1, f"move {n}: not where it rests"
                assert abs(landed_mm - target_mm) <= 1, f"move {n}"

    run_virtual(main())
    assert len(latencies_s) >= 55
    assert max(latencies_s) <= 0.4, "arrival is seen soon after the motor stops"
    assert min(latencies_s) >= -0.1, "...and never called long before it stops"


def test_a_manual_move_that_ends_without_a_zero_report_ends_and_the_next_move_runs() -> None:
    events: list[LinkEvent] = []

    async def main() -> None:
        clock = Clock()
        link = SimLink(
            "quiet", clock, min_mm=620, max_mm=1270, persist=False, physics=NEVER_A_ZERO_REPORT
        )
        link.subscribe(events.append)
        async with asyncio.timeout(600), link:
            link.model.press(1)
            link.sim_gatt.poke()
            TALLY.fault()
            await clock.sleep(2.0)
            link.model.press(0)
            await clock.sleep(1.0)  # it ramps down and rests, saying nothing at rest
            manual = [e for e in events if isinstance(e, ManualMove)]
            assert [m.ended for m in manual] == [False, True]
            assert abs(manual[-1].height_mm - read_back_mm(link)) <= 1
            landed_mm = await link.move_to(800)  # not refused as "moved by hand"
            assert abs(landed_mm - 800) <= 1

    run_virtual(main())


class LateReadAnswers(ModelGattClient):
    """A read's answer comes 0.3 s after the desk sampled it (a busy loop, a slow radio), while
    the desk's notifications go on arriving meanwhile."""

    async def read(self, char: Char) -> bytes:
        value = await super().read(char)
        await self.clock.sleep(0.3)
        return value


def test_read_answers_older_than_the_last_notification_end_no_move() -> None:
    # with a third of the notifications lost, moves go quiet mid-way and are read back; an
    # answer older than the notifications after it once ended the move as "someone is using
    # its buttons" (it looked as if the desk had left its path)
    rng = random.Random(77)
    model = DeskModel(height_mm=750, rng=seeded(77))

    async def main() -> None:
        clock = Clock()
        gatt = LateReadAnswers(model, clock, radio=Radio(loss=0.3), rng=seeded(78))
        link = LinakLink("desk", gatt, clock, min_mm=620, max_mm=1270)
        async with asyncio.timeout(3600):
            await link.connect()
            for n in range(20):
                target_mm = rng.randint(620, 1270)
                if abs(target_mm - (link.height_mm or 0)) < 50:
                    continue
                TALLY.fault()
                landed_mm = await link.move_to(target_mm)
                await rests_model(model, clock)
                assert abs(landed_mm - model.height_mm) <= 1, f"move {n}"
            await link.close()

    run_virtual(main())


async def rests_model(model: DeskModel, clock: Clock) -> None:
    while model.active:
        await clock.sleep(0.1)


def test_a_desk_stopped_mid_move_that_sends_no_zero_report_is_shown_at_rest() -> None:
    # after a stop the desk coasts and rests without a word: status once said "moving" for good
    # (and the MQTT bridge waited for the end of a move that had ended)
    async def main() -> None:
        clock = Clock()
        link = SimLink(
            "quiet", clock, min_mm=620, max_mm=1270, persist=False, physics=NEVER_A_ZERO_REPORT
        )
        async with asyncio.timeout(600), link:
            for target_mm in (1200, 700, 1100):
                move = asyncio.create_task(link.move_to(target_mm))
                await clock.sleep(1.5)
                TALLY.fault()
                await link.stop()
                with pytest.raises(MoveError, match="stopped"):
                    await move
                await clock.sleep(1.0)  # the stop reaches the motor, it brakes and rests
                assert not link.model.moving
                assert not link.moving, "the desk rests, and deskctl says so"
                assert link.height_mm == read_back_mm(link)

    run_virtual(main())
