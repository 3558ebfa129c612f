"""Stats a person can trust (issue 11): only working hours while the service ran count; durations
that read one way; cues shown vs done; a chart that fits the terminal; "standing today" from the
person's midnight; a demo's history kept apart from the real one."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len

from deskctl.adapters.history_store import Store
from deskctl.cli.service_calls import status_lines
from deskctl.config.settings import DeskSettings, Settings
from deskctl.core.stats import DayStats, Event, daily_stats, stats_json
from deskctl.core.units import format_duration, parse_duration_s
from deskctl.service.core import Service
from tests.cli import deskctl
from tests.service_harness import Recorded, run_service
from tests.service_process import start_service

BERLIN = ZoneInfo("Europe/Berlin")
MON = date(2026, 3, 2)
TUE = date(2026, 3, 3)


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=BERLIN)


def ev(when: datetime, kind: str, **data: Any) -> Event:
    return Event("office", when, kind, data)


def posture(when: datetime, name: str) -> Event:
    return ev(when, "posture", posture=name, height_mm=720)


def hours(when: datetime, working: bool, state: str = "") -> Event:
    state = state or ("running" if working else "off_hours")
    return ev(when, "schedule", state=state, working=working)


def old_off_hours(when: datetime) -> Event:
    """As a history from before `working` was recorded has it: an away, then off_hours."""
    return ev(when, "schedule", state="off_hours")


# -- 1. only working hours while the service ran count ---------------------------------------------

A_DAY = [  # Monday as the service records it now; the service still runs on Tuesday morning
    ev(at(MON, "8:50"), "session", state="start"),
    hours(at(MON, "8:50"), False),
    hours(at(MON, "9:00"), True),
    posture(at(MON, "9:00"), "sit"),
    posture(at(MON, "9:30"), "stand"),
    posture(at(MON, "9:45"), "away"),  # a walk: away inside working hours counts
    posture(at(MON, "9:48"), "sit"),
    hours(at(MON, "12:30"), False),  # lunch
    hours(at(MON, "13:30"), True),
    posture(at(MON, "13:30"), "sit"),
    hours(at(MON, "17:30"), False),  # the evening and the night
]
OLD_DAY = [  # the same kind of day as an older deskctl recorded it: off hours were "away"
    ev(at(MON, "8:50"), "session", state="start"),
    posture(at(MON, "12:00"), "sit"),
    posture(at(MON, "12:30"), "away"),
    old_off_hours(at(MON, "12:30")),
    ev(at(MON, "13:30"), "schedule", state="running"),
    posture(at(MON, "13:30"), "sit"),
    posture(at(MON, "17:30"), "away"),
    old_off_hours(at(MON, "17:30")),
]
SITTING_S = (30 + (12 * 60 + 30 - (9 * 60 + 48)) + 4 * 60) * 60


@pytest.mark.parametrize(
    ("events", "monday"),
    [
        pytest.param(
            A_DAY,
            {"sitting_s": SITTING_S, "standing_s": 900, "away_s": 180, "changes": 3},
            id="lunch, the evening and the night are not away; a walk is",
        ),
        pytest.param(
            OLD_DAY,
            {"sitting_s": 5 * 3600 - 30 * 60, "standing_s": 0, "away_s": 0, "changes": 0},
            id="an older history: off hours end the bout, and are no change",
        ),
        pytest.param(
            [
                ev(at(MON, "9:00"), "session", state="start"),
                posture(at(MON, "9:00"), "sit"),
                ev(at(MON, "10:00"), "session", state="stop"),
                posture(at(MON, "10:00"), "away"),  # an older deskctl, stopping
            ],
            {"sitting_s": 3600, "away_s": 0, "changes": 0},
            id="after the service stopped nothing counts",
        ),
        pytest.param(
            [
                hours(at(MON, "9:00"), True),
                posture(at(MON, "9:00"), "stand"),
                hours(at(MON, "9:10"), True, state="paused"),
                hours(at(MON, "9:20"), False, state="paused"),
            ],
            {"standing_s": 1200, "changes": 0},
            id="a pause in working hours still counts, until the hours end",
        ),
    ],
)
def test_only_working_hours_while_the_service_ran_count(
    events: list[Event], monday: dict[str, int]
) -> None:
    now = at(TUE, "8:00")
    mon, tue = daily_stats(events, MON, TUE, BERLIN, now)
    assert {name: getattr(mon, name) for name in monday} == monday
    assert tue == DayStats(TUE), "a night with no working hours counts nothing"


def test_a_whole_simulated_day_has_no_away_but_its_walks(tmp_path: Path) -> None:
    """Monday 08:00 to Tuesday 08:00 with walks every 30 minutes: away is the walks, not the
    16 hours of lunch, evening and night."""
    start = datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN)

    async def a_day(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(24 * 3600)

    desks = {"desk": DeskSettings(link="sim", profile="walking-breaks")}
    with Store(tmp_path / "history.sqlite3") as store:
        recorded = run_service(start, a_day, settings=Settings(desks=desks), store=store)
        events = store.events("desk", start - timedelta(days=1), start + timedelta(days=2))
    monday, tuesday = daily_stats(
        events, start.date(), start.date() + timedelta(days=1), BERLIN, start + timedelta(days=1)
    )
    walks = sum(1 for _, fields in recorded.of("cue") if fields["change"] == "away")
    assert walks > 10
    assert monday.away_s <= walks * 5 * 60 + 60, format_duration(monday.away_s)
    assert monday.sitting_s + monday.standing_s + monday.away_s <= 7.5 * 3600
    assert tuesday == DayStats(tuesday.day)


# -- 2. durations that read one way --------------------------------------------------------------


def test_durations_spell_every_unit_out_and_read_back() -> None:
    assert format_duration(2 * 3600 + 37) == "2 h 0 min 37 s"  # not "2h37s"
    assert parse_duration_s(format_duration(2 * 3600 + 37)) == 2 * 3600 + 37
    lines = status_lines(
        {"desk": "office", "height_mm": 1100, "posture": "stand", "connected": True,
         "standing_today_s": 2 * 3600 + 37, "sitting_bout_s": 0}
    )  # fmt: skip
    assert "  standing today 2 h 0 min 37 s, sitting bout 0 s" in lines


# -- 3. cues: shown, and done only when the desk changed posture ---------------------------------


def test_a_cue_is_shown_and_done_only_when_the_desk_really_changed_posture(tmp_path: Path) -> None:
    """walking-breaks never moves the desk (sit, walk, sit): every cue is shown, none done."""
    start = datetime(2026, 11, 30, 8, 59, tzinfo=BERLIN)

    async def a_morning(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(3 * 3600)

    for profile, expect_done in (("walking-breaks", False), ("sit-stand-30-15", True)):
        desks = {"desk": DeskSettings(link="sim", profile=profile)}
        with Store(tmp_path / f"{profile}.sqlite3") as store:
            recorded = run_service(start, a_morning, settings=Settings(desks=desks), store=store)
            events = store.events("desk", start, start + timedelta(hours=4))
        [day] = daily_stats(events, start.date(), start.date(), BERLIN, start + timedelta(hours=3))
        shown = len(recorded.of("cue"))
        assert shown > 3
        assert day.cues_shown == shown, profile
        if expect_done:  # each stand and sit the desk moved to; not the first sit, already there
            assert day.cues_done == shown - 1, profile
        else:
            assert day.cues_done == 0, profile
    row = stats_json("desk", "Europe/Berlin", [day])["days"][0]
    assert (row["cues_shown"], row["cues_done"]) == (day.cues_shown, day.cues_done)


# -- 4. the chart fits the terminal --------------------------------------------------------------


def a_history(tmp_path: Path, name: str = "history.sqlite3") -> None:
    with Store(tmp_path / "state" / name) as store:
        for event in A_DAY:
            store.record("office", event.at, event.kind, **event.data)
        store.record("office", at(MON, "18:00"), "session", state="stop")


BAR = re.compile("[▄█░]+")


def chart(tmp_path: Path, columns: int) -> list[str]:
    done = deskctl(
        tmp_path, "stats", "--tz", "Europe/Berlin", "--to", str(TUE), "--days", "2",
        COLUMNS=str(columns),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for line in lines:
        assert cell_len(line.rstrip()) <= columns, f"wider than {columns}: {line!r}"
        assert "…" not in line, line
    return lines


def bar_cells(lines: list[str]) -> int:
    (monday,) = [line for line in lines if line.startswith("Mon 03-02")]
    found = BAR.search(monday)
    assert found is not None, monday
    return len(found.group())


def test_the_chart_fits_40_80_and_200_columns(tmp_path: Path) -> None:
    a_history(tmp_path)
    narrow, usual, wide = (chart(tmp_path, n) for n in (40, 80, 200))
    assert bar_cells(narrow) >= 12
    assert bar_cells(usual) >= 12, "80 columns give the bar room, not 8 cells"
    assert bar_cells(wide) > bar_cells(usual)
    header = next(line for line in wide if line.startswith("day"))
    for column in ("sitting", "standing", "away", "longest sit", "changes", "cues done"):
        assert column in header
    assert not any(line.startswith("Left out") for line in wide)
    left_out = " ".join(narrow[next(i for i, x in enumerate(narrow) if "Left out" in x) :])
    assert "sitting" in left_out, "what does not fit is named, not cut"


# -- 5. "standing today" starts again at the person's midnight -----------------------------------


@pytest.fixture
def all_day_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    profiles = tmp_path / "config" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "all-day.toml").write_text(
        'sit = "72cm"\nstand = "110cm"\n'
        'weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        'hours = ["00:00-24:00"]\nwarn_s = 30\n'
        'cycle = [{ posture = "stand", minutes = 25 }, { posture = "sit", minutes = 5 }]\n'
    )
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path / "config"))
    return "all-day"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_standing_today_starts_again_at_midnight_without_a_change() -> None:
    """Monday's work ends at 17:30; at 00:30 on Tuesday nothing has changed, and "standing
    today" is Tuesday's: nothing."""
    seen: dict[str, int] = {}

    async def to_tuesday(service: Service, recorded: Recorded) -> None:
        runner = service.desks["desk"]
        late = datetime(2026, 11, 30, 23, 59, tzinfo=BERLIN)
        await service.clock.sleep((late - service.clock.now()).total_seconds())
        seen["monday"] = runner.status(service.clock.now()).standing_today_s
        await service.clock.sleep(31 * 60)
        seen["tuesday"] = runner.status(service.clock.now()).standing_today_s

    run_service(datetime(2026, 11, 30, 8, 59, tzinfo=BERLIN), to_tuesday)
    assert seen["monday"] >= 2 * 3600
    assert seen["tuesday"] == 0


