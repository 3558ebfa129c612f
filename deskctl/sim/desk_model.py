"""A simulated LINAK desk (controller and motor): pure, stepped in time, driven with real bytes.

Design: `DeskModel` is what sits at the far end of the GATT link. A client `write()`s and `read()`s
the characteristics' bytes (encoded and decoded with `deskctl.core.linak`); time passes only in
`advance(dt_s)`, which simulates `dt_s` in substeps of at most `STEP_S` and returns the
notifications the desk sent meanwhile. There is no asyncio and no clock: `ModelGattClient` steps it
in process, and a Bumble GATT server can wrap the same model for BLE tests.

The motor: the position is held in mm above the base (the raw 0..6500 at base 620, top 1270); the
speed ramps at `accel_mm_s2` up to `speed_mm_s`. Whatever drives it names a goal height; the
speed towards it is `min(top, sqrt(2·accel·distance))`, so it lands there exactly. `physics`
(`deskctl.sim.physics`; realistic by default, `IDEAL` for exact numbers) makes it a real desk's:
`top` is `speed_mm_s` off by this desk's spread and its load (slower up), the goal for a target is
off by up to `landing_mm` (a new draw per target value; a desk already resting that near stays
put), a STOP reaches the motor after `stop_delay_s` and it brakes at `stop_decel_mm_s2`, reports
come every period ± `report_jitter_s`. Every draw comes from `rng` (seeded: the same desk each run).
By priority:
- a hand on the desk's own button (`press(±1)`): the end of the range, while held;
- the back-off after a collision: about 10 mm away from the obstacle;
- a reference target (`REFERENCE_INPUT`), held only while renewed within `reference_hold_s`;
- UP/DOWN (`COMMAND`): the end of the range, for `command_run_s` after the last such write.
With no goal the motor ramps down and stops where it is; COMMAND STOP clears the collision latch
at once and, when it reaches the motor, the target, the command and the back-off, and halts it (a
target or UP/DOWN written after the STOP, as in wake, stop, target, overrides a STOP on its way).
A target outside the range is ignored (the real desk refuses it); `CANCEL_TARGET` drops the target
(ramp down). Targets are decoded with the codec, so they have its resolution: whole mm.

Reports: `HEIGHT_SPEED` is notified only while the motor turns (a real desk is quiet at rest,
even holding a target): at once when it starts, then every `report_period_s`; when motion stops, one
zero-speed report with the chance `physics.stop_report_p` (always after a collision). Reading it
tells where the desk is at any time. `advance_stamped` gives each notification's model time;
`started_at_s` and `rested_at_s` record when the motor last started and came to rest. The speed
is in the desk's own unit, `SPEED_UNITS_PER_MM_S` per mm/s, so an IDÅSEN at its 38 mm/s reports
about 6200 (never 0 while the motor turns, however slowly). `collision_mm` places an obstacle:
moving into that height the desk stops there (a zero-speed report), backs off ~10 mm and ignores
UP/DOWN/targets until COMMAND STOP (pressing its own buttons also works). DPG requests
(`7F <cmd> 00`) are answered by a DPG notification at the next `advance`, in the real desk's
format: 0x80
capabilities `01 02 23 01`, 0x81 base offset, 0x86 the user id (17 bytes unless built
otherwise); `7F 86 80 <id>` writes the user id and is answered `01 00`; any other command is
answered `0B 00` (not valid). Reading DPG gives the last answer, `01 00` before any request;
reading ERROR gives an empty value (what it holds is not on record). `needs_wake_up=True` models a
DPG1C controller: it reports height but ignores UP/DOWN/targets until the user id starts with 1
and a WAKE was written after that. Faults: `notifying = False` (no height notifications, reads
still work), `refuse_writes = True` (every write raises `LinkError`).

Public API:
    DeskModel(*, height_mm=750, base_mm=620, top_mm=1270, speed_mm_s=38.0, accel_mm_s2=80.0,
              report_period_s=0.1, command_run_s=1.0, reference_hold_s=1.0, needs_wake_up=False,
              base_offset_raw=None, user_id=bytes(17), physics=REALISTIC, rng=None)
    .write(char, data) -> None         COMMAND, REFERENCE_INPUT, DPG; ProtocolError on bad bytes
    .read(char) -> bytes               HEIGHT_SPEED (4 bytes), DPG (the last answer), ERROR
    .advance(dt_s) -> list[Notification]
    .active -> bool                    False once nothing changes with time: stop stepping
    .press(direction) -> None          +1 up, -1 down, 0 release
    .collision_mm, .notifying, .refuse_writes      test hooks (plain attributes)
    .height_mm, .height_raw, .speed_mm_s, .moving, .obstructed, .now_s, .writes   observation
`writes` logs every write the desk received (refused writes are not received), with `now_s`.
"""

