"""The pure schedule: what a person sees the desk do, stepped through a day without any IO.

A tiny fake planner lays the profile's cycle over its working hours (restarting at `now` in the
person's posture on a re-plan, as the real one does); `Day` plays the shell: it ticks the
scheduler whenever `wake_at` says, lands every move at once, and records every action with its
time, so each test reads like the day a person lives through.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.config.profile_library import load_profile
from deskctl.core.cues import Area, Change, Cue, Kind
from deskctl.core.planner import Block
from deskctl.core.profile import Profile, parse_profile
from deskctl.core.schedule import (
    Action,
    AskConfirm,
    Dropped,
    Held,
    Move,
    Replanned,
    Scheduler,
    ShowCue,
    Warn,
)
from deskctl.core.vocab import Posture, ScheduleState
from deskctl.errors import IllegalTransition

TZ = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)
# The mechanics are written on the 30:15 rhythm (the default before it added a walk):
# 30 sit / 15 stand, 09:00-12:30 and 13:30-17:30, warn 30 s.
SIT_STAND = load_profile("sit-stand-30-15")
CHANGE_TO: dict[Posture, Change] = {
    Posture.SIT: Change.TO_SIT,
    Posture.STAND: Change.TO_STAND,
    Posture.AWAY: Change.AWAY,
}


def at(hour: int, minute: int = 0, second: int = 0, day: date = MONDAY) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=TZ)


def make(**fields: Any) -> Profile:
    return parse_profile({"sit": "72cm", "stand": "110cm", **fields}, name="t", source="t.toml")


def cue_for(change: Change) -> Cue:
    return Cue(
        id=f"cue-{change.value}",
        title=change.value,
        steps=("move",),
        area=Area.HIPS,
        kind=Kind.MOBILITY,
        duration_s=30,
        suits=frozenset({change}),
    )


class FakePlan:
    """The profile's cycle over its hours; a re-plan restarts at `now` in `posture_now`."""

    def __init__(self) -> None:
        self.calls: list[tuple[datetime | None, Posture | None]] = []

    def __call__(
        self,
        profile: Profile,
        day: date,
        tz: tzinfo,
        now: datetime | None,
        posture_now: Posture | None,
    ) -> list[Block]:
        self.calls.append((now, posture_now))
        blocks: list[Block] = []
        for hours in profile.hours_for(day):
            start = datetime.combine(day, time(), tzinfo=tz) + timedelta(minutes=hours.start_min)
            end = datetime.combine(day, time(), tzinfo=tz) + timedelta(minutes=hours.end_min)
            previous: Posture | None = None
            step = 0
            if now is not None:
                if end <= now:
                    continue
                if start < now:
                    start, previous = now, posture_now
                    postures = [s.posture for s in profile.cycle]
                    step = postures.index(posture_now) if posture_now in postures else 0
            while start < end:
                cycle_step = profile.cycle[step % len(profile.cycle)]
                stop = min(start + timedelta(minutes=cycle_step.minutes), end)
                posture = cycle_step.posture
                change = None if posture == previous else CHANGE_TO[posture]
                cue = None if change is None else cue_for(change)
                height_mm = profile.height_for(posture)
                blocks.append(Block(start, stop, posture, height_mm, cue, change))
                previous, start, step = posture, stop, step + 1
        return blocks


