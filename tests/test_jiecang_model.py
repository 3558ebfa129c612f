"""The simulated Jiecang box: what it does with each command, its reports, sleep, errors, faults."""

from __future__ import annotations

import random

import pytest

from deskctl.core.jiecang import (
    DisplayUnit,
    ErrorReport,
    HeightReport,
    LimitsReport,
    MemoryReport,
    Op,
    ReportParser,
    UnitReport,
    encode,
    encode_move_to,
)
from deskctl.sim.jiecang_model import HOT_REST_S, JiecangModel
from deskctl.sim.physics import IDEAL, REALISTIC, Physics


def run(box: JiecangModel, seconds: float, parser: ReportParser | None = None) -> list[object]:
    parser = parser or ReportParser()
    return [r for frame in box.advance(seconds) for r in parser.reports(frame)]


def settle(box: JiecangModel, limit_s: float = 60.0) -> list[object]:
    seen: list[object] = []
    waited = 0.0
    while box.active and waited < limit_s:
        seen += run(box, 0.5)
        waited += 0.5
    seen += run(box, 0.5)
    return seen


def test_move_to_lands_on_the_target_with_the_box_s_own_ramp() -> None:
    box = JiecangModel(height_mm=750, physics=IDEAL)
    box.write(encode_move_to(1130))
    reports = settle(box)
    assert box.height_mm == 1130
    heights = [r.tenths for r in reports if isinstance(r, HeightReport)]
    assert heights[-1] == 1130
    assert len(heights) > 5  # a few reports a second while moving
    assert heights == sorted(heights)


def test_a_box_at_rest_is_quiet() -> None:
    box = JiecangModel(physics=IDEAL)
    assert run(box, 10.0) == []


def test_a_box_without_move_to_ignores_it() -> None:
    box = JiecangModel(move_to=False, physics=IDEAL)
    box.write(encode_move_to(1000))
    assert settle(box) == []
    assert box.height_mm == 750


def test_steps_move_about_14_mm_and_repeated_steps_run_on() -> None:
    box = JiecangModel(height_mm=800, physics=IDEAL)
    box.write(encode(Op.UP))
    settle(box)
    assert box.height_mm == 814
    for _ in range(3):
        box.write(encode(Op.DOWN))
        run(box, 0.1)
    settle(box)
    assert box.height_mm == 800 - 28


def test_stop_brakes_after_its_latency_and_runs_on_a_little() -> None:
    late = Physics(stop_delay_s=(0.1, 0.1), landing_mm=0.0, speed_spread=0.0, load_change=0.0)
    box = JiecangModel(height_mm=700, physics=late)
    box.write(encode_move_to(1200))
    run(box, 3.0)
    at_stop = box.motor.pos_mm
    box.write(encode(Op.STOP))
    settle(box)
    assert at_stop < box.motor.pos_mm < at_stop + 20
    assert box.height_mm < 1200


def test_settings_limits_and_unit_are_answered() -> None:
    box = JiecangModel(height_mm=1286, memories_mm=(720, None, 1100, None), physics=IDEAL)
    box.write(encode(Op.REQUEST_SETTINGS) + encode(Op.REQUEST_LIMITS) + encode(Op.REQUEST_UNIT))
    assert run(box, 0.01) == [
        MemoryReport(1, 720),
        MemoryReport(3, 1100),
        HeightReport(1286),
        LimitsReport(max_mm=1300, min_mm=650),
        UnitReport(DisplayUnit.CM),
    ]


def test_an_inch_display_reports_tenths_of_an_inch() -> None:
    box = JiecangModel(height_mm=792, unit=DisplayUnit.INCH, physics=IDEAL)
    box.write(encode(Op.REQUEST_SETTINGS))
    assert run(box, 0.01) == [HeightReport(312)]


def test_a_silent_box_does_not_answer_the_unit() -> None:
    box = JiecangModel(answers_unit=False, physics=IDEAL)
    box.write(encode(Op.REQUEST_UNIT))
    assert run(box, 0.01) == []


def test_save_and_recall_a_memory() -> None:
    box = JiecangModel(height_mm=1040, physics=IDEAL)
    box.write(encode(Op.SAVE_2))
    box.write(encode_move_to(700))
    settle(box)
    box.write(encode(Op.RECALL_2))
    settle(box)
    assert box.height_mm == 1040


def test_a_sleeping_box_ignores_all_but_wake() -> None:
    box = JiecangModel(sleep_after_s=30.0, physics=IDEAL)
    run(box, 31.0)
    box.write(encode_move_to(1000))
    settle(box)
    assert box.height_mm == 750
    box.write(encode(Op.WAKE) + encode_move_to(1000))
    settle(box)
    assert box.height_mm == 1000


def test_h01_rests_the_motor_for_sixteen_minutes() -> None:
    box = JiecangModel(physics=IDEAL)
    box.error(0x0E)
    assert run(box, 0.01) == [ErrorReport(0x0E)]
    box.write(encode_move_to(1000))
    assert run(box, 1.0) == [ErrorReport(0x0E)]
    assert box.height_mm == 750
    run(box, HOT_REST_S)
    box.write(encode_move_to(1000))
    settle(box)
    assert box.height_mm == 1000


