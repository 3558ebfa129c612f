"""How true to a real desk the simulated one is: its physics and the radio between it and us.

Design: two frozen parameter sets, each with a realistic default and an ideal form for unit tests
that need exact numbers. Randomness is never drawn here: the desk model and the radio take a
seeded `random.Random`, so a test with a seed sees the same desk every run.

`Physics` (the desk, `deskctl.sim.desk_model.DeskModel`):
- `speed_spread`: this desk's top speed differs from the nominal by up to this fraction (drawn
  once per desk); `load_change`: with the load on it, up runs this fraction slower, down faster;
- `landing_mm`: the controller brakes onto a target but comes to rest up to this far from it
  (drawn per target), creeping the last fraction of a millimetre (inertia);
- `stop_delay_s`: COMMAND STOP reaches the motor after a delay drawn from this range, then the
  motor brakes at `stop_decel_mm_s2` (`math.inf`: at once);
- `report_jitter_s`: each height report comes its period ± up to this;
- `stop_report_p`: the chance that a desk coming to rest sends one last zero-speed report (after a
  collision it always does); otherwise its last report is one from while it still moved, and only
  reading the height characteristic tells where it rests.
Both forms notify heights only while the desk moves: a real desk goes quiet at rest.

`Radio` (the BLE connection; `RadioLink` is one connection's timing): writes, reads and
notifications wait for the next connection event, every `interval_s` (one interval per
connection, drawn from this range); a height notification is lost with probability `loss`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = [
    "IDEAL",
    "NO_RADIO",
    "RADIO",
    "REALISTIC",
    "Physics",
    "Radio",
    "RadioLink",
    "seeded",
]


def seeded(seed: int) -> random.Random:
    """The simulation's randomness, repeatable from `seed` (never used for secrets)."""
    return random.Random(seed)  # noqa: S311


@dataclass(frozen=True, slots=True)
class Physics:
    """The desk's imperfections; see the module docstring. `Physics()` is the realistic desk."""

    speed_spread: float = 0.03
    load_change: float = 0.02
    landing_mm: float = 0.5
    stop_delay_s: tuple[float, float] = (0.05, 0.2)
    stop_decel_mm_s2: float = 400.0
    report_jitter_s: float = 0.02
    stop_report_p: float = 0.5

    def __post_init__(self) -> None:
        low, high = self.stop_delay_s
        if not 0 <= low <= high:
            raise ValueError(f"a stop delay range runs from low to high, not {self.stop_delay_s}")
        if not 0 <= self.stop_report_p <= 1:
            raise ValueError(f"stop_report_p is a chance (0..1), not {self.stop_report_p}")
        others = (self.speed_spread, self.load_change, self.landing_mm, self.report_jitter_s)
        if min(others) < 0 or not self.stop_decel_mm_s2 > 0:
            raise ValueError("spreads, jitter and the landing error must not be negative")

    @property
    def ideal(self) -> bool:
        return self == IDEAL

    def describe(self) -> str:
        """One line for a benchmark's header."""
        if self.ideal:
            return "ideal desk (exact landings, instant stop, steady reports)"
        low, high = self.stop_delay_s
        return (
            f"speed ±{self.speed_spread:.0%} per desk, load ±{self.load_change:.0%} (up slower), "
            f"rests within {self.landing_mm} mm of a target, stop after {low * 1000:.0f}–"
            f"{high * 1000:.0f} ms then {self.stop_decel_mm_s2:.0f} mm/s², reports ±"
            f"{self.report_jitter_s * 1000:.0f} ms, last zero-speed report "
            f"{self.stop_report_p:.0%} of stops"
        )


REALISTIC = Physics()
IDEAL = Physics(
    speed_spread=0.0,
    load_change=0.0,
    landing_mm=0.0,
    stop_delay_s=(0.0, 0.0),
    stop_decel_mm_s2=math.inf,
    report_jitter_s=0.0,
    stop_report_p=1.0,
)


@dataclass(frozen=True, slots=True)
class Radio:
    """The BLE connection's timing; see the module docstring. `Radio()` is a realistic one."""

    interval_s: tuple[float, float] = (0.015, 0.05)
    loss: float = 0.02

    def __post_init__(self) -> None:
        low, high = self.interval_s
        if not 0 <= low <= high:
            raise ValueError(f"a connection interval range runs low to high, not {self.interval_s}")
        if not 0 <= self.loss < 1:
            raise ValueError(f"loss is a chance below 1, not {self.loss}")

    def sped_up(self, scale: float) -> Radio:
        """This radio under a clock running `scale` times faster: intervals shrink alike."""
        low, high = self.interval_s
        return Radio(interval_s=(low / scale, high / scale), loss=self.loss)

    def describe(self) -> str:
        low, high = self.interval_s
        if high == 0 and self.loss == 0:
            return "no radio delay"
        return (
            f"connection interval {low * 1000:.0f}–{high * 1000:.0f} ms, "
            f"{self.loss:.0%} of height notifications lost"
        )


RADIO = Radio()
NO_RADIO = Radio(interval_s=(0.0, 0.0), loss=0.0)


class RadioLink:
    """One connection: its interval (drawn from `radio`) and its connection events' times.

    Events fall every `interval_s` from `anchor_s`; whatever is sent waits for the next one (a
    write, a read's request and its answer, a notification). With no radio nothing waits.
    """

    def __init__(self, radio: Radio, rng: random.Random, *, anchor_s: float = 0.0) -> None:
        self.radio = radio
        self._rng = rng
        low, high = radio.interval_s
        self.interval_s = rng.uniform(low, high) if high > 0 else 0.0
        self.anchor_s = anchor_s

    def next_event_s(self, at_s: float) -> float:
        """The first connection event at or after `at_s`."""
        if self.interval_s <= 0:
            return at_s
        events = math.ceil((at_s - self.anchor_s) / self.interval_s - 1e-9)
        return self.anchor_s + max(events, 0) * self.interval_s

    def lost(self) -> bool:
        """Whether the next height notification is lost on the way."""
        return self.radio.loss > 0 and self._rng.random() < self.radio.loss
