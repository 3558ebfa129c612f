"""A whole working day on virtual time, as the service would feed the pure scheduler: the person
goes idle, locks the screen for lunch, the machine sleeps, and the calendar holds a repeating
stand-up, a weekly sync whose instance today is cancelled, a free (transparent) focus block and a
design review. The table says what happens, in order; the checks say what must never: no move
while the person is away or a meeting holds, and no sitting bout over 30 minutes at the desk.

Presence goes through the real model (`core.presence.PresenceModel`, on a monotonic clock that
stands still while the machine sleeps), the calendar through the real parser
(`adapters.calendar.parse_meetings`), so the day is the one a person would live through.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

import pytest

from deskctl.adapters.calendar import parse_meetings
from deskctl.config.profile_library import load_profile
from deskctl.core.presence import Event, PresenceModel, Signal, State, Thresholds
from deskctl.core.schedule import Move
from deskctl.core.vocab import Posture
from tests.test_calendar import ics
from tests.test_schedule import TZ, Day, at, day

STANDUP_DAILY = """UID:standup@test
SUMMARY:Stand-up
DTSTART;TZID=Europe/Berlin:20261123T100500
DTEND;TZID=Europe/Berlin:20261123T102000
RRULE:FREQ=DAILY"""
SYNC_WEEKLY = """UID:sync@test
SUMMARY:Weekly sync
DTSTART;TZID=Europe/Berlin:20261123T110000
DTEND;TZID=Europe/Berlin:20261123T113000
RRULE:FREQ=WEEKLY"""
SYNC_CANCELLED_TODAY = """UID:sync@test
RECURRENCE-ID;TZID=Europe/Berlin:20261130T110000
SUMMARY:Weekly sync
STATUS:CANCELLED
DTSTART;TZID=Europe/Berlin:20261130T110000
DTEND;TZID=Europe/Berlin:20261130T113000"""
FOCUS_FREE = """UID:focus@test
SUMMARY:Focus time
TRANSP:TRANSPARENT
DTSTART;TZID=Europe/Berlin:20261130T150000
DTEND;TZID=Europe/Berlin:20261130T160000"""
REVIEW = """UID:review@test
SUMMARY:Design review
DTSTART;TZID=Europe/Berlin:20261130T140000
DTEND;TZID=Europe/Berlin:20261130T142500"""
CALENDAR = ics(STANDUP_DAILY, SYNC_WEEKLY, SYNC_CANCELLED_TODAY, FOCUS_FREE, REVIEW)

# what happens, in order: (when, what, detail); "sleep" until the next row's time
DAY = [
    (at(8, 55), "event", Event("logind", Signal.UNLOCKED)),
    (at(8, 55), "event", Event("mutter", Signal.ACTIVE)),
    (at(10, 58), "event", Event("mutter", Signal.IDLE, idle_s=300.0)),  # left at 10:53
    (at(11, 0), "event", Event("mutter", Signal.ACTIVE)),  # 7 min: no break
    (at(12, 0), "event", Event("logind", Signal.LOCKED)),  # lunch
    (at(12, 45), "event", Event("logind", Signal.UNLOCKED)),  # a break
    (at(16, 0), "event", Event("logind", Signal.SLEEPING)),
    (at(16, 0), "sleep", None),
    (at(16, 25), "event", Event("logind", Signal.RESUMED)),  # 25 min asleep: a break
    (at(16, 58), "event", Event("mutter", Signal.IDLE, idle_s=300.0)),  # left at 16:53
    (at(17, 8), "event", Event("mutter", Signal.ACTIVE)),  # 15 min: a break
]

# the moves of the day, as the table above makes them
MOVES = [
    (at(9), Posture.SIT),
    (at(9, 30), Posture.STAND),
    (at(9, 45), Posture.SIT),
    (at(10, 4), Posture.STAND),  # the stand due at 10:15 comes before the stand-up
    (at(10, 20), Posture.SIT),  # the sit due at 10:19 waits for its end
    (at(10, 50), Posture.STAND),
    (at(11, 7), Posture.SIT),  # 11:05, put off by the 2 min the schedule held for the absence
    (at(11, 37), Posture.STAND),  # in the weekly sync's slot: cancelled today, no hold
    (at(11, 52), Posture.SIT),
    # locked at 12:00: the 12:22 stand never comes; the afternoon starts afresh
    (at(13, 30), Posture.SIT),
    (at(13, 59), Posture.STAND),  # the stand due at 14:00 comes before the review
    (at(14, 25), Posture.SIT),  # the sit due at 14:14 waits for its end
    (at(14, 55), Posture.STAND),
    (at(15, 10), Posture.SIT),  # in the focus block: free, no hold
    (at(15, 40), Posture.STAND),
    (at(15, 55), Posture.SIT),
    # asleep 16:00-16:25: a break; the sitting starts again from the return
    (at(16, 55), Posture.STAND),  # idle from 16:53, but away only from 16:58 (the threshold)
    # away 16:58-17:08 (from 16:53 by the last input): a break while standing, a full stand
    (at(17, 23), Posture.SIT),
]


class Person:
    """The presence model on a monotonic clock that stands still while the machine sleeps."""

    def __init__(self) -> None:
        self.model = PresenceModel(Thresholds(300.0, 600.0))
        self.slept_s = 0.0
        self.asleep_from: datetime | None = None

    def mono_s(self, when: datetime) -> float:
        return (when - at(8)).total_seconds() - self.slept_s

    def observe(self, event: Event, when: datetime) -> State:
        if event.signal is Signal.RESUMED and self.asleep_from is not None:
            self.slept_s += (when - self.asleep_from).total_seconds()
            self.asleep_from = None
        return self.model.observe(event, mono_s=self.mono_s(when), at=when).state


@functools.cache
def live_the_day(
    profile: str = "sit-stand-30-15",
) -> tuple[Day, list[tuple[datetime, datetime]], list[tuple[datetime, bool]]]:
    """The day played through on `profile`; the meetings held, and the presence as (since,
    away?). The table is the 30:15 rhythm's; the rules hold on the default (with its walks) too."""
    holds = parse_meetings(CALENDAR, at(0), at(23, 59), TZ)
    d = day(load_profile(profile), start=at(7))
    person = Person()
    d._take(d.sched.meetings(holds, d.now))
    presence: list[tuple[datetime, bool]] = [(at(7), False)]
    for when, what, detail in DAY:
        if what == "sleep":
            person.asleep_from = when
            continue
        if person.asleep_from is None:
            d.until(when)
        else:  # asleep: nothing ticks; on waking the service sees the wall clock jump
            d.now = when
            d._take(d.sched.clock_jumped(when, (when - person.asleep_from).total_seconds()))
        assert isinstance(detail, Event)
        was = person.model.belief.state
        state = person.observe(detail, when)
        if state is was:
            continue
        if state is State.AWAY:
            d._take(d.sched.away(when))
        elif was is State.AWAY:
            stretch = person.model.last_stretch
            assert stretch is not None
            d._take(d.sched.returned(when, stretch.away_s))
        presence.append((when, state is State.AWAY))
    d.until(at(19))
    return d, [(m.start, m.end) for m in holds], presence


