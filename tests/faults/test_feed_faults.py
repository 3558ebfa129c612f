"""The feeds beside the service fail, and the desk goes on: a presence watch that breaks and a
calendar that cannot be read never stop the service (a companion that raises stops it, as a
broker refusing the login must). The schedule then runs on the clock, status says why.

On the simulated desk and virtual time, through the same composition as `deskctl run`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters.calendar_feed import CalendarFeed
from deskctl.adapters.presence.feed import PresenceFeed
from deskctl.adapters.presence.watch import PresenceWatch
from deskctl.config.settings import Settings
from deskctl.core.meetings import Meeting
from deskctl.core.presence import Thresholds
from deskctl.service.assembly import build_service
from deskctl.service.commands import Status
from deskctl.service.core import Companion, Service
from deskctl.service.status import DeskStatus
from deskctl.sim.links import SimLink
from deskctl.testing.virtual_time import run_virtual
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)


class BrokenWatch(PresenceWatch):
    async def __aenter__(self) -> BrokenWatch:
        TALLY.fault()
        raise RuntimeError("the session bus went away in a way no source expected")


class BrokenCalendars(CalendarFeed):
    async def read(self) -> tuple[list[Meeting], str | None]:
        TALLY.fault()
        raise ValueError("a calendar library raised what it never documented")


def run_day(make: Any) -> tuple[Recorded, DeskStatus, bool]:
    """The simulated service from 08:00 to 11:00 with the companions `make(service)` gives."""
    recorded = Recorded()
    seen: list[DeskStatus] = []

    async def main() -> bool:
        service = build_service(Settings(), TZ, simulate=True, time_scale=1.0, start_at=MONDAY)
        for runner in service.desks.values():
            if isinstance(runner.link, SimLink):
                runner.link._persist = False
        service.subscribe(recorded)
        beside: list[Companion] = make(service)
        task = asyncio.create_task(service.run(beside=beside))
        await service.clock.sleep(3 * 3600)
        still = not task.done()
        answer = await service.submit(Status()) if still else None
        if isinstance(answer, DeskStatus):
            seen.append(answer)
        service.request_stop()
        await task
        return still

    still = run_virtual(main())
    return recorded, seen[0] if seen else _none(), still


def _none() -> DeskStatus:
    raise AssertionError("the service stopped: no status")


def test_a_presence_watch_that_breaks_leaves_the_schedule_on_the_clock(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def make(service: Service) -> list[Companion]:
        return [PresenceFeed(service, BrokenWatch([], Thresholds(), service.clock))]

    with caplog.at_level(logging.ERROR, "deskctl.presence"):
        recorded, status, still = run_day(make)
    assert still, "the service still runs"
    assert len(recorded.of("move_started")) >= 4, "the desk moved on the clock"
    assert status.presence is not None
    assert status.presence["state"] == "unknown"
    said = [r.getMessage() for r in caplog.records if r.name == "deskctl.presence"]
    assert said == [
        "presence: it stopped (RuntimeError: the session bus went away in a way no source "
        "expected); the schedule runs on the clock"
    ]


def test_a_calendar_feed_that_breaks_says_so_in_status_and_the_desk_goes_on(
    tmp_path: Path,
) -> None:
    def make(service: Service) -> list[Companion]:
        return [BrokenCalendars(service, [], clock=service.clock, tz=TZ)]

    recorded, status, still = run_day(make)
    assert still, "the service still runs"
    assert len(recorded.of("move_started")) >= 4, "the desk moved on the clock"
    assert status.calendar_problem is not None
    assert status.calendar_problem.startswith("reading the calendars failed")
