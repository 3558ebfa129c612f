"""A simulated Jiecang control box and motor (Uplift, Desky, …): pure, stepped, driven with bytes.

Design: `JiecangModel` is what sits behind a Jiecang Bluetooth adapter, which passes bytes
between BLE and the box's UART unchanged. A client `write()`s command frames (any cut: the box
reads them with the codec's `FrameReader`); time passes only in `advance(dt_s)`, which returns the
report frames the box sent meanwhile, one `bytes` per frame. No asyncio and no clock, like
`desk_model.DeskModel`.

What the box does (facts: ../shared/reference/JIECANG.md):
- WAKE (00) wakes a box that fell asleep after `sleep_after_s` without a command (None: never
  sleeps); asleep, it ignores everything else.
- UP/DOWN (01/02) move one step of `step_mm` from where the motor is headed, so repeated steps
  run on as a held button does; MOVE_TO (1B, big-endian mm) and RECALL 1-4 drive to the height
  with the box's own ramp (`move_to=False` models a box that ignores 1B); STOP (2B) reaches the
  motor after the physics' stop delay, and the motor brakes. SAVE 1-4 stores the height.
  REQUEST_SETTINGS (07) answers the memories that are set (reports 25-28) and the height (01);
  REQUEST_LIMITS (0C) the limits (07, mm); REQUEST_UNIT (0E) the display unit (0E), unless
  `answers_unit=False` (some boxes stay silent).
- Heights are reported in tenths of the display unit (`unit`), every `report_period_s` (± the
  physics' jitter) while the motor turns, and, now and then (`stop_report_p`; always after a
  collision), once when it comes to rest; a box at rest is quiet, so only REQUEST_SETTINGS tells
  for sure where it rests.
- How true to a real desk it is: `physics` (`deskctl.sim.physics.Physics`, REALISTIC by default,
  IDEAL for exact tests) with a seeded `rng`: the motor's speed spread, load and landing error
  (`deskctl.sim.motor.Motor`), the stop's delay, the report jitter and the last report at rest.
- Faults: `collision_mm` (the box stops at the obstacle and backs off 10 mm, as its
  anti-collision does), `error(code)` (the box reports it; E01-E04 stop the motor, H01 refuses
  moves for 16 minutes, LOCK refuses them until `unlock()`), `press(±1)` (a hand on the paddle).
- Time at rest costs nothing: `advance` skips it in one go (an hour asleep is one call).
- `hazards` records every reset, calibration or limit command that reached the box: a test
  asserts it stays empty.
"""

from __future__ import annotations

import random

from deskctl.core.jiecang import (
    HAZARDOUS_OPS,
    DisplayUnit,
    FrameReader,
    Op,
    encode_report,
)
from deskctl.sim.motor import Motor
from deskctl.sim.physics import REALISTIC, Physics

__all__ = ["HOT_REST_S", "JiecangModel"]

HOT_REST_S = 16 * 60.0  # H01: the motor rests about 16 minutes
BACKOFF_MM = 10.0
_MOVES = {Op.UP, Op.DOWN, Op.MOVE_TO, Op.RECALL_1, Op.RECALL_2, Op.RECALL_3, Op.RECALL_4}
_RECALLS = {Op.RECALL_1: 0, Op.RECALL_2: 1, Op.RECALL_3: 2, Op.RECALL_4: 3}
_SAVES = {Op.SAVE_1: 0, Op.SAVE_2: 1, Op.SAVE_3: 2, Op.SAVE_4: 3}
_MEMORY_OPS = (0x25, 0x26, 0x27, 0x28)
_E01, _H01, _LOCK = 0x01, 0x0E, 0x10