from __future__ import annotations

import math
import random

from deskctl.core.linak import (
    DEFAULT_BASE_MM,
    DEFAULT_TOP_MM,
    Char,
    Command,
    DpgCommand,
    decode_height_speed,
    decode_target,
    encode_height_speed,
)
from deskctl.errors import LinkError, ProtocolError
from deskctl.sim.physics import REALISTIC, Physics, seeded

__all__ = ["SPEED_UNITS_PER_MM_S", "STEP_S", "DeskModel", "Notification", "Stamped"]

Notification = tuple[Char, bytes]
Stamped = tuple[float, Notification]  # when the desk sent it (the model's now_s), and what

STEP_S = 0.01  # the longest substep of the simulation
BACKOFF_MM = 10.0  # how far the desk backs off after a collision
# An IDÅSEN's capabilities payload: 3 memory slots, BLE allowed (0x23), then 01 (not decoded).
CAPABILITIES = b"\x23\x01"
# The speed field's unit: an IDÅSEN reports about 6200 at full speed, which users measured at
# about 37..38 mm/s (PROTOCOL.md, rhyst/linak-controller#7), so about 163 per mm/s.
SPEED_UNITS_PER_MM_S = 6200 / 38
_EPS_S = 1e-9
_DPG_PREFIX = 0x7F
_DPG_READ = 0x00
_DPG_WRITE = 0x80
_DPG_OK = b"\x01\x00"  # the answer to a DPG write, and what DPG reads before any request
_DPG_INVALID = b"\x0b\x00"  # the answer to a command the desk does not know


def _dpg_answer(payload: bytes) -> bytes:
    return bytes((0x01, len(payload))) + payload