@dataclass
class Day:
    """The shell around one scheduler: ticks on `wake_at`, lands moves, records every action."""

    profile: Profile
    now: datetime
    arrive: bool = True  # land every Move at once (False: the test ends the move itself)

    def __post_init__(self) -> None:
        self.plan = FakePlan()
        self.sched = Scheduler(self.profile, TZ, self.plan, self.now)
        self.log: list[tuple[datetime, Action]] = []

    def _take(self, actions: list[Action]) -> list[Action]:
        for action in actions:
            self.log.append((self.now, action))
            if isinstance(action, Move) and self.sched.frozen:
                raise AssertionError(f"a move while the schedule is frozen: {action}")
            if isinstance(action, Move) and self.arrive:
                self._take(self.sched.move_done(True, self.now))
        return actions

    def until(self, then: datetime) -> None:
        """Let time pass up to `then`, ticking whenever the scheduler asked to be woken."""
        for _ in range(10_000):
            wake = self.sched.wake_at(self.now)
            if wake is None or wake > then:
                break
            self.now = max(self.now, wake)
            if not self._take(self.sched.tick(self.now)) and self.sched.wake_at(self.now) == wake:
                raise AssertionError(f"the scheduler asks to be woken at {wake} and does nothing")
        else:  # pragma: no cover - a test failure
            raise AssertionError("the scheduler never settled")
        self.now = then
        self._take(self.sched.tick(then))

    def do(self, command: str, *args: Any) -> list[Action]:
        method = getattr(self.sched, command)
        return self._take(
            method(*args, self.now) if command != "pause" else method(self.now, *args)
        )

    def land(self, arrived: bool, reason: str = "") -> list[Action]:
        """The running move ended (for tests that end moves themselves)."""
        return self._take(self.sched.move_done(arrived, self.now, reason))

    def of(self, kind: type[Any]) -> list[tuple[datetime, Any]]:
        return [(when, action) for when, action in self.log if isinstance(action, kind)]

    def moves(self) -> list[tuple[datetime, Posture]]:
        return [(when, action.block.posture) for when, action in self.of(Move)]

    def snapshot(self) -> tuple[object, ...]:
        s = self.sched
        return (
            list(s.blocks),
            s.stage,
            s.held,
            s.paused,
            s.paused_until,
            s.inhibited,
            s.enabled,
            s.posture,
            s.next_change(),
            s.wake_at(self.now),
            s.state(self.now),
        )


def day(profile: Profile = SIT_STAND, start: datetime | None = None, **kw: Any) -> Day:
    return Day(profile, start or at(8), **kw)


def left_to_next_change(d: Day) -> timedelta:
    block = d.sched.next_change()
    assert block is not None
    return block.start - d.now


# --- a plain day -------------------------------------------------------------------------------


def test_a_plain_day_warns_30_s_before_every_change_then_moves_and_shows_its_cue() -> None:
    d = day()
    d.until(at(19))
    moves = d.of(Move)
    warnings = d.of(Warn)
    cues = d.of(ShowCue)
    # 09:00-12:30 holds 9 blocks, 13:30-17:30 holds 11, each one a change of posture
    assert len(moves) == 20
    assert len(warnings) == len(moves) == len(cues)
    for (warned_at, warn), (moved_at, move) in zip(warnings, moves, strict=True):
        assert warn.block == move.block
        assert moved_at == move.block.start == warn.move_at
        assert moved_at - warned_at == timedelta(seconds=30)
    assert [when for when, _ in moves][:3] == [at(9), at(9, 30), at(9, 45)]
    assert not d.of(Dropped)
    assert d.sched.state(at(19)) is ScheduleState.OFF_HOURS


@pytest.mark.parametrize(
    ("when", "state"),
    [
        (at(8, 59), ScheduleState.OFF_HOURS),
        (at(9, 10), ScheduleState.RUNNING),
        (at(12, 45), ScheduleState.OFF_HOURS),
        (at(17, 29), ScheduleState.RUNNING),
        (at(17, 30), ScheduleState.OFF_HOURS),
    ],
)
def test_the_schedule_is_running_only_inside_working_hours(
    when: datetime, state: ScheduleState
) -> None:
    d = day()
    d.until(when)
    assert d.sched.state(when) is state


def test_a_new_day_is_planned_afresh_at_midnight() -> None:
    d = day()
    d.until(at(9, 1, day=MONDAY + timedelta(days=1)))
    assert any(action.why == "a new day" for _, action in d.of(Replanned))
    assert d.moves()[-1] == (at(9, day=MONDAY + timedelta(days=1)), "sit")


def test_an_away_block_moves_nothing_but_still_shows_its_walk() -> None:
    profile = make(cycle=[{"posture": "sit", "minutes": 20}, {"posture": "away", "minutes": 5}])
    d = day(profile)
    d.until(at(9, 21))
    away = [a for _, a in d.of(ShowCue) if a.block.posture == "away"]
    assert len(away) == 1
    assert away[0].cue.id == "cue-away"
    assert [p for _, p in d.moves()] == ["sit"], "an away block does not move the desk"
    assert d.sched.posture == "away"


