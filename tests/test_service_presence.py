"""The service follows the person and the calendar, on the simulated desk and virtual time: home
automation's presence mode reaches the scheduler through the presence feed, a calendar file's
meetings through the calendar feed, and status says what holds the desk and until when."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest

from deskctl.adapters.calendar import CalendarSource
from deskctl.adapters.calendar_feed import CalendarFeed, cache_path
from deskctl.adapters.history_store import Store
from deskctl.config.settings import CalendarSettings, Settings
from deskctl.core.presence import Mode
from deskctl.core.stats import daily_stats
from deskctl.errors import InputError
from deskctl.service.assembly import build_companions, build_service
from deskctl.service.commands import SetPresence, Status
from deskctl.service.core import Service
from deskctl.service.status import DeskStatus
from deskctl.sim.links import SimLink
from deskctl.testing.virtual_time import run_virtual
from tests.service_harness import TZ, Recorded
from tests.test_calendar import ics

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)
STANDUP = """UID:standup@test
SUMMARY:Stand-up
DTSTART;TZID=Europe/Berlin:20261123T100500
DTEND;TZID=Europe/Berlin:20261123T102000
RRULE:FREQ=DAILY"""


def run_with_feeds(
    script: Callable[[Service, Recorded], Awaitable[None]],
    *,
    settings: Settings | None = None,
    cache_dir: Path | None = None,
    store: Store | None = None,
) -> Recorded:
    """The simulated service from Monday 08:00 with its presence and calendar feeds beside it."""
    recorded = Recorded()
    chosen = settings or Settings()

    async def main() -> None:
        service = build_service(
            chosen, TZ, simulate=True, time_scale=1.0, start_at=MONDAY, store=store
        )
        for runner in service.desks.values():
            if isinstance(runner.link, SimLink):
                runner.link._persist = False
        service.subscribe(recorded)
        beside = build_companions(service, chosen, TZ, simulate=True, cache_dir=cache_dir)
        task = asyncio.create_task(service.run(beside=beside))
        try:
            await script(service, recorded)
        finally:
            service.request_stop()
            await task

    run_virtual(main())
    return recorded


async def until(service: Service, hour: int, minute: int = 0) -> None:
    target = MONDAY.replace(hour=hour, minute=minute)
    await service.clock.sleep((target - service.clock.now()).total_seconds())


async def status(service: Service) -> DeskStatus:
    answer = await service.submit(Status())
    assert isinstance(answer, DeskStatus)
    return answer


def moves_between(recorded: Recorded, start: datetime, end: datetime) -> list[datetime]:
    return [at for at, _ in recorded.of("move_started") if start <= at <= end]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_away_by_home_automation_holds_the_desk_and_a_long_absence_is_a_break() -> None:
    seen: dict[str, DeskStatus] = {}

    async def day(service: Service, recorded: Recorded) -> None:
        await until(service, 9, 20)
        await service.submit(SetPresence(mode=Mode.AWAY))
        await service.clock.sleep(1)
        seen["away"] = await status(service)
        await until(service, 9, 50)
        await service.submit(SetPresence(mode=Mode.AUTO))
        await service.clock.sleep(1)
        seen["back"] = await status(service)
        await until(service, 10, 30)

    recorded = run_with_feeds(day)
    away = seen["away"]
    assert away.presence is not None
    assert (away.presence["state"], away.presence["source"]) == ("away", "home")
    assert (away.waiting_for, away.next_change_at) == ("away", None)
    assert not moves_between(
        recorded, MONDAY.replace(hour=9, minute=20), MONDAY.replace(hour=9, minute=50)
    )
    back = seen["back"]
    assert back.presence is not None
    assert back.presence["state"] == "unknown", "auto, and no desktop source when simulated"
    # 30 minutes away was a break: the sitting starts again from 09:50, the stand comes at 10:20
    assert back.next_change_at == MONDAY.replace(hour=10, minute=20)
    assert back.next_posture == "stand"
    postures = [(at, f["posture"]) for at, f in recorded.of("posture")]
    assert (MONDAY.replace(hour=9, minute=20), "away") in postures, "the history counts it away"
    kinds = [f["state"] for _, f in recorded.of("presence")]
    assert kinds == ["away", "unknown"]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_the_stats_count_a_break_as_away_and_the_bout_starts_again(tmp_path: Path) -> None:
    async def day(service: Service, recorded: Recorded) -> None:
        await until(service, 9, 20)
        await service.submit(SetPresence(mode=Mode.AWAY))
        await until(service, 9, 50)
        await service.submit(SetPresence(mode=Mode.AUTO))
        await until(service, 12, 30)

    end = MONDAY.replace(hour=12, minute=30)
    with Store(tmp_path / "history.sqlite3") as store:
        run_with_feeds(day, store=store)
        events = store.events("desk", MONDAY, end)
    [stats] = daily_stats(events, MONDAY.date(), MONDAY.date(), TZ, end)
    assert stats.away_s == 30 * 60
    assert stats.longest_sitting_bout_s <= 31 * 60, "as on a day without absences (moves take s)"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_break_over_the_end_of_the_morning_counts_as_away_up_to_lunch(tmp_path: Path) -> None:
    async def day(service: Service, recorded: Recorded) -> None:
        await until(service, 12, 5)
        await service.submit(SetPresence(mode=Mode.AWAY))
        await until(service, 12, 45)
        await service.submit(SetPresence(mode=Mode.AUTO))
        await until(service, 13, 20)

    end = MONDAY.replace(hour=13, minute=20)
    with Store(tmp_path / "history.sqlite3") as store:
        run_with_feeds(day, store=store)
        events = store.events("desk", MONDAY, end)
    [stats] = daily_stats(events, MONDAY.date(), MONDAY.date(), TZ, end)
    assert stats.away_s == 25 * 60, "12:05 to 12:30, not the lunch hour"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_warning_given_before_the_person_leaves_is_withdrawn() -> None:
    async def day(service: Service, recorded: Recorded) -> None:
        await until(service, 9, 29)
        await service.clock.sleep(40)  # warned at 09:29:30 for the stand at 09:30
        await service.submit(SetPresence(mode=Mode.AWAY))
        await service.clock.sleep(5)

    recorded = run_with_feeds(day)
    assert recorded.of("warning")[-1][0] == MONDAY.replace(hour=9, minute=29, second=30)
    withdrawn = recorded.of("withdrawn")
    assert [(f["posture"], f["why"]) for _, f in withdrawn] == [("stand", "you are away")]
    assert not moves_between(
        recorded, MONDAY.replace(hour=9, minute=29), MONDAY.replace(hour=9, minute=31)
    )


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_calendar_file_holds_the_desk_in_meetings_and_status_says_until_when(
    tmp_path: Path,
) -> None:
    calendar = tmp_path / "work.ics"
    calendar.write_text(ics(STANDUP), encoding="utf-8")
    settings = Settings(calendar=CalendarSettings(sources=[str(calendar)]))
    seen: dict[str, DeskStatus] = {}

    async def day(service: Service, recorded: Recorded) -> None:
        await until(service, 9, 50)
        seen["before"] = await status(service)
        await until(service, 10, 10)
        seen["during"] = await status(service)
        await until(service, 11)

    recorded = run_with_feeds(day, settings=settings, cache_dir=tmp_path / "cache")
    before = seen["before"]
    assert before.next_meeting == {
        "start": "2026-11-30T10:05:00+01:00", "end": "2026-11-30T10:20:00+01:00",
        "summary": "Stand-up",
    }  # fmt: skip
    # the stand due at 10:15 comes just before the stand-up
    assert before.next_change_at == MONDAY.replace(hour=10, minute=4)
    during = seen["during"]
    assert during.waiting_for == "meeting"
    assert during.waiting_until == MONDAY.replace(hour=10, minute=20)
    assert during.calendar_problem is None
    assert not moves_between(
        recorded, MONDAY.replace(hour=10, minute=5), MONDAY.replace(hour=10, minute=19, second=59)
    )
    assert MONDAY.replace(hour=10, minute=4) in moves_between(
        recorded, MONDAY, MONDAY.replace(hour=11)
    )
    assert (tmp_path / "cache").is_dir(), "the good copy is kept under the state folder"


def test_a_calendar_that_goes_bad_keeps_its_last_good_copy_and_says_so_once(
    tmp_path: Path,
) -> None:
    calendar = tmp_path / "work.ics"
    calendar.write_text(ics(STANDUP), encoding="utf-8")
    location = str(calendar)
    source = CalendarSource(location, cache_path(tmp_path / "cache", location), tz=TZ)

    async def main() -> tuple[int, str | None, int, str | None]:
        service = build_service(Settings(), TZ, simulate=True, time_scale=1.0, start_at=MONDAY)
        feed = CalendarFeed(service, [source], clock=service.clock, tz=TZ)
        good, problem = await feed.read()
        calendar.write_text("this is no calendar", encoding="utf-8")
        kept, bad = await feed.read()
        return len(good), problem, len(kept), bad

    good, problem, kept, bad = run_virtual(main())
    assert (good, problem) == (2, None), "yesterday's and today's stand-up in the window"
    assert kept == good
    assert bad is not None
    assert bad.endswith("its last good copy is used")
    assert "\n" not in bad


def test_presence_mode_from_the_control_words_is_checked() -> None:
    async def day(service: Service, recorded: Recorded) -> None:
        answer = await service.call("presence", None, {"mode": "present"})
        assert answer["desk"] == "desk"
        await service.clock.sleep(1)
        presence = (await status(service)).presence
        assert presence is not None
        assert (presence["state"], presence["mode"], presence["source"]) == (
            "present", "present", "home"
        )  # fmt: skip
        with pytest.raises(InputError) as refused:
            await service.call("presence", None, {"mode": "maybe"})
        assert str(refused.value) == "presence mode 'maybe' is not one of present, away, auto"

    run_with_feeds(day)


def test_the_feeds_are_beside_the_service_only_as_configured(tmp_path: Path) -> None:
    async def main() -> list[str]:
        service = build_service(Settings(), TZ, simulate=True, time_scale=1.0, start_at=MONDAY)
        with_calendar = Settings(calendar=CalendarSettings(sources=[str(tmp_path / "a.ics")]))
        plain = build_companions(service, Settings(), TZ, simulate=True)
        both = build_companions(service, with_calendar, TZ, simulate=True, cache_dir=tmp_path)
        return [type(c).__name__ for c in plain] + ["|"] + [type(c).__name__ for c in both]

    assert run_virtual(main()) == ["PresenceFeed", "|", "PresenceFeed", "CalendarFeed"]


def test_status_in_words_says_the_meeting_the_absence_and_the_calendar() -> None:
    from deskctl.cli.service_calls import next_line, person_lines

    cue = {"title": "Leg swings"}
    meeting = {
        "next_posture": "sit", "next_change_at": "2026-11-30T10:20:00+01:00", "next_cue": cue,
        "waiting_for": "meeting", "waiting_until": "2026-11-30T10:20:00+01:00",
    }  # fmt: skip
    assert next_line(meeting) == "held for a meeting until 10:20, then sit at 10:20 with Leg swings"
    away = {"next_posture": "stand", "next_change_at": None, "next_cue": cue, "waiting_for": "away"}
    assert next_line(away) == "waiting for you to come back, then stand with Leg swings"
    state = {
        "presence": {"state": "away", "since": "2026-11-30T12:00:00+01:00",
                     "reason": "logind says the screen is locked"},
        "next_meeting": {"start": "2026-11-30T10:05:00+01:00", "end": "2026-11-30T10:20:00+01:00",
                         "summary": "Stand-up"},
        "calendar_problem": "cannot reach the calendar at https://x.test/a.ics: timed out",
    }  # fmt: skip
    assert person_lines(state) == [
        "away since 12:00: logind says the screen is locked",
        "meeting hold 10:05-10:20 (Stand-up)",
        "calendar: cannot reach the calendar at https://x.test/a.ics: timed out",
    ]
    assert person_lines({"presence": {"state": "unknown"}}) == []
