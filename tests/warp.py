"""An event loop on real time that a test can fast-forward while nothing is in flight.

Design: a test that needs real sockets (mosquitto, its clients) cannot run on virtual time, which
would run ahead of the other processes; a clock scaled far above real time turns the desk's
protocol deadlines (the LINAK target renewal every 0.3 s) into milliseconds that a busy machine
misses. `WarpLoop` keeps time real (`time.monotonic()`), so every deadline and every wait on
another process keeps its real margin, and adds `advance(s)`: the test moves the loop's time
forward while the service is idle (the desk at rest, the broker's traffic delivered), and the
timers due in that span fire at once, in order. Only the wait for the schedule is skipped.
`fast_forward(clock, to)` does that up to a wall time of a service's `Clock`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

from deskctl.clocks.clock import Clock

__all__ = ["WarpLoop", "fast_forward", "run_warped"]

T = TypeVar("T")


class WarpLoop(asyncio.SelectorEventLoop):
    """A selector event loop on real monotonic time, plus the seconds it was moved forward."""

    def __init__(self) -> None:
        super().__init__()
        self._ahead_s = 0.0

    def time(self) -> float:
        return time.monotonic() + self._ahead_s

    def advance(self, seconds: float) -> None:
        """Move the loop's time forward (never back): timers due meanwhile fire at once."""
        if seconds > 0:
            self._ahead_s += seconds


def fast_forward(clock: Clock, to: datetime) -> None:
    """Skip ahead to wall time `to` of `clock` (which runs on the current `WarpLoop`)."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, WarpLoop), "fast_forward needs the test to run on a WarpLoop"
    loop.advance(clock.real_seconds((to - clock.now()).total_seconds()))


def run_warped(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a fresh `WarpLoop`."""
    with asyncio.Runner(loop_factory=WarpLoop) as runner:
        return runner.run(coro)