class JiecangModel:
    """A Jiecang box and its motor; see the module docstring."""

    def __init__(
        self,
        *,
        height_mm: int = 750,
        min_mm: int = 650,
        max_mm: int = 1300,
        unit: DisplayUnit = DisplayUnit.CM,
        move_to: bool = True,
        answers_unit: bool = True,
        step_mm: float = 14.0,
        speed_mm_s: float = 35.0,
        accel_mm_s2: float = 70.0,
        report_period_s: float = 0.25,
        sleep_after_s: float | None = None,
        memories_mm: tuple[int | None, int | None, int | None, int | None] = (None,) * 4,
        physics: Physics = REALISTIC,
        rng: random.Random | None = None,
    ) -> None:
        if not min_mm <= height_mm <= max_mm:
            raise ValueError(f"{height_mm} mm lies outside the box's {min_mm}..{max_mm} mm")
        if min(step_mm, report_period_s) <= 0:
            raise ValueError("steps and periods must be positive")
        self.min_mm, self.max_mm, self.unit = min_mm, max_mm, unit
        self.move_to, self.answers_unit = move_to, answers_unit
        self.step_mm, self.physics = step_mm, physics
        self._rng = rng if rng is not None else random.Random(0)  # noqa: S311 - a simulation
        self.report_period_s, self.sleep_after_s = report_period_s, sleep_after_s
        self.memories_mm: list[int | None] = list(memories_mm)
        self.motor = Motor(
            float(height_mm), low_mm=min_mm, high_mm=max_mm, speed_mm_s=speed_mm_s,
            accel_mm_s2=accel_mm_s2, physics=physics, rng=self._rng,
        )  # fmt: skip
        # test hooks and observation
        self.collision_mm: int | None = None
        self.now_s = 0.0
        self.writes: list[tuple[float, int, bytes]] = []
        self.hazards: list[int] = []
        self.locked = False
        self._reader = FrameReader()
        self._out: list[bytes] = []
        self._last_command_s = 0.0
        self._hot_until_s = -1.0
        self._stop_at_s: float | None = None
        self._backing_off = False
        self._next_report_s = 0.0
        self._was_moving = False
        self._collided = False  # the report at rest is due for sure

    # -- observation ---------------------------------------------------------------------------
    @property
    def height_mm(self) -> int:
        return round(self.motor.pos_mm)

    @property
    def moving(self) -> bool:
        return self.motor.moving

    @property
    def asleep(self) -> bool:
        return (
            self.sleep_after_s is not None
            and self.now_s - self._last_command_s >= self.sleep_after_s
        )

    @property
    def active(self) -> bool:
        """False once nothing changes with time (the motor rests, nothing is pending)."""
        return self.motor.moving or self.motor.goal_mm is not None or self._stop_at_s is not None

    # -- the client's side ---------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        for op, payload in self._reader.feed(data):
            self.writes.append((self.now_s, op, payload))
            if op in HAZARDOUS_OPS:
                self.hazards.append(op)
                continue
            if op == Op.WAKE or not self.asleep:
                self._command(op, payload)
            if op in set(Op):
                self._last_command_s = self.now_s

    def _command(self, op: int, payload: bytes) -> None:
        if op in _MOVES and self._refuses_moves():
            return
        if op in (Op.UP, Op.DOWN):
            direction = 1 if op == Op.UP else -1
            headed = self.motor.goal_mm if self.motor.goal_mm is not None else self.motor.pos_mm
            self._drive(headed + direction * self.step_mm)
        elif op == Op.MOVE_TO and self.move_to and len(payload) == 2:
            target = int.from_bytes(payload, "big")
            if self.min_mm <= target <= self.max_mm:  # the box refuses a height it cannot reach
                self._drive(float(target))
        elif op in _RECALLS:
            remembered = self.memories_mm[_RECALLS[Op(op)]]
            if remembered is not None:
                self._drive(float(remembered))
        elif op in _SAVES:
            self.memories_mm[_SAVES[Op(op)]] = self.height_mm
        elif op == Op.STOP:
            low, high = self.physics.stop_delay_s
            self._stop_at_s = self.now_s + (self._rng.uniform(low, high) if high > 0 else 0.0)
        elif op == Op.REQUEST_SETTINGS:
            for slot, remembered in enumerate(self.memories_mm):
                if remembered is not None:
                    tenths = self.unit.from_mm(remembered)
                    self._out.append(encode_report(_MEMORY_OPS[slot], tenths.to_bytes(2, "big")))
            self._out.append(self._height_report())
        elif op == Op.REQUEST_LIMITS:
            limits = self.max_mm.to_bytes(2, "big") + self.min_mm.to_bytes(2, "big")
            self._out.append(encode_report(0x07, limits))
        elif op == Op.REQUEST_UNIT and self.answers_unit:
            self._out.append(encode_report(0x0E, bytes((0 if self.unit is DisplayUnit.CM else 1,))))

    def _refuses_moves(self) -> bool:
        if self.locked:
            self._out.append(encode_report(0x02, bytes((_LOCK,))))
            return True
        if self.now_s < self._hot_until_s:
            self._out.append(encode_report(0x02, bytes((_H01,))))
            return True
        return self._backing_off

    def _drive(self, goal_mm: float) -> None:
        self._stop_at_s = None
        self.motor.drive(min(max(goal_mm, float(self.min_mm)), float(self.max_mm)))

    # -- the physical side ---------------------------------------------------------------------
    def press(self, direction: int) -> None:
        """A hand on the paddle: +1 up, -1 down (to the end while held), 0 release (stop)."""
        if direction not in (-1, 0, 1):
            raise ValueError(f"press +1, -1 or 0, not {direction}")
        self._stop_at_s = None
        self.motor.drive(
            None if not direction else float(self.max_mm if direction > 0 else self.min_mm)
        )

    def error(self, code: int) -> None:
        """The box reports error `code` (E01-E04 stop the motor; H01 rests it; LOCK locks)."""
        self._out.append(encode_report(0x02, bytes((code,))))
        if code in range(1, 5):
            self.motor.halt()
        elif code == _H01:
            self.motor.drive(None)
            self._hot_until_s = self.now_s + HOT_REST_S
        elif code == _LOCK:
            self.locked = True

    def unlock(self) -> None:
        self.locked = False

    def advance(self, dt_s: float) -> list[bytes]:
        """Simulate `dt_s` seconds; return the report frames the box sent meanwhile."""
        if dt_s < 0:
            raise ValueError(f"time runs forward, not by {dt_s} s")
        out, self._out = self._out, []
        end_s = self.now_s + dt_s
        while self.now_s < end_s - 1e-9:
            if not self.active and not self._was_moving:  # at rest: nothing changes meanwhile
                self._collide(self.motor.pos_mm)
                self.now_s = end_s
                break
            h_s = min(Motor.STEP_S, end_s - self.now_s)
            if self._stop_at_s is not None and self.now_s >= self._stop_at_s - 1e-9:
                self._stop_at_s = None
                self.motor.brake()
            start = self.motor.pos_mm
            self.motor.step(h_s)
            self._collide(start)
            self.now_s += h_s
            self._report(out)
        return out

    def _collide(self, start: float) -> None:
        if self.collision_mm is None or self._backing_off:
            if self._backing_off and not self.motor.moving and self.motor.goal_mm is None:
                self._backing_off = False
            return
        obstacle, pos = float(self.collision_mm), self.motor.pos_mm
        if start < obstacle <= pos or start > obstacle >= pos:
            direction = 1 if pos > start else -1
            self.motor.halt(at_mm=obstacle)
            self._backing_off = self._collided = True
            self.motor.drive(obstacle - direction * BACKOFF_MM)

    def _height_report(self) -> bytes:
        tenths = self.unit.from_mm(self.height_mm)
        return encode_report(0x01, tenths.to_bytes(2, "big") + b"\x07")

    def _period_s(self) -> float:
        jitter = self.physics.report_jitter_s
        return self.report_period_s + (self._rng.uniform(-jitter, jitter) if jitter else 0.0)

    def _report(self, out: list[bytes]) -> None:
        moving = self.motor.moving
        if moving and not self._was_moving:
            self._next_report_s = self.now_s + self._period_s()
        elif moving and self.now_s >= self._next_report_s - 1e-9:
            out.append(self._height_report())
            self._next_report_s = max(self._next_report_s + self._period_s(), self.now_s + 1e-9)
        elif self._was_moving and not moving:
            p = self.physics.stop_report_p
            if self._collided or p >= 1 or (p > 0 and self._rng.random() < p):
                out.append(self._height_report())  # the last word: where it came to rest
            self._collided = False
        self._was_moving = moving