def test_the_child_lock_refuses_moves_until_unlocked() -> None:
    box = JiecangModel(physics=IDEAL)
    box.error(0x10)
    run(box, 0.01)
    box.write(encode(Op.UP))
    assert run(box, 1.0) == [ErrorReport(0x10)]
    box.unlock()
    box.write(encode(Op.UP))
    settle(box)
    assert box.height_mm == 764


def test_e01_stops_the_motor_dead() -> None:
    box = JiecangModel(height_mm=700, physics=IDEAL)
    box.write(encode_move_to(1200))
    run(box, 2.0)
    box.error(0x01)
    at = box.height_mm
    settle(box)
    assert box.height_mm == at


def test_a_collision_stops_at_the_obstacle_and_backs_off() -> None:
    box = JiecangModel(height_mm=700, physics=IDEAL)
    box.collision_mm = 900
    box.write(encode_move_to(1200))
    settle(box)
    assert box.height_mm == 890


def test_the_paddle_moves_the_desk_while_held() -> None:
    box = JiecangModel(height_mm=700, physics=IDEAL)
    box.press(+1)
    run(box, 2.0)
    box.press(0)
    settle(box)
    assert 740 < box.height_mm < 800


@pytest.mark.parametrize("op", [0xFE, 0x10, 0x11, 0x12, 0x21, 0x22, 0x23])
def test_hazardous_commands_are_recorded_not_obeyed(op: int) -> None:
    box = JiecangModel(physics=IDEAL)
    frame = bytes((0xF1, 0xF1, op, 0, op, 0x7E))
    box.write(frame)
    assert box.hazards == [op]


def test_commands_cut_anywhere_are_read_whole() -> None:
    box = JiecangModel(physics=IDEAL)
    frame = encode_move_to(1000)
    box.write(frame[:3])
    box.write(frame[3:])
    settle(box)
    assert box.height_mm == 1000


def test_a_target_beyond_the_box_s_limits_is_refused() -> None:
    box = JiecangModel(max_mm=1300, physics=IDEAL)
    box.write(encode_move_to(1400))
    settle(box)
    assert box.height_mm == 750


def test_an_ideal_stop_halts_the_motor_where_it_is() -> None:
    box = JiecangModel(height_mm=700, physics=IDEAL)
    box.write(encode_move_to(1200))
    run(box, 3.0)
    at_stop = box.motor.pos_mm
    box.write(encode(Op.STOP))
    settle(box)
    assert box.motor.pos_mm == at_stop


def test_a_realistic_box_lands_within_half_a_millimetre_of_a_target() -> None:

    box = JiecangModel(height_mm=700, physics=REALISTIC, rng=random.Random(7))
    misses = []
    for target_mm in (1130, 685, 1000, 1001, 720, 1290):
        box.write(encode_move_to(target_mm))
        settle(box)
        misses.append(abs(box.motor.pos_mm - target_mm))
    assert max(misses) <= 0.5
    assert any(m > 0.01 for m in misses), "a realistic motor is not exact"


def test_realistic_desks_differ_in_speed_and_up_is_slower_than_down() -> None:

    speeds = {JiecangModel(rng=random.Random(seed)).motor.top_speed_mm_s(1) for seed in range(5)}
    assert len(speeds) == 5
    box = JiecangModel(rng=random.Random(1))
    assert box.motor.top_speed_mm_s(1) < box.motor.top_speed_mm_s(-1)


def test_a_realistic_stop_runs_on_by_a_varying_amount() -> None:

    run_ons = []
    for seed in range(6):
        box = JiecangModel(height_mm=700, rng=random.Random(seed))
        box.write(encode_move_to(1200))
        run(box, 3.0)
        at_stop = box.motor.pos_mm
        box.write(encode(Op.STOP))
        settle(box)
        run_ons.append(box.motor.pos_mm - at_stop)
    assert all(0 < r < 12 for r in run_ons)
    assert max(run_ons) - min(run_ons) > 1.0


def test_a_realistic_box_sometimes_says_nothing_when_it_comes_to_rest() -> None:

    box = JiecangModel(height_mm=700, rng=random.Random(3))
    last_words = []
    for target_mm in (1000, 800) * 6:
        box.write(encode_move_to(target_mm))
        heights = [r for r in settle(box) if isinstance(r, HeightReport)]
        last_words.append(heights[-1].tenths == box.height_mm)
    assert True in last_words
    assert False in last_words


def test_the_same_seed_is_the_same_desk() -> None:

    def trace(seed: int) -> list[bytes]:
        box = JiecangModel(height_mm=700, rng=random.Random(seed))
        box.write(encode_move_to(1100))
        return box.advance(20.0)

    assert trace(5) == trace(5)
    assert trace(5) != trace(6)