def test_the_calendar_holds_only_the_meetings_that_count() -> None:
    _d, holds, _p = live_the_day()
    assert holds == [(at(10, 5), at(10, 20)), (at(14), at(14, 25))]


def test_a_day_with_absences_a_lock_a_suspend_and_meetings_moves_as_the_table_says() -> None:
    d, _holds, _presence = live_the_day()
    assert d.moves() == MOVES


@pytest.mark.parametrize("profile", ["sit-stand-30-15", "default"])
def test_no_move_while_away_or_in_a_meeting(profile: str) -> None:
    d, holds, presence = live_the_day(profile)
    for when, action in d.of(Move):
        away = [a for since, a in presence if since <= when][-1]
        assert not away, f"moved while away at {when:%H:%M}"
        assert not [h for h in holds if h[0] <= when < h[1]], f"moved in a meeting at {when}"
        assert action.block.height_mm is not None


def test_no_sitting_bout_over_30_minutes_at_the_desk() -> None:
    """Sitting time at the desk, counted in the working hours while present; a break ends it.
    (On the 30:15 rhythm: the desk's moves alone do not show the default's walks.)"""
    d, _holds, presence = live_the_day()
    step = timedelta(seconds=10)
    spans = [(at(9), at(12, 30)), (at(13, 30), at(17, 30))]
    moves = d.moves()
    bout = longest = timedelta(0)
    when = at(9)
    while when < at(17, 30):
        posture = [p for t, p in moves if t <= when][-1]
        away = [a for since, a in presence if since <= when][-1]
        working = any(s <= when < e for s, e in spans)
        if posture is not Posture.SIT or not working:
            bout = timedelta(0)
        elif not away:
            bout += step
        longest = max(longest, bout)
        returned = [s for s, a in presence if s == when + step and not a]
        if returned and _was_a_break(presence, returned[0]):
            bout = timedelta(0)
        when += step
    assert longest <= timedelta(minutes=30)


def _was_a_break(presence: list[tuple[datetime, bool]], back: datetime) -> bool:
    before = [s for s, a in presence if a and s < back]
    return bool(before) and (back - before[-1]) >= timedelta(minutes=10)
