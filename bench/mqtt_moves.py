"""Moves on the realistic emulated ESPHome desk over a real mosquitto: where the desk rests
against the target, move time over the motor's own time, false obstructions; optionally beside
busy loops or with the link's event loop stalled mid-move.

How: a mosquitto on a free loopback port (the test suite's helper); the emulated Upsy Desky
(`EsphomeDesk` with realistic `EsphomePhysics`, seeded) on its own event loop in its own thread
(`tests/esphome_thread.py`), so it goes on like a device while this process is starved; the real
`MqttDeskLink` in this process, on real time (clock scale 1). Each move goes from where the last
one rested to a random target in 650..1250 mm (seed 7).
- rest error: the firmware's reading of where the desk came to rest (a fresh frame, 0.1 in
  steps), minus the target; within ±1 unit: at most one step (0.1 in, 2.54 mm) from the step
  nearest the target (the best the firmware can report);
- said vs rest: the height `move_to` returned minus that resting reading;
- move time: `move_to` to its answer; motor: the time the motor ran in it (from the emulator);
  ideal: the nominal motor's own time over the distance (d/v + v/a, or 2·sqrt(d/a));
- arrival after rest: `move_to`'s answer minus the moment the motor last came to rest;
- `--busy N`: N busy loops (`python -c "while True: pass"`) run beside; `--stall`: during each
  move, at a random moment, this process's event loop blocks for U(0.2, 2.0) s (`time.sleep`).
Prints medians and percentiles; never asserts.

Run: `.venv/bin/python bench/mqtt_moves.py [--quick] [--moves N] [--busy N] [--stall]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from _common import Summary, bench_parser, deskctl_home, machine, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deskctl.clocks.clock import Clock
from deskctl.config.settings import MqttDeskSettings, MqttSettings
from deskctl.errors import DeskError, Obstruction
from deskctl.links.base import ManualMove
from deskctl.links.mqtt_desk import MqttDeskLink
from deskctl.sim.esphome_model import EsphomeDeskModel, EsphomePhysics
from tests.esphome_thread import DeskThread
from tests.mosquitto import run_mosquitto

PREFIX = "upsy-desky-bench"
LOW_MM, HIGH_MM = 650, 1250
_REST_WAIT_S = 5.0


@dataclass(frozen=True)
class Move:
    target_mm: int
    start_mm: float
    rest_mm: float  # the firmware's reading of the rest, mm
    said_mm: int | None  # what move_to returned; None when it raised
    error: str  # the exception's class name, or ""
    took_s: float
    motor_s: float
    ideal_s: float
    after_rest_s: float  # the answer minus the motor's last stop (negative: before the rest)
    manual: int  # manual moves the link reported during the move and its settling


def ideal_s(distance_mm: float, speed_mm_s: float, accel_mm_s2: float) -> float:
    if distance_mm <= speed_mm_s**2 / accel_mm_s2:
        return 2 * math.sqrt(distance_mm / accel_mm_s2)
    return distance_mm / speed_mm_s + speed_mm_s / accel_mm_s2


def motor_time(motion: list[tuple[float, bool]], start: float, end: float) -> tuple[float, float]:
    """(the time the motor ran within start..end, the last moment it came to rest before end)."""
    ran, since, last_rest = 0.0, None, math.nan
    for at, running in motion:
        if at > end:
            break
        if running:
            since = max(at, start) if at >= start or since is None else since
        elif since is not None:
            if at >= start:
                ran += at - max(since, start)
                last_rest = at
            since = None
    if since is not None:
        ran += end - max(since, start)
        last_rest = math.nan  # still running at the answer
    return ran, last_rest


async def run_moves(
    mqtt: MqttSettings,
    physics: EsphomePhysics,
    moves: int,
    seed: int,
    stall: bool,
    runs_past_mm: float = 0.0,
) -> tuple[list[Move], EsphomeDeskModel]:
    model = EsphomeDeskModel(height_mm=750, physics=physics, runs_past_mm=runs_past_mm)
    desk = DeskThread(mqtt, model, prefix=PREFIX)
    desk.start()
    pick = random.Random(seed)
    results: list[Move] = []
    link = MqttDeskLink("bench", mqtt, MqttDeskSettings(preset="upsy", prefix=PREFIX), Clock())
    manual: list[ManualMove] = []
    link.subscribe(lambda event: manual.append(event) if isinstance(event, ManualMove) else None)
    try:
        async with link:
            for _ in range(moves):
                target_mm = pick.randint(LOW_MM, HIGH_MM)
                seen = len(manual)
                move = await one_move(link, desk, target_mm, pick, stall)
                await asyncio.sleep(1.0)  # a late report would come in here
                results.append(replace(move, manual=len(manual) - seen))
    finally:
        desk.stop()
    return results, model


async def one_move(
    link: MqttDeskLink, desk: DeskThread, target_mm: int, pick: random.Random, stall: bool
) -> Move:
    model = desk.model
    start_mm = desk.call(lambda: model.position_mm)
    staller = asyncio.create_task(_stall_once(pick)) if stall else None
    said_mm: int | None = None
    error = ""
    began = time.perf_counter()
    try:
        said_mm = await link.move_to(target_mm)
    except DeskError as exc:
        error = type(exc).__name__
    ended = time.perf_counter()
    if staller is not None:
        staller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await staller
    async with asyncio.timeout(_REST_WAIT_S):  # the desk at rest, its late frame in
        while desk.call(lambda: model.active):  # noqa: ASYNC110 - another thread's desk
            await asyncio.sleep(0.05)
    rest_mm = desk.call(lambda: model.rest_reading_mm)
    ran_s, rested_at = motor_time(desk.motion, began, ended)
    return Move(
        target_mm=target_mm,
        start_mm=start_mm,
        rest_mm=rest_mm,
        said_mm=said_mm,
        error=error,
        took_s=ended - began,
        motor_s=ran_s,
        ideal_s=ideal_s(abs(rest_mm - start_mm), model.speed_mm_s, model.accel_mm_s2),
        after_rest_s=ended - rested_at,
        manual=0,
    )


async def _stall_once(pick: random.Random) -> None:
    """Block this process's event loop once, at a random moment of the move."""
    await asyncio.sleep(pick.uniform(0.2, 3.0))
    time.sleep(pick.uniform(0.2, 2.0))  # noqa: ASYNC251 - the stall is the point


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for process in loops:
            process.kill()
            process.wait()


