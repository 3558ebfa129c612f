"""A busy machine under the simulated desk on a fast clock (`--simulate --time-scale 60`).

The process is put aside for a moment now and then, as a machine with every core busy does: on
virtual time the loop's clock jumps while nothing runs. Before, the link and the simulated desk
ran their protocol at the demo's scale, so a 60 ms pause was 3.6 s of desk time: the target lapsed
(it must be renewed within 1 s) and the desk stopped short, an obstruction that was not there. Now
the link keeps a slower clock and the motor runs faster instead: the desk lands, on time.
"""

from __future__ import annotations

import asyncio

import pytest

from deskctl.clocks.clock import Clock
from deskctl.sim.links import SimLink
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


@pytest.mark.parametrize("scale", [20.0, 60.0])
def test_pauses_of_a_busy_machine_stop_no_move_of_the_simulated_desk(scale: float) -> None:
    landed: list[int] = []
    took_s: list[float] = []

    async def main() -> None:
        clock = Clock(scale=scale)
        link = SimLink("desk", clock, min_mm=620, max_mm=1270, persist=False, height_mm=750)
        stop = asyncio.Event()
        async with link:
            busy = asyncio.create_task(_busy_machine(stop))
            try:
                for target_mm in (1100, 720, 1270, 620):
                    began_s = clock.monotonic()
                    landed.append(await link.move_to(target_mm))
                    took_s.append(clock.monotonic() - began_s)
            finally:
                stop.set()
                await busy

    run_virtual(main())
    assert landed == [1100, 720, 1270, 620]
    # the desk keeps its speed on the service's clock: about 38 mm/s, plus the settling
    for distance_mm, seconds in zip((350, 380, 550, 650), took_s, strict=True):
        assert distance_mm / 38 < seconds < distance_mm / 38 + 4, (distance_mm, seconds)
