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
from typing import Any

import pytest

from deskctl.cli.service_calls import next_line
from deskctl.config.profile_library import user_profile_dir
from deskctl.config.settings import DeskSettings, Settings
from deskctl.core.ha import state_payload
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
    "profile switched": ([], [("profile_use", {"name": "sit-stand-30-15"})]),
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
@pytest.mark.usefixtures("sit_stand_30_15")
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


@pytest.mark.parametrize(
    "interruption",
    [
        [("schedule", {"on": False}), ("schedule", {"on": True})],
        [("profile_use", {"name": "sit-stand-30-15"})],
    ],
    ids=["schedule off, on", "profile switched"],
)
@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_snoozed_stand_does_not_come_early_after_a_re_plan(
    interruption: list[tuple[str, dict[str, object]]],
) -> None:
    """Snoozed at 09:29 by 10 minutes, the stand is at 09:40; a re-plan at 09:35 brought it back
    at 09:35:30 (sitting since 09:00 is a full block). It stays at 09:40."""

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 29))
        await service.call("snooze", None, {"duration_s": 600})
        await until(service, at(9, 35))
        for cmd, args in interruption:
            await service.call(cmd, None, args)
        TALLY.fault()
        await until(service, at(9, 41))

    recorded = run_service(at(8, 58), script)
    moves = [(when, f["target_mm"]) for when, f in recorded.of("move_started")]
    assert moves == [(at(9), SIT_MM), (at(9, 40), STAND_MM)], "the snoozed stand came early"


# -- what status says comes next ------------------------------------------------------------------
def said(status: dict[str, Any]) -> tuple[object, ...]:
    """What a person reads, three ways: the JSON's next fields, the status line, MQTT's state."""
    state = state_payload(status, inhibited=bool(status.get("inhibited")))
    for key in ("next_change_at", "next_posture", "waiting_for", "waiting_until", "schedule"):
        assert state[key] == status[key], f"MQTT's {key} differs from status"
    return (
        status["schedule"],
        status["next_change_at"],
        status["next_posture"],
        status["waiting_for"],
        status["waiting_until"],
        next_line(status),
    )


@pytest.mark.usefixtures("sit_stand_30_15")
def test_status_never_shows_a_change_that_will_not_come() -> None:
    """After a skip, during a pause with and without an end, inhibited: the next change status
    (and MQTT) shows is the one that comes, when it comes, or says what it waits for."""
    seen: dict[str, tuple[object, ...]] = {}
    moved: dict[str, str] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 10))
        seen["skip"] = said(await service.call("skip"))
        TALLY.tried()
        await until(service, at(9, 20))
        seen["pause 20m"] = said(await service.call("pause", None, {"duration_s": 1200}))
        TALLY.tried()
        await until(service, at(9, 50))
        seen["after the pause"] = said(await service.call("status"))
        seen["pause"] = said(await service.call("pause"))
        TALLY.tried()
        await until(service, at(10))
        await service.call("resume")
        seen["inhibit"] = said(await service.call("inhibit", None, {"on": True}))
        TALLY.tried()
        await service.call("inhibit", None, {"on": False})
        await until(service, at(10, 46))
        moved["at"] = recorded.of("move_started")[-1][0].isoformat()

    run_service(at(8, 58), script)
    cue = "with "  # the cue's title follows; which one is the planner's business
    assert seen["skip"][:5] == ("running", at(10, 15).isoformat(), "stand", None, None)
    assert str(seen["skip"][5]).startswith(f"next: stand at 10:15 {cue}")
    # paused 09:20-09:40: the stand comes 20 minutes later, at 10:35
    assert seen["pause 20m"][:5] == (
        "paused",
        at(10, 35).isoformat(),
        "stand",
        "resume",
        at(9, 40).isoformat(),
    )
    assert str(seen["pause 20m"][5]).startswith(f"paused until 09:40, then stand at 10:35 {cue}")
    assert seen["after the pause"][1] == at(10, 35).isoformat()
    assert seen["pause"][:5] == ("paused", None, "stand", "resume", None)
    assert str(seen["pause"][5]).startswith(
        f"paused until you resume (deskctl resume), then stand {cue}"
    )
    assert seen["inhibit"][:5] == ("inhibited", None, "stand", "inhibit_off", None)
    assert str(seen["inhibit"][5]).startswith("inhibit is on (deskctl inhibit off), then stand")
    # paused 09:50-10:00 on top: the stand came at 10:45, as nothing said otherwise
    assert moved["at"] == at(10, 45).isoformat()


CONFIRM_PROFILE = """\
sit = "72cm"
stand = "110cm"
weekdays = ["mon", "tue", "wed", "thu", "fri"]
hours = ["09:00-12:30"]
warn_s = 30
confirm = true
cycle = [{ posture = "sit", minutes = 30 }, { posture = "stand", minutes = 15 }]
"""


def test_status_while_a_change_waits_for_confirm_says_so_and_until_when() -> None:
    folder = user_profile_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "asks.toml").write_text(CONFIRM_PROFILE, encoding="utf-8")
    seen: list[tuple[object, ...]] = []

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 31))
        seen.append(said(await service.call("status")))
        TALLY.tried()

    run_service(at(8, 58), script, settings=Settings(desks={"desk": DeskSettings(profile="asks")}))
    schedule, next_at, posture, waiting, waiting_until, line = seen[0]
    assert (schedule, next_at, posture, waiting) == ("running", None, "stand", "confirm")
    assert waiting_until == at(9, 44, 30).isoformat(), "the question lapses 30 s before 09:45"
    assert str(line).startswith("waiting for your confirm to stand with ")
    assert str(line).endswith("(deskctl confirm), until 09:44")
