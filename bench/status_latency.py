"""How fast `call("status")` answers from a running service, against `python -c pass`.

A trivial `ControlServer` (its handler returns a fixed status object) runs in a thread. Timed:
- `call("status")` in this process: the socket round trip alone;
- a fresh interpreter that imports `deskctl.control_client` and calls `status`: what the CLI pays
  on top of starting Python;
- `python -c pass` and `deskctl --help`, the floor and the budget.
Run: `.venv/bin/python bench/status_latency.py [--runs N]`. Prints medians; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from deskctl.control import ControlServer, ProgressSink, Request
from deskctl.control_client import call

STATUS = {
    "desk": "office",
    "height_mm": 720,
    "posture": "sit",
    "moving": False,
    "schedule": "running",
    "next_change_at": "2026-11-30T09:30:00+01:00",
}
CLIENT = "from deskctl.control_client import call; call('status')"


async def status(request: Request, progress: ProgressSink) -> dict[str, Any]:
    return dict(STATUS)


def serve_in_thread(
    path: Path,
) -> tuple[threading.Thread, asyncio.AbstractEventLoop, asyncio.Event]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()

    async def serve() -> None:
        async with ControlServer(path, status):
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise SystemExit("the control server did not start")
    return thread, loop, stop


def time_calls(path: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call("status", path=path)
        samples.append(time.perf_counter() - start)
    return samples


def time_command(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        samples.append(time.perf_counter() - start)
    return samples


def report(label: str, samples: list[float]) -> float:
    samples = sorted(samples)
    median = statistics.median(samples)
    p90 = samples[int(0.9 * (len(samples) - 1))]
    print(f"{label:<36} {median * 1000:>10.2f} {p90 * 1000:>8.2f}")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deskctl-bench-") as folder:
        run_dir = Path(folder) / "run"
        env = {**os.environ, "DESKCTL_RUNTIME_DIR": str(run_dir)}
        thread, loop, stop = serve_in_thread(run_dir / "control.sock")
        try:
            print(f"{'what':<36} {'median ms':>10} {'p90 ms':>8}")
            report(
                "call('status') in process", time_calls(run_dir / "control.sock", args.runs * 10)
            )
            bare = report(
                "python -c pass", time_command([sys.executable, "-c", "pass"], args.runs, env)
            )
            client = report(
                "python: import client + status",
                time_command([sys.executable, "-c", CLIENT], args.runs, env),
            )
            helps = report(
                "deskctl --help",
                time_command([sys.executable, "-m", "deskctl", "--help"], args.runs, env),
            )
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(10)
            loop.close()
    for label, median in (("client + status", client), ("deskctl --help", helps)):
        extra_ms = (median - bare) * 1000
        print(f"{label} over python -c pass: +{extra_ms:.1f} ms ({median / bare:.2f}x)")


if __name__ == "__main__":
    main()
