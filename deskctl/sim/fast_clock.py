"""The clock a simulated desk's protocol keeps when the demo runs sped up (`--time-scale 60`).

Design: scaled 60 times, the protocols' deadlines (a LINAK target renewed every 0.3 s and dropped
after 1 s, a Jiecang link's read-back after 0.4 s quiet) would be a few milliseconds of real
time, which a busy machine misses, and the desk would stop short as if obstructed. So past
`PROTOCOL_SCALE` the link and the desk's controller keep a slower clock of their own and the motor
runs faster instead, up to `MOTOR_SPEEDUP_MAX` times, its acceleration by the square: a move keeps
its shape and takes the same real time. (A faster motor's speed would not fit LINAK's height
report.) The link reads only monotonic time, so the slower clock needs no start or zone.
"""

from __future__ import annotations

from typing import Protocol

from deskctl.clocks.clock import Clock

__all__ = ["MOTOR_SPEEDUP_MAX", "PROTOCOL_SCALE", "protocol_clock"]

PROTOCOL_SCALE = 4.0
MOTOR_SPEEDUP_MAX = 7.0  # 266 mm/s: LINAK's report carries at most 327 mm/s


class Motorised(Protocol):
    """A simulated motor: the LINAK desk model, or the Jiecang box's motor."""

    speed_max_mm_s: float
    accel_mm_s2: float


def protocol_clock(clock: Clock, motor: Motorised) -> Clock:
    """The clock for the link and the desk's controller on `clock`; past PROTOCOL_SCALE `motor`
    is made faster in place by as much as the returned clock is slower."""
    if clock.scale <= PROTOCOL_SCALE:
        return clock
    speedup = min(clock.scale / PROTOCOL_SCALE, MOTOR_SPEEDUP_MAX)
    motor.speed_max_mm_s *= speedup
    motor.accel_mm_s2 *= speedup**2
    return Clock(scale=clock.scale / speedup)
