"""Figure 2, moves on the emulated LINAK desk: where each move ends against where the desk really
rests, how soon after the motor stops deskctl calls it arrived, and move time over motor time.

How: the real `LinakLink` (move controller, codec, writer, read-backs) drives a `DeskModel` with
realistic physics (`deskctl.sim.physics`: speed spread and load, landing within 0.5 mm of the
target, a stop that lags, report jitter, height reports only while moving, a last zero-speed
report only now and then) through a GATT client with a radio between them (connection events
every 15-50 ms for writes, reads and notifications; 2 % of height notifications lost). That is
what `deskctl run --simulate` runs. `--path bumble` runs the same model and radio timing behind
the real `bleak.BleakClient` on Bumble's virtual radio instead (`--sim ble`).
Each move goes from wherever the last one rested to a random target in the desk's whole range.
Everything is on `run_virtual`'s clock: times are seconds of desk time, not of this machine.
- error: the height `move_to` returned, minus the height the desk rests at afterwards (read from
  the height characteristic once the motor has stopped for good, 0.1 mm); and that rest height
  minus the target;
- arrival latency: from the motor coming to rest (the model's own record) to `move_to` returning;
- move time over motor time: `move_to`'s duration against the motor's own running time.

Run: `.venv/bin/python bench/ble_moves.py [--quick] [--moves N] [--seed S] [--ideal] [--path P]`.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from _common import Summary, bench_parser, print_table

from deskctl.clocks.clock import Clock
from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM, Char
from deskctl.links.ble import BleakGattClient
from deskctl.links.linak import LinakLink
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.model_gatt import ModelGattClient
from deskctl.sim.physics import IDEAL, NO_RADIO, RADIO, REALISTIC, Physics, Radio, seeded
from deskctl.testing.virtual_time import run_virtual

START_MM = 750
BUCKETS = ((0, 20), (20, 100), (100, 300), (300, 700))  # distance ranges in mm


INTERVALS_MS: list[float] = []  # the connection interval each run drew


@dataclass(frozen=True)
class Move:
    distance_mm: float
    landed_error_mm: float  # what move_to returned minus where the desk rests (read back)
    rest_error_mm: float  # where the desk rests minus the target
    latency_s: float  # move_to returned this long after the motor came to rest
    time_s: float  # move_to's duration
    motor_s: float  # the motor's own running time


def rest_mm(model: DeskModel) -> float:
    """Where the desk rests, as reading its height characteristic says (0.1 mm)."""
    raw = int.from_bytes(model.read(Char.HEIGHT_SPEED)[:2], "little")
    return model.base_mm + raw / 10


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


async def _measure(link: LinakLink, model: DeskModel, clock: Clock, plan: list[int]) -> list[Move]:
    moves: list[Move] = []
    for target_mm in plan:
        await settle_desk(model, clock)
        before_mm = rest_mm(model)
        start_s = clock.monotonic()
        landed_mm = await link.move_to(target_mm)
        end_s = clock.monotonic()
        offset_s = end_s - model.now_s  # clock time = model time + offset (the model is synced)
        await settle_desk(model, clock)
        rested_mm = rest_mm(model)
        assert model.rested_at_s is not None
        assert model.started_at_s is not None
        moves.append(
            Move(
                distance_mm=abs(target_mm - before_mm),
                landed_error_mm=landed_mm - rested_mm,
                rest_error_mm=rested_mm - target_mm,
                latency_s=end_s - (model.rested_at_s + offset_s),
                time_s=end_s - start_s,
                motor_s=model.rested_at_s - model.started_at_s,
            )
        )
    return moves


async def settle_desk(model: DeskModel, clock: Clock) -> None:
    """Wait until the desk has let go of its target and rests for good."""
    while model.active:
        await clock.sleep(0.1)


async def run_model(plan: list[int], physics: Physics, radio: Radio, seed: int) -> list[Move]:
    clock = Clock()
    model = DeskModel(height_mm=START_MM, physics=physics, rng=seeded(seed))
    gatt = ModelGattClient(model, clock, radio=radio, rng=seeded(seed + 1))
    link = LinakLink("bench", gatt, clock)
    await link.connect()
    INTERVALS_MS.append(gatt.radio.interval_s * 1000)
    print(f"this desk: speed {model.speed_factor - 1:+.1%}", flush=True)
    try:
        return await _measure(link, model, clock, plan)
    finally:
        await link.close()


async def run_bumble(plan: list[int], physics: Physics, timing: Radio, seed: int) -> list[Move]:
    clock = Clock()
    radio = BumbleRadio(radio=timing, rng=seeded(seed + 1))
    model = DeskModel(height_mm=START_MM, physics=physics, rng=seeded(seed))
    try:
        async with EmulatedDesk(radio, model, clock=clock, step_s=0.01) as desk:
            gatt = BleakGattClient(desk.address, timeout_s=5, backend=radio.client_backend)
            link = LinakLink("bench", gatt, clock)
            try:
                await link.connect()
                INTERVALS_MS.extend(interval_s * 1000 for interval_s in radio.intervals_s)
                print(f"this desk: speed {model.speed_factor - 1:+.1%}", flush=True)
                return await _measure(link, model, clock, plan)
            finally:
                await link.close()
    finally:
        await radio.close()


def row(label: str, moves: list[Move]) -> list[str]:
    landed = Summary.of([abs(m.landed_error_mm) for m in moves])
    rest = Summary.of([abs(m.rest_error_mm) for m in moves])
    latency = Summary.of([m.latency_s * 1000 for m in moves])
    ratios = Summary.of([m.time_s / m.motor_s for m in moves if m.motor_s > 0])
    extra = Summary.of([(m.time_s - m.motor_s) * 1000 for m in moves])
    return [
        label,
        str(len(moves)),
        f"{landed.median:.2f}",
        f"{landed.high:.2f}",
        f"{rest.median:.2f}",
        f"{rest.high:.2f}",
        f"{latency.median:.0f}",
        f"{latency.p99:.0f}",
        f"{ratios.median:.3f}x",
        f"{extra.median:.0f}",
        f"{extra.p99:.0f}",
    ]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--moves", type=int, help="random targets (default 200, quick 40)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ideal", action="store_true", help="the ideal desk and no radio")
    parser.add_argument("--path", choices=("model", "bumble"), default="model")
    args = parser.parse_args()
    count = args.moves or (40 if args.quick else 200)
    plan = targets(count, args.seed, DEFAULT_BASE_MM, DEFAULT_TOP_MM)
    physics = IDEAL if args.ideal else REALISTIC
    radio = NO_RADIO if args.ideal else RADIO

    wall_start = time.perf_counter()
    if args.path == "bumble":
        moves = run_virtual(run_bumble(plan, physics, radio, args.seed))
    else:
        moves = run_virtual(run_model(plan, physics, radio, args.seed))
    wall_s = time.perf_counter() - wall_start

    print(f"desk: {physics.describe()}")
    drawn = ", ".join(f"{ms:.0f} ms" for ms in INTERVALS_MS)
    print(f"radio: {radio.describe()} ({args.path} path; this connection: {drawn or '-'})")
    rows = []
    for low, high in BUCKETS:
        bucket = [m for m in moves if low <= m.distance_mm < high]
        if bucket:
            rows.append(row(f"{low}-{high} mm", bucket))
    rows.append(row("all moves", moves))
    print_table(
        f"Moves on the emulated LINAK desk (virtual time): {count} random targets, "
        f"seed {args.seed}",
        [
            "distance",
            "moves",
            "|landed-rest| med mm",
            "max mm",
            "|rest-target| med mm",
            "max mm",
            "latency med ms",
            "p99 ms",
            "time/motor med",
            "extra med ms",
            "extra p99 ms",
        ],
        rows,
    )
    within = sum(1 for m in moves if abs(m.landed_error_mm) <= 1.0)
    worst = max(moves, key=lambda m: abs(m.landed_error_mm))
    desk_s = sum(m.time_s for m in moves)
    print(
        f"{within}/{len(moves)} moves returned a height within 1 mm of where the desk rests "
        f"(worst {worst.landed_error_mm:+.1f} mm); {desk_s:.0f} s of desk time ran in "
        f"{wall_s:.1f} s of wall time"
    )


if __name__ == "__main__":
    main()
