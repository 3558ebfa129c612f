"""`deskctl run` as a person runs it, with the CLI talking to it over the control socket.

The service runs in a subprocess on the simulated desk; every wait is bounded by a deadline on a
condition (the socket answering, the process ending), never a fixed sleep.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters import control_client
from deskctl.adapters.history_store import Store
from tests.cli import cli_env, deskctl, deskctl_in_process
from tests.service_process import start_service


def stop_service(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


@pytest.fixture
def service(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = start_service(tmp_path, "--from", "2026-11-30T09:10:00+01:00", "--time-scale", "10")
    yield proc
    stop_service(proc)


def test_status_comes_from_the_running_service(
    tmp_path: Path, service: subprocess.Popen[str]
) -> None:
    done = deskctl(tmp_path, "status", "--json")
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["service"] is True
    assert state["profile"] == "default"
    assert state["schedule"] == "running"
    assert state["next_posture"] in ("sit", "stand", "away")
    assert state["next_cue"]["id"]


def test_a_second_service_refuses_with_one_sentence(
    tmp_path: Path, service: subprocess.Popen[str]
) -> None:
    second = deskctl(tmp_path, "run", "--simulate")
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


def test_commands_reach_the_service_and_bad_ones_exit_2(
    tmp_path: Path, service: subprocess.Popen[str]
) -> None:
    paused = deskctl(tmp_path, "pause", "20m", "--json")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["schedule"] == "paused"
    resumed = deskctl(tmp_path, "resume", "--json")
    assert json.loads(resumed.stdout)["schedule"] == "running"
    bad = deskctl(tmp_path, "pause", "soon")
    assert bad.returncode == 2
    nothing = deskctl(tmp_path, "confirm")
    assert nothing.returncode == 2
    assert "confirmation" in nothing.stderr
    stood = deskctl(tmp_path, "stand", "--json")
    assert stood.returncode == 0, stood.stderr
    assert json.loads(stood.stdout)["height_mm"] == 1100


def test_without_a_service_schedule_commands_say_how_to_start_it(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "skip")
    assert done.returncode == 1
    assert "deskctl run" in done.stderr


def test_sigterm_during_a_move_stops_the_desk_and_records_it(tmp_path: Path) -> None:
    proc = start_service(tmp_path, "--from", "2026-11-30T07:00:00+01:00")
    mover = subprocess.Popen(
        [sys.executable, "-m", "deskctl", "stand", "--json"],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = control_client.call("status", path=tmp_path / "run" / "control.sock")
        if state["moving"]:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the desk never started moving")
    out = stop_service(proc)
    assert proc.returncode == 0, out
    _, err = mover.communicate(timeout=30)
    assert mover.returncode == 1
    assert "stopping" in err or "stopped" in err
    with Store(tmp_path / "state" / "demo-history.sqlite3", readonly=True) as store:
        moves = store.events("desk", _t(2026), _t(2027), ["move"])
    assert moves[-1].data["outcome"] in ("stopped", "link_lost")
    assert moves[-1].data["to_mm"] == 1100
    height = json.loads((tmp_path / "state" / "sim-desk.json").read_text())["height_mm"]
    assert height < 1050, "the desk was stopped, not left to run on"


def test_a_restart_mid_day_continues_the_pause(tmp_path: Path) -> None:
    first = start_service(tmp_path, "--from", "2026-11-30T10:00:00+01:00")
    paused = deskctl(tmp_path, "pause", "--json")
    assert json.loads(paused.stdout)["schedule"] == "paused"
    stop_service(first)
    again = start_service(tmp_path, "--from", "2026-11-30T10:05:00+01:00")
    try:
        state = json.loads(deskctl(tmp_path, "status", "--json").stdout)
        assert state["schedule"] == "paused"
    finally:
        stop_service(again)


def _t(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def test_profile_use_switches_the_running_service_live_and_is_remembered(
    tmp_path: Path, service: subprocess.Popen[str]
) -> None:
    done = deskctl(tmp_path, "profile", "use", "cornell-20-8-2")
    assert done.returncode == 0, done.stderr
    state = json.loads(deskctl(tmp_path, "status", "--json").stdout)
    assert state["profile"] == "cornell-20-8-2"
    remembered = json.loads((tmp_path / "state" / "profile.json").read_text())
    assert remembered == {"desk": "cornell-20-8-2"}
    unknown = deskctl(tmp_path, "profile", "use", "tall")
    assert unknown.returncode == 2
    assert json.loads(deskctl(tmp_path, "status", "--json").stdout)["profile"] == "cornell-20-8-2"


SEATED = (
    'sit = "72cm"\nstand = "110cm"\ncycle = [\n'
    + '  { posture = "sit", minutes = 240 },\n' * 3
    + "]\n"
)
SEATED_SENTENCE = (
    "profile 'seated' keeps a person seated for up to 4 h at a stretch; the advice is to get up "
    "at least every 30 minutes, as sitting bouts of 30 minutes or more are linked to poorer health"
)
SEATED_WARNING = f"deskctl: warning: {SEATED_SENTENCE}.\n"


def test_profile_use_says_where_the_new_profile_goes_past_the_health_limits(
    tmp_path: Path, service: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config" / "profiles").mkdir(parents=True)
    (tmp_path / "config" / "profiles" / "seated.toml").write_text(SEATED)
    # the service's answer says it (the CLI loads no profile to say so)
    sock = tmp_path / "run" / "control.sock"
    answer = control_client.call("profile_use", args={"name": "seated"}, path=sock)
    assert answer["profile"] == "seated"
    assert answer["health_warnings"] == [SEATED_SENTENCE]
    healthy = control_client.call("profile_use", args={"name": "default"}, path=sock)
    assert (healthy["health_warnings"], healthy["health_notes"]) == ([], [])
    standing = control_client.call("profile_use", args={"name": "sit-stand-30-15"}, path=sock)
    assert standing["health_warnings"] == []
    (note,) = standing["health_notes"]
    assert note.startswith("profile 'sit-stand-30-15' plans up to 2 h 15 min of standing")
    said = deskctl_in_process(tmp_path, "profile", "use", "sit-stand-30-15")
    assert (said.returncode, said.stderr) == (0, f"deskctl: note: {note}.\n")
    # and the CLI prints it, as it did when it loaded the profile itself
    done = deskctl_in_process(tmp_path, "profile", "use", "seated")
    assert (done.returncode, done.stderr) == (0, SEATED_WARNING)
    assert "desk: now using profile 'seated'" in done.stdout
    # a service from before `health_warnings`: the CLI loads the profile and says the same
    from deskctl.cli import service_calls

    older = service_calls.via_service

    def without_warnings(*args: Any) -> dict[str, Any] | None:
        answer = older(*args)
        return (
            None if answer is None else {k: v for k, v in answer.items() if k != "health_warnings"}
        )

    monkeypatch.setattr(service_calls, "via_service", without_warnings)
    again = deskctl_in_process(tmp_path, "profile", "use", "seated")
    assert (again.returncode, again.stdout, again.stderr) == (0, done.stdout, SEATED_WARNING)
