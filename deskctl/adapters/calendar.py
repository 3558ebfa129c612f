"""Calendars in: iCalendar files and https addresses read into meetings, the last good copy kept.

Design: `parse_meetings(text, start, end, tz)` turns one iCalendar document into the meetings
(`deskctl.core.meetings.Meeting`) that overlap `[start, end)`, using icalendar to parse and
recurring-ical-events to expand repeats (RRULE, RDATE, EXDATE, moved and cancelled instances).
What is not a meeting: an all-day event (unless `all_day=True`), a free one (TRANSP:TRANSPARENT),
a cancelled one (STATUS:CANCELLED, the whole series or one instance), one that lasts no time.
A time with no zone (a "floating" time) is read in the person's zone `tz`. Any other problem is
one sentence in a `CalendarError`.

`CalendarSource(location, cache)` is one configured calendar: a path or an http(s) address.
`fetch()` reads it (https in a worker thread with a timeout, so the service's loop never waits on
the network), checks that it parses, and writes it to `cache` (atomically); when the read or the
parse fails, it raises `CalendarError` with one sentence and the cache, the last good copy, stays
in force: `text()` answers the newest good copy, fetched or cached, or None before the first.
"""

from __future__ import annotations

import asyncio
import os
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from deskctl.core.meetings import Meeting
from deskctl.errors import CalendarError

__all__ = ["MAX_CALENDAR_BYTES", "CalendarSource", "parse_meetings"]

MAX_CALENDAR_BYTES = 8 * 1024 * 1024  # a year of a busy work calendar is well under 1 MiB
FETCH_TIMEOUT_S = 20.0


def _as_datetime(value: Any, tz: tzinfo) -> datetime | None:
    """An event time as an aware datetime (floating times in `tz`); None for a date."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return None


def parse_meetings(
    text: str, start: datetime, end: datetime, tz: tzinfo, *, all_day: bool = False
) -> list[Meeting]:
    """The meetings in one iCalendar document that overlap `[start, end)`, in order."""
    import icalendar
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(text)
        events = recurring_ical_events.of(calendar).between(start, end)
    except Exception as exc:  # icalendar and its helpers raise many kinds for one bad file
        raise CalendarError(f"it is not a calendar deskctl can read ({_reason(exc)})") from None
    meetings: list[Meeting] = []
    for event in events:
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        begin_raw = event.get("DTSTART")
        finish_raw = event.get("DTEND")
        if begin_raw is None:
            continue
        begin = begin_raw.dt
        finish = finish_raw.dt if finish_raw is not None else None
        if not isinstance(begin, datetime):  # a date: an all-day event
            if not all_day or not isinstance(begin, date):
                continue
            last = finish if isinstance(finish, date) else begin + timedelta(days=1)
            first_at = datetime.combine(begin, time(), tz)
            last_at = datetime.combine(last, time(), tz)
        else:
            first_at = begin if begin.tzinfo is not None else begin.replace(tzinfo=tz)
            ended = _as_datetime(finish, tz)
            if ended is None:
                duration = event.get("DURATION")
                ended = first_at + (duration.dt if duration is not None else timedelta())
            last_at = ended
        if last_at <= first_at:
            continue
        meetings.append(Meeting(first_at, last_at, str(event.get("SUMMARY", ""))))
    return sorted(meetings)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


class CalendarSource:
    """One configured calendar: a file or an http(s) address, with its last good copy."""

    def __init__(self, location: str, cache: Path, *, tz: tzinfo = UTC) -> None:
        self.location = location
        self.cache = cache
        self.tz = tz
        self._text: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.location.startswith(("https://", "http://"))

    def text(self) -> str | None:
        """The newest good copy: the last fetched, else the one on disk, else None."""
        if self._text is None:
            try:
                self._text = self.cache.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                return None
        return self._text

    async def fetch(self) -> str:
        """Read the calendar now; on success it becomes the good copy (and is kept on disk)."""
        if self.is_remote:
            raw = await asyncio.to_thread(self._download)
        else:
            raw = self._read_file()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CalendarError(f"{self.location} is not UTF-8 text") from None
        now = datetime.now(UTC)
        try:
            parse_meetings(text, now, now + timedelta(days=1), self.tz)
        except CalendarError as exc:
            raise CalendarError(f"{self.location}: {exc}") from None
        self._text = text
        self._keep(text)
        return text

    def _read_file(self) -> bytes:
        path = Path(self.location).expanduser()
        try:
            with path.open("rb") as stream:
                data = stream.read(MAX_CALENDAR_BYTES + 1)
        except OSError as exc:
            raise CalendarError(f"cannot read the calendar {path}: {exc.strerror}") from None
        if len(data) > MAX_CALENDAR_BYTES:
            raise CalendarError(f"the calendar {path} is larger than 8 MiB")
        return data

    def _download(self) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked: http(s) only
            self.location, headers={"User-Agent": "deskctl", "Accept": "text/calendar"}
        )
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:  # noqa: S310
                data: bytes = answer.read(MAX_CALENDAR_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the connection open
            raise CalendarError(
                f"the calendar at {self.location} answered {exc.code} {exc.reason}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CalendarError(f"cannot reach the calendar at {self.location}: {reason}") from None
        if len(data) > MAX_CALENDAR_BYTES:
            raise CalendarError(f"the calendar at {self.location} is larger than 8 MiB")
        return data

    def _keep(self, text: str) -> None:
        """Write the good copy beside its old one, then rename it into place."""
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            partial = self.cache.with_name(self.cache.name + ".partial")
            partial.write_bytes(text.encode("utf-8"))
            os.replace(partial, self.cache)
        except OSError:
            pass  # the copy in memory still serves; the next fetch tries again
