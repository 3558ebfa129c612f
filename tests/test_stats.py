"""Per-day stats from a desk's history: the bout rules as tables, DST, midnight; `deskctl stats`."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from deskctl.adapters.history_store import Store
from deskctl.core.stats import (
    DayStats,
    Event,
    check_event,
    daily_stats,
    stats_json,
    totals,
)
from tests.cli import deskctl

BERLIN = ZoneInfo("Europe/Berlin")
MON = date(2026, 3, 2)
TUE = date(2026, 3, 3)
LATE = datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN)  # a `now` long after the days in question


def at(day: date, hhmm: str, tz: Any = BERLIN) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=tz)


def ev(when: datetime, kind: str, **data: Any) -> Event:
    return Event("office", when, kind, data)


def sit(when: datetime) -> Event:
    return ev(when, "posture", posture="sit", height_mm=720)


def stand(when: datetime) -> Event:
    return ev(when, "posture", posture="stand", height_mm=1100)


def away(when: datetime) -> Event:
    return ev(when, "posture", posture="away", height_mm=1100)


def start(when: datetime) -> Event:
    return ev(when, "session", state="start")


def stop(when: datetime) -> Event:
    return ev(when, "session", state="stop")


def one_day(events: list[Event], now: datetime = LATE, day: date = MON) -> DayStats:
    (row,) = daily_stats(events, day, day, BERLIN, now)
    return row


# (what the rule is, events on Monday, now, the expected fields of Monday's row)
BOUT_RULES: list[tuple[str, list[Event], datetime, dict[str, int]]] = [
    (
        "a bout lasts until the next posture; a session stop ends the last",
        [
            start(at(MON, "9:00")),
            sit(at(MON, "9:00")),
            stand(at(MON, "9:30")),
            stop(at(MON, "10:00")),
        ],
        LATE,
        {"sitting_s": 1800, "standing_s": 1800, "away_s": 0, "changes": 1},
    ),
    (
        "an open bout is clipped at now",
        [start(at(MON, "9:00")), sit(at(MON, "9:00")), stand(at(MON, "9:30"))],
        at(MON, "9:40"),
        {"sitting_s": 1800, "standing_s": 600, "changes": 1},
    ),
    (
        "an open bout with no later event runs to the end of the day",
        [sit(at(MON, "22:00"))],
        LATE,
        {"sitting_s": 7200, "longest_sitting_bout_s": 7200, "changes": 0},
    ),
    (
        "nothing counts between a session stop and the next posture",
        [
            sit(at(MON, "9:00")),
            stop(at(MON, "9:10")),
            start(at(MON, "12:00")),
            stand(at(MON, "12:00")),
            stop(at(MON, "12:05")),
        ],
        LATE,
        {"sitting_s": 600, "standing_s": 300, "changes": 0},
    ),
    (
        "a start with a bout still open (a crash) ends the bout at the last event seen",
        [
            sit(at(MON, "9:00")),
            ev(at(MON, "9:20"), "height", height_mm=730),
            start(at(MON, "13:00")),
            stand(at(MON, "13:00")),
            stop(at(MON, "13:30")),
        ],
        LATE,
        {"sitting_s": 1200, "standing_s": 1800, "changes": 0},
    ),
    (
        "the same posture again continues the bout: no change, one long bout",
        [
            sit(at(MON, "9:00")),
            sit(at(MON, "9:20")),
            stand(at(MON, "9:50")),
            stop(at(MON, "10:00")),
        ],
        LATE,
        {"sitting_s": 3000, "longest_sitting_bout_s": 3000, "changes": 1},
    ),
    (
        "the longest sitting bout is the longest one, not the sum",
        [
            sit(at(MON, "9:00")),
            stand(at(MON, "9:20")),
            sit(at(MON, "9:30")),
            away(at(MON, "10:15")),
            sit(at(MON, "10:20")),
            stop(at(MON, "10:30")),
        ],
        LATE,
        {
            "sitting_s": 4500,
            "longest_sitting_bout_s": 2700,
            "standing_s": 600,
            "away_s": 300,
            "changes": 4,
        },
    ),
    (
        "events after now are ignored",
        [
            sit(at(MON, "9:00")),
            stand(at(MON, "9:30")),
            ev(at(MON, "9:45"), "cue", id="c", title="C", area="hips", status="done"),
        ],
        at(MON, "9:10"),
        {"sitting_s": 600, "standing_s": 0, "changes": 0, "cues_done": 0},
    ),
    (
        "a now before every event counts nothing",
        [sit(at(MON, "9:00"))],
        at(MON, "8:00"),
        {"sitting_s": 0, "changes": 0},
    ),
    (
        "cues count by status; moves and obstructions by outcome",
        [
            ev(at(MON, "9:00"), "cue", id="a", title="A", area="hips", status="shown"),
            ev(at(MON, "9:01"), "cue", id="a", title="A", area="hips", status="done"),
            ev(at(MON, "9:30"), "cue", id="b", title="B", area="neck", status="skipped"),
            ev(at(MON, "9:40"), "cue", id="b", title="B", area="neck", status="snoozed"),
            ev(at(MON, "9:45"), "cue", id="b", title="B", area="neck", status="done"),
            ev(
                at(MON, "9:02"),
                "move",
                from_mm=720,
                to_mm=1100,
                outcome="arrived",
                reason="scheduled",
            ),
            ev(
                at(MON, "9:31"),
                "move",
                from_mm=1100,
                to_mm=720,
                outcome="obstruction",
                reason="scheduled",
            ),
            ev(
                at(MON, "9:32"), "move", from_mm=900, to_mm=720, outcome="arrived", reason="command"
            ),
        ],
        LATE,
        {
            "cues_done": 2,
            "cues_skipped": 1,
            "cues_shown": 1,
            "moves": 3,
            "obstructions": 1,
            "sitting_s": 0,
        },
    ),
    (
        "other desks' kinds of events and unknown postures change nothing",
        [
            ev(at(MON, "9:00"), "schedule", state="paused", until=at(MON, "10:00")),
            ev(at(MON, "9:00"), "posture", posture="lying", height_mm=0),
        ],
        LATE,
        {"sitting_s": 0, "standing_s": 0, "away_s": 0, "changes": 0},
    ),
]


@pytest.mark.parametrize(
    ("events", "now", "expected"),
    [pytest.param(events, now, expected, id=rule) for rule, events, now, expected in BOUT_RULES],
)
def test_bout_and_count_rules(events: list[Event], now: datetime, expected: dict[str, int]) -> None:
    row = one_day(events, now)
    assert {key: getattr(row, key) for key in expected} == expected


def test_a_bout_across_midnight_counts_on_both_days_and_is_clipped_for_the_longest() -> None:
    events = [sit(at(MON, "23:40")), stand(at(TUE, "0:20")), stop(at(TUE, "0:30"))]
    monday, tuesday = daily_stats(events, MON, TUE, BERLIN, LATE)
    assert (monday.sitting_s, monday.longest_sitting_bout_s, monday.changes) == (1200, 1200, 0)
    assert (tuesday.sitting_s, tuesday.longest_sitting_bout_s) == (1200, 1200)
    assert (tuesday.standing_s, tuesday.changes) == (600, 1)


def test_a_bout_open_since_before_the_first_day_counts_from_its_midnight() -> None:
    events = [sit(at(MON, "20:00")), stand(at(TUE, "1:00")), stop(at(TUE, "2:00"))]
    (tuesday,) = daily_stats(events, TUE, TUE, BERLIN, LATE)
    assert (tuesday.sitting_s, tuesday.standing_s, tuesday.changes) == (3600, 3600, 1)


def test_a_bout_across_several_whole_days_fills_each_with_its_own_length() -> None:
    events = [away(at(MON, "12:00"))]
    rows = daily_stats(events, MON, date(2026, 3, 4), BERLIN, at(date(2026, 3, 4), "6:00"))
    assert [r.away_s for r in rows] == [12 * 3600, 24 * 3600, 6 * 3600]


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        pytest.param(date(2026, 3, 29), 23, id="spring forward: 23 hours"),
        pytest.param(date(2026, 10, 25), 25, id="fall back: 25 hours"),
        pytest.param(date(2026, 3, 28), 24, id="the day before: 24 hours"),
    ],
)
def test_a_dst_day_holds_exactly_its_own_hours(day: date, hours: int) -> None:
    events = [sit(at(day - timedelta(days=1), "23:00"))]
    next_noon = at(day + timedelta(days=1), "12:00")
    row = one_day(events, next_noon, day)
    assert row.sitting_s == hours * 3600
    assert row.longest_sitting_bout_s == hours * 3600


def test_dst_clipping_is_by_the_real_clock_not_the_wall_clock() -> None:
    day = date(2026, 3, 29)  # 02:00 does not exist in Berlin: 01:30 → 03:30 is one hour
    events = [sit(at(day, "1:30")), stand(at(day, "3:30")), stop(at(day, "4:00"))]
    row = one_day(events, at(date(2026, 3, 30), "12:00"), day)
    assert (row.sitting_s, row.standing_s) == (3600, 1800)


def test_events_recorded_with_other_offsets_fall_on_the_local_day() -> None:
    # 23:30 UTC on Monday is 00:30 on Tuesday in Berlin
    events = [
        ev(
            datetime(2026, 3, 2, 23, 30, tzinfo=UTC),
            "cue",
            id="a",
            title="A",
            area="hips",
            status="done",
        )
    ]
    monday, tuesday = daily_stats(events, MON, TUE, BERLIN, LATE)
    assert (monday.cues_done, tuesday.cues_done) == (0, 1)


def test_events_out_of_order_are_sorted_by_time() -> None:
    events = [stop(at(MON, "10:00")), stand(at(MON, "9:30")), sit(at(MON, "9:00"))]
    row = one_day(events)
    assert (row.sitting_s, row.standing_s, row.changes) == (1800, 1800, 1)


def test_one_row_per_day_in_order_even_without_events() -> None:
    rows = daily_stats([], MON, date(2026, 3, 8), BERLIN, LATE)
    assert [r.day for r in rows] == [MON + timedelta(days=n) for n in range(7)]
    assert all(r == DayStats(r.day) for r in rows)


def test_bad_ranges_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        daily_stats([], TUE, MON, BERLIN, LATE)
    with pytest.raises(ValueError, match="time zone"):
        daily_stats([], MON, MON, BERLIN, datetime(2026, 3, 2, 12, 0))


def test_totals_add_days_and_keep_the_longest_bout() -> None:
    days = [
        DayStats(
            MON,
            sitting_s=100,
            standing_s=50,
            changes=2,
            longest_sitting_bout_s=60,
            cues_done=1,
            moves=2,
            obstructions=1,
        ),
        DayStats(
            TUE, sitting_s=300, away_s=7, changes=1, longest_sitting_bout_s=200, cues_skipped=3
        ),
    ]
    total = totals(days)
    assert total.as_json() == {
        "sitting_s": 400,
        "standing_s": 50,
        "away_s": 7,
        "changes": 3,
        "longest_sitting_bout_s": 200,
        "cues_done": 1,
        "cues_skipped": 3,
        "moves": 2,
        "obstructions": 1,
        "cues_shown": 0,
        "steps": 0,
        "steps_goal": 0,
    }
    assert totals([]).longest_sitting_bout_s == 0


def test_the_json_object_has_the_documented_shape() -> None:
    out = stats_json("office", "Europe/Berlin", [DayStats(MON, sitting_s=5)])
    assert list(out) == ["desk", "tz", "days", "totals"]
    assert out["desk"] == "office"
    assert out["days"] == [
        {
            "date": "2026-03-02",
            "sitting_s": 5,
            "standing_s": 0,
            "away_s": 0,
            "changes": 0,
            "longest_sitting_bout_s": 0,
            "cues_done": 0,
            "cues_skipped": 0,
            "moves": 0,
            "obstructions": 0,
            "cues_shown": 0,
            "steps": 0,
            "steps_goal": 0,
        }
    ]
    assert out["totals"]["sitting_s"] == 5


GOOD: list[tuple[str, dict[str, Any]]] = [
    ("height", {"height_mm": 720}),
    ("posture", {"posture": "away", "height_mm": None}),
    ("move", {"from_mm": None, "to_mm": 1100, "outcome": "link_lost", "reason": "manual"}),
    ("cue", {"id": "cat-cow", "title": "Cat-cow", "area": "lower_back", "status": "snoozed"}),
    ("schedule", {"state": "off_hours"}),
    ("schedule", {"state": "paused", "until": datetime(2026, 3, 2, 10, tzinfo=UTC)}),
    ("session", {"state": "stop", "profile": "default"}),
]
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("nap", {}, "not a kind"),
    ("height", {}, "needs 'height_mm'"),
    ("height", {"height_mm": 72.0}, "must be int"),
    ("height", {"height_mm": True}, "must be int"),
    ("height", {"height_mm": None}, "must be int"),
    ("posture", {"posture": "lie", "height_mm": 700}, "one of sit, stand, away"),
    ("move", {"from_mm": 1, "to_mm": 2, "outcome": "ok", "reason": "command"}, "outcome"),
    ("cue", {"id": "a", "title": "A", "area": "hips", "status": "seen"}, "status"),
    ("schedule", {"state": "paused", "until": datetime(2026, 3, 2, 10)}, "time zone"),
    ("schedule", {"state": "paused", "until": "10:00"}, "must be datetime"),
    ("session", {"state": "restart"}, "start, stop"),
]


@pytest.mark.parametrize(("kind", "data"), GOOD)
def test_check_event_takes_each_documented_kind(kind: str, data: dict[str, Any]) -> None:
    check_event(kind, data)


@pytest.mark.parametrize(("kind", "data", "message"), BAD)
def test_check_event_refuses_what_a_kind_does_not_carry(
    kind: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_event(kind, data)


# `deskctl stats` as a user runs it, from a history filled here (DESKCTL_STATE_DIR in tmp_path)


def fill(tmp_path: Path, desk: str = "office") -> None:
    """Monday 9:00-10:00 (a cue done, one skipped, an obstruction), then a bout across midnight."""
    with Store(tmp_path / "state" / "history.sqlite3") as store:
        store.record(desk, at(MON, "9:00"), "session", state="start")
        store.record(desk, at(MON, "9:00"), "posture", posture="sit", height_mm=720)
        store.record(
            desk,
            at(MON, "9:30"),
            "move",
            from_mm=720,
            to_mm=1100,
            outcome="arrived",
            reason="scheduled",
        )
        store.record(desk, at(MON, "9:30"), "posture", posture="stand", height_mm=1100)
        store.record(desk, at(MON, "9:30"), "cue", id="a", title="A", area="hips", status="shown")
        store.record(desk, at(MON, "9:30"), "cue", id="a", title="A", area="hips", status="done")
        store.record(
            desk,
            at(MON, "9:45"),
            "move",
            from_mm=1100,
            to_mm=720,
            outcome="obstruction",
            reason="scheduled",
        )
        store.record(desk, at(MON, "9:45"), "cue", id="b", title="B", area="neck", status="skipped")
        store.record(desk, at(MON, "10:00"), "session", state="stop")
        store.record(desk, at(MON, "23:00"), "session", state="start")
        store.record(desk, at(MON, "23:00"), "posture", posture="sit", height_mm=720)
        store.record(desk, at(TUE, "0:30"), "posture", posture="away", height_mm=720)
        store.record(desk, at(TUE, "0:45"), "session", state="stop")


def run_stats(tmp_path: Path, *args: str, columns: str = "80") -> subprocess.CompletedProcess[str]:
    return deskctl(
        tmp_path, "stats", "--tz", "Europe/Berlin", "--to", "2026-03-03", *args, COLUMNS=columns
    )


def test_stats_json_is_the_documented_object_per_day_with_totals(tmp_path: Path) -> None:
    fill(tmp_path)
    done = run_stats(tmp_path, "--days", "2", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"desk", "tz", "days", "totals"}
    assert (out["desk"], out["tz"]) == ("office", "Europe/Berlin")
    monday, tuesday = out["days"]
    assert monday == {
        "date": "2026-03-02",
        "sitting_s": 1800 + 3600,
        "standing_s": 1800,
        "away_s": 0,
        "changes": 1,
        "longest_sitting_bout_s": 3600,
        "cues_done": 1,
        "cues_skipped": 1,
        "moves": 2,
        "obstructions": 1,
        "cues_shown": 1,
        "steps": 0,
        "steps_goal": 0,
    }
    assert tuesday == {
        "date": "2026-03-03",
        "sitting_s": 1800,
        "standing_s": 0,
        "away_s": 900,
        "changes": 1,
        "longest_sitting_bout_s": 1800,
        "cues_done": 0,
        "cues_skipped": 0,
        "moves": 0,
        "obstructions": 0,
        "cues_shown": 0,
        "steps": 0,
        "steps_goal": 0,
    }
    assert out["totals"] == {
        "sitting_s": 7200,
        "standing_s": 1800,
        "away_s": 900,
        "changes": 2,
        "longest_sitting_bout_s": 3600,
        "cues_done": 1,
        "cues_skipped": 1,
        "moves": 2,
        "obstructions": 1,
        "cues_shown": 1,
        "steps": 0,
        "steps_goal": 0,
    }


def test_stats_counts_a_bout_open_since_before_the_first_day(tmp_path: Path) -> None:
    fill(tmp_path)
    done = run_stats(tmp_path, "--days", "1", "--json")
    assert done.returncode == 0, done.stderr
    (tuesday,) = json.loads(done.stdout)["days"]
    assert (tuesday["date"], tuesday["sitting_s"], tuesday["away_s"]) == ("2026-03-03", 1800, 900)


def test_stats_csv_is_a_header_then_a_row_per_day(tmp_path: Path) -> None:
    fill(tmp_path)
    done = run_stats(tmp_path, "--days", "3", "--csv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines == [
        "date,sitting_s,standing_s,away_s,changes,longest_sitting_bout_s,cues_done,cues_skipped,"
        "moves,obstructions,cues_shown,steps,steps_goal",
        "2026-03-01,0,0,0,0,0,0,0,0,0,0,0,0",
        "2026-03-02,5400,1800,0,1,3600,1,1,2,1,1,0,0",
        "2026-03-03,1800,0,900,1,1800,0,0,0,0,0,0,0",
    ]


def test_stats_draws_a_row_and_a_bar_per_day_and_the_totals(tmp_path: Path) -> None:
    fill(tmp_path)
    done = run_stats(tmp_path, "--days", "2", columns="200")
    assert done.returncode == 0, done.stderr
    cells = {  # columns are two spaces apart; a duration has single spaces inside
        line[:9]: re.split(r"\s{2,}", line.strip())
        for line in done.stdout.splitlines()
        if line.startswith(("Mon", "Tue", "total"))
    }
    assert set(cells) == {"Mon 03-02", "Tue 03-03", "total    "}
    assert "▄" in cells["Mon 03-02"][1]  # sitting
    assert "█" in cells["Mon 03-02"][1]  # standing
    assert cells["Mon 03-02"][-6:] == ["1 h 30 min", "30 min", "–", "1 h", "1", "1 of 1"]
    assert cells["Tue 03-03"][-6:] == ["30 min", "–", "15 min", "30 min", "1", "0 of 0"]
    assert cells["total    "][1:] == ["2 h", "30 min", "15 min", "1 h", "2", "1 of 1"]


def test_stats_with_no_history_says_so_in_one_sentence_and_creates_nothing(
    tmp_path: Path,
) -> None:
    done = deskctl(tmp_path, "stats")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith("No history yet")
    assert not (tmp_path / "state" / "history.sqlite3").exists()
    as_json = json.loads(deskctl(tmp_path, "stats", "--json", "--days", "3").stdout)
    assert len(as_json["days"]) == 3
    assert as_json["totals"]["sitting_s"] == 0


def test_stats_with_nothing_in_the_days_asked_says_so(tmp_path: Path) -> None:
    fill(tmp_path)
    done = deskctl(tmp_path, "stats", "--tz", "Europe/Berlin", "--to", "2026-02-20")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "Nothing recorded for desk 'office' from 2026-02-14 to 2026-02-20.\n"


def test_stats_picks_the_desk_asked_for_and_asks_when_several_have_history(
    tmp_path: Path,
) -> None:
    fill(tmp_path, "office")
    with Store(tmp_path / "state" / "history.sqlite3") as store:
        store.record("home", at(MON, "12:00"), "posture", posture="stand", height_mm=1000)
        store.record("home", at(MON, "12:10"), "session", state="stop")
    asked = run_stats(tmp_path, "--json")
    assert asked.returncode == 2
    assert asked.stderr == (
        "deskctl: several desks have history (home, office); choose one with --desk NAME.\n"
    )
    home = json.loads(run_stats(tmp_path, "--json", "--desk", "home").stdout)
    assert (home["desk"], home["totals"]["standing_s"], home["totals"]["sitting_s"]) == (
        "home",
        600,
        0,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--json", "--csv"], "choose one of --json and --csv.", id="both formats"),
        pytest.param(["--to", "yesterday"], "'yesterday' is not a date", id="a bad date"),
        pytest.param(["--tz", "Mars/Olympus"], "'Mars/Olympus' is not a time zone", id="bad tz"),
    ],
)
def test_stats_bad_usage_is_one_sentence_and_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = deskctl(tmp_path, "stats", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1


# -- steps from outside: a day's last count, against its goal ------------------------------------


def test_a_days_steps_are_its_last_count_and_the_totals_add_the_days_that_had_one() -> None:
    events = [
        Event("office", at(MON, "9:00"), "session", {"state": "start"}),
        Event("office", at(MON, "10:00"), "steps", {"count": 2100, "goal": 8000}),
        Event("office", at(MON, "17:00"), "steps", {"count": 6400, "goal": 8000}),
        Event("office", at(TUE, "12:00"), "steps", {"count": 9100, "goal": 10000}),
    ]
    monday, tuesday, wednesday = daily_stats(
        events, MON, TUE + timedelta(days=1), BERLIN, at(TUE, "23:00")
    )
    assert (monday.steps, monday.steps_goal) == (6400, 8000)
    assert (tuesday.steps, tuesday.steps_goal) == (9100, 10000)
    assert (wednesday.steps, wednesday.steps_goal) == (0, 0)
    total = totals([monday, tuesday, wednesday])
    assert (total.steps, total.steps_goal) == (15500, 18000)


def test_stats_show_steps_against_the_goal_only_when_a_count_came(tmp_path: Path) -> None:
    fill(tmp_path)
    plain = run_stats(tmp_path, "--days", "2", columns="200")
    assert "steps" not in plain.stdout
    with Store(tmp_path / "state" / "history.sqlite3") as store:
        store.record("office", at(MON, "9:40"), "steps", count=5200, goal=8000)
    drawn = run_stats(tmp_path, "--days", "2", columns="200")
    assert drawn.returncode == 0, drawn.stderr
    rows = {line[:9]: line for line in drawn.stdout.splitlines()}
    assert "steps" in rows["day      "]
    assert rows["Mon 03-02"].endswith("5,200 of 8,000")
    assert rows["Tue 03-03"].endswith("–")
    monday = json.loads(run_stats(tmp_path, "--days", "2", "--json").stdout)["days"][0]
    assert (monday["steps"], monday["steps_goal"]) == (5200, 8000)