def test_standing_today_is_real_time_across_midnight_and_a_dst_night(
    tmp_path: Path, all_day_profile: str
) -> None:
    """A desk that works all day and night, from Saturday 22:00 through the night the clocks go
    forward (Sunday 02:00 is 03:00) to Sunday 05:00: every 10 minutes, "standing today" is what
    the history says Sunday (or Saturday) stood, to the second; never last day's, never an hour
    too many."""
    start = datetime(2026, 3, 28, 22, 0, tzinfo=BERLIN)
    samples: list[tuple[datetime, int]] = []

    async def through_the_night(service: Service, recorded: Recorded) -> None:
        runner = service.desks["desk"]
        for _ in range(6 * 6):
            await service.clock.sleep(600)
            now = service.clock.now()
            samples.append((now, runner.status(now).standing_today_s))

    desks = {"desk": DeskSettings(link="sim", profile=all_day_profile)}
    with Store(tmp_path / "history.sqlite3") as store:
        run_service(start, through_the_night, settings=Settings(desks=desks), store=store)
        events = store.events("desk", start - timedelta(hours=1), start + timedelta(days=1))
    for now, standing_s in samples:
        day = now.astimezone(BERLIN).date()
        [history] = daily_stats(events, day, day, BERLIN, now)
        assert abs(standing_s - history.standing_s) <= 2, now.isoformat()
    sunday = [s for now, s in samples if now.astimezone(BERLIN).date() == date(2026, 3, 29)]
    assert sunday[0] <= 600, "Saturday's standing is not Sunday's"
    assert max(s for _, s in samples) <= 4 * 3600


