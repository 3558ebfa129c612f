"""The simulated LINAK desk, stepped directly with a fixed dt and driven with the codec's bytes."""

from __future__ import annotations

import itertools

import pytest

from deskctl.core.linak import (
    CANCEL_TARGET,
    Char,
    Command,
    DpgCommand,
    HeightReport,
    decode_base_offset,
    decode_capabilities,
    decode_dpg_answer,
    decode_height_speed,
    encode_dpg_read,
    encode_target,
    wake_user_id,
)
from deskctl.errors import LinkError, ProtocolError
from deskctl.sim.desk_model import DeskModel, Notification
from deskctl.sim.physics import IDEAL

DT_S = 0.01
BASE_MM = 620
TOP_MM = 1270

Log = list[tuple[float, Notification]]


def ideal_desk(**kwargs: object) -> DeskModel:
    """The ideal desk (exact landings, instant stop, steady reports): these tests pin numbers."""
    return DeskModel(physics=IDEAL, **kwargs)  # type: ignore[arg-type]


def step(model: DeskModel, seconds: float) -> Log:
    """Advance `seconds` in DT_S steps, time-stamping every notification."""
    log: Log = []
    for _ in range(round(seconds / DT_S)):
        log.extend((model.now_s, n) for n in model.advance(DT_S))
    return log


def settle(model: DeskModel, max_s: float = 60.0) -> Log:
    """Step until nothing changes any more (bounded)."""
    log: Log = []
    while model.active:
        if model.now_s > max_s:
            raise AssertionError("the desk never came to rest")
        log.extend(step(model, DT_S))
    return log


def heights(log: Log) -> list[tuple[float, HeightReport]]:
    return [
        (t, decode_height_speed(data, BASE_MM))
        for t, (char, data) in log
        if char is Char.HEIGHT_SPEED
    ]


def hold_target(
    model: DeskModel, target_mm: int, *, renew_s: float = 0.2, for_s: float = 30.0
) -> Log:
    """Renew a move-to target like a client does, until landed (or `for_s`), then let go."""
    log: Log = []
    renews = round(renew_s / DT_S)
    for i in range(round(for_s / DT_S)):
        if i % renews == 0:
            model.write(Char.REFERENCE_INPUT, encode_target(target_mm, BASE_MM))
        log.extend(step(model, DT_S))
        if model.height_mm == target_mm and not model.moving:
            break
    return log + settle(model)


def read_height(model: DeskModel) -> HeightReport:
    return decode_height_speed(model.read(Char.HEIGHT_SPEED), BASE_MM)


def dpg(model: DeskModel, request: bytes) -> bytes:
    model.write(Char.DPG, request)
    answers = [data for char, data in model.advance(0) if char is Char.DPG]
    assert len(answers) == 1
    return answers[0]


# -- moving to a target ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_mm", "target_mm"),
    [(750, 751), (751, 750), (BASE_MM, TOP_MM), (TOP_MM, BASE_MM), (700, 1100), (1100, 700)],
)
def test_a_reference_move_lands_exactly(start_mm: int, target_mm: int) -> None:
    model = ideal_desk(height_mm=start_mm)
    log = hold_target(model, target_mm)
    assert model.height_raw == (target_mm - BASE_MM) * 10
    assert read_height(model) == HeightReport(target_mm, 0)
    last = heights(log)[-1][1]
    assert last == HeightReport(target_mm, 0)
    direction = 1 if target_mm > start_mm else -1
    assert all(r.direction in (0, direction) for _, r in heights(log))
    assert not model.active


def test_full_range_at_about_38_mm_s_with_soft_ramps() -> None:
    model = ideal_desk(height_mm=BASE_MM)
    log = hold_target(model, TOP_MM)
    moving = [t for t, r in heights(log) if r.moving]
    duration_s = moving[-1] - moving[0]
    # 650 mm / 38 mm/s = 17.1 s, plus half a second lost to the ramps
    assert 17.0 < duration_s < 18.5
    top_speed = max(r.speed for _, r in heights(log))
    assert 6100 <= top_speed <= 6250  # the real desk's unit: about 6200 at full speed
    assert heights(log)[0][1].speed < 2500  # it starts softly


def test_speed_ramps_up_then_cruises() -> None:
    model = ideal_desk()
    model.write(Char.COMMAND, Command.UP)
    step(model, 0.1)
    assert 0 < model.speed_mm_s < 15
    step(model, 0.5)
    assert model.speed_mm_s == pytest.approx(38.0)


