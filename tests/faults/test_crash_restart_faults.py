"""Crash faults: `kill -9` of the running service, then a restart on the same folders.

A crash (kill -9, OOM, a power cut) runs no code of the service: what it knew survives only if it
was on disk before it mattered. The service is `deskctl run --simulate` in a subprocess with its
own folders; this test kills it with SIGKILL and starts it again, as systemd would, and checks
what a person notices: a hold the scheduler made by itself still holds after the restart, the
sitting block in progress ends when it would have (not a whole block after the restart), the
desk's real height beats the posture the history remembers, and `stats` never counts the time
the service was dead. The exact timing of a hold being saved before anyone hears of it runs in
process on virtual time (tests/service_harness.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters import control_client
from deskctl.adapters.history_store import Store
from deskctl.service.core import Service
from deskctl.service.news import ServiceEvent
from tests.cli import deskctl
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded, run_service, sim
from tests.service_process import start_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
MONDAY = "2026-11-30"
SIT_MM, STAND_MM = 720, 1100
_WAIT_S = 60.0


def sock(tmp_path: Path) -> Path:
    return tmp_path / "run" / "control.sock"


def status(tmp_path: Path) -> dict[str, Any]:
    return control_client.call("status", path=sock(tmp_path), timeout_s=10)


def wait_for(tmp_path: Path, what: str, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the service's status until `ok` holds (a bounded wait on a condition)."""
    deadline = time.monotonic() + _WAIT_S
    while time.monotonic() < deadline:
        now = status(tmp_path)
        if ok(now):
            return now
        time.sleep(0.02)
    raise AssertionError(f"never {what}: {status(tmp_path)}")


