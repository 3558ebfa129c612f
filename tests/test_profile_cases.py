"""Profile validation without pydantic gives what the pydantic model gave, input for input.

`deskctl/core/profile.py` was a pydantic model until `plan` and `profile list` had to start
faster than pydantic imports. Its replacement is plain Python; `tests/profile_cases.json` holds
1,815 inputs (the shipped profiles; every field with every kind of value TOML can hold; lists,
tables, several problems at once, too many cycle steps, strings of 5,000 digits) and what the
pydantic model (main at commit 5dfde3f) made of each: the profile's values (with their types, as
`repr`) or the one sentence of its `ConfigError`. Every one must come out the same.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deskctl.config.profile_library import find_profiles
from deskctl.core.profile import Profile, parse_profile
from deskctl.errors import ConfigError

CASES = json.loads((Path(__file__).parent / "profile_cases.json").read_text(encoding="utf-8"))
_TYPES: dict[str, Callable[[str], object]] = {
    "$float": float,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
    "$datetime": dt.datetime.fromisoformat,
}


def decoded(value: Any) -> Any:
    """A case's value as tomllib gives it (JSON has no inf, nan or dates: `{"$float": "inf"}`)."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in _TYPES:
            ((kind, text),) = value.items()
            return _TYPES[kind](text)
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def outcome(profile: Profile) -> dict[str, Any]:
    return {
        "name": repr(profile.name),
        "description": repr(profile.description),
        "sit_mm": repr(profile.sit_mm),
        "stand_mm": repr(profile.stand_mm),
        "cycle": [[repr(step.posture), repr(step.minutes)] for step in profile.cycle],
        "weekdays": repr(sorted(profile.weekdays)),
        "hours": repr(profile.hours),
        "hours_on": repr(sorted(profile.hours_on.items())),
        "warn_s": repr(profile.warn_s),
        "confirm": repr(profile.confirm),
        "prefer_areas": repr(profile.prefer_areas),
        "prefer_kinds": repr(profile.prefer_kinds),
    }


def parsed(data: dict[str, Any], name: str) -> list[Any]:
    try:
        profile = parse_profile(data, name=name, source="profiles/x.toml")
    except ConfigError as exc:
        return ["error", type(exc).__name__, str(exc)]
    return ["ok", outcome(profile)]


def test_every_recorded_input_gives_what_the_pydantic_model_gave() -> None:
    differ = [
        (data, name, expected, got)
        for data, name, expected in CASES
        if (got := parsed(decoded(data), name)) != expected
    ]
    assert not differ, f"{len(differ)} of {len(CASES)} differ, the first: {differ[0]}"
    assert sum(1 for *_, expected in CASES if expected[0] == "ok") > 100  # not all errors


def test_every_shipped_profile_is_among_the_recorded_inputs() -> None:
    recorded = {name: data for data, name, _ in CASES}
    for name, found in find_profiles(Path("/nonexistent")).items():
        assert decoded(recorded.get(name)) == tomllib.loads(found.entry.read_text("utf-8")), name
