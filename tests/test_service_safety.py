"""The service's safety rules, through the whole simulated service on virtual time.

Each test runs `deskctl run --simulate` as built by the CLI (the real LINAK link on the simulated
desk), says what a person would say at a given minute of a Monday, and checks what the person
would notice: which moves happened when, what the desk wrote, which events came out.
Default profile: sit 72 cm / stand 110 cm, 30 min sit then 15 min stand from 09:00, 30 s warning.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deskctl.config.settings import DeskSettings, Settings
from deskctl.core.linak import CANCEL_TARGET, Char, Command
from deskctl.errors import DurationError, IllegalTransition, InputError
from deskctl.service.core import Service
from deskctl.sim.links import SimLink
from tests.service_harness import TZ, Recorded, run_service, sim

START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)  # a Monday, two minutes before work
SIT_MM, STAND_MM = 720, 1100
Script = Callable[[Service, Recorded], Awaitable[None]]


@pytest.fixture(autouse=True)
def own_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No remembered profile, history or socket of the person running the tests leaks in."""
    for kind in ("CONFIG", "STATE", "RUNTIME"):
        monkeypatch.setenv(f"DESKCTL_{kind}_DIR", str(tmp_path / kind.lower()))


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute, second=second)


async def until(service: Service, when: datetime) -> None:
    await service.clock.sleep((when - service.clock.now()).total_seconds())


def near(a: datetime, b: datetime, within_s: float = 1.0) -> bool:
    return abs((a - b).total_seconds()) <= within_s


def moves(recorded: Recorded) -> list[tuple[datetime, int]]:
    return [(when, fields["target_mm"]) for when, fields in recorded.of("move_started")]


def assert_moves(recorded: Recorded, expected: list[tuple[datetime, int]]) -> None:
    got = moves(recorded)
    assert [t for _, t in got] == [t for _, t in expected], got
    for (when, _), (then, _) in zip(got, expected, strict=True):
        assert near(when, then), f"a move at {when:%H:%M:%S}, expected at {then:%H:%M:%S}"


def left(status: dict[str, Any], now: datetime) -> timedelta:
    return datetime.fromisoformat(status["next_change_at"]) - now


def stops_after_target(link: SimLink, since: int) -> bool:
    """A COMMAND STOP was written after the move's first target, from write number `since` on."""
    writes = [(char, data) for _, char, data in link.model.writes[since:]]
    targets = [i for i, (char, _) in enumerate(writes) if char is Char.REFERENCE_INPUT]
    return bool(targets) and (Char.COMMAND, Command.STOP.value) in writes[targets[0] :]


# --- skip and snooze ---------------------------------------------------------------------------


@pytest.mark.usefixtures("sit_stand_30_15")
def test_skip_in_the_warning_window_keeps_the_desk_still_until_the_next_stand() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 29, 40))
        warned_at, warning = recorded.of("warning")[-1]
        assert near(warned_at, at(9, 29, 30))
        assert warning["height_mm"] == STAND_MM
        status = await service.call("skip")
        assert (status["next_change_at"], status["next_posture"]) == (
            at(10, 15).isoformat(),
            "stand",
        )
        await until(service, at(9, 40))
        assert sim(service).model.height_mm == SIT_MM, "the skipped stand did not happen"
        await until(service, at(10, 16))

    recorded = run_service(START, script)
    dropped = [(f["start"], f["why"]) for _, f in recorded.of("dropped")]
    assert dropped == [(at(9, 30).isoformat(), "skipped")]
    assert_moves(recorded, [(at(9), SIT_MM), (at(10, 15), STAND_MM)])