def test_reports_at_the_period_while_moving() -> None:
    model = ideal_desk(height_mm=700)
    log = hold_target(model, 800)
    moving = [t for t, r in heights(log) if r.moving]
    gaps = [b - a for a, b in itertools.pairwise(moving)]
    assert len(gaps) > 20
    assert all(gap == pytest.approx(0.1, abs=0.011) for gap in gaps)
    rising = [r.height_mm for _, r in heights(log)]
    assert rising == sorted(rising)


def test_a_held_target_goes_quiet_after_one_zero_speed_report() -> None:
    # a real desk notifies only while it moves, even while it still holds the target
    model = ideal_desk(height_mm=750)
    model.write(Char.REFERENCE_INPUT, encode_target(752, BASE_MM))
    log = step(model, 0.9)
    assert not model.moving
    reports = [r for _, r in heights(log)]
    assert reports[-1] == HeightReport(752, 0)
    assert [r.speed for r in reports].count(0) == 1
    assert heights(log)[-1][0] < 0.4
    model.write(Char.REFERENCE_INPUT, encode_target(752, BASE_MM))  # renewed while at rest
    assert heights(step(model, 0.9)) == []
    assert read_height(model) == HeightReport(752, 0)  # reading tells where it rests


def test_a_target_not_renewed_stops_short() -> None:
    model = ideal_desk(height_mm=750)
    model.write(Char.REFERENCE_INPUT, encode_target(1200, BASE_MM))
    log = step(model, 0.9)
    assert model.moving
    log += settle(model)
    # about 1 s of motion and a ramp down: some 40 mm, far from the target
    assert 770 < model.height_mm < 810
    assert heights(log)[-1][1] == HeightReport(model.height_mm, 0)


def test_cancel_target_ramps_down_and_stops() -> None:
    model = ideal_desk(height_mm=750)
    model.write(Char.REFERENCE_INPUT, encode_target(1200, BASE_MM))
    step(model, 0.5)
    model.write(Char.REFERENCE_INPUT, CANCEL_TARGET)
    step(model, 0.1)
    assert 0 < model.speed_mm_s < 38
    settle(model)
    assert 760 < model.height_mm < 790


@pytest.mark.parametrize("target_raw", [6510, 7000, 0x7FFF])
def test_a_target_outside_the_range_is_ignored(target_raw: int) -> None:
    model = ideal_desk(height_mm=750)
    model.write(Char.REFERENCE_INPUT, target_raw.to_bytes(2, "little"))
    step(model, 1.0)
    assert model.height_mm == 750
    assert not model.active


# -- up/down commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "sign"), [(Command.UP, 1), (Command.DOWN, -1)])
def test_up_or_down_runs_about_one_second(command: Command, sign: int) -> None:
    model = ideal_desk(height_mm=900)
    model.write(Char.COMMAND, command)
    step(model, 0.95)
    assert model.speed_mm_s == pytest.approx(sign * 38.0)
    step(model, 0.6)
    assert not model.moving
    travelled_mm = (model.height_mm - 900) * sign
    assert 33 <= travelled_mm <= 43  # 1 s of motion plus the ramp down


def test_renewing_up_keeps_the_motor_running() -> None:
    model = ideal_desk(height_mm=800)
    for _ in range(4):
        model.write(Char.COMMAND, Command.UP)
        step(model, 0.5)
    assert model.speed_mm_s == pytest.approx(38.0)
    settle(model)
    assert 870 < model.height_mm < 900


def test_up_stops_at_the_top_exactly() -> None:
    model = ideal_desk(height_mm=TOP_MM - 5)
    model.write(Char.COMMAND, Command.UP)
    settle(model)
    assert model.height_mm == TOP_MM
    assert model.height_raw == 6500


def test_stop_is_immediate_and_reported() -> None:
    model = ideal_desk(height_mm=750)
    model.write(Char.COMMAND, Command.UP)
    step(model, 0.8)
    model.write(Char.COMMAND, Command.STOP)
    assert not model.moving
    log = step(model, 0.5)
    assert [r.speed for _, r in heights(log)] == [0]
    assert not model.active


def test_stop_clears_a_held_target() -> None:
    model = ideal_desk(height_mm=750)
    model.write(Char.REFERENCE_INPUT, encode_target(900, BASE_MM))
    step(model, 0.5)
    model.write(Char.COMMAND, Command.STOP)
    height_mm = model.height_mm
    step(model, 1.0)
    assert model.height_mm == height_mm
    assert not model.active