# --- skip and snooze ---------------------------------------------------------------------------


def test_skip_in_the_warning_window_keeps_sitting_until_the_next_stand_on_time() -> None:
    d = day()
    d.until(at(9, 29, 40))
    assert d.of(Warn)[-1][1].block.start == at(9, 30)
    dropped = d.do("skip")
    assert [(a.block.start, a.why) for a in dropped if isinstance(a, Dropped)] == [
        (at(9, 30), "skipped")
    ]
    # the 09:45 "sit" that would have ended the stand is no change for someone still sitting:
    # no warning to sit, no cue; the next change is the stand at 10:15
    next_change = d.sched.next_change()
    assert next_change is not None
    assert (next_change.start, next_change.posture) == (at(10, 15), "stand")
    d.until(at(10, 16))
    assert d.moves() == [(at(9), "sit"), (at(10, 15), "stand")]
    assert [w.block.start for _, w in d.of(Warn)] == [at(9), at(9, 30), at(10, 15)]


@pytest.mark.parametrize(
    ("skipped_at", "next_change"),
    [
        (at(9, 19, 40), (at(9, 45), "away")),  # the walk: sitting on until the next walk
        (at(9, 24), (at(9, 45), "away")),  # the sit after a walk: only that one is dropped
    ],
)
def test_skipping_around_a_walk_drops_only_what_keeps_the_desk_posture(
    skipped_at: datetime, next_change: tuple[datetime, Posture]
) -> None:
    d = day(make(cycle=[{"posture": "sit", "minutes": 20}, {"posture": "away", "minutes": 5}]))
    d.until(skipped_at)
    d.do("skip")
    block = d.sched.next_change()
    assert block is not None
    assert (block.start, block.posture) == next_change


def test_snooze_puts_the_change_off_and_the_next_block_keeps_its_length() -> None:
    d = day()
    d.until(at(9, 29, 40))
    d.do("snooze", 600.0)
    d.until(at(10, 20))
    assert d.moves() == [(at(9), "sit"), (at(9, 40), "stand"), (at(9, 55), "sit")]
    # the sitting block grew by the snooze: no gap in the plan, the schedule kept running
    assert d.sched.state(at(9, 35)) is ScheduleState.RUNNING
    sitting = d.sched.current_block(at(9, 35))
    assert sitting is not None
    assert sitting.posture == "sit"


def test_a_snooze_warns_again_before_the_later_move() -> None:
    d = day()
    d.until(at(9, 29, 40))
    d.do("snooze", 600.0)
    d.until(at(9, 41))
    last_warn_at, warn = d.of(Warn)[-1]
    assert warn.move_at == at(9, 40)
    assert last_warn_at == at(9, 39, 30)


def test_a_snooze_in_the_morning_leaves_the_afternoon_alone() -> None:
    d = day()
    d.until(at(9, 29, 40))
    d.do("snooze", 600.0)
    d.until(at(14, 1))
    assert (at(13, 30), "sit") in d.moves()
    assert (at(14, 0), "stand") in d.moves()


# --- the person's word (skip, snooze) survives whatever comes after -----------------------------


def _pause_for(d: Day, start: datetime, end: datetime) -> None:
    d.do("pause", (end - start).total_seconds())
    d.until(end)


def _pause_resume(d: Day, start: datetime, end: datetime) -> None:
    d.do("pause")
    d.until(end)
    d.do("resume")


def _inhibit(d: Day, start: datetime, end: datetime) -> None:
    d.do("inhibit", True)
    d.until(end)
    d.do("inhibit", False)


def _schedule_off_on(d: Day, start: datetime, end: datetime) -> None:
    d.do("set_enabled", False)
    d.until(end)
    d.do("set_enabled", True)


def _switch_profile(d: Day, start: datetime, end: datetime) -> None:
    d.until(end)
    d.do(
        "use_profile",
        make(cycle=[{"posture": "sit", "minutes": 20}, {"posture": "stand", "minutes": 10}]),
    )


