"""Every deskctl benchmark, one after another, each printing its tables: the one command.

Run: `.venv/bin/python bench/run_all.py [--quick] [--only NAME ...]` from the repository.
The figure scripts run in this order: cli_start, ble_moves, command_latency, mqtt_latency,
mqtt_moves (when they are there), idle_service, workday; any other `bench/*.py` (not starting with
`_`) runs after them. Each runs as its own process on this interpreter, so one that fails is
reported and the rest still run; the exit status is 1 if any failed. `--quick` is passed to the
scripts that offer it (fewer runs, 15 s idle windows: about four minutes in all, against about
eighteen: mqtt_moves moves a desk in real time). These are measurements, never pass/fail tests:
nothing here compares a figure with a limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _common import bench_parser, machine

HERE = Path(__file__).resolve().parent
ORDER = (
    "cli_start",
    "ble_moves",
    "command_latency",
    "mqtt_latency",
    "mqtt_moves",
    "idle_service",
    "workday",
)


def scripts() -> list[Path]:
    """The bench scripts in run order: the known figures first, then any others by name."""
    found = {
        path.stem: path
        for path in HERE.glob("*.py")
        if not path.stem.startswith("_") and path.stem != "run_all"
    }
    known = [found.pop(name) for name in ORDER if name in found]
    return known + [found[name] for name in sorted(found)]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts")
    args = parser.parse_args()
    chosen = [p for p in scripts() if not args.only or p.stem in args.only]
    print(f"deskctl benchmarks on {machine()}")
    print(f"scripts: {', '.join(p.stem for p in chosen)}{' (quick)' if args.quick else ''}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    failed: list[str] = []
    began = time.perf_counter()
    for path in chosen:
        argv = [sys.executable, str(path)]
        if args.quick and "--quick" in path.read_text(encoding="utf-8"):
            argv.append("--quick")
        print(f"\n=== {path.stem} ===", flush=True)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, check=False)
        took_s = time.perf_counter() - start
        if done.returncode != 0:
            failed.append(path.stem)
            print(f"{path.stem} failed with exit status {done.returncode}")
        print(f"({path.stem}: {took_s:.0f} s)", flush=True)
    total_s = time.perf_counter() - began
    print(f"\nall done in {total_s:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
