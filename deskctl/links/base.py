"""`DeskLink`: the one interface every desk connection implements (BLE, MQTT desk, simulated).

Design: a link owns one connection to one desk. It pushes what it learns to subscribers as
`LinkEvent`s (height reports, manual moves, connection changes) and offers `move_to` and `stop`.
`move_to` is a template method: the base class checks the target against the desk's limits before
any byte is sent, so no link can command a height outside them; subclasses implement `_move_to`.
A move ends by returning the landed height, or by raising a `MoveError` (obstruction, manual
override, timeout) or `LinkError`. A link never resumes an old target after a reconnect.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from deskctl.core.units import check_limits

__all__ = [
    "ConnectionChanged",
    "DeskLink",
    "HeightChanged",
    "LinkEvent",
    "ManualMove",
    "Progress",
]


@dataclass(frozen=True, slots=True)
class HeightChanged:
    """A height report: where the desk stands and whether it is moving."""

    height_mm: int
    moving: bool


@dataclass(frozen=True, slots=True)
class ManualMove:
    """Someone moved the desk with its own buttons; `ended` is False when it starts."""

    height_mm: int
    ended: bool


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    connected: bool
    reason: str = ""


LinkEvent = HeightChanged | ManualMove | ConnectionChanged
Progress = Callable[[int], None]  # called with the height in mm while a move runs


class DeskLink(abc.ABC):
    """A connection to one desk."""

    def __init__(self, name: str, *, min_mm: int, max_mm: int) -> None:
        if min_mm >= max_mm:
            raise ValueError(f"desk {name!r}: min_mm {min_mm} must be below max_mm {max_mm}")
        self.name = name
        self.min_mm = min_mm
        self.max_mm = max_mm
        self._subscribers: list[Callable[[LinkEvent], None]] = []

    # -- what a link reports -------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def height_mm(self) -> int | None:
        """The last known height, or None before the first report."""

    @property
    @abc.abstractmethod
    def moving(self) -> bool: ...

    @property
    @abc.abstractmethod
    def connected(self) -> bool: ...

    def subscribe(self, callback: Callable[[LinkEvent], None]) -> Callable[[], None]:
        """Call `callback` with every event; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: LinkEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    # -- what a link does ----------------------------------------------------------------------
    @abc.abstractmethod
    async def connect(self) -> None:
        """Connect (with the link's own retries and timeout); raises LinkError."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop a moving desk, then disconnect. Safe to call twice."""

    async def move_to(self, target_mm: int, progress: Progress | None = None) -> int:
        """Move to `target_mm` and return the landed height in mm.

        Raises HeightError (before anything is sent) when the target is outside the limits,
        MoveError when the move does not arrive, LinkError when the desk cannot be reached.
        """
        check_limits(target_mm, self.min_mm, self.max_mm)
        return await self._move_to(target_mm, progress)

    @abc.abstractmethod
    async def _move_to(self, target_mm: int, progress: Progress | None) -> int: ...

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop the desk now, whatever it is doing."""

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
