"""Today's step count from outside, against a daily goal: the pure parts (deskctl/core/steps.py)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from deskctl.core.steps import DEFAULT_GOAL, StepsToday, parse_steps, progress, steps_to_go

MONDAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("payload", "count"),
    [
        ("5200", 5200),
        (" 5200 \n", 5200),
        ("0", 0),
        ("5200.0", 5200),
        ("007", 7),
        ("200000", 200000),
    ],
)
def test_a_whole_number_is_todays_count(payload: str, count: int) -> None:
    assert parse_steps(payload) == count


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ("-5", "is not a step count"),
        ("5200.5", "is not a step count"),
        ("five thousand", "is not a step count"),
        ("", "is not a step count"),
        ("nan", "is not a step count"),
        ("1e4", "is not a step count"),
        ("5,200", "is ambiguous"),
        ("5.200", "is ambiguous"),
        ("12 000", "is ambiguous"),
        ("200001", "more steps than a day holds (at most 200,000)"),
        ("9" * 5000, "more steps than a day holds"),
    ],
)
def test_anything_else_is_one_sentence(payload: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)) as caught:
        parse_steps(payload)
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 120


def test_the_count_is_for_its_own_day_and_none_on_the_next() -> None:
    steps = StepsToday(5200, MONDAY)
    assert steps.on(MONDAY) == 5200
    assert steps.on(date(2026, 12, 1)) is None


def test_the_goal_is_the_low_end_of_the_articles_8000_to_12000() -> None:
    assert DEFAULT_GOAL == 8000


@pytest.mark.parametrize(
    ("count", "left", "said"),
    [
        (5200, 2800, "5,200 of 8,000 steps today, 2,800 to go"),
        (8000, 0, "8,000 of 8,000 steps today: the goal is reached"),
        (9100, 0, "9,100 of 8,000 steps today: the goal is reached"),
        (None, None, "no step count today yet (goal 8,000)"),
    ],
)
def test_progress_says_how_far_the_day_is_from_the_goal(
    count: int | None, left: int | None, said: str
) -> None:
    if count is not None:
        assert steps_to_go(count, 8000) == left
    assert progress(count, 8000) == said
