"""The LINAK link drives the simulated desk end to end, on virtual time.

These run the real link code (move controller, codec, writer task, deadline timer) against the
simulated controller and motor, so what they show holds for every GATT client the link is given.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Awaitable, Callable

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.linak import CANCEL_TARGET, Char, Command
from deskctl.errors import HeightError, LinkError, ManualOverride, Obstruction
from deskctl.links.base import ConnectionChanged, LinkEvent, ManualMove
from deskctl.sim.links import SimLink
from deskctl.testing.virtual_time import run_virtual


def on_sim(body: Callable[[SimLink], Awaitable[None]], *, height_mm: int = 750) -> None:
    async def main() -> None:
        link = SimLink("desk", Clock(), min_mm=620, max_mm=1270, persist=False, height_mm=height_mm)
        async with link:
            await body(link)

    run_virtual(main())


def test_two_hundred_random_targets_land_within_1_mm() -> None:
    rng = random.Random(20261125)
    targets = [1100, 1101, 1100, 620, 1270, 620, 621] + [rng.randint(620, 1270) for _ in range(193)]
    errors_mm: list[int] = []
    directions: set[int] = set()

    async def body(link: SimLink) -> None:
        for target_mm in targets:
            before_mm = link.height_mm
            assert before_mm is not None
            landed_mm = await link.move_to(target_mm)
            errors_mm.append(abs(landed_mm - target_mm))
            assert abs(link.model.height_mm - target_mm) <= 1, "the desk itself is off target"
            directions.add((target_mm > before_mm) - (target_mm < before_mm))

    on_sim(body)
    assert len(errors_mm) == 200
    assert max(errors_mm) <= 1
    assert directions >= {-1, 1}


def test_a_move_wakes_the_desk_then_renews_its_target() -> None:
    async def body(link: SimLink) -> None:
        link.model.writes.clear()
        await link.move_to(1000)
        commands = [data for _, char, data in link.model.writes if char is Char.COMMAND]
        targets = [data for _, char, data in link.model.writes if char is Char.REFERENCE_INPUT]
        assert commands[:2] == [Command.WAKE.value, Command.STOP.value]
        # 250 mm at ~38 mm/s is about 7 s: the target must be renewed many times, never lapse
        times = [t for t, char, _ in link.model.writes if char is Char.REFERENCE_INPUT]
        assert len(targets) > 15
        assert max(b - a for a, b in itertools.pairwise(times)) < 1.0

    on_sim(body)


def test_a_collision_mid_move_stops_the_desk_and_reports_an_obstruction() -> None:
    async def body(link: SimLink) -> None:
        link.model.collision_mm = 900
        link.model.writes.clear()
        with pytest.raises(Obstruction) as caught:
            await link.move_to(1200)
        assert caught.value.height_mm is not None
        assert abs(caught.value.height_mm - 900) <= 12
        writes = [(char, data) for _, char, data in link.model.writes]
        assert (Char.COMMAND, Command.STOP.value) in writes
        assert writes[-1] == (Char.REFERENCE_INPUT, CANCEL_TARGET)
        assert not link.model.obstructed, "the stop must clear the desk's collision latch"
        # the desk moves again once the person acts
        link.model.collision_mm = None
        assert await link.move_to(800) == 800

    on_sim(body)


def test_a_hand_on_the_buttons_mid_move_stops_the_move() -> None:
    async def body(link: SimLink) -> None:
        def progress(height_mm: int) -> None:
            if height_mm > 900 and not pressed:
                pressed.append(height_mm)
                link.model.press(-1)
                link.sim_gatt.poke()

        pressed: list[int] = []
        with pytest.raises(ManualOverride):
            await link.move_to(1200, progress)
        assert pressed

    on_sim(body)


def test_a_manual_move_at_rest_is_reported_with_the_chosen_height() -> None:
    async def body(link: SimLink) -> None:
        events: list[LinkEvent] = []
        link.subscribe(events.append)
        link.model.press(1)
        link.sim_gatt.poke()
        await link.clock.sleep(3.0)
        link.model.press(0)
        await link.clock.sleep(2.0)
        manual = [e for e in events if isinstance(e, ManualMove)]
        assert [m.ended for m in manual] == [False, True]
        assert manual[-1].height_mm == link.height_mm
        assert manual[-1].height_mm > 750 + 60

    on_sim(body)


def test_a_link_drop_mid_move_fails_the_move_and_never_resumes_it() -> None:
    async def body(link: SimLink) -> None:
        events: list[LinkEvent] = []
        link.subscribe(events.append)

        def progress(height_mm: int) -> None:
            if height_mm > 900 and link.connected:
                link.sim_gatt.drop()

        with pytest.raises(LinkError):
            await link.move_to(1200, progress)
        assert ConnectionChanged(False, "the desk dropped the link") in events
        # without renewals the desk stops by itself, short of the old target
        await link.clock.sleep(5.0)
        stopped_mm = link.model.height_mm
        assert stopped_mm < 1100
        await link.connect()
        assert ConnectionChanged(True) in events
        await link.clock.sleep(10.0)
        assert link.model.height_mm == stopped_mm
        assert link.height_mm == stopped_mm

    on_sim(body)


def test_targets_outside_the_limits_are_refused_before_any_byte_is_sent() -> None:
    async def body(link: SimLink) -> None:
        link.model.writes.clear()
        with pytest.raises(HeightError, match="1270 mm"):
            await link.move_to(2000)
        with pytest.raises(HeightError, match="620 mm"):
            await link.move_to(600)
        assert link.model.writes == []

    on_sim(body)


def test_a_garbled_report_beyond_any_desks_travel_is_ignored_mid_move() -> None:
    from deskctl.core.linak import encode_height_speed

    async def body(link: SimLink) -> None:
        garbled: list[int] = []

        def progress(height_mm: int) -> None:
            if height_mm > 900 and not garbled:
                garbled.append(height_mm)
                link._on_height(encode_height_speed(0xFFF0, 0))  # one garbled notification

        assert await link.move_to(1100, progress) == 1100
        assert garbled

    on_sim(body)
