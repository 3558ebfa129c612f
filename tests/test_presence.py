"""The presence model: what the service believes from the sources' reports, as tables.

Each case is a list of steps `(t_s, what)` on one clock (the monotonic reading is 1000 + t_s,
the wall clock 09:00 UTC + t_s unless a step says the machine slept) and the belief expected
after the last step: state, since (seconds after 09:00), source and reason.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deskctl.core.presence import (
    Belief,
    Event,
    Mode,
    PresenceModel,
    Signal,
    State,
    Stretch,
    Thresholds,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONO0 = 1000.0
MUTTER, LOGIND, SAVER = "mutter", "logind", "screensaver"

Step = tuple[float, Event | Mode]


def at(t_s: float) -> datetime:
    return T0 + timedelta(seconds=t_s)


def ev(source: str, signal: Signal, idle_s: float = 0.0) -> Event:
    return Event(source, signal, idle_s)


def play(steps: list[Step], model: PresenceModel | None = None) -> PresenceModel:
    model = model or PresenceModel(Thresholds(away_after_s=300, break_after_s=600))
    for t_s, what in steps:
        if isinstance(what, Mode):
            model.set_mode(what, mono_s=MONO0 + t_s, at=at(t_s))
        else:
            model.observe(what, mono_s=MONO0 + t_s, at=at(t_s))
    return model


CASES: dict[str, tuple[list[Step], State, float | None, str | None, str]] = {
    "nothing heard: unknown, the clock rules": (
        [],
        State.UNKNOWN, None, None,
        "no presence source is available, so the schedule runs on the clock",
    ),
    "an idle source that starts active": (
        [(0, ev(MUTTER, Signal.ACTIVE))],
        State.PRESENT, 0, MUTTER, "GNOME's idle monitor saw input",
    ),
    "idle past the threshold: away since the last input": (
        [(0, ev(MUTTER, Signal.ACTIVE)), (400, ev(MUTTER, Signal.IDLE, idle_s=300))],
        State.AWAY, 100, MUTTER, "GNOME's idle monitor saw no input for 5 min",
    ),
    "idle is never back-dated before the presence it ends began": (
        [(0, ev(MUTTER, Signal.ACTIVE)), (60, ev(MUTTER, Signal.IDLE, idle_s=3600))],
        State.AWAY, 0, MUTTER, "GNOME's idle monitor saw no input for 1 h",
    ),
    "the first report, idle: away since the last input": (
        [(0, ev(MUTTER, Signal.IDLE, 300))],
        State.AWAY, -300, MUTTER, "GNOME's idle monitor saw no input for 5 min",
    ),
    "active again ends it": (
        [(0, ev(MUTTER, Signal.IDLE, 300)), (900, ev(MUTTER, Signal.ACTIVE))],
        State.PRESENT, 900, MUTTER, "GNOME's idle monitor saw input",
    ),
    "a lock while idle keeps the stretch and names the stronger reason": (
        [(0, ev(MUTTER, Signal.ACTIVE)), (400, ev(MUTTER, Signal.IDLE, 300)),
         (500, ev(LOGIND, Signal.LOCKED))],
        State.AWAY, 100, LOGIND, "logind says the screen is locked",
    ),
    "locked while the keyboard is busy (a password typed) is still away": (
        [(0, ev(MUTTER, Signal.ACTIVE)), (10, ev(LOGIND, Signal.LOCKED)),
         (20, ev(MUTTER, Signal.ACTIVE))],
        State.AWAY, 10, LOGIND, "logind says the screen is locked",
    ),
    "unlocked: present, says logind": (
        [(0, ev(LOGIND, Signal.LOCKED)), (30, ev(LOGIND, Signal.UNLOCKED))],
        State.PRESENT, 30, LOGIND, "logind says the screen is unlocked",
    ),
    "asleep outranks locked and idle": (
        [(0, ev(MUTTER, Signal.IDLE, 300)), (5, ev(LOGIND, Signal.LOCKED)),
         (6, ev(LOGIND, Signal.SLEEPING))],
        State.AWAY, -300, LOGIND, "logind says the machine is asleep",
    ),
    "resumed but still locked is away, for the lock": (
        [(0, ev(LOGIND, Signal.UNLOCKED)), (5, ev(LOGIND, Signal.LOCKED)),
         (6, ev(LOGIND, Signal.SLEEPING)), (3600, ev(LOGIND, Signal.RESUMED))],
        State.AWAY, 5, LOGIND, "logind says the screen is locked",
    ),
    "resumed and unlocked": (
        [(0, ev(LOGIND, Signal.SLEEPING)), (3600, ev(LOGIND, Signal.RESUMED))],
        State.PRESENT, 3600, LOGIND, "logind says the machine resumed",
    ),
    "home automation says away over an active keyboard": (
        [(0, ev(MUTTER, Signal.ACTIVE)), (60, Mode.AWAY)],
        State.AWAY, 60, "home", "home automation says away",
    ),
    "home automation says present over a lock": (
        [(0, ev(LOGIND, Signal.LOCKED)), (60, Mode.PRESENT), (90, ev(LOGIND, Signal.LOCKED))],
        State.PRESENT, 60, "home", "home automation says present",
    ),
    "home automation decides even with no source": (
        [(60, Mode.PRESENT)],
        State.PRESENT, 60, "home", "home automation says present",
    ),
    "auto hands back to the sources, from that moment": (
        [(0, ev(MUTTER, Signal.IDLE, 300)), (60, Mode.PRESENT), (120, Mode.AUTO)],
        State.AWAY, 120, MUTTER, "GNOME's idle monitor saw no input for 5 min",
    ),
    "a source that vanishes is dropped: the other one decides": (
        [(0, ev(LOGIND, Signal.UNLOCKED)), (10, ev(MUTTER, Signal.IDLE, 300)),
         (20, ev(MUTTER, Signal.GONE))],
        State.PRESENT, 20, LOGIND, "logind says the screen is unlocked",
    ),
    "the last source gone: unknown again": (
        [(0, ev(MUTTER, Signal.IDLE, 300)), (20, ev(MUTTER, Signal.GONE))],
        State.UNKNOWN, 20, None,
        "no presence source is available, so the schedule runs on the clock",
    ),
    "the reason comes from the source that spoke last": (
        [(0, ev(LOGIND, Signal.UNLOCKED)), (10, ev(SAVER, Signal.ACTIVE))],
        State.PRESENT, 0, SAVER, "the ScreenSaver service saw input",
    ),
    "a repeated idle report keeps the first start": (
        [(0, ev(MUTTER, Signal.ACTIVE)), (400, ev(MUTTER, Signal.IDLE, 300)),
         (401, ev(MUTTER, Signal.IDLE, 1))],
        State.AWAY, 100, MUTTER, "GNOME's idle monitor saw no input for 5 min",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("steps", "state", "since_s", "source", "reason"), CASES.values(),
                         ids=list(CASES))  # fmt: skip
def test_the_belief_after_the_reports(
    steps: list[Step], state: State, since_s: float | None, source: str | None, reason: str
) -> None:
    belief = play(steps).belief
    assert (belief.state, belief.source, belief.reason) == (state, source, reason)
    assert belief.since == (None if since_s is None else at(since_s))
    assert belief.vetoes_moves is (state is State.AWAY)


def test_the_mode_is_part_of_every_belief() -> None:
    model = play([(0, ev(MUTTER, Signal.ACTIVE)), (5, Mode.AWAY)])
    assert model.belief.mode is Mode.AWAY
    assert play([(0, Mode.AWAY), (5, Mode.AUTO)], model).belief.mode is Mode.AUTO


# --- away stretches and breaks ------------------------------------------------------------------


def test_the_stretch_in_progress_counts_from_the_last_input() -> None:
    model = play([(0, ev(MUTTER, Signal.ACTIVE)), (400, ev(MUTTER, Signal.IDLE, 300))])
    assert model.away_stretch_s(MONO0 + 400) == 300
    assert not model.counts_as_break(model.away_stretch_s(MONO0 + 699))
    assert model.counts_as_break(model.away_stretch_s(MONO0 + 700))


def test_a_finished_stretch_is_kept_with_its_length_and_reason() -> None:
    model = play(
        [
            (0, ev(MUTTER, Signal.ACTIVE)),
            (400, ev(MUTTER, Signal.IDLE, 300)),
            (1000, ev(MUTTER, Signal.ACTIVE)),
        ]
    )
    assert model.away_stretch_s(MONO0 + 1000) == 0
    assert model.last_stretch == Stretch(
        at(100), at(1000), 900, "GNOME's idle monitor saw no input for 5 min"
    )
    assert model.counts_as_break(model.last_stretch.away_s)


def test_how_long_the_person_has_been_back() -> None:
    model = play([(0, ev(LOGIND, Signal.LOCKED)), (600, ev(LOGIND, Signal.UNLOCKED))])
    assert model.present_for_s(MONO0 + 645) == 45  # the scheduler's "first minute back"
    assert model.away_stretch_s(MONO0 + 645) == 0
    play([(700, ev(LOGIND, Signal.LOCKED))], model)
    assert model.present_for_s(MONO0 + 710) == 0
    assert model.away_stretch_s(MONO0 + 710) == 10


def test_a_short_away_is_no_break() -> None:
    model = play([(0, ev(LOGIND, Signal.LOCKED)), (120, ev(LOGIND, Signal.UNLOCKED))])
    assert model.last_stretch is not None
    assert model.last_stretch.away_s == 120
    assert not model.counts_as_break(model.last_stretch.away_s)


def test_time_asleep_counts_though_the_monotonic_clock_stood_still() -> None:
    model = PresenceModel(Thresholds(300, 600))
    model.observe(ev(LOGIND, Signal.UNLOCKED), mono_s=MONO0, at=at(0))
    model.observe(ev(LOGIND, Signal.SLEEPING), mono_s=MONO0 + 10, at=at(10))
    # an hour asleep: the wall clock moved on, the monotonic clock did not
    model.observe(ev(LOGIND, Signal.RESUMED), mono_s=MONO0 + 11, at=at(3611))
    assert model.belief.state is State.PRESENT
    assert model.last_stretch is not None
    assert model.last_stretch.away_s == 3601
    model.observe(ev(LOGIND, Signal.LOCKED), mono_s=MONO0 + 20, at=at(3620))
    assert model.away_stretch_s(MONO0 + 80) == 60  # later stretches are measured as before


def test_a_wall_clock_jump_is_no_break() -> None:
    model = play([(0, ev(LOGIND, Signal.LOCKED))])
    model.observe(ev(LOGIND, Signal.UNLOCKED), mono_s=MONO0 + 30, at=at(7200))
    assert model.last_stretch is not None
    assert model.last_stretch.away_s == 30


def test_home_automation_away_is_a_stretch_too() -> None:
    model = play([(0, ev(MUTTER, Signal.ACTIVE)), (60, Mode.AWAY), (1260, Mode.AUTO)])
    assert model.belief == Belief(
        State.PRESENT, at(1260), MUTTER, "GNOME's idle monitor saw input", Mode.AUTO
    )
    assert model.last_stretch == Stretch(at(60), at(1260), 1200, "home automation says away")


# --- thresholds and bad input -------------------------------------------------------------------


def test_thresholds_default_to_five_and_ten_minutes() -> None:
    assert Thresholds() == Thresholds(away_after_s=300, break_after_s=600)


@pytest.mark.parametrize(("away_s", "break_s"), [(0, 600), (-5, 600), (700, 600)])
def test_thresholds_out_of_order_are_refused_in_one_sentence(away_s: float, break_s: float) -> None:
    with pytest.raises(ValueError, match=r"must be above 0 and at most break_after_s"):
        Thresholds(away_after_s=away_s, break_after_s=break_s)


def test_an_event_needs_a_source_and_a_sane_idle_time() -> None:
    with pytest.raises(ValueError, match="needs the name"):
        Event("", Signal.IDLE)
    with pytest.raises(ValueError, match="zero or more"):
        Event(MUTTER, Signal.IDLE, idle_s=float("nan"))
