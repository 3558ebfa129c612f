"""Hypothesis strategies the fuzz tests share, and a small TOML writer for generated documents.

Design: most random text is rejected by a parser's first check, so besides plain `st.text()`
these build inputs from the grammar a parser expects (numbers with units, clock ranges, known
keys with values of every type), so the fuzzing reaches the deeper checks. `toml_text(doc)`
writes any generated mapping as valid TOML (every table inline), so a settings, profile or cue
file can be generated from a structure and still reach validation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "DURATIONS",
    "HEIGHTS",
    "NUMBERS",
    "TOML_SCALARS",
    "TOML_VALUES",
    "json_values",
    "toml_text",
]

# -- numbers and units, as people (and broken firmware) write them ------------------------------
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A[0-9]{0,80}([.,][0-9]{0,80})?([eE][+-]?[0-9]{1,12})?\Z"),
    st.sampled_from(["", ".", ",", "-0", "+1", "1e999999999", "9" * 70, "0x10", "1_000", "٣"]),
)
_SPACE = st.sampled_from(["", " ", "  ", "\t", "\u00a0", "\n"])
_HEIGHT_UNITS = st.sampled_from(
    ["", "mm", "cm", "in", '"', "inch", "inches", "MM", "Cm", "m", "ft", "mmm", "c m", "ſ", "ı"]
)
HEIGHTS = st.one_of(
    st.builds(
        lambda a, n, b, u, c: a + n + b + u + c, _SPACE, NUMBERS, _SPACE, _HEIGHT_UNITS, _SPACE
    ),
    st.text(max_size=70),
)
_DURATION_UNITS = st.sampled_from(["", "h", "m", "min", "s", "sec", "H", "d", "ms", "ſ"])
_DURATION_PART = st.builds(lambda n, s, u: n + s + u, NUMBERS, _SPACE, _DURATION_UNITS)
DURATIONS = st.one_of(
    st.lists(_DURATION_PART, min_size=1, max_size=4).map("".join),
    st.lists(_DURATION_PART, min_size=1, max_size=4).map(" ".join),
    st.text(max_size=70),
)

# -- TOML values --------------------------------------------------------------------------------
TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    HEIGHTS,
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4),
    ),
    max_leaves=12,
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Anything JSON can hold (no NaN: the JSON sent over a socket is plain JSON)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _toml_string(text: str) -> str:
    # JSON escapes every control character but DEL, which TOML also wants escaped
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_string(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"TOML cannot hold {type(value).__name__}")


def toml_text(document: Mapping[str, Any]) -> str:
    """A generated mapping as a TOML document (tables inline, so any nesting stays valid)."""
    return "".join(f"{_toml_string(str(k))} = {_toml_value(v)}\n" for k, v in document.items())
