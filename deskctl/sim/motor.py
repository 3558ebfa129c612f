"""A desk's motor as the simulated control boxes drive it: pure, stepped, one goal at a time.

Design: the position is in mm (any origin the box chooses) within `low_mm..high_mm`; the speed
ramps at `accel_mm_s2` up to `speed_mm_s`. The box names a `goal_mm` (None: no goal); towards it
the speed is `min(speed_mm_s, sqrt(2·accel·distance))`, so the motor lands on the goal; with no
goal it ramps down and stops where that takes it (which is how a stop runs on). `halt()` stops it
dead (a collision, an over-current cut-off). `step(h_s)` moves it `h_s` seconds; callers keep
steps at most `STEP_S` long.
"""

from __future__ import annotations

import math

__all__ = ["Motor"]


class Motor:
    STEP_S = 0.01

    def __init__(
        self,
        pos_mm: float,
        *,
        low_mm: float,
        high_mm: float,
        speed_mm_s: float = 38.0,
        accel_mm_s2: float = 80.0,
    ) -> None:
        if not low_mm <= pos_mm <= high_mm:
            raise ValueError(f"{pos_mm} mm lies outside the motor's {low_mm}..{high_mm} mm")
        if min(speed_mm_s, accel_mm_s2) <= 0:
            raise ValueError("speed and acceleration must be positive")
        self.low_mm, self.high_mm = low_mm, high_mm
        self.speed_max_mm_s, self.accel_mm_s2 = speed_mm_s, accel_mm_s2
        self.pos_mm = pos_mm
        self.v_mm_s = 0.0
        self.goal_mm: float | None = None

    @property
    def moving(self) -> bool:
        return self.v_mm_s != 0.0

    def halt(self, at_mm: float | None = None) -> None:
        """Stop dead (at `at_mm` if given), with no goal left."""
        if at_mm is not None:
            self.pos_mm = at_mm
        self.v_mm_s, self.goal_mm = 0.0, None

    def step(self, h_s: float) -> None:
        goal = self.goal_mm
        self.v_mm_s = self._next_speed(goal, h_s)
        start = self.pos_mm
        pos = start + self.v_mm_s * h_s
        if goal is not None and self.v_mm_s != 0 and (goal - start) * (goal - pos) <= 0:
            pos, self.v_mm_s, self.goal_mm = goal, 0.0, None  # landed exactly
        if not self.low_mm <= pos <= self.high_mm:
            pos, self.v_mm_s = min(max(pos, self.low_mm), self.high_mm), 0.0
        if goal is not None and self.v_mm_s == 0.0 and pos == goal:
            self.goal_mm = None
        self.pos_mm = pos

    def _next_speed(self, goal: float | None, h_s: float) -> float:
        v = self.v_mm_s
        desired = 0.0
        if goal is not None:
            distance = goal - self.pos_mm
            cap = min(self.speed_max_mm_s, math.sqrt(2 * self.accel_mm_s2 * abs(distance)))
            desired = math.copysign(cap, distance) if distance else 0.0
        if desired and desired * v > 0 and abs(desired) < abs(v):
            return desired  # braking along the curve that lands on the goal
        dv = self.accel_mm_s2 * h_s
        next_v = v + min(max(desired - v, -dv), dv)
        return 0.0 if goal is None and abs(next_v) < 1e-9 else next_v
