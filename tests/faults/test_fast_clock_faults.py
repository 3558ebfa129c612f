"""A busy machine under the simulated desk on a fast clock (`--simulate --time-scale 60`).

The process is put aside for a moment now and then, as a machine with every core busy does: on
virtual time the loop's clock jumps while nothing runs. Before, the link and the simulated desk
ran their protocol at the demo's scale, so a 60 ms pause was 3.6 s of desk time: the target lapsed
(it must be renewed within 1 s) and the desk stopped short, an obstruction that was not there. Now
the link keeps a slower clock and the motor runs faster instead: the desk lands, on time. The
same holds for the LINAK desk over the radio (`--sim ble`, whose connection events keep pace with
the desk's clock) and for both Jiecang simulations.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from deskctl.clocks.clock import Clock
from deskctl.links.base import DeskLink
from deskctl.sim.jiecang_links import SimJiecangBleLink, SimJiecangLink
from deskctl.sim.links import SimBleLink, SimLink
from deskctl.testing.virtual_time import VirtualTimeLoop, run_virtual
from tests.faults.tally import counter

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
PAUSE_S = 0.06  # real seconds the process is put aside
EVERY_S = 0.1  # real seconds between pauses


async def _busy_machine(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    while not stop.is_set():
        await asyncio.sleep(EVERY_S)
        loop.advance(PAUSE_S)  # time passes and nothing runs: the process was not scheduled
        TALLY.fault()


def _sim(clock: Clock) -> DeskLink:
    return SimLink("desk", clock, min_mm=620, max_mm=1270, persist=False, height_mm=750)


def _sim_ble(clock: Clock) -> DeskLink:  # the radio too: 15-50 ms a connection event at 1x
    return SimBleLink("desk", clock, min_mm=620, max_mm=1270, height_mm=750)


def _jiecang(clock: Clock) -> DeskLink:  # its box goes no lower than 650 mm
    return SimJiecangLink(
        "desk", clock, min_mm=620, max_mm=1270, persist=False, height_mm=750, seed=7
    )


def _jiecang_ble(clock: Clock) -> DeskLink:
    return SimJiecangBleLink("desk", clock, min_mm=620, max_mm=1270, height_mm=750, seed=7)


# the desk, the clock's scale, and how long a move may take beyond its distance at 38 mm/s: the
# Jiecang box's fixed waits (its answers, its stop's delay) run on the desk's slower clock and
# so take longer on the service's clock, which costs a few seconds at the end of a move
CASES = [
    (_sim, 20.0, 4.0),
    (_sim, 60.0, 4.0),
    (_sim_ble, 10.0, 4.0),
    (_sim_ble, 60.0, 4.0),
    (_jiecang, 60.0, 14.0),
    (_jiecang_ble, 60.0, 14.0),
]


@pytest.mark.parametrize(
    ("make", "scale", "slack_s"),
    CASES,
    ids=["model-20x", "model-60x", "ble-10x", "ble-60x", "jiecang-60x", "jiecang-ble-60x"],
)
def test_pauses_of_a_busy_machine_stop_no_move_of_the_simulated_desk(
    make: Callable[[Clock], DeskLink], scale: float, slack_s: float
) -> None:
    landed: list[int] = []
    took_s: list[float] = []

    async def main() -> None:
        clock = Clock(scale=scale)
        link = make(clock)
        stop = asyncio.Event()
        async with link:
            busy = asyncio.create_task(_busy_machine(stop))
            try:
                for target_mm in (1100, 720, 1270, 660):
                    began_s = clock.monotonic()
                    landed.append(await link.move_to(target_mm))
                    took_s.append(clock.monotonic() - began_s)
            finally:
                stop.set()
                await busy

    run_virtual(main())
    assert landed == [1100, 720, 1270, 660]
    # the desk keeps its speed on the service's clock: about 38 mm/s, plus the settling
    for distance_mm, seconds in zip((350, 380, 550, 610), took_s, strict=True):
        assert distance_mm / 38 < seconds < distance_mm / 38 + slack_s, (distance_mm, seconds)


async def _starved_machine(stop: asyncio.Event, rng: random.Random) -> None:
    """Longer pauses at random: up to 0.2 real seconds, 1.7 s of the link's clock at 60x."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.001, 0.1))
        loop.advance(rng.uniform(0.0, 0.2))
        TALLY.fault()


@pytest.mark.parametrize("seed", [14, 15, 18, 25])
def test_a_target_re_issued_near_the_end_is_no_manual_move_after_the_arrival(seed: int) -> None:
    """A pause near the end: the desk let go of its target and rested within a millimetre, the
    link re-issued it, and the desk nudged onto it just after the arrival was told. Before, that
    nudge was a hand on the buttons: the next move was refused ("being moved by hand")."""
    rng = random.Random(seed)
    landed: list[int] = []

    async def main() -> None:
        clock = Clock(scale=60.0)
        link = _sim(clock)
        stop = asyncio.Event()
        async with link:
            busy = asyncio.create_task(_starved_machine(stop, rng))
            try:
                for target_mm in (1100, 750, 1100, 750):
                    landed.append(await link.move_to(target_mm))
            finally:
                stop.set()
                await busy

    run_virtual(main())
    assert len(landed) == 4, "a move was refused or failed"
    errors_mm = [abs(got - want) for got, want in zip(landed, (1100, 750, 1100, 750), strict=True)]
    assert max(errors_mm) <= 1