# -- 6. a demo keeps its history apart -----------------------------------------------------------


def test_a_demo_keeps_its_history_apart_from_the_real_one(tmp_path: Path) -> None:
    a_history(tmp_path)  # the person's real Monday
    real = tmp_path / "state" / "history.sqlite3"
    before = real.read_bytes()
    ahead = (datetime.now(UTC) + timedelta(days=2)).astimezone(BERLIN).date()
    while ahead.weekday() >= 5:  # a working day, days ahead of the real clock
        ahead += timedelta(days=1)
    proc = start_service(tmp_path, "--time-scale", "120", "--from", f"{ahead}T08:59:00")
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while datetime.now(UTC) < deadline:  # until the demo clock is past the 09:00 sit
            state = json.loads(deskctl(tmp_path, "status", "--json").stdout)
            if state.get("posture") == "sit":
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert real.read_bytes() == before or _no_rows_after(real, at(MON, "18:01"))
    mine = json.loads(_stats(tmp_path, "--to", str(TUE), "--days", "2").stdout)
    assert mine["days"][0]["sitting_s"] == SITTING_S, "the real history is as it was"
    demo = json.loads(_stats(tmp_path, "--demo", "--days", "1").stdout)
    assert demo["days"][0]["date"] == str(ahead), "the demo's day, as of the demo's clock"
    assert demo["days"][0]["sitting_s"] > 0
    ahead_of_now = json.loads(_stats(tmp_path, "--to", str(ahead), "--days", "1").stdout)
    assert ahead_of_now["days"][0]["sitting_s"] == 0, "nothing dated ahead in the real history"


def _stats(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = deskctl(tmp_path, "stats", "--tz", "Europe/Berlin", "--json", *args, TZ="Europe/Berlin")
    assert done.returncode == 0, done.stderr
    return done


def _no_rows_after(path: Path, when: datetime) -> bool:
    with Store(path, readonly=True) as store:
        return store.events(None, when, when + timedelta(days=3650)) == []
