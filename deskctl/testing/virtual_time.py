"""An asyncio event loop whose time jumps ahead whenever every task is waiting.

Design: `VirtualTimeLoop.time()` returns a virtual clock. When the loop would block in `select()`
for `timeout` seconds and no file descriptor is ready, it advances the virtual clock by `timeout`
and returns at once, so `asyncio.sleep(3600)` costs microseconds and timers fire in the same order
they would in real time. Real IO still works (ready descriptors are served first), but a test that
waits on a real peer in another process should use the ordinary loop: virtual time would run ahead
of it. Only in-process parts (the simulated desk, Bumble's local link, in-memory queues) belong,
unless the test says when something is in flight: with `hold` (a predicate), time does not jump
while `hold()` is true; the loop waits for real IO instead, in slices of `HOLD_SLICE_S`, for at
most `HOLD_MAX_S` real seconds in a row (then time jumps anyway, so a reply that never comes
meets its timeout). A test on a real broker holds time while a message it sent is on its way.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["HOLD_MAX_S", "HOLD_SLICE_S", "VirtualTimeLoop", "run_virtual"]

T = TypeVar("T")
HOLD_SLICE_S = 0.01  # real seconds: how long one wait for real IO lasts while time is held
HOLD_MAX_S = 10.0  # real seconds: the longest time is held in a row


class _WarpSelector(selectors.DefaultSelector):
    def __init__(
        self, loop_ref: list[VirtualTimeLoop], hold: Callable[[], bool] | None = None
    ) -> None:
        super().__init__()
        self._loop_ref = loop_ref
        self._hold = hold

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if self._hold is not None:
            held_until = time.monotonic() + HOLD_MAX_S
            while self._hold() and time.monotonic() < held_until:
                ready = super().select(HOLD_SLICE_S)
                if ready:
                    return ready
        if timeout is None:
            # Nothing is scheduled: only real IO (or a thread) can wake us, so wait for it for real.
            return super().select(None)
        self._loop_ref[0].advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time, starting at `start_s`; held while `hold()`."""

    def __init__(self, start_s: float = 0.0, *, hold: Callable[[], bool] | None = None) -> None:
        ref: list[VirtualTimeLoop] = []
        super().__init__(selector=_WarpSelector(ref, hold))
        ref.append(self)
        self._virtual_s = start_s

    def time(self) -> float:
        return self._virtual_s

    def advance(self, seconds: float) -> None:
        """Move virtual time forward (never back)."""
        if seconds > 0:
            self._virtual_s += seconds


def run_virtual(
    coro: Coroutine[Any, Any, T], *, start_s: float = 0.0, hold: Callable[[], bool] | None = None
) -> T:
    """Run `coro` to completion on a fresh `VirtualTimeLoop` (held while `hold()`)."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start_s, hold=hold)) as runner:
        return runner.run(coro)
