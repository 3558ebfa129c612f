"""Time, injected: every part of the shell asks a `Clock` for wall time, monotonic time and sleeps.

Design: one `Clock` class covers the three uses.
- the real service: `Clock()` follows the system;
- the demo: `Clock(scale=60, start=...)` runs 60 times faster from a chosen wall time (the simulated
  motor runs on the same clock, so it speeds up too);
- tests: `Clock(start=...)` inside a `VirtualTimeLoop` (see `deskctl.testing.virtual_time`), whose
  `loop.time()` jumps ahead whenever every task waits, so a workday passes in well under a second.
Monotonic time is derived from `loop.time()` of the running loop, so all three share one path.
Wall time: the real service (scale 1, no start) reads the system's wall clock, so it sees a
suspend the way the person does; a simulated clock derives wall time from its start, and `jump()`
moves it (to test what a suspend does). Either way the instant is found in UTC and then shown in
the zone, so a simulated night crosses a DST change as the system's clock does (01:59 CET, then
03:00 CEST). `now()` carries the offset of its moment as a fixed offset, as
`datetime.now().astimezone()` does: two readings subtract to the real time between them, which
two datetimes of one `ZoneInfo` do not across a DST change (Python subtracts those by the wall).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone, tzinfo

__all__ = ["Clock"]


class Clock:
    """Wall time (aware), monotonic seconds and sleeps, optionally scaled and started elsewhere."""

    def __init__(
        self, *, scale: float = 1.0, start: datetime | None = None, tz: tzinfo | None = None
    ) -> None:
        if not scale > 0:
            raise ValueError("the time scale must be above zero")
        self.scale = scale
        if start is not None and start.tzinfo is None:
            raise ValueError("the start time needs a time zone")
        self._start = start
        self._tz = tz
        self._origin_pair: tuple[float, datetime] | None = None
        self._jump = timedelta()
        self._real_wall = scale == 1.0 and start is None

    def _origin(self) -> tuple[float, datetime]:
        """(loop time, wall time) when this clock was first read."""
        loop_now = asyncio.get_running_loop().time()
        if self._origin_pair is None:
            start = self._start or datetime.now(UTC)
            self._origin_pair = (loop_now, start.astimezone(UTC))
        return self._origin_pair

    def monotonic(self) -> float:
        """Seconds of clock time since the clock was first read (scaled)."""
        loop_t0, _ = self._origin()
        return (asyncio.get_running_loop().time() - loop_t0) * self.scale

    def now(self) -> datetime:
        """Wall time with a time zone (scaled from its start, or the system's)."""
        if self._real_wall:
            utc = datetime.now(UTC)
        else:
            _, start = self._origin()
            utc = start + timedelta(seconds=self.monotonic())
        local = (utc + self._jump).astimezone(self._zone())
        offset, name = local.utcoffset() or timedelta(), local.tzname()
        return local.replace(tzinfo=timezone(offset, name) if name else timezone(offset))

    def _zone(self) -> tzinfo | None:
        """The zone wall time is shown in: the one given, else the start's, else the system's."""
        if self._tz is not None:
            return self._tz
        return None if self._start is None else self._start.tzinfo

    def jump(self, seconds: float) -> None:
        """Move wall time (not monotonic time) by `seconds`, as a suspend or an NTP step does."""
        self._jump += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of clock time."""
        self._origin()
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def real_seconds(self, seconds: float) -> float:
        """How many seconds of the event loop's own time `seconds` of clock time take."""
        return seconds / self.scale
