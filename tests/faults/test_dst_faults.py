"""Daylight-saving nights: the service runs through both clock changes of Europe/Berlin.

The clock here is a real-world one: wall time follows the virtual monotonic clock in a real zone,
as the system's clock does, so at 02:00 CET on 2026-03-29 the next minute reads 03:01 CEST, and on
2026-10-25 the hour 02:00-03:00 comes twice. Nothing jumped (no suspend, no NTP step): the service
must not say so, and every change of the plan must come once, on time, in real minutes. The plan
is the planner's (tests/test_planner.py checks it across DST); these check that the running
service keeps it. Found by issue 10 (docs/robustness.md): the schedule compared and subtracted
datetimes of one zone, which Python does by the wall clock, so the service saw a 1-hour jump at
every change, a sit lasted 90 minutes in spring, and the repeated hour's changes were skipped.
"""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from deskctl.clocks.clock import Clock
from deskctl.config.paths import config_dir
from deskctl.config.settings import DeskSettings, Settings
from deskctl.core.planner import plan_day
from deskctl.core.profile import parse_profile
from deskctl.service.core import Service
from deskctl.testing.virtual_time import run_virtual
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded, run_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)

SPRING = date(2026, 3, 29)  # 02:00 CET becomes 03:00 CEST: the hour 02:00-03:00 does not exist
AUTUMN = date(2026, 10, 25)  # 03:00 CEST becomes 02:00 CET: the hour 02:00-03:00 comes twice
# working hours across the changed hour, a block straddling the change (01:55 + 15 min)
NIGHT = {
    "sit": "72cm",
    "stand": "110cm",
    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "hours": ["00:40-04:40"],
    "cycle": [{"posture": "sit", "minutes": 30}, {"posture": "stand", "minutes": 15}],
    "warn_s": 30,
}
NIGHT_TOML = """\
sit = "72cm"
stand = "110cm"
weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
hours = ["00:40-04:40"]
cycle = [{ posture = "sit", minutes = 30 }, { posture = "stand", minutes = 15 }]
warn_s = 30
"""


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=TZ)


def hhmm(value: datetime) -> str:
    return f"{value.astimezone(TZ):%H:%M%z}"


class ZonedClock(Clock):
    """The same wall time, handed out in the `ZoneInfo` itself (as `datetime.now(tz)` does):
    the schedule must get it right whichever aware datetime it is given."""

    def now(self) -> datetime:
        return super().now().astimezone(TZ)


@pytest.mark.parametrize("clock", [Clock, ZonedClock], ids=["clock", "zoned"])
@pytest.mark.parametrize("day", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_a_night_across_the_clock_change_keeps_every_change_once_and_on_time(
    day: date, clock: type[Clock], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.service")
    monkeypatch.setattr("deskctl.service.assembly.Clock", clock)  # the clock build_service makes
    profiles = config_dir() / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "night.toml").write_text(NIGHT_TOML)
    settings = Settings(desks={"desk": DeskSettings(profile="night")})
    start, end = midnight(day), midnight(day) + timedelta(hours=5)  # 00:00 to 05:00 on the wall

    async def night(service: Service, recorded: Recorded) -> None:
        assert type(service.clock) is clock
        TALLY.fault()  # the clock change itself
        await service.clock.sleep((utc(end) - utc(service.clock.now())).total_seconds())

    recorded = run_service(start, night, settings=settings)

    assert "clock jumped" not in caplog.text, "a clock change is not a jump"
    assert "re-plan" not in caplog.text
    planned = plan_day(parse_profile(NIGHT, name="night", source="night.toml"), day, TZ)
    changes = [b for b in planned if b.change is not None]
    moves = [at for at, _ in recorded.of("move_started")]
    assert [hhmm(at) for at in moves] == [hhmm(b.start) for b in changes], (
        "every change once, none skipped, none twice"
    )
    for moved, block in zip(moves, changes, strict=True):
        assert abs(utc(moved) - utc(block.start)) <= timedelta(seconds=1), hhmm(block.start)
    lasted = [utc(b) - utc(a) for a, b in itertools.pairwise(moves)]
    planned_real = [b.duration for b in changes[:-1]]
    assert lasted == planned_real, "each block lasts the real minutes planned"
    assert max(lasted) <= timedelta(minutes=30), "no sit longer than the profile allows"
    warned = [utc(at) for at, _ in recorded.of("warning")]
    assert warned == [utc(at) - timedelta(seconds=30) for at in moves], "30 s warning, each"
    assert len(recorded.of("arrived")) == len(moves)


def test_a_clock_on_virtual_time_reads_the_wall_as_the_system_clock_does() -> None:
    readings: list[tuple[float, datetime]] = []

    async def read(start: datetime, steps_s: list[float]) -> None:
        clock = Clock(start=start, tz=TZ)
        for step_s in steps_s:
            readings.append((clock.monotonic(), clock.now()))
            await clock.sleep(step_s)
        readings.append((clock.monotonic(), clock.now()))

    TALLY.fault(2)
    run_virtual(read(datetime(2026, 3, 29, 1, 59, tzinfo=TZ), [120.0]))
    run_virtual(read(datetime(2026, 10, 25, 2, 59, tzinfo=TZ), [60.0, 3600.0]))
    assert [f"{now:%H:%M%z}" for _, now in readings] == [
        "01:59+0100",
        "03:01+0200",  # spring: no 02:01
        "02:59+0200",
        "02:00+0100",  # autumn: 02:00 again, an hour later
        "03:00+0100",
    ]
    for (mono_a, wall_a), (mono_b, wall_b) in itertools.pairwise(readings[2:]):
        assert (wall_b - wall_a).total_seconds() == mono_b - mono_a, "readings subtract to real s"
    assert (readings[1][1] - readings[0][1]).total_seconds() == 120


@pytest.mark.parametrize(
    ("hours", "first", "last", "real"),
    [
        # a time the clock skips means the moment it skips to: work starts when the clock says 03:00
        ("02:30-04:00", "03:00+0200", "04:00+0200", timedelta(hours=1)),
        ("01:00-02:30", "01:00+0100", "03:00+0200", timedelta(hours=1)),
        ("02:15-02:45", None, None, timedelta()),  # wholly in the skipped hour: no work that night
    ],
)
def test_a_working_range_that_starts_or_ends_in_the_skipped_hour_follows_the_wall_clock(
    hours: str, first: str | None, last: str | None, real: timedelta
) -> None:
    TALLY.tried()
    profile = parse_profile({**NIGHT, "hours": [hours]}, name="night", source="night.toml")
    blocks = plan_day(profile, SPRING, TZ)
    assert sum((b.duration for b in blocks), timedelta()) == real
    if first is not None and last is not None:
        assert (hhmm(blocks[0].start), hhmm(blocks[-1].end)) == (first, last)
