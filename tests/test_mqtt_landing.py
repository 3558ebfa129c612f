"""The landing machine (core/landing.py), stepped by hand: events in, commands and outcomes out.

Most tables drive a desk that only steps up, down and stops (a second desk family, with a
commander written here), to show the machine needs no move-to; the last ones use the ESPHome
commander (core/esphome.py) the MQTT desk link uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from deskctl.core.esphome import DeskTopics, MoveToCommander, Publish
from deskctl.core.landing import Decision, LandingConfig, LandingMachine, Phase
from deskctl.core.move import ManualEvent
from deskctl.core.vocab import Outcome
from deskctl.errors import (
    ConfigError,
    IllegalTransition,
    LinkError,
    ManualOverride,
    MoveError,
    MoveTimeout,
    Obstruction,
)

CFG = LandingConfig(min_mm=620, max_mm=1270, tolerance_mm=1, move_timeout_s=60.0)
SETTLE = CFG.settle_s
STALL = CFG.stall_s


@dataclass(frozen=True)
class Steps:
    """A desk that holds up or down until told to stop (no move-to), 1 mm steps."""

    resolution_mm: float = 1.0
    listens_on: str = "its step buttons"

    def aim(self, aim: float, direction: int) -> tuple[str, int]:
        return ("up" if direction > 0 else "down"), round(aim)

    def stop(self, height_mm: int | None) -> str | None:
        return "stop"


def machine(height_mm: int | None = 700, *, lead_mm: float = 5.0) -> LandingMachine[str]:
    m = LandingMachine("office", Steps(), CFG, lead_mm=lead_mm)
    if height_mm is not None:
        m.report(height_mm, 0.0)
    return m


def moving_up() -> LandingMachine[str]:
    """On its way from 700 to 1000 mm (aim 995), last report at t=1."""
    m = machine()
    m.start(1000, 0.0)
    m.report(800, 1.0)
    return m


def landing() -> LandingMachine[str]:
    """Past its aim at 996 mm: the stop was sent at t=2."""
    m = moving_up()
    m.report(996, 2.0)
    return m


def manual() -> LandingMachine[str]:
    """Someone moves the desk by hand (idle at 700, then 710 at t=1)."""
    m = machine()
    m.report(710, 1.0)
    return m


def snapshot(m: LandingMachine[str]) -> tuple[object, ...]:
    return (m.phase, m.height_mm, m.target_mm, m.aim_mm, m.deadline_s, m.moving, m.lead_mm)


# -- a move, step by step ------------------------------------------------------------------------
def test_a_move_aims_short_by_the_run_on_and_stops_at_the_aim() -> None:
    m = machine()
    started = m.start(1000, 0.0)
    assert started.commands == ("up",)
    assert (m.phase, m.aim_mm, started.deadline_s) == (Phase.APPROACHING, 995, STALL)
    assert started.outcome is None
    on_way = m.report(900, 1.0)
    assert on_way.commands == ()
    assert on_way.deadline_s == pytest.approx(1.0 + SETTLE)  # the height changed: rest check
    at_aim = m.report(995, 1.5)
    assert at_aim.commands == ("stop",)
    assert m.phase is Phase.LANDING
    assert m.report(1000, 1.6).commands == ()  # the stop goes once; the run-on is no news
    landed = m.tick(1.6 + SETTLE)
    assert (landed.outcome, landed.height_mm, landed.message) == (Outcome.ARRIVED, 1000, "")
    assert landed.error() is None
    assert (m.phase, m.target_mm) == (Phase.IDLE, None)


def test_a_long_move_learns_the_run_on_and_the_next_move_aims_by_it() -> None:
    m = machine()
    m.start(1000, 0.0)
    m.report(995, 1.0)
    m.report(1001, 1.1)  # ran on 6 mm past the aim of 995
    assert m.tick(1.1 + SETTLE).outcome is Outcome.ARRIVED
    assert m.lead_mm == pytest.approx(5.5)  # the mean of 5 and 6
    m.report(1001, 10.0)
    assert m.start(800, 10.0).commands == ("down",)
    assert m.aim_mm == round(800 + 5.5)


def test_a_landing_off_target_is_corrected_from_where_the_desk_rests() -> None:
    m = machine()
    m.start(1000, 0.0)
    m.report(995, 1.0)
    m.report(1010, 1.1)
    corrected = m.tick(1.1 + SETTLE)
    assert corrected.outcome is None
    assert corrected.commands == ("down",)  # back, from 1010, aiming short by the learned lead
    assert m.lead_mm == pytest.approx(10.0)
    assert (m.phase, m.aim_mm, m.target_mm) == (Phase.APPROACHING, 1009, 1000)


def test_after_max_corrections_the_move_ends_where_it_rests_and_says_how_far_off() -> None:
    m = machine()
    m.start(1000, 0.0)
    now = 0.0
    for _ in range(CFG.max_corrections + 1):
        aim_mm = m.aim_mm
        assert aim_mm is not None
        now += 1.0
        m.report(aim_mm, now)
        m.report(1020, now + 0.1)  # never closer than 20 mm (more than its smallest move)
        decision = m.tick(now + 0.1 + SETTLE)
        now += 0.1 + SETTLE
    assert decision.outcome is Outcome.ARRIVED
    assert decision.message == (
        "landed at 1020 mm, 20 mm from the target 1000 mm, after 3 corrections"
    )
    assert decision.height_mm == 1020


def test_a_start_within_tolerance_arrives_at_once_and_sends_nothing() -> None:
    m = machine(1000)
    decision = m.start(1001, 0.0)
    assert (decision.outcome, decision.commands, decision.height_mm) == (
        Outcome.ARRIVED,
        (),
        1000,
    )
    assert m.phase is Phase.IDLE


# -- how a move ends otherwise --------------------------------------------------------------------
Build = Callable[[], LandingMachine[str]]


def _never_starts() -> tuple[LandingMachine[str], Decision[str]]:
    m = machine()
    m.start(1000, 0.0)
    return m, m.tick(STALL)


def _stops_short() -> tuple[LandingMachine[str], Decision[str]]:
    m = moving_up()
    return m, m.tick(1.0 + STALL)


def _turns_back() -> tuple[LandingMachine[str], Decision[str]]:
    m = moving_up()
    return m, m.report(794, 1.2)  # 6 mm back from its farthest point


def _runs_away() -> tuple[LandingMachine[str], Decision[str]]:
    m = landing()
    return m, m.report(1031, 2.2)  # 31 mm past the target after the stop


def _times_out() -> tuple[LandingMachine[str], Decision[str]]:
    m = machine()
    m.start(1000, 0.0)
    for second in range(1, 60):
        m.report(700 + second * 5 if second < 59 else 990, float(second))
    return m, m.tick(60.0)


def _stopped() -> tuple[LandingMachine[str], Decision[str]]:
    m = moving_up()
    return m, m.stop(1.5)


def _link_lost() -> tuple[LandingMachine[str], Decision[str]]:
    m = moving_up()
    return m, m.link_lost("desk 'office' went offline during the move", 1.5)


@pytest.mark.parametrize(
    ("scenario", "outcome", "error", "commands", "message"),
    [
        (
            _never_starts,
            Outcome.OBSTRUCTION,
            Obstruction,
            ("stop",),
            "desk 'office' did not start moving towards 100.0 cm within 2 s: something may be "
            "in the way, or it does not listen on its step buttons",
        ),
        (
            _stops_short,
            Outcome.OBSTRUCTION,
            Obstruction,
            ("stop",),
            "desk 'office' stopped at 80.0 cm, short of 100.0 cm: something may be in the way, "
            "or it stopped reporting its height",
        ),
        (
            _turns_back,
            Outcome.MANUAL_PRESS,
            ManualOverride,
            ("stop",),
            "desk 'office' moved away from 100.0 cm (to 79.4 cm): someone is using its buttons",
        ),
        (
            _runs_away,
            Outcome.MANUAL_PRESS,
            ManualOverride,
            ("stop",),
            "desk 'office' kept moving past 100.0 cm (to 103.1 cm) after the stop: someone is "
            "holding its buttons",
        ),
        (
            _times_out,
            Outcome.TIMEOUT,
            MoveTimeout,
            ("stop",),
            "the move to 100.0 cm took longer than 60 s; desk 'office' was told to stop at 99.0 cm",
        ),
        (_stopped, Outcome.STOPPED, MoveError, ("stop",), "the move was stopped at 80.0 cm"),
        (
            _link_lost,
            Outcome.LINK_LOST,
            LinkError,
            (),
            "desk 'office' went offline during the move",
        ),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_move_that_does_not_land_ends_with_one_sentence_and_the_stop(
    scenario: Callable[[], tuple[LandingMachine[str], Decision[str]]],
    outcome: Outcome,
    error: type[Exception],
    commands: tuple[str, ...],
    message: str,
) -> None:
    m, decision = scenario()
    assert decision.outcome is outcome
    assert decision.commands == commands
    assert decision.message == message
    assert type(decision.error()) is error
    assert (m.phase, m.target_mm) == (Phase.IDLE, None)
    assert m.start(1200, 100.0).commands == ("up",)  # a new move can start


def test_a_stop_and_a_run_away_in_one_report_send_the_stop_twice() -> None:
    m = moving_up()
    decision = m.report(1040, 1.2)  # from below the aim to far past the target at once
    assert decision.commands == ("stop", "stop")
    assert decision.outcome is Outcome.MANUAL_PRESS


def test_silence_counts_from_when_a_command_went_out_not_from_when_it_was_decided() -> None:
    m = machine()
    m.start(1000, 0.0)
    assert m.sent(1.5).deadline_s == pytest.approx(1.5 + STALL)  # a busy broker took 1.5 s
    assert m.tick(STALL).outcome is None
    assert m.tick(1.5 + STALL).outcome is Outcome.OBSTRUCTION
    m.report(700, 10.0)
    assert m.sent(11.0).deadline_s is None  # no move: nothing to count


def test_stopping_short_within_short_ok_is_a_landing_that_is_corrected() -> None:
    m = machine()
    m.start(1000, 0.0)
    m.report(980, 1.0)  # 15 mm short of the aim, then silence
    decision = m.tick(1.0 + STALL)
    assert decision.outcome is None
    assert decision.commands == ("up",)


def test_a_stop_with_no_move_only_stops() -> None:
    m = machine()
    decision = m.stop(1.0)
    assert (decision.commands, decision.outcome) == (("stop",), None)
    assert m.phase is Phase.IDLE


def test_a_lost_broker_counts_the_desk_at_rest_and_leaves_no_deadline() -> None:
    m = moving_up()
    decision = m.link_lost("lost the connection", 1.5, silent=True)
    assert decision.outcome is Outcome.LINK_LOST
    assert (decision.deadline_s, m.moving) == (None, False)


# -- moves nobody commanded ------------------------------------------------------------------------
def test_a_height_change_nobody_asked_for_is_a_manual_move_until_it_rests() -> None:
    m = machine()
    started = m.report(710, 1.0)
    assert started.manual == ManualEvent(710, ended=False)
    assert (m.phase, m.moving) == (Phase.MANUAL, True)
    assert m.report(720, 1.2).manual is None  # one start per manual move
    assert m.tick(1.5).manual is None  # before its deadline: nothing
    ended = m.tick(1.2 + SETTLE)
    assert ended.manual == ManualEvent(720, ended=True)
    assert (ended.rested, m.moving) == (True, False)
    assert (m.phase, ended.deadline_s) == (Phase.IDLE, None)


def test_the_run_on_after_a_move_is_not_a_manual_move() -> None:
    m = landing()
    m.report(999, 2.1)
    assert m.tick(2.1 + SETTLE).outcome is Outcome.ARRIVED
    late = m.report(1000, 2.1 + SETTLE + 0.1)  # within settle_s of the end
    assert late.manual is None
    assert m.phase is Phase.IDLE
    later = m.report(1010, 2.1 + 3 * SETTLE)
    assert later.manual == ManualEvent(1010, ended=False)


def test_a_command_overtakes_a_manual_move() -> None:
    m = manual()
    assert m.start(1000, 1.1).commands == ("up",)
    assert m.phase is Phase.APPROACHING


# -- illegal events change nothing ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "event", "says"),
    [
        (moving_up, lambda m: m.start(900, 1.5), "already moving to 100.0 cm"),
        (landing, lambda m: m.start(900, 2.1), "already moving to 100.0 cm"),
        (lambda: machine(None), lambda m: m.start(900, 0.0), "height is not known yet"),
        (machine, lambda m: m.tick(5.0), "no deadline is pending while the desk is idle"),
        (lambda: machine(None), lambda m: m.tick(5.0), "no deadline is pending"),
    ],
)
def test_an_illegal_event_raises_and_changes_nothing(
    build: Build, event: Callable[[LandingMachine[str]], object], says: str
) -> None:
    m = build()
    before = snapshot(m)
    with pytest.raises(IllegalTransition, match=says):
        event(m)
    assert snapshot(m) == before


def test_a_tick_before_its_deadline_does_nothing() -> None:
    m = moving_up()
    before = snapshot(m)
    decision = m.tick(1.1)
    assert (decision.commands, decision.outcome, decision.manual) == ((), None, None)
    assert snapshot(m) == before


@pytest.mark.parametrize(
    "changes",
    [{"settle_s": 0.0}, {"stall_s": -1.0}, {"move_timeout_s": 0.0}, {"min_mm": 900, "max_mm": 800}],
)
def test_nonsense_landing_settings_are_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        LandingConfig(**changes)  # type: ignore[arg-type]


# -- the ESPHome commander -------------------------------------------------------------------------
UPSY = DeskTopics(
    state_topic="d/sensor/desk_height/state",
    command_topic="d/number/target_desk_height/command",
    availability_topic="d/status",
    stop_topic=None,
    stop_payload="",
    unit="in",
    decimals=1,
)
COVER = DeskTopics(
    state_topic="d/cover/desk/position/state",
    command_topic="d/cover/desk/position/command",
    availability_topic="d/status",
    stop_topic="d/cover/desk/command",
    stop_payload="STOP",
    unit=None,
    decimals=0,
    cover_range_mm=(620, 1270),
)


def test_an_esphome_move_publishes_a_target_short_of_the_aim_and_stops_by_writing_back() -> None:
    m = LandingMachine("office", MoveToCommander(UPSY, 620, 1270), CFG, lead_mm=5.0)
    m.report(711, 0.0)  # 28.0 in
    started = m.start(1016, 0.0)  # 40.0 in; aim 1011 mm is 39.8 in
    assert started.commands == (Publish("d/number/target_desk_height/command", "39.8", "a move"),)
    assert m.aim_mm == 1011
    at_aim = m.report(1011, 1.0)
    assert at_aim.commands == (Publish("d/number/target_desk_height/command", "39.8", "a stop"),)


def test_an_aim_just_outside_the_limits_takes_the_next_step_inwards() -> None:
    commander = MoveToCommander(UPSY, 620, 1270)
    publish, aim_mm = commander.aim(1270.0, 1)  # 50.0 in is 1270 mm; 50.1 would be 1273
    assert (publish.payload, aim_mm) == ("50.0", 1270)
    publish, aim_mm = MoveToCommander(UPSY, 620, 1269).aim(1269.0, 1)
    assert (publish.payload, aim_mm) == ("49.9", 1267)


def test_a_cover_stops_with_its_stop_payload_and_a_number_needs_a_height() -> None:
    assert MoveToCommander(COVER, 620, 1270).stop(None) == Publish(
        "d/cover/desk/command", "STOP", "a stop"
    )
    assert MoveToCommander(UPSY, 620, 1270).stop(None) is None


# -- a desk that reports its rest late, or lets go early (issue 13) -----------------------------
def _landed_short_of_its_rest() -> LandingMachine[str]:
    """Landed at 999 (its last report, at t=1.1); it rests at 1001 and says so later."""
    m = machine()
    m.start(1000, 0.0)
    m.report(995, 1.0)
    m.report(999, 1.1)
    assert m.tick(1.1 + SETTLE).outcome is Outcome.ARRIVED
    assert m.lead_mm == pytest.approx(4.5)  # the mean of 5 and the 4 it saw
    return m


def test_a_late_report_of_the_rest_is_no_manual_move_and_teaches_the_wait_and_the_lead() -> None:
    m = _landed_short_of_its_rest()
    late = m.report(1001, 2.5)  # 1.4 s after the last change: the final frame, published late
    assert late.manual is None
    assert m.phase is Phase.IDLE
    assert m.height_mm == 1001
    # the gap, one usual interval between its reports (0.1 s), and the margin
    assert m.settle_s == pytest.approx(1.4 + 0.1 + CFG.settle_margin_s)
    assert m.lead_mm == pytest.approx(5.5)  # the run-on was 6, not 4: the mean of 5 and 6
    m.report(1001, 10.0)
    started = m.start(800, 10.0)
    assert started.commands == ("down",)
    m.report(805, 11.0)
    assert m.deadline_s == pytest.approx(11.0 + m.settle_s), "landings now wait for the rest"


def test_a_change_after_the_late_window_or_farther_than_a_run_on_is_a_manual_move() -> None:
    m = _landed_short_of_its_rest()
    assert m.report(1001, 1.1 + SETTLE + CFG.late_window_s + 0.1).manual == ManualEvent(
        1001, ended=False
    )
    m = _landed_short_of_its_rest()
    assert m.report(1020, 2.5).manual == ManualEvent(1020, ended=False)
    assert m.settle_s == SETTLE


def test_a_desk_that_lets_go_early_teaches_a_negative_lead_and_is_aimed_past_the_target() -> None:
    m = machine()
    m.start(1000, 0.0)  # aim 995; the firmware lets go 14 short of it and coasts 4
    m.report(900, 1.0)
    m.report(985, 2.0)
    corrected = m.tick(2.0 + STALL)  # short of the aim, not of the target by much: landed
    assert corrected.outcome is None
    assert m.lead_mm == pytest.approx(-2.5)  # the mean of 5 and -10
    assert corrected.commands == ("up",)
    assert m.aim_mm == 1002, "aimed past the target by the negative lead"


def test_a_correction_the_desk_does_not_move_for_is_never_an_obstruction() -> None:
    m = machine()
    m.start(1000, 0.0)
    m.report(900, 1.0)
    m.report(992, 2.0)
    assert m.tick(2.0 + STALL).commands == ("up",)  # a correction from 992
    ended = m.tick(2.0 + 2 * STALL)  # no report: the desk did not move for so small a step
    assert ended.outcome is Outcome.ARRIVED
    assert ended.error() is None
    assert ended.message == (
        "landed at 992 mm, -8 mm from the target 1000 mm: desk 'office' did not move for a "
        "correction that small"
    )
    assert ended.commands == ()


def test_on_a_desk_that_lets_go_early_a_small_correction_backs_off_first() -> None:
    m = machine(lead_mm=-6.0)  # learned: it rests 6 mm short of its aim
    m.start(1000, 0.0)
    assert m.aim_mm == 1006
    m.report(900, 1.0)
    m.report(997, 2.0)  # 3 short: inside its early release, it would not move for that
    backed = m.tick(2.0 + SETTLE)  # a desk known to let go early: settled when near the aim
    assert backed.commands == ("down",)
    assert m.aim_mm == 997 - CFG.learn_min_mm
    m.report(980, 3.0)
    m.report(961, 3.5)  # backed off, at rest: a silence
    again = m.tick(3.5 + STALL)
    assert (again.outcome, again.commands) == (None, ("up",))
    assert m.lead_mm == pytest.approx(-7.5)  # the mean of -6 and the -9 of the first leg
    assert m.aim_mm == 1008, "the approach again, past the target by the lead"
    m.report(990, 4.5)
    m.report(1000, 5.0)
    assert m.tick(5.0 + SETTLE).outcome is Outcome.ARRIVED


def test_on_a_desk_that_lets_go_early_a_correction_it_did_not_move_for_backs_off() -> None:
    m = machine(970, lead_mm=-2.0)
    m.start(1000, 0.0)  # 30 mm: too short to teach the lead
    m.report(980, 1.0)
    m.report(985, 2.0)
    assert m.tick(2.0 + SETTLE).commands == ("up",)  # 15 short: a plain correction
    backed = m.tick(2.0 + SETTLE + STALL)  # no report: it did not move for that
    assert (backed.outcome, backed.commands) == (None, ("down",))
    assert m.aim_mm == 985 - CFG.learn_min_mm
    ended = m.tick(2.0 + SETTLE + 2 * STALL)  # nor for the back-off: it arrives where it is
    assert (ended.outcome, ended.height_mm) == (Outcome.ARRIVED, 985)
    assert "did not move for a correction that small" in ended.message


def test_a_second_small_correction_backs_off_instead_of_overshooting_again() -> None:
    m = machine()
    m.start(1000, 0.0)
    m.report(995, 1.0)
    m.report(1003, 1.1)  # ran on 8 past the aim
    assert m.tick(1.1 + SETTLE).commands == ("down",)  # the first correction: straight back
    m.report(1002, 2.0)
    m.report(997, 2.1)  # overshot the other way: 3 short
    backed = m.tick(2.1 + SETTLE)
    assert backed.commands == ("down",), "away from the target, to come again as a whole move"
    assert m.aim_mm == 997 - CFG.learn_min_mm
