"""Figure 8, moves on the emulated Jiecang desk: the desk's true error after each move, per GATT
variant, display unit and way of moving (1B, or steps and a stop on a box that ignores 1B).

How: the real `JiecangLink` drives the real `bleak.BleakClient` (through deskctl's Bumble
backend) against `EmulatedJiecangDesk` on Bumble's virtual radio, with a realistic box
(`deskctl.sim.physics.REALISTIC`: speed spread and load, landing within 0.5 mm of a 1B target, a
stop that reaches the motor 50-200 ms late, report jitter, a report at rest only half the time)
and a realistic radio (`RADIO`: a connection event every 15-50 ms, 2 % of notifications lost).
Each run is its own desk (its own seed); each move goes from where the last one landed to a
random target in 660..1290 mm (the same targets in every run). The run is on
`run_virtual`'s clock: times are seconds of desk time, not of this machine.
- error: the box's true motor position after `move_to` returned, minus the target, in mm;
- time: from `move_to` to its answer, in desk seconds.

Run: `.venv/bin/python bench/jiecang_moves.py [--quick] [--moves N] [--seed S]`.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass

from _common import Summary, bench_parser, print_table

from deskctl.clocks.clock import Clock
from deskctl.core.jiecang import VARIANTS, DisplayUnit, Variant
from deskctl.links.ble import BleakPipeGatt
from deskctl.links.jiecang import JiecangLink
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.jiecang_emulator import EmulatedJiecangDesk
from deskctl.sim.jiecang_model import JiecangModel
from deskctl.sim.physics import RADIO, REALISTIC
from deskctl.testing.virtual_time import run_virtual

START_MM = 750
LOW_MM, HIGH_MM = 660, 1290


@dataclass(frozen=True)
class Run:
    label: str
    errors_mm: list[float]
    times_s: list[float]
    dropped_frames: int
    move_to_known: bool | None


def targets(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    out: list[int] = []
    previous = START_MM
    while len(out) < count:
        target = rng.randint(LOW_MM, HIGH_MM)
        if target != previous:
            out.append(target)
            previous = target
    return out


async def run_moves(
    plan: list[int], variant: Variant, unit: DisplayUnit, move_to: bool, seed: int
) -> Run:
    clock = Clock()
    radio = BumbleRadio()
    rng = random.Random(seed)
    model = JiecangModel(
        height_mm=START_MM, unit=unit, move_to=move_to, physics=REALISTIC, rng=rng,
        sleep_after_s=60.0,
    )  # fmt: skip
    errors: list[float] = []
    times: list[float] = []
    desk = EmulatedJiecangDesk(
        radio, model, variant=variant, clock=clock, radio_timing=RADIO, rng=rng
    )
    async with desk:
        pipe = BleakPipeGatt(desk.address, timeout_s=5, backend=radio.client_backend)
        link = JiecangLink("bench", pipe, clock, min_mm=650, max_mm=1300)
        try:
            await link.connect()
            for target_mm in plan:
                start_s = clock.monotonic()
                await link.move_to(target_mm)
                times.append(clock.monotonic() - start_s)
                errors.append(model.motor.pos_mm - target_mm)
            dropped, known = link.dropped_frames, link.move_to_works
        finally:
            await link.close()
    await radio.close()
    way = "1B" if move_to else "steps"
    return Run(f"{variant.name} {unit.value} {way}", errors, times, dropped, known)


def row(run: Run, bound_mm: float) -> list[str]:
    errors = Summary.of([abs(e) for e in run.errors_mm])
    took = Summary.of(run.times_s)
    within = sum(1 for e in run.errors_mm if abs(e) <= bound_mm)
    return [
        run.label,
        str(len(run.errors_mm)),
        f"{errors.median:.2f}",
        f"{errors.p90:.2f}",
        f"{errors.p99:.2f}",
        f"{max(abs(e) for e in run.errors_mm):.2f}",
        f"{within}/{len(run.errors_mm)} within ±{bound_mm:g}",
        f"{took.median:.1f}",
        str(run.dropped_frames),
    ]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--moves", type=int, help="random targets per run (default 100, quick 20)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    count = args.moves or (20 if args.quick else 100)
    plan = targets(count, args.seed)
    rows: list[list[str]] = []
    wall_start = time.perf_counter()
    logging.getLogger("deskctl").setLevel(logging.ERROR)  # "does not know 1B", by design
    combos = [
        (move_to, variant, unit)
        for move_to in (True, False)
        for variant in VARIANTS
        for unit in (DisplayUnit.CM, DisplayUnit.INCH)
    ]
    for index, (move_to, variant, unit) in enumerate(combos):
        desk_seed = args.seed * 100 + index  # each run its own desk: speed, landings, radio
        run = run_virtual(run_moves(plan, variant, unit, move_to, desk_seed))
        rows.append(row(run, 1.0 if move_to else 7.0))
    wall_s = time.perf_counter() - wall_start
    print_table(
        f"Moves on the emulated Jiecang desk (bleak + Bumble, realistic box and radio, virtual "
        f"time): {count} random targets per run, seed {args.seed}",
        [
            "variant unit way",
            "moves",
            "|err| med mm",
            "p90",
            "p99",
            "max",
            "within",
            "time med s",
            "bad frames",
        ],
        rows,
    )
    print(f"{len(rows)} runs took {wall_s:.0f} s of wall time")


if __name__ == "__main__":
    main()
