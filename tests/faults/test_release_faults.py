"""A scheduled change that falls inside a release (`deskctl release`) never moves the desk.

While the vendor's phone app has the desk, the schedule holds: at the change's time nothing is
started, nothing is written, nothing is held with an error; when the release ends the change is
found overdue and dropped as missed (as after a suspend), and the day goes on from there.
A release outlasts a crash of the service: it was on disk before the desk was let go.
Whole service, simulated LINAK desk, virtual time. Default profile: sit 72 cm / stand 110 cm,
changes at 09:00 (sit), 09:30 (stand), 09:45 (sit), 10:15 (stand).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from deskctl.adapters.history_store import Store
from deskctl.service.commands import Release
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


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_change_inside_a_release_does_not_move_the_desk() -> None:
    seen: dict[str, object] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 25))
        await service.submit(Release(duration_s=10 * 60))  # 09:25 to 09:35, over 09:30
        TALLY.fault()
        writes = len(link.model.writes)
        await until(service, at(9, 34, 50))
        seen["writes"] = link.model.writes[writes:]
        seen["status"] = await service.call("status")
        await until(service, at(10, 20))
        seen["height_mm"] = link.model.height_mm

    recorded = run_service(START, script)
    assert seen["writes"] == [], "nothing reached the desk while it was released"
    status = seen["status"]
    assert isinstance(status, dict)
    assert status["held"] is None, "no failed move holds the schedule"
    assert status["released_until"] == at(9, 35).isoformat()
    started = [when for when, _ in recorded.of("move_started") if at(9, 25) <= when < at(9, 35)]
    assert started == [], "the change at 09:30 started no move"
    assert not [f for when, f in recorded.of("error") if at(9, 25) <= when < at(9, 35)]
    dropped = [f["why"] for when, f in recorded.of("dropped") if when >= at(9, 35)]
    assert dropped[:1] == ["missed"], "the overdue change was dropped once the release ended"
    later = [f["target_mm"] for when, f in recorded.of("move_started") if when >= at(9, 35)]
    assert later == [SIT_MM, STAND_MM], "the day went on: 09:45 sit, 10:15 stand"
    assert seen["height_mm"] == STAND_MM


async def _crash() -> None:
    """What a killed service does on its way out: nothing (kill -9, a power cut)."""


def test_a_release_survives_a_crash_of_the_service(tmp_path: Path) -> None:
    """Released at 09:25 for 10 minutes (the phone app has the desk), the service dies at 09:26
    and systemd starts it again at 09:27: it keeps off the desk, and the 09:30 change moves
    nothing, until the release's time is up at 09:35."""
    store = Store(tmp_path / "history.sqlite3")
    seen: dict[str, object] = {}

    async def first(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 25))
        await service.submit(Release(duration_s=10 * 60))
        await until(service, at(9, 26))
        service._shutdown = _crash  # type: ignore[method-assign]  # no stop code runs
        TALLY.fault()

    async def second(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        connected_at: list[datetime] = []
        connect = link.connect

        async def counted() -> None:
            connected_at.append(service.clock.now())
            await connect()

        link.connect = counted  # type: ignore[method-assign]  # before the service's first step
        await until(service, at(9, 34, 50))
        seen["writes"] = list(link.model.writes)
        seen["status"] = await service.call("status")
        await until(service, at(9, 36))
        seen["connected_at"] = connected_at

    try:
        run_service(at(8, 58), first, store=store)
        recorded = run_service(at(9, 27), second, store=store)
    finally:
        store.close()
    status = seen["status"]
    assert isinstance(status, dict)
    assert status["connected"] is False, "the restarted service took the desk from the phone app"
    assert status["released_until"] == at(9, 35).isoformat()
    assert seen["writes"] == [], "nothing reached the released desk after the crash"
    assert not [when for when, _ in recorded.of("move_started") if when < at(9, 35)]
    connected_at = seen["connected_at"]
    assert isinstance(connected_at, list)
    assert connected_at
    assert connected_at[0] >= at(9, 35), "it connected again when the time was up"
