"""Profiles from any mapping and any file: a valid `Profile`, or one `ConfigError` sentence.

The mappings are built from the keys a profile has (and a few it does not), each given values
of the right shape, of near-misses (`"25:00-26:00"`, `"fri "`, `0` minutes) or of any TOML type.
The files are those mappings written as TOML, or bytes nobody meant as TOML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deskctl.config.profile_library import read_profile_file
from deskctl.core.profile import Profile, parse_profile
from deskctl.errors import ConfigError
from tests.faults.tally import counter
from tests.fuzz.strategies import HEIGHTS, TOML_VALUES, toml_text

TALLY = counter(__name__)
SOURCE = "profiles/fuzz.toml"

_CLOCK = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 26), st.sampled_from([0, 15, 30, 59, 60, 99])
)
RANGES = st.one_of(
    st.builds(lambda a, b: f"{a}-{b}", _CLOCK, _CLOCK),
    st.sampled_from(["09:00-12:30", "13:30-24:00", "9:00 - 17:00", "24:00-24:00", "17:00-09:00"]),
    st.text(max_size=15),
)
ODD_KEYS = st.one_of(
    st.text(min_size=1, max_size=8), st.sampled_from(["a\nb", "\x1b[31mred", "x\ry", "\u2028"])
)
DAYS = st.one_of(
    st.sampled_from(["mon", "tue", "Wed", "friday", "sun ", "sat", "xyz", "", "monday"]), ODD_KEYS
)
POSTURES = st.sampled_from(["sit", "stand", "away", "lie", "", "SIT"])
STEP = st.one_of(
    st.fixed_dictionaries(
        {"posture": POSTURES, "minutes": st.one_of(st.integers(-5, 300), TOML_VALUES)}
    ),
    st.dictionaries(st.sampled_from(["posture", "minutes", "seconds"]), TOML_VALUES, max_size=3),
    TOML_VALUES,
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(st.just("fuzz"), st.text(max_size=10)),
    "description": st.one_of(st.text(max_size=40), TOML_VALUES),
    "sit": st.one_of(HEIGHTS, st.integers(-100, 300), TOML_VALUES),
    "stand": st.one_of(HEIGHTS, st.integers(-100, 300), TOML_VALUES),
    "cycle": st.one_of(st.lists(STEP, max_size=6), TOML_VALUES),
    "weekdays": st.one_of(st.lists(DAYS, max_size=8), TOML_VALUES),
    "hours": st.one_of(st.lists(RANGES, max_size=4), TOML_VALUES),
    "hours_on": st.one_of(
        st.dictionaries(DAYS, st.one_of(st.lists(RANGES, max_size=3), TOML_VALUES), max_size=3),
        TOML_VALUES,
    ),
    "warn_s": st.one_of(st.integers(-10, 4000), TOML_VALUES),
    "confirm": st.one_of(st.booleans(), TOML_VALUES),
    "prefer_areas": st.one_of(
        st.lists(st.sampled_from(["hips", "neck", "lower_back", "toes", ""]), max_size=4),
        TOML_VALUES,
    ),
    "prefer_kinds": st.one_of(
        st.lists(st.sampled_from(["walk", "stretch", "yoga"]), max_size=3), TOML_VALUES
    ),
    "colour": TOML_VALUES,  # a key no profile has
}
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "name": st.just("fuzz"),
    "description": st.text(max_size=40),
    "sit": st.sampled_from(["72cm", "720mm", "28.3in", 72, "65.5 cm"]),
    "stand": st.sampled_from(["110cm", "1100mm", "43in", 110, "125.5cm"]),
    "cycle": st.lists(
        st.fixed_dictionaries(
            {"posture": st.sampled_from(["sit", "stand", "away"]), "minutes": st.integers(1, 60)}
        ),
        min_size=1,
        max_size=5,
    ),
    "weekdays": st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri"]), max_size=5),
    "hours": st.sampled_from([["09:00-12:30", "13:30-17:30"], ["08:00-24:00"], []]),
    "hours_on": st.just({}),
    "warn_s": st.integers(0, 59),
    "confirm": st.booleans(),
    "prefer_areas": st.lists(st.sampled_from(["hips", "neck", "lower_back"]), max_size=2),
    "prefer_kinds": st.lists(st.sampled_from(["walk", "stretch"]), max_size=2),
}


@st.composite
def profile_mappings(draw: st.DrawFn) -> dict[str, Any]:
    """Most keys get a good value and a few a broken one, so every check gets its turn."""
    data: dict[str, Any] = {}
    for key in sorted(FIELDS):
        roll = draw(st.integers(0, 9))
        if roll < 5 and key in GOOD:
            data[key] = draw(GOOD[key])
        elif roll < 7 or (key == "colour" and roll < 9):
            continue
        else:
            data[key] = draw(FIELDS[key])
    if draw(st.integers(0, 9)) == 0:
        data[draw(ODD_KEYS)] = draw(TOML_VALUES)  # a key of any text
    return data


def _check(result: Profile | ConfigError, source: str) -> None:
    if isinstance(result, ConfigError):
        message = str(result)
        assert message.startswith(f"{source}: "), message
        assert message.isprintable(), "one line, nothing that moves the cursor"
        return
    assert 300 <= result.sit_mm < result.stand_mm <= 2000
    assert result.cycle
    assert result.warn_s < min(step.minutes for step in result.cycle) * 60
    for ranges in [result.hours, *result.hours_on.values()]:
        ends = [minute for hours in ranges for minute in (hours.start_min, hours.end_min)]
        assert ends == sorted(ends), "ranges in order, not overlapping"
        assert all(0 <= minute <= 24 * 60 for minute in ends)


def _parse(data: dict[str, Any]) -> Profile | ConfigError:
    try:
        return parse_profile(data, name="fuzz", source=SOURCE)
    except ConfigError as error:
        return error


@settings(max_examples=400, deadline=None)
@given(data=profile_mappings())
@example(data={"sit": "72cm", "stand": "110cm", "hours_on": {"a\nb": []}})
@example(data={"sit": "72cm", "stand": "110cm", "x\x1b[2Ky": 1})
def test_any_mapping_is_a_profile_or_one_sentence_naming_the_file(data: dict[str, Any]) -> None:
    TALLY.tried()
    _check(_parse(data), SOURCE)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("profiles")


@settings(max_examples=200, deadline=None)
@given(
    content=st.one_of(
        profile_mappings().map(lambda d: toml_text(d).encode()),
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        profile_mappings().map(lambda d: toml_text(d).encode()[: len(toml_text(d)) // 2]),
    )
)
@example(content=b"sit = " + b"[" * 5000 + b"]" * 5000)  # nesting deeper than the parser recurses
@example(content=b"sit = " + b"7" * 5000)  # more digits than Python turns into an int
@example(content=b"sit = {" * 3000)
def test_any_file_is_a_profile_or_one_sentence_naming_the_file(
    folder: Path, content: bytes
) -> None:
    TALLY.tried()
    path = folder / "fuzz.toml"
    path.write_bytes(content)
    try:
        result: Profile | ConfigError = read_profile_file(path)
    except ConfigError as error:
        result = error
    _check(result, str(path))
