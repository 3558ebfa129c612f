"""A whole service on the simulated desk and virtual time, with every event it emits recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from deskctl.adapters.history_store import Store
from deskctl.config.settings import Settings
from deskctl.service.assembly import build_service
from deskctl.service.core import Service
from deskctl.service.news import HeightReported, ServiceEvent, StatusChanged
from deskctl.sim.links import SimLink
from deskctl.testing.virtual_time import run_virtual

TZ = ZoneInfo("Europe/Berlin")


@dataclass
class Recorded:
    events: list[tuple[str, datetime, str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, event: ServiceEvent) -> None:
        """Keep the news (not the height reports and status changes adapters follow)."""
        if not isinstance(event, HeightReported | StatusChanged):
            self.events.append((event.desk, event.at, event.kind, event.fields()))

    def kinds(self) -> list[str]:
        return [kind for _, _, kind, _ in self.events]

    def of(self, kind: str) -> list[tuple[datetime, dict[str, Any]]]:
        return [(at, f) for _, at, k, f in self.events if k == kind]


def run_service(
    start: datetime,
    script: Callable[[Service, Recorded], Awaitable[None]],
    *,
    settings: Settings | None = None,
    store: Store | None = None,
) -> Recorded:
    """Build the simulated service from `start`, run `script` beside it, then stop it."""
    recorded = Recorded()

    async def main() -> None:
        service = build_service(
            settings or Settings(), TZ, simulate=True, time_scale=1.0, start_at=start, store=store
        )
        for runner in service.desks.values():
            if isinstance(runner.link, SimLink):
                runner.link._persist = False
        service.subscribe(recorded)
        runner_task = asyncio.create_task(service.run())
        try:
            await script(service, recorded)
        finally:
            service.request_stop()
            await runner_task

    run_virtual(main())
    return recorded


def sim(service: Service, desk: str = "desk") -> SimLink:
    link = service.desks[desk].link
    assert isinstance(link, SimLink)
    return link
