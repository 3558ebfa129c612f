"""The day planner: a profile and a date become blocks, cut at working hours, right across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.config.cue_library import shipped_cues
from deskctl.config.profile_library import load_profile
from deskctl.core.cues import Area, Change, Cue, CuePicker, Kind
from deskctl.core.planner import (
    Block,
    day_seed,
    longest_bout,
    plan_day,
    plan_json,
    time_in,
    working_spans,
)
from deskctl.core.profile import Profile, parse_profile
from deskctl.core.vocab import Posture
from deskctl.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def make(**fields: Any) -> Profile:
    return parse_profile({"sit": "72cm", "stand": "110cm", **fields}, name="t", source="t.toml")


def cycle(*steps: tuple[str, int]) -> list[dict[str, object]]:
    return [{"posture": posture, "minutes": minutes} for posture, minutes in steps]


class ByChange:
    """A picker whose cue names the change and counts the picks, so tests can see every call."""

    def __init__(self) -> None:
        self.calls: list[Change] = []

    def pick(self, change: Change) -> Cue:
        self.calls.append(change)
        return Cue(
            id=f"{change.value}-{len(self.calls)}",
            title=change.value,
            steps=("move",),
            area=Area.NECK,
            kind=Kind.WALK if change is Change.AWAY else Kind.MOBILITY,
            duration_s=30,
            suits=frozenset({change}),
        )


def utc(moment: datetime) -> datetime:
    """Compare in UTC: Python compares datetimes of one zone by wall clock, wrong across DST."""
    return moment.astimezone(UTC)


def rows(blocks: list[Block]) -> list[tuple[str, str, str]]:
    return [(f"{b.start:%H:%M}", f"{b.end:%H:%M}", b.posture) for b in blocks]


def at(day: date, hh_mm: str, tz: ZoneInfo = BERLIN) -> datetime:
    hours, minutes = hh_mm.split(":")
    return datetime(day.year, day.month, day.day, int(hours), int(minutes), tzinfo=tz)


# --- the shipped profiles over a working day ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sit_min", "stand_min", "away_min", "longest_sit_min", "changes"),
    [
        ("default", 315, 108, 27, 30, 29),
        ("sit-stand-30-15", 315, 135, 0, 30, 20),
        ("cornell-20-8-2", 300, 120, 30, 20, 45),
        ("new-to-standing", 330, 100, 20, 30, 31),
        ("standing-4h", 198, 225, 27, 20, 28),
        ("walking-breaks", 375, 0, 75, 25, 30),
    ],
)
def test_a_monday_of_each_shipped_profile(
    name: str, sit_min: int, stand_min: int, away_min: int, longest_sit_min: int, changes: int
) -> None:
    blocks = plan_day(load_profile(name), MONDAY, BERLIN, picker=ByChange())
    minutes = {p: time_in(blocks, p) // timedelta(minutes=1) for p in Posture}
    assert minutes == {"sit": sit_min, "stand": stand_min, "away": away_min}
    assert longest_bout(blocks, Posture.SIT) == timedelta(minutes=longest_sit_min)
    assert sum(b.change is not None for b in blocks) == changes
    assert all((b.cue is None) == (b.change is None) for b in blocks)


def test_default_monday_block_by_block_cut_at_lunch_and_restarted_after() -> None:
    blocks = plan_day(make(), MONDAY, BERLIN)
    assert rows(blocks)[:3] == [
        ("09:00", "09:30", "sit"),
        ("09:30", "09:45", "stand"),
        ("09:45", "10:15", "sit"),
    ]
    assert rows(blocks)[7:11] == [
        ("11:45", "12:00", "stand"),
        ("12:00", "12:30", "sit"),  # the last morning block ends with the range
        ("13:30", "14:00", "sit"),  # and the afternoon starts the cycle afresh
        ("14:00", "14:15", "stand"),
    ]
    assert rows(blocks)[-1] == ("17:15", "17:30", "sit")  # cut: 15 of its 30 minutes
    assert [b.height_mm for b in blocks[:2]] == [720, 1100]


@pytest.mark.parametrize(
    ("hours", "steps", "expected"),
    [
        (
            ["09:00-09:40"],
            [("sit", 30), ("stand", 15)],
            [("09:00", "09:30", "sit"), ("09:30", "09:40", "stand")],
        ),
        (
            ["09:00-09:20", "09:50-10:10"],
            [("sit", 30), ("stand", 15)],
            [("09:00", "09:20", "sit"), ("09:50", "10:10", "sit")],
        ),
        (
            ["08:00-08:30", "12:00-12:35", "16:00-16:05"],
            [("stand", 10), ("sit", 20)],
            [
                ("08:00", "08:10", "stand"),
                ("08:10", "08:30", "sit"),
                ("12:00", "12:10", "stand"),
                ("12:10", "12:30", "sit"),
                ("12:30", "12:35", "stand"),
                ("16:00", "16:05", "stand"),
            ],
        ),
        (
            ["23:30-24:00"],
            [("sit", 20), ("away", 5)],
            [("23:30", "23:50", "sit"), ("23:50", "23:55", "away"), ("23:55", "00:00", "sit")],
        ),
    ],
)
def test_split_working_hours_cut_the_cycle_and_restart_it(
    hours: list[str], steps: list[tuple[str, int]], expected: list[tuple[str, str, str]]
) -> None:
    assert rows(plan_day(make(hours=hours, cycle=cycle(*steps)), MONDAY, BERLIN)) == expected


@pytest.mark.parametrize(
    ("day", "weekdays", "blocks"),
    [
        (date(2026, 11, 28), None, 0),  # Saturday, default weekdays mon-fri
        (date(2026, 11, 29), None, 0),  # Sunday
        (date(2026, 11, 29), EVERY_DAY, 20),
        (date(2026, 12, 2), ["mon", "tue", "thu", "fri"], 0),  # a Wednesday off
        (date(2026, 12, 3), ["mon", "tue", "thu", "fri"], 20),
    ],
)
def test_days_off_have_no_blocks(day: date, weekdays: list[str] | None, blocks: int) -> None:
    profile = make() if weekdays is None else make(weekdays=weekdays)
    assert len(plan_day(profile, day, BERLIN)) == blocks
    assert (working_spans(profile, day, BERLIN) == []) == (blocks == 0)


def test_a_weekday_override_replaces_that_days_hours_only() -> None:
    profile = make(hours_on={"fri": ["09:00-13:00"]})
    friday = plan_day(profile, date(2026, 12, 4), BERLIN)
    assert (rows(friday)[0][0], rows(friday)[-1][1]) == ("09:00", "13:00")
    assert len(plan_day(profile, date(2026, 12, 3), BERLIN)) == 20


# --- DST ---------------------------------------------------------------------------------------

SPRING = date(2026, 3, 29)  # Berlin: 02:00 CET becomes 03:00 CEST
AUTUMN = date(2026, 10, 25)  # Berlin: 03:00 CEST becomes 02:00 CET


@pytest.mark.parametrize(
    ("day", "hours", "real", "first_start", "last_end"),
    [
        (
            SPRING,
            "01:00-04:00",
            timedelta(hours=2),
            "2026-03-29T01:00:00+01:00",
            "2026-03-29T04:00:00+02:00",
        ),
        (
            AUTUMN,
            "01:00-04:00",
            timedelta(hours=4),
            "2026-10-25T01:00:00+02:00",
            "2026-10-25T04:00:00+01:00",
        ),
        (
            SPRING,
            "09:00-17:30",
            timedelta(hours=8, minutes=30),
            "2026-03-29T09:00:00+02:00",
            "2026-03-29T17:30:00+02:00",
        ),
        (
            AUTUMN,
            "09:00-17:30",
            timedelta(hours=8, minutes=30),
            "2026-10-25T09:00:00+01:00",
            "2026-10-25T17:30:00+01:00",
        ),
        (
            date(2026, 3, 28),
            "01:00-04:00",
            timedelta(hours=3),
            "2026-03-28T01:00:00+01:00",
            "2026-03-28T04:00:00+01:00",
        ),
    ],
)
def test_dst_days_follow_the_wall_clock_for_hours_and_real_time_for_blocks(
    day: date, hours: str, real: timedelta, first_start: str, last_end: str
) -> None:
    blocks = plan_day(make(weekdays=EVERY_DAY, hours=[hours]), day, BERLIN)
    assert blocks[0].start.isoformat() == first_start
    assert blocks[-1].end.isoformat() == last_end
    assert sum((b.duration for b in blocks), timedelta()) == real
    for before, after in itertools.pairwise(blocks):
        assert utc(before.end) == utc(after.start)
    full = {"sit": timedelta(minutes=30), "stand": timedelta(minutes=15)}
    assert all(b.duration == full[b.posture] for b in blocks[:-1])


def test_the_sitting_block_across_the_spring_jump_is_30_real_minutes() -> None:
    blocks = plan_day(make(weekdays=EVERY_DAY, hours=["01:00-04:00"]), SPRING, BERLIN)
    assert rows(blocks) == [
        ("01:00", "01:30", "sit"),
        ("01:30", "01:45", "stand"),
        ("01:45", "03:15", "sit"),  # 01:45 CET + 30 min = 03:15 CEST
        ("03:15", "03:30", "stand"),
        ("03:30", "04:00", "sit"),
    ]


def test_the_fall_back_night_repeats_an_hour_on_the_wall() -> None:
    blocks = plan_day(make(weekdays=EVERY_DAY, hours=["01:00-04:00"]), AUTUMN, BERLIN)
    assert [(f"{b.start:%H:%M%z}", f"{b.end:%H:%M%z}", b.posture) for b in blocks[3:6]] == [
        ("02:15+0200", "02:30+0200", "stand"),
        ("02:30+0200", "02:00+0100", "sit"),  # 02:30 CEST + 30 min = 02:00 CET
        ("02:00+0100", "02:15+0100", "stand"),
    ]
    assert len(blocks) == 11  # 4 real hours: five 45-minute cycles and 15 minutes of sitting


@pytest.mark.parametrize(
    ("hours", "first", "last"),
    [
        ("02:30-03:30", "02:30+0200", "03:30+0100"),  # from the first 02:30: two real hours
        ("01:00-02:30", "01:00+0200", "02:30+0200"),  # until the first 02:30
    ],
)
def test_a_time_the_fall_back_night_shows_twice_means_the_first_time(
    hours: str, first: str, last: str
) -> None:
    blocks = plan_day(make(weekdays=EVERY_DAY, hours=[hours]), AUTUMN, BERLIN)
    assert (f"{blocks[0].start:%H:%M%z}", f"{blocks[-1].end:%H:%M%z}") == (first, last)


# --- a change of profile mid-day ---------------------------------------------------------------


def test_a_midday_switch_replans_from_now_with_the_new_cycle() -> None:
    old = plan_day(make(), MONDAY, BERLIN)
    now = at(MONDAY, "10:07")
    new = plan_day(
        make(cycle=cycle(("sit", 20), ("stand", 8), ("away", 2))),
        MONDAY,
        BERLIN,
        now=now,
        picker=ByChange(),
    )
    kept = [b for b in old if b.start < now]
    assert rows(kept)[-1] == ("09:45", "10:15", "sit")  # the service trims it to end at now
    assert rows(new)[:4] == [
        ("10:07", "10:27", "sit"),
        ("10:27", "10:35", "stand"),
        ("10:35", "10:37", "away"),
        ("10:37", "10:57", "sit"),
    ]
    assert ("12:27", "12:30", "stand") in rows(new)  # cut at the end of the morning
    assert rows(new)[-1] == ("17:28", "17:30", "away")
    assert all(b.start >= now for b in new)
    assert [r for r in rows(new) if r[0] == "13:30"] == [("13:30", "13:50", "sit")]


@pytest.mark.parametrize(
    ("posture_now", "first_posture", "first_change", "second_change"),
    [
        (None, "sit", Change.TO_SIT, Change.TO_STAND),
        ("away", "sit", Change.TO_SIT, Change.TO_STAND),
        ("sit", "sit", None, Change.TO_STAND),
        # the person stood up by hand: the cycle goes on from standing, it does not fight them
        ("stand", "stand", None, Change.TO_SIT),
    ],
)
def test_a_replan_follows_what_the_person_is_doing_now(
    posture_now: Any, first_posture: str, first_change: Change | None, second_change: Change
) -> None:
    picker = ByChange()
    blocks = plan_day(
        make(), MONDAY, BERLIN, now=at(MONDAY, "10:07"), posture_now=posture_now, picker=picker
    )
    assert blocks[0].posture == first_posture
    assert blocks[0].change is first_change
    assert (blocks[0].cue is None) == (first_change is None)
    assert blocks[1].change is second_change


@pytest.mark.parametrize(
    ("now", "first", "count"),
    [
        ("07:00", ("09:00", "09:30", "sit"), 20),  # before work: the whole day
        ("12:30", ("13:30", "14:00", "sit"), 11),  # at lunch: the afternoon, as planned
        ("17:29", ("17:29", "17:30", "sit"), 1),
        ("17:30", None, 0),  # after work: nothing left
    ],
)
def test_a_replan_outside_a_range_keeps_the_ranges_to_come(
    now: str, first: tuple[str, str, str] | None, count: int
) -> None:
    blocks = plan_day(make(), MONDAY, BERLIN, now=at(MONDAY, now))
    assert len(blocks) == count
    assert (rows(blocks)[0] if blocks else None) == first


def test_now_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        plan_day(make(), MONDAY, BERLIN, now=datetime(2026, 11, 30, 10))


# --- cues at changes ---------------------------------------------------------------------------


def test_every_change_and_every_range_start_carries_a_cue_and_nothing_else_does() -> None:
    picker = ByChange()
    profile = make(cycle=cycle(("sit", 20), ("sit", 10), ("stand", 10), ("away", 5)))
    blocks = plan_day(profile, MONDAY, BERLIN, picker=picker)
    assert [(b.posture, b.change) for b in blocks[:5]] == [
        ("sit", Change.TO_SIT),
        ("sit", None),
        ("stand", Change.TO_STAND),
        ("away", Change.AWAY),
        ("sit", Change.TO_SIT),
    ]
    afternoon = next(b for b in blocks if b.start == at(MONDAY, "13:30"))
    assert afternoon.change is Change.TO_SIT
    assert picker.calls == [b.change for b in blocks if b.change is not None]
    assert [b.cue.id for b in blocks if b.cue] == [
        f"{c.value}-{n}" for n, c in enumerate(picker.calls, start=1)
    ]


def test_away_blocks_leave_the_desk_where_it_is() -> None:
    blocks = plan_day(make(cycle=cycle(("sit", 20), ("away", 2))), MONDAY, BERLIN)
    assert {b.height_mm for b in blocks if b.posture == "away"} == {None}
    assert {b.height_mm for b in blocks if b.posture == "sit"} == {720}


def test_a_days_plan_is_the_same_every_time_and_another_day_differs() -> None:
    def cue_ids(day: date) -> list[str]:
        picker = CuePicker(shipped_cues(), seed=day_seed(day))
        return [
            b.cue.id
            for b in plan_day(make(weekdays=EVERY_DAY), day, BERLIN, picker=picker)
            if b.cue
        ]

    assert cue_ids(MONDAY) == cue_ids(MONDAY)
    assert cue_ids(MONDAY) != cue_ids(MONDAY + timedelta(days=1))
    assert day_seed(MONDAY) == 20261130


# --- the desk's limits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("min_mm", "max_mm", "message"),
    [
        (620, 1270, None),
        (720, 1100, None),
        (
            730,
            1270,
            "profile 't': the sit height 72.0 cm is below this desk's lowest allowed "
            "height of 73.0 cm",
        ),
        (
            620,
            1050,
            "profile 't': the stand height 110.0 cm is above this desk's highest allowed "
            "height of 105.0 cm",
        ),
    ],
)
def test_heights_outside_the_desks_limits_are_a_config_error(
    min_mm: int, max_mm: int, message: str | None
) -> None:
    if message is None:
        assert plan_day(make(), MONDAY, BERLIN, min_mm=min_mm, max_mm=max_mm)
        return
    with pytest.raises(ConfigError) as caught:
        plan_day(make(), date(2026, 11, 29), BERLIN, min_mm=min_mm, max_mm=max_mm)
    assert str(caught.value) == message


# --- the JSON form -----------------------------------------------------------------------------


def test_the_json_form_is_the_one_design_md_gives() -> None:
    profile = make(cycle=cycle(("sit", 20), ("away", 5)), hours=["09:00-09:45"])
    blocks = plan_day(profile, MONDAY, BERLIN, picker=ByChange())
    out = plan_json("t", MONDAY, blocks)
    assert out == {
        "profile": "t",
        "date": "2026-11-30",
        "blocks": [
            {
                "start": "2026-11-30T09:00:00+01:00",
                "end": "2026-11-30T09:20:00+01:00",
                "posture": "sit",
                "height_mm": 720,
                "cue": {"id": "to_sit-1", "title": "to_sit", "area": "neck", "duration_s": 30},
            },
            {
                "start": "2026-11-30T09:20:00+01:00",
                "end": "2026-11-30T09:25:00+01:00",
                "posture": "away",
                "height_mm": None,
                "cue": {"id": "away-2", "title": "away", "area": "neck", "duration_s": 30},
            },
            {
                "start": "2026-11-30T09:25:00+01:00",
                "end": "2026-11-30T09:45:00+01:00",
                "posture": "sit",
                "height_mm": 720,
                "cue": {"id": "to_sit-3", "title": "to_sit", "area": "neck", "duration_s": 30},
            },
        ],
    }
    assert [b.to_json()["cue"] for b in plan_day(profile, MONDAY, BERLIN)] == [None, None, None]


def test_bouts_join_adjacent_blocks_of_one_posture_only() -> None:
    blocks = plan_day(make(cycle=cycle(("sit", 20), ("sit", 15), ("stand", 5))), MONDAY, BERLIN)
    assert longest_bout(blocks, Posture.SIT) == timedelta(minutes=35)
    assert longest_bout(blocks, Posture.STAND) == timedelta(minutes=5)
    assert longest_bout(blocks, Posture.AWAY) == timedelta()


# --- property: any valid profile gives a sane day ----------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]


@st.composite
def profiles(draw: st.DrawFn) -> tuple[Profile, int, int]:
    min_mm = draw(st.integers(550, 700))
    max_mm = draw(st.integers(1150, 1300))
    sit_mm = draw(st.integers(500, 900))  # some profiles do not fit the desk: they must be refused
    stand_mm = draw(st.integers(max(sit_mm + 1, 950), 1350))
    steps = draw(
        st.lists(
            st.tuples(st.sampled_from(["sit", "stand", "away"]), st.integers(1, 120)),
            min_size=1,
            max_size=6,
        )
    )
    cuts = sorted(draw(st.sets(st.integers(0, 24 * 4), min_size=2, max_size=8)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    hours = [f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}" for a, b in pairs]
    weekdays = draw(st.lists(st.sampled_from(EVERY_DAY), min_size=1, max_size=7, unique=True))
    profile = make(
        sit=f"{sit_mm}mm",
        stand=f"{stand_mm}mm",
        cycle=cycle(*steps),
        hours=hours,
        weekdays=weekdays,
        warn_s=0,
    )
    return profile, min_mm, max_mm


@settings(max_examples=300, deadline=None)
@given(
    setup=profiles(),
    day=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    zone=st.sampled_from(ZONES),
    now_minute=st.none() | st.integers(0, 24 * 60),
)
def test_no_valid_profile_gives_overlaps_blocks_off_hours_or_heights_off_limits(
    setup: tuple[Profile, int, int], day: date, zone: str, now_minute: int | None
) -> None:
    profile, min_mm, max_mm = setup
    tz = ZoneInfo(zone)
    now = (
        None
        if now_minute is None
        else (
            datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)
            + timedelta(minutes=now_minute)
        )
    )
    if not (min_mm <= profile.sit_mm and profile.stand_mm <= max_mm):
        with pytest.raises(ConfigError):
            plan_day(profile, day, tz, now=now, min_mm=min_mm, max_mm=max_mm)
        return
    blocks = plan_day(profile, day, tz, picker=ByChange(), now=now, min_mm=min_mm, max_mm=max_mm)
    spans = working_spans(profile, day, tz)
    for block in blocks:
        assert utc(block.start) < utc(block.end)
        assert block.start.tzinfo is tz
        assert block.end.tzinfo is tz
        assert any(
            utc(start) <= utc(block.start) and utc(block.end) <= utc(end) for start, end in spans
        )
        assert now is None or block.start >= now
        if block.posture == "away":
            assert block.height_mm is None
        else:
            assert block.height_mm is not None
            assert min_mm <= block.height_mm <= max_mm
        assert (block.cue is None) == (block.change is None)
    for before, after in itertools.pairwise(blocks):
        assert utc(before.end) <= utc(after.start)
    if now is None:
        planned = sum((b.duration for b in blocks), timedelta())
        assert planned == sum((utc(end) - utc(start) for start, end in spans), timedelta())
        assert (day.weekday() in profile.weekdays) or blocks == []
