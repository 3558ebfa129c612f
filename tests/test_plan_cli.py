"""`deskctl plan` and `deskctl profile …`, run as a user runs them (folders in tmp_path), in this
process: they read files and end in a sentence."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli import deskctl_in_process as deskctl

BERLIN = "Europe/Berlin"
HEALTH_AREAS = {"lower_back", "hips", "upper_back", "neck"}
SHIPPED = [
    "cornell-20-8-2",
    "default",
    "new-to-standing",
    "sit-stand-30-15",
    "standing-4h",
    "walking-breaks",
]


def plan(tmp_path: Path, *args: str) -> dict[str, Any]:
    done = deskctl(tmp_path, "plan", "--json", *args, TZ=BERLIN)
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def minutes(block: dict[str, Any]) -> float:
    start = datetime.fromisoformat(block["start"])
    end = datetime.fromisoformat(block["end"])
    return (end - start) / timedelta(minutes=1)


def one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_default_on_a_monday_never_sits_over_30_min_walks_after_it_stands_about_2_h_and_cues(
    tmp_path: Path,
) -> None:
    day = plan(tmp_path, "--profile", "default", "--date", "2026-11-30")
    assert set(day) == {"profile", "date", "blocks"}
    assert (day["profile"], day["date"]) == ("default", "2026-11-30")
    blocks = day["blocks"]
    assert blocks, "a Monday has blocks"
    for block in blocks:
        assert set(block) == {"start", "end", "posture", "height_mm", "cue"}
        assert block["start"].endswith("+01:00")
        assert block["posture"] in {"sit", "stand", "away"}
    assert max(minutes(b) for b in blocks if b["posture"] == "sit") <= 30
    standing_h = sum(minutes(b) for b in blocks if b["posture"] == "stand") / 60
    assert 1.75 <= standing_h <= 2  # about 2 hours, and no more
    for sitting, after in itertools.pairwise(blocks):
        if sitting["posture"] == "sit" and after["start"] == sitting["end"]:
            assert after["posture"] == "away", f"no walk after the sitting at {sitting['start']}"
            assert minutes(after) == 3
    previous = None
    for block in blocks:
        if block["posture"] != previous:
            assert block["cue"] is not None, f"no cue at the change at {block['start']}"
            assert set(block["cue"]) == {"id", "title", "area", "duration_s"}
        previous = block["posture"]
    areas = {b["cue"]["area"] for b in blocks if b["cue"]}
    assert areas >= HEALTH_AREAS
    assert {b["height_mm"] for b in blocks} == {720, 1100, None}  # None: a walk, the desk stays


def test_a_days_plan_is_the_same_every_time(tmp_path: Path) -> None:
    first = plan(tmp_path, "--profile", "cornell-20-8-2", "--date", "2026-12-01")
    again = plan(tmp_path, "--profile", "cornell-20-8-2", "--date", "2026-12-01")
    assert first == again
    walks = [b for b in first["blocks"] if b["posture"] == "away"]
    assert walks
    assert all(b["height_mm"] is None for b in walks)


def test_a_weekend_day_has_no_blocks(tmp_path: Path) -> None:
    assert plan(tmp_path, "--profile", "default", "--date", "2026-11-29")["blocks"] == []
    drawn = deskctl(tmp_path, "plan", "--profile", "default", "--date", "2026-11-29", TZ=BERLIN)
    assert drawn.returncode == 0, drawn.stderr
    assert "day off" in drawn.stdout


def test_the_drawn_plan_shows_the_timeline_the_cues_and_the_totals(tmp_path: Path) -> None:
    drawn = deskctl(tmp_path, "plan", "--profile", "default", "--date", "2026-11-30", TZ=BERLIN)
    assert drawn.returncode == 0, drawn.stderr
    day = plan(tmp_path, "--profile", "default", "--date", "2026-11-30")
    assert "Monday 2026-11-30" in drawn.stdout
    assert "09:00" in drawn.stdout
    assert "17:30" in drawn.stdout
    assert day["blocks"][0]["cue"]["title"] in drawn.stdout
    assert "sitting 5 h 15 min (longest 30 min) · standing 1 h 48 min · away 27 min" in drawn.stdout


def test_a_dst_day_in_the_json_carries_both_offsets(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "profiles"
    folder.mkdir(parents=True)
    (folder / "night.toml").write_text(
        'sit = "72cm"\nstand = "110cm"\nweekdays = ["sun"]\nhours = ["01:00-04:00"]\n'
    )
    blocks = plan(tmp_path, "--profile", "night", "--date", "2026-10-25")["blocks"]
    assert blocks[0]["start"] == "2026-10-25T01:00:00+02:00"
    assert blocks[-1]["end"] == "2026-10-25T04:00:00+01:00"
    assert sum(minutes(b) for b in blocks) == 4 * 60


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--date", "30.11.2026"], "'30.11.2026' is not a date; write it like 2026-11-30"),
        (["--tz", "Mars/Olympus"], "'Mars/Olympus' is not a time zone"),
        (["--profile", "nope"], "the known ones are " + ", ".join(SHIPPED)),
    ],
)
def test_bad_plan_input_exits_2_with_one_sentence(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    done = deskctl(tmp_path, "plan", *args, TZ=BERLIN)
    assert done.returncode == 2
    assert needle in one_sentence(done.stderr)


# --- profiles ----------------------------------------------------------------------------------


def test_profile_use_is_remembered_and_plan_follows_it(tmp_path: Path) -> None:
    listed = deskctl(tmp_path, "profile", "list")
    assert listed.returncode == 0, listed.stderr
    names = [line[2:].split()[0] for line in listed.stdout.splitlines()]
    assert names == SHIPPED
    assert "* default" in listed.stdout
    assert plan(tmp_path, "--date", "2026-11-30")["profile"] == "default"

    used = deskctl(tmp_path, "profile", "use", "cornell-20-8-2")
    assert used.returncode == 0, used.stderr
    assert "cornell-20-8-2" in used.stdout
    assert "* cornell-20-8-2" in deskctl(tmp_path, "profile", "list").stdout
    assert plan(tmp_path, "--date", "2026-11-30")["profile"] == "cornell-20-8-2"
    assert plan(tmp_path, "--date", "2026-11-30", "--desk", "other")["profile"] == "default"
    assert json.loads((tmp_path / "state" / "profile.json").read_text()) == {
        "desk": "cornell-20-8-2"
    }


def test_profile_use_of_an_unknown_name_exits_2_naming_the_known_ones(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "profile", "use", "tall")
    assert done.returncode == 2
    assert one_sentence(done.stderr) == (
        "deskctl: there is no profile 'tall'; the known ones are " + ", ".join(SHIPPED) + "."
    )
    assert not (tmp_path / "state" / "profile.json").exists()


def test_a_users_profile_shadows_the_shipped_one(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "profiles"
    folder.mkdir(parents=True)
    (folder / "default.toml").write_text('sit = "80cm"\nstand = "125cm"\n')
    blocks = plan(tmp_path, "--date", "2026-11-30")["blocks"]
    assert {b["height_mm"] for b in blocks} == {800, 1250}
    listed = deskctl(tmp_path, "profile", "list").stdout
    assert "user, replaces shipped" in listed


def test_a_profile_that_does_not_fit_the_desk_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text('[desks.office]\nlink = "sim"\nmax_mm = 1000\n')
    for args in (["plan", "--date", "2026-11-30"], ["profile", "use", "default"]):
        done = deskctl(tmp_path, *args, TZ=BERLIN)
        assert done.returncode == 2
        assert (
            "the stand height 110.0 cm is above this desk's highest allowed height of 100.0 cm"
            in (one_sentence(done.stderr))
        )


def test_profile_show_describes_the_profile(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "profile", "show", "new-to-standing")
    assert done.returncode == 0, done.stderr
    assert "sit 72.0 cm, stand 110.0 cm" in done.stdout
    assert "sit 30 min → stand 10 min → away 2 min (repeats every 42 min)" in done.stdout
    assert "09:00-12:30, 13:30-17:30" in done.stdout


def test_profile_validate_passes_good_files_and_names_file_field_and_reason_of_bad_ones(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        'sit = "70cm"\nstand = "108cm"\nhours = ["08:00-12:00", "13:00-16:00"]\n'
        'cycle = [{posture = "sit", minutes = 30}, {posture = "away", minutes = 3}, '
        '{posture = "stand", minutes = 12}]\n'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'sit = "72cm"\nstand = "110cm"\n'
        'cycle = [{posture = "sit", minutes = 30}, {posture = "stand", minutes = 0}]\n'
    )
    ok = deskctl(tmp_path, "profile", "validate", str(good))
    assert ok.returncode == 0, ok.stderr
    assert f"ok: {good} (good)" in ok.stdout

    broken = deskctl(tmp_path, "profile", "validate", str(good), str(bad))
    assert broken.returncode == 2
    assert f"ok: {good}" in broken.stdout
    assert one_sentence(broken.stderr) == f"deskctl: {bad}: cycle[1].minutes: must be above 0."


def test_profile_validate_reports_every_broken_file(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text('sit = "72cm"\nstand = "110cm"\nwarn = 30\n')
    missing = tmp_path / "missing.toml"
    done = deskctl(tmp_path, "profile", "validate", str(typo), str(missing))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0] == f"deskctl: {typo}: warn: is not a setting a profile has (a typo?)."
    assert lines[1].startswith(f"deskctl: {missing}: cannot read the file")


@pytest.mark.parametrize("command", ["show", "use"])
def test_show_and_use_say_when_a_profile_stands_more_than_about_2_hours_a_day(
    tmp_path: Path, command: str
) -> None:
    done = deskctl(tmp_path, "profile", command, "sit-stand-30-15")
    assert done.returncode == 0, done.stderr
    note = one_sentence(done.stderr)
    assert note.startswith("deskctl: note: profile 'sit-stand-30-15' plans up to 2 h 15 min")
    assert "(Ahmadi et al., Int J Epidemiol 2024)." in note
    quiet = deskctl(tmp_path, "profile", command, "default")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
