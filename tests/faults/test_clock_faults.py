"""Clock jumps, forward and back, at rest and in the middle of a move.

The service runs on the simulated desk and virtual time; `clock.jump(s)` moves wall time (not
monotonic time) as a suspend, an NTP step or a wrong manual setting does. tests/
test_service_safety.py covers a 2 h jump forward at rest. These add the clock set back an hour,
jumps either way while the desk moves (the move is timed on the monotonic clock, so it still
lands and nothing fires twice), and two things this suite found and the schedule now gets right
(docs/robustness.md): a short jump does not put the next change off by a whole block, and a
jump during a move plans from the posture the desk is going to, not the one it leaves.
"""

from __future__ import annotations

import itertools
import logging
from datetime import datetime, timedelta

import pytest

from deskctl.service.core import Service
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded, run_service, sim

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)
SIT_MM, STAND_MM = 720, 1100
WARN_S = 30


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute, second=second)


async def until(service: Service, when: datetime) -> None:
    await service.clock.sleep((when - service.clock.now()).total_seconds())


def after_jump(
    recorded: Recorded, since: int, kind: str
) -> list[tuple[datetime, dict[str, object]]]:
    """Events of `kind` recorded after the first `since` events (wall times repeat after a jump
    back, so the order of recording tells before from after)."""
    return [(at_, f) for _, at_, k, f in recorded.events[since:] if k == kind]


def assert_no_burst(moves: list[tuple[datetime, dict[str, object]]]) -> None:
    times = [when for when, _ in moves]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(gap >= 14 * 60 for gap in gaps), f"moves too close together: {gaps}"


def assert_each_warned(recorded: Recorded, since: int) -> None:
    warned = {f["start"] for _, f in after_jump(recorded, since, "warning")}
    for when, _ in after_jump(recorded, since, "move_started"):
        assert when.isoformat() in warned, f"the move at {when:%H:%M:%S} was warned first"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_clock_set_back_an_hour_moves_nothing_until_the_plan_says_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.service")
    mark: list[int] = []

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 40))  # standing since 09:30
        mark.append(len(recorded.events))
        service.clock.jump(-3600)  # now it says 08:40, before work
        TALLY.fault()
        await until(service, at(8, 59, 20))
        assert after_jump(recorded, mark[0], "move_started") == [], "nothing moved meanwhile"
        assert sim(service).model.height_mm == STAND_MM
        await until(service, at(10, 20))

    recorded = run_service(START, script)
    assert "the clock jumped back by 1 h; re-planning" in caplog.text
    moves = after_jump(recorded, mark[0], "move_started")
    assert [(when.strftime("%H:%M"), f["target_mm"]) for when, f in moves][:2] == [
        ("09:00", SIT_MM),
        ("09:30", STAND_MM),
    ], "the day starts again as planned"
    assert_no_burst(moves)
    assert_each_warned(recorded, mark[0])


@pytest.mark.parametrize("jump_s", [2 * 3600, -2 * 3600])
@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_jump_while_the_desk_moves_lets_the_move_land_and_fires_nothing_twice(
    jump_s: int,
) -> None:
    mark: list[int] = []

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 30, 3))
        assert link.moving, "the 09:30 move to standing is under way"
        mark.append(len(recorded.events))
        service.clock.jump(jump_s)
        TALLY.fault()
        await service.clock.sleep(30)
        assert link.model.height_mm == STAND_MM, "the move landed, timed on the monotonic clock"
        await service.clock.sleep(3 * 3600)

    recorded = run_service(START, script)
    ended = after_jump(recorded, mark[0], "move")
    assert ended[0][1]["outcome"] == "arrived"
    assert ended[0][1]["to_mm"] == STAND_MM
    moves = after_jump(recorded, mark[0], "move_started")
    assert moves, "the day goes on"
    first_after = moves[0][0] - ended[0][0]
    assert first_after >= timedelta(minutes=14), "no move right after the jump"
    assert_no_burst(moves)
    assert_each_warned(recorded, mark[0])


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_short_jump_does_not_put_the_next_change_off_by_a_whole_block() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 20))
        service.clock.jump(90)  # a short suspend, or an NTP step
        TALLY.fault()
        await until(service, at(10))

    recorded = run_service(START, script)
    stands = [when for when, f in recorded.of("move_started") if f["target_mm"] == STAND_MM]
    assert stands, "the person stood up before 10:00"
    assert stands[0] <= at(9, 31, 30), f"the stand came at {stands[0]:%H:%M:%S}"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_after_a_jump_during_a_move_the_plan_follows_the_posture_the_desk_reached() -> None:
    mark: list[int] = []

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 30, 3))
        mark.append(len(recorded.events))
        service.clock.jump(2 * 3600)
        TALLY.fault()
        await service.clock.sleep(3600)

    recorded = run_service(START, script)
    warnings = after_jump(recorded, mark[0], "warning")
    assert warnings[0][1]["posture"] == "sit", "standing now: the next change is to sit"
