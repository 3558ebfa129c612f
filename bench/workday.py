"""Figure 5, a simulated workday on the virtual clock: how long it takes in wall time.

How: the whole service, as `deskctl run --simulate` builds it (`build_service`, the SQLite
history in a temporary folder, the notifiers), runs on `run_virtual`, an event loop whose clock
jumps ahead whenever every task waits. The day is Monday 2026-11-30 from 08:59 to 17:31 in
Europe/Berlin with the `default` profile (09:00-12:30 and 13:30-17:30, sit 30 min / stand 15 min,
a 30 s warning before each change); every move runs on the simulated motor, renewal by renewal.
Timed: building the service, running the day, stopping it. Counted from its events: warnings,
scheduled moves, arrivals, cues, and anything that went wrong. With several desks each follows
the same profile on its own simulated desk.

Run: `.venv/bin/python bench/workday.py [--quick] [--runs N] [--desks 1,10]`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from _common import Summary, bench_parser, deskctl_home, print_table

from deskctl.adapters.history_store import Store, demo_path
from deskctl.adapters.notify import build_notifiers
from deskctl.config.settings import DeskSettings, Settings
from deskctl.service.assembly import build_service
from deskctl.service.news import HeightReported, MoveStarted, ServiceEvent, StatusChanged
from deskctl.testing.virtual_time import run_virtual

TZ = ZoneInfo("Europe/Berlin")
DAY_START = datetime(2026, 11, 30, 8, 59, tzinfo=TZ)
DAY_END = datetime(2026, 11, 30, 17, 31, tzinfo=TZ)
COUNTED = ("warning", "move_started", "arrived", "cue", "obstruction", "error", "held")


async def workday(desks: int) -> Counter[str]:
    """Run the service through the day; the count of each kind of event it emitted."""
    counts: Counter[str] = Counter()

    def count(event: ServiceEvent) -> None:
        if isinstance(event, HeightReported | StatusChanged):
            return
        if not isinstance(event, MoveStarted) or event.scheduled:
            counts[event.kind] += 1

    settings = Settings(desks={f"d{n}": DeskSettings() for n in range(1, desks + 1)})
    with Store(demo_path()) as store:  # a simulated day: never in the real history
        async with build_notifiers(settings.notify) as notifiers:
            service = build_service(
                settings,
                TZ,
                simulate=True,
                time_scale=1.0,
                start_at=DAY_START,
                store=store,
                notifiers=notifiers,
            )
            service.subscribe(count)
            runner = asyncio.create_task(service.run())
            await service.clock.sleep((DAY_END - DAY_START).total_seconds())
            service.request_stop()
            await runner
    return counts


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, help="days per desk count (default 5, quick 2)")
    parser.add_argument("--desks", help="desk counts to run (default 1,10; quick 1)")
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 5)
    desk_counts = [int(n) for n in (args.desks or ("1" if args.quick else "1,10")).split(",")]
    day_s = (DAY_END - DAY_START).total_seconds()
    rows = []
    for desks in desk_counts:
        walls: list[float] = []
        counts: Counter[str] = Counter()
        for _ in range(runs):
            with deskctl_home() as (_, env):
                saved = dict(os.environ)
                os.environ.update(env)  # the history and the sim desks' files go to the temp dir
                try:
                    start = time.perf_counter()
                    counts = run_virtual(workday(desks))
                    walls.append(time.perf_counter() - start)
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
        wall = Summary.of(walls)
        rows.append(
            [
                str(desks),
                str(wall.n),
                f"{wall.median:.3f}",
                f"{wall.p90:.3f}",
                f"{day_s / wall.median:,.0f}x",
                *(str(counts[kind]) for kind in COUNTED),
            ]
        )
    print_table(
        "A simulated workday on the virtual clock: 08:59-17:31, default profile "
        "(events counted per day, all desks)",
        ["desks", "days", "wall med s", "p90 s", "speed-up", *COUNTED],
        rows,
    )
    print("move_started counts scheduled moves only; speed-up is simulated time over wall time")


if __name__ == "__main__":
    main()
