"""`DeadlineTimer`: the one timer a link keeps for its state machine's newest deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deskctl.clocks.clock import Clock

__all__ = ["DeadlineTimer"]


class DeadlineTimer:
    """Calls `on_due` when the clock reaches the deadline last armed; a new one replaces it."""

    def __init__(self, clock: Clock, on_due: Callable[[], None]) -> None:
        self.clock = clock
        self._on_due = on_due
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, deadline_s: float | None) -> None:
        """Wait for `deadline_s` (monotonic clock seconds) instead; None: wait for nothing."""
        self.disarm()
        if deadline_s is None:
            return
        delay_s = self.clock.real_seconds(max(0.0, deadline_s - self.clock.monotonic()))
        self._handle = asyncio.get_running_loop().call_later(delay_s, self._fire)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self._on_due()
