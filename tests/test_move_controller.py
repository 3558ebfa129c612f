"""The move controller, stepped by hand: events in, writes/deadlines/outcomes out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.core.linak import CANCEL_TARGET, Char, Command, HeightReport, encode_target
from deskctl.core.move import (
    Decision,
    ManualEvent,
    MoveConfig,
    MoveController,
    Phase,
    Write,
)
from deskctl.core.vocab import Outcome
from deskctl.errors import (
    ConfigError,
    HeightError,
    IllegalTransition,
    LinkError,
    ManualOverride,
    MoveError,
    MoveTimeout,
    Obstruction,
)

BASE_MM = 620
UP = 3000
DOWN = -3000
CFG = MoveConfig()

WAKE = Write(Char.COMMAND, b"\xfe\x00")
STOP = Write(Char.COMMAND, b"\xff\x00")
CANCEL = Write(Char.REFERENCE_INPUT, b"\x01\x80")
STOP_WRITES = (STOP, CANCEL)


def target(mm: int) -> Write:
    return Write(Char.REFERENCE_INPUT, encode_target(mm, BASE_MM))


def start_writes(mm: int) -> tuple[Write, ...]:
    return (WAKE, STOP, target(mm))


def rep(height_mm: int, speed: int = 0) -> HeightReport:
    return HeightReport(height_mm, speed)


def snapshot(c: MoveController) -> tuple[object, ...]:
    return (c.phase, c.target_mm, c.height_mm, c.deadline_s)


# -- controllers in each phase (the desk at 720 mm, time 0) ----------------------------------------
def idle() -> MoveController:
    c = MoveController(base_mm=BASE_MM)
    c.report(rep(720), 0.0)
    return c


def starting() -> MoveController:  # a move up to 1000 mm was written at t=0
    c = idle()
    c.start(1000, 0.0)
    return c


def moving() -> MoveController:  # on its way up, at 800 mm at t=0.2
    c = starting()
    c.report(rep(800, UP), 0.2)
    return c


def stopping() -> MoveController:  # stopped by the user at t=0.25, coasting until 2.25
    c = moving()
    c.stop(0.25)
    return c


def manual() -> MoveController:  # someone presses the desk's up button
    c = idle()
    c.report(rep(730, UP), 0.0)
    return c


SETUPS: dict[str, Callable[[], MoveController]] = {
    "idle": idle,
    "starting": starting,
    "moving": moving,
    "stopping": stopping,
    "manual": manual,
}


def test_the_setups_are_in_the_phase_they_are_named_for() -> None:
    assert {name: make().phase for name, make in SETUPS.items()} == {
        "idle": Phase.IDLE,
        "starting": Phase.STARTING,
        "moving": Phase.MOVING,
        "stopping": Phase.STOPPING,
        "manual": Phase.MANUAL,
    }


# -- every transition, one row each ----------------------------------------------------------------
Event = Callable[[MoveController], Decision]


def tick_on_time(c: MoveController, until_s: float) -> Decision:
    """Tick at every deadline up to `until_s`, as a loop that is never late does."""
    d = c.tick(min(c.deadline_s or until_s, until_s))
    while d.outcome is None and d.deadline_s is not None and d.deadline_s <= until_s + 1e-9:
        d = c.tick(d.deadline_s)
    return d


TRANSITIONS: list[tuple[str, str, Event, Phase, Outcome | None]] = [
    # setup, event name, event, phase after, outcome
    ("idle", "start", lambda c: c.start(1000, 1.0), Phase.STARTING, None),
    ("idle", "start-here", lambda c: c.start(720, 1.0), Phase.IDLE, Outcome.ARRIVED),
    ("idle", "report-moving", lambda c: c.report(rep(725, UP), 1.0), Phase.MANUAL, None),
    ("idle", "report-rest", lambda c: c.report(rep(720), 1.0), Phase.IDLE, None),
    ("idle", "stop", lambda c: c.stop(1.0), Phase.STOPPING, None),
    ("idle", "link-lost", lambda c: c.link_lost(1.0), Phase.IDLE, None),
    ("starting", "report-toward", lambda c: c.report(rep(725, UP), 0.2), Phase.MOVING, None),
    (
        "starting",
        "report-away",
        lambda c: c.report(rep(715, DOWN), 0.2),
        Phase.STOPPING,
        Outcome.MANUAL_PRESS,
    ),
    ("starting", "report-rest", lambda c: c.report(rep(720), 0.2), Phase.STARTING, None),
    ("starting", "tick-renew", lambda c: c.tick(0.3), Phase.STARTING, None),
    ("starting", "tick-early", lambda c: c.tick(0.1), Phase.STARTING, None),
    ("starting", "tick-no-start", lambda c: tick_on_time(c, 3.0), Phase.STOPPING, Outcome.TIMEOUT),
    ("starting", "tick-lapsed", lambda c: c.tick(1.2), Phase.STARTING, None),
    ("starting", "stop", lambda c: c.stop(0.2), Phase.STOPPING, Outcome.STOPPED),
    ("starting", "link-lost", lambda c: c.link_lost(0.2), Phase.IDLE, Outcome.LINK_LOST),
    ("moving", "report-toward", lambda c: c.report(rep(810, UP), 0.3), Phase.MOVING, None),
    (
        "moving",
        "report-reverse",
        lambda c: c.report(rep(795, DOWN), 0.3),
        Phase.STOPPING,
        Outcome.MANUAL_PRESS,
    ),
    (
        "moving",
        "report-off-path",
        lambda c: c.report(rep(794, UP), 0.3),
        Phase.STOPPING,
        Outcome.MANUAL_PRESS,
    ),
    (
        "moving",
        "report-rest-far",
        lambda c: c.report(rep(805), 0.3),
        Phase.STOPPING,
        Outcome.OBSTRUCTION,
    ),
    ("moving", "report-rest-far-lapsed", lambda c: c.report(rep(805), 1.2), Phase.MOVING, None),
    ("moving", "report-rest-near", lambda c: c.report(rep(995), 0.3), Phase.MOVING, None),
    ("moving", "report-rest-there", lambda c: c.report(rep(1000), 0.3), Phase.MOVING, None),
    ("moving", "tick-renew", lambda c: c.tick(0.3), Phase.MOVING, None),
    ("moving", "tick-past-bound", lambda c: c.tick(60.0), Phase.STOPPING, Outcome.TIMEOUT),
    ("moving", "stop", lambda c: c.stop(0.3), Phase.STOPPING, Outcome.STOPPED),
    ("moving", "link-lost", lambda c: c.link_lost(0.3), Phase.IDLE, Outcome.LINK_LOST),
    ("stopping", "start", lambda c: c.start(700, 0.5), Phase.STARTING, None),
    ("stopping", "report-coasting", lambda c: c.report(rep(802, UP), 0.5), Phase.STOPPING, None),
    ("stopping", "report-rest", lambda c: c.report(rep(803), 0.5), Phase.IDLE, None),
    ("stopping", "tick-early", lambda c: c.tick(1.0), Phase.STOPPING, None),
    ("stopping", "tick-coast-over", lambda c: c.tick(2.25), Phase.IDLE, None),
    ("stopping", "stop", lambda c: c.stop(0.5), Phase.STOPPING, None),
    ("stopping", "link-lost", lambda c: c.link_lost(0.5), Phase.IDLE, None),
    ("manual", "report-moving", lambda c: c.report(rep(760, UP), 1.0), Phase.MANUAL, None),
    ("manual", "report-rest", lambda c: c.report(rep(790), 1.0), Phase.IDLE, None),
    ("manual", "stop", lambda c: c.stop(1.0), Phase.MANUAL, None),
    ("manual", "link-lost", lambda c: c.link_lost(1.0), Phase.IDLE, None),
]


@pytest.mark.parametrize(
    ("setup", "event", "phase", "outcome"),
    [pytest.param(s, e, p, o, id=f"{s}-{n}") for s, n, e, p, o in TRANSITIONS],
)
def test_every_transition(setup: str, event: Event, phase: Phase, outcome: Outcome | None) -> None:
    c = SETUPS[setup]()
    decision = event(c)
    assert (c.phase, decision.outcome) == (phase, outcome)
    assert decision.deadline_s == c.deadline_s
    assert (decision.deadline_s is None) == (phase is Phase.IDLE)  # MANUAL: quiet means read
    if phase not in (Phase.STARTING, Phase.MOVING):
        assert c.target_mm is None


ILLEGAL: list[tuple[str, str, Event, str]] = [
    ("idle", "tick", lambda c: c.tick(5.0), "no deadline"),
    ("manual", "start", lambda c: c.start(1000, 1.0), "moved by hand"),
    ("starting", "start", lambda c: c.start(900, 0.1), "already moving"),
    ("moving", "start", lambda c: c.start(900, 0.3), "already moving"),
    ("fresh", "start", lambda c: c.start(900, 0.0), "not known"),
    ("fresh", "tick", lambda c: c.tick(0.0), "no deadline"),
]


@pytest.mark.parametrize(
    ("setup", "event", "words"),
    [pytest.param(s, e, w, id=f"{s}-{n}") for s, n, e, w in ILLEGAL],
)
def test_an_illegal_event_raises_and_changes_nothing(setup: str, event: Event, words: str) -> None:
    c = MoveController(base_mm=BASE_MM) if setup == "fresh" else SETUPS[setup]()
    before = snapshot(c)
    with pytest.raises(IllegalTransition, match=words):
        event(c)
    assert snapshot(c) == before


def test_a_target_the_desk_cannot_take_is_a_height_error_and_changes_nothing() -> None:
    c = idle()
    before = snapshot(c)
    with pytest.raises(HeightError, match="base"):
        c.start(500, 0.0)
    assert snapshot(c) == before


# -- start -----------------------------------------------------------------------------------------
def test_start_wakes_the_desk_then_writes_the_target() -> None:
    c = idle()
    d = c.start(1000, 10.0)
    # the next deadline: quiet_s without a report, then the height is read back
    assert d == Decision(writes=start_writes(1000), deadline_s=10.2, height_mm=720)
    assert (c.phase, c.target_mm) == (Phase.STARTING, 1000)


@pytest.mark.parametrize(
    ("target_mm", "arrived"), [(720, True), (721, False), (719, False), (722, False), (718, False)]
)
def test_start_arrives_at_once_only_when_exactly_there(target_mm: int, arrived: bool) -> None:
    c = idle()
    d = c.start(target_mm, 0.0)
    if arrived:
        assert (d.outcome, d.writes, c.phase, c.target_mm) == (
            Outcome.ARRIVED,
            (),
            Phase.IDLE,
            None,
        )
        assert d.deadline_s is None
    else:
        assert (d.outcome, d.writes, c.phase) == (None, start_writes(target_mm), Phase.STARTING)


def test_start_while_coasting_near_the_target_still_moves() -> None:
    c = stopping()
    c.report(rep(1000, UP), 0.3)  # coasting right through 1000 mm
    d = c.start(1000, 0.4)
    assert (d.outcome, d.writes) == (None, start_writes(1000))


# -- renewal cadence -------------------------------------------------------------------------------
def test_the_target_is_renewed_every_renew_s_until_it_arrives() -> None:
    c = MoveController(MoveConfig(renew_s=0.25), base_mm=BASE_MM)
    c.report(rep(720), 0.0)
    d = c.start(1000, 0.0)
    seen = [(0.0, d.writes, d.deadline_s)]
    for now in (0.25, 0.5):
        d = c.tick(now)
        seen.append((now, d.writes, d.deadline_s))
    assert c.report(rep(760, UP), 0.6).writes == ()  # reports never write
    for now in (0.75, 1.0):
        d = c.tick(now)
        seen.append((now, d.writes, d.deadline_s))
    assert seen == [
        (0.0, start_writes(1000), 0.2),  # quiet_s: read back (asked by the tick at 0.25)
        (0.25, (target(1000),), 0.5),
        (0.5, (target(1000),), 0.75),
        (0.75, (target(1000),), 1.0),
        (1.0, (target(1000),), 1.25),
    ]


def test_a_tick_before_the_deadline_writes_nothing_and_keeps_the_deadline() -> None:
    c = starting()
    d = c.tick(0.2)
    assert d.writes == ()
    assert d.deadline_s == pytest.approx(0.3)


def test_a_late_tick_renews_once_and_schedules_from_now() -> None:
    c = moving()
    d = c.tick(0.65)
    assert d.writes == (target(1000),)
    assert d.deadline_s == pytest.approx(0.95)


def test_a_tick_so_late_that_its_write_may_land_after_the_desk_let_go_re_issues() -> None:
    c = moving()
    d = c.tick(1.0)  # due at 0.3: with the write still to go, the desk may halt at 1.0
    assert d.writes == (WAKE, target(1000))
    assert d.deadline_s == pytest.approx(1.3)


# -- arrival ---------------------------------------------------------------------------------------
def test_arrival_by_zero_speed_reports_within_tolerance() -> None:
    c = moving()
    c.report(rep(990, UP), 0.5)
    results = [c.report(rep(h), t) for h, t in [(999, 0.6), (1000, 0.7), (1000, 0.8)]]
    assert [r.outcome for r in results] == [None, None, Outcome.ARRIVED]
    last = results[-1]
    # no writes; for settle_s the desk lands (a nudge within tolerance is no manual move)
    assert (last.writes, last.deadline_s, last.message, last.height_mm) == ((), 1.8, "", 1000)
    assert (c.phase, c.landing, c.target_mm) == (Phase.STOPPING, True, None)
    assert last.error() is None
    assert c.tick(1.8) == Decision(height_mm=1000)
    assert (c.phase, c.landing) == (Phase.IDLE, False)


def test_arrival_by_settle_time_when_no_more_reports_come() -> None:
    c = moving()
    d = c.report(rep(1001), 0.5)  # one zero-speed report, then silence
    assert d.outcome is None
    outcomes = []
    while d.outcome is None:
        now = d.deadline_s
        assert now is not None
        d = c.tick(now)
        outcomes.append((round(now, 6), d.writes, d.outcome))
    assert outcomes[-1] == (1.5, (), Outcome.ARRIVED)  # settle_s after the first report at rest
    assert all(writes == (target(1000),) for _, writes, _ in outcomes[:-1])
    assert c.landing


def test_motion_after_a_pause_resets_the_settle_count() -> None:
    c = moving()
    c.report(rep(1000), 0.5)
    c.report(rep(1000), 0.6)
    c.report(rep(1000, UP), 0.7)
    assert c.report(rep(1000), 0.8).outcome is None
    assert c.report(rep(1000), 0.9).outcome is None
    assert c.report(rep(1000), 1.0).outcome is Outcome.ARRIVED


# -- obstruction -----------------------------------------------------------------------------------
def test_a_collision_mid_move_stops_the_desk_at_once() -> None:
    c = moving()
    d = c.report(rep(850), 0.8)  # zero speed, 150 mm short
    assert (d.outcome, d.writes, c.phase) == (Outcome.OBSTRUCTION, STOP_WRITES, Phase.STOPPING)
    assert (
        d.message == "the desk stopped 150 mm short of 100.0 cm at 85.0 cm: something is in the way"
    )
    assert d.deadline_s == pytest.approx(0.8 + CFG.stop_coast_s)
    error = d.error()
    assert isinstance(error, Obstruction)
    assert (str(error), error.height_mm) == (d.message, 850)


def test_a_collision_going_down_is_an_obstruction_too() -> None:
    c = idle()
    c.start(650, 0.0)
    c.report(rep(700, DOWN), 0.2)
    d = c.report(rep(690), 0.4)
    assert (d.outcome, d.writes) == (Outcome.OBSTRUCTION, STOP_WRITES)
    assert "40 mm short of 65.0 cm" in d.message


def test_stopping_a_little_short_keeps_renewing_then_is_an_obstruction() -> None:
    c = moving()
    first = c.report(rep(996), 0.5)
    assert (first.outcome, first.writes) == (None, ())
    assert c.tick(0.5).writes == (target(1000),)  # the renewal may get it going again
    assert c.report(rep(996), 0.6).outcome is None
    d = c.report(rep(996), 0.7)
    assert (d.outcome, d.writes, c.phase) == (Outcome.OBSTRUCTION, STOP_WRITES, Phase.STOPPING)
    assert "stopped 4 mm short of 100.0 cm" in d.message


def test_resting_a_little_short_for_settle_s_is_an_obstruction() -> None:
    c = moving()
    d = c.report(rep(995), 0.5)
    while d.outcome is None:
        assert d.deadline_s is not None
        d = c.tick(d.deadline_s)
    assert (d.outcome, d.writes) == (Outcome.OBSTRUCTION, STOP_WRITES)
    assert "5 mm short" in d.message


# -- a late renewal (a busy machine) is not an obstruction -----------------------------------------
def renewed_on_time() -> MoveController:  # on its way up at 800 mm; the target renewed at 0.3
    c = moving()
    assert c.tick(0.3).writes == (target(1000),)
    return c


def test_at_rest_short_after_our_renewal_lapsed_is_re_issued_not_an_obstruction() -> None:
    c = renewed_on_time()
    d = c.report(rep(850), 1.5)  # the loop stalled 1.2 s: no renewal, and the desk let go
    assert (d.outcome, d.writes, c.phase) == (None, (WAKE, target(1000)), Phase.MOVING)
    assert d.deadline_s == pytest.approx(1.8)  # renewals carry on from the re-issue
    assert c.report(rep(851), 1.6).outcome is None  # still at rest: it gets hold_s to move again
    assert c.tick(1.8).writes == (target(1000),)
    assert c.report(rep(860, UP), 1.9).outcome is None
    arrival = [c.report(rep(1000), t).outcome for t in (2.0, 2.05, 2.1)]
    assert arrival == [None, None, Outcome.ARRIVED]


def test_a_late_tick_re_issues_and_the_stale_rest_report_after_it_is_not_judged() -> None:
    c = renewed_on_time()
    d = c.tick(1.5)  # the renewal due at 0.6 comes 0.9 s late
    assert (d.outcome, d.writes) == (None, (WAKE, target(1000)))
    stale = c.report(rep(850), 1.5)  # the desk's stop report, queued during the stall
    assert (stale.outcome, stale.writes, c.phase) == (None, (), Phase.MOVING)
    assert c.report(rep(855, UP), 1.8).outcome is None  # it goes on


def test_a_desk_still_at_rest_hold_s_after_the_re_issue_is_an_obstruction() -> None:
    c = renewed_on_time()
    c.report(rep(850), 1.5)  # re-issued
    d = c.report(rep(850), 1.6)
    assert d.deadline_s == pytest.approx(1.8)
    ticks = []
    while d.outcome is None:
        assert d.deadline_s is not None
        ticks.append(round(d.deadline_s, 6))
        d = c.tick(d.deadline_s)
    assert ticks == [1.8, 2.1, 2.4, 2.5]  # renewals, then hold_s after the re-issue
    assert (d.outcome, d.writes) == (Outcome.OBSTRUCTION, STOP_WRITES)
    assert "150 mm short of 100.0 cm at 85.0 cm: something is in the way" in d.message


def test_a_desk_stopping_with_a_live_target_is_still_an_obstruction_at_once() -> None:
    c = renewed_on_time()
    assert c.tick(0.6).writes == (target(1000),)
    assert c.tick(0.9).writes == (target(1000),)
    d = c.report(rep(850), 1.15)  # the last renewals went out on time
    assert (d.outcome, d.writes) == (Outcome.OBSTRUCTION, STOP_WRITES)


def test_the_renewal_before_the_last_decides_because_the_last_may_still_be_in_flight() -> None:
    c = renewed_on_time()
    assert c.tick(0.6).writes == (target(1000),)
    # the renewal due at 0.9 never came; the write decided at 0.6 may have left late
    d = c.report(rep(850), 1.35)  # 1.05 s after the renewal at 0.3
    assert (d.outcome, d.writes) == (None, (WAKE, target(1000)))
    c2 = renewed_on_time()
    c2.tick(0.6)
    assert c2.report(rep(850), 1.25).outcome is Outcome.OBSTRUCTION  # 0.95 s: it held a target


def test_renewals_late_more_than_max_reissues_times_end_the_move() -> None:
    c = MoveController(MoveConfig(max_reissues=2), base_mm=BASE_MM)
    c.report(rep(720), 0.0)
    c.start(1000, 0.0)
    c.report(rep(800, UP), 0.2)
    assert c.tick(1.5).writes == (WAKE, target(1000))
    assert c.tick(3.0).writes == (WAKE, target(1000))
    d = c.tick(4.5)
    assert (d.outcome, d.writes) == (Outcome.TIMEOUT, STOP_WRITES)
    assert d.message == (
        "the desk was stopped at 80.0 cm on its way to 100.0 cm: this machine was too busy "
        "to renew the target in time (3 times)"
    )
    assert isinstance(d.error(), MoveTimeout)


def test_a_starved_move_still_ends_at_its_time_bound() -> None:
    c = renewed_on_time()
    d = c.tick(1.5)
    assert d.outcome is None
    d = c.tick(120.0)  # the re-issue extended the bound, but not forever
    assert (d.outcome, d.writes) == (Outcome.TIMEOUT, STOP_WRITES)
    assert "did not reach 100.0 cm" in d.message


# -- manual press during a move --------------------------------------------------------------------
def test_a_reversal_mid_move_is_a_manual_press() -> None:
    c = moving()
    d = c.report(rep(798, DOWN), 0.4)
    assert (d.outcome, d.writes, c.phase) == (Outcome.MANUAL_PRESS, STOP_WRITES, Phase.STOPPING)
    assert "someone is using its buttons" in d.message
    assert isinstance(d.error(), ManualOverride)


def test_running_past_the_target_is_a_manual_press() -> None:
    c = moving()
    assert c.report(rep(1000, UP), 0.5).outcome is None
    assert c.report(rep(1005, UP), 0.6).outcome is None  # off_path_mm beyond the best: still fine
    d = c.report(rep(1006, UP), 0.7)
    assert (d.outcome, d.writes) == (Outcome.MANUAL_PRESS, STOP_WRITES)
    assert "left its path" in d.message


def test_a_small_overshoot_corrected_back_is_not_a_manual_press() -> None:
    c = moving()
    c.report(rep(1003, UP), 0.5)
    assert c.report(rep(1001, DOWN), 0.6).outcome is None  # turning back toward the target
    assert c.report(rep(1000), 0.7).outcome is None
    assert c.phase is Phase.MOVING


# -- creeping in -----------------------------------------------------------------------------------
def test_a_desk_creeping_in_at_the_end_of_its_ramp_has_arrived_and_lands_quietly() -> None:
    c = moving()
    assert c.report(rep(999, 2000), 0.3).outcome is None  # slowing, but not yet at a creep
    d = c.report(rep(1000, 600), 0.35)
    assert (d.outcome, d.writes, d.height_mm) == (Outcome.ARRIVED, (), 1000)
    assert c.landing
    assert c.report(rep(1000, 200), 0.4) == Decision(height_mm=1000, deadline_s=1.35)  # landing
    assert c.report(rep(1001), 0.45).manual is None  # at rest: no manual move either
    assert (c.phase, c.landing) == (Phase.IDLE, False)


def test_a_read_finding_the_desk_creeping_in_is_an_arrival() -> None:
    c = moving()
    c.report(rep(990, 3000), 0.3)
    d = c.read_back(rep(1001, 500), 0.35)
    assert (d.outcome, d.height_mm, c.landing) == (Outcome.ARRIVED, 1001, True)


def test_motion_beyond_the_landing_is_a_manual_move() -> None:
    c = moving()
    c.report(rep(999, 2000), 0.3)
    c.report(rep(1000, 600), 0.35)
    d = c.report(rep(1003, UP), 0.5)  # 3 mm on and speeding: a hand on the button
    assert (d.manual, c.phase) == (ManualEvent(1003, ended=False), Phase.MANUAL)


def test_the_landing_ends_after_settle_s_without_a_read() -> None:
    c = moving()
    c.report(rep(999, 2000), 0.3)
    d = c.report(rep(1000, 600), 0.35)
    assert d.deadline_s == pytest.approx(0.35 + CFG.settle_s)
    d = c.tick(0.35 + CFG.settle_s)
    assert (d.read, d.writes, c.phase, c.landing) == (False, (), Phase.IDLE, False)


def test_the_last_of_a_landing_is_no_manual_press_for_the_next_move() -> None:
    """A move the other way starts while the desk still creeps down onto the last target."""
    c = MoveController(base_mm=BASE_MM)
    c.report(rep(1000), 0.0)
    c.start(900, 0.0)
    c.report(rep(950, -3000), 0.1)
    c.report(rep(901, -2000), 0.2)
    assert c.report(rep(900, -600), 0.25).outcome is Outcome.ARRIVED
    c.start(1000, 0.3)
    d = c.report(rep(900, -200), 0.32)  # its landing, after the new target was written
    assert (d.outcome, d.manual, c.phase) == (None, None, Phase.STARTING)
    assert c.report(rep(902, 3000), 0.5).outcome is None
    assert c.report(rep(920, -3000), 0.6).outcome is Outcome.MANUAL_PRESS  # a real turn back


def test_a_tiny_move_starting_at_a_creep_is_not_yet_an_arrival() -> None:
    """A move of a millimetre starts slowly within tolerance: only a desk slowing down has
    reached the end of its ramp (it would otherwise land a millimetre off the answer)."""
    c = MoveController(base_mm=BASE_MM)
    c.report(rep(1000), 0.0)
    c.start(1001, 0.0)
    assert c.report(rep(1000, 300), 0.05).outcome is None  # starting off slowly
    assert c.report(rep(1000, 600), 0.1).outcome is None  # faster: not the end of the ramp
    assert c.report(rep(1001, 400), 0.15).outcome is Outcome.ARRIVED  # slowing: it lands here


def test_coasting_after_a_manual_press_is_not_a_manual_move() -> None:
    c = moving()
    c.report(rep(798, DOWN), 0.4)
    d = c.report(rep(790, DOWN), 0.5)
    assert (d.manual, d.outcome, c.phase) == (None, None, Phase.STOPPING)
    assert c.report(rep(785), 0.6) == Decision(height_mm=785)
    assert c.phase is Phase.IDLE


# -- timeouts --------------------------------------------------------------------------------------
def test_a_desk_that_does_not_start_times_out() -> None:
    c = starting()
    d = c.report(rep(720), 0.1)  # at rest, not started
    ticks = []
    while d.outcome is None:
        assert d.deadline_s is not None
        ticks.append(d.deadline_s)
        d = c.tick(d.deadline_s)
    assert ticks[-1] == pytest.approx(CFG.start_timeout_s)
    assert len(ticks) == 10  # nine renewals, then the timeout
    assert (d.outcome, d.writes, c.phase) == (Outcome.TIMEOUT, STOP_WRITES, Phase.STOPPING)
    assert d.message == "the desk did not start moving within 3 s"
    assert isinstance(d.error(), MoveTimeout)


def test_a_move_that_takes_too_long_times_out_at_its_bound() -> None:
    c = moving()  # 720 -> 1000 mm: bound = 3 + 280/15 + 1 s after the start at t=0
    d = c.report(rep(801, UP), 0.3)
    renewals = 0
    while d.outcome is None:
        assert d.deadline_s is not None
        now = d.deadline_s
        d = c.tick(now)
        renewals += d.writes == (target(1000),)
    assert now == pytest.approx(3 + 280 / 15 + 1)
    assert renewals == 75
    assert (d.outcome, d.writes, c.phase) == (Outcome.TIMEOUT, STOP_WRITES, Phase.STOPPING)
    assert d.message == "the desk did not reach 100.0 cm within 23 s and was stopped at 80.1 cm"


# -- stop ------------------------------------------------------------------------------------------
def test_stop_during_a_move_writes_stop_and_cancel_and_ends_it() -> None:
    c = moving()
    d = c.stop(0.5)
    # the desk coasts: quiet_s without a report, it is read back (stop_coast_s at the latest)
    assert (d.outcome, d.writes, d.deadline_s) == (Outcome.STOPPED, STOP_WRITES, 0.7)
    assert c.tick(0.7).read
    assert d.message == "the move to 100.0 cm was stopped at 80.0 cm"
    assert isinstance(d.error(), MoveError)
    assert (c.phase, c.target_mm) == (Phase.STOPPING, None)


def test_stop_at_rest_writes_stop_and_cancel_anyway() -> None:
    c = idle()
    d = c.stop(1.0)
    assert d == Decision(writes=STOP_WRITES, deadline_s=3.0, height_mm=720)


def test_stop_during_a_manual_move_keeps_tracking_it() -> None:
    c = manual()
    d = c.stop(1.0)
    assert (d.writes, d.manual, c.phase) == (STOP_WRITES, None, Phase.MANUAL)
    assert c.report(rep(740), 1.2).manual == ManualEvent(740, ended=True)


def test_motion_past_the_coast_time_is_a_manual_move() -> None:
    c = stopping()
    assert c.report(rep(810, UP), 1.0).manual is None
    assert c.tick(2.25) == Decision(height_mm=810, read=True)  # where did the coast end?
    assert c.phase is Phase.IDLE
    assert c.report(rep(830, UP), 2.5).manual == ManualEvent(830, ended=False)


# -- manual moves at rest --------------------------------------------------------------------------
def test_a_manual_move_at_rest_reports_start_and_the_chosen_height() -> None:
    c = idle()
    steps = [(725, UP, 1.0), (900, UP, 4.0), (1100, UP, 9.0), (1102, 0, 9.5)]
    events = [c.report(rep(h, s), t).manual for h, s, t in steps]
    assert events == [ManualEvent(725, ended=False), None, None, ManualEvent(1102, ended=True)]
    assert [e.kind for e in events if e] == ["started", "ended"]
    assert (c.phase, c.height_mm, c.target_mm, c.deadline_s) == (Phase.IDLE, 1102, None, None)


# -- link lost -------------------------------------------------------------------------------------
def test_a_lost_link_ends_the_move_and_never_resumes_it() -> None:
    c = moving()
    d = c.link_lost(0.5)
    assert (d.outcome, d.writes, d.deadline_s) == (Outcome.LINK_LOST, (), None)
    assert d.message == "the connection to the desk dropped during the move to 100.0 cm"
    assert isinstance(d.error(), LinkError)
    assert (c.phase, c.target_mm) == (Phase.IDLE, None)
    # the link comes back and the desk is seen moving: a manual move, no target is written
    later = [c.report(rep(810, UP), 5.0), c.report(rep(820), 5.5)]
    assert [x.writes for x in later] == [(), ()]
    assert [x.manual for x in later] == [
        ManualEvent(810, ended=False),
        ManualEvent(820, ended=True),
    ]
    with pytest.raises(IllegalTransition):
        c.tick(6.0)


def test_a_lost_link_ends_a_manual_move_at_the_last_height() -> None:
    c = manual()
    assert c.link_lost(1.0).manual == ManualEvent(730, ended=True)


# -- config ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"renew_s": 0},
        {"settle_reports": 0},
        {"tolerance_mm": -1},
        {"short_mm": 0, "tolerance_mm": 1},
        {"min_speed_mm_s": 0.0},
        {"stop_coast_s": -1.0},
        {"hold_s": 0.3, "renew_s": 0.3},
        {"max_reissues": -1},
    ],
)
def test_a_config_that_cannot_work_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="move setting"):
        MoveConfig(**kwargs)  # type: ignore[arg-type]


# -- random sequences ------------------------------------------------------------------------------
EVENTS = st.one_of(
    st.tuples(st.just("start"), st.integers(BASE_MM, 1300)),
    st.tuples(
        st.just("report"), st.integers(BASE_MM, 1300), st.sampled_from([0, 0, 0, 1, -1, UP, DOWN])
    ),
    st.tuples(st.just("tick")),
    st.tuples(st.just("tick-deadline")),
    st.tuples(st.just("stop")),
    st.tuples(st.just("link_lost")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(EVENTS, st.floats(0.0, 1.5)), max_size=60))
def test_random_events_raise_only_illegal_transitions_and_write_only_the_given_target(
    steps: list[tuple[tuple[object, ...], float]],
) -> None:
    c = MoveController(base_mm=BASE_MM)
    now = 0.0
    allowed_targets: set[bytes] = set()
    for event, advance in steps:
        now += advance
        before = snapshot(c)
        try:
            match event:
                case ("start", int(mm)):
                    d = c.start(mm, now)
                    if d.writes:
                        allowed_targets = {encode_target(mm, BASE_MM)}
                case ("report", int(h), int(s)):
                    d = c.report(rep(h, s), now)
                case ("tick",):
                    d = c.tick(now)
                case ("tick-deadline",):
                    now = max(now, c.deadline_s or now)
                    d = c.tick(now)
                case ("stop",):
                    d = c.stop(now)
                case _:
                    d = c.link_lost(now)
        except IllegalTransition:
            assert snapshot(c) == before
            continue
        for w in d.writes:
            if w.char is Char.COMMAND:
                assert w.data in (Command.WAKE.value, Command.STOP.value)
            else:
                assert w.char is Char.REFERENCE_INPUT
                assert w.data == CANCEL_TARGET or w.data in allowed_targets
        assert d.deadline_s == c.deadline_s
        if c.phase is Phase.IDLE:
            assert d.deadline_s is None
        elif c.phase is not Phase.MANUAL:  # MANUAL: none while a read-back is on its way
            assert d.deadline_s is not None
        assert (c.target_mm is not None) == (c.phase in (Phase.STARTING, Phase.MOVING))
        if d.outcome is not None and d.outcome is not Outcome.ARRIVED:
            assert d.message
        if c.target_mm is None:
            allowed_targets = set()  # no move runs: no target may be written until the next start


def test_a_desk_that_will_not_stir_for_a_tiny_step_arrives_at_the_start_timeout() -> None:
    c = idle()
    c.start(721, 0.0)
    c.report(HeightReport(720, 0), 0.1)
    t = 0.0
    d = Decision()
    while d.outcome is None:
        t = d.deadline_s if d.deadline_s is not None else t + 0.3
        d = c.tick(t)
    assert (d.outcome, c.landing) == (Outcome.ARRIVED, True)
    assert t == pytest.approx(3.0, abs=0.31)


def test_a_one_mm_move_is_not_arrived_by_a_stale_report_of_the_old_height() -> None:
    c = idle()
    c.start(721, 0.0)
    for n in range(1, 6):
        d = c.report(HeightReport(720, 0), 0.05 * n)
        assert d.outcome is None
    assert c.phase is Phase.STARTING


# -- a quiet desk: the height read back ------------------------------------------------------------
def test_a_move_gone_quiet_near_the_target_asks_for_a_read_and_arrives_on_it() -> None:
    c = renewed_on_time()
    d = c.report(rep(999, UP), 0.5)  # creeping onto 1000 mm; then nothing more comes
    assert d.deadline_s == pytest.approx(0.5 + CFG.poll_s)
    d = c.tick(0.5 + CFG.poll_s)
    assert d.read
    assert d.deadline_s is not None  # renewals go on meanwhile
    d = c.read_back(rep(1001), 0.6)  # it rests a millimetre on: the truth, not the last report
    assert (d.outcome, d.height_mm, d.writes) == (Outcome.ARRIVED, 1001, ())


def test_mid_move_a_quiet_of_quiet_s_asks_for_a_read() -> None:
    c = renewed_on_time()  # the last report at 0.2, far from the target
    assert c.deadline_s == pytest.approx(0.2 + CFG.quiet_s)
    d = c.tick(0.2 + CFG.quiet_s)
    assert d.read
    assert not c.tick(0.45).read  # one read at a time
    d = c.read_back(rep(815, UP), 0.5)  # still on its way
    assert (d.outcome, c.phase) == (None, Phase.MOVING)


def test_a_zero_speed_report_within_tolerance_is_confirmed_by_a_read() -> None:
    c = moving()
    d = c.report(rep(1000), 0.5)
    assert (d.outcome, d.read) == (None, True)
    assert c.read_back(rep(1000), 0.55).outcome is Outcome.ARRIVED


def test_a_read_that_comes_back_after_its_move_ended_changes_nothing() -> None:
    c = moving()
    c.stop(0.3)
    c.report(rep(805), 0.4)  # at rest: idle
    assert c.read_back(rep(805, UP), 0.5) == Decision(height_mm=805)
    assert c.phase is Phase.IDLE


def test_a_quiet_manual_move_is_read_back_and_ends() -> None:
    c = idle()
    c.report(rep(730, UP), 1.0)
    assert c.phase is Phase.MANUAL
    d = c.tick(1.0 + CFG.quiet_s)
    assert d.read
    d = c.read_back(rep(742), 1.3)
    assert d.manual == ManualEvent(742, ended=True)
    assert snapshot(c)[0] is Phase.IDLE


def test_a_read_answered_after_newer_reports_neither_ends_the_move_nor_moves_the_height_back() -> (
    None
):
    # a busy loop or a slow radio: the read was sampled at 800 mm, its answer comes after a
    # notification from 830 mm; an older height read as the desk leaving its path (issue 13)
    c = renewed_on_time()
    c.tick(0.4)  # quiet since 0.2: read
    c.report(rep(830, UP), 0.45)
    d = c.read_back(rep(800, UP), 0.5)
    assert (d.outcome, d.writes, c.phase, c.height_mm) == (None, (), Phase.MOVING, 830)
    assert c.report(rep(840, UP), 0.55).outcome is None


def test_a_coasting_desk_that_goes_quiet_is_read_back_and_rests() -> None:
    # no zero-speed report after a stop (a real desk may send none): read it back
    c = moving()
    d = c.stop(0.5)
    assert d.deadline_s == pytest.approx(0.5 + CFG.quiet_s)
    assert c.tick(0.5 + CFG.quiet_s).read
    d = c.read_back(rep(806), 0.75)
    assert (c.phase, c.height_mm, d.deadline_s) == (Phase.IDLE, 806, None)
