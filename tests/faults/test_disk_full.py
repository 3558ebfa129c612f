"""A full disk under the history: the desk stays safe and the log says so once.

The service runs on the simulated desk and virtual time with a real SQLite history. The disk
"fills up" at 09:10: SQLite's `max_page_count` is pinned to the file's current size and the last
page is filled, so every later write fails with SQLITE_FULL, as on a full disk (no root, no
tmpfs needed, so it runs the same in CI). From then on the person must notice nothing at the
desk: changes move on time and land, a stop mid-move stops it, commands answer. The log says
once that the history (and the schedule's state) is not being saved, and once that it is again
when space comes back, never a line per event.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

import pytest

from deskctl.adapters.history_store import Store
from deskctl.core.linak import Char, Command
from deskctl.errors import DeskError
from deskctl.service.core import Service
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded, run_service, sim

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)
SIT_MM, STAND_MM = 720, 1100


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute, second=second)


async def until(service: Service, when: datetime) -> None:
    await service.clock.sleep((when - service.clock.now()).total_seconds())


def fill_disk(store: Store) -> None:
    """Pin the file at its size, then fill every table's free space down to the last byte."""
    db = store._db  # the test reaches in: SQLite's page limit is set per connection
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    db.execute(f"PRAGMA max_page_count = {pages}")
    for size in (2000, 200, 20, 0):
        pad = "x" * size
        for _ in range(10_000):
            try:
                store.record("filler", START, "height", height_mm=0, pad=pad)
            except DeskError:
                break
        for n in range(10_000):
            try:
                store.set_state("filler", f"pad-{size}-{n}", pad)
            except DeskError:
                break
    with pytest.raises(DeskError, match="the disk is full"):
        store.record("desk", START, "session", state="start")


def free_disk(store: Store) -> None:
    store._db.execute("PRAGMA max_page_count = 1073741823")


SAID = {
    "history not saved (the desk stays safe)": "history lost",
    "the schedule's state was not saved": "state lost",
    "history is being saved again": "history back",
    "the schedule's state is being saved again": "state back",
}


def disk_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the log said about the disk, in order, by kind."""
    return [
        kind
        for record in caplog.records
        for words, kind in SAID.items()
        if words in record.getMessage()
    ]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_full_disk_keeps_the_desk_safe_and_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = Store(tmp_path / "history.sqlite3")
    marks: dict[str, int] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 10))
        fill_disk(store)
        TALLY.fault()
        marks["rows_at_full"] = len(store.events("desk", at(0), at(23)))
        status = await service.call("inhibit", args={"on": True})  # commands that save state
        assert status["schedule"] == "inhibited"
        status = await service.call("inhibit", args={"on": False})
        assert status["schedule"] == "running"
        await until(service, at(9, 31))
        assert link.model.height_mm == STAND_MM, "the 09:30 change moved and landed"
        await until(service, at(9, 45, 4))
        assert link.model.moving, "the 09:45 change is under way"
        marks["writes"] = len(link.model.writes)
        status = await service.call("stop")
        await until(service, at(9, 45, 5))  # a real desk's stop takes effect within 0.2 s
        assert not link.model.moving, "stop still stops the desk"
        stops = [(c, d) for _, c, d in link.model.writes[marks["writes"] :]]
        assert (Char.COMMAND, Command.STOP.value) in stops
        await service.call("resume")
        await until(service, at(10, 16))
        assert link.model.height_mm == STAND_MM, "the 10:15 change moved and landed"
        marks["rows_before_free"] = len(store.events("desk", at(0), at(23)))
        free_disk(store)
        await until(service, at(10, 31))

    try:
        recorded = run_service(START, script, store=store)
        rows = store.events("desk", at(0), at(23))
    finally:
        store.close()
    assert marks["rows_before_free"] == marks["rows_at_full"], "nothing was written meanwhile"
    assert len(rows) > marks["rows_at_full"], "writing resumed once there was space"
    lines = disk_lines(caplog)
    assert sorted(lines) == sorted(SAID.values()), "each said once, not at every event"
    assert lines.index("history lost") < lines.index("history back")
    assert lines.index("state lost") < lines.index("state back")
    started = [(when.strftime("%H:%M"), f["target_mm"]) for when, f in recorded.of("move_started")]
    assert started == [
        ("09:00", SIT_MM),
        ("09:30", STAND_MM),
        ("09:45", SIT_MM),
        ("10:15", STAND_MM),
        ("10:30", SIT_MM),
    ]
    outcomes = [f["outcome"] for _, f in recorded.of("move")]
    assert outcomes == ["arrived", "arrived", "stopped", "arrived", "arrived"]


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_history_file_that_is_full_from_the_start_still_lets_the_service_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = Store(tmp_path / "history.sqlite3")
    fill_disk(store)
    TALLY.fault()

    async def script(service: Service, recorded: Recorded) -> None:
        async with asyncio.timeout(3600):
            await until(service, at(9, 31))
        assert sim(service).model.height_mm == STAND_MM

    try:
        recorded = run_service(START, script, store=store)
    finally:
        store.close()
    assert [f["outcome"] for _, f in recorded.of("move")] == ["arrived", "arrived"]
    assert sorted(disk_lines(caplog)) == ["history lost", "state lost"]
