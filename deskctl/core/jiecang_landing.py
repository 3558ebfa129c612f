"""How a Jiecang move is commanded: `Commander`s for `core/landing.py`, and which way to move.

Design: a Jiecang box lands by itself on a move-to (1B) or a memory recall (its own ramp), or,
when it ignores 1B and no memory slot holds the target, only steps (01/02, about 14 mm each) and
stops (2B). All three reuse `LandingMachine` as it is:
- `DirectCommander` sends one frame that makes the box drive to a height itself (1B with the
  aim, or a fixed recall frame); its landing needs no stop (`stop` is None), so the machine only
  watches, corrects with the same frame, and ends; the link sends 2B itself when a move ends
  without arriving. Used with no lead (`lead_mm=0`) and a tolerance of the display's resolution;
  motion back by more than the box's own back-off after a collision (about 10 mm) is a hand on
  the paddle, less is the box backing off (an obstruction, when it then rests short).
- `StepCommander` sends a step towards the aim and 2B at the aim; the link repeats the step while
  the machine approaches (as a held button does), never more than `steps_ahead` steps past the
  aim, so a lost stop leaves the desk at most that far past it. Its resolution is one step, its
  tolerance half a step less what a report may be off (a landing judged inside half a step by
  a rounded report must be inside), and the machine learns the run-on.
- `plan(...)` orders the ways to try: 1B unless the box is known to ignore it, then a memory slot
  that holds the target (within the display's resolution), then steps.
- `config(...)` is the landing's `LandingConfig` for a way, a unit and a move's length.
- Stepping: `step_due` says when to repeat the step; `aim_due_in_s` when the desk passes the aim
  between two reports (by their speed), so the link can stop it then and not a report late.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass

from deskctl.core.jiecang import DisplayUnit, Op, encode, encode_move_to, recall_op
from deskctl.core.landing import LandingConfig

__all__ = [
    "COLLISION_BACKOFF_MM",
    "MIN_PREDICT_MM_S",
    "STEP_MM",
    "DirectCommander",
    "StepCommander",
    "Way",
    "aim_due_in_s",
    "config",
    "memory_slot_for",
    "plan",
    "report_error_mm",
    "step_due",
    "tolerance_mm",
]

STEP_MM = 14.0  # one 01/02 step, as the boxes on record take it
COLLISION_BACKOFF_MM = 10.0  # how far a box backs off after it hit something
MIN_PREDICT_MM_S = 5.0  # slower than this, the next report will show the aim soon enough
_MIN_SPEED_MM_S = 10.0  # a move's bound: its length at this speed, plus a margin
_BOUND_EXTRA_S = 20.0


class Way(enum.Enum):
    MOVE_TO = "move-to"  # 1B: the box lands by itself
    MEMORY = "memory"  # recall a slot that holds the target
    STEPS = "steps"  # step and stop, with the learned run-on


@dataclass(frozen=True, slots=True)
class DirectCommander:
    """Drive with the box's own ramp: 1B to the aim (`recall` None) or a memory recall."""

    recall: int | None = None  # the memory slot to recall, or None for 1B
    swapped: bool = False
    # A nudge (a target closer than the display can tell): the aim counts as reached from the
    # start, so the machine judges where the box rests instead of waiting to see it arrive.
    due_mm: int | None = None

    @property
    def resolution_mm(self) -> float:
        # Not the height's resolution (1 mm) but what the machine reads from it: motion back by
        # twice this is a hand on the paddle. A box that hits something stops and backs off
        # about 10 mm by itself (its anti-collision), which must read as an obstruction.
        return COLLISION_BACKOFF_MM / 2 + 1

    @property
    def listens_on(self) -> str:
        return "its Bluetooth adapter (move-to, 1B)" if self.recall is None else "memory recall"

    def aim(self, aim: float, direction: int) -> tuple[bytes, int]:
        aim_mm = round(aim)
        due_mm = aim_mm if self.due_mm is None else self.due_mm
        if self.recall is not None:
            return encode(recall_op(self.recall), swapped=self.swapped), due_mm
        return encode_move_to(aim_mm, swapped=self.swapped), due_mm

    def stop(self, height_mm: int | None) -> bytes | None:
        return None  # the box lands by itself; a stop at the aim would cut its ramp short


