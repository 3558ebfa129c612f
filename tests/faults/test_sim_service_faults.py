"""Link faults under the whole service, on the simulated desk and virtual time.

The service is `deskctl run --simulate` as the CLI builds it (the real LINAK link on the
simulated controller and motor). Each test breaks the link the way real desks do (drops while
resting, reports that stop, writes refused, garbage bytes) and checks what the person at the desk
would notice: the desk stops, the move ends within its bound, the service says why, comes back by
itself and keeps the day's changes on time. Default profile: sit 72 cm / stand 110 cm, changes at
09:00 (sit), 09:30 (stand), 09:45 (sit), 10:15 (stand), ...
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta

import pytest

from deskctl.core.linak import Char, Command
from deskctl.core.move import MoveConfig
from deskctl.errors import DeskctlError
from deskctl.service.core import Service
from deskctl.sim.links import SimLink
from tests.faults.garbled import GarbledDesk
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded, run_service, sim

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)  # a Monday, two minutes before work
SIT_MM, STAND_MM = 720, 1100
CONFIG = MoveConfig()


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute, second=second)


async def until(service: Service, when: datetime) -> None:
    await service.clock.sleep((when - service.clock.now()).total_seconds())


def bound_s(from_mm: int | None, to_mm: int) -> float:
    """The longest a move may take before the controller stops it (see core/move.py)."""
    distance = abs(to_mm - (from_mm if from_mm is not None else to_mm))
    return CONFIG.start_timeout_s + distance / CONFIG.min_speed_mm_s + CONFIG.settle_s


def moves(recorded: Recorded) -> list[tuple[datetime, int]]:
    return [(when, fields["target_mm"]) for when, fields in recorded.of("move_started")]


def move_spans(recorded: Recorded) -> list[tuple[datetime, datetime, dict[str, object]]]:
    """Each move's start, end and end fields: every start has its end, in order."""
    starts = [when for when, _ in recorded.of("move_started")]
    ends = recorded.of("move")
    assert len(ends) == len(starts), "every move that started also ended"
    return [(start, end, fields) for start, (end, fields) in zip(starts, ends, strict=True)]


def stop_written_since(service: Service, since: int) -> bool:
    writes = [(char, data) for _, char, data in sim(service).model.writes[since:]]
    return (Char.COMMAND, Command.STOP.value) in writes


def near(a: datetime, b: datetime, within_s: float = 2.0) -> bool:
    return abs((a - b).total_seconds()) <= within_s


# --- drops at rest -----------------------------------------------------------------------------

DROPS = [  # (when the link drops, how long the desk stays out of reach)
    (at(9, 10), 20.0),
    (at(9, 20), 3.0),
    (at(9, 38), 45.0),
    (at(10, 5), 1.0),
    (at(10, 24), 90.0),
]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_drops_at_rest_come_back_by_themselves_and_cost_no_change() -> None:
    seen_offline: list[bool] = []

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        for when, away_s in DROPS:
            await until(service, when)
            assert not link.moving, "the drop comes while the desk rests"
            link.model.refuse_writes = True  # out of reach: reconnecting fails meanwhile
            link.sim_gatt.drop()
            TALLY.fault()
            await service.clock.sleep(away_s / 2)
            status = await service.call("status")
            seen_offline.append(status["connected"] is False)
            await service.clock.sleep(away_s / 2)
            link.model.refuse_writes = False
        await until(service, at(10, 31))
        status = await service.call("status")
        assert status["connected"] is True
        assert status["height_mm"] == SIT_MM

    recorded = run_service(START, script)
    assert seen_offline == [True] * len(DROPS), "status said the desk was unreachable"
    planned = [(at(9), SIT_MM), (at(9, 30), STAND_MM), (at(9, 45), SIT_MM), (at(10, 15), STAND_MM)]
    planned.append((at(10, 30), SIT_MM))
    got = moves(recorded)
    assert [t for _, t in got] == [t for _, t in planned]
    assert all(near(when, then) for (when, _), (then, _) in zip(got, planned, strict=True))
    assert all(f["outcome"] == "arrived" for _, _, f in move_spans(recorded))
    connected = [f["connected"] for when, f in recorded.of("connection") if when > at(9)]
    assert connected == [False, True] * len(DROPS), "each drop noticed once, each return once"


# --- reports that stop ---------------------------------------------------------------------------


