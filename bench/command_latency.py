"""Figure 3, command latency: a move command to the first write on the desk link.

How: the service runs in this process, in a thread with its own (real-time) event loop: built by
`build_service` on the simulated desk, with the SQLite history and the notifiers as `deskctl run`
has them, serving a `ControlServer` on a socket in a temporary folder. Its desk link's GATT
client is wrapped so that every write the link sends to the desk is stamped with
`time.perf_counter()` (one clock for the whole process, threads included). Timed from the moment
a command leaves until the first write of the move reaches the desk's GATT client:
- `call("move")` from a Python client in this process: socket, request check, the service's
  owner task, the move controller, the link's writer task;
- `deskctl move` as a subprocess, as a person types it: all of the above plus interpreter start,
  imports and option parsing.
Two figures for each: the first write of the move (COMMAND wake) and the first target written
(REFERENCE_INPUT, the one that makes the motor run). Moves alternate between 1000 and 1010 mm.
The service's clock (and with it the simulated motor) runs `--time-scale` times faster (default
10) so the moves between samples are short; nothing on the path from command to write waits on
that clock (`--time-scale 1` gives the same figures, only slower). The clock starts on a Sunday
evening, so the schedule never moves the desk on its own meanwhile.
If bench/mqtt_latency.py exists, run_all.py runs it too for the MQTT publish figure.

Run: `.venv/bin/python bench/command_latency.py [--quick] [--runs N] [--time-scale X]`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from _common import BIN, Summary, bench_parser, deskctl_home, ms, print_table, socket_of

from deskctl.cli.run_cmds import build_service
from deskctl.control import ControlServer
from deskctl.control_client import call
from deskctl.core.linak import Char
from deskctl.links.gatt import GattClient
from deskctl.links.linak import LinakLink
from deskctl.notify import build_notifiers
from deskctl.settings import Settings
from deskctl.store import Store

TZ = ZoneInfo("Europe/Berlin")
IDLE_START = datetime(2026, 11, 29, 20, 0, tzinfo=TZ)  # a Sunday evening: no schedule
HEIGHTS_MM = (1000, 1010)
_WAIT_S = 30.0


class StampedGatt:
    """A `GattClient` that stamps the first write, and the first target, after `arm()`."""

    def __init__(self, inner: GattClient) -> None:
        self.inner = inner
        self.first_write: float | None = None
        self.first_target: float | None = None
        self.target_seen = threading.Event()

    def arm(self) -> None:
        self.first_write = self.first_target = None
        self.target_seen.clear()

    @property
    def is_connected(self) -> bool:
        return self.inner.is_connected

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        await self.inner.connect(on_disconnect)

    async def disconnect(self) -> None:
        await self.inner.disconnect()

    async def read(self, char: Char) -> bytes:
        return await self.inner.read(char)

    async def write(self, char: Char, data: bytes) -> None:
        now = time.perf_counter()
        if self.first_write is None:
            self.first_write = now
        if char is Char.REFERENCE_INPUT and self.first_target is None:
            self.first_target = now
            self.target_seen.set()
        await self.inner.write(char, data)

    async def subscribe(self, char: Char, callback: Callable[[bytes], None]) -> None:
        await self.inner.subscribe(char, callback)


class ServiceThread:
    """The simulated service, its history, notifiers and control socket, in a thread."""

    def __init__(self, sock: Path, time_scale: float) -> None:
        self.sock = sock
        self.time_scale = time_scale
        self.gatt: StampedGatt | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="service", daemon=True)

    def start(self) -> StampedGatt:
        self._thread.start()
        if not self._ready.wait(_WAIT_S) or self.gatt is None:
            raise RuntimeError(f"the in-process service did not start: {self._error!r}")
        return self.gatt

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(_WAIT_S)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        settings = Settings()
        with Store() as store:
            async with build_notifiers(settings.notify) as notifiers:
                service = build_service(
                    settings,
                    TZ,
                    simulate=True,
                    time_scale=self.time_scale,
                    start_at=IDLE_START,
                    store=store,
                    notifiers=notifiers,
                )
                link = next(iter(service.desks.values())).link
                if not isinstance(link, LinakLink):
                    raise TypeError(f"the simulated desk's link is a {type(link).__name__}")
                self.gatt = StampedGatt(link.gatt)
                link.gatt = self.gatt
                async with ControlServer(self.sock, service.handle):
                    runner = asyncio.create_task(service.run())
                    await _first_report(link)
                    self._ready.set()
                    await self._stop.wait()
                    service.request_stop()
                    await runner


async def _first_report(link: LinakLink) -> None:
    """Until the desk has reported its height (it connects after the service starts; a move
    before its first report is refused)."""
    known = asyncio.Event()
    unsubscribe = link.subscribe(lambda _event: known.set())
    try:
        async with asyncio.timeout(_WAIT_S):
            while link.height_mm is None:
                known.clear()
                await known.wait()
    finally:
        unsubscribe()


def sample(gatt: StampedGatt, send: Callable[[], object]) -> tuple[float, float] | None:
    """(to the first write, to the first target) in seconds from the start of `send()`, which
    returns when the move has ended; None if the move wrote no target."""
    gatt.arm()
    start = time.perf_counter()
    send()
    if gatt.first_write is None or gatt.first_target is None:
        return None
    return gatt.first_write - start, gatt.first_target - start


def measure(
    gatt: StampedGatt, runs: int, sock: Path, env: dict[str, str]
) -> dict[str, list[tuple[float, float]]]:
    """Both paths, move after move, interleaved; two warm-up rounds are left out."""
    results: dict[str, list[tuple[float, float]]] = {"call('move')": [], "deskctl move": []}
    heights = itertools.cycle(HEIGHTS_MM)  # every move goes somewhere else
    for index in range(runs + 2):
        call_mm, cli_mm = next(heights), next(heights)
        argv = [str(BIN / "deskctl"), "move", f"{cli_mm}mm"]
        paths: dict[str, Callable[[], object]] = {
            "call('move')": partial(call, "move", None, {"height_mm": call_mm}, path=sock),
            "deskctl move": partial(
                subprocess.run, argv, env=env, capture_output=True, check=False, timeout=_WAIT_S
            ),
        }
        for label, send in paths.items():
            got = sample(gatt, send)
            wait_until_idle(sock)
            if got is not None and index >= 2:
                results[label].append(got)
    return results


def wait_until_idle(sock: Path) -> None:
    """Until the service says the desk is not moving (the move answered)."""
    deadline = time.perf_counter() + _WAIT_S
    while time.perf_counter() < deadline:
        if not call("status", path=sock).get("moving"):
            return
        time.sleep(0.01)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, help="moves per path (default 100, quick 20)")
    parser.add_argument("--time-scale", type=float, default=10.0)
    args = parser.parse_args()
    runs = args.runs or (20 if args.quick else 100)
    with deskctl_home() as (_, env):
        os.environ.update(env)  # the in-process service keeps its history in the temp folder
        sock = socket_of(env)
        service = ServiceThread(sock, args.time_scale)
        gatt = service.start()
        try:
            results = measure(gatt, runs, sock, env)
        finally:
            service.stop()
    rows = []
    medians: dict[str, float] = {}
    for label, pairs in results.items():
        first = Summary.of([p[0] for p in pairs])
        target = Summary.of([p[1] for p in pairs])
        medians[label] = target.median
        for what, s in (("first write", first), ("first target", target)):
            rows.append([f"{label}: {what}", str(s.n), ms(s.median, 2), ms(s.p90, 2), ms(s.p99, 2)])
    print_table(
        "Command to the first write on the desk link "
        f"(service in process, its clock x{args.time_scale:g})",
        ["path", "moves", "median ms", "p90 ms", "p99 ms"],
        rows,
    )
    cli_s, call_s = medians["deskctl move"], medians["call('move')"]
    print(
        f"of deskctl move's {ms(cli_s)} ms to the first target, {ms(call_s, 2)} ms are the "
        "service's part (call('move')); the rest is the CLI starting up (see cli_start.py)"
    )


if __name__ == "__main__":
    main()
