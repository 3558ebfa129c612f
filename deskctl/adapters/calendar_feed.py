"""The calendars beside the service: read outside the owner task, meetings handed in as values.

Design: `CalendarFeed(service, sources, ...)` is a companion (`Service.run(beside=...)`). Every
`refresh_s` (on the service's clock) it fetches each calendar (`CalendarSource.fetch`: a file, or
an https address in a worker thread; the good copy kept on disk), reads the meetings from the
newest good copy of each from 12 hours back to 36 hours ahead, and hands them to the service as
one `MeetingsSeen` value, with one sentence saying what went wrong, if anything. A calendar that
cannot be read or parsed keeps its last good copy in force; the sentence is logged once, when it
first appears (and once more when all is well again), and `status` carries it while it lasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta, tzinfo
from pathlib import Path

from deskctl.adapters.calendar import CalendarSource, parse_meetings
from deskctl.clocks.clock import Clock
from deskctl.config.settings import CalendarSettings
from deskctl.core.meetings import Meeting
from deskctl.errors import CalendarError
from deskctl.service.commands import MeetingsSeen
from deskctl.service.core import CommandResult, Service

__all__ = ["CalendarFeed", "cache_path"]

log = logging.getLogger("deskctl.calendar")

BEHIND = timedelta(hours=12)
AHEAD = timedelta(hours=36)


def cache_path(cache_dir: Path, location: str) -> Path:
    """Where the good copy of the calendar at `location` is kept."""
    digest = hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]
    return cache_dir / f"{digest}.ics"


class CalendarFeed:
    def __init__(
        self,
        service: Service,
        sources: Sequence[CalendarSource],
        *,
        clock: Clock,
        tz: tzinfo,
        refresh_s: float = 300.0,
        all_day: bool = False,
    ) -> None:
        self.service = service
        self.sources = tuple(sources)
        self.clock = clock
        self.tz = tz
        self.refresh_s = refresh_s
        self.all_day = all_day
        self.problem: str | None = None
        self._last: tuple[Meeting, ...] = ()  # the meetings last handed in

    @classmethod
    def from_settings(
        cls, service: Service, settings: CalendarSettings, clock: Clock, tz: tzinfo, cache_dir: Path
    ) -> CalendarFeed:
        sources = [
            CalendarSource(location, cache_path(cache_dir, location), tz=tz)
            for location in settings.sources
        ]
        return cls(
            service, sources, clock=clock, tz=tz, refresh_s=settings.refresh_s,
            all_day=settings.all_day,
        )  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                holds, problem = await self.read()
            except Exception as exc:  # a companion that raises would stop the whole service
                log.exception("calendar: reading the calendars failed")
                holds, problem = list(self._last), f"reading the calendars failed ({exc})"[:300]
            self._last = tuple(holds)
            self._say(problem)
            self.service.send(MeetingsSeen(tuple(holds), problem)).add_done_callback(_retrieve)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.clock.real_seconds(self.refresh_s))

    async def read(self) -> tuple[list[Meeting], str | None]:
        """Every calendar fetched once: the meetings of their good copies, and what went wrong."""
        now = self.clock.now()
        holds: list[Meeting] = []
        problems: list[str] = []
        for source in self.sources:
            try:
                await source.fetch()
            except CalendarError as exc:
                kept = source.text() is not None
                problems.append(f"{exc}" + ("; its last good copy is used" if kept else ""))
            text = source.text()
            if text is None:
                continue
            try:
                holds += parse_meetings(
                    text, now - BEHIND, now + AHEAD, self.tz, all_day=self.all_day
                )
            except CalendarError as exc:
                problems.append(f"{source.location}: {exc}")
            except Exception as exc:  # the calendar libraries raise many kinds on odd events
                problems.append(f"{source.location}: cannot read its events ({exc!s:.160})")
        return sorted(holds), "; ".join(problems) or None

    def _say(self, problem: str | None) -> None:
        if problem == self.problem:
            return
        if problem is not None:
            log.warning("calendar: %s", problem)
        elif self.problem is not None:
            log.info("calendar: every calendar is read again")
        self.problem = problem


def _retrieve(answer: asyncio.Future[CommandResult]) -> None:
    if not answer.cancelled() and answer.exception() is not None:
        log.error("calendar: the service refused the meetings: %s", answer.exception())
