"""The presence sources as one chain: start the configured ones, skip the absent, notice the gone.

Design: `build_sources(names, away_after_s)` makes the sources the settings name (`mutter`,
`screensaver`, `logind`), in that order. `PresenceChain(sources, emit)` opens them all at once
(`start`); each one that cannot be used is one log line saying why, said once at the start and
never retried, and when none can be used that is one more line: the schedule then runs on the
clock, as without presence. Each open source runs in a task of its own and hands its events to
`emit`; when one goes (its service left the bus, the bus closed), the chain logs one line,
reports `gone` for it (the model drops it) and, if it was the last, says so. `status` is the one
line `deskctl status` can show. `close` stops every source and removes its watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Self

from deskctl.adapters.presence.base import DBusSource, Emit, SourceUnavailable
from deskctl.core.presence import SOURCE_LABELS, Event, Signal

__all__ = ["NONE_AVAILABLE", "SOURCE_NAMES", "PresenceChain", "build_sources"]

log = logging.getLogger("deskctl.adapters.presence")

SOURCE_NAMES = ("mutter", "screensaver", "logind")
NONE_AVAILABLE = "no presence source is available, so the schedule runs on the clock"


def build_sources(
    names: Sequence[str],
    away_after_s: float,
    *,
    session_bus: str | None = None,
    system_bus: str | None = None,
    environ: Mapping[str, str] | None = None,
    poll_s: float | None = None,
) -> list[DBusSource]:
    """The sources `names` asks for (each at most once), on the given buses or the usual ones."""
    from deskctl.adapters.presence.logind import LogindSource
    from deskctl.adapters.presence.mutter import MutterIdleSource
    from deskctl.adapters.presence.screensaver import POLL_S, ScreenSaverSource

    unknown = sorted(set(names) - set(SOURCE_NAMES))
    if unknown:
        raise ValueError(f"unknown presence source {unknown[0]!r}; the sources are {SOURCE_NAMES}")
    made: dict[str, DBusSource] = {}
    for name in names:
        if name == "mutter":
            made[name] = MutterIdleSource(away_after_s, bus_address=session_bus)
        elif name == "screensaver":
            made[name] = ScreenSaverSource(
                away_after_s, poll_s=poll_s or POLL_S, bus_address=session_bus
            )
        else:
            made[name] = LogindSource(bus_address=system_bus, environ=environ)
    return list(made.values())


def _label(name: str) -> str:
    return SOURCE_LABELS.get(name, name)


class PresenceChain:
    def __init__(self, sources: Sequence[DBusSource], emit: Emit) -> None:
        self._sources = list(sources)
        self._emit = emit
        self.absent: dict[str, str] = {}  # name -> why it is not used
        self._running: dict[str, asyncio.Task[None]] = {}
        self._order = [source.name for source in self._sources]

    @property
    def available(self) -> tuple[str, ...]:
        """The sources running now, in the configured order."""
        return tuple(name for name in self._order if name in self._running)

    def status(self) -> str:
        if not self._running:
            return NONE_AVAILABLE
        return "presence from " + ", ".join(_label(name) for name in self.available)

    async def start(self) -> tuple[str, ...]:
        results = await asyncio.gather(
            *(source.open() for source in self._sources), return_exceptions=True
        )
        for source, result in zip(self._sources, results, strict=True):
            if isinstance(result, SourceUnavailable):
                self.absent[source.name] = str(result)
                log.info("presence: %s is not used: %s", _label(source.name), result)
            elif isinstance(result, BaseException):
                self.absent[source.name] = f"it failed to start ({result})"
                log.warning("presence: %s failed to start: %s", _label(source.name), result)
            else:
                note = getattr(source, "session_note", "")
                if note:
                    log.info("presence: %s %s", _label(source.name), note)
                task = asyncio.get_running_loop().create_task(self._run(source))
                self._running[source.name] = task
        if not self._running:
            log.warning("presence: %s", NONE_AVAILABLE)
        return self.available

    def _deliver(self, event: Event) -> None:
        try:
            self._emit(event)
        except Exception:
            log.exception(
                "presence: the %s event from %s was not taken", event.signal, event.source
            )

    async def _run(self, source: DBusSource) -> None:
        try:
            why = await source.run(self._deliver)
        finally:
            self._running.pop(source.name, None)
            await source.close()
        log.warning("presence: %s went away (%s); it no longer counts", _label(source.name), why)
        self._deliver(Event(source.name, Signal.GONE))
        if not self._running:
            log.warning("presence: no presence source is left, so the schedule runs on the clock")

    async def close(self) -> None:
        tasks = list(self._running.values())
        self._running.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
