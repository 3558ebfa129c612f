"""The emulated ESPHome desk's motor and firmware, pure and stepped in time (no IO, no clock).

Design: `EsphomeDeskModel.advance(dt_s)` lets time pass in substeps of `STEP_S`: a wired desk box
whose motor runs while up or down is held, ramping to its speed and coasting to rest on release,
plus the ESPHome firmware in front of it. The firmware has no exact move-to of its own: given a
target it holds the button towards it and releases it once its reading (the height at the
payload's own resolution: 0.1 in by default, or one percent of the range for a cover) has reached
the target, plus `runs_past_mm` (a slow loop; negative: it lets go early, as the public Upsy
Desky template does 0.4 in short and counts on the coast). A new target while moving that lies
behind the motion, or within one step of the reading, releases the button (the desk stops; it
never reverses in one go); at rest, a target one step or more away starts a move. Hands on the
desk's own buttons (`press`) override the firmware; `obstacle_mm` stops the motor there (no
back-off) for as long as it is driven against it.

`EsphomePhysics` says how far the desk is from an ideal one. Its defaults are realistic; `IDEAL`
(exact numbers for unit tests) reads the true height continuously and stops at once:
- the firmware reads the height from the box's UART frames (`frame_s` apart while moving) and
  the box sends none once the motor is slower than `quiet_below_mm_s`, so the last frame may lie
  short of where the desk comes to rest: a stale last report; one more frame with the resting
  height may come `final_frame_s` after the motor stopped (None: never, the stale one stays);
- the motor runs on for `stop_delay_s` (uniform per stop) after a release, then decelerates at
  its deceleration × U(1 ± `decel_spread`): the run-on varies from move to move;
- each run's speed is × N(1, `speed_spread`) (clipped at 3 σ), and a loaded desk rises at
  (1 - `load`) and lowers at (1 + `load`) of it;
- `publish_s`, `delay_s`: how often the sensor publishes (an ESPHome polling sensor publishes a
  changed value at most every update interval: 500 ms for the standing_desk_height sensor) and
  what Wi-Fi and the broker add to each message each way; `EsphomeDesk` carries these out.
Randomness comes from one `random.Random(seed)`: the same seed, the same desk.

Public API:
    EsphomePhysics(...), IDEAL, STEP_S
    EsphomeDeskModel(preset="upsy", *, height_mm=750, bottom_mm=620, top_mm=1270, unit="in",
                     decimals=1, speed_mm_s=38.0, accel_mm_s2=300.0, runs_past_mm=0.0,
                     physics=EsphomePhysics())
        .set_target_mm(mm), .stop(), .press(direction), .hold(direction, for_s) (a held step
        button), .recall_mm(mm) (the box's own ramp), .advance(dt_s), .obstacle_mm
        .position_mm, .velocity_mm_s, .reading, .reading_mm (what the firmware reads and
        publishes), .rest_reading_mm (the true height at the firmware's resolution),
        .resolution_mm, .active, .runs (the speed of each run, mm/s)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM
from deskctl.core.units import MM_PER_UNIT

__all__ = ["IDEAL", "STEP_S", "EsphomeDeskModel", "EsphomePhysics", "Preset"]

Preset = Literal["upsy", "cover"]
STEP_S = 0.002  # the longest substep of the motor and firmware simulation
_EPS_MM = 1e-6


@dataclass(frozen=True, slots=True)
class EsphomePhysics:
    """How the emulated desk departs from an ideal one (realistic defaults; see the module)."""

    frame_s: float = 0.05  # UART height frames while moving; 0: the true height, continuously
    quiet_below_mm_s: float = 15.0  # no frames while the motor is slower than this
    final_frame_s: float | None = 1.0  # a last frame at rest this long after stopping; None: none
    stop_delay_s: tuple[float, float] = (0.03, 0.12)  # the motor runs on after a release
    decel_spread: float = 0.15  # each stop decelerates at × U(1 - spread, 1 + spread)
    speed_spread: float = 0.03  # each run at × N(1, spread)
    load: float = 0.05  # up at (1 - load), down at (1 + load) of the speed
    publish_s: float = 0.5  # the sensor publishes a changed height at most this often; 0: at once
    delay_s: tuple[float, float] = (0.005, 0.04)  # Wi-Fi and broker, each message each way
    seed: int = 0

    def __post_init__(self) -> None:
        low, high = self.stop_delay_s
        d_low, d_high = self.delay_s
        numbers = (self.frame_s, self.quiet_below_mm_s, self.decel_spread, self.speed_spread)
        if min(*numbers, self.load, self.publish_s, low, d_low) < 0:
            raise ValueError("the desk's physics take no negative numbers")
        if low > high or d_low > d_high or self.decel_spread >= 1 or self.load >= 1:
            raise ValueError("a range runs from low to high, and a spread or load stays below 1")
        if self.final_frame_s is not None and self.final_frame_s < 0:
            raise ValueError("the final frame cannot come before the motor stops")


IDEAL = EsphomePhysics(
    frame_s=0.0,
    quiet_below_mm_s=0.0,
    final_frame_s=None,
    stop_delay_s=(0.0, 0.0),
    decel_spread=0.0,
    speed_spread=0.0,
    load=0.0,
    publish_s=0.0,
    delay_s=(0.0, 0.0),
)


class EsphomeDeskModel:
    """A hold-to-move desk box with ESPHome firmware in front; see the module docstring."""

    def __init__(
        self,
        preset: Preset = "upsy",
        *,
        height_mm: float = 750,
        bottom_mm: int = DEFAULT_BASE_MM,
        top_mm: int = DEFAULT_TOP_MM,
        unit: Literal["in", "cm", "mm"] = "in",
        decimals: int = 1,
        speed_mm_s: float = 38.0,
        accel_mm_s2: float = 300.0,
        runs_past_mm: float = 0.0,
        physics: EsphomePhysics | None = None,
    ) -> None:
        if not bottom_mm < top_mm:
            raise ValueError(f"the bottom {bottom_mm} mm must lie below the top {top_mm} mm")
        if not bottom_mm <= height_mm <= top_mm:
            raise ValueError(f"{height_mm} mm lies outside the desk's {bottom_mm}..{top_mm} mm")
        if min(speed_mm_s, accel_mm_s2) <= 0 or decimals < 0:
            raise ValueError("speed and acceleration must be positive, decimals not negative")
        self.preset = preset
        self.bottom_mm = bottom_mm
        self.top_mm = top_mm
        self.unit = unit
        self.decimals = decimals
        self.speed_mm_s = speed_mm_s
        self.accel_mm_s2 = accel_mm_s2
        self.runs_past_mm = runs_past_mm
        self.physics = physics if physics is not None else EsphomePhysics()
        self.random = random.Random(self.physics.seed)  # noqa: S311 - a desk, not secrets
        self.obstacle_mm: float | None = None
        self.position_mm = float(height_mm)
        self.velocity_mm_s = 0.0
        self.target_mm: float | None = None
        self.runs: list[float] = []  # the speed of each run, mm/s
        self._t_s = 0.0  # the model's own time
        self._held = 0  # the button the firmware holds: +1 up, -1 down
        self._pressed = 0  # a person's hand on the desk's own buttons
        self._hit_from = 0  # the direction the desk ran into the obstacle
        self._run_dir = 0  # the direction of the current run (sampled speed applies)
        self._run_speed_mm_s = speed_mm_s
        self._decel_mm_s2 = accel_mm_s2
        self._linger = 0  # the motor still driven after a release ...
        self._linger_until_s = 0.0  # ... until then
        self._frame_mm = self.position_mm  # the height in the last UART frame
        self._next_frame_s = 0.0
        self._final_at_s: float | None = None  # when the late frame with the rest comes
        self._hold_until_s: float | None = None  # a held step button lets go then
        self._ramp = False  # driving to target_mm with the box's own ramp (a memory recall)

    # -- the reading --------------------------------------------------------------------------
    @property
    def resolution_mm(self) -> float:
        if self.preset == "cover":
            return (self.top_mm - self.bottom_mm) / 100
        return float(MM_PER_UNIT[self.unit]) * 10.0 ** (-self.decimals)

    def _quantize(self, position_mm: float) -> float:
        """The height as the firmware reads it, in mm (a whole number of steps)."""
        if self.preset == "cover":
            steps = math.floor((position_mm - self.bottom_mm) / self.resolution_mm + 0.5)
            return self.bottom_mm + steps * self.resolution_mm
        steps = math.floor(position_mm / self.resolution_mm + 0.5)
        return steps * self.resolution_mm

    @property
    def reading_mm(self) -> float:
        """What the firmware reads (its last frame) and publishes, in mm."""
        return self._quantize(self._frame_mm)

    @property
    def rest_reading_mm(self) -> float:
        """The true height at the firmware's resolution: what a fresh frame would read."""
        return self._quantize(self.position_mm)

    @property
    def reading(self) -> str:
        """The state payload: the height in the unit with its decimals, or a cover's position."""
        if self.preset == "cover":
            return str(round((self.reading_mm - self.bottom_mm) / self.resolution_mm))
        value = self.reading_mm / float(MM_PER_UNIT[self.unit])
        return f"{value:.{self.decimals}f}"

    @property
    def position_percent(self) -> float:
        return (self.position_mm - self.bottom_mm) * 100 / (self.top_mm - self.bottom_mm)

    @property
    def direction(self) -> int:
        """Where the motor is driven: the hand on the buttons, the firmware, or the run-on."""
        lingering = self._linger if self._t_s < self._linger_until_s else 0
        return self._pressed or self._held or lingering

    @property
    def active(self) -> bool:
        """False once nothing changes with time (stepping can pause)."""
        return self.direction != 0 or self.velocity_mm_s != 0 or self._final_at_s is not None

    # -- commands -----------------------------------------------------------------------------
    def set_target_mm(self, target_mm: float) -> None:
        """A target from the number or the cover's position (clamped to the desk's range)."""
        target = min(max(float(target_mm), float(self.bottom_mm)), float(self.top_mm))
        gap = target - self.reading_mm
        step = self.resolution_mm
        moving = self.direction or (
            1 if self.velocity_mm_s > 0 else -1 if self.velocity_mm_s else 0
        )
        if moving and gap * moving < step - _EPS_MM:
            self.stop()  # behind the motion, or within a step: release, never reverse at speed
            return
        if abs(gap) < step - _EPS_MM:
            self.stop()
            return
        self.target_mm = target
        self._held = 1 if gap > 0 else -1
        self._linger = 0
        self._firmware()  # the firmware checks at once: a target inside its early release

    def stop(self) -> None:
        self.target_mm = None
        self._hold_until_s = None
        self._ramp = False
        self._release(self._held)
        self._held = 0

    def hold(self, direction: int, for_s: float) -> None:
        """A held step button: drive `direction` for `for_s` more seconds from now (a press
        while held extends it), then let go."""
        drive = (direction > 0) - (direction < 0)
        if not drive or self._pressed:
            return
        if self._held != drive:
            self.stop()
        self.target_mm = None
        self._ramp = False
        self._held = drive
        self._linger = 0
        self._hold_until_s = self._t_s + for_s

    def recall_mm(self, target_mm: float) -> None:
        """A memory recall: the box drives to `target_mm` with its own ramp, letting go when its
        stopping distance remains (it knows its true position), so it lands within about a mm."""
        target = min(max(float(target_mm), float(self.bottom_mm)), float(self.top_mm))
        if self._pressed or abs(target - self.position_mm) < 0.5:
            return
        drive = 1 if target > self.position_mm else -1
        if self._held and self._held != drive:
            self.stop()
        self.target_mm = target
        self._held = drive
        self._hold_until_s = None
        self._ramp = True
        self._linger = 0

    def press(self, direction: int) -> None:
        """A hand on the desk's own buttons: +1 up, -1 down, 0 lets go (overrides the firmware)."""
        pressed = (direction > 0) - (direction < 0)
        if not pressed:
            self._release(self._pressed)
        self._pressed = pressed
        if pressed:
            self.target_mm = None
            self._held = 0
            self._linger = 0
            self._hold_until_s = None
            self._ramp = False

    def _release(self, direction: int) -> None:
        """A button let go: a running motor goes on for the stop delay, then decelerates."""
        physics = self.physics
        spread = physics.decel_spread
        self._decel_mm_s2 = self.accel_mm_s2 * self.random.uniform(1 - spread, 1 + spread)
        if direction and self.velocity_mm_s != 0:
            self._linger = direction
            self._linger_until_s = self._t_s + self.random.uniform(*physics.stop_delay_s)

    # -- time ---------------------------------------------------------------------------------
    def advance(self, dt_s: float) -> None:
        """Let `dt_s` seconds pass, in substeps of at most STEP_S."""
        remaining = max(0.0, dt_s)
        while remaining > 0 and self.active:
            step = min(STEP_S, remaining)
            self._step(step)
            remaining -= step

    def _start_run(self, drive: int) -> None:
        """A new run: its speed varies from run to run and with the load's direction."""
        physics = self.physics
        spread = physics.speed_spread
        factor = min(max(self.random.gauss(1.0, spread), 1 - 3 * spread), 1 + 3 * spread)
        factor *= (1 - physics.load) if drive > 0 else (1 + physics.load)
        self._run_dir = drive
        self._run_speed_mm_s = self.speed_mm_s * factor
        self.runs.append(self._run_speed_mm_s)
        self._final_at_s = None
        self._next_frame_s = self._t_s  # frames start again at once

    def _step(self, dt_s: float) -> None:
        self._t_s += dt_s
        if self._hold_until_s is not None and self._t_s + 1e-9 >= self._hold_until_s:
            self.stop()  # the held step button lets go
        if self._ramp and self.target_mm is not None and self._held:
            left_mm = (self.target_mm - self.position_mm) * self._held
            speed = abs(self.velocity_mm_s)
            low, high = self.physics.stop_delay_s
            stopping_mm = speed * speed / (2 * self.accel_mm_s2) + speed * (low + high) / 2
            if left_mm <= stopping_mm:
                self.stop()
        drive = self.direction
        if drive and drive != self._run_dir:
            self._start_run(drive)
        elif not drive and self.velocity_mm_s == 0:
            self._run_dir = 0
        goal = drive * self._run_speed_mm_s
        at_end = (drive > 0 and self.position_mm >= self.top_mm) or (
            drive < 0 and self.position_mm <= self.bottom_mm
        )
        if at_end:
            goal = 0.0
        speeding_up = abs(goal) > abs(self.velocity_mm_s) and goal * self.velocity_mm_s >= 0
        change = (self.accel_mm_s2 if speeding_up else self._decel_mm_s2) * dt_s
        if self.velocity_mm_s < goal:
            self.velocity_mm_s = min(goal, self.velocity_mm_s + change)
        elif self.velocity_mm_s > goal:
            self.velocity_mm_s = max(goal, self.velocity_mm_s - change)
        before = self.position_mm
        after = min(max(before + self.velocity_mm_s * dt_s, self.bottom_mm), self.top_mm)
        if self.obstacle_mm is not None and self._hits_obstacle(before, after):
            self._hit_from = 1 if after > before else -1
            after = float(self.obstacle_mm)
            self.velocity_mm_s = 0.0
        if after in (self.bottom_mm, self.top_mm):
            self.velocity_mm_s = 0.0
        self.position_mm = after
        if self._frame(drive):
            self._firmware()

    def _frame(self, drive: int) -> bool:
        """Update the firmware's reading from the box's frames; True when a frame came."""
        physics = self.physics
        if physics.frame_s == 0:
            self._frame_mm = self.position_mm
            return True
        at_rest = drive == 0 and self.velocity_mm_s == 0
        if at_rest:
            if self._final_at_s is None:
                if physics.final_frame_s is not None and self._frame_mm != self.position_mm:
                    self._final_at_s = self._t_s + physics.final_frame_s
                return False
            if self._t_s + 1e-9 < self._final_at_s:
                return False
            self._final_at_s = None
        elif abs(self.velocity_mm_s) < physics.quiet_below_mm_s and not drive:
            return False  # coasting slowly: the box has stopped sending frames
        elif self._t_s + 1e-9 < self._next_frame_s:
            return False
        self._frame_mm = self.position_mm
        self._next_frame_s = self._t_s + physics.frame_s
        return True

    def _hits_obstacle(self, before: float, after: float) -> bool:
        """Whether moving from `before` to `after` runs into (or pushes against) the obstacle."""
        obstacle = self.obstacle_mm
        if obstacle is None:
            return False
        if before < obstacle:
            return after >= obstacle
        if before > obstacle:
            return after <= obstacle
        return (after - before) * self._hit_from > 0  # pushing on against it

    def _firmware(self) -> None:
        """Release the held button once the reading has reached the target (plus any run-past)."""
        if self._held == 0 or self.target_mm is None or self._ramp:
            return
        passed_mm = (self.reading_mm - self.target_mm) * self._held
        if passed_mm >= self.runs_past_mm - _EPS_MM:
            self.stop()
