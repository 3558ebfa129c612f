"""Counts of the faults a test module injected and the inputs it tried, for pytest's summary.

Design: one process-wide `Tally`; a test module takes its counter with `counter(__name__)` and
calls `.fault()` for every fault it injects (a dropped link, a refused write, a killed process, a
corrupt file) and `.tried()` for every input it feeds a parser. `summary_lines()` gives one line
per module and a total, which tests/conftest.py prints at the end of the run
(`pytest_terminal_summary`), so CI shows "faults injected: N" and "inputs tried: M". Under
pytest-xdist each worker counts its own modules: `as_rows()` is what a worker hands back and
`add_rows()` sums them in the process that prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

__all__ = ["Counter", "Tally", "add_rows", "as_rows", "counter", "print_summary", "summary_lines"]


@dataclass
class Counter:
    """What one test module injected and tried."""

    module: str
    faults: int = 0
    inputs: int = 0

    def fault(self, n: int = 1) -> None:
        """`n` faults were injected."""
        self.faults += n

    def tried(self, n: int = 1) -> None:
        """`n` inputs were fed to a parser or a running part."""
        self.inputs += n


@dataclass
class Tally:
    counters: dict[str, Counter] = field(default_factory=dict)
    printed: bool = False

    def counter(self, module: str) -> Counter:
        return self.counters.setdefault(module, Counter(module))


TALLY = Tally()


def counter(module: str) -> Counter:
    """The counter of the test module named `module` (pass `__name__`)."""
    return TALLY.counter(module)


def as_rows(tally: Tally = TALLY) -> list[tuple[str, int, int]]:
    """The counts as plain rows (module, faults, inputs), to pass between processes."""
    return [(c.module, c.faults, c.inputs) for c in tally.counters.values()]


def add_rows(rows: list[tuple[str, int, int]], tally: Tally = TALLY) -> None:
    """Add counts made in another process (a pytest-xdist worker)."""
    for module, faults, inputs in rows:
        tally.counter(module).fault(faults)
        tally.counter(module).tried(inputs)


def _path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def summary_lines(tally: Tally = TALLY) -> list[str]:
    """One line per module that counted anything, then the totals; empty if nothing counted."""
    used = [c for _, c in sorted(tally.counters.items()) if c.faults or c.inputs]
    if not used:
        return []
    lines = [
        f"{_path(c.module)}: faults injected: {c.faults}, inputs tried: {c.inputs}" for c in used
    ]
    faults = sum(c.faults for c in used)
    inputs = sum(c.inputs for c in used)
    lines.append(f"total: faults injected: {faults}, inputs tried: {inputs}")
    return lines


def print_summary(terminalreporter: pytest.TerminalReporter, tally: Tally = TALLY) -> None:
    """Write the counts into pytest's terminal summary, once per run."""
    lines = summary_lines(tally)
    if tally.printed or not lines:
        return
    tally.printed = True
    terminalreporter.write_sep("=", "fault and fuzz counts")
    for line in lines:
        terminalreporter.write_line(line)
