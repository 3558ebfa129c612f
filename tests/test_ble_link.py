"""The real LINAK link over the real `bleak.BleakClient`, against the emulated desk on Bumble.

No Bluetooth hardware: Bumble's virtual radio carries the real GATT bytes between bleak (through
a custom backend) and a GATT server with the LINAK services. Runs on virtual time.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.linak import Char, Command
from deskctl.errors import LinkError, Obstruction
from deskctl.links.ble import BleakGattClient, scan
from deskctl.links.linak import LinakLink
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.testing.virtual_time import run_virtual
from tests.ble_harness import on_radio


def test_scan_finds_the_desk_by_its_service_with_name_and_signal() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        found = await scan(2.0, backend=desk.radio.scanner_backend)
        assert [(d.name, d.address) for d in found] == [("Desk 1234", desk.address)]
        assert -100 < found[0].rssi < 0

    on_radio(body)


def test_a_hundred_random_moves_land_within_1_mm() -> None:
    rng = random.Random(3)
    targets = [620, 1270, 1000, 1001] + [rng.randint(620, 1270) for _ in range(96)]

    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()
        assert link.height_mm == 750
        assert link.base_mm == 620  # read from the desk (DPG 0x81)
        for target_mm in targets:
            landed_mm = await link.move_to(target_mm)
            assert abs(landed_mm - target_mm) <= 1
            assert abs(desk.model.height_mm - target_mm) <= 1

    on_radio(body)


def test_a_dpg1c_desk_moves_only_after_the_wake_up() -> None:
    model = DeskModel(height_mm=750, needs_wake_up=True)

    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()  # the link wakes it: user id first byte 1, then COMMAND wake
        assert await link.move_to(900) == 900

    on_radio(body, model)


def test_a_link_drop_mid_move_fails_the_move_and_the_old_target_never_resumes() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()
        drops: list[asyncio.Task[None]] = []

        def progress(height_mm: int) -> None:
            if height_mm > 900 and not drops:
                drops.append(asyncio.get_running_loop().create_task(desk.drop_link(away_s=1.0)))

        with pytest.raises(LinkError):
            await link.move_to(1200, progress)
        await link.clock.sleep(5.0)
        stopped_mm = desk.model.height_mm
        assert stopped_mm < 1150, "without renewals the desk stops short"
        await link.connect()
        await link.clock.sleep(10.0)
        assert desk.model.height_mm == stopped_mm
        assert await link.move_to(800) == 800

    on_radio(body)


def test_a_collision_stops_the_desk_and_reports_an_obstruction() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()
        desk.collision_mm = 1000
        desk.model.writes.clear()
        with pytest.raises(Obstruction):
            await link.move_to(1200)
        assert (Char.COMMAND, Command.STOP.value) in [(c, d) for _, c, d in desk.model.writes]

    on_radio(body)


def test_refused_writes_fail_the_move_with_a_clear_sentence() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()
        desk.refuse_writes = True
        with pytest.raises(LinkError, match="refused"):
            await link.move_to(1000)
        assert desk.model.height_mm == 750

    on_radio(body)


def test_no_desk_at_the_address_says_what_to_check() -> None:
    async def main() -> None:
        radio = BumbleRadio()
        gatt = BleakGattClient("C0:DE:5C:00:0F:0F", timeout_s=1, backend=radio.client_backend)
        link = LinakLink("desk", gatt, Clock())
        with pytest.raises(LinkError, match="powered, in range"):
            await link.connect()
        await radio.close()

    run_virtual(main())


def test_a_desk_not_in_pairing_mode_explains_the_button_and_the_agent() -> None:
    async def main() -> None:
        clock = Clock()
        radio = BumbleRadio()
        desk = EmulatedDesk(radio, DeskModel(height_mm=750), clock=clock)
        desk.pairable = False
        async with desk:
            gatt = BleakGattClient(
                desk.address, timeout_s=5, pair=True, backend=radio.client_backend
            )
            link = LinakLink("desk", gatt, clock)
            with pytest.raises(LinkError, match=r"Bluetooth button .* BlueZ agent"):
                await link.connect()
            assert not link.connected
        await radio.close()

    run_virtual(main())


def test_the_calibration_offset_moves_every_height_the_same_way() -> None:
    async def main() -> None:
        clock = Clock()
        radio = BumbleRadio()
        desk = EmulatedDesk(radio, DeskModel(height_mm=750), clock=clock)
        async with desk:
            gatt = BleakGattClient(desk.address, timeout_s=5, backend=radio.client_backend)
            link = LinakLink("desk", gatt, clock, calibration_mm=7)
            await link.connect()
            assert link.height_mm == 757  # the desk says 750 above its floor; the tape says 757
            assert await link.move_to(1007) == 1007
            assert desk.model.height_mm == 1000
            await link.close()
        await radio.close()

    run_virtual(main())