def freeze_reads(link: SimLink) -> None:
    """The desk's controller hangs: no notifications, and its height reads stay as they are."""
    frozen = link.model.read(Char.HEIGHT_SPEED)
    read = link.model.read
    link.model.notifying = False
    link.model.read = lambda char: frozen if char is Char.HEIGHT_SPEED else read(char)  # type: ignore[method-assign]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_reports_that_stop_mid_move_are_read_back_and_the_move_lands() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 30, 4))
        assert link.moving
        link.model.notifying = False  # the desk keeps moving, but says nothing more
        TALLY.fault()
        await until(service, at(9, 31))
        status = await service.call("status")
        assert not status["held"], "the link read the height back: nothing to hold"
        assert abs(link.model.height_mm - STAND_MM) <= 1
        await until(service, at(10, 20))

    recorded = run_service(START, script)
    start, end, fields = move_spans(recorded)[1]
    assert fields["outcome"] == "arrived"
    assert (end - start).total_seconds() <= bound_s(SIT_MM, STAND_MM)
    assert [t for when, t in moves(recorded) if at(9, 31) < when < at(10, 20)] == [SIT_MM, STAND_MM]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_reports_and_reads_that_freeze_mid_move_end_it_within_its_bound_with_the_desk_stopped() -> (
    None
):
    marks: dict[str, int] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 30, 4))
        assert link.moving
        marks["writes"] = len(link.model.writes)
        freeze_reads(link)
        TALLY.fault()
        await until(service, at(9, 31))
        assert not link.model.moving, "the desk was stopped"
        assert stop_written_since(service, marks["writes"])
        status = await service.call("status")
        assert status["held"], "the schedule holds until the person acts"

    recorded = run_service(START, script)
    start, end, fields = move_spans(recorded)[1]
    assert fields["outcome"] != "arrived"
    assert (end - start).total_seconds() <= bound_s(SIT_MM, STAND_MM) + 1


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_desk_gone_silent_at_rest_fails_the_next_move_within_the_start_timeout() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 20))
        freeze_reads(link)
        TALLY.fault()
        await until(service, at(9, 31))
        assert not link.model.moving, "the desk was stopped"
        assert link.model.height_mm < STAND_MM - 100, "and not long after it started"

    recorded = run_service(START, script)
    start, end, fields = move_spans(recorded)[1]
    assert near(start, at(9, 30))
    assert fields["outcome"] == "timeout"
    assert (end - start).total_seconds() <= CONFIG.start_timeout_s + 0.5
    assert "did not start moving" in recorded.of("error")[-1][1]["reason"]


# --- writes refused ---------------------------------------------------------------------------


@pytest.mark.usefixtures("sit_stand_30_15")
def test_writes_refused_at_a_change_move_nothing_and_say_so() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 29, 50))
        link.model.refuse_writes = True
        TALLY.fault()
        await until(service, at(9, 35))
        assert link.model.height_mm == SIT_MM, "nothing moved"
        status = await service.call("status")
        assert status["held"]
        link.model.refuse_writes = False
        await service.call("resume")
        await until(service, at(10, 20))

    recorded = run_service(START, script)
    start, end, fields = move_spans(recorded)[1]
    assert near(start, at(9, 30))
    assert fields["outcome"] == "link_lost"
    assert (end - start).total_seconds() < 1
    assert "refused" in recorded.of("error")[-1][1]["reason"]
    assert [t for when, t in moves(recorded) if when > at(9, 35)] == [SIT_MM, STAND_MM]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_writes_refused_mid_move_leave_the_desk_stopped_short_within_a_second() -> None:
    refused_at: list[int] = []

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 30, 4))
        assert link.moving
        refused_at.append(link.model.height_mm)
        link.model.refuse_writes = True  # renewals fail: the desk lets go of its target
        TALLY.fault()
        await service.clock.sleep(CONFIG.renew_s + link.model.reference_hold_s + 1.0)
        assert not link.model.moving
        await until(service, at(9, 35))

    recorded = run_service(START, script)
    start, end, fields = move_spans(recorded)[1]
    assert fields["outcome"] == "link_lost"
    assert (end - start).total_seconds() < 5
    stopped = [f["height_mm"] for when, f in recorded.of("height") if when > at(9, 30)]
    assert not stopped or stopped[-1] < STAND_MM - 50, "stopped short, never resumed"


# --- garbage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "dpg_p"), [(1, 0.0), (2, 0.0), (3, 0.5), (4, 1.0)])
def test_garbage_reports_never_crash_the_service_and_every_move_ends_in_bound(
    seed: int, dpg_p: float, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rng = random.Random(seed)
    targets = [rng.randint(650, 1250) for _ in range(4)]
    desk = GarbledDesk(seed, height_p=0.3, dpg_p=dpg_p, height_mm=750)
    answers: list[str] = []

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        link.model = link.sim_gatt.model = desk  # before the service connects
        await until(service, at(9, 50))
        for target_mm in targets:
            try:
                async with asyncio.timeout(120):
                    await service.call("move", args={"height_mm": target_mm})
                answers.append("arrived")
            except DeskctlError as error:  # a sentence for the person, never a crash
                answers.append(type(error).__name__)
            await service.clock.sleep(5.0)
        await until(service, at(10, 40))
        status = await service.call("status")
        assert status["service"] is True, "the service still answers"

    recorded = run_service(START, script)
    TALLY.fault(desk.garbled)
    assert desk.garbled >= 5
    assert len(answers) == len(targets)
    longest_s = bound_s(620, 1270)  # the bound of the longest move the desk can make
    for start, end, _ in move_spans(recorded):
        assert (end - start).total_seconds() <= longest_s, f"the move at {start:%H:%M:%S}"
    assert not desk.moving, "the desk rests at the end"
    crashes = [r for r in caplog.records if r.exc_info is not None]
    assert crashes == [], "no unexpected exception anywhere"
    assert timedelta(0) <= recorded.events[-1][1] - at(10, 40) < timedelta(minutes=1)
