"""How fast `deskctl --help` starts, against a bare `python -c pass` on the same interpreter.

Run: `.venv/bin/python bench/cli_start.py [--runs N]`. Prints medians and the ratio; never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def time_command(argv: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "deskctl --help": [sys.executable, "-m", "deskctl", "--help"],
    }
    medians = {}
    print(f"{'command':<20} {'median ms':>10} {'p90 ms':>8}")
    for label, argv in commands.items():
        samples = sorted(time_command(argv, args.runs))
        medians[label] = statistics.median(samples)
        p90 = samples[int(0.9 * (len(samples) - 1))]
        print(f"{label:<20} {medians[label] * 1000:>10.1f} {p90 * 1000:>8.1f}")
    ratio = medians["deskctl --help"] / medians["python -c pass"]
    print(f"ratio deskctl --help / python -c pass: {ratio:.1f}x over {args.runs} runs")


if __name__ == "__main__":
    main()
