"""Moves on each named MQTT desk bridge (issue 16): where the desk rests against the target.

How: a mosquitto on a free loopback port (the test suite's helper); the emulated bridge
(`deskctl/sim/esphome_bridges.py`: the desk model behind that bridge's own topics and firmware)
and the real `MqttDeskLink` configured with nothing but the recipe, its prefix and the heights
its memory slots hold (72, 110 and 76 cm), sharing one clock run 5 times faster. Each recipe
moves to random targets in 650..1250 mm (seed 7), once on the ideal desk (`IDEAL`: exact, at
once) and once on the realistic one (`EsphomePhysics`: a varying run-on, a sensor that publishes
at most every 0.5 s, the radio's delays). The Loctek recipe has no move-to and no steps, so it
goes only to its memory heights. Per recipe and physics: the rest error (the desk's true resting
height minus the target, in mm: median, p90, max of its size), the landing's tolerance (the
reading's step, or half a press when stepping), how many landed within it, and the moves refused.
Prints a table; never asserts.

Run: `.venv/bin/python bench/bridge_moves.py [--quick] [--moves N]`.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from pathlib import Path

from _common import Summary, bench_parser, machine, print_table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deskctl.core.esphome import DeskTopics
from deskctl.errors import DeskError
from deskctl.sim.esphome_bridges import BRIDGES, BridgeKind
from deskctl.sim.esphome_desk import IDEAL, EsphomePhysics
from tests.mosquitto import Broker, run_mosquitto
from tests.test_mqtt_bridges import MEMORY_MM, _settings, bridge_and_link


async def _moves(
    broker: Broker, kind: BridgeKind, physics: EsphomePhysics, targets: list[int]
) -> tuple[list[float], int]:
    errors: list[float] = []
    refused = 0
    async with bridge_and_link(broker, kind, physics=physics) as (desk, link):
        for target_mm in targets:
            try:
                await link.move_to(target_mm)
            except DeskError:
                refused += 1
                continue
            while desk.model.active:  # noqa: ASYNC110 - the model has no event to wait on
                await asyncio.sleep(0.01)
            errors.append(desk.model.position_mm - target_mm)
    return errors, refused


async def main(moves: int) -> None:
    rng = random.Random(7)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as folder, run_mosquitto(Path(folder)) as broker:
        for kind in BRIDGES:
            topics = DeskTopics.from_settings(_settings(kind))
            tolerance = topics.tolerance_mm if topics.move_to else topics.step_tolerance_mm
            if kind == "loctek":
                memory = [round(mm) for mm in MEMORY_MM.values()]
                targets = [rng.choice(memory) for _ in range(moves)]
                tolerance = topics.tolerance_mm
            else:
                targets = [rng.randint(650, 1250) for _ in range(moves)]
            for name, physics in (("ideal", IDEAL), ("realistic", EsphomePhysics(seed=3))):
                errors, refused = await _moves(broker, kind, physics, targets)
                sizes = Summary.of([abs(e) for e in errors])
                within = sum(abs(e) <= tolerance + 0.5 for e in errors)
                rows.append(
                    [
                        f"{kind} ({name})",
                        str(len(errors)),
                        f"{sizes.median:.1f}",
                        f"{sizes.p90:.1f}",
                        f"{sizes.high:.1f}",
                        f"±{tolerance}",
                        f"{within}/{len(errors)}",
                        str(refused),
                    ]
                )
    print_table(
        f"Moves on each bridge recipe ({machine()})",
        ["recipe", "moves", "|err| med", "p90", "max", "tolerance", "within", "refused"],
        rows,
    )


if __name__ == "__main__":
    parser = bench_parser(__doc__)
    parser.add_argument("--moves", type=int, default=30, help="moves per recipe and physics")
    args = parser.parse_args()
    asyncio.run(main(8 if args.quick else args.moves))
