"""Heights and durations as people type them, built from the grammar and then broken.

tests/test_units.py already throws arbitrary text at both parsers; these build text from the
grammar (numbers of any size and form, units real and wrong, odd spaces), so most inputs reach
the arithmetic, and check what a person relies on: a height that parses is whole millimetres
and reads back the same, a duration is positive and finite, anything else is one sentence.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.core.units import (
    check_limits,
    format_duration,
    format_height,
    parse_duration_s,
    parse_height_mm,
)
from deskctl.errors import DurationError, HeightError
from tests.faults.tally import counter
from tests.fuzz.strategies import DURATIONS, HEIGHTS

TALLY = counter(__name__)
UNITS = st.sampled_from(["mm", "cm", "in"])


def _one_sentence(error: Exception) -> None:
    message = str(error)
    assert message
    assert "\n" not in message


@settings(max_examples=400, deadline=None)
@given(text=HEIGHTS, default_unit=UNITS)
def test_a_typed_height_is_whole_mm_that_reads_back_or_one_sentence(
    text: str, default_unit: str
) -> None:
    TALLY.tried()
    try:
        height_mm = parse_height_mm(text, default_unit)
    except HeightError as error:
        _one_sentence(error)
        return
    assert isinstance(height_mm, int)
    assert height_mm >= 0
    assert parse_height_mm(f"{height_mm}mm") == height_mm
    assert parse_height_mm(format_height(height_mm, "mm")) == height_mm


@settings(max_examples=200, deadline=None)
@given(
    height_mm=st.integers(min_value=-(10**12), max_value=10**12),
    low=st.integers(min_value=0, max_value=3000),
    span=st.integers(min_value=1, max_value=3000),
)
def test_limits_pass_a_height_inside_and_name_the_limit_outside(
    height_mm: int, low: int, span: int
) -> None:
    TALLY.tried()
    high = low + span
    if low <= height_mm <= high:
        assert check_limits(height_mm, low, high) == height_mm
        return
    limit = low if height_mm < low else high
    with pytest.raises(HeightError, match=rf"\({limit} mm\)") as caught:
        check_limits(height_mm, low, high)
    _one_sentence(caught.value)


@settings(max_examples=400, deadline=None)
@given(text=DURATIONS)
def test_a_typed_duration_is_positive_and_finite_or_one_sentence(text: str) -> None:
    TALLY.tried()
    try:
        seconds = parse_duration_s(text)
    except DurationError as error:
        _one_sentence(error)
        return
    assert math.isfinite(seconds)
    assert seconds > 0
    if 1 <= seconds < 10**12:
        # what deskctl prints for a duration reads back to the same whole seconds
        assert parse_duration_s(format_duration(seconds)) == round(seconds)