def _restart(d: Day, start: datetime, end: datetime) -> None:
    """The service dies at `start` and starts again at `end` (a new scheduler, as in the
    service: the posture since 09:00 and the last run's next change come from its saved state)."""
    saved = d.sched.next_change()
    d.now = end
    d.sched = Scheduler(d.profile, TZ, d.plan, end)
    d.do("restarted", "sit", at(9), None if saved is None else saved.start)


# (interruption, 09:50-10:00 after a skip; 09:32-09:36 after a snooze) -> where the next stand
# comes: the interruptions that keep the timers put it off by their length, the ones that re-plan
# the day (schedule off/on, a profile, a restart) keep it where the word put it
WORD_KEPT = [
    ("pause with an end", _pause_for, at(10, 25), at(9, 44)),
    ("pause until resume", _pause_resume, at(10, 25), at(9, 44)),
    ("inhibit on then off", _inhibit, at(10, 25), at(9, 44)),
    ("schedule off then on", _schedule_off_on, at(10, 15), at(9, 40)),
    ("profile switched", _switch_profile, at(10, 15), at(9, 40)),
    ("service restarted", _restart, at(10, 15), at(9, 40)),
]


@pytest.mark.parametrize(
    ("case", "interrupt", "after_skip", "after_snooze"), WORD_KEPT, ids=[c[0] for c in WORD_KEPT]
)
@pytest.mark.parametrize("word", ["skip", "snooze"])
def test_a_skip_or_a_snooze_survives_a_pause_an_inhibit_a_re_plan_and_a_restart(
    word: str, case: str, interrupt: Any, after_skip: datetime, after_snooze: datetime
) -> None:
    d = day()
    d.until(at(9, 29, 40))  # warned of the 09:30 stand
    if word == "skip":
        d.do("skip")
        start, end, stand_at = at(9, 50), at(10), after_skip
    else:
        d.do("snooze", 600.0)  # the stand at 09:40
        start, end, stand_at = at(9, 32), at(9, 36), after_snooze
    d.until(start)
    interrupt(d, start, end)
    next_change = d.sched.next_change()
    assert next_change is not None
    assert (next_change.start, next_change.posture) == (stand_at, "stand"), case
    d.until(stand_at + timedelta(minutes=1))
    assert d.moves() == [(at(9), "sit"), (stand_at, "stand")], "no move came back before it"
    stand_warnings = [when for when, w in d.of(Warn) if w.block.posture == "stand"]
    assert stand_warnings == [at(9, 29, 30), stand_at - timedelta(seconds=30)]


# --- what comes next, as status says it ---------------------------------------------------------


def _then(d: Day, *steps: tuple[Any, ...]) -> None:
    for step in steps:
        if step[0] == "until":
            d.until(step[1])
        else:
            d.do(*step)


def _confirming() -> Day:
    d = day(make(confirm=True))
    d.until(at(9, 31))  # asked at 09:30 to stand; the question lapses at 09:44:30
    return d


# (case, profile and steps up to 09:31 or so) -> (next posture, at, waiting for, until)
UPCOMING = [
    ("running", day, [("until", at(9, 10))], ("stand", at(9, 30), None, None)),
    ("after a skip", day, [("until", at(9, 10)), ("skip",)],
     ("stand", at(10, 15), None, None)),
    ("paused with an end", day, [("until", at(9, 10)), ("pause", 1200.0)],
     ("stand", at(9, 50), "resume", at(9, 30))),
    ("paused in the warning window", day, [("until", at(9, 29, 50)), ("pause", 120.0)],
     ("stand", at(9, 32, 20), "resume", at(9, 31, 50))),  # 10 s left: a full warning first
    ("paused without an end", day, [("until", at(9, 10)), ("pause",)],
     ("stand", None, "resume", None)),
    ("paused with an end while inhibited", day,
     [("until", at(9, 10)), ("inhibit", True), ("pause", 600.0)],
     ("stand", None, "resume", at(9, 20))),
    ("inhibited", day, [("until", at(9, 10)), ("inhibit", True)],
     ("stand", None, "inhibit_off", None)),
    ("schedule off", day, [("until", at(9, 10)), ("set_enabled", False)],
     (None, None, "schedule_on", None)),
    ("waiting for a confirm", _confirming, [], ("stand", None, "confirm", at(9, 44, 30))),
    ("warned late, after inhibit", day,
     [("until", at(9, 29, 50)), ("inhibit", True), ("until", at(9, 40)), ("inhibit", False)],
     ("stand", at(9, 40, 30), None, None)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "make_day", "steps", "expected"), UPCOMING, ids=[c[0] for c in UPCOMING]
)
def test_upcoming_says_what_comes_next_and_what_it_waits_for(
    case: str, make_day: Any, steps: list[tuple[Any, ...]], expected: tuple[Any, ...]
) -> None:
    d = make_day()
    _then(d, *steps)
    upcoming = d.sched.upcoming(d.now)
    posture = None if upcoming.block is None else upcoming.block.posture
    waiting = None if upcoming.waiting_for is None else upcoming.waiting_for.value
    assert (posture, upcoming.at, waiting, upcoming.until) == expected, case
    for instant in (upcoming.at, upcoming.until):
        assert instant is None or instant.tzinfo is TZ, "instants in the person's zone"


