"""Cue files from any mapping and any bytes: valid cues, or one `ConfigError` naming the file.

Each `[[cue]]` table is built from the fields a cue has, most of them good and a few broken or
of another TOML type, so every field's check gets its turn; whole files are those documents
written as TOML, cut short, or bytes nobody meant as TOML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deskctl.config.cue_library import load_cues
from deskctl.core.cues import DURATION_MAX_S, STEPS_MAX, Cue, parse_cues
from deskctl.errors import ConfigError
from tests.faults.tally import counter
from tests.fuzz.strategies import TOML_VALUES, toml_text

TALLY = counter(__name__)
SOURCE = "cues/fuzz.toml"

GOOD: dict[str, st.SearchStrategy[Any]] = {
    "id": st.from_regex(r"\A[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8}){0,2}\Z"),
    "title": st.text(min_size=1, max_size=30).filter(str.strip),
    "steps": st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=4),
    "area": st.sampled_from(["lower_back", "hips", "upper_back", "neck", "whole_body"]),
    "kind": st.sampled_from(["mobility", "stretch", "strength", "walk"]),
    "duration_s": st.integers(1, DURATION_MAX_S),
    "suits": st.lists(st.sampled_from(["to_stand", "to_sit", "away"]), min_size=1, max_size=3),
}
BAD: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(st.text(max_size=70), st.sampled_from(["Neck", "a--b", "-a", "a_b"])),
    "title": st.one_of(st.sampled_from(["", "   ", "x" * 500]), st.text(max_size=5)),
    "steps": st.one_of(
        st.just([]), st.lists(st.text(max_size=3), min_size=STEPS_MAX + 1, max_size=STEPS_MAX + 2)
    ),
    "area": st.sampled_from(["back", "", "Hips", "neck "]),
    "kind": st.sampled_from(["yoga", "", "WALK"]),
    "duration_s": st.one_of(st.integers(-5, 0), st.integers(DURATION_MAX_S + 1), st.booleans()),
    "suits": st.one_of(st.just([]), st.lists(st.sampled_from(["to_lie", "", "sit"]), min_size=1)),
}
ODD_KEYS = st.one_of(st.text(min_size=1, max_size=8), st.sampled_from(["a\nb", "\x1b[2K", "r\r"]))


@st.composite
def cue_tables(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(TOML_VALUES)  # not a table at all
    table: dict[str, Any] = {}
    for key, good in GOOD.items():
        roll = draw(st.integers(0, 19))
        if roll < 16:
            table[key] = draw(good)
        elif roll < 18:
            table[key] = draw(BAD[key])
        elif roll == 18:
            table[key] = draw(TOML_VALUES)
    if draw(st.integers(0, 9)) == 0:
        table[draw(ODD_KEYS)] = draw(TOML_VALUES)
    return table


@st.composite
def cue_documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {"cue": draw(st.lists(cue_tables(), max_size=4))}
    if draw(st.integers(0, 9)) == 0:
        document = {"cue": draw(TOML_VALUES)}
    if draw(st.integers(0, 9)) == 0:
        document[draw(ODD_KEYS)] = draw(TOML_VALUES)
    return document


def _check(result: list[Cue] | ConfigError, source: str) -> None:
    if isinstance(result, ConfigError):
        message = str(result)
        assert source in message, message
        assert message.isprintable(), "one line, nothing that moves the cursor"
        return
    assert len({cue.id for cue in result}) == len(result), "ids are unique"
    for cue in result:
        assert cue.title.strip()
        assert 1 <= len(cue.steps) <= STEPS_MAX
        assert 1 <= cue.duration_s <= DURATION_MAX_S
        assert cue.suits


@settings(max_examples=400, deadline=None)
@given(document=cue_documents())
@example(document={"cue": [{"id": "x", "a\nb": 1}]})
@example(document={"cue": [], "\x1b[31mcue": []})
def test_any_document_is_cues_or_one_sentence_naming_the_file(document: dict[str, Any]) -> None:
    TALLY.tried()
    try:
        result: list[Cue] | ConfigError = parse_cues(document, SOURCE)
    except ConfigError as error:
        result = error
    _check(result, SOURCE)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cues")


@settings(max_examples=150, deadline=None)
@given(
    content=st.one_of(
        cue_documents().map(lambda d: toml_text(d).encode()),
        cue_documents().map(lambda d: toml_text(d).encode()[:-7]),
        st.binary(max_size=200),
    )
)
@example(content=b"cue = " + b"[" * 5000 + b"]" * 5000)
@example(content=b"cue = " + b"9" * 5000)
def test_any_user_cue_file_loads_or_is_one_sentence_naming_it(folder: Path, content: bytes) -> None:
    TALLY.tried()
    path = folder / "mine.toml"
    path.write_bytes(content)
    try:
        result: list[Cue] | ConfigError = load_cues(folder)
    except ConfigError as error:
        result = error
    _check(result, str(path))
