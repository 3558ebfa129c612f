"""Heights and durations as people type them (`deskctl move 72cm`, `deskctl pause 45m`, MQTT).

Tables for what is accepted and what it means, tables for what is refused and how the refusal
reads (one sentence naming the accepted forms), and hypothesis for round trips and for arbitrary
text never escaping as anything but HeightError/DurationError.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskctl.core.units import (
    check_limits,
    format_duration,
    format_height,
    parse_duration_s,
    parse_height_mm,
)
from deskctl.errors import DurationError, HeightError, InputError

# --- parse_height_mm -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "height_mm"),
    [
        ("72cm", 720),
        ("720mm", 720),
        ("28.3in", 719),  # 718.82 mm
        ("72", 720),  # a bare number is cm
        ("72.5 cm", 725),
        ("110CM", 1100),
        ("1100 mm", 1100),
        ("1100MM", 1100),
        ('43.3"', 1100),  # 1099.82 mm
        ('43.3 "', 1100),
        ("28.3 IN", 719),
        ("28.3 inch", 719),
        ("28.3 inches", 719),
        ("  72 cm  ", 720),
        ("\t72cm\n", 720),
        ("72.", 720),
        (".5cm", 5),
        ("72.54cm", 725),  # to the nearest whole mm
        ("72.55cm", 726),  # half a mm rounds up
        ("0.5mm", 1),
        ("0.4mm", 0),
        ("072cm", 720),
    ],
)
def test_heights_people_type(text: str, height_mm: int) -> None:
    assert parse_height_mm(text) == height_mm


@pytest.mark.parametrize(
    ("text", "unit", "height_mm"),
    [("720", "mm", 720), ("28.3", "in", 719), ("72", "cm", 720), ("72cm", "mm", 720)],
)
def test_a_bare_number_takes_the_default_unit(text: str, unit: str, height_mm: int) -> None:
    assert parse_height_mm(text, default_unit=unit) == height_mm


def _assert_one_sentence_naming_the_forms(message: str) -> None:
    assert "\n" not in message
    assert "\r" not in message
    for form in ("72cm", "720mm", "28.3in"):
        assert form in message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "cm",
        "72kg",
        "72 ft",
        "-5cm",
        "+72cm",
        "1e3",
        "72cm cm",
        "72 c m",
        "72..5cm",
        "72.5.3",
        "72,5,3cm",
        "72cm!",
        "nan",
        "inf",
        "७२cm",  # digits from another script
        "72\ncm\nfoo",
        "x" * 200,
        "7" * 200,
        "9" * 40,  # more digits than any height has
        "9" * 30 + "in",
    ],
)
def test_bad_heights_raise_one_sentence_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(HeightError) as caught:
        parse_height_mm(text)
    _assert_one_sentence_naming_the_forms(str(caught.value))


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        ("1,100mm", ("1100mm", "1.1mm")),  # a thousands separator, or 1.1 mm?
        ("72,5cm", ("725cm", "72.5cm")),  # a decimal comma, or 725 cm?
        ("28,3in", ("283in", "28.3in")),
        ("72,5", ("725", "72.5")),
    ],
)
def test_a_comma_is_refused_as_ambiguous_with_both_readings(
    text: str, readings: tuple[str, str]
) -> None:
    with pytest.raises(HeightError) as caught:
        parse_height_mm(text)
    message = str(caught.value)
    assert "ambiguous" in message
    assert "\n" not in message
    for reading in readings:
        assert f" {reading} " in f" {message} ".replace(",", " ")


@pytest.mark.parametrize("text", ["-5", "-5cm", "-72cm", " - 72 cm", "\u22125cm"])
def test_a_negative_height_is_refused_as_negative(text: str) -> None:
    with pytest.raises(HeightError, match="a height cannot be negative"):
        parse_height_mm(text)


def test_a_height_error_is_bad_input_exit_2() -> None:
    with pytest.raises(InputError) as caught:
        parse_height_mm("72kg")
    assert caught.value.exit_code == 2


def test_an_unknown_default_unit_is_refused() -> None:
    with pytest.raises(HeightError):
        parse_height_mm("72", default_unit="ft")


# --- check_limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("height_mm", [620, 621, 900, 1269, 1270])
def test_heights_within_the_limits_pass_through(height_mm: int) -> None:
    assert check_limits(height_mm, min_mm=620, max_mm=1270) == height_mm


@pytest.mark.parametrize(
    ("height_mm", "words", "limit"),
    [
        (619, "below", "620 mm"),
        (0, "below", "620 mm"),
        (-50, "below", "620 mm"),
        (1271, "above", "1270 mm"),
        (5000, "above", "1270 mm"),
    ],
)
def test_heights_outside_the_limits_name_the_limit_in_mm(
    height_mm: int, words: str, limit: str
) -> None:
    with pytest.raises(HeightError) as caught:
        check_limits(height_mm, min_mm=620, max_mm=1270)
    message = str(caught.value)
    assert words in message
    assert limit in message
    assert "\n" not in message


# --- format_height ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height_mm", "unit", "text"),
    [
        (720, "cm", "72.0 cm"),
        (725, "cm", "72.5 cm"),
        (1100, "cm", "110.0 cm"),
        (720, "mm", "720 mm"),
        (720, "in", "28.3 in"),
        (1100, "in", "43.3 in"),
        (None, "cm", "unknown"),
        (None, "in", "unknown"),
    ],
)
def test_format_height(height_mm: int | None, unit: str, text: str) -> None:
    assert format_height(height_mm, unit) == text


def test_format_height_defaults_to_cm() -> None:
    assert format_height(720) == "72.0 cm"


@given(st.integers(min_value=0, max_value=100_000))
def test_heights_in_cm_and_mm_round_trip_exactly(height_mm: int) -> None:
    assert parse_height_mm(format_height(height_mm)) == height_mm
    assert parse_height_mm(format_height(height_mm, "cm")) == height_mm
    assert parse_height_mm(format_height(height_mm, "mm")) == height_mm


@given(st.integers(min_value=0, max_value=100_000))
def test_heights_in_inches_round_trip_within_a_mm(height_mm: int) -> None:
    # a tenth of an inch is 2.54 mm: the shown value can be up to 1.27 mm off
    assert abs(parse_height_mm(format_height(height_mm, "in")) - height_mm) <= 1


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45m", 2700),
        ("2h", 7200),
        ("1h30m", 5400),
        ("90s", 90),
        ("45", 2700),  # a bare number is minutes
        ("1h 30m", 5400),
        ("1h\t30m", 5400),
        ("2h15m30s", 8130),
        ("45 m", 2700),
        ("45min", 2700),
        ("90sec", 90),
        ("1H30M", 5400),
        ("1.5h", 5400),
        ("0.5m", 30),
        ("  45m  ", 2700),
        ("1", 60),
    ],
)
def test_durations_people_type(text: str, seconds: int) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0",
        "0m",
        "0h0m0s",
        "-1m",
        "abc",
        "m",
        "1e3",
        "1h30",  # a bare number only on its own
        "30 1h",
        "45mın",  # dotless i is not an i
        "90ſ",  # long s is not an s
        "45 minutes please",
        "1,5h",
        "x" * 200,
        "1" * 200,
    ],
)
def test_bad_durations_raise_one_sentence(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration_s(text)
    message = str(caught.value)
    assert "\n" not in message
    assert "duration" in message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5400, "1 h 30 min"),
        (2700, "45 min"),
        (30, "30 s"),
        (0, "0 s"),
        (3600, "1 h"),
        (3601, "1 h 0 min 1 s"),
        (90, "1 min 30 s"),
        (86400, "24 h"),
        (29.6, "30 s"),
        (-90, "-1 min 30 s"),
        (-5400, "-1 h 30 min"),
        (7237, "2 h 0 min 37 s"),  # never "2h37s", which reads as two hours thirty-seven
        (60, "1 min"),
        (7200.4, "2 h"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=1, max_value=10**7))
def test_durations_round_trip(seconds: int) -> None:
    assert parse_duration_s(format_duration(seconds)) == seconds


# --- arbitrary text --------------------------------------------------------------------------

NEAR_MISSES = st.text(alphabet="0123456789.,-+e cmMinhs\"'\tſıİK\u00a0", max_size=20)
ANY_TEXT = st.one_of(st.text(max_size=80), NEAR_MISSES)


@given(ANY_TEXT)
def test_arbitrary_text_is_a_height_or_a_height_error(text: str) -> None:
    message = ""
    try:
        height_mm = parse_height_mm(text)
    except HeightError as error:
        message = str(error)
    else:
        assert isinstance(height_mm, int)
        assert height_mm >= 0
    assert "\n" not in message


@given(ANY_TEXT)
def test_arbitrary_text_is_a_duration_or_a_duration_error(text: str) -> None:
    message = ""
    try:
        seconds = parse_duration_s(text)
    except DurationError as error:
        message = str(error)
    else:
        assert math.isfinite(seconds)
        assert seconds > 0
    assert "\n" not in message
