"""Figure 3, command latency: a move command to the first write on the desk link.

How: the service runs in this process, in a thread with its own (real-time) event loop
(`_service.ServiceThread`): built by `build_service` on the simulated desk, with the SQLite
history and the notifiers as `deskctl run` has them, serving a `ControlServer` on a socket in a
temporary folder. Its desk link's GATT client is wrapped so that every write the link sends to
the desk is stamped with `time.perf_counter()` (one clock for the whole process, threads
included). Sampling starts once the desk has reported its height. Timed from the moment
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

import itertools
import os
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from _common import BIN, Summary, bench_parser, deskctl_home, ms, print_table, socket_of
from _service import ServiceThread, StampedGatt

from deskctl.adapters.control_client import call
from deskctl.adapters.control_server import ControlServer, service_handler

HEIGHTS_MM = (1000, 1010)
_WAIT_S = 30.0


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
        service = ServiceThread(
            args.time_scale,
            history=True,
            beside=lambda service, _stop: ControlServer(sock, service_handler(service)),
        )
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