# -- collision -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start_mm", "target_mm", "sign"), [(750, 1100, 1), (1100, 750, -1)])
def test_a_collision_stops_backs_off_and_latches_until_stop(
    start_mm: int, target_mm: int, sign: int
) -> None:
    model = ideal_desk(height_mm=start_mm)
    model.collision_mm = 900
    log = hold_target(model, target_mm, for_s=10.0)
    reports = [r for _, r in heights(log)]
    assert HeightReport(900, 0) in reports  # stopped at the obstacle, and said so
    assert model.obstructed
    assert model.height_mm == 900 - sign * 10  # backed off
    assert any(r.direction == -sign for r in reports)

    hold_target(model, 800 if sign > 0 else 1000, for_s=3.0)  # ignored
    model.write(Char.COMMAND, Command.DOWN if sign > 0 else Command.UP)  # ignored
    step(model, 1.0)
    assert model.height_mm == 900 - sign * 10

    model.write(Char.COMMAND, Command.STOP)
    assert not model.obstructed
    hold_target(model, 800 if sign > 0 else 1000)
    assert model.height_mm == (800 if sign > 0 else 1000)


def test_pressing_into_the_obstacle_collides_too() -> None:
    model = ideal_desk(height_mm=750)
    model.collision_mm = 760
    model.press(1)
    settle(model)
    assert model.obstructed
    assert model.height_mm == 750


# -- the desk's own buttons ------------------------------------------------------------------------


def test_press_moves_while_held_with_reports() -> None:
    model = ideal_desk(height_mm=800)
    model.press(-1)
    log = step(model, 2.0)
    assert model.speed_mm_s == pytest.approx(-38.0)
    model.press(0)
    log += settle(model)
    assert 720 < model.height_mm < 740
    reports = [r for _, r in heights(log)]
    assert len(reports) > 15
    assert all(r.direction == -1 for r in reports[:-1])
    assert reports[-1] == HeightReport(model.height_mm, 0)


def test_press_held_stops_at_the_base() -> None:
    model = ideal_desk(height_mm=BASE_MM + 20)
    model.press(-1)
    settle(model)
    assert model.height_raw == 0
    assert not model.active  # a held button at the end of travel changes nothing


# -- faults ----------------------------------------------------------------------------------------


def test_not_notifying_sends_no_reports_but_reads_work() -> None:
    model = ideal_desk(height_mm=750)
    model.notifying = False
    model.write(Char.COMMAND, Command.UP)
    log = step(model, 0.5)
    assert heights(log) == []
    assert read_height(model).height_mm > 750
    assert read_height(model).moving


def test_refused_writes_raise_and_change_nothing() -> None:
    model = ideal_desk(height_mm=750)
    model.refuse_writes = True
    with pytest.raises(LinkError, match="refused"):
        model.write(Char.COMMAND, Command.UP)
    step(model, 1.0)
    assert model.height_mm == 750
    assert model.writes == []


def test_writes_are_logged_with_their_time() -> None:
    model = ideal_desk()
    model.write(Char.COMMAND, Command.WAKE)
    step(model, 0.5)
    model.write(Char.REFERENCE_INPUT, encode_target(760, BASE_MM))
    assert model.writes == [
        (0.0, Char.COMMAND, Command.WAKE),
        (pytest.approx(0.5), Char.REFERENCE_INPUT, encode_target(760, BASE_MM)),
    ]


# -- DPG -------------------------------------------------------------------------------------------


def test_dpg_capabilities_come_in_the_idasens_format() -> None:
    answer = dpg(ideal_desk(), encode_dpg_read(DpgCommand.CAPABILITIES))
    assert answer == bytes.fromhex("01 02 23 01")
    capabilities = decode_capabilities(decode_dpg_answer(answer))
    assert capabilities.memory_slots == 3
    assert capabilities.ble_allow
    assert not capabilities.has_display


def test_dpg_reads_01_00_before_any_request() -> None:
    assert ideal_desk().read(Char.DPG) == bytes.fromhex("01 00")


def test_the_user_id_is_17_bytes() -> None:
    answer = dpg(ideal_desk(), encode_dpg_read(DpgCommand.USER_ID))
    assert answer[:2] == bytes.fromhex("01 11")
    assert len(decode_dpg_answer(answer)) == 17


@pytest.mark.parametrize(
    ("base_mm", "base_offset_raw", "expected_mm"),
    [(620, None, 620), (610, None, 610), (620, 6246, 625)],
)
def test_dpg_base_offset_round_trips(
    base_mm: int, base_offset_raw: int | None, expected_mm: int
) -> None:
    model = ideal_desk(base_mm=base_mm, height_mm=800, base_offset_raw=base_offset_raw)
    answer = dpg(model, encode_dpg_read(DpgCommand.BASE_OFFSET))
    assert decode_base_offset(decode_dpg_answer(answer)) == expected_mm


