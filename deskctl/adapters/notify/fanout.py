"""`Notifiers`: one notice to every channel, each in its own lane; and `build_notifiers`.

A lane is a queue and a worker task for one channel. The worker delivers notices in order, each
within `timeout_s`; an exception or a timeout is logged once (one line, the traceback only at
debug) and the lane goes on with the next notice. Lanes start on the first notice, so building
`Notifiers` needs no event loop. A full lane (a channel far behind) drops the new notice for that
channel only, and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Protocol, Self

from deskctl.adapters.notify.command import CommandChannel
from deskctl.adapters.notify.desktop import DesktopChannel
from deskctl.adapters.notify.notice import Channel, Notice, OnAction
from deskctl.adapters.notify.terminal import TerminalChannel

__all__ = ["ChannelChoice", "Notifiers", "build_notifiers"]

log = logging.getLogger("deskctl.adapters.notify")

_Item = tuple[Notice, asyncio.Future[None] | None]


class _Lane:
    def __init__(self, channel: Channel, timeout_s: float, queue_max: int) -> None:
        self.channel = channel
        self.timeout_s = timeout_s
        self.queue_max = queue_max
        self.queue: asyncio.Queue[_Item | None] = asyncio.Queue()  # bounded in `put`, not here
        self.task: asyncio.Task[None] | None = None

    def put(self, notice: Notice, done: asyncio.Future[None] | None) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(
                self._run(), name=f"deskctl-notify-{self.channel.name}"
            )
        if self.queue.qsize() < self.queue_max:
            self.queue.put_nowait((notice, done))
        else:
            log.warning(
                "the %s channel is too far behind; it misses the %s notice",
                self.channel.name,
                notice.kind.value,
            )
            if done is not None and not done.done():
                done.set_result(None)

    async def _run(self) -> None:
        while (item := await self.queue.get()) is not None:
            notice, done = item
            try:
                await self._deliver(notice)
            finally:
                if done is not None and not done.done():
                    done.set_result(None)

    async def _deliver(self, notice: Notice) -> None:
        name, kind = self.channel.name, notice.kind.value
        try:
            async with asyncio.timeout(self.timeout_s) as bound:
                await self.channel.send(notice)
        except TimeoutError:
            if not bound.expired():
                raise
            log.warning(
                "the %s channel gave up on the %s notice after %g s", name, kind, self.timeout_s
            )
        except Exception as exc:
            log.warning(
                "the %s channel failed on the %s notice: %s: %s",
                name,
                kind,
                type(exc).__name__,
                exc,
            )
            log.debug("the %s channel's failure", name, exc_info=True)


class Notifiers:
    """Sends each notice to every channel, concurrently, never letting a failure out."""

    def __init__(
        self, channels: Iterable[Channel] = (), *, timeout_s: float = 15.0, queue_max: int = 100
    ) -> None:
        if not timeout_s > 0:
            raise ValueError("the notifier timeout must be above zero")
        self.timeout_s = timeout_s
        self._queue_max = queue_max
        self._lanes: list[_Lane] = []
        self._closed = False
        for channel in channels:
            self.add(channel)

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(lane.channel for lane in self._lanes)

    def add(self, channel: Channel) -> None:
        """One more channel; it gets the notices posted from now on."""
        self._lanes.append(_Lane(channel, self.timeout_s, self._queue_max))

    def post(self, notice: Notice) -> None:
        """Queue `notice` on every channel and return at once (call it from the event loop)."""
        self._put(notice, wait=False)

    async def send(self, notice: Notice) -> None:
        """Queue `notice` on every channel and wait until each delivered it or failed."""
        await asyncio.gather(*self._put(notice, wait=True))

    def _put(self, notice: Notice, *, wait: bool) -> list[asyncio.Future[None]]:
        if self._closed:
            log.debug("notifiers are closed; the %s notice is dropped", notice.kind.value)
            return []
        futures: list[asyncio.Future[None]] = []
        for lane in self._lanes:
            done = asyncio.get_running_loop().create_future() if wait else None
            if done is not None:
                futures.append(done)
            lane.put(notice, done)
        return futures

    async def aclose(self, *, drain_s: float = 5.0) -> None:
        """Deliver what is queued (at most `drain_s`), stop the lanes, close the channels."""
        if self._closed:
            return
        self._closed = True
        tasks = [lane.task for lane in self._lanes if lane.task is not None]
        for lane in self._lanes:
            if lane.task is not None:
                lane.queue.put_nowait(None)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=drain_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for lane in self._lanes:
            try:
                async with asyncio.timeout(self.timeout_s):
                    await lane.channel.aclose()
            except Exception as exc:
                log.warning("closing the %s channel failed: %s", lane.channel.name, exc)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ChannelChoice(Protocol):
    """Which channels a person asked for: the settings' `[notify]` table (`NotifySettings`)."""

    @property
    def terminal(self) -> bool: ...
    @property
    def desktop(self) -> bool: ...
    @property
    def mqtt(self) -> bool: ...
    @property
    def command(self) -> Sequence[str]: ...


def build_notifiers(
    settings: ChannelChoice,
    *,
    mqtt: Channel | None = None,
    on_action: OnAction | None = None,
    command_timeout_s: float = 10.0,
) -> Notifiers:
    """The channels `settings` asks for. `mqtt` is the bridge's channel, used if `settings.mqtt`."""
    channels: list[Channel] = []
    if settings.terminal:
        channels.append(TerminalChannel())
    if settings.desktop:
        channels.append(DesktopChannel(on_action=on_action))
    if settings.mqtt and mqtt is not None:
        channels.append(mqtt)
    if settings.command:
        channels.append(CommandChannel(settings.command, timeout_s=command_timeout_s))
    return Notifiers(channels)
