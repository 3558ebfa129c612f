"""The Jiecang link over the real bleak client on Bumble's virtual radio, to the emulated desk.

Every GATT variant (including the adapter that advertises 00FF and serves FF00), cm and inch
displays, with and without 1B, and the radio's faults: lost, merged, split and corrupted
notifications, error reports, the child lock and a dropped link. Heights are checked on the box.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.jiecang import VARIANTS, DisplayUnit, Variant
from deskctl.errors import LinkError, MoveError
from deskctl.sim.jiecang_links import SimJiecangBleLink, variant_named
from deskctl.testing.virtual_time import run_virtual

Body = Callable[[SimJiecangBleLink], Awaitable[None]]


def over_ble(body: Body, **options: object) -> None:
    async def main() -> None:
        link = SimJiecangBleLink(
            "desk",
            Clock(),
            min_mm=650,
            max_mm=1300,
            seed=4,
            **options,  # type: ignore[arg-type]
        )
        async with link:
            await body(link)

    run_virtual(main())


def targets(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(660, 1290) for _ in range(n)]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_every_variant_is_found_and_moved_with_1b(variant: Variant) -> None:
    async def body(link: SimJiecangBleLink) -> None:
        assert link.variant is variant
        for target_mm in targets(1, 6):
            await link.move_to(target_mm)
            assert abs(link.model.motor.pos_mm - target_mm) <= 1.0
        assert link.desk.config_writes == []

    over_ble(body, variant=variant)


def test_the_adapter_that_advertises_00ff_and_serves_ff00_is_read_from_its_database() -> None:
    async def body(link: SimJiecangBleLink) -> None:
        assert link.variant == variant_named("FF00")
        await link.move_to(1000)
        assert abs(link.model.motor.pos_mm - 1000) <= 1.0

    over_ble(body, variant=variant_named("FF00"), advertise_as=variant_named("00FF"))


@pytest.mark.parametrize(("unit", "move_to"), [(DisplayUnit.INCH, True), (DisplayUnit.CM, False)])
def test_inch_display_and_a_box_without_1b_over_the_radio(unit: DisplayUnit, move_to: bool) -> None:
    async def body(link: SimJiecangBleLink) -> None:
        assert link.unit is unit
        for target_mm in targets(2, 6):
            await link.move_to(target_mm)
            assert abs(link.model.motor.pos_mm - target_mm) <= (1.0 if move_to else 8.5)
        assert link.move_to_works is move_to

    over_ble(body, unit=unit, move_to=move_to, variant=variant_named("FF12"))


def test_lost_merged_split_and_corrupted_notifications_do_not_spoil_a_landing() -> None:
    async def body(link: SimJiecangBleLink) -> None:
        desk = link.desk
        desk.lose, desk.corrupt = 0.15, 0.1
        for i, target_mm in enumerate(targets(3, 6)):
            desk.merge, desk.split = i % 3 == 1, i % 3 == 2
            await link.move_to(target_mm)
            assert abs(link.model.motor.pos_mm - target_mm) <= 1.0
        assert link.dropped_frames > 0

    over_ble(body)


def test_h01_over_the_radio_ends_the_move_with_its_sentence() -> None:
    async def body(link: SimJiecangBleLink) -> None:
        async def overheat() -> None:
            await link.clock.sleep(2.0)
            link.model.error(0x0E)
            link.desk.wake()

        task = asyncio.create_task(overheat())
        with pytest.raises(MoveError, match="16 minutes"):
            await link.move_to(1250)
        await task
        with pytest.raises(MoveError, match="16 minutes"):
            await link.move_to(1000)  # the box refuses while it cools down

    over_ble(body)


def test_the_child_lock_over_the_radio() -> None:
    async def body(link: SimJiecangBleLink) -> None:
        link.model.locked = True
        with pytest.raises(MoveError, match="child lock"):
            await link.move_to(1000)
        link.model.unlock()
        await link.move_to(1000)
        assert abs(link.model.motor.pos_mm - 1000) <= 1.0

    over_ble(body)


def test_a_dropped_link_ends_the_move_and_the_link_connects_again() -> None:
    async def body(link: SimJiecangBleLink) -> None:
        async def cut() -> None:
            await link.clock.sleep(2.0)
            await link.desk.drop_link(away_s=1.0)

        task = asyncio.create_task(cut())
        with pytest.raises(LinkError):
            await link.move_to(1250)
        await task
        assert not link.connected
        await link.clock.sleep(30.0)
        await link.connect()
        await link.move_to(900)
        assert abs(link.model.motor.pos_mm - 900) <= 1.0

    over_ble(body)