def test_dpg_answers_arrive_at_the_next_advance_and_can_be_read() -> None:
    model = ideal_desk()
    model.write(Char.DPG, encode_dpg_read(DpgCommand.USER_ID))
    assert model.active
    notes = model.advance(0.01)
    assert [char for char, _ in notes] == [Char.DPG]
    assert model.read(Char.DPG) == notes[0][1]
    assert not model.active


def test_dpg_user_id_can_be_written_and_the_write_is_answered_01_00() -> None:
    model = ideal_desk()
    payload = decode_dpg_answer(dpg(model, encode_dpg_read(DpgCommand.USER_ID)))
    assert payload == bytes(17)
    request = wake_user_id(payload)
    assert request is not None
    model.write(Char.DPG, request)
    assert model.advance(0.01) == [(Char.DPG, bytes.fromhex("01 00"))]
    payload = decode_dpg_answer(dpg(model, encode_dpg_read(DpgCommand.USER_ID)))
    assert payload == b"\x01" + bytes(16)
    assert wake_user_id(payload) is None


@pytest.mark.parametrize("request_bytes", [b"\x7f\x99\x00", b"\x7f\x80\x80\x01"])
def test_unknown_dpg_requests_are_answered_invalid(request_bytes: bytes) -> None:
    answer = dpg(ideal_desk(), request_bytes)
    assert answer == bytes.fromhex("0b 00")
    with pytest.raises(ProtocolError, match="refused"):
        decode_dpg_answer(answer)


# -- DPG1C wake-up ---------------------------------------------------------------------------------


def test_dpg1c_ignores_moves_until_woken() -> None:
    model = ideal_desk(height_mm=750, needs_wake_up=True)
    assert read_height(model).height_mm == 750  # it reports height all along
    hold_target(model, 800, for_s=2.0)
    model.write(Char.COMMAND, Command.UP)
    model.write(Char.COMMAND, Command.WAKE)  # the user id does not start with 1 yet
    hold_target(model, 800, for_s=2.0)
    assert model.height_mm == 750

    request = wake_user_id(decode_dpg_answer(dpg(model, encode_dpg_read(DpgCommand.USER_ID))))
    assert request is not None
    model.write(Char.DPG, request)
    hold_target(model, 800, for_s=2.0)  # still no WAKE after the user id
    assert model.height_mm == 750

    model.write(Char.COMMAND, Command.WAKE)
    hold_target(model, 800)
    assert model.height_mm == 800


def test_a_desk_without_wake_up_moves_at_once() -> None:
    model = ideal_desk(height_mm=750)
    hold_target(model, 800)
    assert model.height_mm == 800


# -- malformed input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "data"),
    [
        (Char.COMMAND, b"\x47"),
        (Char.COMMAND, b"\x47\x00\x00"),
        (Char.COMMAND, b"\x12\x34"),
        (Char.REFERENCE_INPUT, b"\x01"),
        (Char.REFERENCE_INPUT, b"\x10\x27\x00"),
        (Char.REFERENCE_INPUT, b"\x00\x90"),
        (Char.DPG, b""),
        (Char.DPG, b"\x7f\x81"),
        (Char.DPG, b"\x01\x81\x00"),
        (Char.DPG, b"\x7f\x81\x40"),
        (Char.DPG, b"\x7f\x81\x00\x00"),
        (Char.DPG, b"\x7f\x86\x80"),
        (Char.HEIGHT_SPEED, b"\x00\x00\x00\x00"),
    ],
)
def test_malformed_writes_raise_and_change_nothing(char: Char, data: bytes) -> None:
    model = ideal_desk(height_mm=750)
    with pytest.raises(ProtocolError):
        model.write(char, data)
    assert model.advance(1.0) == []
    assert model.height_mm == 750


def test_reading_a_characteristic_the_desk_does_not_serve_raises() -> None:
    with pytest.raises(ProtocolError):
        ideal_desk().read(Char.COMMAND)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"height_mm": 600},
        {"height_mm": 1300},
        {"top_mm": 600},
        {"speed_mm_s": 0.0},
        {"user_id": b""},
    ],
)
def test_impossible_desks_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ideal_desk(**kwargs)


def test_time_only_runs_forward() -> None:
    with pytest.raises(ValueError, match="forward"):
        ideal_desk().advance(-0.1)
