"""The schedule keeps the person's word: a skipped change never moves the desk later.

The service runs on the simulated desk and virtual time (tests/service_harness.py). At 09:29
the person skips the 09:30 stand (they keep sitting: the next change is the stand at 10:15);
then something interrupts the schedule for ten minutes, 09:35 to 09:45: a pause with an end, a
pause ended by `resume`, inhibit on and off (a meeting), the schedule switched off and on, a
profile switched. The fault is the skipped stand coming back once the interruption ends: the
desk standing up on its own before 10:15 is a move that must not happen. The pure scheduler's
table (tests/test_schedule.py) also covers a snooze and a restart; a restart after a skip runs
through the service in tests/faults/test_crash_restart_faults.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deskctl.service.core import Service
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded, run_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
SIT_MM, STAND_MM = 720, 1100


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, second, tzinfo=TZ)


async def until(service: Service, when: datetime) -> None:
    await service.clock.sleep((when - service.clock.now()).total_seconds())


# what interrupts the schedule from 09:35 to 09:45; the commands at 09:35, then those at 09:45
Calls = list[tuple[str, dict[str, object]]]
INTERRUPTIONS: dict[str, tuple[Calls, Calls]] = {
    "pause 10m": ([("pause", {"duration_s": 600})], []),
    "pause, resume": ([("pause", {})], [("resume", {})]),
    "inhibit on, off": ([("inhibit", {"on": True})], [("inhibit", {"on": False})]),
    "schedule off, on": ([("schedule", {"on": False})], [("schedule", {"on": True})]),
    "profile switched": ([], [("profile_use", {"name": "default"})]),
}
# where the stand after the skipped one comes: put off by the time the timers stood still, or
# (a re-plan of the day) where the skip put it
STAND_AT = {
    "pause 10m": at(10, 25),
    "pause, resume": at(10, 25),
    "inhibit on, off": at(10, 25),
    "schedule off, on": at(10, 15),
    "profile switched": at(10, 15),
}


@pytest.mark.parametrize("case", list(INTERRUPTIONS))
def test_a_skipped_stand_never_comes_back_after_an_interruption(case: str) -> None:
    first, then = INTERRUPTIONS[case]
    told: list[str] = []

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 29))
        told.append((await service.call("skip"))["next_change_at"])
        await until(service, at(9, 35))
        for cmd, args in first:
            await service.call(cmd, None, args)
        TALLY.fault()
        await until(service, at(9, 45))
        for cmd, args in then:
            await service.call(cmd, None, args)
        told.append((await service.call("status"))["next_change_at"])
        await until(service, STAND_AT[case])
        told.append((await service.call("status"))["next_change_at"])
        await until(service, STAND_AT[case] + timedelta(minutes=1))

    recorded = run_service(at(8, 58), script)
    moves = [(when, f["target_mm"]) for when, f in recorded.of("move_started")]
    assert moves == [(at(9), SIT_MM), (STAND_AT[case], STAND_MM)], (
        f"the skipped stand came back after {case}"
    )
    skipped = [f["start"] for _, f in recorded.of("dropped") if f["why"] == "skipped"]
    assert skipped == [at(9, 30).isoformat()]
    warned = [f["start"] for _, f in recorded.of("warning") if f["posture"] == "stand"]
    assert warned == [STAND_AT[case].isoformat()], "the skipped stand was never announced"
    assert told[0] == at(10, 15).isoformat(), "after the skip, the next change is the next stand"
    assert told[1:] == [STAND_AT[case].isoformat()] * 2
