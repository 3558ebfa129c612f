"""Unusable files under the service: a history it cannot open, a malformed row, a lost profile.

A desk controller must start whatever its files look like: without its history it still keeps
the desk safe and runs the schedule (and says once, in one sentence, what is lost), and a
remembered profile that is gone or broken gives way to the default with a warning. `deskctl
stats` skips rows it cannot read and says how many; a file it cannot read at all is one
sentence and exit 1. Everything runs as a person runs it: `deskctl run --simulate` and
`deskctl stats` in subprocesses, with their folders in the test's tmp_path.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskctl.adapters import control_client
from deskctl.adapters.history_store import Store
from tests.cli import deskctl
from tests.faults.tally import counter
from tests.service_process import start_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
TZ = ZoneInfo("Europe/Berlin")
MONDAY = "2026-11-30"
FROM = f"{MONDAY}T09:29:00+01:00"  # the 09:30 stand comes a minute after the start


def history(tmp_path: Path) -> Path:
    return tmp_path / "state" / "demo-history.sqlite3"


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def runs_a_change(tmp_path: Path) -> str:
    """Start the service, let the 09:30 stand happen, stop it; what it printed."""
    proc = start_service(tmp_path, "--time-scale", "60", "--from", FROM)
    try:
        path = tmp_path / "run" / "control.sock"
        state = control_client.call("status", path=path, timeout_s=30)
        assert state["schedule"] == "running", "the schedule runs without the history"
        assert state["next_change_at"] is not None
        moved = control_client.call("stand", path=path, timeout_s=30)
        assert moved["height_mm"] == 1100, "the service moves the desk"
    finally:
        out = stop(proc) if proc.poll() is None else proc.communicate()[0]
    assert "Traceback" not in out, out
    return out


def damaged(path: Path) -> None:
    path.write_bytes(b"this is not a database " * 200)


def a_folder(path: Path) -> None:
    path.mkdir()


def a_malformed_row(path: Path) -> None:
    with Store(path) as store:
        for hour, minute, posture in ((9, 0, "sit"), (9, 20, "stand")):
            when = datetime(2026, 11, 30, hour, minute, tzinfo=TZ)
            store.record("desk", when, "posture", posture=posture, height_mm=None)
    db = sqlite3.connect(path)
    try:
        at_s = datetime(2026, 11, 30, 9, 5, tzinfo=TZ).timestamp()
        db.execute(
            "INSERT INTO events (desk, at, at_s, kind, data) VALUES ('desk', 'monday', ?,"
            " 'posture', '{not json')",
            (at_s,),
        )
        db.commit()
    finally:
        db.close()


@pytest.mark.parametrize("spoil", [damaged, a_folder], ids=["damaged", "a folder"])
def test_the_service_starts_without_a_history_it_cannot_open(tmp_path: Path, spoil: object) -> None:
    history(tmp_path).parent.mkdir(parents=True)
    assert callable(spoil)
    spoil(history(tmp_path))
    TALLY.fault()
    out = runs_a_change(tmp_path)
    said = [line for line in out.splitlines() if "running without a history" in line]
    assert len(said) == 1, out
    assert "will not survive a restart" in said[0], "the hold is not durable: it says so"


def test_one_malformed_row_neither_stops_the_service_nor_stats(tmp_path: Path) -> None:
    a_malformed_row(history(tmp_path))
    TALLY.fault()
    runs_a_change(tmp_path)
    done = deskctl(tmp_path, "stats", "--demo", "--to", MONDAY, "--days", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "deskctl: skipped 1 row of the history that could not be read."
    day = json.loads(done.stdout)["days"][0]
    assert day["sitting_s"] >= 20 * 60, "the readable rows still count (sat 09:00 to 09:20)"


@pytest.mark.parametrize("spoil", [damaged, a_folder], ids=["damaged", "a folder"])
def test_stats_on_a_history_it_cannot_read_is_one_sentence_and_exit_1(
    tmp_path: Path, spoil: object
) -> None:
    history(tmp_path).parent.mkdir(parents=True)
    assert callable(spoil)
    spoil(history(tmp_path))
    TALLY.fault()
    done = deskctl(tmp_path, "stats", "--demo", "--json")
    assert done.returncode == 1, done
    assert done.stderr.startswith("deskctl: "), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr


def profile_is_gone(tmp_path: Path) -> None:
    mine = tmp_path / "config" / "profiles" / "tall.toml"
    mine.parent.mkdir(parents=True)
    mine.write_text((Path(__file__).parents[2] / "deskctl/profiles/default.toml").read_text())
    used = deskctl(tmp_path, "profile", "use", "tall")
    assert used.returncode == 0, used.stderr
    mine.unlink()


def remembered_is_broken(tmp_path: Path) -> None:
    state = tmp_path / "state" / "profile.json"
    state.parent.mkdir(parents=True)
    state.write_text("{tall")


@pytest.mark.parametrize(
    "spoil", [profile_is_gone, remembered_is_broken], ids=["file deleted", "state broken"]
)
def test_a_remembered_profile_that_is_gone_falls_back_to_the_default(
    tmp_path: Path, spoil: object
) -> None:
    assert callable(spoil)
    spoil(tmp_path)
    TALLY.fault()
    proc = start_service(tmp_path, "--time-scale", "60", "--from", FROM)
    try:
        state = control_client.call("status", path=tmp_path / "run" / "control.sock")
        assert state["profile"] == "default"
    finally:
        out = stop(proc)
    warned = [line for line in out.splitlines() if "remembered profile cannot be used" in line]
    assert len(warned) == 1, out
    assert "'default'" in warned[0]