@pytest.mark.usefixtures("sit_stand_30_15")
def test_snooze_10m_moves_10_minutes_later_and_the_next_block_keeps_its_length() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 29, 40))
        status = await service.call("snooze", args={"for": "10m"})
        assert status["next_change_at"] == at(9, 40).isoformat()
        assert status["schedule"] == "running"
        await until(service, at(9, 35))
        assert sim(service).model.height_mm == SIT_MM
        status = await service.call("status", "desk")
        assert status["schedule"] == "running", "the sitting block grew; no gap in the plan"
        assert status["posture"] == "sit", "the sitting still counts"
        await until(service, at(10, 20))

    recorded = run_service(START, script)
    assert_moves(recorded, [(at(9), SIT_MM), (at(9, 40), STAND_MM), (at(9, 55), SIT_MM)])
    warned = [when for when, f in recorded.of("warning") if f["height_mm"] == STAND_MM]
    assert any(near(when, at(9, 39, 30)) for when in warned), "the later move is warned again"
    (stood_at, _), (sat_at, _) = moves(recorded)[1:3]
    assert abs(sat_at - stood_at - timedelta(minutes=15)) <= timedelta(seconds=1), "15 min stand"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_service_started_just_after_a_change_warns_the_full_30_s_before_moving() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(10, 17))

    recorded = run_service(at(10, 16), script)  # the 10:15 change is a minute old
    (warned_at, warning), *_ = recorded.of("warning")
    (moved_at, target), *_ = moves(recorded)
    assert warning["height_mm"] == target == STAND_MM
    assert near(warned_at, at(10, 16))
    assert moved_at - warned_at >= timedelta(seconds=30), "a full warning, even when late"


# --- pause and inhibit -------------------------------------------------------------------------


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_pause_for_20m_moves_nothing_resumes_by_itself_and_keeps_the_timer() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 10))
        before = await service.call("status", "desk")
        left_when_paused = left(before, service.clock.now())
        paused = await service.call("pause", args={"for": "20m"})
        assert paused["schedule"] == "paused"
        assert paused["paused_until"] == at(9, 30).isoformat()
        warnings_so_far = len(recorded.of("warning"))
        await until(service, at(9, 29, 59))
        assert len(recorded.of("warning")) == warnings_so_far, "no warning while paused"
        assert len(moves(recorded)) == 1, "no move while paused"
        await until(service, at(9, 30, 1))
        after = await service.call("status", "desk")
        assert after["schedule"] == "running"
        assert after["paused_until"] is None
        left_after = left(after, service.clock.now())
        assert abs(left_after - left_when_paused) <= timedelta(seconds=2), "timer kept, not reset"
        await until(service, at(9, 51))

    recorded = run_service(START, script)
    assert_moves(recorded, [(at(9), SIT_MM), (at(9, 50), STAND_MM)])


@pytest.mark.usefixtures("sit_stand_30_15")
def test_inhibit_on_holds_every_automatic_move_and_off_resumes_where_it_was() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 25))
        status = await service.call("inhibit", args={"on": True})
        assert status["schedule"] == "inhibited"
        await until(service, at(10, 25))
        assert len(moves(recorded)) == 1, "no automatic move while inhibited"
        status = await service.call("inhibit", args={"on": False})
        assert status["schedule"] == "running"
        assert left(status, service.clock.now()) == timedelta(minutes=5), "5 min, as at 09:25"
        await until(service, at(10, 31))

    recorded = run_service(START, script)
    assert_moves(recorded, [(at(9), SIT_MM), (at(10, 30), STAND_MM)])


# --- confirmation ------------------------------------------------------------------------------


def test_a_profile_with_confirm_asks_and_moves_only_after_confirm(tmp_path: Path) -> None:
    profiles = tmp_path / "config" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "asking.toml").write_text('sit = "72cm"\nstand = "110cm"\nconfirm = true\n')
    settings = Settings(desks={"desk": DeskSettings(profile="asking")})

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 5))
        assert [near(when, at(9)) for when, _ in recorded.of("confirm")] == [True]
        assert moves(recorded) == [], "nothing moves before the confirmation"
        assert sim(service).model.height_mm == 750
        await service.call("confirm")
        await until(service, at(9, 6))
        assert sim(service).model.height_mm == SIT_MM

    recorded = run_service(START, script, settings=settings)
    assert near(recorded.of("warning")[0][0], at(8, 59, 30)), "warned first, then asked"
    assert_moves(recorded, [(at(9, 5), SIT_MM)])


