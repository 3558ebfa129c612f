"""The realistic desk: each physics parameter, quiet at rest, and the radio, on virtual time.

The model is stepped directly (its own time), the radio through `ModelGattClient` on
`run_virtual`. Every desk draws its randomness from a seeded `random.Random`, so these are exact
from run to run.
"""

from __future__ import annotations

import itertools

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.linak import Char, Command, HeightReport, decode_height_speed, encode_target
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.model_gatt import ModelGattClient
from deskctl.sim.physics import IDEAL, REALISTIC, Physics, Radio, RadioLink, seeded
from deskctl.testing.virtual_time import run_virtual

DT_S = 0.01
BASE_MM = 620

Log = list[tuple[float, HeightReport]]


def desk(seed: int = 1, physics: Physics = REALISTIC, *, height_mm: int = 750) -> DeskModel:
    return DeskModel(height_mm=height_mm, physics=physics, rng=seeded(seed))


def step(model: DeskModel, seconds: float) -> Log:
    log: Log = []
    for _ in range(round(seconds / DT_S)):
        for at_s, (char, data) in model.advance_stamped(DT_S):
            if char is Char.HEIGHT_SPEED:
                log.append((at_s, decode_height_speed(data, BASE_MM)))
    return log


def move(model: DeskModel, target_mm: int, *, renew_s: float = 0.3) -> Log:
    """Renew a target as deskctl does until the motor rests, then let the target lapse."""
    log: Log = []
    for i in itertools.count():
        if i % round(renew_s / DT_S) == 0:
            model.write(Char.REFERENCE_INPUT, encode_target(target_mm, BASE_MM))
        log += step(model, DT_S)
        if i > 20 and not model.moving:
            break
    return log + step(model, 1.5)


def true_mm(model: DeskModel) -> float:
    return model.base_mm + model.height_raw / 10


def top_speed(model: DeskModel, command: Command) -> float:
    model.write(Char.COMMAND, command)
    step(model, 0.8)
    return abs(model.speed_mm_s)


# -- speed ----------------------------------------------------------------------------------------
def test_each_desk_runs_a_few_percent_off_the_nominal_speed() -> None:
    speeds = {round(top_speed(desk(seed, height_mm=900), Command.UP), 3) for seed in range(12)}
    assert len(speeds) == 12  # every desk its own
    nominal_up = 38.0 * (1 - REALISTIC.load_change)
    assert all(abs(s / nominal_up - 1) <= REALISTIC.speed_spread + 1e-9 for s in speeds)
    assert top_speed(desk(3, IDEAL, height_mm=900), Command.UP) == pytest.approx(38.0)


def test_with_its_load_a_desk_runs_up_slower_than_down() -> None:
    up, down = top_speed(desk(5, height_mm=900), Command.UP), 0.0
    down = top_speed(desk(5, height_mm=900), Command.DOWN)
    assert down / up == pytest.approx((1 + 0.02) / (1 - 0.02))


# -- inertia: landing ------------------------------------------------------------------------------
def test_it_rests_within_half_a_millimetre_of_its_target_not_exactly_on_it() -> None:
    model = desk(7, height_mm=700)
    errors = []
    for target_mm in [760, 900, 820, 1100, 1000, 705, 1250, 640] * 3:
        move(model, target_mm)
        errors.append(true_mm(model) - target_mm)
    assert all(abs(e) <= 0.5 + 1e-9 for e in errors)
    assert sum(1 for e in errors if abs(e) >= 0.1) > len(errors) // 2  # rarely exact
    ideal = desk(7, IDEAL, height_mm=700)
    move(ideal, 900)
    assert true_mm(ideal) == 900


# -- stop ------------------------------------------------------------------------------------------
def test_a_stop_reaches_the_motor_after_50_to_200_ms_then_it_brakes_hard() -> None:
    lags_s = []
    for seed in range(10):
        model = desk(seed, height_mm=800)
        model.write(Char.COMMAND, Command.UP)
        step(model, 0.8)
        model.write(Char.COMMAND, Command.STOP)
        stop_s, at_mm = model.now_s, true_mm(model)
        while model.speed_mm_s >= 35:  # still at full speed: the stop has not arrived
            step(model, DT_S)
        lags_s.append(model.now_s - stop_s)
        step(model, 0.5)
        assert not model.moving
        assert 1.5 < true_mm(model) - at_mm < 10  # the lag and the braking run on
    assert min(lags_s) >= 0.05 - DT_S
    assert max(lags_s) <= 0.2 + 2 * DT_S  # and a step to brake below full speed
    assert max(lags_s) - min(lags_s) > 0.05  # a lag of its own each time