@pytest.mark.parametrize(
    ("paused_at", "pause_s"),
    [(at(9, 10), 600.0), (at(9, 10), 1200.0), (at(9, 10), 3000.0), (at(9, 29, 50), 60.0)],
)
def test_the_change_shown_during_a_pause_is_the_one_that_comes_when_it_ends(
    paused_at: datetime, pause_s: float
) -> None:
    d = day()
    d.until(paused_at)
    d.do("pause", pause_s)
    shown = d.sched.upcoming(d.now)
    assert shown.block is not None
    assert shown.at is not None
    d.until(shown.at + timedelta(seconds=1))
    assert d.moves()[-1] == (shown.at, shown.block.posture)


# --- pause and inhibit keep the timers ---------------------------------------------------------


def test_a_pause_with_a_duration_holds_still_and_then_resumes_by_itself() -> None:
    d = day()
    d.until(at(9, 10))
    left = left_to_next_change(d)
    d.do("pause", 1200.0)
    assert d.sched.state(d.now) is ScheduleState.PAUSED
    moves_before = len(d.moves())
    d.until(at(9, 29, 59))
    assert len(d.moves()) == moves_before
    assert not d.of(Warn)[1:], "no warning while paused"
    d.until(at(9, 30))
    assert d.sched.state(d.now) is ScheduleState.RUNNING
    assert not d.sched.paused
    assert left_to_next_change(d) == left, "the timer was kept, not reset"
    d.until(at(9, 51))
    assert d.moves()[-1] == (at(9, 50), "stand")


def test_a_pause_without_a_duration_lasts_until_resume_and_keeps_the_timer() -> None:
    d = day()
    d.until(at(9, 20))
    d.do("pause")
    d.until(at(11))
    assert len(d.moves()) == 1
    d.do("resume")
    assert left_to_next_change(d) == timedelta(minutes=10)
    assert d.of(Replanned)[-1][1].why == "pause ended; timers kept"


def test_inhibit_holds_every_automatic_move_and_off_resumes_where_it_was() -> None:
    d = day()
    d.until(at(9, 25))
    d.do("inhibit", True)
    assert d.sched.state(d.now) is ScheduleState.INHIBITED
    d.until(at(10, 25))
    assert d.moves() == [(at(9), "sit")]
    d.do("inhibit", False)
    assert left_to_next_change(d) == timedelta(minutes=5)
    d.until(at(10, 31))
    assert d.moves()[-1] == (at(10, 30), "stand")


def test_a_pause_and_an_inhibit_that_overlap_freeze_once_from_first_to_last() -> None:
    d = day()
    d.until(at(9, 10))
    d.do("pause")
    d.until(at(9, 20))
    d.do("inhibit", True)
    d.until(at(9, 40))
    d.do("resume")
    assert d.sched.state(d.now) is ScheduleState.INHIBITED
    d.until(at(9, 50))
    d.do("inhibit", False)
    assert left_to_next_change(d) == timedelta(minutes=20)


