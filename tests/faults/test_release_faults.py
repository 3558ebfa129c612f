"""A scheduled change that falls inside a release (`deskctl release`) never moves the desk.

While the vendor's phone app has the desk, the schedule holds: at the change's time nothing is
started, nothing is written, nothing is held with an error; when the release ends the change is
found overdue and dropped as missed (as after a suspend), and the day goes on from there.
Whole service, simulated LINAK desk, virtual time. Default profile: sit 72 cm / stand 110 cm,
changes at 09:00 (sit), 09:30 (stand), 09:45 (sit), 10:15 (stand).
"""

from __future__ import annotations

from datetime import datetime

import pytest

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
