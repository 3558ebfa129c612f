"""Link faults on the emulated BLE desk: the real bleak client over Bumble's virtual radio.

The LINAK link (`LinakLink`, the code a real IDÅSEN meets) drives the emulated desk through
`bleak.BleakClient`; the service runs it as `deskctl run --sim ble` does. All on virtual time.
tests/test_ble_link.py covers a drop mid-move, a collision and writes refused at rest; these add
a drop at rest under the service, reports that stop mid-move, writes refused mid-move (the
target is written without response, so the desk cannot say no to it), and garbage bytes.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from deskctl.config.settings import Settings
from deskctl.core.linak import Char, Command
from deskctl.core.move import MoveConfig
from deskctl.errors import DeskError, LinkError
from deskctl.links.base import Progress
from deskctl.links.linak import LinakLink
from deskctl.service.assembly import build_service
from deskctl.service.core import Service
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.links import SimBleLink
from deskctl.testing.virtual_time import run_virtual
from tests.ble_harness import on_radio
from tests.faults.garbled import GarbledDesk
from tests.faults.tally import counter
from tests.service_harness import TZ, Recorded

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
CONFIG = MoveConfig()
STOP = (Char.COMMAND, Command.STOP.value)


def bound_s(from_mm: int, to_mm: int) -> float:
    return CONFIG.start_timeout_s + abs(to_mm - from_mm) / CONFIG.min_speed_mm_s + CONFIG.settle_s


async def timed_move(
    link: LinakLink, target_mm: int, progress: Progress | None = None
) -> tuple[float, int | DeskError]:
    """(clock seconds the move took, the landed height or the error it ended with)."""
    began_s = link.clock.monotonic()
    try:
        result: int | DeskError = await link.move_to(target_mm, progress)
    except DeskError as error:
        result = error
    return link.clock.monotonic() - began_s, result


def test_reports_that_stop_mid_move_are_read_back_and_the_move_still_lands() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()

        def progress(height_mm: int) -> None:
            if height_mm > 900 and desk.notifying:
                desk.notifying = False  # the desk moves on, but says nothing more
                TALLY.fault()

        desk.model.writes.clear()
        began_s = link.clock.monotonic()
        landed_mm = await link.move_to(1200, progress)  # the link reads the height instead
        assert not desk.notifying
        assert link.clock.monotonic() - began_s <= bound_s(750, 1200)
        await desk.at_rest()
        assert abs(landed_mm - 1200) <= 1
        assert abs(desk.model.height_mm - landed_mm) <= 1  # where the desk really rests

    on_radio(body)


def test_a_desk_that_stops_answering_mid_move_ends_it_within_its_bound_and_is_stopped() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()
        stale = desk.model.read(Char.HEIGHT_SPEED)

        def progress(height_mm: int) -> None:
            if height_mm > 900 and desk.notifying:
                desk.notifying = False  # it says nothing more, and reads give a frozen value
                desk.model.read = lambda char: stale  # type: ignore[method-assign]
                TALLY.fault()

        desk.model.writes.clear()
        began_s = link.clock.monotonic()
        with pytest.raises(DeskError):
            await link.move_to(1200, progress)
        assert link.clock.monotonic() - began_s <= bound_s(750, 1200) + 0.5
        await desk.at_rest()
        assert not desk.model.moving
        assert STOP in [(char, data) for _, char, data in desk.model.writes]

    on_radio(body)


def test_writes_refused_mid_move_end_it_and_the_desk_stops_short() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()

        def progress(height_mm: int) -> None:
            if height_mm > 900 and not desk.refuse_writes:
                desk.refuse_writes = True  # targets vanish unanswered, commands are refused
                TALLY.fault()

        took_s, result = await timed_move(link, 1200, progress)
        assert isinstance(result, DeskError), result
        assert took_s <= bound_s(750, 1200)
        await desk.at_rest()
        assert desk.model.height_mm < 1150, "without renewals the desk stopped short"
        desk.refuse_writes = False
        landed_mm = await link.move_to(800)
        assert abs(landed_mm - 800) <= 1, "and moves again once writes get through"

    on_radio(body)


@pytest.mark.parametrize("seed", [11, 12])
def test_garbage_bytes_never_crash_the_link_and_every_move_ends_in_bound(seed: int) -> None:
    model = GarbledDesk(seed, height_p=0.25, dpg_p=0.5, height_mm=750)
    rng = random.Random(seed)
    outcomes: list[str] = []

    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        said = ""
        try:
            await link.connect()
        except LinkError as error:  # garbage where the base height should be: one sentence
            said = str(error)
        if said:
            assert "make no sense" in said
            outcomes.append("refused to connect")
            return
        for _ in range(8):
            target_mm = rng.randint(650, 1250)
            took_s, result = await timed_move(link, target_mm)
            outcomes.append(type(result).__name__)
            assert took_s <= bound_s(620, 1270) + 1, f"a move to {target_mm} took {took_s:.1f} s"
            await desk.at_rest()
            assert not desk.model.moving

    on_radio(body, model)
    TALLY.fault(model.garbled)
    assert model.garbled > 0
    assert outcomes


# --- the service over BLE -------------------------------------------------------------------------

START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)


def run_ble_service(script: Callable[[Service, SimBleLink, Recorded], Awaitable[None]]) -> Recorded:
    recorded = Recorded()

    async def main() -> None:
        service = build_service(
            Settings(), TZ, simulate=True, sim="ble", time_scale=1.0, start_at=START
        )
        service.subscribe(recorded)
        link = service.desks["desk"].link
        assert isinstance(link, SimBleLink)
        runner = asyncio.create_task(service.run())
        try:
            await script(service, link, recorded)
        finally:
            service.request_stop()
            await runner

    run_virtual(main())
    return recorded


@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_ble_link_dropped_at_rest_comes_back_by_itself_and_the_change_is_on_time() -> None:
    offline: list[bool] = []

    async def script(service: Service, link: SimBleLink, recorded: Recorded) -> None:
        await service.clock.sleep((START.replace(hour=9, minute=10) - service.clock.now()).seconds)
        await link.desk.drop_link(away_s=20.0)
        TALLY.fault()
        await service.clock.sleep(10.0)
        offline.append((await service.call("status"))["connected"] is False)
        await service.clock.sleep((START.replace(hour=9, minute=31) - service.clock.now()).seconds)
        status = await service.call("status")
        assert status["connected"] is True
        assert abs(status["height_mm"] - 1100) <= 1

    recorded = run_ble_service(script)
    assert offline == [True]
    nine = START.replace(hour=9, minute=0)
    connected = [f["connected"] for when, f in recorded.of("connection") if when > nine]
    assert connected == [False, True]
    started = [(when.strftime("%H:%M"), f["target_mm"]) for when, f in recorded.of("move_started")]
    assert started == [("09:00", 720), ("09:30", 1100)]
    assert [f["outcome"] for _, f in recorded.of("move")] == ["arrived", "arrived"]