def test_inhibit_off_just_before_a_change_still_gives_the_full_warning() -> None:
    d = day()
    d.until(at(9, 29, 50))  # warned at 09:29:30, the move is 10 s away
    d.do("inhibit", True)
    d.until(at(9, 40))
    d.do("inhibit", False)
    d.until(at(9, 41))
    warned_at, warn = d.of(Warn)[-1]
    moved_at, _ = d.moves()[-1]
    assert warned_at == at(9, 40)
    assert moved_at - warned_at >= timedelta(seconds=SIT_STAND.warn_s)
    assert warn.move_at == moved_at


def test_a_pause_over_lunch_does_not_push_the_afternoon_past_its_range() -> None:
    d = day()
    d.until(at(12, 20))
    d.do("pause", 3600.0)  # 12:20 to 13:20, before the afternoon starts
    d.until(at(13, 31))
    assert (at(13, 30), "sit") in d.moves()


def test_schedule_off_moves_nothing_and_on_plans_from_now_keeping_the_sitting_timer() -> None:
    d = day()
    d.until(at(9, 10))
    d.do("set_enabled", False)
    assert d.sched.state(d.now) is ScheduleState.OFF
    d.until(at(11))
    assert len(d.moves()) == 1
    d.do("set_enabled", True)
    # seated since 09:00: the sitting block in progress is already full, so the stand comes
    # right after a full warning instead of after another 30 minutes
    assert d.plan.calls[-1] == (at(10, 30, 31), "sit")
    d.until(at(11, 2))
    assert d.moves()[-1] == (at(11, 0, 31), "stand")


# --- confirmation ------------------------------------------------------------------------------


def test_a_profile_with_confirm_asks_and_moves_only_after_confirm() -> None:
    d = day(make(confirm=True))
    d.until(at(9, 0))
    assert d.of(Warn)[-1][0] == at(8, 59, 30), "the warning still comes first"
    assert [a.block.start for _, a in d.of(AskConfirm)] == [at(9)]
    d.until(at(9, 3))
    assert d.moves() == [], "no move before the confirmation"
    assert d.do("confirm") == [Move(d.of(AskConfirm)[0][1].block)]
    assert d.moves() == [(at(9, 3), "sit")]
    d.until(at(9, 31))
    assert [a.block.start for _, a in d.of(AskConfirm)] == [at(9), at(9, 30)]
    assert len(d.moves()) == 1


def test_an_unanswered_confirmation_lapses_and_never_moves_to_a_stale_posture() -> None:
    d = day(make(confirm=True))
    d.until(at(10, 50))
    stale = [a.block for _, a in d.of(Dropped) if a.why == "unconfirmed"]
    assert at(9, 30) in [b.start for b in stale], "the unanswered stand lapsed"
    asked = d.of(AskConfirm)[-1][1].block
    assert asked.start == at(10, 30), "the question on the table is the current change"
    d.do("confirm")
    assert d.moves()[-1] == (at(10, 50), "sit")


# --- what the desk did -------------------------------------------------------------------------


def test_a_manual_move_to_stand_while_sitting_is_followed_not_fought() -> None:
    d = day()
    d.until(at(9, 10))
    actions = d.do("manual_move", "stand")
    assert [type(a) for a in actions] == [Replanned]
    assert d.sched.posture == "stand"
    assert d.plan.calls[-1] == (at(9, 10), "stand")
    d.until(at(9, 26))
    assert d.moves() == [(at(9), "sit"), (at(9, 25), "sit")], "a full stand block, then sit"


def test_a_manual_move_to_the_posture_already_planned_changes_nothing() -> None:
    d = day()
    d.until(at(9, 10))
    assert d.do("manual_move", "sit") == []


def test_a_failed_move_holds_the_schedule_until_resume() -> None:
    d = day()
    d.until(at(9, 29))
    d.arrive = False
    d.until(at(9, 30))
    held = d.land(False, "something is in the way")
    assert held == [Held("something is in the way")]
    assert d.sched.state(d.now) is ScheduleState.INHIBITED
    d.arrive = True
    d.until(at(10, 50))
    assert len(d.moves()) == 2, "no automatic move while held"
    d.do("resume")
    assert d.sched.state(d.now) is ScheduleState.RUNNING
    d.until(at(11, 1))
    assert d.moves()[2:] == [(at(11), "stand")], "the plan goes on, on time, after resume"


