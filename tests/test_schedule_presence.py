"""The schedule follows the person: nothing moves while they are away, a warning given is taken
back, a long absence is a break that ends the bout, a short one keeps the timers, and nothing
moves in the first minute back. Stepped through the default day (sit 30, stand 15 from 09:00,
warn 30 s) on explicit datetimes, with the shell of tests/test_schedule.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deskctl.core.schedule import RETURN_S, Move, Replanned, Warn, Withdrawn
from deskctl.core.vocab import Posture, ScheduleState, Waiting
from tests.test_schedule import SIT_STAND, Day, at, make


class Walk(Day):
    """The day's shell, remembering when the person left."""

    left: datetime


def walk() -> Walk:
    return Walk(SIT_STAND, at(8))


def away_from(d: Walk, start: datetime, end: datetime) -> None:
    """The person away from `start` to `end`; time passes (and nothing may move) in between."""
    d.until(start)
    d.left = start
    d._take(d.sched.away(d.now))
    d.until(end)
    d._take(d.sched.returned(d.now, (end - start).total_seconds()))


# --- away: nothing moves ------------------------------------------------------------------------

# (case, away from, back at, the moves from 09:20 to 11:00 as (time, posture))
AWAY_TABLE = [
    (
        "a short absence puts the plan off by the time away (timers kept)",
        at(9, 20),
        at(9, 27),
        [(at(9, 37), Posture.STAND), (at(9, 52), Posture.SIT), (at(10, 22), Posture.STAND)],
    ),
    (
        "a short absence across a change: it comes after the return, with the time left kept",
        at(9, 25),
        at(9, 34),
        [(at(9, 39), Posture.STAND), (at(9, 54), Posture.SIT), (at(10, 24), Posture.STAND)],
    ),
    (
        "a break (10 min or more) ends the sitting bout: a full sit from the return",
        at(9, 20),
        at(9, 32),
        [(at(10, 2), Posture.STAND), (at(10, 17), Posture.SIT), (at(10, 47), Posture.STAND)],
    ),
    (
        "a break while standing: the plan restarts in the stand the desk is in",
        at(9, 35),
        at(9, 50),
        [(at(10, 5), Posture.SIT), (at(10, 35), Posture.STAND)],
    ),
]


@pytest.mark.parametrize(
    ("case", "start", "end", "moves"), AWAY_TABLE, ids=[c[0] for c in AWAY_TABLE]
)
def test_no_move_while_away_and_the_plan_resumes_as_the_rules_say(
    case: str, start: datetime, end: datetime, moves: list[tuple[datetime, Posture]]
) -> None:
    d = walk()
    away_from(d, start, end)
    d.until(at(11))
    assert not [m for m in d.moves() if start <= m[0] <= end], case
    after = [m for m in d.moves() if end < m[0] <= at(11)]
    assert after[: len(moves)] == moves, case


def test_while_away_status_says_it_waits_for_the_person_and_the_schedule_runs() -> None:
    d = walk()
    d.until(at(9, 10))
    d._take(d.sched.away(d.now))
    upcoming = d.sched.upcoming(d.now)
    assert (upcoming.waiting_for, upcoming.at) == (Waiting.AWAY, None)
    assert upcoming.block is not None
    assert upcoming.block.posture is Posture.STAND
    assert d.sched.state(d.now) is ScheduleState.RUNNING
    assert d.sched.frozen


def test_a_warning_given_when_the_person_leaves_is_withdrawn_and_comes_again_in_full() -> None:
    d = walk()
    d.until(at(9, 29, 40))  # warned at 09:29:30 for the stand at 09:30
    assert d.of(Warn)[-1][0] == at(9, 29, 30)
    d.left = d.now
    d._take(d.sched.away(d.now))
    withdrawn = d.of(Withdrawn)
    assert [(t, w.block.posture) for t, w in withdrawn] == [(at(9, 29, 40), Posture.STAND)]
    d.until(at(9, 33))
    d._take(d.sched.returned(d.now, 200.0))
    d.until(at(9, 40))
    warned_at, warn = d.of(Warn)[-1]
    assert warned_at >= at(9, 33)
    assert (warn.move_at - warned_at).total_seconds() >= 30, "a full warning again"
    moved_at = d.moves()[-1][0]
    assert moved_at >= at(9, 33) + timedelta(seconds=RETURN_S), "not in the first minute back"


def test_a_question_asked_when_the_person_leaves_is_withdrawn_and_asked_again() -> None:
    d = Walk(make(confirm=True), at(8))
    d.until(at(9, 30, 10))
    assert d.sched.stage == "confirming"
    d._take(d.sched.away(d.now))
    assert len(d.of(Withdrawn)) == 1
    d.until(at(9, 32))
    d._take(d.sched.returned(d.now, 110.0))
    d.until(at(9, 34))
    assert d.sched.stage == "confirming", "asked again once back"


@pytest.mark.parametrize("left_before_s", [5, 20, 40])
def test_nothing_moves_in_the_first_minute_back(left_before_s: int) -> None:
    d = walk()
    left = at(9, 30) - timedelta(seconds=left_before_s)
    away_from(d, left, left + timedelta(minutes=3))
    d.until(at(9, 45))
    returned = left + timedelta(minutes=3)
    first = next(t for t, _ in d.moves() if t > left)
    assert first >= returned + timedelta(seconds=RETURN_S)


def test_a_break_is_said_and_marked_for_the_stats() -> None:
    d = walk()
    away_from(d, at(9, 5), at(9, 20))
    assert d.sched.took_break == at(9, 20)
    assert any("a break" in r.why for _, r in d.of(Replanned))
    assert d.sched.posture_since == at(9, 20), "the sitting bout starts again at the return"


def test_a_short_absence_is_no_break() -> None:
    d = walk()
    away_from(d, at(9, 5), at(9, 14))
    assert d.sched.took_break is None
    assert d.sched.posture_since == at(9)


def test_away_during_a_pause_and_an_inhibit_freezes_once_from_first_to_last() -> None:
    d = walk()
    d.until(at(9, 10))
    d.do("pause")
    d.until(at(9, 12))
    d.left = d.now
    d._take(d.sched.away(d.now))
    d.until(at(9, 14))
    d.do("resume")
    assert d.sched.frozen, "still away"
    d.until(at(9, 16))
    d._take(d.sched.returned(d.now, 240.0))
    d.until(at(10))
    assert d.moves()[1] == (at(9, 36), Posture.STAND), "put off by the 6 min frozen"


def test_a_move_running_when_the_person_leaves_still_lands() -> None:
    d = Walk(SIT_STAND, at(8), arrive=False)
    d.until(at(9))
    d.land(True)
    d.until(at(9, 30))
    assert d.of(Move)[-1][1].block.posture is Posture.STAND
    d._take(d.sched.away(d.now))
    d.land(True)
    assert d.sched.posture is Posture.STAND
