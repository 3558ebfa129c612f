"""`stand_for_meetings`: a meeting the plan spends seated (or walking) is spent standing: the desk
rises a minute before it, with the usual warning, and the day starts afresh at its end; where the
rules say no (too long, too late to warn, the person away), the desk holds still as it would
without the setting. The 30:15 day: sit 09:00, stand 09:30, sit 09:45, stand 10:15, sit 10:30..."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from deskctl.core.meetings import Meeting
from deskctl.core.profile import Profile
from deskctl.core.schedule import Warn
from deskctl.core.vocab import Posture
from tests.test_schedule import SIT_STAND, Day, at, make

STANDING = dataclasses.replace(SIT_STAND, stand_for_meetings=True)
LONG_SIT = make(cycle=[{"posture": "sit", "minutes": 50}, {"posture": "stand", "minutes": 10}])
WALKING = make(
    cycle=[
        {"posture": "sit", "minutes": 30},
        {"posture": "away", "minutes": 3},
        {"posture": "stand", "minutes": 12},
    ],
    stand_for_meetings=True,
)


def meeting_day(profile: Profile, *spans: datetime) -> Day:
    d = Day(profile, at(8))
    pairs = zip(spans[::2], spans[1::2], strict=True)
    d._take(d.sched.meetings([Meeting(start, end, "call") for start, end in pairs], d.now))
    return d


PLAIN = dataclasses.replace(WALKING, stand_for_meetings=False)
# (case, profile, the meeting, the moves from 09:00 to 11:00; a walk moves nothing)
TABLE = [
    (
        "without the setting a meeting in a sitting block is sat through",
        PLAIN,
        (at(9, 55), at(10, 10)),
        [(9, 0, "sit"), (9, 33, "stand"), (9, 45, "sit"), (10, 18, "stand"), (10, 30, "sit")],
    ),
    (
        "with it the desk rises a minute before, and the day starts afresh seated at its end",
        WALKING,
        (at(9, 55), at(10, 10)),
        [
            (9, 0, "sit"),
            (9, 33, "stand"),
            (9, 45, "sit"),
            (9, 54, "stand"),
            (10, 10, "sit"),
            (10, 43, "stand"),
            (10, 55, "sit"),
        ],
    ),
    (
        "too soon after sitting down: the block before would be under 5 minutes, so no move",
        WALKING,
        (at(9, 49), at(10, 5)),
        [(9, 0, "sit"), (9, 33, "stand"), (9, 45, "sit"), (10, 18, "stand"), (10, 30, "sit")],
    ),
    (
        "a walk due as the meeting begins gives way to standing through it",
        WALKING,
        (at(9, 31), at(9, 45)),
        [(9, 0, "sit"), (9, 30, "stand"), (9, 45, "sit"), (10, 18, "stand"), (10, 30, "sit")],
    ),
    (
        "the day planned afresh after one meeting is fitted around the next, and stands for it",
        WALKING,
        (at(9, 55), at(10, 10), at(10, 38), at(10, 50)),
        [
            (9, 0, "sit"),
            (9, 33, "stand"),
            (9, 45, "sit"),
            (9, 54, "stand"),
            (10, 10, "sit"),
            (10, 37, "stand"),
            (10, 50, "sit"),
        ],
    ),
    (
        "... and around a next one too long to stand through (the walk before it, no move in it)",
        WALKING,
        (at(9, 55), at(10, 10), at(10, 38), at(11, 15)),
        [(9, 0, "sit"), (9, 33, "stand"), (9, 45, "sit"), (9, 54, "stand"), (10, 10, "sit")],
    ),
    (
        "a meeting over 30 minutes is not stood through (no long static standing)",
        dataclasses.replace(LONG_SIT, stand_for_meetings=True),
        (at(9, 10), at(9, 45)),
        [(9, 0, "sit"), (9, 50, "stand"), (10, 0, "sit"), (10, 50, "stand"), (11, 0, "sit")],
    ),
    (
        "a 25-minute meeting is",
        dataclasses.replace(LONG_SIT, stand_for_meetings=True),
        (at(9, 15), at(9, 40)),
        [(9, 0, "sit"), (9, 14, "stand"), (9, 40, "sit"), (10, 30, "stand"), (10, 40, "sit")],
    ),
    (
        "30:15 already stands about 2 hours: standing for a meeting would go past it, so no move",
        STANDING,
        (at(9, 55), at(10, 10)),
        [
            (9, 0, "sit"),
            (9, 30, "stand"),
            (9, 45, "sit"),
            (10, 15, "stand"),
            (10, 30, "sit"),
            (11, 0, "stand"),
        ],
    ),
]


@pytest.mark.parametrize(("case", "profile", "span", "moves"), TABLE, ids=[c[0] for c in TABLE])
def test_stand_for_meetings(
    case: str, profile: Profile, span: tuple[datetime, ...], moves: list[tuple[int, int, str]]
) -> None:
    d = meeting_day(profile, *span)
    planned = [b.start for b in d.sched.blocks if b.change and d.sched.meeting_now(b.start)]
    assert planned == [], "the plan (as `deskctl plan` draws it) has no change in a meeting"
    d.until(at(11))
    assert d.moves() == [(at(h, m), Posture(p)) for h, m, p in moves], case
    assert not [t for t, _ in d.moves() if d.sched.meeting_now(t) is not None], "none in it"
    for warned_at, warn in d.of(Warn):
        assert (warn.move_at - warned_at).total_seconds() >= 30, "a full warning"


def test_a_meeting_added_too_late_for_a_full_warning_keeps_the_desk_still() -> None:
    d = Day(WALKING, at(8))
    d.until(at(9, 53, 40))  # seated since 09:45; the rise would come at 09:54, warned at 09:53:30
    d._take(d.sched.meetings([Meeting(at(9, 55), at(10, 10), "call")], d.now))
    d.until(at(10, 12))
    assert d.moves() == [(at(9), Posture.SIT), (at(9, 33), Posture.STAND), (at(9, 45), Posture.SIT)]


def test_away_when_the_desk_would_rise_moves_nothing_until_the_person_is_back() -> None:
    d = meeting_day(WALKING, at(9, 55), at(10, 10))
    d.until(at(9, 50))
    d.do("away")
    d.until(at(10, 5))
    assert (at(9, 54), Posture.STAND) not in d.moves()
    assert d.moves()[-1] == (at(9, 45), Posture.SIT), "no move while away"
