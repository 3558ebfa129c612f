"""`deskctl cues list` and `deskctl cues show`, through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from deskctl.cli._app import app
from deskctl.config.cue_library import shipped_cues

LIBRARY = shipped_cues()


@pytest.fixture(autouse=True)
def own_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(folder))
    monkeypatch.setenv("COLUMNS", "160")
    return folder


def cues(*args: str) -> Result:
    return CliRunner().invoke(app, ["cues", *args])


def test_list_draws_every_cue_in_a_table() -> None:
    done = cues("list")
    assert done.exit_code == 0, done.output
    assert f"{len(LIBRARY)} cues" in done.stdout
    for cue in LIBRARY:
        assert cue.id in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--area", "neck"], {cue.id for cue in LIBRARY if cue.area == "neck"}),
        (["--kind", "walk"], {cue.id for cue in LIBRARY if cue.kind == "walk"}),
        (
            ["--area", "hips", "--kind", "strength"],
            {cue.id for cue in LIBRARY if cue.area == "hips" and cue.kind == "strength"},
        ),
    ],
)
def test_list_filters_by_area_and_kind(args: list[str], expected: set[str]) -> None:
    done = cues("list", *args, "--json")
    assert done.exit_code == 0, done.output
    listed = json.loads(done.stdout)
    assert expected
    assert {item["id"] for item in listed} == expected


def test_list_json_carries_every_field() -> None:
    listed = json.loads(cues("list", "--json").stdout)
    assert len(listed) == len(LIBRARY)
    assert set(listed[0]) == {"id", "title", "steps", "area", "kind", "duration_s", "suits"}


def test_list_with_an_unknown_area_is_bad_usage() -> None:
    done = cues("list", "--area", "knees")
    assert done.exit_code == 2
    assert "knees" in done.output


def test_show_prints_the_steps_and_the_safety_line() -> None:
    done = cues("show", "standing-prayer-stretch")
    assert done.exit_code == 0, done.output
    assert "Standing prayer (L) stretch" in done.stdout
    assert "1." in done.stdout
    assert "5." in done.stdout
    assert "on standing up" in done.stdout
    assert "pain-free" in done.stdout


def test_show_json_is_the_full_cue() -> None:
    done = cues("show", "chin-tucks", "--json")
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert shown["id"] == "chin-tucks"
    assert shown["suits"] == ["to_stand", "to_sit"]
    assert len(shown["steps"]) == 3


@pytest.mark.parametrize(
    ("cue_id", "hint"),
    [
        ("chin-tuck", "did you mean chin-tucks?"),
        ("prayer", "did you mean standing-prayer-stretch?"),
        ("handstand", "`deskctl cues list` shows them."),
    ],
)
def test_show_an_unknown_id_exits_2_with_one_sentence_and_close_matches(
    cue_id: str, hint: str
) -> None:
    done = cues("show", cue_id)
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr == f"deskctl: there is no cue {cue_id!r}; {hint}\n"


MY_CUES = """
[[cue]]
id = "chin-tucks"
title = "My own chin tucks"
steps = ["Sit tall.", "Tuck your chin gently."]
area = "neck"
kind = "mobility"
duration_s = 40
suits = ["to_sit"]
"""


def test_a_user_cue_replaces_the_shipped_one_in_list_and_show(own_config_dir: Path) -> None:
    (own_config_dir / "cues").mkdir(parents=True)
    (own_config_dir / "cues" / "mine.toml").write_text(MY_CUES, encoding="utf-8")
    shown = json.loads(cues("show", "chin-tucks", "--json").stdout)
    assert shown["title"] == "My own chin tucks"
    listed = json.loads(cues("list", "--json").stdout)
    assert len(listed) == len(LIBRARY)


def test_a_broken_user_file_exits_2_naming_file_and_field(own_config_dir: Path) -> None:
    (own_config_dir / "cues").mkdir(parents=True)
    path = own_config_dir / "cues" / "mine.toml"
    path.write_text(MY_CUES.replace("duration_s = 40", "duration_s = -5"), encoding="utf-8")
    done = cues("list")
    assert done.exit_code == 2
    assert str(path) in done.stderr
    assert "field 'duration_s'" in done.stderr
    assert done.stderr.count("\n") == 1