@pytest.mark.parametrize("release", ["skip", "manual_move"])
def test_a_hold_is_also_released_by_skip_or_moving_the_desk_by_hand(release: str) -> None:
    d = day()
    d.until(at(9, 29))
    d.arrive = False
    d.until(at(9, 30))
    d.land(False, "something is in the way")
    if release == "skip":
        d.do("skip")
    else:
        d.do("manual_move", "stand")
    assert d.sched.held is None


def test_a_re_plan_during_a_move_still_lands_that_move_and_keeps_the_new_plan() -> None:
    d = day(arrive=False)
    d.until(at(9, 30))
    moving = d.moves()[-1]
    d.do(
        "use_profile",
        make(cycle=[{"posture": "stand", "minutes": 20}, {"posture": "sit", "minutes": 40}]),
    )
    landed = d.land(True)
    assert [type(a) for a in landed] == [ShowCue]
    assert isinstance(landed[0], ShowCue)
    assert landed[0].block.start == moving[0]
    after = d.sched.next_change()
    assert after is not None
    assert after.start > d.now, "the new plan's next change is still ahead"


def test_a_move_still_running_at_midnight_reports_its_end_into_the_new_day() -> None:
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    d = day(make(hours=["22:00-24:00"], weekdays=every_day), start=at(23, 29))
    d.arrive = False
    d.until(at(23, 30))
    assert d.moves() == [(at(23, 30), "sit")]
    d.until(at(0, 0, 1, day=MONDAY + timedelta(days=1)))
    assert [type(a) for a in d.land(True)] == [ShowCue]
    assert d.sched.posture == "sit"


# --- the clock ---------------------------------------------------------------------------------


def test_a_clock_jump_re_plans_and_fires_no_burst_of_overdue_moves() -> None:
    d = day()
    d.until(at(9, 20))
    d.now = at(11, 20)  # the laptop slept for two hours
    assert d.sched.clock_jumped(d.now, 7200) == [Replanned("the clock jumped")]
    d.until(at(11, 21))
    assert d.moves() == [(at(9), "sit")], "nothing overdue fires"
    d.until(at(12, 31))
    # seated 20 minutes before the sleep: 10 more after it, then stand
    assert d.moves()[1] == (at(11, 30), "stand"), "the plan goes on from the posture at 11:20"


def test_a_late_tick_drops_overdue_changes_instead_of_firing_them() -> None:
    d = day()
    d.until(at(9, 20))
    d.now = at(10, 20)
    actions = d.sched.tick(d.now)
    assert not [a for a in actions if isinstance(a, Move)]
    missed = [a.block.start for a in actions if isinstance(a, Dropped) and a.why == "missed"]
    assert missed == [at(9, 30), at(9, 45), at(10, 15)]


# --- illegal commands --------------------------------------------------------------------------


def _moving(d: Day) -> None:
    d.arrive = False
    d.until(at(9, 0))


def _end_of_day(d: Day) -> None:
    d.until(at(17, 20))


ILLEGAL = [
    ("confirm with nothing to confirm", lambda d: d.until(at(9, 10)), "confirm", ()),
    ("skip at the end of the day", _end_of_day, "skip", ()),
    ("snooze at the end of the day", _end_of_day, "snooze", (600.0,)),
    ("snooze for no time", lambda d: d.until(at(9, 10)), "snooze", (0.0,)),
    ("skip while moving", _moving, "skip", ()),
    ("snooze while moving", _moving, "snooze", (600.0,)),
    ("pause while moving", _moving, "pause", ()),
]


@pytest.mark.parametrize(("case", "setup", "command", "args"), ILLEGAL, ids=[c[0] for c in ILLEGAL])
def test_an_illegal_command_says_why_in_one_sentence_and_changes_nothing(
    case: str, setup: Any, command: str, args: tuple[Any, ...]
) -> None:
    d = day()
    setup(d)
    before = d.snapshot()
    with pytest.raises(IllegalTransition) as caught:
        d.do(command, *args)
    message = str(caught.value)
    assert message
    assert "\n" not in message
    assert message.count(". ") == 0
    assert d.snapshot() == before, case


