"""Meetings hold the desk still: a change due in one moves just before it (a full warning still
possible) or to its end, and the day is planned on from there, so a meeting never costs a whole
block; the longest sitting bout (30 min in the default profile) holds where it can. The default
day: sit 09:00, stand 09:30, sit 09:45, stand 10:15, sit 10:30, stand 11:00, ... warn 30 s."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deskctl.core.meetings import Meeting
from deskctl.core.schedule import Warn, Withdrawn
from deskctl.core.vocab import Posture, Waiting
from tests.test_schedule import Day, at, day


def with_meetings(*spans: tuple[datetime, datetime], start: datetime | None = None) -> Day:
    d = day(start=start or at(8))
    d._take(d.sched.meetings([Meeting(a, b, "call") for a, b in spans], d.now))
    return d


def in_meeting(d: Day, when: datetime) -> bool:
    return d.sched.meeting_now(when) is not None


# (case, meetings, the moves from 09:00 to 11:30)
TABLE = [
    (
        "no meeting: the plain day",
        [],
        [
            (9, 0, "sit"),
            (9, 30, "stand"),
            (9, 45, "sit"),
            (10, 15, "stand"),
            (10, 30, "sit"),
            (11, 0, "stand"),
            (11, 15, "sit"),
        ],
    ),
    (
        "a stand due in a meeting comes just before it; the sit due in it after it",
        [(at(9, 20), at(9, 50))],
        [
            (9, 0, "sit"),
            (9, 19, "stand"),
            (9, 50, "sit"),
            (10, 20, "stand"),
            (10, 35, "sit"),
            (11, 5, "stand"),
            (11, 20, "sit"),
        ],
    ),
    (
        "a sit due in a long meeting waits for its end (standing longer, no long sitting)",
        [(at(9, 40), at(10, 30))],
        [(9, 0, "sit"), (9, 30, "stand"), (10, 30, "sit"), (11, 0, "stand"), (11, 15, "sit")],
    ),
    (
        "a sit due in a short meeting comes before it when the sitting still ends by its end",
        [(at(9, 42), at(10, 0))],
        [
            (9, 0, "sit"),
            (9, 30, "stand"),
            (9, 41, "sit"),
            (10, 11, "stand"),
            (10, 26, "sit"),
            (10, 56, "stand"),
            (11, 11, "sit"),
        ],
    ),
    (
        "a meeting just after a change: the change before would leave a block under 5 min",
        [(at(9, 33), at(9, 50))],
        [
            (9, 0, "sit"),
            (9, 30, "stand"),
            (9, 50, "sit"),
            (10, 20, "stand"),
            (10, 35, "sit"),
            (11, 5, "stand"),
            (11, 20, "sit"),
        ],
    ),
    (
        "two meetings back to back are one hold",
        [(at(10, 0), at(10, 20)), (at(10, 20), at(10, 40))],
        [
            (9, 0, "sit"),
            (9, 30, "stand"),
            (9, 45, "sit"),
            (9, 59, "stand"),
            (10, 40, "sit"),
            (11, 10, "stand"),
            (11, 25, "sit"),
        ],
    ),
]


@pytest.mark.parametrize(("case", "spans", "moves"), TABLE, ids=[c[0] for c in TABLE])
def test_changes_move_around_meetings(
    case: str, spans: list[tuple[datetime, datetime]], moves: list[tuple[int, int, str]]
) -> None:
    d = with_meetings(*spans)
    d.until(at(11, 30))
    assert d.moves() == [(at(h, m), Posture(p)) for h, m, p in moves], case
    assert not [t for t, _ in d.moves() if in_meeting(d, t)], "no move in a meeting"
    for warned_at, warn in d.of(Warn):
        assert (warn.move_at - warned_at).total_seconds() >= 30, "a full warning"


def test_a_long_meeting_soon_after_sitting_down_is_the_one_long_bout() -> None:
    d = with_meetings((at(9, 3), at(10, 10)))  # sitting since 09:00, too soon to stand before
    d.until(at(11))
    assert d.moves()[:2] == [(at(9), Posture.SIT), (at(10, 10), Posture.STAND)]


def test_during_a_meeting_status_says_held_until_its_end() -> None:
    d = with_meetings((at(9, 20), at(9, 50)))
    d.until(at(9, 25))
    upcoming = d.sched.upcoming(d.now)
    assert upcoming.waiting_for is Waiting.MEETING
    assert upcoming.until == at(9, 50)
    assert upcoming.at == at(9, 50)
    assert upcoming.block is not None
    assert upcoming.block.posture is Posture.SIT


def test_a_meeting_added_after_the_warning_takes_the_warning_back() -> None:
    d = day()
    d.until(at(9, 29, 40))
    assert d.of(Warn)[-1][0] == at(9, 29, 30)
    d._take(d.sched.meetings([Meeting(at(9, 29, 50), at(10), "call")], d.now))
    assert [w.why for _, w in d.of(Withdrawn)] == ["a meeting until 10:00"]
    d.until(at(10, 30))
    assert d.moves()[1] == (at(10), Posture.STAND)


def test_a_meeting_added_early_enough_moves_the_change_before_it_with_a_full_warning() -> None:
    d = day()
    d.until(at(9, 20))
    d._take(d.sched.meetings([Meeting(at(9, 25), at(9, 55), "call")], d.now))
    d.until(at(9, 30))
    assert d.moves()[1] == (at(9, 24), Posture.STAND)


@pytest.mark.parametrize(
    ("spans", "first_after_lunch"),
    [
        ([(at(13, 25), at(13, 40))], (at(13, 40), Posture.SIT)),  # before would be at lunch
        ([(at(8, 55), at(9, 10))], None),  # before would be before the day begins
    ],
)
def test_a_change_at_the_start_of_a_range_in_a_meeting_waits_for_its_end(
    spans: list[tuple[datetime, datetime]], first_after_lunch: tuple[datetime, Posture] | None
) -> None:
    d = with_meetings(*spans)
    if first_after_lunch is not None:
        d.until(at(12, 45))
        assert d.sched.upcoming(d.now).at == first_after_lunch[0], "status says it already"
    d.until(at(15))
    assert not [t for t, _ in d.moves() if in_meeting(d, t)]
    if first_after_lunch is not None:
        assert next(m for m in d.moves() if m[0] > at(12, 30)) == first_after_lunch
    else:
        assert d.moves()[0] == (at(9, 10), Posture.SIT)
    assert len(d.sched.blocks) < 40, "no runaway re-planning"


def test_a_meeting_over_the_end_of_the_morning_keeps_the_posture_to_lunch() -> None:
    d = with_meetings((at(11, 50), at(13, 0)))  # the 12:00 sit falls in it; lunch at 12:30
    d.until(at(13, 40))
    morning = [m for m in d.moves() if at(11, 30) < m[0] <= at(12, 30)]
    assert morning == [(at(11, 45), Posture.STAND)]
    assert (at(13, 30), Posture.SIT) in d.moves()


def test_a_cancelled_meeting_gives_the_plain_plan_back() -> None:
    d = with_meetings((at(9, 20), at(9, 50)))
    d.until(at(9, 10))
    assert d.sched.upcoming(d.now).at == at(9, 19)
    d._take(d.sched.meetings([], d.now))  # the meeting was cancelled
    d.until(at(10))
    assert d.moves() == [(at(9), Posture.SIT), (at(9, 30), Posture.STAND), (at(9, 45), Posture.SIT)]


def test_the_same_meetings_again_change_nothing() -> None:
    d = with_meetings((at(9, 20), at(9, 50)))
    d.until(at(9, 10))
    before = list(d.sched.blocks)
    assert d.sched.meetings([Meeting(at(9, 20), at(9, 50), "call")], d.now) == []
    assert d.sched.blocks == before


def test_a_re_plan_keeps_changes_out_of_meetings() -> None:
    d = with_meetings((at(10, 0), at(10, 30)))
    d.until(at(9, 40))
    d.do("manual_move", Posture.SIT)  # the person sits early: the next stand is due 10:10
    d.until(at(11))
    assert not [t for t, _ in d.moves() if in_meeting(d, t)]
    assert (at(9, 59), Posture.STAND) in d.moves()


def test_upcoming_and_wake_follow_the_moved_change() -> None:
    d = with_meetings((at(9, 20), at(9, 50)))
    d.until(at(9, 10))
    upcoming = d.sched.upcoming(d.now)
    assert upcoming.at == at(9, 19)
    assert d.sched.wake_at(d.now) == at(9, 19) - timedelta(seconds=30)
    assert d.sched.working_changes_at(d.now) == at(9, 19)
