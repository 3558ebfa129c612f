"""A desk's motor as the simulated control boxes drive it: pure, stepped, one goal at a time.

Design: the position is in mm (any origin the box chooses) within `low_mm..high_mm`; the speed
ramps at `accel_mm_s2` up to the top speed. The box names a goal (`drive(goal_mm)`; None: no
goal); towards it the speed is `min(top, sqrt(2·accel·distance))`, so the motor lands on it; with
no goal it ramps down at `accel_mm_s2` and stops where that takes it (a paddle released).
`brake()` is a stop command reaching the motor: it brakes at the physics' `stop_decel_mm_s2`
(at once when that is infinite). `halt()` stops it dead (a collision, an over-current cut-off).
`step(h_s)` moves it `h_s` seconds; callers keep steps at most `STEP_S` long.

How true to a real motor it is comes from `deskctl.sim.physics.Physics` (the same parameters the
LINAK desk model takes), with a seeded `random.Random`: this motor's top speed differs from the
nominal by up to `speed_spread` (drawn once), up runs `load_change` slower and down faster, and
each new goal is landed up to `landing_mm` off (drawn per goal). The stop's delay and the report
timing are the box's (they are not the motor's). `IDEAL` (the default) is the exact motor.
"""

from __future__ import annotations

import math
import random

from deskctl.sim.physics import IDEAL, Physics

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
        physics: Physics = IDEAL,
        rng: random.Random | None = None,
    ) -> None:
        if not low_mm <= pos_mm <= high_mm:
            raise ValueError(f"{pos_mm} mm lies outside the motor's {low_mm}..{high_mm} mm")
        if min(speed_mm_s, accel_mm_s2) <= 0:
            raise ValueError("speed and acceleration must be positive")
        self.low_mm, self.high_mm = low_mm, high_mm
        self.speed_max_mm_s, self.accel_mm_s2 = speed_mm_s, accel_mm_s2
        self.physics = physics
        self._rng = rng if rng is not None else random.Random(0)  # noqa: S311 - a simulation
        spread = physics.speed_spread
        self.speed_factor = 1.0 + self._rng.uniform(-spread, spread) if spread else 1.0
        self.pos_mm = pos_mm
        self.v_mm_s = 0.0
        self.goal_mm: float | None = None  # the goal as the box named it
        self._offset_mm = 0.0  # where the motor really rests, from the goal
        self._braking = False

    @property
    def moving(self) -> bool:
        return self.v_mm_s != 0.0

    def top_speed_mm_s(self, direction: int) -> float:
        """This motor's top speed up (+1) or down (-1): its own spread, and the load on it."""
        load = self.physics.load_change
        return self.speed_max_mm_s * self.speed_factor * (1 - load if direction > 0 else 1 + load)

    def drive(self, goal_mm: float | None) -> None:
        """Head for `goal_mm` (None: no goal, ramp down); a new goal draws its landing error."""
        if goal_mm is not None and goal_mm != self.goal_mm:
            landing = self.physics.landing_mm
            self._offset_mm = self._rng.uniform(-landing, landing) if landing else 0.0
        self.goal_mm = goal_mm
        self._braking = False

    def brake(self) -> None:
        """A stop reaches the motor: drop the goal and brake hard (at once for the ideal one)."""
        self.goal_mm = None
        if math.isinf(self.physics.stop_decel_mm_s2):
            self.v_mm_s = 0.0
        else:
            self._braking = self.v_mm_s != 0.0

    def halt(self, at_mm: float | None = None) -> None:
        """Stop dead (at `at_mm` if given), with no goal left."""
        if at_mm is not None:
            self.pos_mm = at_mm
        self.v_mm_s, self.goal_mm, self._braking = 0.0, None, False

    def _effective_goal(self) -> float | None:
        if self.goal_mm is None:
            return None
        return min(max(self.goal_mm + self._offset_mm, self.low_mm), self.high_mm)

    def step(self, h_s: float) -> None:
        goal = self._effective_goal()
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
        if self._braking:
            dv = self.physics.stop_decel_mm_s2 * h_s
            if abs(v) <= dv:
                self._braking = False
                return 0.0
            return v - math.copysign(dv, v)
        desired = 0.0
        if goal is not None:
            distance = goal - self.pos_mm
            top = self.top_speed_mm_s(1 if distance > 0 else -1)
            cap = min(top, math.sqrt(2 * self.accel_mm_s2 * abs(distance)))
            desired = math.copysign(cap, distance) if distance else 0.0
        if desired and desired * v > 0 and abs(desired) < abs(v):
            return desired  # braking along the curve that lands on the goal
        dv = self.accel_mm_s2 * h_s
        next_v = v + min(max(desired - v, -dv), dv)
        return 0.0 if goal is None and abs(next_v) < 1e-9 else next_v
