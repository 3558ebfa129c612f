"""How a Jiecang move is commanded, as tables: the ways to try, memory slots, tolerances, the
commanders' frames, and the landing machine driven by hand with each commander."""

from __future__ import annotations

import pytest

from deskctl.core import jiecang_landing as jl
from deskctl.core.jiecang import DisplayUnit, FrameReader, Op
from deskctl.core.landing import LandingMachine, Phase
from deskctl.core.vocab import Outcome

CM, INCH = DisplayUnit.CM, DisplayUnit.INCH


def ops(frames: tuple[bytes, ...]) -> list[int]:
    reader = FrameReader()
    return [op for frame in frames for op, _ in reader.feed(frame)]


@pytest.mark.parametrize(
    ("move_to", "memories", "unit", "expected"),
    [
        (None, {}, CM, [(jl.Way.MOVE_TO, None), (jl.Way.STEPS, None)]),
        (True, {2: 1100}, CM, [(jl.Way.MOVE_TO, None), (jl.Way.MEMORY, 2), (jl.Way.STEPS, None)]),
        (False, {2: 1100}, CM, [(jl.Way.MEMORY, 2), (jl.Way.STEPS, None)]),
        (False, {1: 1099}, CM, [(jl.Way.STEPS, None)]),  # a millimetre off is not the target
        (False, {3: 433}, INCH, [(jl.Way.MEMORY, 3), (jl.Way.STEPS, None)]),  # 43.3 in = 1100 mm
        (False, {}, CM, [(jl.Way.STEPS, None)]),
    ],
)
def test_the_ways_to_try_in_order(
    move_to: bool | None,
    memories: dict[int, int],
    unit: DisplayUnit,
    expected: list[tuple[jl.Way, int | None]],
) -> None:
    assert jl.plan(1100, move_to=move_to, memories=memories, unit=unit) == expected


@pytest.mark.parametrize(
    ("way", "unit", "tolerance_mm"),
    [
        (jl.Way.MOVE_TO, CM, 1),
        (jl.Way.MOVE_TO, INCH, 2),
        (jl.Way.MEMORY, CM, 1),
        (jl.Way.STEPS, CM, 6),
        (jl.Way.STEPS, INCH, 5),
    ],
)
def test_tolerances(way: jl.Way, unit: DisplayUnit, tolerance_mm: int) -> None:
    assert jl.tolerance_mm(way, unit) == tolerance_mm
    assert jl.config(way, unit, min_mm=650, max_mm=1300, distance_mm=300).tolerance_mm == (
        tolerance_mm
    )


def test_a_longer_move_is_given_longer() -> None:
    short = jl.config(jl.Way.STEPS, CM, min_mm=650, max_mm=1300, distance_mm=20)
    long = jl.config(jl.Way.STEPS, CM, min_mm=650, max_mm=1300, distance_mm=-600)
    assert long.move_timeout_s > short.move_timeout_s >= 20


def test_the_commanders_frames() -> None:
    assert jl.DirectCommander().aim(1130.4, 1) == (bytes.fromhex("f1f11b02046a8b7e"), 1130)
    assert jl.DirectCommander(recall=4).aim(900, -1)[0] == bytes.fromhex("f1f12800287e")
    assert jl.DirectCommander(due_mm=1000).aim(1001, 1)[1] == 1000  # a nudge: due at once
    assert jl.DirectCommander().stop(1000) is None
    steps = jl.StepCommander()
    assert steps.aim(1000, 1) == (bytes.fromhex("f1f10100017e"), 1000)
    assert steps.aim(1000, -1)[0] == bytes.fromhex("f1f10200027e")
    assert steps.stop(None) == bytes.fromhex("f1f12b002b7e")
    assert steps.resolution_mm == jl.STEP_MM