# --- what the desk did -------------------------------------------------------------------------


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_manual_move_to_standing_is_followed_and_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.service")
    ended: list[datetime] = []

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 10))
        link.model.press(1)
        link.sim_gatt.poke()
        await service.clock.sleep(9.0)
        link.model.press(0)
        link.sim_gatt.poke()
        await service.clock.sleep(5.0)
        ended.append(service.clock.now())
        status = await service.call("status", "desk")
        assert status["posture"] == "stand"
        assert status["next_posture"] == "sit"
        assert near(datetime.fromisoformat(status["next_change_at"]), at(9, 25), 10)
        await until(service, at(9, 26))

    recorded = run_service(START, script)
    manual = [f for _, f in recorded.of("manual_move") if f.get("ended")]
    assert len(manual) == 1
    assert manual[0]["height_mm"] > 950
    postures = [(when, f["posture"]) for when, f in recorded.of("posture")]
    assert [p for when, p in postures if at(9, 5) < when < at(9, 26)] == ["stand", "sit"]
    assert "re-planned (you chose to stand)" in caplog.text
    # no move back to sitting right away: the next one comes after a whole standing block
    after = [(when, target) for when, target in moves(recorded) if when > at(9, 5)]
    assert len(after) == 1
    assert after[0][1] == SIT_MM
    assert after[0][0] - ended[0] >= timedelta(minutes=14)


@pytest.mark.usefixtures("sit_stand_30_15")
def test_an_obstruction_stops_the_desk_and_holds_the_schedule_until_resume() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 29))
        link.model.collision_mm = 900
        first_write = len(link.model.writes)
        await until(service, at(9, 31))
        assert stops_after_target(link, first_write), "the desk was told to stop"
        writes = [(char, data) for _, char, data in link.model.writes[first_write:]]
        assert writes[-1] == (Char.REFERENCE_INPUT, CANCEL_TARGET)
        assert not link.model.moving
        assert abs(link.model.height_mm - 900) <= 15, "stopped at the obstacle"
        status = await service.call("status", "desk")
        assert status["schedule"] == "inhibited"
        assert status["held"]
        await until(service, at(10, 50))
        assert len(moves(recorded)) == 2, "no automatic move while held"
        link.model.collision_mm = None
        status = await service.call("resume")
        assert status["schedule"] == "running"
        await until(service, at(11, 1))

    recorded = run_service(START, script)
    assert len(recorded.of("obstruction")) == 1
    assert len(recorded.of("held")) == 1
    assert_moves(recorded, [(at(9), SIT_MM), (at(9, 30), STAND_MM), (at(11), STAND_MM)])


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_change_due_while_a_command_move_runs_neither_crashes_nor_fights_it() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 29, 55))
        moving = asyncio.create_task(service.call("move", args={"height": "95cm"}))
        await until(service, at(9, 31))
        assert moving.done()
        assert moving.result()["height_mm"] == 950, "the person's move arrived"
        status = await service.call("status", "desk")
        assert status["posture"] == "stand"
        assert status["schedule"] == "running", "the schedule follows the person's choice"
        await until(service, at(9, 46))

    recorded = run_service(START, script)
    targets = [target for when, target in moves(recorded) if when > at(9, 29)]
    assert targets[:2] == [950, SIT_MM], "no scheduled move fought the person's move"
    assert near(moves(recorded)[2][0], at(9, 45), 20)


