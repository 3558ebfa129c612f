"""Meetings from a calendar file, as a person sees them: `deskctl plan` draws the holds and moves
the changes around them, and `deskctl run --simulate` holds the desk in them, with `status`
saying until when. Real subprocesses; every wait is bounded by a condition, never a sleep."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from deskctl.adapters import control_client
from tests.cli import deskctl
from tests.service_process import start_service, wait_for
from tests.test_calendar import ics

STANDUP = """UID:standup@test
SUMMARY:Stand-up
DTSTART;TZID=Europe/Berlin:20261123T100500
DTEND;TZID=Europe/Berlin:20261123T102000
RRULE:FREQ=DAILY"""
FOCUS_FREE = """UID:focus@test
SUMMARY:Focus time
TRANSP:TRANSPARENT
DTSTART;TZID=Europe/Berlin:20261130T150000
DTEND;TZID=Europe/Berlin:20261130T160000"""


def with_calendar(tmp_path: Path) -> Path:
    calendar = tmp_path / "work.ics"
    calendar.write_text(ics(STANDUP, FOCUS_FREE), encoding="utf-8")
    config = tmp_path / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(
        f'[calendar]\nsources = ["{calendar}"]\n', encoding="utf-8"
    )
    return calendar


def test_plan_shows_the_meeting_holds_and_the_change_moved_before_one(tmp_path: Path) -> None:
    with_calendar(tmp_path)
    rhythm = ("--profile", "sit-stand-30-15")  # sit 30, stand 15: the stand due at 10:15
    done = deskctl(tmp_path, "plan", "--json", "--date", "2026-11-30", *rhythm)
    assert done.returncode == 0, done.stderr
    shown: dict[str, Any] = json.loads(done.stdout)
    assert shown["meetings"] == [
        {"start": "2026-11-30T10:05:00+01:00", "end": "2026-11-30T10:20:00+01:00",
         "summary": "Stand-up"},
    ]  # fmt: skip
    assert shown["calendar_problems"] == []
    starts = [(b["start"][11:16], b["posture"]) for b in shown["blocks"]]
    assert ("10:04", "stand") in starts, "the stand due at 10:15 comes just before the stand-up"
    assert ("10:20", "sit") in starts, "the sit due in it comes at its end"
    assert not [s for s in starts if "10:05" <= s[0] < "10:20"], "nothing starts in the meeting"
    drawn = deskctl(tmp_path, "plan", "--date", "2026-11-30", *rhythm)
    assert "meeting 10:05–10:20 Stand-up: the desk holds still" in drawn.stdout
    assert "Focus time" not in drawn.stdout, "a free event holds nothing"


def test_plan_says_a_missing_calendar_in_one_line_and_still_plans(tmp_path: Path) -> None:
    calendar = with_calendar(tmp_path)
    calendar.unlink()
    done = deskctl(tmp_path, "plan", "--date", "2026-11-30")
    assert done.returncode == 0
    assert "cannot read the calendar" in done.stderr
    assert "Traceback" not in done.stderr
    assert "09:30–09:33" in done.stdout  # the default's first walk


def test_run_simulate_with_a_calendar_holds_the_desk_and_status_says_until_when(
    tmp_path: Path,
) -> None:
    with_calendar(tmp_path)
    proc = start_service(tmp_path, "--from", "2026-11-30T10:06:00+01:00", "--time-scale", "1")
    sock = tmp_path / "run" / "control.sock"
    try:
        wait_for(
            "the calendar's meetings reaching the service",
            lambda: control_client.call("status", path=sock).get("next_meeting") is not None,
        )
        state = control_client.call("status", path=sock)
        assert state["next_meeting"] == {
            "start": "2026-11-30T10:05:00+01:00", "end": "2026-11-30T10:20:00+01:00",
            "summary": "Stand-up",
        }  # fmt: skip
        assert state["waiting_for"] == "meeting"
        assert state["waiting_until"] == "2026-11-30T10:20:00+01:00"
        words = deskctl(tmp_path, "status")
        assert "held for a meeting until 10:20" in words.stdout
        assert "meeting hold 10:05-10:20 (Stand-up)" in words.stdout
        plan = deskctl(tmp_path, "plan", "--date", "2026-11-30")
        assert "meeting 10:05–10:20 Stand-up" in plan.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


ALL_HANDS = """UID:all-hands@test
SUMMARY:All hands
DTSTART;TZID=Europe/Berlin:20261130T090300
DTEND;TZID=Europe/Berlin:20261130T101000"""


def test_plan_says_where_a_meeting_leaves_no_room_to_keep_the_sitting_limit(
    tmp_path: Path,
) -> None:
    calendar = with_calendar(tmp_path)
    calendar.write_text(ics(ALL_HANDS), encoding="utf-8")
    drawn = deskctl(tmp_path, "plan", "--date", "2026-11-30")
    assert drawn.returncode == 0, drawn.stderr
    assert "sitting 09:00–10:10 (70 min): a meeting leaves no room to stand before it" in (
        drawn.stdout
    )
    plain = deskctl(tmp_path, "plan", "--date", "2026-11-30", DESKCTL_CALENDAR__SOURCES="[]")
    assert "leaves no room" not in plain.stdout