@dataclass(frozen=True, slots=True)
class StepCommander:
    """Step towards the aim, stop at it."""

    step_mm: float = STEP_MM
    swapped: bool = False

    @property
    def resolution_mm(self) -> float:
        return self.step_mm

    @property
    def listens_on(self) -> str:
        return "its Bluetooth adapter (up and down steps)"

    def aim(self, aim: float, direction: int) -> tuple[bytes, int]:
        return self.step(direction), round(aim)

    def step(self, direction: int) -> bytes:
        return encode(Op.UP if direction > 0 else Op.DOWN, swapped=self.swapped)

    def stop(self, height_mm: int | None) -> bytes | None:
        return encode(Op.STOP, swapped=self.swapped)


def report_error_mm(unit: DisplayUnit) -> float:
    """How far the truth may lie from a height read off a report: half a tenth of the display's
    unit (0.5 mm in cm; 1.27 mm in inches), and the rounding to whole mm on top in inches."""
    return 0.5 if unit is DisplayUnit.CM else 1.27 + 0.5


def tolerance_mm(way: Way, unit: DisplayUnit, step_mm: float = STEP_MM) -> int:
    """How close a landing must look: when stepping, half a step (one more step would land no
    nearer) less what a report may be off (so a landing that looks inside is inside: 6 mm in
    cm, 5 in inches); else what the display can tell (1 mm in cm, 2 mm in inches, whose tenths
    are 2.54 mm)."""
    if way is Way.STEPS:
        return math.floor(step_mm / 2 - report_error_mm(unit))
    return 1 if unit is DisplayUnit.CM else 2


def config(
    way: Way,
    unit: DisplayUnit,
    *,
    min_mm: int,
    max_mm: int,
    distance_mm: int,
    step_mm: float = STEP_MM,
) -> LandingConfig:
    """The landing's numbers for one move."""
    bound_s = abs(distance_mm) / _MIN_SPEED_MM_S + _BOUND_EXTRA_S
    return LandingConfig(
        min_mm=min_mm,
        max_mm=max_mm,
        tolerance_mm=tolerance_mm(way, unit, step_mm),
        move_timeout_s=bound_s,
        settle_s=1.0,  # reports come every ~0.25 s while moving; the link reads back at rest
        stall_s=2.0,
        max_corrections=3 if way is Way.STEPS else 2,
        short_ok_mm=25,
        runaway_mm=30,
        learn_min_mm=40,
        max_lead_mm=60.0,
    )


def memory_slot_for(target_mm: int, memories: Mapping[int, int], unit: DisplayUnit) -> int | None:
    """The memory slot (1-4) whose height (display tenths) shows the target, or None."""
    want = unit.from_mm(target_mm)
    for slot in sorted(memories):
        if memories[slot] == want and abs(unit.to_mm(memories[slot]) - target_mm) <= 2:
            return slot
    return None


def plan(
    target_mm: int, *, move_to: bool | None, memories: Mapping[int, int], unit: DisplayUnit
) -> list[tuple[Way, int | None]]:
    """The ways to try, in order, each with its memory slot (None but for MEMORY): 1B unless the
    box is known to ignore it (`move_to` False), a memory slot holding the target, then steps."""
    ways: list[tuple[Way, int | None]] = []
    if move_to is not False:
        ways.append((Way.MOVE_TO, None))
    slot = memory_slot_for(target_mm, memories, unit)
    if slot is not None:
        ways.append((Way.MEMORY, slot))
    ways.append((Way.STEPS, None))
    return ways


def step_due(
    step_goal_mm: float,
    aim_mm: int,
    direction: int,
    *,
    step_mm: float,
    steps_ahead: int,
    quiet_s: float,
    every_s: float,
) -> bool:
    """Whether to send another step while approaching: `every_s` after the last, as long as the
    steps sent (`step_goal_mm`, where they take the desk) reach less than `steps_ahead` steps
    past the aim, so a lost stop leaves the desk at most that far past it."""
    if quiet_s < every_s:
        return False
    return (step_goal_mm - aim_mm) * direction < steps_ahead * step_mm


def aim_due_in_s(
    previous: tuple[int, float],
    latest: tuple[int, float],
    aim_mm: int,
    direction: int,
    *,
    within_s: float,
    min_speed_mm_s: float = MIN_PREDICT_MM_S,
) -> float | None:
    """In how many seconds the desk passes `aim_mm` at the speed of its last two reports
    (`(height_mm, at_s)` each), when that is within `within_s` (before the next report would
    show it); None when it is not, or the desk is too slow or heading away."""
    (before_mm, before_s), (height_mm, now_s) = previous, latest
    if now_s - before_s <= 0:
        return None
    speed = (height_mm - before_mm) / (now_s - before_s) * direction
    left_mm = (aim_mm - height_mm) * direction
    if speed < min_speed_mm_s or left_mm <= 0:
        return None
    due_s = left_mm / speed
    return due_s if due_s <= within_s else None
