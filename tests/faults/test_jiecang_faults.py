"""A Jiecang desk never moves wrongly: limits, wrong units, noise, lost stops, lost links.

Issue 14. The real Jiecang link against the simulated box (realistic physics, virtual time):
- a target outside the desk's limits, or outside the box's own narrower limits, is refused
  before any byte leaves;
- a display unit set wrong (cm on an inch box) makes every height implausible: the link refuses
  to move rather than move by a height it cannot read;
- frames with a wrong checksum (a height of 0 among them) are dropped, never taken for heights;
- a box whose stop (2B) is lost while stepping runs at most one step past the aim, and the move
  still ends (no endless stepping);
- a box that moves on neither 1B nor steps ends in an obstruction, and the stepping stops;
- a link lost mid-move: the box finishing the 1B it was given is not a person's move;
- a collision: the box backing off by itself is an obstruction, not a hand on the paddle;
- stepping, a correction that backs off to come again is stepped and stopped, not one step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.jiecang import DisplayUnit, Op, encode_report
from deskctl.errors import HeightError, LinkError, MoveError, Obstruction
from deskctl.links.base import LinkEvent, ManualMove
from deskctl.sim.jiecang_links import SimJiecangLink
from deskctl.sim.physics import IDEAL
from deskctl.testing.virtual_time import run_virtual
from tests.faults.tally import counter

pytestmark = pytest.mark.fault
TALLY = counter(__name__)


def on_sim(
    body: Callable[[SimJiecangLink], Awaitable[None]], *, min_mm: int = 620, **options: object
) -> None:
    async def main() -> None:
        link = SimJiecangLink(
            "desk",
            Clock(),
            min_mm=min_mm,
            max_mm=1300,
            persist=False,
            seed=5,
            **options,  # type: ignore[arg-type]
        )
        async with link:
            await body(link)

    run_virtual(main())


def ops(link: SimJiecangLink) -> list[int]:
    return [op for _, op, _ in link.model.writes]


def test_a_target_outside_the_box_s_own_limits_is_refused_before_anything_is_sent() -> None:
    async def body(link: SimJiecangLink) -> None:
        assert (link.min_mm, link.max_mm) == (650, 1300), "the box's limits narrow the settings"
        link.model.writes.clear()
        for target_mm in (630, 1301, 0):
            TALLY.fault()
            with pytest.raises(HeightError):
                await link.move_to(target_mm)
        assert ops(link) == []

    on_sim(body, min_mm=620)


def test_a_1b_outside_the_limits_never_leaves_the_write_path() -> None:
    async def body(link: SimJiecangLink) -> None:
        from deskctl.core.jiecang import encode_move_to

        link.model.writes.clear()
        TALLY.fault()
        link._send(encode_move_to(1400))  # as a bug in a later change might
        link._send(encode_move_to(600))
        await link._drained()
        assert Op.MOVE_TO not in ops(link)

    on_sim(body)


def test_a_wrong_display_unit_setting_refuses_to_move_instead_of_guessing() -> None:
    async def body(link: SimJiecangLink) -> None:
        TALLY.fault()
        assert link.height_mm is None
        assert link.dropped_reports >= 1
        link.model.writes.clear()
        with pytest.raises(LinkError, match="height"):
            await link.move_to(1000)
        assert Op.MOVE_TO not in ops(link)
        assert Op.UP not in ops(link)

    on_sim(body, unit=DisplayUnit.INCH, unit_setting=DisplayUnit.CM)


def test_frames_with_a_wrong_checksum_are_dropped_not_taken_for_heights() -> None:
    async def body(link: SimJiecangLink) -> None:
        before = link.height_mm
        for height in (0, 400, 1299):
            frame = bytearray(encode_report(0x01, height.to_bytes(2, "big") + b"\x07"))
            frame[-2] ^= 0x5A  # the checksum
            TALLY.fault()
            link._on_notification(bytes(frame))
        assert link.height_mm == before
        assert link.dropped_frames == 3

    on_sim(body)


def test_a_lost_stop_while_stepping_runs_at_most_a_step_past_the_aim() -> None:
    async def body(link: SimJiecangLink) -> None:
        model = link.model
        write = model.write
        lost: list[bytes] = []

        def lose_stops(data: bytes) -> None:
            if data[2:3] != bytes((Op.STOP,)):
                write(data)
            else:
                TALLY.fault()
                lost.append(data)

        model.write = lose_stops  # type: ignore[method-assign]
        highest = [0.0]

        def watch(_: LinkEvent) -> None:
            highest[0] = max(highest[0], model.motor.pos_mm)

        link.subscribe(watch)
        with contextlib.suppress(MoveError):  # it may land after all, a step past, or give up
            await link.move_to(1000)
        await link.clock.sleep(10.0)
        assert lost, "the link sent stops, and they were lost"
        assert highest[0] <= 1000 + 2 * 14, "the aim lies short of the target; one step past it"
        assert not model.moving

    on_sim(body, move_to=False)


def test_a_box_that_moves_on_nothing_ends_in_an_obstruction_and_stepping_stops() -> None:
    async def body(link: SimJiecangLink) -> None:
        link.model.collision_mm = 751  # something in the way, right above
        TALLY.fault()
        with pytest.raises((Obstruction, MoveError)):
            await link.move_to(1100)
        link.model.writes.clear()
        await link.clock.sleep(10.0)
        assert Op.UP not in ops(link)

    on_sim(body, move_to=False)


def test_a_box_finishing_its_1b_after_a_lost_link_is_no_manual_move() -> None:
    events: list[LinkEvent] = []

    async def body(link: SimJiecangLink) -> None:
        link.subscribe(events.append)

        async def cut() -> None:
            await link.clock.sleep(2.0)
            TALLY.fault()
            link.sim_gatt.drop()

        task = asyncio.create_task(cut())
        with pytest.raises(LinkError):
            await link.move_to(1200)
        await task
        await link.connect()
        await link.clock.sleep(20.0)
        assert abs(link.model.motor.pos_mm - 1200) <= 1.0, "the box finished its 1B by itself"

    on_sim(body)
    assert [e for e in events if isinstance(e, ManualMove)] == []


@pytest.mark.parametrize("move_to", [True, False])
def test_a_collision_is_an_obstruction_not_a_hand_on_the_paddle(move_to: bool) -> None:
    """The box stops at the obstacle and backs off about 10 mm by itself: that motion back is
    its anti-collision, not a person (found while building the link: a 1B move read it as one)."""
    events: list[LinkEvent] = []

    async def body(link: SimJiecangLink) -> None:
        link.subscribe(events.append)
        link.model.collision_mm = 900
        TALLY.fault()
        with pytest.raises(Obstruction, match="something may be in the way"):
            await link.move_to(1200)
        assert abs(link.model.height_mm - 890) <= 1

    on_sim(body, move_to=move_to)


def test_a_back_off_while_stepping_is_stepped_and_stopped_not_one_step_the_wrong_way() -> None:
    """A box whose steps are shorter than the link's 14 mm (13 here) on an inch display: a short
    move overshoots, the correction undershoots, and the second correction backs off 40 mm to
    come again as a whole move. The back-off was sent as one step (the target is close), which
    went 13 mm of the 40 and ended the move as an obstruction; it is stepped and stopped, and
    the move lands within half a step."""

    async def body(link: SimJiecangLink) -> None:
        link.model.step_mm = 13.0
        await link.move_to(1000)
        sent = len(link.model.writes)
        TALLY.fault()
        await link.move_to(1007)
        assert abs(link.model.motor.pos_mm - 1007) <= 7.0
        assert Op.STOP in [op for _, op, _ in link.model.writes[sent:]], "the back-off is stopped"

    on_sim(body, unit=DisplayUnit.INCH, move_to=False, physics=IDEAL)
