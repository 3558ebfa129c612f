"""The presence sources as one chain: start the configured ones, skip the absent, follow them as
their services come and go.

Design: `build_sources(names, away_after_s)` makes the sources the settings name (`mutter`,
`screensaver`, `logind`, `x11`, `wayland`), in that order. `PresenceChain(sources, emit)` opens them
all at once (`start`); each one that cannot be used is one log line saying why, said once, and when
none can be used that is one more line: the schedule then runs on the clock, as without presence. A
source whose service is merely not on the bus yet (deskctl's user unit may start before GNOME Shell)
is waited for quietly and joins with one line when it comes. Each source runs in a task of its own
and hands its events to `emit`; when its service leaves the bus the chain logs one line, reports
`gone` for it (the model drops it), says so if it was the last, and waits for the service to come
back. A source that fails any other way stops for good. `status` is the one line `deskctl status`
can show. `close` stops every source and removes its watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Self

from deskctl.adapters.presence.base import Emit, PresenceSource, SourceUnavailable
from deskctl.core.presence import SOURCE_LABELS, Event, Signal

__all__ = ["NONE_AVAILABLE", "SOURCE_NAMES", "PresenceChain", "build_sources"]

log = logging.getLogger("deskctl.adapters.presence")

SOURCE_NAMES = ("mutter", "screensaver", "logind", "x11", "wayland")
NONE_AVAILABLE = "no presence source is available, so the schedule runs on the clock"


def build_sources(
    names: Sequence[str],
    away_after_s: float,
    *,
    session_bus: str | None = None,
    system_bus: str | None = None,
    environ: Mapping[str, str] | None = None,
    poll_s: float | None = None,
) -> list[PresenceSource]:
    """The sources `names` asks for (each at most once), on the given buses or the usual ones."""
    from deskctl.adapters.presence.logind import LogindSource
    from deskctl.adapters.presence.mutter import MutterIdleSource
    from deskctl.adapters.presence.screensaver import POLL_S, ScreenSaverSource

    unknown = sorted(set(names) - set(SOURCE_NAMES))
    if unknown:
        raise ValueError(f"unknown presence source {unknown[0]!r}; the sources are {SOURCE_NAMES}")
    made: dict[str, PresenceSource] = {}
    for name in names:
        if name == "mutter":
            made[name] = MutterIdleSource(away_after_s, bus_address=session_bus)
        elif name == "screensaver":
            made[name] = ScreenSaverSource(
                away_after_s, poll_s=poll_s or POLL_S, bus_address=session_bus
            )
        elif name == "logind":
            made[name] = LogindSource(bus_address=system_bus, environ=environ)
        elif name == "x11":
            from deskctl.adapters.presence.x11 import X11IdleSource

            made[name] = X11IdleSource(away_after_s, environ=environ)
        else:
            from deskctl.adapters.presence.wayland import WaylandIdleSource

            made[name] = WaylandIdleSource(away_after_s, environ=environ)
    return list(made.values())


def _label(name: str) -> str:
    return SOURCE_LABELS.get(name, name)


class PresenceChain:
    def __init__(self, sources: Sequence[PresenceSource], emit: Emit) -> None:
        self._sources = list(sources)
        self._emit = emit
        self.absent: dict[str, str] = {}  # name -> why it is not used (now)
        self._tasks: list[asyncio.Task[None]] = []
        self._live: set[str] = set()
        self._order = [source.name for source in self._sources]

    @property
    def available(self) -> tuple[str, ...]:
        """The sources running now, in the configured order."""
        return tuple(name for name in self._order if name in self._live)

    def status(self) -> str:
        if not self._live:
            return NONE_AVAILABLE
        return "presence from " + ", ".join(_label(name) for name in self.available)

    async def start(self) -> tuple[str, ...]:
        results = await asyncio.gather(
            *(source.open() for source in self._sources), return_exceptions=True
        )
        loop = asyncio.get_running_loop()
        for source, result in zip(self._sources, results, strict=True):
            name = source.name
            if isinstance(result, SourceUnavailable):
                self.absent[name] = str(result)
                log.info("presence: %s is not used: %s", _label(name), result)
                if result.may_appear:
                    self._tasks.append(loop.create_task(self._follow(source, attached=False)))
            elif isinstance(result, BaseException):
                self.absent[name] = f"it failed to start ({result})"
                log.warning("presence: %s failed to start: %s", _label(name), result)
                await source.close()
            else:
                note = getattr(source, "session_note", "")
                if note:
                    log.info("presence: %s %s", _label(name), note)
                self._live.add(name)
                self._tasks.append(loop.create_task(self._follow(source, attached=True)))
        if not self._live:
            log.warning("presence: %s", NONE_AVAILABLE)
        return self.available

    def _deliver(self, event: Event) -> None:
        try:
            self._emit(event)
        except Exception:
            log.exception("presence: %s's %s event was not taken", event.source, event.signal)

    async def _follow(self, source: PresenceSource, *, attached: bool) -> None:
        """Run `source` while its service is there, and again each time it comes back."""
        name = source.name
        try:
            while True:
                if not attached:
                    try:
                        await source.appeared()
                    except SourceUnavailable as exc:
                        self.absent[name] = str(exc)
                        return
                    self.absent.pop(name, None)
                    self._live.add(name)
                    log.info("presence: %s is there now; it counts", _label(name))
                why = await source.run(self._deliver)
                self._live.discard(name)
                self.absent[name] = why
                log.warning("presence: %s went away (%s); it no longer counts", _label(name), why)
                self._deliver(Event(name, Signal.GONE))
                if not self._live:
                    log.warning(
                        "presence: no presence source is left, so the schedule runs on the clock"
                    )
                if not source.left:
                    return
                attached = False
        finally:
            self._live.discard(name)
            await source.close()

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for source in self._sources:  # a task cancelled before it ran never closed its source
            await source.close()
        self._live.clear()

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
