"""Any MQTT desk bridge described in the settings (issue 16): the pure codec as tables, the named
recipes' topics, and settings errors that name the key in one sentence."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from deskctl.config.settings import MqttDeskSettings, load_settings
from deskctl.core.esphome import (
    Button,
    DeskTopics,
    MemorySlot,
    Publish,
    RecallCommander,
    StepCommander,
    predicted_mm,
    repeat_step,
    step_within_limits,
)
from deskctl.errors import ConfigError


def topics(**fields: Any) -> DeskTopics:
    return DeskTopics.from_settings(MqttDeskSettings(**({"preset": "custom"} | fields)))


STEPS: dict[str, Any] = {
    "up": {"topic": "b/cmd", "payload": "up"},
    "down": {"topic": "b/cmd", "payload": "down"},
    "stop_topic": "b/cmd",
    "stop_payload": "stop",
}


# -- reading a height ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "payload", "height_mm"),
    [
        ({"unit": "mm"}, "1004", 1004),
        ({"unit": "cm"}, "72.4", 724),
        ({"unit": "in"}, "29.5", 749),
        ({"unit": "in"}, "29.5 in", 749),  # a text sensor with its unit
        ({"unit": "in"}, '29.5"', 749),
        ({"unit": "in"}, "29.5 cm", None),  # another unit than configured: unreadable
        ({"unit": "cm"}, "72.4cm", 724),
        ({"unit": "cm"}, "72.4 mm", None),
        ({"unit": "cm", "json_key": "height"}, '{"height": 72.4}', 724),
        ({"unit": "cm", "json_key": "height"}, '{"height": "72.4 cm"}', 724),
        ({"unit": "cm", "json_key": "height"}, '{"h": 72.4}', None),
        ({"unit": "%", "cover_min_mm": 620, "cover_max_mm": 1270}, "50", 945),
        ({"unit": "%", "cover_min_mm": 620, "cover_max_mm": 1270}, "0 %", 620),
        ({"unit": "%", "cover_min_mm": 620, "cover_max_mm": 1270}, "140", 1270),  # clamped
        ({"unit": "cm", "offset_mm": 25}, "70.0", 725),  # a box that counts from its foot
        ({"unit": "cm", "offset_mm": -12.5}, "70.0", 688),
        ({"unit": "mm", "scale": 10}, "72", 720),  # a bridge that sends cm on an mm sensor
        ({"unit": "in", "scale": 0.5, "offset_mm": 600}, "10", 727),
        ({"unit": "cm"}, "nan", None),
        ({"unit": "cm"}, "unknown", None),
        ({"unit": "cm"}, "", None),
    ],
)
def test_a_state_payload_reads_as_whole_mm(
    fields: dict[str, Any], payload: str, height_mm: int | None
) -> None:
    assert topics(state_topic="b/h", command_topic="b/t", **fields).decode(payload) == height_mm


# -- writing a move-to -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "height_mm", "payload"),
    [
        ({"unit": "cm"}, 1004, "100.4"),
        ({"unit": "in"}, 1000, "39.4"),
        ({"unit": "in", "command_unit": "cm"}, 1004, "100.4"),  # a slider in cm, a sensor in in
        ({"unit": "cm", "command_unit": "mm"}, 1004, "1004"),
        ({"unit": "cm", "offset_mm": 25}, 725, "70.0"),  # the inverse of the reading
        ({"unit": "mm", "scale": 10}, 720, "72"),
        ({"unit": "cm", "command_unit": "%", "cover_min_mm": 620, "cover_max_mm": 1270}, 945, "50"),
        ({"unit": "cm", "decimals": 0}, 1004, "100"),
    ],
)
def test_a_move_to_carries_its_unit_scale_offset_and_decimals(
    fields: dict[str, Any], height_mm: int, payload: str
) -> None:
    t = topics(state_topic="b/h", command_topic="b/t", **fields)
    assert t.encode(height_mm) == payload
    assert t.decode_command(payload) is not None
    assert abs((t.decode_command(payload) or 0) - height_mm) <= t.resolution_mm


@pytest.mark.parametrize(
    ("fields", "resolution_mm", "tolerance_mm"),
    [
        ({"unit": "in"}, 2.54, 2),
        ({"unit": "cm"}, 1.0, 1),
        ({"unit": "mm"}, 1.0, 1),
        ({"unit": "%", "cover_min_mm": 620, "cover_max_mm": 1270}, 6.5, 6),
        ({"unit": "mm", "scale": 10}, 10.0, 10),
    ],
)
def test_resolution_and_tolerance_follow_the_payload(
    fields: dict[str, Any], resolution_mm: float, tolerance_mm: int
) -> None:
    t = topics(state_topic="b/h", command_topic="b/t", **fields)
    assert t.resolution_mm == pytest.approx(resolution_mm)
    assert t.tolerance_mm == tolerance_mm


@pytest.mark.parametrize(
    ("fields", "payload", "moving"),
    [
        ({}, "opening", True),
        ({}, "CLOSING", True),
        ({}, "stopped", False),
        ({}, "idle", None),
        ({"moving_payloads": ["1"], "stopped_payloads": ["0"]}, "1", True),
        ({"moving_payloads": ["1"], "stopped_payloads": ["0"]}, "0", False),
    ],
)
def test_a_moving_state_reads_as_moving_stopped_or_neither(
    fields: dict[str, Any], payload: str, moving: bool | None
) -> None:
    base = {"moving_payloads": ["opening", "closing"], "stopped_payloads": ["stopped"]}
    t = topics(state_topic="b/h", command_topic="b/t", moving_topic="b/m", **(base | fields))
    assert t.decode_moving(payload) is moving


@pytest.mark.parametrize(
    ("payload", "online"), [("online", True), ("ONLINE", True), ("offline", False), ("x", None)]
)
def test_availability_reads_the_configured_payloads(payload: str, online: bool | None) -> None:
    t = topics(state_topic="b/h", command_topic="b/t", availability_topic="b/a")
    assert t.availability(payload) is online
    own = topics(
        state_topic="b/h",
        command_topic="b/t",
        availability_topic="b/a",
        online_payload="up",
        offline_payload="down",
    )
    assert own.availability("up") is True
    assert own.availability("online") is None


# -- steps and recalls -----------------------------------------------------------------------------
def test_a_step_desk_steps_towards_the_aim_and_stops_with_its_stop() -> None:
    t = topics(state_topic="b/h", unit="cm", step_mm=12, **STEPS)
    commander = StepCommander(t)
    assert commander.aim(1003.4, 1) == (Publish("b/cmd", "up", "a step up"), 1003)
    assert commander.aim(700.0, -1)[0] == Publish("b/cmd", "down", "a step down")
    assert commander.stop(None) == Publish("b/cmd", "stop", "a stop")
    assert commander.resolution_mm == 12
    assert t.step_tolerance_mm == 6, "half a press"
    held = topics(
        state_topic="b/h", unit="cm", up=STEPS["up"], down=STEPS["down"], step_repeat_s=0.2
    )
    assert StepCommander(held).stop(1000) is None, "a held button lets go by itself"


def test_a_recall_lands_by_itself_and_known_slots_serve_exact_landings() -> None:
    t = topics(
        state_topic="b/h",
        unit="cm",
        memory=[{"topic": "b/m1"}, {"topic": "b/m2", "payload": "go"}],
        memory_heights={2: "110cm"},
        stop_topic="b/stop",
    )
    assert t.memory == (MemorySlot("b/m1", "PRESS", None), MemorySlot("b/m2", "go", 1100))
    assert t.slot_for(1100) == 2
    assert t.slot_for(1101) == 2, "within the height's resolution"
    assert t.slot_for(1102) is None
    assert t.slot_for(720) is None
    commander = RecallCommander(t, 2)
    assert commander.aim(1100.0, 1) == (Publish("b/m2", "go", "memory 2"), 1100)
    assert commander.stop(1100) is None


# -- stepping: when to press again, and where a press may take the desk ---------------------------
@pytest.mark.parametrize(
    ("previous", "latest", "now_s", "direction", "expected_mm"),
    [
        (None, (900, 1.0), 2.0, 1, 900.0),  # one report: where it was
        ((880, 0.5), (900, 1.0), 1.5, 1, 920.0),  # 40 mm/s for 0.5 s more
        ((880, 0.5), (900, 1.0), 9.0, 1, 940.0),  # at most 1 s ahead
        ((880, 0.5), (900, 1.0), 1.5, -1, 900.0),  # never back against the step's way
        ((899, 0.999), (900, 1.0), 1.5, 1, 950.0),  # two reports at once: at most 100 mm/s
        ((920, 0.5), (900, 1.0), 1.25, -1, 890.0),  # going down
    ],
)
def test_where_the_desk_may_be_now_errs_towards_the_step(
    previous: tuple[int, float] | None,
    latest: tuple[int, float],
    now_s: float,
    direction: int,
    expected_mm: float,
) -> None:
    assert predicted_mm(previous, latest, now_s, direction) == pytest.approx(expected_mm)


def test_a_reading_older_than_its_arrival_is_carried_on_for_its_age_too() -> None:
    assert predicted_mm((880, 0.5), (900, 1.0), 1.5, 1, lag_s=0.1) == pytest.approx(924.0)


@pytest.mark.parametrize(
    ("height_mm", "report_age_s", "press_age_s", "due"),
    [
        (900.0, 0.1, 0.2, True),  # short of the aim, fresh, time to press again
        (900.0, 0.1, 0.1, False),  # pressed just now
        (900.0, 0.9, 0.2, False),  # no report for longer than stale_s: the state is lost
        (980.0, 0.1, 0.2, False),  # at the aim
        (985.0, 0.1, 0.2, False),  # past it
    ],
)
def test_a_held_step_is_pressed_again_only_short_of_the_aim_on_a_fresh_report(
    height_mm: float, report_age_s: float, press_age_s: float, due: bool
) -> None:
    assert (
        repeat_step(
            height_mm=height_mm,
            aim_mm=980,
            direction=1,
            report_age_s=report_age_s,
            press_age_s=press_age_s,
            repeat_s=0.15,
            stale_s=0.8,
        )
        is due
    )


@pytest.mark.parametrize(
    ("height_mm", "direction", "within"),
    [
        (985.0, 1, True),  # reaches 995
        (990.0, 1, True),  # reaches 1000: the limit itself
        (990.5, 1, False),
        (None, 1, False),  # no height known: no step
        (630.0, -1, True),
        (629.0, -1, False),
    ],
)
def test_a_step_implies_a_target_one_press_away(
    height_mm: float | None, direction: int, within: bool
) -> None:
    assert step_within_limits(height_mm, direction, 10.0, 620, 1000) is within


# -- recipes ------------------------------------------------------------------------------------
def test_the_recipes_describe_their_bridges() -> None:
    auto = DeskTopics.from_settings(MqttDeskSettings(preset="autonomous", prefix="ad"))
    assert auto.state_topic == "ad/text_sensor/desk_height/state"
    assert auto.decode("29.5 in") == 749
    assert auto.command_topic == "ad/number/desk_height/command"
    assert auto.encode(749) == "29.5"
    assert auto.up == Button("ad/button/nudge_up/command", "PRESS")
    assert auto.memory[3] == MemorySlot("ad/select/desk_preset/command", "Preset 4")
    assert auto.availability_topic == "ad/status"

    loctek = DeskTopics.from_settings(
        MqttDeskSettings(preset="loctek", prefix="ft", memory_heights={3: "72cm", 4: "110cm"})
    )
    assert loctek.decode("72.0") == 720
    assert loctek.command_topic is None
    assert loctek.up is None
    assert loctek.wake == Button("ft/button/wake_screen/command", "PRESS")
    assert [m.topic.split("/")[2] for m in loctek.memory] == [
        "preset_1",
        "preset_2",
        "sit",
        "stand",
    ]
    assert loctek.slot_for(1100) == 4

    uart = DeskTopics.from_settings(MqttDeskSettings(preset="jiecang-uart", prefix="jc"))
    assert uart.state_topic == "jc/sensor/height/state"
    assert uart.up == Button("jc/button/step_up/command", "PRESS")
    assert uart.memory[0].topic == "jc/button/position_1/command"
    assert uart.stop_topic == "jc/button/stop/command"

    micro = DeskTopics.from_settings(MqttDeskSettings(preset="micropython"))
    base = "homeassistant/sensor/standingdesk"
    assert micro.state_topic == f"{base}/state"
    assert micro.up == Button(f"{base}/set", "up")
    assert [m.payload for m in micro.memory] == ["pos1", "pos2", "pos3"]
    assert micro.availability_topic is None
    assert micro.stop_topic is None
    assert micro.step_repeat_s is not None


def test_a_recipe_key_the_person_writes_wins() -> None:
    t = DeskTopics.from_settings(
        MqttDeskSettings(preset="jiecang-uart", prefix="jc", unit="in", state_topic="x/h")
    )
    assert (t.state_topic, t.unit) == ("x/h", "in")
    assert t.up == Button("jc/button/step_up/command", "PRESS")


# -- settings errors name the key, in one sentence -------------------------------------------
BASE = '[desks.office]\nlink = "mqtt"\n[desks.office.mqtt]\n'


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        (
            'preset = "custom"\nup = { topic = "b/up" }\ndown = { topic = "b/down" }\n'
            'stop_topic = "b/stop"\n',
            "state_topic is missing: a bridge with no height feedback (a relay-only bridge) is "
            "not supported",
        ),
        ('preset = "custom"\nstate_topic = "b/h"\n', "has no way to move"),
        (
            'preset = "custom"\nstate_topic = "b/h"\nup = { topic = "b/up" }\n',
            "up and down go together",
        ),
        (
            'preset = "custom"\nstate_topic = "b/h"\nup = { topic = "b/u" }\n'
            'down = { topic = "b/d" }\n',
            "need step_repeat_s",
        ),
        ('preset = "custom"\nstate_topic = "b/h"\ncommand_topic = "b/t"\nunit = "%"\n', "unit '%'"),
        (
            'preset = "custom"\nstate_topic = "b/h"\ncommand_topic = "b/t"\nscale = 0\n',
            "mqtt.scale",
        ),
        (
            'preset = "custom"\nstate_topic = "b/h"\ncommand_topic = "b/t"\n'
            'up = { topic = "b/#" }\ndown = { topic = "b/d" }\n',
            "mqtt.up.topic",
        ),
        ('preset = "loctek"\nprefix = "ft"\nmemory_heights = { 5 = "72cm" }\n', "slot 5"),
        ('preset = "loctek"\nprefix = "ft"\nmemory_heights = { 1 = "72x" }\n', "memory_heights"),
        (
            'preset = "loctek"\nprefix = "ft"\nmemory_heights = { 1 = "30cm" }\n',
            "memory_heights.1 (300 mm) lies outside the desk's limits",
        ),
        ('preset = "loctek"\n', "needs the desk's prefix"),
        (
            'preset = "micropython"\nmemory_heights = { 1 = "72cm" }\n',
            "memory_heights needs a stop_topic",
        ),
        (
            'preset = "custom"\nstate_topic = "b/h"\ncommand_topic = "b/t"\nstep_mm = -1\n',
            "step_mm",
        ),
        (
            'preset = "custom"\nstate_topic = "b/h"\ncommand_topic = "b/t"\n'
            'moving_payloads = ["opening"]\n',
            "need a moving_topic",
        ),
        ('preset = "relay"\nprefix = "x"\n', "mqtt.preset"),
    ],
)
def test_a_broken_bridge_description_is_one_sentence_naming_the_key(
    tmp_path: Path, toml: str, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("DESKCTL_")]:
        monkeypatch.delenv(key)
    path = tmp_path / "settings.toml"
    path.write_text(BASE + toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert needle in message
    assert "desks.office" in message
    assert "mqtt" in message
    assert "\n" not in message
