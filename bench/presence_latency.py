"""Presence sources: from a D-Bus signal to the event deskctl hears, and what polling costs.

How: a private `dbus-daemon` (the test suite's helper) with the fake GNOME idle monitor, logind
and ScreenSaver of tests/presence_fakes.py, all in this process and loop, and the real sources
in a `PresenceChain`. Timed with `time.perf_counter()` from just before the fake emits until the
chain hands the event over:
- logind `Lock` / `Unlock` signals -> locked / unlocked;
- Mutter's idle watch firing -> idle (the source adds its user-active watch first: one round
  trip more), and the user-active watch firing -> active.
The ScreenSaver source polls; its reaction time is the poll interval (1.5 s) at most, so what is
measured is one poll's round trip (`GetSessionIdleTime`) and the CPU time this process spends per
poll, both sides included, scaled to an hour of polling. Prints median, p90 and p99; never
asserts.

Run: `.venv/bin/python bench/presence_latency.py [--quick] [--runs N]`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import Summary, bench_parser, ms, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from deskctl.adapters.presence import PresenceChain
from deskctl.adapters.presence.logind import LogindSource
from deskctl.adapters.presence.mutter import MutterIdleSource
from deskctl.adapters.presence.screensaver import POLL_S, ScreenSaverSource
from deskctl.core.presence import Event, Signal
from tests.dbus_recorder import private_session_bus
from tests.presence_fakes import SESSION_ID, FakeLogind, FakeMutter, FakeScreenSaver, serve

AWAY_S = 300
WAIT_S = 10.0


class Stamped:
    """Each event the chain hands over, with the time it arrived."""

    def __init__(self) -> None:
        self.arrived: asyncio.Queue[tuple[Event, float]] = asyncio.Queue()

    def __call__(self, event: Event) -> None:
        self.arrived.put_nowait((event, time.perf_counter()))

    async def next(self, signal: Signal) -> float:
        async with asyncio.timeout(WAIT_S):
            while True:
                event, at = await self.arrived.get()
                if event.signal is signal:
                    return at


async def timed(heard: Stamped, cause: Callable[[], None], signal: Signal) -> float:
    start = time.perf_counter()
    cause()
    return await heard.next(signal) - start


async def signals(address: str, runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {k: [] for k in ("lock", "unlock", "idle", "active")}
    logind, mutter, heard = FakeLogind(), FakeMutter(), Stamped()
    sources = [
        LogindSource(bus_address=address, environ={"XDG_SESSION_ID": SESSION_ID}),
        MutterIdleSource(AWAY_S, bus_address=address),
    ]
    async with serve(logind, address), serve(mutter, address), PresenceChain(sources, heard):
        await heard.next(Signal.UNLOCKED)
        await heard.next(Signal.ACTIVE)
        for _ in range(runs):
            samples["lock"].append(await timed(heard, logind.session.Lock, Signal.LOCKED))
            samples["unlock"].append(await timed(heard, logind.session.Unlock, Signal.UNLOCKED))
            idle = await timed(heard, lambda: mutter.idle_for(AWAY_S * 1000), Signal.IDLE)
            samples["idle"].append(idle)
            samples["active"].append(await timed(heard, mutter.touch, Signal.ACTIVE))
    return samples


async def polling(address: str, runs: int) -> tuple[list[float], float]:
    """Round trips of one poll, and CPU seconds per poll (both ends, this process)."""
    saver = FakeScreenSaver()
    source = ScreenSaverSource(AWAY_S, bus_address=address)
    trips: list[float] = []
    async with serve(saver, address):
        await source.open()
        try:
            cpu_start = time.process_time()
            for _ in range(runs):
                start = time.perf_counter()
                await source._idle_s()
                trips.append(time.perf_counter() - start)
            cpu_per_poll = (time.process_time() - cpu_start) / runs
        finally:
            await source.close()
    return trips, cpu_per_poll


async def main(runs: int) -> None:
    with private_session_bus() as address:
        samples = await signals(address, runs)
        trips, cpu_per_poll = await polling(address, runs * 5)
    rows = []
    for label, values in (
        ("logind Lock -> locked", samples["lock"]),
        ("logind Unlock -> unlocked", samples["unlock"]),
        ("Mutter idle watch -> idle", samples["idle"]),
        ("Mutter active watch -> active", samples["active"]),
        ("ScreenSaver poll round trip", trips),
    ):
        s = Summary.of(values)
        rows.append([label, str(s.n), ms(s.median, 2), ms(s.p90, 2), ms(s.p99, 2)])
    print_table("Presence: signal to event (ms)", ["path", "n", "median", "p90", "p99"], rows)
    per_hour_s = cpu_per_poll * 3600 / POLL_S
    print(
        f"\nScreenSaver polling every {POLL_S:g} s: {cpu_per_poll * 1e6:.0f} µs CPU per poll "
        f"(source and fake service together), {per_hour_s:.2f} s CPU per hour"
    )


if __name__ == "__main__":
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, default=None, help="samples per path (default 200)")
    args = parser.parse_args()
    asyncio.run(main(args.runs or (40 if args.quick else 200)))