def test_a_target_written_right_after_a_stop_is_not_cancelled_by_it() -> None:
    model = desk(2, height_mm=800)  # wake, stop, target: how every move starts
    model.write(Char.COMMAND, Command.WAKE)
    model.write(Char.COMMAND, Command.STOP)
    move(model, 900)
    assert abs(true_mm(model) - 900) <= 0.5


# -- reports ---------------------------------------------------------------------------------------
def test_reports_come_every_period_with_jitter() -> None:
    model = desk(4, height_mm=700)
    moving = [t for t, r in move(model, 900) if r.moving]
    gaps = [b - a for a, b in itertools.pairwise(moving)][1:]
    assert all(0.08 - DT_S <= g <= 0.12 + DT_S for g in gaps)
    assert max(gaps) - min(gaps) > 0.02


def test_quiet_at_rest_and_the_last_report_may_not_say_where_it_rests() -> None:
    without_zero = 0
    for seed in range(12):
        model = desk(seed, height_mm=700)
        log = move(model, 950)
        rested_s = model.rested_at_s
        assert rested_s is not None
        assert all(t <= rested_s + 1e-9 for t, _ in log)  # nothing after it came to rest
        model.write(Char.REFERENCE_INPUT, encode_target(950, BASE_MM))  # held at rest: quiet
        assert step(model, 0.9) == []
        last = log[-1][1]
        if last.moving:
            without_zero += 1
            assert last.height_mm <= 950  # a report from before it came to rest
        read = decode_height_speed(model.read(Char.HEIGHT_SPEED), BASE_MM)
        assert read.speed == 0  # reading tells the truth
        assert abs(read.height_mm - 950) <= 1
    assert 2 <= without_zero <= 10  # about half the stops end without a zero-speed report


def test_after_a_collision_the_zero_speed_report_always_comes() -> None:
    for seed in range(8):
        model = desk(seed, height_mm=800)
        model.collision_mm = 900
        log = move(model, 1100)
        assert HeightReport(900, 0) in [r for _, r in log]


def test_the_same_seed_is_the_same_desk() -> None:
    assert move(desk(9, height_mm=700), 1000) == move(desk(9, height_mm=700), 1000)
    assert move(desk(9, height_mm=700), 1000) != move(desk(10, height_mm=700), 1000)


# -- the radio -------------------------------------------------------------------------------------
def test_connection_events_fall_on_the_connections_interval() -> None:
    link = RadioLink(Radio(interval_s=(0.015, 0.05), loss=0.0), seeded(1), anchor_s=10.0)
    assert 0.015 <= link.interval_s <= 0.05
    assert link.next_event_s(10.0) == 10.0
    assert link.next_event_s(10.001) == pytest.approx(10.0 + link.interval_s)
    lossy = RadioLink(Radio(loss=0.1), seeded(2))
    lost = sum(lossy.lost() for _ in range(2000))
    assert 150 < lost < 250


def test_over_the_radio_writes_and_reports_wait_for_a_connection_event_and_some_are_lost() -> None:
    model = desk(6, height_mm=700)
    got: list[tuple[float, bytes]] = []

    async def main() -> None:
        clock = Clock()
        gatt = ModelGattClient(model, clock, radio=Radio(loss=0.1), rng=seeded(6))
        await gatt.connect(lambda: None)
        await gatt.subscribe(Char.HEIGHT_SPEED, lambda data: got.append((clock.monotonic(), data)))
        began_s = clock.monotonic()
        await gatt.write(Char.REFERENCE_INPUT, encode_target(1000, BASE_MM))
        assert 0 <= clock.monotonic() - began_s <= gatt.radio.interval_s
        for _ in range(30):
            await clock.sleep(0.3)
            await gatt.write(Char.REFERENCE_INPUT, encode_target(1000, BASE_MM))
        await gatt.disconnect()

    run_virtual(main())
    moving_s = (model.rested_at_s or 0) - (model.started_at_s or 0)
    sent = moving_s / 0.1
    assert 0.75 * sent < len(got) < 0.97 * sent  # about a tenth lost on the way
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(got)]
    assert min(gaps) > 0.03  # delivered on connection events, not in bursts
