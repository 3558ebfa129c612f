"""Figure 4, the service at rest: CPU over a 60 s window and resident memory, with 1 desk and
with 50 simulated desks.

How: `deskctl run --simulate --from T` runs as a subprocess with its folders in a temporary
directory (50 desks come from a settings file with 50 `[desks.dN] link = "sim"` tables). Once
its control socket answers a `status` (the service answers once every desk's first connect
has ended), the script waits 3 s more for start-up to finish, then reads the process's CPU
time (utime + stime from /proc/<pid>/stat, every thread) at the start and the end of the
window, and its memory from /proc/<pid>/status (VmRSS at the end, VmHWM the peak).
- off hours: T = Sunday 2026-11-29 20:00, outside every working range, so the service is truly
  idle: no schedule, the desks at rest;
- a working minute (not with --quick): T = Monday 2026-11-30 10:14:10, so the window holds what
  a change costs: the warning at 10:14:30, every desk moving 72 -> 110 cm at 10:15, the cue.
The clock runs at real speed (scale 1).

Run: `.venv/bin/python bench/idle_service.py [--quick] [--window S]`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from _common import bench_parser, deskctl_home, print_table, running_service, socket_of

from deskctl.adapters.control_client import call

OFF_HOURS = "2026-11-29T20:00"  # a Sunday evening
WORKING_MINUTE = "2026-11-30T10:14:10"  # a Monday, 50 s before a change to standing
SETTLE_S = 3.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Reading:
    label: str
    desks: int
    ready_s: float  # from exec to the control socket accepting
    status_s: float  # from exec to the first `status` answered (every desk's connect ended)
    startup_cpu_s: float  # CPU time used before the window
    window_s: float
    cpu_s: float  # CPU time used in the window
    rss_kib: int
    peak_kib: int


def cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is field 3
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def desks_toml(count: int) -> str:
    return "".join(f'[desks.d{n}]\nlink = "sim"\n\n' for n in range(1, count + 1))


def measure(label: str, desks: int, start_at: str, window_s: float) -> Reading:
    with deskctl_home() as (root, env):
        args = ["--simulate", "--from", start_at]
        if desks > 1:
            settings = root / "config" / "settings.toml"
            settings.write_text(desks_toml(desks))
            args += ["--config", str(settings)]
        began = time.perf_counter()
        with running_service(env, args, root / "service.log") as (process, ready_s):
            call("status", path=socket_of(env), timeout_s=120)
            status_s = time.perf_counter() - began
            time.sleep(SETTLE_S)
            cpu_before = cpu_s(process.pid)
            begin = time.perf_counter()
            time.sleep(window_s)
            cpu_after = cpu_s(process.pid)
            elapsed = time.perf_counter() - begin
            rss_kib, peak_kib = memory_kib(process.pid)
    return Reading(
        label,
        desks,
        ready_s,
        status_s,
        cpu_before,
        elapsed,
        cpu_after - cpu_before,
        rss_kib,
        peak_kib,
    )


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--window", type=float, help="seconds measured (default 60, quick 15)")
    args = parser.parse_args()
    window_s = args.window or (15.0 if args.quick else 60.0)
    cases = [("off hours", 1, OFF_HOURS), ("off hours", 50, OFF_HOURS)]
    if not args.quick:
        cases += [("a working minute", 1, WORKING_MINUTE), ("a working minute", 50, WORKING_MINUTE)]
    readings = []
    for label, desks, start_at in cases:
        print(f"measuring {label} with {desks} desk(s) for {window_s:g} s ...", flush=True)
        readings.append(measure(label, desks, start_at, window_s))
    rows = [
        [
            r.label,
            str(r.desks),
            f"{r.cpu_s:.2f}",
            f"{100 * r.cpu_s / r.window_s:.2f}",
            f"{r.rss_kib / 1024:.1f}",
            f"{r.peak_kib / 1024:.1f}",
            f"{r.ready_s:.2f}",
            f"{r.status_s:.2f}",
            f"{r.startup_cpu_s:.2f}",
        ]
        for r in readings
    ]
    print_table(
        f"The running service: CPU over {window_s:g} s and memory (deskctl run --simulate)",
        [
            "window",
            "desks",
            "CPU s",
            "CPU %",
            "RSS MiB",
            "peak MiB",
            "socket s",
            "status s",
            "start CPU s",
        ],
        rows,
    )
    print(
        "CPU % is of one core. From exec: 'socket s' until the control socket accepts, "
        "'status s' until the first status is answered (every desk's connect ended); "
        "'start CPU s' is the CPU time used before the window, which opens "
        f"{SETTLE_S:g} s after that answer"
    )


if __name__ == "__main__":
    main()
