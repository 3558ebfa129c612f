"""What every bench script shares: percentiles, tables, timed commands, a private deskctl home,
and a running `deskctl run --simulate` service.

Design: the scripts import this module as `_common` (they run as `python bench/NAME.py`, so
`bench/` is on `sys.path`). Figures are wall-clock seconds from `time.perf_counter()`; a summary
is the median, p90 and p99 by nearest rank (with fewer than 100 samples p99 is the largest).
Commands run with their own folders (DESKCTL_CONFIG_DIR, DESKCTL_STATE_DIR, DESKCTL_RUNTIME_DIR
in a temporary directory), so a bench never touches the user's settings, history or service.
Nothing here asserts: a script prints what it measured and says why when it could not.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = [
    "BIN",
    "Summary",
    "bench_parser",
    "deskctl_home",
    "machine",
    "ms",
    "print_table",
    "ratio",
    "running_service",
    "socket_of",
    "time_commands",
]

BIN = Path(sys.executable).parent  # the venv's bin folder: deskctl is installed there
_SERVICE_START_S = 30.0
_POLL_S = 0.05


@dataclass(frozen=True)
class Summary:
    """Median, p90 and p99 (nearest rank) of some samples, in their own unit."""

    n: int
    median: float
    p90: float
    p99: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        if not samples:
            nan = math.nan
            return cls(0, nan, nan, nan, nan, nan)
        ordered = sorted(samples)
        return cls(
            len(ordered),
            _rank(ordered, 0.5),
            _rank(ordered, 0.9),
            _rank(ordered, 0.99),
            ordered[0],
            ordered[-1],
        )


def _rank(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank percentile `q` (0..1) of sorted samples; the median of an even count is
    the mean of the middle two."""
    n = len(ordered)
    if q == 0.5 and n % 2 == 0:
        return (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    return ordered[min(n - 1, max(0, math.ceil(q * n) - 1))]


def ms(seconds: float, digits: int = 1) -> str:
    """Seconds as milliseconds text; `-` for a missing value."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.{digits}f}"


def ratio(a: float, b: float) -> str:
    """`a / b` as text like `3.2x`; `-` when it cannot be computed."""
    if math.isnan(a) or math.isnan(b) or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    print(f"\n{title}")
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    sys.stdout.flush()


def time_commands(
    commands: dict[str, list[str]], runs: int, env: dict[str, str], *, warmup: int = 2
) -> dict[str, list[float]]:
    """Wall time of each command, `runs` times, interleaved round by round so that a noisy
    moment on a shared machine hits every command alike. A command that exits non-zero is
    dropped with its stderr printed once."""
    samples: dict[str, list[float]] = {label: [] for label in commands}
    broken: set[str] = set()
    for round_index in range(warmup + runs):
        for label, argv in commands.items():
            if label in broken:
                continue
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True, check=False)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                broken.add(label)
                samples[label] = []
                reason = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
                print(f"{label}: exit {done.returncode}; left out: {' / '.join(reason)}")
                continue
            if round_index >= warmup:
                samples[label].append(elapsed)
    return samples


@contextlib.contextmanager
def deskctl_home(prefix: str = "deskctl-bench-") -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary folder and an environment whose deskctl folders all live in it."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        root = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCTL_")}
        for name in ("config", "state", "run"):
            (root / name).mkdir(mode=0o700)
        env["DESKCTL_CONFIG_DIR"] = str(root / "config")
        env["DESKCTL_STATE_DIR"] = str(root / "state")
        env["DESKCTL_RUNTIME_DIR"] = str(root / "run")
        yield root, env


def socket_of(env: dict[str, str]) -> Path:
    """The control socket a service started with `env` listens on."""
    return Path(env["DESKCTL_RUNTIME_DIR"]) / "control.sock"


@contextlib.contextmanager
def running_service(
    env: dict[str, str], args: Sequence[str], log_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """`deskctl run ARGS` as a subprocess, once its control socket answers.

    Yields the process and how many seconds it took to answer. Raises RuntimeError with the
    tail of its log when it exits or does not answer within 30 s. SIGTERM (then SIGKILL after
    10 s) stops it on the way out.
    """
    from deskctl.adapters.control_client import service_running

    sock = socket_of(env)
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(BIN / "deskctl"), "run", *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            while not service_running(sock):
                if process.poll() is not None or time.perf_counter() - start > _SERVICE_START_S:
                    tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
                    raise RuntimeError(
                        f"deskctl run {' '.join(args)} did not start: {' / '.join(tail)}"
                    )
                time.sleep(_POLL_S)
            yield process, time.perf_counter() - start
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def machine() -> str:
    """One line about this machine: cores, CPU model, Python, OS, date."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    when = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, {when}"
    )


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with `--quick` (fewer runs, shorter windows)."""
    parser = argparse.ArgumentParser(
        description=(doc or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs, shorter windows")
    return parser