class DeskModel:
    """A LINAK desk's controller and motor; see the module docstring."""

    def __init__(
        self,
        *,
        height_mm: int = 750,
        base_mm: int = DEFAULT_BASE_MM,
        top_mm: int = DEFAULT_TOP_MM,
        speed_mm_s: float = 38.0,
        accel_mm_s2: float = 80.0,
        report_period_s: float = 0.1,
        command_run_s: float = 1.0,
        reference_hold_s: float = 1.0,
        needs_wake_up: bool = False,
        base_offset_raw: int | None = None,
        user_id: bytes = bytes(17),
        physics: Physics = REALISTIC,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < top_mm - base_mm <= 0xFFFF // 10:
            raise ValueError(f"the top {top_mm} mm must lie above the base {base_mm} mm")
        if not base_mm <= height_mm <= top_mm:
            raise ValueError(f"{height_mm} mm lies outside the desk's {base_mm}..{top_mm} mm")
        if min(speed_mm_s, accel_mm_s2, report_period_s, command_run_s, reference_hold_s) <= 0:
            raise ValueError("speeds, acceleration and periods must be positive")
        if not 1 <= len(user_id) <= 0xFF:
            raise ValueError("a user id is 1 to 255 bytes")
        self.base_mm = base_mm
        self.top_mm = top_mm
        self.speed_max_mm_s = speed_mm_s
        self.accel_mm_s2 = accel_mm_s2
        self.report_period_s = report_period_s
        self.command_run_s = command_run_s
        self.reference_hold_s = reference_hold_s
        self.needs_wake_up = needs_wake_up
        self.base_offset_raw = base_mm * 10 if base_offset_raw is None else base_offset_raw
        self.user_id = bytes(user_id)
        self.physics = physics
        self._rng = rng if rng is not None else seeded(0)
        spread = physics.speed_spread
        self.speed_factor = 1.0 + self._rng.uniform(-spread, spread) if spread else 1.0
        # test hooks
        self.collision_mm: int | None = None
        self.notifying = True
        self.refuse_writes = False
        # observation
        self.now_s = 0.0
        self.rested_at_s: float | None = None  # when the motor last came to rest (model time)
        self.started_at_s: float | None = None  # ...and when it last started to turn
        self.writes: list[tuple[float, Char, bytes]] = []
        # motor and controller state (positions in mm above the base)
        self._range_mm = float(top_mm - base_mm)
        self._pos_mm = float(height_mm - base_mm)
        self._v_mm_s = 0.0
        self._target_mm: float | None = None
        self._goal_offset_mm = 0.0  # where the motor will really rest, from the target
        self._target_until_s = 0.0
        self._stop_at_s: float | None = None  # a STOP on its way to the motor
        self._braking = False  # a STOP reached the motor: it brakes hard until it rests
        self._collided = False  # the stop report is due at once
        self._command_dir = 0
        self._command_until_s = 0.0
        self._pressed = 0
        self._backoff_mm: float | None = None
        self._obstructed = False
        self._awake = not needs_wake_up
        self._pending: list[Stamped] = []
        self._last_dpg_answer = _DPG_OK
        self._was_moving = False
        self._next_report_s = 0.0

    # -- observation ---------------------------------------------------------------------------
    @property
    def height_raw(self) -> int:
        """The height in 0.1 mm above the base, as the desk reports it."""
        return min(max(round(self._pos_mm * 10), 0), round(self._range_mm * 10))

    @property
    def height_mm(self) -> int:
        """The height in whole mm above the floor (rounded as the codec rounds)."""
        return decode_height_speed(self.read(Char.HEIGHT_SPEED), self.base_mm).height_mm

    @property
    def speed_mm_s(self) -> float:
        """The signed speed: positive going up."""
        return self._v_mm_s

    @property
    def moving(self) -> bool:
        return self._v_mm_s != 0.0

    @property
    def obstructed(self) -> bool:
        """True after a collision until COMMAND STOP (or a press of the desk's own buttons)."""
        return self._obstructed

    @property
    def active(self) -> bool:
        """True while anything will change with time; when False the caller may stop stepping."""
        pressing = self._pressed != 0 and self._distance_to_end(self._pressed) > 0
        return bool(
            self._pending
            or self._v_mm_s != 0.0
            or self._was_moving  # a zero-speed report is due
            or self._target_mm is not None
            or self._command_dir
            or self._backoff_mm is not None
            or self._stop_at_s is not None
            or pressing
        )

    # -- GATT side -----------------------------------------------------------------------------
    def read(self, char: Char) -> bytes:
        if char is Char.HEIGHT_SPEED:
            return encode_height_speed(self.height_raw, self._speed_field())
        if char is Char.DPG:
            return self._last_dpg_answer
        if char is Char.ERROR:
            return b""
        raise ProtocolError(f"the simulated desk cannot read {char.name}")

    def write(self, char: Char, data: bytes) -> None:
        if self.refuse_writes:
            raise LinkError("the desk refused the write")
        data = bytes(data)
        self.writes.append((self.now_s, char, data))
        if char is Char.COMMAND:
            self._write_command(data)
        elif char is Char.REFERENCE_INPUT:
            self._write_target(data)
        elif char is Char.DPG:
            self._write_dpg(data)
        else:
            raise ProtocolError(f"{char.name} is not writable")

    def _write_command(self, data: bytes) -> None:
        if len(data) != 2:
            raise ProtocolError(f"a command is 2 bytes, got {len(data)}: {data.hex(' ')!r}")
        try:
            command = Command(data)
        except ValueError:
            raise ProtocolError(f"unknown command {data.hex(' ')}") from None
        if command is Command.STOP:
            self._obstructed = False  # the controller takes it at once; the motor may lag
            low, high = self.physics.stop_delay_s
            if high > 0:
                self._stop_at_s = self.now_s + self._rng.uniform(low, high)
            else:
                self._stop_motor()
        elif command is Command.WAKE:
            if self.user_id[0] == 1:
                self._awake = True
        elif self._accepts_moves():
            self._stop_at_s, self._braking = None, False
            self._target_mm = None
            self._command_dir = 1 if command is Command.UP else -1
            self._command_until_s = self.now_s + self.command_run_s

    def _write_target(self, data: bytes) -> None:
        target_above_base_mm = decode_target(data, base_mm=0)  # raises on bad bytes
        if target_above_base_mm is None:  # CANCEL_TARGET
            self._target_mm = None
            return
        if target_above_base_mm > self._range_mm or not self._accepts_moves():
            return
        self._command_dir = 0
        self._stop_at_s, self._braking = None, False  # a later target overrides a stop on its way
        if self._target_mm != float(target_above_base_mm):
            landing = self.physics.landing_mm
            self._goal_offset_mm = self._rng.uniform(-landing, landing) if landing else 0.0
            off_mm = self._pos_mm - target_above_base_mm
            if landing and self._v_mm_s == 0 and abs(off_mm) <= landing:
                self._goal_offset_mm = off_mm  # resting that near already: it stays put
        self._target_mm = float(target_above_base_mm)
        self._target_until_s = self.now_s + self.reference_hold_s

    def _write_dpg(self, data: bytes) -> None:
        if len(data) < 3 or data[0] != _DPG_PREFIX or data[2] not in (_DPG_READ, _DPG_WRITE):
            raise ProtocolError(f"a DPG request is 7F <cmd> 00|80 <data>, got {data.hex(' ')!r}")
        cmd, payload = data[1], data[3:]
        if data[2] == _DPG_READ:
            if payload:
                raise ProtocolError(f"a DPG read is 3 bytes, got {len(data)}: {data.hex(' ')!r}")
            self._pending.append((self.now_s, (Char.DPG, self._dpg_read(cmd))))
        elif cmd == DpgCommand.USER_ID:
            if not 1 <= len(payload) <= 0xFF:
                raise ProtocolError(f"a user id is 1 to 255 bytes, got {len(payload)}")
            self.user_id = payload
            if payload[0] != 1 and self.needs_wake_up:
                self._awake = False
            self._pending.append((self.now_s, (Char.DPG, _DPG_OK)))
        else:
            self._pending.append((self.now_s, (Char.DPG, _DPG_INVALID)))

    def _dpg_read(self, cmd: int) -> bytes:
        if cmd == DpgCommand.CAPABILITIES:
            return _dpg_answer(CAPABILITIES)
        if cmd == DpgCommand.BASE_OFFSET:
            return _dpg_answer(b"\x01" + self.base_offset_raw.to_bytes(2, "little"))
        if cmd == DpgCommand.USER_ID:
            return _dpg_answer(self.user_id)
        return _DPG_INVALID

    def _accepts_moves(self) -> bool:
        return self._awake and not self._obstructed and self._pressed == 0

    def _clear_drive(self) -> None:
        self._target_mm = None
        self._command_dir = 0
        self._pressed = 0

    def _stop_motor(self) -> None:
        """A STOP reaches the motor: it drops every goal and halts (at once, or braking hard)."""
        self._stop_at_s = None
        self._clear_drive()
        self._backoff_mm = None
        if math.isinf(self.physics.stop_decel_mm_s2):
            self._v_mm_s = 0.0
        else:
            self._braking = self._v_mm_s != 0.0

    # -- physical side -------------------------------------------------------------------------
    def press(self, direction: int) -> None:
        """A hand on the desk's own button: +1 up, -1 down, 0 release. It overrides everything."""
        if direction not in (-1, 0, 1):
            raise ValueError(f"press +1, -1 or 0, not {direction}")
        if direction:
            self._clear_drive()
            self._stop_at_s, self._braking = None, False
            self._backoff_mm = None
            self._obstructed = False
        self._pressed = direction

    def advance(self, dt_s: float) -> list[Notification]:
        """Simulate `dt_s` seconds; return the notifications the desk sent meanwhile."""
        return [notification for _, notification in self.advance_stamped(dt_s)]

    def advance_stamped(self, dt_s: float) -> list[Stamped]:
        """`advance`, with the model time at which each notification was sent."""
        if dt_s < 0:
            raise ValueError(f"time runs forward, not by {dt_s} s")
        if not self.active:  # nothing changes with time: skip the substeps
            self.now_s += dt_s
            return []
        out, self._pending = self._pending, []
        steps = max(1, math.ceil(dt_s / STEP_S - 1e-6)) if dt_s > 0 else 0
        for _ in range(steps):
            self._step(dt_s / steps, out)
        for _, (char, data) in out:
            if char is Char.DPG:
                self._last_dpg_answer = data
        return out

    # -- the motor -----------------------------------------------------------------------------
    def _distance_to_end(self, direction: int) -> float:
        return self._range_mm - self._pos_mm if direction > 0 else self._pos_mm

    def _goal_mm(self) -> float | None:
        if self._pressed:
            return self._range_mm if self._pressed > 0 else 0.0
        if self._backoff_mm is not None:
            return self._backoff_mm
        if self._target_mm is not None:
            return min(max(self._target_mm + self._goal_offset_mm, 0.0), self._range_mm)
        if self._command_dir:
            return self._range_mm if self._command_dir > 0 else 0.0
        return None

    def _step(self, h_s: float, out: list[Stamped]) -> None:
        if self._stop_at_s is not None and self.now_s >= self._stop_at_s - _EPS_S:
            self._stop_motor()
        if self._command_dir and self.now_s >= self._command_until_s - _EPS_S:
            self._command_dir = 0
        if self._target_mm is not None and self.now_s >= self._target_until_s - _EPS_S:
            self._target_mm = None
        goal = self._goal_mm()
        self._v_mm_s = self._next_speed(goal, h_s)
        start = self._pos_mm
        pos = start + self._v_mm_s * h_s
        if goal is not None and self._v_mm_s != 0 and (goal - start) * (goal - pos) <= 0:
            pos, self._v_mm_s = goal, 0.0  # landed exactly
        if not 0.0 <= pos <= self._range_mm:
            pos, self._v_mm_s = min(max(pos, 0.0), self._range_mm), 0.0
        self._pos_mm = self._collide(start, pos)
        if self._backoff_mm is not None and self._pos_mm == self._backoff_mm:
            self._backoff_mm = None
        self.now_s += h_s
        self._report(out)

    def top_speed_mm_s(self, direction: int) -> float:
        """This desk's top speed up (+1) or down (-1): its own spread, and the load on it."""
        load = self.physics.load_change
        return self.speed_max_mm_s * self.speed_factor * (1 - load if direction > 0 else 1 + load)

    def _next_speed(self, goal: float | None, h_s: float) -> float:
        v = self._v_mm_s
        if self._braking:
            dv = self.physics.stop_decel_mm_s2 * h_s
            if abs(v) <= dv:
                self._braking = False
                return 0.0
            return v - math.copysign(dv, v)
        desired = 0.0
        if goal is not None:
            distance = goal - self._pos_mm
            top = self.top_speed_mm_s(1 if distance > 0 else -1)
            cap = min(top, math.sqrt(2 * self.accel_mm_s2 * abs(distance)))
            desired = math.copysign(cap, distance) if distance else 0.0
        if desired and desired * v > 0 and abs(desired) < abs(v):
            return desired  # braking along the curve that lands on the goal
        dv = self.accel_mm_s2 * h_s
        return v + min(max(desired - v, -dv), dv)

    def _collide(self, start: float, pos: float) -> float:
        if self.collision_mm is None or self._backoff_mm is not None or pos == start:
            return pos
        obstacle = float(self.collision_mm - self.base_mm)
        if not (start < obstacle <= pos or start > obstacle >= pos):
            return pos
        direction = 1 if pos > start else -1
        self._v_mm_s = 0.0
        self._clear_drive()
        self._stop_at_s, self._braking = None, False
        self._obstructed = True
        self._collided = True
        backoff = obstacle - direction * BACKOFF_MM
        self._backoff_mm = min(max(backoff, 0.0), self._range_mm)
        return obstacle

    def _speed_field(self) -> int:
        speed = round(self._v_mm_s * SPEED_UNITS_PER_MM_S)
        speed = min(max(speed, -0x8000), 0x7FFF)
        if speed == 0 and self._v_mm_s != 0:
            speed = 1 if self._v_mm_s > 0 else -1  # still moving, however slowly
        return speed

    def _period_s(self) -> float:
        jitter = self.physics.report_jitter_s
        return self.report_period_s + (self._rng.uniform(-jitter, jitter) if jitter else 0.0)

    def _report(self, out: list[Stamped]) -> None:
        """Height reports only while the motor turns: the first at once, then every period (with
        its jitter), and, now and then (always after a collision), a zero-speed one at rest."""
        moving = self._v_mm_s != 0
        due = False
        if moving and not self._was_moving:
            due = True
            self.started_at_s = self.now_s
            self._next_report_s = self.now_s + self._period_s()
        elif self._was_moving and not moving:
            p = self.physics.stop_report_p
            due = self._collided or p >= 1 or (p > 0 and self._rng.random() < p)
        elif moving and self.now_s >= self._next_report_s - _EPS_S:
            due = True
            self._next_report_s = max(self._next_report_s + self._period_s(), self.now_s + _EPS_S)
        if not moving:
            self._collided = False
            if self._was_moving:
                self.rested_at_s = self.now_s
        if due and self.notifying:
            out.append((self.now_s, (Char.HEIGHT_SPEED, self.read(Char.HEIGHT_SPEED))))
        self._was_moving = moving