def test_a_direct_move_lands_by_itself_with_no_stop_sent() -> None:
    config = jl.config(jl.Way.MOVE_TO, CM, min_mm=650, max_mm=1300, distance_mm=300)
    machine = LandingMachine("d", jl.DirectCommander(), config, lead_mm=0.0)
    machine.report(800, 0.0)
    start = machine.start(1100, 0.0)
    assert ops(start.commands) == [Op.MOVE_TO]
    sent: list[int] = []
    t = 0.0
    for height in range(810, 1101, 10):
        t += 0.25
        sent += ops(machine.report(height, t).commands)
    assert sent == [], "the box ramps down by itself: no stop at the aim"
    assert machine.phase is Phase.LANDING
    landed = machine.tick(t + config.settle_s)
    assert landed.outcome is Outcome.ARRIVED
    assert landed.height_mm == 1100


def test_a_collision_s_back_off_is_no_hand_on_the_paddle() -> None:
    config = jl.config(jl.Way.MOVE_TO, CM, min_mm=650, max_mm=1300, distance_mm=400)
    machine = LandingMachine("d", jl.DirectCommander(), config, lead_mm=0.0)
    machine.report(800, 0.0)
    machine.start(1200, 0.0)
    for t, height in enumerate((850, 900, 895, 890), start=1):
        assert machine.report(height, t * 0.25).outcome is None
    ended = machine.tick(1.0 + config.stall_s)
    assert ended.outcome is Outcome.OBSTRUCTION
    assert ops(ended.commands) == []  # the link adds the 2B for a direct way
    machine2 = LandingMachine("d", jl.DirectCommander(), config, lead_mm=0.0)
    machine2.report(800, 0.0)
    machine2.start(1200, 0.0)
    machine2.report(900, 0.5)
    assert machine2.report(880, 0.75).outcome is Outcome.MANUAL_PRESS  # 20 mm back: a person


def test_stepping_aims_short_by_the_run_on_and_stops_at_the_aim() -> None:
    config = jl.config(jl.Way.STEPS, CM, min_mm=650, max_mm=1300, distance_mm=300)
    machine = LandingMachine("d", jl.StepCommander(), config, lead_mm=6.0)
    machine.report(800, 0.0)
    start = machine.start(1100, 0.0)
    assert ops(start.commands) == [Op.UP]
    assert machine.aim_mm == 1094
    stop = machine.report(1094, 8.0)
    assert ops(stop.commands) == [Op.STOP]
    machine.report(1099, 8.2)
    landed = machine.tick(8.2 + config.settle_s)
    assert landed.outcome is Outcome.ARRIVED
    assert machine.lead_mm == pytest.approx((6.0 + 5) / 2)  # the run-on past the aim, learned


@pytest.mark.parametrize(
    ("goal_mm", "quiet_s", "due"),
    [
        (800.0, 0.3, True),  # far behind the aim: step again
        (800.0, 0.2, False),  # too soon after the last step
        (1093.0, 0.5, True),  # a millimetre short of a step past the aim
        (1094.0, 0.5, False),  # a step past the aim already: no more
    ],
)
def test_when_the_next_step_is_due(goal_mm: float, quiet_s: float, due: bool) -> None:
    assert (
        jl.step_due(goal_mm, 1080, 1, step_mm=14.0, steps_ahead=1, quiet_s=quiet_s, every_s=0.3)
        is due
    )


@pytest.mark.parametrize(
    ("previous", "latest", "direction", "due_s"),
    [
        ((1000, 0.0), (1008, 0.25), 1, 0.25),  # 32 mm/s, 8 mm to go
        ((1000, 0.0), (1008, 0.25), -1, None),  # heading away
        ((1000, 0.0), (1001, 0.25), 1, None),  # 4 mm/s: too slow to tell
        ((1000, 0.0), (990, 0.25), 1, None),  # moving back
        ((1000, 0.0), (1016, 0.25), 1, None),  # already past
        ((1000, 0.0), (1004, 0.25), 1, None),  # 12 mm at 16 mm/s: a report comes first
        ((1000, 0.25), (1004, 0.25), 1, None),  # no time between the two
    ],
)
def test_when_the_desk_passes_the_aim_between_reports(
    previous: tuple[int, float], latest: tuple[int, float], direction: int, due_s: float | None
) -> None:
    aim_mm = 1016 if direction > 0 else 990
    got = jl.aim_due_in_s(previous, latest, aim_mm, direction, within_s=0.35)
    assert got == (None if due_s is None else pytest.approx(due_s))
