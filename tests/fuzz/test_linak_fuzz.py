"""LINAK reports: any bytes the desk notifies, decoded and fed to the move controller.

tests/test_linak_codec.py shows every decoder answers a value or a ProtocolError for any bytes;
tests/test_move_controller.py feeds the controller random well-formed events. Here the desk's
reports are any 4 bytes at all (every height the wire can carry, every speed), arriving at any
moments, with the clock ticking at every deadline the controller asks for. What a person relies
on: the move ends, with a stop written unless it arrived, no later than its bound
(start timeout + distance at the slowest speed + settle time), whatever the desk says.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from deskctl.core.linak import Char, Command, decode_height_speed, encode_target
from deskctl.core.move import Decision, MoveConfig, MoveController
from deskctl.core.vocab import Outcome
from tests.faults.tally import counter

TALLY = counter(__name__)
BASE_MM = 620
CONFIG = MoveConfig()
STOP = (Char.COMMAND, Command.STOP.value)
HEIGHTS = st.integers(BASE_MM, BASE_MM + 650)
REPORTS = st.lists(
    st.tuples(st.binary(min_size=4, max_size=4), st.floats(0.0, 2.0)), max_size=120
)  # (the bytes, seconds since the last report)


def _bound_s(start_mm: int, target_mm: int) -> float:
    distance = abs(target_mm - start_mm)
    return CONFIG.start_timeout_s + distance / CONFIG.min_speed_mm_s + CONFIG.settle_s


@settings(max_examples=400, deadline=None)
@given(start_mm=HEIGHTS, target_mm=HEIGHTS, reports=REPORTS)
@example(start_mm=750, target_mm=1200, reports=[(b"\xff\xff\xff\x7f", 0.1)] * 120)  # runs on
@example(start_mm=750, target_mm=1200, reports=[])  # never says a word
@example(start_mm=750, target_mm=1200, reports=[(b"\x00\x00\x10\x00", 0.1)] * 120)  # creeps
def test_whatever_the_desk_reports_a_move_ends_within_its_bound(
    start_mm: int, target_mm: int, reports: list[tuple[bytes, float]]
) -> None:
    TALLY.tried(len(reports) + 1)
    controller = MoveController(CONFIG, base_mm=BASE_MM)
    controller.report(
        decode_height_speed(((start_mm - BASE_MM) * 10).to_bytes(2, "little") + b"\0\0"), 0.0
    )
    first = controller.start(target_mm, 0.0)
    if first.outcome is not None:
        assert first.outcome is Outcome.ARRIVED
        assert start_mm == target_mm
        return
    target_write = (Char.REFERENCE_INPUT, encode_target(target_mm, BASE_MM))
    assert [(w.char, w.data) for w in first.writes][-1] == target_write
    ended: list[tuple[float, Decision]] = []

    def take(decision: Decision, now_s: float) -> None:
        if decision.outcome is not None and not ended:
            ended.append((now_s, decision))

    def tick_until(until_s: float) -> float:
        now_s = 0.0
        while not ended and controller.deadline_s is not None and controller.deadline_s <= until_s:
            now_s = controller.deadline_s
            take(controller.tick(now_s), now_s)
        return now_s

    now_s = 0.0
    for data, gap_s in reports:
        tick_until(now_s + gap_s)
        if ended:
            break
        now_s += gap_s
        take(controller.report(decode_height_speed(data, BASE_MM), now_s), now_s)
        if ended:
            break
    tick_until(float("inf"))  # the desk falls silent: the deadlines alone must end the move
    assert ended, "the move ended"
    ended_s, decision = ended[0]
    assert ended_s <= _bound_s(start_mm, target_mm) + 1e-6, "ended within the move's bound"
    if decision.outcome is not Outcome.ARRIVED:
        assert STOP in [(w.char, w.data) for w in decision.writes], "the desk was told to stop"
        assert decision.message
    assert controller.target_mm is None, "nothing of the old move remains to be resumed"
