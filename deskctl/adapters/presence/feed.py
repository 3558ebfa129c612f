"""The presence watch beside the service: what the model believes goes in through the owner's
queue, the home automation mode goes out to the model.

Design: `PresenceFeed(service, watch)` is a companion (`Service.run(beside=...)`). It runs the
watch (`async with`), hands every change of the belief to the service as a `PresenceSeen` value
(with the length of the away stretch that ended, when the person is back), and gives the mode
home automation sets (`SetPresence`, which the service passes on as `PresenceModeAsked` news)
to the watch. It uses only the service's interface (`send`, `subscribe`); nothing here decides:
the model believes, the scheduler acts. With no source (none configured, none found) the belief
stays `unknown` and the schedule runs on the clock, unless home automation sets a mode.
"""

from __future__ import annotations

import asyncio
import logging

from deskctl.adapters.presence.watch import PresenceWatch
from deskctl.core.presence import UNKNOWN_REASON, Belief, State
from deskctl.service.commands import PresenceSeen
from deskctl.service.core import CommandResult, Service
from deskctl.service.news import PresenceModeAsked, ServiceEvent

__all__ = ["PresenceFeed"]

log = logging.getLogger("deskctl.presence")


class PresenceFeed:
    def __init__(self, service: Service, watch: PresenceWatch) -> None:
        self.service = service
        self.watch = watch
        self._was_away = False
        watch.on_change = self._changed

    async def run(self, stop: asyncio.Event) -> None:
        """Feed the service until `stop`. A watch that fails (a bus that breaks in a way the
        sources do not expect) is said once and never stops the service: the belief goes back to
        `unknown` and the schedule runs on the clock."""
        unsubscribe = self.service.subscribe(self._on_news)
        try:
            async with self.watch:
                self._changed(self.watch.belief)
                await stop.wait()
        except Exception as exc:  # a companion that raises would stop the whole service
            log.error("presence: it stopped (%s); the schedule runs on the clock", _short(exc))
            self._changed(Belief(State.UNKNOWN, None, None, UNKNOWN_REASON))
            await stop.wait()
        finally:
            unsubscribe()

    def _changed(self, belief: Belief) -> None:
        away_s = 0.0
        if self._was_away and not belief.vetoes_moves:
            stretch = self.watch.last_stretch
            away_s = 0.0 if stretch is None else stretch.away_s
        self._was_away = belief.vetoes_moves
        log.info("presence: %s (%s)", belief.state.value, belief.reason)
        self.service.send(PresenceSeen(belief, away_s)).add_done_callback(_retrieve)

    def _on_news(self, event: ServiceEvent) -> None:
        if isinstance(event, PresenceModeAsked):
            try:
                self.watch.set_mode(event.mode)
            except ValueError as exc:
                log.error("presence: %s", exc)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


def _retrieve(answer: asyncio.Future[CommandResult]) -> None:
    if not answer.cancelled() and answer.exception() is not None:
        log.error("presence: the service refused the new belief: %s", answer.exception())
