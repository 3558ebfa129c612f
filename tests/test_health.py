"""The health rule on a profile's planned day: seated more than 30 minutes at a stretch, or
standing more than 4 hours a day, is warned about; the shipped profiles are within both. More
than about 2 hours of standing a day gets a note citing the evidence."""

from __future__ import annotations

from typing import Any

import pytest

from deskctl.config.profile_library import find_profiles, load_profile
from deskctl.core.health import profile_warnings, standing_note
from deskctl.core.profile import Profile, parse_profile


def profile(**fields: Any) -> Profile:
    data = {"sit": "72cm", "stand": "110cm", **fields}
    return parse_profile(data, name="mine", source="profiles/mine.toml")


def cycle(*steps: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"posture": posture, "minutes": minutes} for posture, minutes in steps]


@pytest.mark.parametrize("name", sorted(find_profiles()))
def test_the_shipped_profiles_are_within_the_limits(name: str) -> None:
    assert profile_warnings(load_profile(name)) == []


def test_thirty_minutes_seated_is_within_the_limit() -> None:
    assert profile_warnings(profile(cycle=cycle(("sit", 30), ("stand", 15)))) == []


def test_thirty_one_minutes_seated_is_past_it() -> None:
    (warning,) = profile_warnings(profile(cycle=cycle(("sit", 31), ("stand", 15))))
    assert "31 min at a stretch" in warning
    assert "30 minutes" in warning


def test_sitting_blocks_that_follow_each_other_are_one_bout() -> None:
    (warning,) = profile_warnings(profile(cycle=cycle(("sit", 20), ("sit", 20), ("away", 5))))
    assert "40 min at a stretch" in warning


def test_a_walk_away_ends_a_bout() -> None:
    assert profile_warnings(profile(cycle=cycle(("sit", 25), ("away", 2), ("stand", 10)))) == []
    assert profile_warnings(profile(cycle=cycle(("sit", 25), ("away", 2)))) == []


def test_two_working_ranges_that_touch_make_one_bout() -> None:
    """09:00-09:20 and 09:20-12:00 each start their cycle seated: the person never got up."""
    warnings = profile_warnings(
        profile(hours=["09:00-09:20", "09:20-12:00"], cycle=cycle(("sit", 20), ("stand", 10)))
    )
    assert len(warnings) == 1
    assert "40 min at a stretch" in warnings[0]


def test_a_longer_day_on_one_weekday_is_found() -> None:
    """Monday to Thursday's range cuts the sit at 30 minutes; Friday's own hours hold 45."""
    short = profile(cycle=cycle(("sit", 45), ("stand", 15)), hours=["09:00-09:30"])
    assert profile_warnings(short) == []
    (warning,) = profile_warnings(
        profile(
            cycle=cycle(("sit", 45), ("stand", 15)),
            hours=["09:00-09:30"],
            hours_on={"fri": ["09:00-10:00"]},
        )
    )
    assert "45 min at a stretch" in warning


def test_standing_more_than_four_hours_a_day_is_past_the_limit() -> None:
    (warning,) = profile_warnings(profile(cycle=cycle(("stand", 25), ("sit", 5))))
    assert "standing" in warning
    assert "4 hours" in warning


def test_four_hours_of_standing_is_within_the_limit() -> None:
    assert profile_warnings(profile(hours=["09:00-13:00"], cycle=cycle(("stand", 240)))) == []


def test_a_profile_with_no_working_days_asks_nothing() -> None:
    assert profile_warnings(profile(weekdays=[])) == []


# --- the note: more than about 2 hours of standing a day ------------------------------------


def test_the_default_plans_about_two_hours_of_standing_and_gets_no_note() -> None:
    assert standing_note(load_profile("default")) is None


@pytest.mark.parametrize(
    ("name", "standing"), [("sit-stand-30-15", "2 h 15 min"), ("standing-4h", "3 h 45 min")]
)
def test_shipped_profiles_over_two_hours_of_standing_say_so_citing_the_evidence(
    name: str, standing: str
) -> None:
    note = standing_note(load_profile(name))
    assert note is not None
    assert f"plans up to {standing} of standing" in note
    assert "Ahmadi et al., Int J Epidemiol 2024" in note


def test_two_hours_of_standing_is_about_two_hours_and_a_quarter_more_is_not() -> None:
    assert standing_note(profile(hours=["09:00-11:00"], cycle=cycle(("stand", 120)))) is None
    assert standing_note(profile(hours=["09:00-11:15"], cycle=cycle(("stand", 135)))) is not None


def test_over_four_hours_the_warning_speaks_and_the_note_keeps_quiet() -> None:
    heavy = profile(cycle=cycle(("stand", 25), ("sit", 5)))
    assert len(profile_warnings(heavy)) == 1
    assert standing_note(heavy) is None
