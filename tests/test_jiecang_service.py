"""A simulated workday through the service on `--sim jiecang`, on virtual time: every move the
schedule makes lands on the Jiecang box, as `deskctl run --sim jiecang` would."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from deskctl.config.settings import Settings
from deskctl.service.assembly import build_service
from deskctl.sim.jiecang_links import SimJiecangLink
from deskctl.testing.virtual_time import run_virtual
from tests.service_harness import TZ, Recorded

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)


@pytest.mark.parametrize("sim", ["jiecang", "jiecang:00FF"])
def test_a_day_on_the_simulated_jiecang_desk(sim: str) -> None:
    recorded = Recorded()
    landed: list[tuple[int, float]] = []

    async def main() -> None:
        service = build_service(
            Settings(), TZ, simulate=True, sim=sim, time_scale=1.0, start_at=MONDAY
        )
        link = service.desks["desk"].link
        assert isinstance(link, SimJiecangLink)
        link._persist = False
        service.subscribe(recorded)

        def note(event: object) -> None:
            if getattr(event, "kind", "") == "arrived":
                landed.append((event.fields()["height_mm"], link.model.motor.pos_mm))  # type: ignore[attr-defined]

        service.subscribe(note)
        task = asyncio.create_task(service.run())
        try:
            await service.clock.sleep(6 * 3600)  # 08:00 to 14:00
        finally:
            service.request_stop()
            await task

    wall_start = time.perf_counter()
    run_virtual(main())
    assert time.perf_counter() - wall_start < 120
    moves, arrived = recorded.of("move_started"), recorded.of("arrived")
    assert len(moves) >= 6
    assert len(arrived) == len(moves), "every move arrived"
    targets = [fields["target_mm"] for _, fields in moves]
    assert {720, 1100} <= set(targets)
    for (said_mm, true_mm), target_mm in zip(landed, targets, strict=True):
        assert abs(true_mm - target_mm) <= 1.0
        assert abs(said_mm - target_mm) <= 1
