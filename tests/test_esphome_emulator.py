"""The emulated ESPHome desk's physics (`EsphomePhysics`), each parameter on its own.

Pure stepping of `EsphomeDeskModel` (no broker, no clock), so every number is exact and the
randomness is the model's seeded one; the last test checks the sensor's publish cadence on a
real mosquitto, with generous bounds.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
from dataclasses import replace

import aiomqtt
import pytest

from deskctl.clocks.clock import Clock
from deskctl.links.mqtt_broker import broker_client
from deskctl.sim.esphome_desk import EsphomeDesk
from deskctl.sim.esphome_model import IDEAL, EsphomeDeskModel, EsphomePhysics
from tests.mosquitto import Broker

STEP_MM = 2.54
# only the parameter under test departs from the ideal desk
FRAMES = replace(IDEAL, frame_s=0.05)


def run_to_rest(model: EsphomeDeskModel, limit_s: float = 60.0) -> float:
    """Step until nothing changes any more; the time it took."""
    took_s = 0.0
    while model.active and took_s < limit_s:
        model.advance(0.01)
        took_s += 0.01
    return took_s


def run_on_mm(physics: EsphomePhysics, *, up: bool = True) -> float:
    """How far the desk runs past the firmware's release on one move of 200 mm."""
    start, target = (750, 950) if up else (950, 750)
    model = EsphomeDeskModel(height_mm=start, physics=physics)
    model.set_target_mm(target)
    while model.target_mm is not None:
        model.advance(0.002)
    released_mm = model.position_mm
    run_to_rest(model)
    return abs(model.position_mm - released_mm)


def test_the_ideal_desk_is_exact_and_the_same_every_time() -> None:
    ends = set()
    for seed in (1, 2, 3):
        model = EsphomeDeskModel(height_mm=750, physics=replace(IDEAL, seed=seed))
        model.set_target_mm(1000)
        run_to_rest(model)
        ends.add(round(model.position_mm, 6))
        assert model.reading_mm == model.rest_reading_mm, "the last reading is the rest"
        assert model.runs == [38.0]
    assert len(ends) == 1


def test_the_realistic_defaults_are_what_the_docs_say() -> None:
    physics = EsphomePhysics()
    assert physics.publish_s == 0.5  # ESPHome's standing_desk_height sensor: polling, 500 ms
    assert physics.frame_s == 0.05
    assert physics.stop_delay_s == (0.03, 0.12)
    assert (physics.speed_spread, physics.load, physics.decel_spread) == (0.03, 0.05, 0.15)
    assert physics.delay_s == (0.005, 0.04)
    assert physics.final_frame_s == 1.0


def test_the_run_on_varies_from_move_to_move_but_not_between_equal_seeds() -> None:
    physics = replace(IDEAL, stop_delay_s=(0.03, 0.12), decel_spread=0.15, seed=4)
    runs = [run_on_mm(replace(physics, seed=seed)) for seed in range(12)]
    assert max(runs) - min(runs) > 1.5, "a stop delay of 30..120 ms at 38 mm/s: mm apart"
    assert all(2.0 < run < 7.5 for run in runs)
    assert run_on_mm(physics) == run_on_mm(physics), "seeded: the same desk"
    assert run_on_mm(IDEAL) == pytest.approx(38.0**2 / (2 * 300.0), abs=0.1)


def test_speed_varies_per_run_and_a_loaded_desk_rises_slower_than_it_lowers() -> None:
    physics = replace(IDEAL, speed_spread=0.03, load=0.05, seed=9)
    model = EsphomeDeskModel(height_mm=900, physics=physics)
    for target in (1200, 700) * 10:
        model.set_target_mm(target)
        run_to_rest(model)
    ups, downs = model.runs[0::2], model.runs[1::2]
    assert statistics.mean(ups) < 38.0 < statistics.mean(downs)
    assert statistics.mean(ups) == pytest.approx(38.0 * 0.95, rel=0.03)
    assert len(set(model.runs)) == len(model.runs), "every run its own speed"
    assert all(abs(speed / 38.0 - 1) < 0.05 + 3 * 0.03 + 1e-9 for speed in model.runs)


def test_the_firmware_reads_the_height_only_from_frames() -> None:
    model = EsphomeDeskModel(height_mm=750, physics=FRAMES)
    model.press(+1)
    model.advance(1.0)
    readings = set()
    for _ in range(25):
        model.advance(0.002)
        readings.add(model.reading_mm)
    assert len(readings) <= 2, "one frame in 50 ms: the reading stands still between frames"
    assert abs(model.position_mm - model.reading_mm) < 38.0 * 0.05 + STEP_MM


def test_a_box_quiet_while_coasting_leaves_a_stale_last_reading_until_its_late_frame() -> None:
    physics = replace(FRAMES, quiet_below_mm_s=60.0, final_frame_s=1.0)  # quiet once let go
    model = EsphomeDeskModel(height_mm=750, physics=physics)
    model.set_target_mm(1000)
    while model.velocity_mm_s != 0 or model.direction != 0:
        model.advance(0.01)
    assert model.reading_mm < model.rest_reading_mm, "the last frame lies short of the rest"
    model.advance(0.9)
    assert model.reading_mm < model.rest_reading_mm
    model.advance(0.2)
    assert model.reading_mm == model.rest_reading_mm, "the late frame says where it rests"
    assert not model.active

    never = EsphomeDeskModel(height_mm=750, physics=replace(physics, final_frame_s=None))
    never.set_target_mm(1000)
    run_to_rest(never)
    assert never.reading_mm < never.rest_reading_mm, "without a late frame it stays stale"


def test_the_stock_firmware_lets_go_early_and_will_not_move_for_less() -> None:
    early_mm = 0.4 * 25.4
    model = EsphomeDeskModel(height_mm=750, physics=IDEAL, runs_past_mm=-early_mm)
    model.set_target_mm(1000)
    run_to_rest(model)
    assert 1000 - early_mm < model.position_mm < 1000 - early_mm + 3.0, "let go 0.4 in short"
    rest = model.position_mm
    model.set_target_mm(rest + 5.0)  # inside the early release: pressed and let go at once
    run_to_rest(model)
    assert model.position_mm == rest


def test_bad_physics_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        EsphomePhysics(frame_s=-1)
    with pytest.raises(ValueError, match="low to high"):
        EsphomePhysics(stop_delay_s=(0.2, 0.1))


async def test_the_sensor_publishes_a_changed_height_at_most_every_500_ms(
    mosquitto: Broker,
) -> None:
    physics = replace(IDEAL, publish_s=0.5, delay_s=(0.005, 0.04), frame_s=0.05)
    model = EsphomeDeskModel(height_mm=750, physics=physics)
    desk = EsphomeDesk(mosquitto.settings(), prefix="cadence", clock=Clock(), model=model)
    loop = asyncio.get_running_loop()
    seen: list[float] = []

    async def read(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if not message.retain:
                seen.append(loop.time())

    async with asyncio.timeout(30.0), desk, broker_client(mosquitto.settings()) as client:
        await client.subscribe(desk.topics["height"], qos=1)
        reader = asyncio.create_task(read(client))
        await client.publish(desk.topics["target_command"], "33.0", qos=1)
        await asyncio.sleep(1.0)
        while model.active:  # noqa: ASYNC110 - the model has no event to wait on
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the last change is published within one interval
        reader.cancel()
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert len(seen) >= 5, "a move of 110 mm at 38 mm/s is reported several times"
    assert min(gaps) > 0.5 - 0.04 - 0.1, "never more often than the polling interval"
    assert statistics.median(gaps) == pytest.approx(0.5, abs=0.1)
