"""`DeskLink`: the one interface every desk connection implements (BLE, MQTT desk, simulated).

Design: a link owns one connection to one desk. It pushes what it learns to subscribers as
`LinkEvent`s (height reports, manual moves, connection changes) and offers `move_to` and `stop`.
`move_to` is a template method: the base class checks the target against the desk's limits before
any byte is sent, so no link can command a height outside them; subclasses implement `_move_to`.
A move ends by returning the landed height, or by raising a `MoveError` (obstruction, manual
override, timeout) or `LinkError`. A link never resumes an old target after a reconnect.

Three safety rules every link shares, kept here so there is one mechanism each:
- Plausible travel (`plausible`, `_accept_report`): a height report outside the desk's limits
  widened by `PLAUSIBLE_MARGIN_MM` on each side is dropped on arrival, before anything sees it
  (a wrong unit, a garbled packet, a firmware's 0.0 at boot); the first of a streak is logged.
- One gate for targets (`_check_target`): every link calls it on its write path, right before a
  target leaves, whatever asked for it (a move, a renewal, a correction, a stop written as a
  height). A target outside `min_mm..max_mm` is refused with `MoveError`, never clamped.
- A lost move is not a manual move (`_lost_move`): when a link drops mid-move, the desk may carry
  on to the aim it was given (an ESPHome firmware does; a LINAK desk halts within a second).
  For as long as the rest of the move could take (at `LOST_AIM_MIN_SPEED_MM_S`, plus
  `LOST_AIM_EXTRA_S`), motion that keeps heading for that aim (never more than
  `LOST_AIM_SLACK_MM` back from its closest approach, nor past the aim) is the old move
  finishing: its `ManualMove` events are held back (the schedule stays held), until it rests at
  the aim; motion that turns back or runs past is a person's.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from deskctl.core.units import check_limits, format_height
from deskctl.errors import DeskError, MoveError

if TYPE_CHECKING:
    from deskctl.clocks.clock import Clock

__all__ = [
    "LOST_AIM_EXTRA_S",
    "LOST_AIM_MIN_SPEED_MM_S",
    "LOST_AIM_SLACK_MM",
    "PLAUSIBLE_MARGIN_MM",
    "ConnectionChanged",
    "DeskLink",
    "HeightChanged",
    "LinkEvent",
    "ManualMove",
    "Progress",
    "drained",
]

log = logging.getLogger(__name__)

PLAUSIBLE_MARGIN_MM = 100  # a person may take the desk this far past its limits by hand
LOST_AIM_MIN_SPEED_MM_S = 10.0  # a desk finishing a lost move is not slower than this
LOST_AIM_EXTRA_S = 10.0  # ...and comes to rest within this much more (a reconnect, a ramp)
LOST_AIM_SLACK_MM = 30  # run-on past the aim, and coasting back, of a move that finishes alone


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


@dataclass(slots=True)
class _LostAim:
    """Where a move was going when its link dropped, and until when that explains motion."""

    from_mm: int
    aim_mm: int
    until_s: float
    best_mm: int  # the closest approach to the aim so far

    def follows(self, height_mm: int) -> bool:
        """Whether `height_mm` keeps to the way to the aim: never farther back than the closest
        approach, nor past the aim, by more than the slack."""
        direction = (self.aim_mm > self.from_mm) - (self.aim_mm < self.from_mm)
        if direction == 0:
            return self.arrived(height_mm)
        if (height_mm - self.aim_mm) * direction > LOST_AIM_SLACK_MM:
            return False
        if (self.best_mm - height_mm) * direction > LOST_AIM_SLACK_MM:
            return False
        if (height_mm - self.best_mm) * direction > 0:
            self.best_mm = height_mm
        return True

    def arrived(self, height_mm: int) -> bool:
        return abs(height_mm - self.aim_mm) <= LOST_AIM_SLACK_MM


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    connected: bool
    reason: str = ""


LinkEvent = HeightChanged | ManualMove | ConnectionChanged
Progress = Callable[[int], None]  # called with the height in mm while a move runs


DRAIN_S = 5.0  # real seconds a stop may take to go out before a link gives up on it


async def drained(writes: asyncio.Queue[Any], writer: asyncio.Task[None] | None) -> bool:
    """Wait (bounded by `DRAIN_S`) until every write a link queued went out; False if its writer
    task is gone or the time is up."""
    if writer is None or writer.done():
        return writes.empty()
    joined = asyncio.ensure_future(writes.join())
    done, _ = await asyncio.wait(
        {joined, writer}, timeout=DRAIN_S, return_when=asyncio.FIRST_COMPLETED
    )
    joined.cancel()
    return joined in done


class DeskLink(abc.ABC):
    """A connection to one desk."""

    simulated = False  # True for the simulated desks deskctl ships (`--simulate`, link = "sim")
    maker: str | None = None  # who makes the desk, when the link knows (Home Assistant shows it)
    model_name = "Desk"  # what kind of desk this link drives, in a few words
    # the desk's own memory slots (a Jiecang box has 4); 0: none, and `recall`/`save` refuse
    memory_slots = 0

    def __init__(self, name: str, clock: Clock, *, min_mm: int, max_mm: int) -> None:
        if min_mm >= max_mm:
            raise ValueError(f"desk {name!r}: min_mm {min_mm} must be below max_mm {max_mm}")
        self.name = name
        self.clock = clock
        self.min_mm = min_mm
        self.max_mm = max_mm
        self.dropped_reports = 0  # height reports dropped as outside the plausible travel
        self._dropping = False  # the last report was dropped (log once per streak)
        self._lost_aim: _LostAim | None = None
        self._held_manual: ManualMove | None = None  # a start held back while on a lost path
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
        if (
            self._lost_aim is not None
            and isinstance(event, ManualMove | HeightChanged)
            and not self._finishing_lost_move(event)
        ):
            return
        for callback in list(self._subscribers):
            callback(event)

    # -- plausible travel ----------------------------------------------------------------------
    @property
    def plausible(self) -> tuple[int, int]:
        """The heights a report may hold: the limits widened by PLAUSIBLE_MARGIN_MM, above 0."""
        return max(1, self.min_mm - PLAUSIBLE_MARGIN_MM), self.max_mm + PLAUSIBLE_MARGIN_MM

    def _accept_report(self, height_mm: int, shown: str = "") -> bool:
        """True for a plausible report; else count it, log the first of a streak, and False."""
        low, high = self.plausible
        if low <= height_mm <= high:
            if self._dropping:
                self._dropping = False
                log.info("%s: the desk's height reports make sense again", self.name)
            return True
        self.dropped_reports += 1
        if not self._dropping:
            self._dropping = True
            what = f"{shown!r} ({height_mm} mm)" if shown else f"{height_mm} mm"
            log.warning(
                "%s: ignored a height report of %s, outside the desk's plausible travel of "
                "%d..%d mm (its limits and %d mm either side); reports like it are ignored "
                "until one makes sense",
                self.name,
                what,
                low,
                high,
                PLAUSIBLE_MARGIN_MM,
            )
        return False

    # -- the one gate for targets --------------------------------------------------------------
    def _check_target(self, target_mm: int, what: str) -> None:
        """Raise MoveError unless `target_mm` lies within the limits; call it before any target
        leaves the link (`what` says what the target was for: a move, a stop)."""
        if self.min_mm <= target_mm <= self.max_mm:
            return
        raise MoveError(
            f"desk {self.name!r}: refused to send {format_height(target_mm)} ({target_mm} mm) "
            f"as the target of {what}: it lies outside the limits of {self.min_mm}..{self.max_mm} "
            "mm",
            self.height_mm,
        )

    # -- a move lost with its link -------------------------------------------------------------
    def _lost_move(self, from_mm: int | None, aim_mm: int | None) -> None:
        """The link dropped during a move from `from_mm` towards `aim_mm` (see the docstring)."""
        self._held_manual = None
        if from_mm is None or aim_mm is None:
            self._lost_aim = None
            return
        rest_s = abs(aim_mm - from_mm) / LOST_AIM_MIN_SPEED_MM_S + LOST_AIM_EXTRA_S
        self._lost_aim = _LostAim(from_mm, aim_mm, self.clock.monotonic() + rest_s, from_mm)

    def _finishing_lost_move(self, event: ManualMove | HeightChanged) -> bool:
        """Whether to pass `event` on, while a lost move may still be finishing."""
        lost = self._lost_aim
        if lost is None:  # pragma: no cover - checked by the caller
            return True
        if self.clock.monotonic() > lost.until_s or not lost.follows(event.height_mm):
            self._lost_aim = None  # a person's move (or a late one): show it as it is
            held, self._held_manual = self._held_manual, None
            if held is not None and event != held:
                for callback in list(self._subscribers):
                    callback(held)
            return True
        if isinstance(event, HeightChanged):
            return True
        if not event.ended:
            self._held_manual = event
            return False
        self._held_manual = None
        if not lost.arrived(event.height_mm):
            return False  # a pause on the way: it may go on (or it halted, as a LINAK desk does)
        self._lost_aim = None
        log.info(
            "%s: the desk finished the move it was given before the link dropped, at %s; "
            "not a manual move",
            self.name,
            format_height(event.height_mm),
        )
        return False

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
        self._lost_aim = self._held_manual = None  # a new move: an old one is not finishing
        return await self._move_to(target_mm, progress)

    @abc.abstractmethod
    async def _move_to(self, target_mm: int, progress: Progress | None) -> int: ...

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop the desk now, whatever it is doing."""

    # -- the desk's own memory slots (optional) ------------------------------------------------
    async def recall(self, slot: int) -> int:
        """Move to the height the desk keeps in memory `slot` (1..`memory_slots`) and return the
        landed height in mm. A template, as `move_to`: the slot's height must be known
        (`slot_mm`) and lie within the limits before anything is sent, since the desk's box,
        not deskctl, picks the target; a link with slots implements `_recall`."""
        if self.memory_slots <= 0:
            raise self._no_slots()
        if not 1 <= slot <= self.memory_slots:
            raise DeskError(
                f"desk {self.name!r} has memory slots 1 to {self.memory_slots}, not {slot}"
            )
        height_mm = self.slot_mm(slot)
        if height_mm is None:
            raise DeskError(
                f"desk {self.name!r} has not said what height its memory slot {slot} holds"
            )
        check_limits(height_mm, self.min_mm, self.max_mm)
        self._lost_aim = self._held_manual = None  # a new move: an old one is not finishing
        return await self._recall(slot)

    async def _recall(self, slot: int) -> int:
        raise self._no_slots()

    def slot_mm(self, slot: int) -> int | None:
        """The height the desk keeps in memory `slot`, when the link has read it; else None."""
        return None

    async def save(self, slot: int) -> None:
        """Keep the desk's height now in its memory `slot` (1..`memory_slots`)."""
        raise self._no_slots()

    def _no_slots(self) -> DeskError:
        return DeskError(f"desk {self.name!r} has no memory slots of its own; use named presets")

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
