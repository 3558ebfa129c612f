"""Profiles: what a TOML file may say, and the one sentence a broken one gets."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from deskctl.config.profile_library import (
    find_profiles,
    load_profile,
    read_profile_file,
    remember_profile,
    remembered_profile,
)
from deskctl.core.cues import Area, Kind
from deskctl.core.profile import Hours, Profile, parse_profile
from deskctl.core.vocab import Posture
from deskctl.errors import ConfigError, InputError

MINIMAL: dict[str, Any] = {"sit": "72cm", "stand": "110cm"}


def parse(**fields: Any) -> Profile:
    return parse_profile({**MINIMAL, **fields}, name="x", source="profiles/x.toml")


def problem(**fields: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(**fields)
    return str(caught.value)


def test_a_file_with_only_heights_gets_the_default_day() -> None:
    profile = parse()
    assert (profile.sit_mm, profile.stand_mm) == (720, 1100)
    assert [(s.posture, s.minutes) for s in profile.cycle] == [("sit", 30), ("stand", 15)]
    assert profile.hours == (Hours(540, 750), Hours(810, 1050))
    assert profile.weekdays == frozenset({0, 1, 2, 3, 4})
    assert (profile.warn_s, profile.confirm) == (30, False)


@pytest.mark.parametrize(
    ("sit", "stand", "expected"),
    [
        ("72cm", "110cm", (720, 1100)),
        ("720mm", "1100 mm", (720, 1100)),
        ("28.3in", "43.3in", (719, 1100)),
        (72, 110, (720, 1100)),
        (72.5, "1.1e2", None),
    ],
)
def test_heights_are_read_in_any_unit_and_kept_in_mm(
    sit: object, stand: object, expected: tuple[int, int] | None
) -> None:
    if expected is None:
        assert problem(sit=sit, stand=stand).startswith("profiles/x.toml: stand: ")
        return
    profile = parse(sit=sit, stand=stand)
    assert (profile.sit_mm, profile.stand_mm) == expected


def test_full_profile_with_split_hours_per_weekday_overrides_and_cue_taste() -> None:
    profile = parse(
        description="mine",
        weekdays=["Mon", "tuesday", "wed", "thu", "fri", "sat"],
        hours=["08:00-12:00", "12:45-16:30"],
        hours_on={"fri": ["08:00-13:00"], "sat": []},
        cycle=[{"posture": "sit", "minutes": 25}, {"posture": "away", "minutes": 5}],
        warn_s=0,
        confirm=True,
        prefer_areas=["neck", "hips"],
        prefer_kinds=["stretch"],
    )
    assert profile.hours_for(date(2026, 11, 30)) == (Hours(480, 720), Hours(765, 990))  # Monday
    assert profile.hours_for(date(2026, 12, 4)) == (Hours(480, 780),)  # Friday
    assert profile.hours_for(date(2026, 12, 5)) == ()  # Saturday: listed, but no hours
    assert profile.hours_for(date(2026, 12, 6)) == ()  # Sunday: a day off
    assert profile.prefer_areas == (Area.NECK, Area.HIPS)
    assert profile.prefer_kinds == (Kind.STRETCH,)
    assert profile.confirm is True
    assert profile.height_for(Posture.AWAY) is None


def test_a_range_may_end_at_midnight() -> None:
    assert parse(hours=["18:00-24:00"]).hours == (Hours(1080, 1440),)
    assert str(Hours(1080, 1440)) == "18:00-24:00"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"cycle": [{"posture": "sit", "minutes": 30}, {"posture": "stand", "minutes": 0}]},
            "profiles/x.toml: cycle[1].minutes: must be above 0",
        ),
        (
            {"cycle": [{"posture": "lie", "minutes": 30}]},
            "profiles/x.toml: cycle[0].posture: must be 'sit', 'stand' or 'away'",
        ),
        ({"cycle": [{"posture": "sit"}]}, "profiles/x.toml: cycle[0].minutes: is required"),
        (
            {"cycle": [{"posture": "sit", "minutes": 2.5}]},
            "profiles/x.toml: cycle[0].minutes: must be a whole number",
        ),
        ({"cycle": []}, "profiles/x.toml: cycle: must not be empty"),
        ({"cycle": "sit"}, "profiles/x.toml: cycle: must be a list"),
        (
            {"sit": "tall"},
            "profiles/x.toml: sit: 'tall' is not a height; write a number with mm, "
            "cm or in, like 72cm, 720mm or 28.3in",
        ),
        (
            {"sit": "720"},
            'profiles/x.toml: sit: 720.0 cm is not a desk height; write it like "72cm"',
        ),
        (
            {"sit": "115cm"},
            "profiles/x.toml: stand: 110.0 cm must be higher than the sit height (115.0 cm)",
        ),
        (
            {"hours": ["09:00-12:30", "12:00-17:00"]},
            "profiles/x.toml: hours[1]: 12:00-17:00 starts before the range before it "
            "(09:00-12:30) ends; list the ranges in order without overlap",
        ),
        (
            {"hours": ["9-17"]},
            "profiles/x.toml: hours[0]: '9-17' is not a range of time; write it "
            'like "09:00-12:30"',
        ),
        (
            {"hours": ["17:00-09:00"]},
            "profiles/x.toml: hours[0]: '17:00-09:00' must end after it "
            "starts (ranges cannot cross midnight)",
        ),
        (
            {"hours": ["09:00-25:00"]},
            "profiles/x.toml: hours[0]: '09:00-25:00' has a time that does "
            "not exist; use 00:00 to 24:00",
        ),
        (
            {"weekdays": ["mon", "fry"]},
            "profiles/x.toml: weekdays[1]: 'fry' is not a day; use mon, "
            "tue, wed, thu, fri, sat or sun",
        ),
        (
            {"hours_on": {"sun": ["10:00-12:00"]}},
            "profiles/x.toml: hours_on.sun: sun is not one of the profile's weekdays",
        ),
        (
            {"hours_on": {"fri": ["13:00-12:00"]}},
            "profiles/x.toml: hours_on.fri[0]: '13:00-12:00' must end after it starts "
            "(ranges cannot cross midnight)",
        ),
        ({"warn_s": -1}, "profiles/x.toml: warn_s: must be 0 or more"),
        (
            {
                "warn_s": 120,
                "cycle": [{"posture": "sit", "minutes": 20}, {"posture": "away", "minutes": 2}],
            },
            "profiles/x.toml: warn_s: the warning of 120 s must be shorter than the shortest "
            "block of the cycle (2 min)",
        ),
        ({"confirm": "maybe"}, "profiles/x.toml: confirm: must be true or false"),
        (
            {"prefer_areas": ["knees"]},
            "profiles/x.toml: prefer_areas[0]: must be 'lower_back', "
            "'hips', 'upper_back', 'neck' or 'whole_body'",
        ),
        ({"sitt": "72cm"}, "profiles/x.toml: sitt: is not a setting a profile has (a typo?)"),
    ],
)
def test_a_broken_field_is_one_sentence_naming_file_field_and_problem(
    fields: dict[str, Any], expected: str
) -> None:
    assert problem(**fields) == expected


def test_a_missing_height_and_several_problems_still_give_one_sentence() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_profile({"stand": "110cm", "warn_s": -5, "oops": 1}, name="x", source="x.toml")
    message = str(caught.value)
    assert message.startswith("x.toml: sit: is required")
    assert message.endswith("(and 2 more problems)")
    assert "\n" not in message


def test_the_name_is_the_files_and_must_be_a_plain_word() -> None:
    assert parse_profile({**MINIMAL, "name": "x"}, name="x", source="x.toml").name == "x"
    with pytest.raises(ConfigError, match=r"name: 'y' differs from the file's name 'x'"):
        parse_profile({**MINIMAL, "name": "y"}, name="x", source="x.toml")
    with pytest.raises(ConfigError, match=r"'My Desk' is not a profile name"):
        parse_profile(MINIMAL, name="My Desk", source="My Desk.toml")


def test_a_profile_error_is_bad_input_so_the_cli_exits_2() -> None:
    with pytest.raises(InputError) as caught:
        parse(warn_s=-1)
    assert caught.value.exit_code == 2


# --- the files on disk -------------------------------------------------------------------------

SHIPPED = [
    "cornell-20-8-2",
    "default",
    "new-to-standing",
    "sit-stand-30-15",
    "standing-4h",
    "walking-breaks",
]


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("DESKCTL_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def test_every_shipped_profile_loads_and_is_listed(dirs: Path) -> None:
    found = find_profiles()
    assert list(found) == SHIPPED
    for name in SHIPPED:
        profile = load_profile(name)
        assert profile.name == name
        assert profile.description
        assert found[name].origin == "shipped"


def test_a_users_profile_shadows_the_shipped_one_of_the_same_name(dirs: Path) -> None:
    folder = dirs / "config" / "profiles"
    folder.mkdir(parents=True)
    (folder / "default.toml").write_text('sit = "80cm"\nstand = "125cm"\n')
    (folder / "tall.toml").write_text('sit = "78cm"\nstand = "122cm"\n')
    found = find_profiles()
    assert found["default"].origin == "user"
    assert found["default"].shadows_shipped
    assert found["tall"].origin == "user"
    assert not found["tall"].shadows_shipped
    assert load_profile("default").sit_mm == 800
    assert load_profile("tall").stand_mm == 1220


def test_an_unknown_profile_names_the_known_ones(dirs: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile("nope")
    assert str(caught.value) == (
        "there is no profile 'nope'; the known ones are " + ", ".join(SHIPPED)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sit = 72cm\n", "not valid TOML"),
        (
            'sit = "72cm"\nstand = "110cm"\ncycle = [{posture = "sit", minutes = -3}]\n',
            "cycle[0].minutes: must be above 0",
        ),
    ],
)
def test_a_broken_file_names_its_path(dirs: Path, text: str, expected: str) -> None:
    path = dirs / "broken.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_profile_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)


def test_the_chosen_profile_is_remembered_per_desk(dirs: Path) -> None:
    assert remembered_profile("desk") is None
    remember_profile("cornell-20-8-2", "desk")
    remember_profile("new-to-standing", "office")
    assert remembered_profile("desk") == "cornell-20-8-2"
    assert remembered_profile("office") == "new-to-standing"
    with pytest.raises(ConfigError):
        remember_profile("nope", "desk")
    assert remembered_profile("desk") == "cornell-20-8-2"


def test_a_mangled_state_file_is_one_sentence_not_a_traceback(dirs: Path) -> None:
    (dirs / "state").mkdir()
    (dirs / "state" / "profile.json").write_text("[1, 2")
    with pytest.raises(ConfigError, match=r"profile\.json: not the remembered profiles"):
        remembered_profile("desk")


def test_shipped_files_are_valid_toml_with_the_stated_cycles() -> None:
    folder = Path(__file__).resolve().parent.parent / "deskctl" / "profiles"
    cycles = {
        path.stem: [(s["posture"], s["minutes"]) for s in tomllib.loads(path.read_text())["cycle"]]
        for path in folder.glob("*.toml")
    }
    assert cycles["default"] == [("sit", 30), ("away", 3), ("stand", 12)]
    assert cycles["sit-stand-30-15"] == [("sit", 30), ("stand", 15)]
    assert cycles["walking-breaks"] == [("sit", 25), ("away", 5)]
    assert cycles["cornell-20-8-2"] == [("sit", 20), ("stand", 8), ("away", 2)]
