"""The MQTT desk link on the realistic ESPHome desk beside two busy loops (issue 13).

The emulated Upsy Desky runs with realistic physics on its own event loop in its own thread
(`tests/faults/realistic_desk.py`); the link runs here on real time, through a real mosquitto,
while two processes spin beside it (both cores of a 2-core machine). What a person would notice:
no move ends as "something is in the way", no manual move is reported when nobody touched the
desk, and it comes to rest within one unit of the firmware's resolution (0.1 in) of the target's
own step. A file of its own so that pytest-xdist runs it beside the other realistic fault files.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deskctl.links.base import ManualMove
from deskctl.sim.esphome_model import EsphomePhysics
from tests.faults.realistic_desk import STEP_MM, desk_in_thread, rest_mm, steps_off
from tests.faults.tally import counter
from tests.mosquitto import Broker

pytestmark = pytest.mark.fault
TALLY = counter(__name__)


@contextmanager
def busy_loops(count: int) -> Iterator[None]:
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    TALLY.fault(count)
    try:
        yield
    finally:
        for process in loops:
            process.kill()
            process.wait()


async def test_two_busy_loops_beside_are_no_obstruction_and_no_manual_move(
    mosquitto: Broker,
) -> None:
    physics = EsphomePhysics(seed=5)
    with busy_loops(2):
        async with desk_in_thread(mosquitto, physics) as (desk, link, events):
            for target_mm in (1010, 780, 1150):
                landed_mm = await link.move_to(target_mm)
                assert abs(landed_mm - target_mm) <= STEP_MM
                assert steps_off(await rest_mm(desk), target_mm) <= 1
            await asyncio.sleep(2.0)  # any late report is in
            assert [e for e in events if isinstance(e, ManualMove)] == []
