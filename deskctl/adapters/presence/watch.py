"""The chain and the model together, stamped by the service's clock: what the service would hold.

Design: `PresenceWatch(sources, thresholds, clock)` runs a `PresenceChain` whose events go into a
`deskctl.core.presence.PresenceModel`, each stamped with `clock.monotonic()` and `clock.now()`
as it arrives; `set_mode` passes the home automation mode on the same way. `on_change(belief)`
is called whenever the belief changes (state, source, reason or mode). `snapshot()` is what
`status --json` and the MQTT state could show. `PresenceWatch.from_settings(settings, clock)`
builds it from the `[presence]` table. Nothing here decides anything: the model does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from deskctl.adapters.presence.base import PresenceSource
from deskctl.adapters.presence.chain import PresenceChain, build_sources
from deskctl.clocks.clock import Clock
from deskctl.config.settings import PresenceSettings
from deskctl.core.presence import Belief, Event, Mode, PresenceModel, Stretch, Thresholds

__all__ = ["PresenceWatch"]

OnChange = Callable[[Belief], None]


class PresenceWatch:
    def __init__(
        self,
        sources: Sequence[PresenceSource],
        thresholds: Thresholds,
        clock: Clock,
        *,
        on_change: OnChange | None = None,
    ) -> None:
        self.model = PresenceModel(thresholds)
        self._clock = clock
        self.on_change = on_change
        self.chain = PresenceChain(sources, self._observe)

    @classmethod
    def from_settings(
        cls,
        settings: PresenceSettings,
        clock: Clock,
        *,
        on_change: OnChange | None = None,
        session_bus: str | None = None,
        system_bus: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> PresenceWatch:
        """From the `[presence]` table, on the usual buses unless addresses are given."""
        sources = build_sources(
            settings.sources,
            settings.away_after_s,
            session_bus=session_bus,
            system_bus=system_bus,
            environ=environ,
        )
        thresholds = Thresholds(settings.away_after_s, settings.break_after_s)
        return cls(sources, thresholds, clock, on_change=on_change)

    @property
    def belief(self) -> Belief:
        return self.model.belief

    @property
    def last_stretch(self) -> Stretch | None:
        return self.model.last_stretch

    def away_stretch_s(self) -> float:
        return self.model.away_stretch_s(self._clock.monotonic())

    def present_for_s(self) -> float:
        return self.model.present_for_s(self._clock.monotonic())

    def counts_as_break(self, away_s: float) -> bool:
        return self.model.counts_as_break(away_s)

    def set_mode(self, mode: Mode | str) -> Belief:
        """Home automation's word (`present`, `away`, `auto`); ValueError for anything else."""
        try:
            chosen = Mode(mode)
        except ValueError:
            raise ValueError(f"presence mode {mode!r} is not one of present, away, auto") from None
        return self._apply(
            lambda: self.model.set_mode(
                chosen, mono_s=self._clock.monotonic(), at=self._clock.now()
            )
        )

    def snapshot(self) -> dict[str, Any]:
        belief = self.belief
        return {
            "state": belief.state.value,
            "since": belief.since.isoformat() if belief.since else None,
            "source": belief.source,
            "reason": belief.reason,
            "mode": belief.mode.value,
            "sources": list(self.chain.available),
            "chain": self.chain.status(),
        }

    def _observe(self, event: Event) -> None:
        self._apply(
            lambda: self.model.observe(event, mono_s=self._clock.monotonic(), at=self._clock.now())
        )

    def _apply(self, step: Callable[[], Belief]) -> Belief:
        before = self.model.belief
        after = step()
        if after != before and self.on_change is not None:
            self.on_change(after)
        return after

    async def __aenter__(self) -> Self:
        await self.chain.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.chain.close()