def kill_9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    TALLY.fault()
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def monday_stats(tmp_path: Path) -> dict[str, Any]:
    done = deskctl(tmp_path, "stats", "--demo", "--to", MONDAY, "--days", "1", "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout)["days"][0])


def start(tmp_path: Path, hhmm: str, scale: str) -> subprocess.Popen[str]:
    return start_service(tmp_path, "--time-scale", scale, "--from", f"{MONDAY}T{hhmm}:00+01:00")


def test_a_hold_the_scheduler_made_survives_kill_9(tmp_path: Path) -> None:
    """The 09:30 stand is stopped mid-way (as an obstruction would stop it): the scheduler holds.
    The service is killed at once; after the restart the schedule still holds, and after a
    second kill and a restart the next morning it holds still (until `resume`)."""
    proc = start(tmp_path, "09:29:40", "4")  # warned at once; the stand starts at 09:30:10
    try:
        wait_for(tmp_path, "moved to stand", lambda s: s["moving"])
        control_client.call("stop", path=sock(tmp_path), timeout_s=30)
        TALLY.fault()
        held = wait_for(tmp_path, "held", lambda s: s["held"] is not None)
        assert held["schedule"] == "inhibited"
        kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    again = start(tmp_path, "09:31", "4")
    try:
        after = status(tmp_path)
        assert after["held"] is not None, "the hold was forgotten by the crash"
        assert after["schedule"] == "inhibited"
        assert not after["moving"]
        kill_9(again)
    finally:
        if again.poll() is None:
            again.kill()
            again.communicate(timeout=30)
    tuesday = start_service(tmp_path, "--time-scale", "4", "--from", "2026-12-01T08:59:00+01:00")
    try:
        after = status(tmp_path)
        assert after["held"] == held["held"], "a hold outlasts midnight, as in a running service"
    finally:
        stop(tuesday)


def test_a_release_survives_kill_9_until_its_time_is_up(tmp_path: Path) -> None:
    """Released for the phone app for 20 minutes at about 09:20, the service is killed and
    systemd starts it again at 09:38: it keeps off the desk, and connects only when the
    release's time is up (about 09:40), as the history's first height record shows."""
    proc = start(tmp_path, "09:20", "10")
    try:
        released = control_client.call(
            "release", args={"duration_s": 20 * 60}, path=sock(tmp_path), timeout_s=30
        )
        wait_for(tmp_path, "let go of the desk", lambda s: not s["connected"])
        kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    until = datetime.fromisoformat(released["released_until"])
    again = start_service(
        tmp_path, "--time-scale", "60", "--from", f"{MONDAY}T09:38:00+01:00", desk_ready=False
    )
    try:
        after = status(tmp_path)
        assert after["released_until"] == released["released_until"], "the crash ended it"
        back = wait_for(tmp_path, "connected again", lambda s: s["height_mm"] is not None)
        assert (back["connected"], back["released_until"]) == (True, None)
    finally:
        stop(again)
    with Store(tmp_path / "state" / "demo-history.sqlite3", readonly=True) as store:
        events = store.events("desk", datetime(2026, 11, 30, 9, 37, tzinfo=TZ), datetime.now(TZ))
    heard = [e.at for e in events if e.kind == "height"]  # the desk's first report, connected
    assert heard, "the restarted service never heard the desk"
    assert heard[0] >= until, f"connected at {heard[0]:%H:%M:%S}, while released"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_restart_keeps_the_block_in_progress_and_stats_skip_the_dead_time(
    tmp_path: Path,
) -> None:
    """Seated since the 09:00 change, killed at about 09:05, started again at 09:20: the stand
    still comes at 09:30 (not at 09:50), and `stats` counts the minutes the service ran."""
    proc = start(tmp_path, "08:59", "60")
    try:
        wait_for(
            tmp_path,
            "sat for 5 minutes",
            lambda s: s["posture"] == "sit" and not s["moving"] and s["sitting_bout_s"] >= 300,
        )
        kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    dead = monday_stats(tmp_path)  # Monday, seen from today: the service has been dead since
    assert 240 <= dead["sitting_s"] <= 600, f"{dead['sitting_s']} s of sitting in 5 min of service"

    again = start(tmp_path, "09:20", "10")
    try:
        after = status(tmp_path)
        assert after["posture"] == "sit"
        assert after["next_posture"] == "stand"
        assert after["next_change_at"] == f"{MONDAY}T09:30:00+01:00", "the sit was extended"
    finally:
        out = stop(again)
    assert "ended without stopping" in out
    with Store(tmp_path / "state" / "demo-history.sqlite3", readonly=True) as store:
        sessions = store.events("desk", datetime(2026, 11, 30, tzinfo=TZ), datetime.now(TZ))
    states = [e.data["state"] for e in sessions if e.kind == "session"]
    assert states == ["start", "stop", "start", "stop"], "the dead session got its stop"
    day = monday_stats(tmp_path)
    assert day["sitting_s"] <= dead["sitting_s"] + 900, "the 15 dead minutes are not counted"


def test_after_kill_9_the_desk_s_first_report_beats_the_posture_in_the_history(
    tmp_path: Path,
) -> None:
    """Killed while seated; the person stands the desk up by hand while the service is down.
    The restarted service believes the desk, not the history: standing, and sitting next."""
    proc = start(tmp_path, "08:59", "60")
    try:
        wait_for(tmp_path, "sat", lambda s: s["posture"] == "sit" and not s["moving"])
        kill_9(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    (tmp_path / "state" / "sim-desk.json").write_text(json.dumps({"height_mm": STAND_MM}))
    TALLY.fault()
    again = start(tmp_path, "09:10", "10")
    try:
        after = status(tmp_path)
        assert after["height_mm"] == STAND_MM
        assert after["posture"] == "stand", "the history's posture won over the desk's height"
        assert after["next_posture"] == "sit"
        assert not after["moving"]
    finally:
        stop(again)


def test_a_heartbeat_is_one_state_value_not_a_row_a_minute(tmp_path: Path) -> None:
    """The table does not grow by a row a minute: an idle afternoon adds no rows."""
    db = tmp_path / "state" / "demo-history.sqlite3"
    proc = start(tmp_path, "18:00", "120")
    try:
        with Store(db, readonly=True) as store:
            rows = len(store.events(None, datetime(2026, 1, 1, tzinfo=TZ), datetime.now(TZ)))
            first = store.get_state("desk", "heartbeat")
        deadline = time.monotonic() + _WAIT_S
        beat = first
        while beat == first and time.monotonic() < deadline:  # bounded, on a condition
            time.sleep(0.05)
            with Store(db, readonly=True) as store:
                beat = store.get_state("desk", "heartbeat")
        with Store(db, readonly=True) as store:
            later = len(store.events(None, datetime(2026, 1, 1, tzinfo=TZ), datetime.now(TZ)))
    finally:
        stop(proc)
    TALLY.tried()
    assert isinstance(first, datetime)
    assert isinstance(beat, datetime)
    assert beat > first, "the heartbeat moves on"
    assert later == rows, "no row was added for the heartbeat"


# --- on virtual time: what is on disk at the moment it matters ------------------------------


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, second, tzinfo=TZ)


async def until(service: Service, when: datetime) -> None:
    await service.clock.sleep((when - service.clock.now()).total_seconds())


def test_an_obstruction_hold_is_on_disk_before_anyone_hears_of_it(tmp_path: Path) -> None:
    """The scheduler holds after an obstruction (no command involved): by the time the hold is
    announced, the saved state already says held; and when the held change's time comes, nothing
    moves."""
    store = Store(tmp_path / "history.sqlite3")
    on_disk: list[Any] = []

    def check(event: ServiceEvent) -> None:
        if event.kind == "held":
            on_disk.append((store.get_state(event.desk, "schedule") or {}).get("held"))

    async def script(service: Service, recorded: Recorded) -> None:
        service._subscribers.insert(0, check)  # before the history sink records it
        await until(service, at(9, 29))
        sim(service).model.collision_mm = 900
        TALLY.fault()
        await until(service, at(9, 50))

    try:
        recorded = run_service(at(8, 58), script, store=store)
        saved = store.get_state("desk", "schedule")
    finally:
        store.close()
    assert len(recorded.of("obstruction")) == 1
    assert len(on_disk) == 1
    assert on_disk[0], "the hold was announced before it was saved"
    assert saved["held"] == on_disk[0]
    targets = [f["target_mm"] for _, f in recorded.of("move_started")]
    assert targets == [SIT_MM, STAND_MM], "nothing moved while held"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_skip_survives_a_restart(tmp_path: Path) -> None:
    """The 09:30 stand is skipped at 09:29 and the service dies at 09:31: after the restart
    the skipped stand does not come back, and the next change is when it was before the crash
    (the stand at 10:15: the skip keeps the person sitting until then)."""
    store = Store(tmp_path / "history.sqlite3")
    before: list[str] = []
    after: list[str] = []

    async def first(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 29))
        before.append((await service.call("skip"))["next_change_at"])
        await until(service, at(9, 31))
        service._shutdown = _crash  # type: ignore[method-assign]  # kill -9: no stop code runs
        TALLY.fault()

    async def second(service: Service, recorded: Recorded) -> None:
        after.append((await service.call("status"))["next_change_at"])
        await until(service, at(9, 44))

    try:
        run_service(at(8, 58), first, store=store)
        recorded = run_service(at(9, 32), second, store=store)
    finally:
        store.close()
    assert recorded.of("move_started") == [], "the skipped stand came back after the restart"
    assert after == before == [at(10, 15).isoformat()]


async def _crash() -> None:
    """What a killed service does on its way out: nothing."""


@pytest.mark.usefixtures("sit_stand_30_15")
def test_after_a_crash_the_sit_in_progress_ends_when_it_would_have(tmp_path: Path) -> None:
    """Seated since the 09:00 change, the service dies at 09:15 and is back at 09:20: the stand
    is warned at 09:29:30 and starts at 09:30, as planned before the crash (not at 09:50)."""
    store = Store(tmp_path / "history.sqlite3")

    async def first(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 15))
        service._shutdown = _crash  # type: ignore[method-assign]  # kill -9: no stop code runs
        TALLY.fault()

    async def second(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 31))

    try:
        run_service(at(8, 58), first, store=store)
        recorded = run_service(at(9, 20), second, store=store)
    finally:
        store.close()
    warned = [when for when, _ in recorded.of("warning")]
    started = [(when, f["target_mm"]) for when, f in recorded.of("move_started")]
    assert len(warned) == 1
    assert abs((warned[0] - at(9, 29, 30)).total_seconds()) <= 1
    assert len(started) == 1
    assert started[0][1] == STAND_MM
    assert abs((started[0][0] - at(9, 30)).total_seconds()) <= 1, f"the stand came {started}"
