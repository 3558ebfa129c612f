"""Calendars into meetings: repeats, cancelled and moved instances, zones, free and all-day events,
and calendars served over HTTP on loopback, with the last good copy kept when one goes bad."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskctl.adapters.calendar import CalendarSource, parse_meetings
from deskctl.core.meetings import Meeting, around_meetings, meeting_at, merge, next_meeting
from deskctl.errors import CalendarError

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, tzinfo=BERLIN)  # a Monday


def ics(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//deskctl tests//EN\r\n{body}END:VCALENDAR\r\n"
    )


STANDUP = """UID:standup@test
SUMMARY:Standup
DTSTART;TZID=Europe/Berlin:20261130T093000
DTEND;TZID=Europe/Berlin:20261130T094500
RRULE:FREQ=DAILY;COUNT=5"""
STANDUP_CANCELLED_WEDNESDAY = """UID:standup@test
RECURRENCE-ID;TZID=Europe/Berlin:20261202T093000
SUMMARY:Standup
STATUS:CANCELLED
DTSTART;TZID=Europe/Berlin:20261202T093000
DTEND;TZID=Europe/Berlin:20261202T094500"""
STANDUP_MOVED_THURSDAY = """UID:standup@test
RECURRENCE-ID;TZID=Europe/Berlin:20261203T093000
SUMMARY:Standup (late)
DTSTART;TZID=Europe/Berlin:20261203T110000
DTEND;TZID=Europe/Berlin:20261203T111500"""
REVIEW_UTC = """UID:review@test
SUMMARY:Review
DTSTART:20261130T130000Z
DURATION:PT1H"""
FOCUS_FREE = """UID:focus@test
SUMMARY:Focus time
TRANSP:TRANSPARENT
DTSTART;TZID=Europe/Berlin:20261130T140000
DTEND;TZID=Europe/Berlin:20261130T160000"""
HOLIDAY = """UID:holiday@test
SUMMARY:Holiday
DTSTART;VALUE=DATE:20261201
DTEND;VALUE=DATE:20261202"""
FLOATING = """UID:floating@test
SUMMARY:Lunch talk
DTSTART:20261130T120000
DTEND:20261130T123000"""
WEEK = ics(
    STANDUP, STANDUP_CANCELLED_WEDNESDAY, STANDUP_MOVED_THURSDAY, REVIEW_UTC, FOCUS_FREE, HOLIDAY,
    FLOATING,
)  # fmt: skip


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, second, tzinfo=BERLIN) + timedelta(days=day)


def test_a_week_of_meetings_with_repeats_a_cancelled_and_a_moved_instance() -> None:
    meetings = parse_meetings(WEEK, MONDAY, MONDAY + timedelta(days=7), BERLIN)
    assert [
        (m.summary, m.start.astimezone(BERLIN), m.end.astimezone(BERLIN)) for m in meetings
    ] == [
        ("Standup", at(0, 9, 30), at(0, 9, 45)),
        ("Lunch talk", at(0, 12), at(0, 12, 30)),  # a floating time is in the person's zone
        ("Review", at(0, 14), at(0, 15)),  # 13:00 UTC, an hour by DURATION
        ("Standup", at(1, 9, 30), at(1, 9, 45)),
        ("Standup (late)", at(3, 11), at(3, 11, 15)),  # Wednesday's is cancelled
        ("Standup", at(4, 9, 30), at(4, 9, 45)),
    ]


def test_all_day_events_count_only_when_asked() -> None:
    day = parse_meetings(ics(HOLIDAY), MONDAY, MONDAY + timedelta(days=7), BERLIN, all_day=True)
    assert day == [Meeting(at(1, 0), at(2, 0), "Holiday")]


def test_meetings_are_those_that_overlap_the_window() -> None:
    meetings = parse_meetings(WEEK, at(0, 9, 40), at(0, 12, 10), BERLIN)
    assert [m.summary for m in meetings] == ["Standup", "Lunch talk"]


@pytest.mark.parametrize("text", ["", "not a calendar", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"])
def test_a_file_that_is_no_calendar_is_one_sentence(text: str) -> None:
    with pytest.raises(CalendarError, match="not a calendar deskctl can read") as caught:
        parse_meetings(text, MONDAY, MONDAY + timedelta(days=1), BERLIN)
    assert "\n" not in str(caught.value)


def test_overlapping_and_touching_meetings_are_one_hold() -> None:
    holds = merge(
        [
            Meeting(at(0, 10), at(0, 10, 30), "A"),
            Meeting(at(0, 10, 30), at(0, 11), "B"),
            Meeting(at(0, 10, 45), at(0, 10, 50), "B"),
            Meeting(at(0, 14), at(0, 15), "C"),
        ]
    )
    assert holds == [Meeting(at(0, 10), at(0, 11), "A + B"), Meeting(at(0, 14), at(0, 15), "C")]
    assert meeting_at(holds, at(0, 10, 59)) == holds[0]
    assert meeting_at(holds, at(0, 11)) is None  # the end is not part of it
    assert next_meeting(holds, at(0, 11)) == holds[1]
    assert next_meeting(holds, at(0, 15)) is None


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        Meeting(datetime(2026, 11, 30, 9), datetime(2026, 11, 30, 10))
    with pytest.raises(ValueError, match="ends after it starts"):
        Meeting(at(0, 10), at(0, 10))


class _Calendars(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, bytes]] = {}  # noqa: RUF012 - set per test, read by the server

    def do_GET(self) -> None:
        status, body = self.pages.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, tuple[int, bytes]]]]:
    pages: dict[str, tuple[int, bytes]] = {}
    handler = type("Handler", (_Calendars,), {"pages": pages})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", pages
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_a_calendar_over_http_is_fetched_and_its_good_copy_kept_on_disk(
    server: tuple[str, dict[str, tuple[int, bytes]]], tmp_path: Path
) -> None:
    base, pages = server
    pages["/work.ics"] = (200, WEEK.encode())
    source = CalendarSource(f"{base}/work.ics", tmp_path / "work.ics", tz=BERLIN)
    assert asyncio.run(source.fetch()) == WEEK
    assert (tmp_path / "work.ics").read_bytes() == WEEK.encode()
    # the server breaks: the sentence says how, and the last good copy stays in force
    pages["/work.ics"] = (500, b"oops")
    with pytest.raises(CalendarError, match=r"answered 500"):
        asyncio.run(source.fetch())
    pages["/work.ics"] = (200, b"<html>login</html>")
    with pytest.raises(CalendarError, match=r"work\.ics: it is not a calendar"):
        asyncio.run(source.fetch())
    assert source.text() == WEEK
    # a restart with the server gone still has the copy on disk
    again = CalendarSource(f"{base}/gone.ics", tmp_path / "work.ics", tz=BERLIN)
    with pytest.raises(CalendarError, match="answered 404"):
        asyncio.run(again.fetch())
    assert again.text() == WEEK


def test_an_unreachable_address_is_one_sentence(tmp_path: Path) -> None:
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    source = CalendarSource(f"http://127.0.0.1:{port}/x.ics", tmp_path / "x.ics")
    with pytest.raises(CalendarError, match="cannot reach the calendar") as caught:
        asyncio.run(source.fetch())
    assert "\n" not in str(caught.value)
    assert source.text() is None


def test_a_calendar_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(WEEK, encoding="utf-8")
    source = CalendarSource(str(path), tmp_path / "cache" / "cal.ics", tz=BERLIN)
    assert asyncio.run(source.fetch()) == WEEK
    path.unlink()
    with pytest.raises(CalendarError, match="cannot read the calendar"):
        asyncio.run(source.fetch())
    assert source.text() == WEEK


def test_utc_and_zones_agree() -> None:
    (review,) = parse_meetings(ics(REVIEW_UTC), MONDAY, MONDAY + timedelta(days=1), BERLIN)
    assert review.start == datetime(2026, 11, 30, 13, tzinfo=UTC)
    assert review.start.date() == date(2026, 11, 30)


HOLDS = merge([Meeting(at(0, 10), at(0, 11), "Planning"), Meeting(at(0, 14), at(0, 15), "Review")])


@pytest.mark.parametrize(
    ("due", "now", "warn_s", "moved"),
    [
        # not in a meeting: stays
        (at(0, 9, 30), at(0, 9), 60.0, None),
        (at(0, 11), at(0, 9), 60.0, None),  # the meeting's end is free
        # due inside, warning still possible before it: just before the meeting
        (at(0, 10, 20), at(0, 9), 60.0, (at(0, 9, 59), True)),
        (at(0, 10, 20), at(0, 9, 58), 60.0, (at(0, 9, 59), True)),  # warned at 9:58 exactly
        # too late to warn in full before it: at its end
        (at(0, 10, 20), at(0, 9, 58, 1), 60.0, (at(0, 11), False)),
        (at(0, 14, 59), at(0, 14, 30), 60.0, (at(0, 15), False)),  # in it already
    ],
)
def test_a_change_due_in_a_meeting_moves_before_or_after_it(
    due: datetime, now: datetime, warn_s: float, moved: tuple[datetime, bool] | None
) -> None:
    found = around_meetings(HOLDS, due, now, warn_s)
    assert (None if found is None else (found.at, found.before)) == moved


def test_the_calendar_feed_over_http_keeps_the_last_good_copy_and_says_it_once(
    server: tuple[str, dict[str, tuple[int, bytes]]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The feed the service runs (adapters.calendar_feed), against a real server on loopback:
    the meetings of a good copy, then the server failing: the same meetings, one sentence, said
    once in the log however often it is read."""
    import logging

    from deskctl.adapters.calendar_feed import CalendarFeed, cache_path
    from deskctl.config.settings import CalendarSettings, Settings
    from deskctl.service.assembly import build_service

    base, pages = server
    pages["/work.ics"] = (200, WEEK.encode())
    settings = CalendarSettings(sources=[f"{base}/work.ics"])

    async def main() -> list[tuple[int, str | None]]:
        start = MONDAY.replace(hour=8)
        service = build_service(Settings(), BERLIN, simulate=True, time_scale=1.0, start_at=start)
        feed = CalendarFeed.from_settings(service, settings, service.clock, BERLIN, tmp_path)
        seen: list[tuple[int, str | None]] = []
        for status in (200, 503, 503, 200):
            if status != 200:
                pages["/work.ics"] = (status, b"down")
            else:
                pages["/work.ics"] = (200, WEEK.encode())
            holds, problem = await feed.read()
            feed._say(problem)
            seen.append((len(holds), problem))
        return seen

    with caplog.at_level(logging.INFO, "deskctl.calendar"):
        seen = asyncio.run(main())
    assert cache_path(tmp_path, f"{base}/work.ics").is_file()
    good = seen[0][0]
    assert good > 0
    assert seen[0][1] is None
    assert (
        seen[1]
        == seen[2]
        == (
            good,
            f"the calendar at {base}/work.ics answered 503 Service Unavailable; "
            "its last good copy is used",
        )
    )
    assert seen[3] == (good, None)
    said = [r.getMessage() for r in caplog.records if r.name == "deskctl.calendar"]
    assert said == [f"calendar: {seen[1][1]}", "calendar: every calendar is read again"]
