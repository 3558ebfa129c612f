"""How many of many like log lines to write: a burst per interval, then a count of the rest.

Design: pure bookkeeping on monotonic seconds the caller passes in (the MQTT bridge uses it for
refused commands, so a flood of bad commands cannot flood the journal).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LogBudget"]


@dataclass(slots=True)
class LogBudget:
    """Which of many like log lines to write: `burst` per `interval_s`, then a count of the rest.

    `take(now_s)` says whether to write a line now; `overdue(now_s)` gives the number of lines
    left out once their interval has ended (0 before that, or if none were), to be said in one
    line; `report_at()` is when that is due. Times are any monotonic seconds.
    """

    burst: int = 5
    interval_s: float = 60.0
    _start_s: float | None = None
    _written: int = 0
    _held: int = 0

    def take(self, now_s: float) -> bool:
        if self._start_s is None or now_s - self._start_s >= self.interval_s:
            self._start_s, self._written = now_s, 0  # call `overdue` first: it says the count
        if self._written < self.burst:
            self._written += 1
            return True
        self._held += 1
        return False

    def overdue(self, now_s: float, *, at_end: bool = False) -> int:
        """Lines left out in an interval that has ended (or in any, `at_end`); resets them."""
        if not self._held or self._start_s is None:
            return 0
        if not at_end and now_s - self._start_s < self.interval_s:
            return 0
        held, self._held, self._start_s = self._held, 0, None
        return held

    def report_at(self) -> float | None:
        return None if not self._held or self._start_s is None else self._start_s + self.interval_s
