"""Figure 2, moves on the emulated BLE desk: final error in mm, and move time over the motor's
own travel time, for many random targets.

How: the real `LinakLink` drives the real `bleak.BleakClient` (through deskctl's Bumble backend)
against `EmulatedDesk`, a Bumble GATT server with the LINAK services on a `DeskModel` motor
(38 mm/s, 80 mm/s² ramps, a height report every 0.1 s). Each move goes from wherever the last
one landed to a random target in the desk's whole range (620..1270 mm). The whole run is on
`run_virtual`'s clock, so the move times are seconds of desk time (the time a person would wait
at that desk and radio), not of this machine: its CPU time does not enter them, and a hundred
moves take seconds of wall time.
- final error: the model's true height after `move_to` returned, minus the target, in 0.1 mm;
- move time: from `move_to` to its answer (arrival is decided after 3 zero-speed reports);
- ideal: the motor's own time over the same distance from the model's parameters: ramp up at
  `accel`, cruise at `speed`, ramp down (t = d/v + v/a, or 2·sqrt(d/a) when it never cruises).

Run: `.venv/bin/python bench/ble_moves.py [--quick] [--moves N] [--seed S]`.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from _common import Summary, bench_parser, print_table

from deskctl.clocks.clock import Clock
from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM
from deskctl.links.ble import BleakGattClient
from deskctl.links.linak import LinakLink
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.testing.virtual_time import run_virtual

START_MM = 750
BUCKETS = ((0, 20), (20, 100), (100, 300), (300, 700))  # distance ranges in mm


@dataclass(frozen=True)
class Move:
    distance_mm: float
    error_mm: float  # signed: above the target is positive
    time_s: float
    ideal_s: float


def ideal_time_s(distance_mm: float, speed_mm_s: float, accel_mm_s2: float) -> float:
    """The motor's own time for `distance_mm`: a trapezoid (or a triangle) speed profile."""
    if distance_mm <= 0:
        return 0.0
    if distance_mm >= speed_mm_s**2 / accel_mm_s2:
        return distance_mm / speed_mm_s + speed_mm_s / accel_mm_s2
    return 2 * math.sqrt(distance_mm / accel_mm_s2)


def true_height_mm(model: DeskModel) -> float:
    return model.base_mm + model.height_raw / 10


def targets(count: int, seed: int, low_mm: int, high_mm: int) -> list[int]:
    """Random targets, none equal to the one before (a move to where the desk is moves nothing)."""
    rng = random.Random(seed)
    out: list[int] = []
    previous = START_MM
    while len(out) < count:
        target = rng.randint(low_mm, high_mm)
        if target != previous:
            out.append(target)
            previous = target
    return out


async def run_moves(plan: list[int]) -> list[Move]:
    clock = Clock()
    radio = BumbleRadio()
    model = DeskModel(height_mm=START_MM)
    moves: list[Move] = []
    async with EmulatedDesk(radio, model, clock=clock) as desk:
        gatt = BleakGattClient(desk.address, timeout_s=5, backend=radio.client_backend)
        link = LinakLink("bench", gatt, clock)
        try:
            await link.connect()
            for target_mm in plan:
                await desk.at_rest()
                before_mm = true_height_mm(model)
                start_s = clock.monotonic()
                await link.move_to(target_mm)
                took_s = clock.monotonic() - start_s
                distance_mm = abs(target_mm - before_mm)
                ideal_s = ideal_time_s(distance_mm, model.speed_max_mm_s, model.accel_mm_s2)
                error_mm = true_height_mm(model) - target_mm
                moves.append(Move(distance_mm, error_mm, took_s, ideal_s))
        finally:
            await link.close()
    await radio.close()
    return moves


def row(label: str, moves: list[Move]) -> list[str]:
    took = Summary.of([m.time_s for m in moves])
    ideal = Summary.of([m.ideal_s for m in moves])
    ratios = Summary.of([m.time_s / m.ideal_s for m in moves])
    extra = Summary.of([m.time_s - m.ideal_s for m in moves])
    errors = Summary.of([abs(m.error_mm) for m in moves])
    return [
        label,
        str(len(moves)),
        f"{errors.median:.1f}",
        f"{errors.p99:.1f}",
        f"{took.median:.2f}",
        f"{ideal.median:.2f}",
        f"{ratios.median:.2f}x",
        f"{ratios.p90:.2f}x",
        f"{extra.median:.2f}",
        f"{extra.p99:.2f}",
    ]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--moves", type=int, help="random targets (default 200, quick 40)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    count = args.moves or (40 if args.quick else 200)
    plan = targets(count, args.seed, DEFAULT_BASE_MM, DEFAULT_TOP_MM)

    wall_start = time.perf_counter()
    moves = run_moves_virtual(plan)
    wall_s = time.perf_counter() - wall_start

    rows = []
    for low, high in BUCKETS:
        bucket = [m for m in moves if low <= m.distance_mm < high]
        if bucket:
            rows.append(row(f"{low}-{high} mm", bucket))
    rows.append(row("all moves", moves))
    print_table(
        f"Moves on the emulated BLE desk (bleak + Bumble, virtual time): {count} random targets, "
        f"seed {args.seed}",
        [
            "distance",
            "moves",
            "|err| med mm",
            "|err| p99 mm",
            "time med s",
            "ideal med s",
            "time/ideal med",
            "p90",
            "extra med s",
            "extra p99 s",
        ],
        rows,
    )
    within = sum(1 for m in moves if abs(m.error_mm) <= 1.0)
    worst = max(moves, key=lambda m: abs(m.error_mm))
    desk_s = sum(m.time_s for m in moves)
    print(
        f"{within}/{len(moves)} moves ended within 1 mm of the target (worst "
        f"{worst.error_mm:+.1f} mm); {desk_s:.0f} s of desk time ran in {wall_s:.1f} s of wall time"
    )


def run_moves_virtual(plan: list[int]) -> list[Move]:
    return run_virtual(run_moves(plan))


if __name__ == "__main__":
    main()
