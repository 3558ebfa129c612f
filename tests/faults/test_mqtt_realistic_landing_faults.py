"""Landings of the MQTT desk link on the realistic ESPHome desk, on virtual time (issue 13).

The emulated Upsy Desky runs with realistic physics (`EsphomePhysics`: UART frames, a 500 ms
polling sensor, a varying run-on, a radio delay) in the test's own event loop, beside the link,
through a real mosquitto; the loop runs on virtual time, held while a message is on its way
(`tests/mqtt_traffic.py`). So the desk's timing is its physics' alone: the same seed, the same
moves, on an idle machine or a busy one (on real time, under load, the late report of the rest
came later than the wait the link had learned, and the link answered a step short of the rest:
a flake, never the same twice). What a person would notice: no move ends as "something is in the
way", no manual move is reported when nobody touched the desk, the link answers with where the
desk rests, and that lies within one step of the firmware's resolution (0.1 in) of the target's
own step; with the stock firmware, which lets go 0.4 in early, within that early release.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from deskctl.links.base import ManualMove
from deskctl.sim.esphome_model import EsphomePhysics
from deskctl.testing.virtual_time import run_virtual
from tests.faults.realistic_desk import STOCK_EARLY_MM, desk_here, resting_mm, steps_off
from tests.mosquitto import Broker
from tests.mqtt_traffic import MqttTraffic

pytestmark = pytest.mark.fault


def test_a_late_report_of_the_rest_is_no_manual_move_and_the_next_landing_waits_for_it(
    mosquitto: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the box stops sending frames once the button is let go, and sends the resting height
    # a second later: the last report of every move lies short of where the desk rests
    # Known gap (issue 13, left open): when the first move's coast ends within the step of its
    # last report, no late report comes then and nothing teaches the wait; the first late
    # report, on a later move, then outruns it and that move answers a step or two short of the
    # rest (seeds 1, 6, 16, 23 and 30 of 0..39 here; on real time, under load, seed 11 once).
    physics = EsphomePhysics(quiet_below_mm_s=60.0, final_frame_s=1.0, seed=11)

    async def scenario() -> None:
        async with desk_here(mosquitto, physics) as (desk, link, events):
            await link.move_to(1000)
            await desk.clock.sleep(2.5)  # the late report comes in
            assert [e for e in events if isinstance(e, ManualMove)] == [], "nobody touched it"
            first_rest_mm = await resting_mm(desk)
            assert link.height_mm == round(first_rest_mm)
            for target_mm in (800, 1100):
                landed_mm = await link.move_to(target_mm)
                rest_mm = await resting_mm(desk)
                assert landed_mm == round(rest_mm), "it answers with where the desk rests"
                assert steps_off(rest_mm, target_mm) <= 1
            await desk.clock.sleep(2.5)
            assert [e for e in events if isinstance(e, ManualMove)] == []

    run_virtual(scenario(), hold=MqttTraffic.watch(monkeypatch).busy)


def test_the_stock_firmware_that_lets_go_early_is_no_obstruction(
    mosquitto: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    physics = replace(EsphomePhysics(seed=7), final_frame_s=0.3)

    async def scenario() -> None:
        async with desk_here(mosquitto, physics, runs_past_mm=-STOCK_EARLY_MM) as (desk, link, _):
            for target_mm in (1000, 800, 1100):
                landed_mm = await link.move_to(target_mm)  # Obstruction before the fix
                rest_mm = await resting_mm(desk)
                assert abs(landed_mm - rest_mm) < 1.5
                assert abs(rest_mm - target_mm) <= STOCK_EARLY_MM
            assert link.lead_mm < 0, "it aims past the target, as the firmware lets go short"

    run_virtual(scenario(), hold=MqttTraffic.watch(monkeypatch).busy)