def test_move_done_with_no_move_running_is_illegal() -> None:
    d = day()
    d.until(at(9, 10))
    before = d.snapshot()
    with pytest.raises(IllegalTransition, match="no scheduled move"):
        d.land(True)
    assert d.snapshot() == before


def test_skip_at_the_end_of_the_day_keeps_a_hold() -> None:
    d = day()
    d.until(at(17, 14))
    d.arrive = False
    d.until(at(17, 15))
    d.land(False, "something is in the way")
    with pytest.raises(IllegalTransition):
        d.do("skip")
    assert d.sched.held == "something is in the way"


# --- a property: whatever the person says, and whenever ----------------------------------------

COMMANDS = st.sampled_from(
    [
        "skip",
        "snooze",
        "pause",
        "pause_for",
        "resume",
        "inhibit_on",
        "inhibit_off",
        "confirm",
        "manual_sit",
        "manual_stand",
        "jump",
        "off",
        "on",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    confirm=st.booleans(),
    steps=st.lists(st.tuples(st.integers(0, 5400), COMMANDS), max_size=12),
)
def test_every_move_is_warned_first_and_nothing_moves_while_frozen(
    confirm: bool, steps: list[tuple[int, str]]
) -> None:
    d = day(make(confirm=confirm), start=at(8, 50))
    for wait_s, command in steps:
        d.until(d.now + timedelta(seconds=wait_s))
        s, now = d.sched, d.now
        try:
            if command == "snooze":
                d.do("snooze", 600.0)
            elif command == "pause_for":
                d.do("pause", 900.0)
            elif command in ("inhibit_on", "inhibit_off"):
                d.do("inhibit", command == "inhibit_on")
            elif command in ("manual_sit", "manual_stand"):
                d.do("manual_move", command.removeprefix("manual_"))
            elif command == "jump":
                d.now = now + timedelta(hours=2)
                d._take(s.clock_jumped(d.now))
            elif command in ("off", "on"):
                d.do("set_enabled", command == "on")
            else:
                d.do(command)
        except IllegalTransition:
            pass
    d.until(at(19))
    last_warn: dict[Block, datetime] = {}
    warn_s = timedelta(seconds=SIT_STAND.warn_s)
    moves: list[datetime] = []
    for when, action in d.log:
        if isinstance(action, Warn):
            last_warn[action.block] = when
        if isinstance(action, Move):
            assert action.block in last_warn, "a move without a warning"
            assert when - last_warn[action.block] >= warn_s, "a warning shorter than warn_s"
            moves.append(when)
    for first, second in itertools.pairwise(moves):
        assert second - first >= timedelta(minutes=1), "two automatic moves within a minute"


@pytest.mark.parametrize(
    ("now", "edge"),
    [
        (at(8, 0), at(9, 0)),  # working hours begin
        (at(9, 10), at(9, 30)),  # the first block ends (30 min sitting)
        (at(12, 20), at(12, 30)),  # lunch: working hours end
        (at(12, 30), at(13, 30)),  # an edge is strictly after now
        (at(17, 30), None),  # nothing more today
    ],
)
def test_working_changes_at_is_the_next_start_or_end_of_a_block(
    now: datetime, edge: datetime | None
) -> None:
    sched = Scheduler(SIT_STAND, TZ, FakePlan(), at(7, 0))
    assert sched.working_changes_at(now) == edge


def test_a_restart_restores_the_switch_and_the_hold_without_a_replan() -> None:
    plan = FakePlan()
    sched = Scheduler(SIT_STAND, TZ, plan, at(7, 0))
    calls = len(plan.calls)
    sched.restore_switches(enabled=False, held="an obstruction")
    assert (sched.enabled, sched.held, len(plan.calls)) == (False, "an obstruction", calls)
    assert sched.state(at(10)) == "off"
    sched.restore_switches(enabled=True, held="an obstruction")
    assert sched.state(at(10)) == "inhibited"
    assert sched.frozen