@pytest.mark.fault
@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_link_drop_mid_move_fails_it_reconnects_with_backoff_and_never_resumes_it() -> None:
    attempts: list[datetime] = []
    dropped_at: list[int] = []

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        connect = link.connect

        async def counted() -> None:
            attempts.append(service.clock.now())
            await connect()

        link.connect = counted  # type: ignore[method-assign]
        await until(service, at(9, 30, 4))
        assert link.moving
        link.model.refuse_writes = True  # the desk is out of reach for a while
        link.sim_gatt.drop()
        await service.clock.sleep(12.0)
        link.model.refuse_writes = False
        await until(service, at(9, 31))
        assert link.connected, "the service reconnected by itself"
        dropped_at.append(link.model.height_mm)
        assert dropped_at[0] < STAND_MM - 50, "the desk stopped short without renewals"
        await until(service, at(9, 40))
        assert link.model.height_mm == dropped_at[0], "the old target was not resumed"
        await service.call("resume")
        await until(service, at(9, 46))

    recorded = run_service(START, script)
    assert len(recorded.of("error")) == 1, "the move failed"
    connected = [f["connected"] for when, f in recorded.of("connection") if when > at(9)]
    assert connected == [False, True], "lost once, then back"
    retries = [when for when in attempts if when > at(9, 30)]
    assert len(retries) >= 3, "it tried again while the desk was out of reach"
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(retries)]
    assert gaps == sorted(gaps), f"each retry waits longer: {gaps}"
    assert gaps[0] >= 1.0
    targets = [target for when, target in moves(recorded) if when > at(9, 30, 4)]
    assert targets == [SIT_MM], "after resume, the next planned change, never the old target"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_sigterm_mid_move_writes_a_stop_before_the_service_returns() -> None:
    state: dict[str, Any] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        state["link"] = link
        await until(service, at(9, 30, 3))
        assert link.moving
        state["first_write"] = len(link.model.writes)
        service.request_stop()  # what SIGTERM does

    run_service(START, script)
    link: SimLink = state["link"]
    writes = [(char, data) for _, char, data in link.model.writes[state["first_write"] :]]
    assert (Char.COMMAND, Command.STOP.value) in writes
    link.model.advance(0.5)  # the stop reaches the motor within 0.2 s, and it brakes
    assert not link.model.moving
    assert SIT_MM < link.model.height_mm < STAND_MM


# --- the clock ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_clock_jump_of_two_hours_fires_no_burst_and_the_day_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.service")

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 20))
        service.clock.jump(7200)  # the laptop slept from 09:20 to 11:20
        await until(service, at(12, 10))

    recorded = run_service(START, script)
    burst = [when for when, _ in moves(recorded) if at(11, 20) <= when <= at(11, 22)]
    assert len(burst) <= 1, "no burst of overdue moves"
    missed = [f for _, f in recorded.of("dropped") if f["why"] == "missed"]
    assert missed or "re-planned (the clock jumped)" in caplog.text
    later = [(when, target) for when, target in moves(recorded) if when > at(11, 22)]
    assert later, "the schedule goes on after the jump"
    assert later[0][1] == STAND_MM
    # seated 20 minutes before the sleep: the timer keeps them, so 10 more, then stand
    assert near(later[0][0], at(11, 30), 90), "the sitting timer kept across the sleep"


# --- illegal commands --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "cmd", "args", "error"),
    [
        (at(9, 10), "confirm", {}, IllegalTransition),
        (at(17, 20), "skip", {}, IllegalTransition),
        (at(17, 20), "snooze", {}, IllegalTransition),
        (at(9, 10), "pause", {"for": "soon"}, DurationError),
        (at(9, 10), "dance", {}, InputError),
    ],
)
def test_an_illegal_command_answers_one_sentence_and_moves_nothing(
    when: datetime, cmd: str, args: dict[str, Any], error: type[Exception]
) -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, when)
        link = sim(service)
        writes_before = len(link.model.writes)
        moves_before = len(moves(recorded))
        with pytest.raises(error) as caught:
            await service.call(cmd, args=args)
        message = str(caught.value)
        assert message
        assert "\n" not in message
        assert "Traceback" not in message
        await service.clock.sleep(5.0)
        assert len(link.model.writes) == writes_before, "nothing was written to the desk"
        assert len(moves(recorded)) == moves_before
        status = await service.call("status", "desk")
        assert status["schedule"] in ("running", "off_hours")

    run_service(START, script)


@pytest.mark.usefixtures("sit_stand_30_15")
def test_inhibit_during_a_scheduled_move_stops_the_desk_at_once() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 30, 3))
        assert link.moving, "the 09:30 move to standing is under way"
        since = len(link.model.writes)
        await service.call("inhibit", args={"on": True})
        await until(service, at(9, 31))
        assert stops_after_target(link, 0)
        assert (Char.COMMAND, Command.STOP.value) in [
            (c, d) for _, c, d in link.model.writes[since:]
        ]
        assert link.model.height_mm < STAND_MM - 50
        await until(service, at(10, 30))

    recorded = run_service(START, script)
    assert [f["outcome"] for _, f in recorded.of("move")][-1] == "stopped"
    assert all(when < at(9, 30, 5) for when, _ in recorded.of("move_started")[1:]), (
        "nothing moved while inhibited"
    )
