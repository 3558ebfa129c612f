"""A working day of the service on `--sim jiecang` with the MQTT bridge, against a real mosquitto:
Home Assistant sees the Jiecang desk (its device, its presets as buttons), every scheduled change
starts on time, lands on the box within a millimetre and shows in the retained state, a preset
pressed over lunch moves it, and a preset removed from the settings loses its button.

The desk and the broker run in real time at 20x (the link keeps its protocol clock at 4x, as the
simulation does); the waits for the schedule are skipped while the desk is at rest (`tests/warp`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from deskctl.sim.jiecang_links import SimJiecangLink
from tests.mosquitto import Broker
from tests.test_bridge import FAST, TZ, Running, Watcher, having, pub, retained, serving
from tests.warp import fast_forward, run_warped

DEVICE = "homeassistant/device/deskctl_office/config"
FOCUS = "homeassistant/button/deskctl_office_preset_focus/config"
PERCH = "homeassistant/button/deskctl_office_preset_perch/config"


@pytest.fixture(autouse=True)
def _own_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path / "config"))


# the loop's clock jumps by minutes of real time while the desk rests: aiomqtt's network timeout
# (on the loop's clock) would count a jump as a broker that stopped answering
WARPED = dataclasses.replace(FAST, broker_timeout_s=3600.0)


def at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-30T{hhmm}").replace(tzinfo=TZ)  # a Monday


def test_a_day_on_the_simulated_jiecang_desk_with_home_assistant(
    mosquitto: Broker, sit_stand_30_15: None
) -> None:
    """On the 30:15 rhythm (sit 30, stand 15): the times below are its changes."""
    run_warped(_a_day(mosquitto))


def _more(run: Running, kind: str, than: int) -> Callable[[], bool]:
    """Whether the service said `kind` more than `than` times."""
    return lambda: run.kinds("office").count(kind) > than


async def _landed(run: Running, watcher: Watcher, mark: int, arrived_before: int) -> int:
    """Wait for the next arrival; check the box is there and Home Assistant's state says so."""
    await run.until(_more(run, "arrived", arrived_before))
    arrived = [f for _, _, kind, f in run.recorded.events if kind == "arrived"][-1]
    link = run.service.desks["office"].link
    assert isinstance(link, SimJiecangLink)
    target_mm = [f for _, _, kind, f in run.recorded.events if kind == "move_started"][-1][
        "target_mm"
    ]
    assert abs(link.model.motor.pos_mm - target_mm) <= 1.0, "the box itself is there"
    assert abs(arrived["height_mm"] - target_mm) <= 1
    await watcher.state("office", mark, having(height_mm=arrived["height_mm"], moving=False))
    return int(target_mm)


async def _a_day(mosquitto: Broker) -> None:
    watcher = Watcher(mosquitto)
    await watcher.start()
    presets: dict[str, str | int | float] = {"focus": "105cm", "perch": "90cm"}
    try:
        async with serving(
            mosquitto.settings(),
            watcher,
            sim="jiecang",
            start=at("08:59:00"),
            presets=presets,
            timing=WARPED,
        ) as run:
            clock = run.service.clock
            # Home Assistant's device is the Jiecang desk, with a button per preset
            device = await retained(mosquitto, DEVICE)
            assert device is not None
            assert device.json()["device"]["model"] == "Simulated Jiecang desk"
            for topic, name in (
                (FOCUS, "Preset focus (105.0 cm)"),
                (PERCH, "Preset perch (90.0 cm)"),
            ):
                button = await retained(mosquitto, topic)
                assert button is not None
                assert button.json()["name"] == name
            state = await retained(mosquitto, "deskctl/office/state")
            assert state is not None
            assert state.json()["connected"] is True

            landed: list[tuple[str, int]] = []
            while (due := run.service.snapshot()["office"].next_change_at) is not None:
                if due >= at("13:30") and ("12:45", 1050) not in landed:
                    # nothing is scheduled over lunch: a preset button pressed in Home Assistant
                    fast_forward(clock, at("12:45"))
                    mark, before = watcher.mark(), run.kinds("office").count("arrived")
                    await pub(mosquitto, "deskctl/office/preset/set", "focus")
                    landed.append(("12:45", await _landed(run, watcher, mark, before)))
                    continue
                warned = run.kinds("office").count("warning")
                fast_forward(clock, due - timedelta(seconds=31))  # the warning's 30 s come first
                await run.until(_more(run, "warning", warned))
                fast_forward(clock, due - timedelta(seconds=1))
                mark, before = watcher.mark(), run.kinds("office").count("arrived")
                landed.append((f"{due:%H:%M}", await _landed(run, watcher, mark, before)))
            assert clock.now() > at("17:15")  # the day's last change is done
            news = {"obstruction", "error", "manual_move", "dropped"}
            assert not news & set(run.kinds("office"))
            started = [f"{when:%H:%M:%S}" for when, _ in run.recorded.of("move_started")]
        # the next day the settings have one preset less: its button leaves Home Assistant
        async with serving(
            mosquitto.settings(), watcher, sim="jiecang", presets={"focus": "105cm"}, timing=WARPED
        ):
            pass
        assert await retained(mosquitto, PERCH) is None
        assert await retained(mosquitto, FOCUS) is not None
    finally:
        await watcher.stop()
    scheduled = [when for when, _ in landed if when != "12:45"]
    assert [f"{when}:00" for when in scheduled] == [s for s in started if s != "12:45:00"]
    assert started.count("12:45:00") == 1
    # 09:00-12:30 and 13:30-17:30: 30 min sit, 15 min stand; each change on time and landed
    assert len(scheduled) == 20
    assert {height for when, height in landed if when != "12:45"} == {720, 1100}