def report(moves: list[Move], model: EsphomeDeskModel, title: str) -> None:
    step = model.resolution_mm
    errors = [m.rest_mm - m.target_mm for m in moves]
    within = sum(abs(round(m.rest_mm / step) - round(m.target_mm / step)) <= 1 for m in moves)
    said = [m.said_mm - m.rest_mm for m in moves if m.said_mm is not None]
    took = Summary.of([m.took_s for m in moves])
    ratios = Summary.of([m.took_s / m.ideal_s for m in moves if m.ideal_s > 0])
    over_motor = Summary.of([m.took_s / m.motor_s for m in moves if m.motor_s > 0])
    after = [m.after_rest_s for m in moves if not math.isnan(m.after_rest_s)]
    late = Summary.of(after)
    abs_error = Summary.of([abs(e) for e in errors])
    said_max = max((abs(d) for d in said), default=0.0)
    kinds: dict[str, int] = {}
    for m in moves:
        if m.error:
            kinds[m.error] = kinds.get(m.error, 0) + 1
    print_table(
        title,
        ["figure", "value"],
        [
            ["moves", str(len(moves))],
            ["rest within ±1 unit (0.1 in) of the target's step",
             f"{within} ({100 * within / len(moves):.0f} %)"],
            ["|rest error| median / p90 / max mm",
             f"{abs_error.median:.2f} / {abs_error.p90:.2f} / {abs_error.high:.2f}"],
            ["rest error min / max mm", f"{min(errors):.2f} / {max(errors):.2f}"],
            ["said vs rest: equal / max |diff| mm",
             f"{sum(abs(d) < 0.5 for d in said)} / {said_max:.2f}"],
            ["move time median / p90 s", f"{took.median:.2f} / {took.p90:.2f}"],
            ["move time / ideal median / p90", f"{ratios.median:.2f}x / {ratios.p90:.2f}x"],
            ["move time / motor's run median / p90",
             f"{over_motor.median:.2f}x / {over_motor.p90:.2f}x"],
            ["answer after the motor rested median / p99 s", f"{late.median:.2f} / {late.p99:.2f}"],
            ["answers while the motor still ran", str(len(moves) - len(after))],
            ["manual moves reported (nobody touched it)", str(sum(m.manual for m in moves))],
            ["obstructions (none is real here)", str(kinds.pop(Obstruction.__name__, 0))],
            ["other errors", ", ".join(f"{k} {v}" for k, v in kinds.items()) or "0"],
        ],
    )  # fmt: skip


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--moves", type=int, help="moves (default 60, quick 15)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--busy", type=int, default=0, help="busy loops beside (default 0)")
    parser.add_argument("--stall", action="store_true", help="stall the link's loop in each move")
    parser.add_argument(
        "--release-early", action="store_true",
        help="the firmware lets go 0.4 in short of its target, as the public Upsy Desky template",
    )  # fmt: skip
    parser.add_argument("--verbose", action="store_true", help="print each move")
    args = parser.parse_args()
    moves = args.moves or (15 if args.quick else 60)
    physics = EsphomePhysics(seed=args.seed)
    print(machine())
    print(f"emulator: {physics}")
    with (
        deskctl_home("deskctl-bench-broker-") as (folder, _),
        run_mosquitto(folder) as broker,
        busy_loops(args.busy),
    ):
        results, model = asyncio.run(
            run_moves(
                broker.settings(), physics, moves, args.seed, args.stall,
                -0.4 * 25.4 if args.release_early else 0.0,
            )
        )  # fmt: skip
    if args.verbose:
        for m in results:
            print(m)
    extra = f", {args.busy} busy loops" if args.busy else ""
    extra += ", the link's loop stalled 0.2-2 s in each move" if args.stall else ""
    report(results, model, f"Moves on the realistic ESPHome desk (seed {args.seed}{extra})")


if __name__ == "__main__":
    main()
