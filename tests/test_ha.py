"""The Home Assistant payloads and MQTT command parsing (pure: `deskctl.core.ha`).

The discovery checks follow Home Assistant's MQTT docs (integrations/mqtt: device-based discovery,
origin, availability; and the number, select, button, switch, sensor and binary_sensor pages):
only options those pages list, the required ones present, device classes with the units and state
classes Home Assistant accepts for them, and every value template reading a field the state JSON
really has.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.core.cues import Area, Change, Cue, Kind
from deskctl.core.ha import (
    COMMAND_LEAVES,
    DeskInfo,
    Refusal,
    Request,
    Topics,
    check_desk_name,
    check_request,
    discovery_payload,
    encode,
    event_payload,
    host_bridge_id,
    parse_command,
    parse_record,
    record_payload,
    state_due_in_s,
    state_payload,
    topics_to_clear,
)
from deskctl.core.ha.entities import ENTITIES
from deskctl.core.log_budget import LogBudget
from deskctl.core.presets import preset_name_problem
from deskctl.core.steps import parse_steps
from deskctl.core.units import parse_height_mm
from deskctl.errors import ConfigError

TOPICS = Topics()
PROFILES = ("default", "cornell-20-8-2", "tall")
DESK = DeskInfo("office", 620, 1270, manufacturer="LINAK", model="DPG1C", sw_version="5.2")
AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CUE = Cue(
    id="cat-cow",
    title="Cat-cow at the desk",
    steps=("Hands on the desk.", "Round, then arch, the back."),
    area=Area.LOWER_BACK,
    kind=Kind.MOBILITY,
    duration_s=60,
    suits=frozenset({Change.TO_STAND}),
)
STATUS: dict[str, Any] = {
    "desk": "office",
    "height_mm": 1105,
    "posture": "stand",
    "moving": False,
    "connected": True,
    "profile": "default",
    "sit_mm": 720,
    "stand_mm": 1100,
    "schedule": "running",
    "paused_until": None,
    "held": None,
    "next_change_at": "2026-11-30T10:15:00+01:00",
    "next_posture": "sit",
    "next_cue": {"id": "neck-roll", "title": "Neck roll", "area": "neck", "duration_s": 45},
    "standing_today_s": 900,
    "sitting_bout_s": 0,
    "last_cue": {"id": "cat-cow", "title": "Cat-cow at the desk", "at": "2026-11-30T10:00:00"},
    "steps_today": 5200,
    "steps_goal": 8000,
}

# -- Home Assistant's MQTT docs, as data ----------------------------------------------------------
COMMON = {
    "platform", "unique_id", "name", "availability", "availability_mode", "availability_topic",
    "availability_template", "device", "enabled_by_default", "encoding", "entity_category",
    "entity_picture", "icon", "json_attributes_template", "json_attributes_topic", "object_id",
    "default_entity_id", "qos",
}  # fmt: skip
OPTIONS = {
    "number": {"command_template", "command_topic", "device_class", "min", "max", "mode",
               "optimistic", "payload_reset", "retain", "state_topic", "step",
               "unit_of_measurement", "value_template"},
    "select": {"command_template", "command_topic", "optimistic", "options", "retain",
               "state_topic", "value_template"},
    "button": {"command_template", "command_topic", "device_class", "payload_press", "retain"},
    "switch": {"command_template", "command_topic", "device_class", "optimistic", "payload_off",
               "payload_on", "retain", "state_off", "state_on", "state_topic", "value_template"},
    "sensor": {"device_class", "expire_after", "force_update", "last_reset_value_template",
               "options", "state_class", "state_topic", "suggested_display_precision",
               "unit_of_measurement", "value_template"},
    "binary_sensor": {"device_class", "expire_after", "force_update", "off_delay",
                      "payload_off", "payload_on", "state_topic", "value_template"},
}  # fmt: skip
REQUIRED = {
    "number": {"command_topic"},
    "select": {"command_topic", "options"},
    "button": set(),
    "switch": {"command_topic"},
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
}
DEVICE_CLASSES = {
    "number": {"distance"},  # the ones used here; each is in Home Assistant's list
    "button": {"identify", "restart", "update"},
    "switch": {"outlet", "switch"},
    "sensor": {"duration", "enum", "timestamp"},
    "binary_sensor": {"moving", "connectivity", "occupancy"},
}
UNITS = {"distance": {"km", "m", "cm", "mm", "in", "ft", "yd", "mi"},
         "duration": {"d", "h", "min", "s", "ms", "µs"}}  # fmt: skip
STATE_CLASSES = {
    "duration": {"measurement", "total", "total_increasing"},
    "enum": set(),
    "timestamp": set(),
}
DEVICE_KEYS = {"configuration_url", "connections", "hw_version", "identifiers", "manufacturer",
               "model", "model_id", "name", "serial_number", "suggested_area", "sw_version",
               "via_device"}  # fmt: skip
ID_CHARS = re.compile(r"^[a-zA-Z0-9_-]+$")


def components() -> dict[str, dict[str, Any]]:
    payload = discovery_payload(TOPICS, DESK, PROFILES, sw_version="0.1.0")
    found: dict[str, dict[str, Any]] = payload["components"]
    return found


# -- topics and names -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("topics", "availability", "record"),
    [
        (Topics(), "deskctl/bridge/availability", "deskctl/bridge/desks"),
        (Topics("office/desks"), "office/desks/bridge/availability", "office/desks/bridge/desks"),
        (Topics(bridge_id="room-2"), "deskctl/bridge/room-2/availability",
         "deskctl/bridge/room-2/desks"),
    ],
)  # fmt: skip
def test_bridge_topics_keep_design_names_for_the_default_bridge_and_apart_for_others(
    topics: Topics, availability: str, record: str
) -> None:
    assert topics.bridge_availability == availability
    assert topics.record == record
    assert topics.ha_status == "homeassistant/status"


def test_desk_topics_follow_the_mqtt_contract() -> None:
    assert [TOPICS.desk("office", leaf) for leaf in ("state", "availability", "event")] == [
        "deskctl/office/state",
        "deskctl/office/availability",
        "deskctl/office/event",
    ]
    assert TOPICS.command_filters(["office"]) == [
        "deskctl/office/+/set",
        "deskctl/office/action",
        "deskctl/office/release",
        "deskctl/office/connect",
        "deskctl/all/+/set",
        "deskctl/all/action",
        "deskctl/all/release",
        "deskctl/all/connect",
    ]
    assert TOPICS.discovery("office") == "homeassistant/device/deskctl_office/config"


@pytest.mark.parametrize("name", ["Büro 1", "a.b", "desk_1", "desk.1", "x y"])
def test_odd_desk_names_give_valid_distinct_discovery_ids(name: str) -> None:
    device_id = TOPICS.device_id(name)
    assert ID_CHARS.match(device_id)
    assert device_id != TOPICS.device_id(name + "x")
    assert TOPICS.device_id("desk_1") != TOPICS.device_id("desk.1")


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("", "1 to 64"), ("a/b", "'/'"), ("a+", "'+'"), ("#", "'#'"), ("$sys", "'$'"),
     ("all", "reserved"), ("Bridge", "reserved"), ("x" * 65, "1 to 64")],
)  # fmt: skip
def test_desk_names_that_cannot_be_topics_are_config_errors(name: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        check_desk_name(name)


@pytest.mark.parametrize(
    "kwargs",
    [{"base": ""}, {"base": "a//b"}, {"base": "a/#"}, {"base": "$SYS"},
     {"discovery_prefix": "ha/+"}, {"bridge_id": "room 2"}, {"bridge_id": ""}],
)  # fmt: skip
def test_broken_topic_settings_are_config_errors(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="mqtt: "):
        Topics(**kwargs)


# -- discovery: the device message ----------------------------------------------------------------
def test_discovery_is_one_device_with_origin_and_both_availability_topics() -> None:
    payload = discovery_payload(TOPICS, DESK, PROFILES, sw_version="0.1.0")
    assert set(payload) == {"device", "origin", "availability", "availability_mode", "qos",
                            "components"}  # fmt: skip
    assert payload["device"] == {
        "identifiers": ["deskctl_office"],
        "name": "office",
        "manufacturer": "LINAK",
        "model": "DPG1C",
        "sw_version": "5.2",
    }
    assert set(payload["device"]) <= DEVICE_KEYS
    assert payload["origin"] == {"name": "deskctl", "sw_version": "0.1.0"}
    assert payload["availability"] == [
        {"topic": "deskctl/bridge/availability", "payload_available": "online",
         "payload_not_available": "offline"},
        {"topic": "deskctl/office/availability", "payload_available": "online",
         "payload_not_available": "offline"},
    ]  # fmt: skip
    assert payload["availability_mode"] == "all"
    assert payload["qos"] == 1


def test_device_info_leaves_out_what_the_desk_does_not_report() -> None:
    payload = discovery_payload(TOPICS, DeskInfo("office", 620, 1270), PROFILES, sw_version="1")
    assert payload["device"] == {"identifiers": ["deskctl_office"], "name": "office"}


def test_every_entity_design_md_lists_is_there_once() -> None:
    found = {key: c["platform"] for key, c in components().items()}
    assert found == {
        "height": "number",
        "profile": "select",
        "sit": "button",
        "stand": "button",
        "stop": "button",
        "skip": "button",
        "snooze": "button",
        "release": "button",
        "connect": "button",
        "schedule": "switch",
        "inhibit": "switch",
        "posture": "sensor",
        "next_change": "sensor",
        "standing_today": "sensor",
        "sitting_bout": "sensor",
        "last_cue": "sensor",
        "moving": "binary_sensor",
        "presence": "binary_sensor",
        "presence_mode": "select",
        "next_meeting": "sensor",
        "steps_today": "sensor",
        "connected": "binary_sensor",
    }


@pytest.mark.parametrize("key", sorted(components()))
def test_each_component_uses_only_documented_options_with_the_required_ones(key: str) -> None:
    component = components()[key]
    platform = component["platform"]
    assert set(component) <= COMMON | OPTIONS[platform]
    assert REQUIRED[platform] <= set(component)
    assert component["unique_id"] == f"deskctl_office_{key}"
    assert ID_CHARS.match(component["unique_id"])
    assert isinstance(component["name"], str)
    assert component["name"]
    if "device_class" in component:
        assert component["device_class"] in DEVICE_CLASSES[platform]
        if component["device_class"] in UNITS:
            assert component["unit_of_measurement"] in UNITS[component["device_class"]]
        if component["device_class"] in STATE_CLASSES and "state_class" in component:
            assert component["state_class"] in STATE_CLASSES[component["device_class"]]
        if component["device_class"] == "enum":
            assert "unit_of_measurement" not in component
            assert component["options"]
    if "command_topic" in component:
        assert component["retain"] is False  # a retained command would move the desk again
    if "icon" in component:
        assert component["icon"].startswith("mdi:")


def test_every_command_an_entity_sends_is_understood() -> None:
    """What Home Assistant sends when a person presses, switches, picks or types is a request."""
    sent: list[tuple[str, bytes]] = []
    for component in components().values():
        topic = component.get("command_topic")
        if topic is None:
            continue
        for key in ("payload_press", "payload_on", "payload_off"):
            if key in component:
                sent.append((topic, component[key].encode()))
        if component["platform"] == "number":
            sent.append((topic, b"105.5"))
        if component["platform"] == "select":
            sent += [(topic, option.encode()) for option in component["options"]]
    assert len(sent) == 18  # the presence mode's three options, release and connect among them
    for topic, payload in sent:
        assert isinstance(parse_command(TOPICS, topic, payload, profiles=PROFILES), Request)


def test_the_documented_entities_are_the_table() -> None:
    """docs/home-assistant.md names every entity Home Assistant makes for desk `office`, and no
    other: the entity id is the platform, the device's name and the entity's name, slugged."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "home-assistant.md").read_text()
    table = doc.split("| entity | kind | what it does |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"`(\w+\.office_\w+)`", table))
    made = {e.platform + ".office_" + re.sub(r"\W+", "_", e.name.lower()) for e in ENTITIES}
    assert documented == made


def test_unique_ids_are_unique() -> None:
    ids = [c["unique_id"] for c in components().values()]
    assert len(ids) == len(set(ids))


STATE = "deskctl/office/state"
EXPECTED = {
    "height": {
        "platform": "number", "unique_id": "deskctl_office_height", "name": "Height",
        "device_class": "distance", "unit_of_measurement": "cm", "min": 62.0, "max": 127.0,
        "step": 0.1, "mode": "box", "command_topic": "deskctl/office/height/set",
        "retain": False, "icon": "mdi:arrow-expand-vertical", "state_topic": STATE,
        "value_template":
            "{{ none if value_json.height_mm is none else value_json.height_mm / 10 }}",
    },
    "profile": {
        "platform": "select", "unique_id": "deskctl_office_profile", "name": "Profile",
        "options": list(PROFILES), "command_topic": "deskctl/office/profile/set",
        "retain": False, "icon": "mdi:account-cog", "state_topic": STATE,
        "value_template": "{{ value_json.profile }}", "json_attributes_topic": STATE,
        "json_attributes_template":
            "{{ {'sit_mm': value_json.sit_mm, 'stand_mm': value_json.stand_mm} | tojson }}",
    },
    "sit": {
        "platform": "button", "unique_id": "deskctl_office_sit", "name": "Sit",
        "command_topic": "deskctl/office/posture/set", "payload_press": "sit", "retain": False,
        "icon": "mdi:chair-rolling",
    },
    "stand": {
        "platform": "button", "unique_id": "deskctl_office_stand", "name": "Stand",
        "command_topic": "deskctl/office/posture/set", "payload_press": "stand",
        "retain": False, "icon": "mdi:human-handsup",
    },
    "stop": {
        "platform": "button", "unique_id": "deskctl_office_stop", "name": "Stop",
        "command_topic": "deskctl/office/action", "payload_press": "stop", "retain": False,
        "icon": "mdi:stop",
    },
    "skip": {
        "platform": "button", "unique_id": "deskctl_office_skip", "name": "Skip next change",
        "command_topic": "deskctl/office/action", "payload_press": "skip", "retain": False,
        "icon": "mdi:skip-next",
    },
    "snooze": {
        "platform": "button", "unique_id": "deskctl_office_snooze",
        "name": "Snooze next change", "command_topic": "deskctl/office/action",
        "payload_press": "snooze", "retain": False, "icon": "mdi:alarm-snooze",
    },
    "schedule": {
        "platform": "switch", "unique_id": "deskctl_office_schedule", "name": "Schedule",
        "device_class": "switch", "command_topic": "deskctl/office/schedule/set",
        "payload_on": "ON", "payload_off": "OFF", "retain": False,
        "icon": "mdi:calendar-clock", "state_topic": STATE,
        "value_template": "{{ 'OFF' if value_json.schedule == 'off' else 'ON' }}",
    },
    "inhibit": {
        "platform": "switch", "unique_id": "deskctl_office_inhibit", "name": "Inhibit moves",
        "device_class": "switch", "command_topic": "deskctl/office/inhibit/set",
        "payload_on": "ON", "payload_off": "OFF", "retain": False,
        "icon": "mdi:hand-back-left", "state_topic": STATE,
        "value_template": "{{ 'ON' if value_json.inhibited else 'OFF' }}",
    },
    "posture": {
        "platform": "sensor", "unique_id": "deskctl_office_posture", "name": "Posture",
        "device_class": "enum", "options": ["sit", "stand", "away"], "icon": "mdi:human",
        "state_topic": STATE, "value_template": "{{ value_json.posture }}",
    },
    "next_change": {
        "platform": "sensor", "unique_id": "deskctl_office_next_change", "name": "Next change",
        "device_class": "timestamp", "json_attributes_topic": STATE,
        "json_attributes_template":
            "{{ {'posture': value_json.next_posture, 'cue': value_json.next_cue, 'waiting_for':"
            " value_json.waiting_for, 'waiting_until': value_json.waiting_until} | tojson }}",
        "state_topic": STATE, "value_template": "{{ value_json.next_change_at }}",
    },
    "standing_today": {
        "platform": "sensor", "unique_id": "deskctl_office_standing_today",
        "name": "Standing today", "device_class": "duration", "unit_of_measurement": "s",
        "state_class": "total_increasing", "icon": "mdi:human-handsup", "state_topic": STATE,
        "value_template": "{{ value_json.standing_today_s }}",
    },
    "sitting_bout": {
        "platform": "sensor", "unique_id": "deskctl_office_sitting_bout", "name": "Sitting bout",
        "device_class": "duration", "unit_of_measurement": "s", "state_class": "measurement",
        "icon": "mdi:chair-rolling", "state_topic": STATE,
        "value_template": "{{ value_json.sitting_bout_s }}",
    },
    "last_cue": {
        "platform": "sensor", "unique_id": "deskctl_office_last_cue", "name": "Last cue",
        "icon": "mdi:yoga", "json_attributes_topic": STATE,
        "json_attributes_template": "{{ (value_json.last_cue or {}) | tojson }}",
        "state_topic": STATE,
        "value_template": "{{ value_json.last_cue.title if value_json.last_cue else none }}",
    },
    "moving": {
        "platform": "binary_sensor", "unique_id": "deskctl_office_moving", "name": "Moving",
        "device_class": "moving", "payload_on": "ON", "payload_off": "OFF",
        "state_topic": STATE, "value_template": "{{ 'ON' if value_json.moving else 'OFF' }}",
    },
    "steps_today": {
        "platform": "sensor", "unique_id": "deskctl_office_steps_today", "name": "Steps today",
        "unit_of_measurement": "steps", "state_class": "total_increasing", "icon": "mdi:walk",
        "json_attributes_topic": STATE,
        "json_attributes_template":
            "{{ {'goal': value_json.steps_goal, 'to_go': none if value_json.steps_today is none"
            " else [value_json.steps_goal - value_json.steps_today, 0] | max} | tojson }}",
        "state_topic": STATE, "value_template": "{{ value_json.steps_today }}",
    },
    "connected": {
        "platform": "binary_sensor", "unique_id": "deskctl_office_connected",
        "name": "Connected", "device_class": "connectivity", "entity_category": "diagnostic",
        "payload_on": "ON", "payload_off": "OFF",
        "availability": [{"topic": "deskctl/bridge/availability",
                          "payload_available": "online", "payload_not_available": "offline"}],
        "availability_mode": "all", "state_topic": STATE,
        "value_template": "{{ 'ON' if value_json.connected else 'OFF' }}",
    },
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_each_entity_payload_field_by_field(key: str) -> None:
    assert components()[key] == EXPECTED[key]


def test_the_height_range_comes_from_the_desks_limits() -> None:
    desk = DeskInfo("office", 655, 1180)
    height = discovery_payload(TOPICS, desk, PROFILES, sw_version="1")["components"]["height"]
    assert (height["min"], height["max"]) == (65.5, 118.0)


def test_templates_read_only_fields_the_state_json_has() -> None:
    state = state_payload(STATUS, inhibited=False)
    for key, component in components().items():
        for option in ("value_template", "json_attributes_template"):
            for used in re.findall(r"value_json\.(\w+)", component.get(option, "")):
                assert used in state, f"{key}.{option} reads {used}"


def test_discovery_is_json_and_retains_non_ascii_names() -> None:
    payload = discovery_payload(TOPICS, DeskInfo("Büro", 620, 1270), PROFILES, sw_version="1")
    assert json.loads(encode(payload))["device"]["name"] == "Büro"


# -- state and events -----------------------------------------------------------------------------
def test_state_json_has_the_contract_fields_and_what_the_entities_need() -> None:
    state = state_payload({**STATUS, "extra": 1}, inhibited=True)
    assert state == {
        "height_mm": 1105,
        "posture": "stand",
        "moving": False,
        "profile": "default",
        "sit_mm": 720,
        "stand_mm": 1100,
        "schedule": "running",
        "next_change_at": "2026-11-30T10:15:00+01:00",
        "next_posture": "sit",
        "next_cue": STATUS["next_cue"],
        "standing_today_s": 900,
        "sitting_bout_s": 0,
        "inhibited": True,
        "connected": True,
        "held": None,
        "paused_until": None,
        "waiting_for": None,
        "waiting_until": None,
        "last_cue": STATUS["last_cue"],
        "presence": None,
        "next_meeting": None,
        "calendar_problem": None,
        "released_until": None,
        "steps_today": 5200,
        "steps_goal": 8000,
    }


def test_an_unknown_desk_state_is_null_not_missing() -> None:
    state = state_payload({"moving": False}, inhibited=False)
    assert state["height_mm"] is None
    assert state["posture"] is None
    assert state["connected"] is False


def test_a_cue_event_carries_id_title_steps_area_and_duration() -> None:
    event = event_payload("office", AT, "cue", {"cue": CUE, "change": "to_stand"})
    assert event == {
        "type": "cue",
        "desk": "office",
        "at": "2026-11-30T10:00:00+00:00",
        "id": "cat-cow",
        "title": "Cat-cow at the desk",
        "steps": ["Hands on the desk.", "Round, then arch, the back."],
        "area": "lower_back",
        "kind": "mobility",
        "duration_s": 60,
        "suits": ["to_stand"],
        "change": "to_stand",
    }


@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        ("warning", {"posture": "stand", "height_mm": 1100, "start": "x", "cue": CUE,
                     "move_at": "2026-11-30T10:00:30+00:00"},
         {"posture": "stand", "height_mm": 1100, "start": "x",
          "cue": CUE.to_full_json(), "move_at": "2026-11-30T10:00:30+00:00"}),
        ("move_started", {"target_mm": 1100, "scheduled": True},
         {"target_mm": 1100, "scheduled": True}),
        ("arrived", {"height_mm": 1100}, {"height_mm": 1100}),
        ("manual_move", {"height_mm": 900, "ended": True}, {"height_mm": 900, "ended": True}),
        ("obstruction", {"height_mm": 880, "reason": "stopped short"},
         {"height_mm": 880, "reason": "stopped short"}),
        ("error", {"reason": "the desk is not connected"},
         {"reason": "the desk is not connected"}),
        ("held", {"reason": "stopped short"}, {"reason": "stopped short"}),
    ],
)  # fmt: skip
def test_events_carry_their_fields(kind: str, fields: dict[str, Any], expected: Any) -> None:
    event = event_payload("office", AT, kind, fields)
    assert event == {"type": kind, "desk": "office", "at": AT.isoformat(), **expected}
    assert json.loads(encode(event)) == event


@pytest.mark.parametrize("kind", ["posture", "connection", "something_new"])
def test_state_changes_are_not_events(kind: str) -> None:
    assert event_payload("office", AT, kind, {"posture": "sit"}) is None


def test_a_field_cannot_overwrite_the_events_type_or_desk() -> None:
    event = event_payload("office", AT, "error", {"type": "x", "desk": "y", "reason": "r"})
    assert event is not None
    assert (event["type"], event["desk"]) == ("error", "office")


def test_encode_turns_anything_into_json() -> None:
    assert json.loads(encode({"when": AT, "cue": CUE, "area": Area.NECK, "odd": object})) == {
        "when": AT.isoformat(),
        "cue": CUE.to_full_json(),
        "area": "neck",
        "odd": str(object),
    }


@pytest.mark.parametrize(
    ("moving", "since_last_s", "due_s"),
    [(False, 0.1, 0.0), (False, None, 0.0), (True, None, 0.0), (True, 0.1, 0.4),
     (True, 0.5, 0.0), (True, 3.0, 0.0)],
)  # fmt: skip
def test_state_is_rate_limited_only_while_moving(
    moving: bool, since_last_s: float | None, due_s: float
) -> None:
    assert state_due_in_s(moving=moving, since_last_s=since_last_s, interval_s=0.5) == (
        pytest.approx(due_s)
    )


# -- commands -------------------------------------------------------------------------------------
def parse(topic: str, payload: bytes, *, retained: bool = False) -> Request | Refusal | None:
    return parse_command(TOPICS, topic, payload, profiles=PROFILES, retained=retained)


@pytest.mark.parametrize(
    ("topic", "payload", "command", "args"),
    [
        ("deskctl/office/height/set", b"72", "move", {"height": "720mm", "height_mm": 720}),
        ("deskctl/office/height/set", b"72.5", "move", {"height": "725mm", "height_mm": 725}),
        ("deskctl/office/height/set", b"1100mm", "move", {"height": "1100mm", "height_mm": 1100}),
        ("deskctl/office/height/set", b" 28.3in\n", "move", {"height": "719mm", "height_mm": 719}),
        ("deskctl/office/posture/set", b"sit", "sit", {}),
        ("deskctl/office/posture/set", b"STAND", "stand", {}),
        ("deskctl/office/profile/set", b"tall", "profile_use", {"name": "tall"}),
        ("deskctl/office/schedule/set", b"ON", "schedule", {"on": True}),
        ("deskctl/office/schedule/set", b"off", "schedule", {"on": False}),
        ("deskctl/office/inhibit/set", b"ON", "inhibit", {"on": True}),
        ("deskctl/office/inhibit/set", b"OFF", "inhibit", {"on": False}),
        ("deskctl/office/action", b"stop", "stop", {}),
        ("deskctl/office/action", b"skip", "skip", {}),
        ("deskctl/office/action", b"snooze", "snooze", {}),
        ("deskctl/office/action", b"snooze 15m", "snooze", {"for": "900s"}),
        ("deskctl/office/action", b"pause", "pause", {}),
        ("deskctl/office/action", b"pause 1h30m", "pause", {"for": "5400s"}),
        ("deskctl/office/action", b"pause 48h", "pause", {"for": "172800s"}),
        ("deskctl/office/action", b"resume", "resume", {}),
        ("deskctl/office/action", b"confirm", "confirm", {}),
        ("deskctl/office/presence/set", b"away", "presence", {"mode": "away"}),
        ("deskctl/office/presence/set", b" Present\n", "presence", {"mode": "present"}),
        ("deskctl/office/presence/set", b"AUTO", "presence", {"mode": "auto"}),
        ("deskctl/office/steps/set", b"5200", "steps", {"count": 5200}),
        ("deskctl/office/steps/set", b" 5200.0\n", "steps", {"count": 5200}),
        ("deskctl/office/steps/set", b"0", "steps", {"count": 0}),
    ],
)  # fmt: skip
def test_every_command_topic_and_payload(
    topic: str, payload: bytes, command: str, args: dict[str, Any]
) -> None:
    assert parse(topic, payload) == Request("office", command, args, topic)


def test_all_reaches_every_desk() -> None:
    request = parse("deskctl/all/posture/set", b"stand")
    assert request == Request(None, "stand", {}, "deskctl/all/posture/set")


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("deskctl/office/height/set", b"tall", "'tall' is not a height"),
        ("deskctl/office/height/set", b"72 furlongs", "'furlongs' is not a unit of height"),
        ("deskctl/office/height/set", b"0", "is not a height above the floor"),
        ("deskctl/office/height/set", b"9" * 80, "a height is a number"),
        ("deskctl/office/height/set", b"", "the payload is empty"),
        ("deskctl/office/height/set", b"\xff\xfe", "not UTF-8"),
        ("deskctl/office/height/set", b"72\x00", "control characters"),
        ("deskctl/office/height/set", b"7" * 300, "too long (300 bytes)"),
        ("deskctl/office/posture/set", b"away", "'away' is not a posture to move to"),
        ("deskctl/office/posture/set", b"lie down", "send sit or stand"),
        ("deskctl/office/profile/set", b"nope", "there is no profile 'nope'; the known ones "
                                                "are cornell-20-8-2, default, tall"),
        ("deskctl/office/profile/set", b"../etc", "there is no profile"),
        ("deskctl/office/schedule/set", b"maybe", "'maybe' is not a switch state; send ON or OFF"),
        ("deskctl/office/inhibit/set", b"1", "send ON or OFF"),
        ("deskctl/office/presence/set", b"home", "'home' is not a presence mode; send present, "
                                                 "away or auto"),
        ("deskctl/office/steps/set", b"lots", "'lots' is not a step count; send a whole number"),
        ("deskctl/office/steps/set", b"-40", "'-40' is not a step count"),
        ("deskctl/office/steps/set", b"5,200", "'5,200' is ambiguous"),
        ("deskctl/office/steps/set", b"999999", "more steps than a day holds"),
        ("deskctl/office/action", b"dance", "'dance' is not an action; send one of stop, "
                                            "skip, snooze, pause, resume, confirm"),
        ("deskctl/office/action", b"stop now", "the action stop takes nothing after it"),
        ("deskctl/office/action", b"pause forever", "is not a duration"),
        ("deskctl/office/action", b"snooze 3d", "is not a duration"),
        ("deskctl/office/action", b"pause 721h", "a pause lasts from 1 second to 30 days"),
        ("deskctl/office/fly/set", b"ON", "'fly/set' is not a command topic"),
    ],
)  # fmt: skip
def test_commands_that_cannot_be_done_say_why(topic: str, payload: bytes, reason: str) -> None:
    refusal = parse(topic, payload)
    assert isinstance(refusal, Refusal)
    assert reason in refusal.reason
    assert refusal.target == "office"
    assert refusal.topic == topic


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("deskctl/office/posture/set", b"stand"),
        ("deskctl/office/presence/set", b"away"),
        ("deskctl/office/steps/set", b"5200"),
    ],
)
def test_a_retained_command_is_refused(topic: str, payload: bytes) -> None:
    """A retained presence would say away (or present) again at every reconnect, long after the
    room sensor changed its mind: refused and cleared like every command."""
    refusal = parse(topic, payload, retained=True)
    assert isinstance(refusal, Refusal)
    assert "retained command is refused" in refusal.reason
    assert refusal.retained, "the bridge clears it from the broker"


@pytest.mark.parametrize(
    "topic",
    ["deskctl/office/state", "deskctl/office/event", "deskctl/office/availability",
     "deskctl/bridge/availability", "deskctl/bridge/x/set", "other/office/height/set",
     "deskctl/office", "homeassistant/status"],
)  # fmt: skip
def test_topics_without_commands_are_not_read_as_commands(topic: str) -> None:
    assert parse(topic, b"stand") is None


ALL_COMMAND_TOPICS = [TOPICS.desk(target, leaf) for target in ("office", "all")
                      for leaf in COMMAND_LEAVES]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(topic=st.sampled_from(ALL_COMMAND_TOPICS), payload=st.binary(max_size=300),
       retained=st.booleans())  # fmt: skip
def test_any_bytes_on_any_command_topic_give_a_request_or_a_one_line_refusal(
    topic: str, payload: bytes, retained: bool
) -> None:
    result = parse(topic, payload, retained=retained)
    assert isinstance(result, Request | Refusal)
    if isinstance(result, Refusal):
        assert result.reason
        assert "\n" not in result.reason
        assert result.topic == topic
        return
    assert not retained
    text = payload.decode("utf-8").strip()  # a request came from readable text
    leaf = topic.split("/", 2)[2]
    if leaf == "height/set":
        assert result.height_mm == parse_height_mm(text) > 0
    elif leaf == "posture/set":
        assert text.lower() in ("sit", "stand")
    elif leaf == "profile/set":
        assert text in PROFILES
    elif leaf in ("schedule/set", "inhibit/set"):
        assert text.lower() in ("on", "off", "true", "false")
    elif leaf == "preset/set":
        assert preset_name_problem(text) is None
        assert result.args == {"preset": text}
    elif leaf == "release":
        assert result.command == "release"
    elif leaf == "connect":
        assert text.lower() in ("press", "connect")
    elif leaf == "steps/set":
        assert result.args == {"count": parse_steps(text)}
    else:
        assert text.lower().split()[0] in ("stop", "skip", "snooze", "pause", "resume", "confirm")


WORDS = {
    "posture/set": {"sit", "stand"},
    "schedule/set": {"on", "off", "true", "false"},
    "inhibit/set": {"on", "off", "true", "false"},
    "action": {"stop", "skip", "snooze", "pause", "resume", "confirm"},
}


@settings(max_examples=400, deadline=None)
@given(
    leaf=st.sampled_from(sorted(WORDS)),
    text=st.one_of(
        st.text(max_size=20),
        st.sampled_from(sorted(set().union(*WORDS.values())))
        .map(lambda w: st.sampled_from([w, w.upper(), f" {w}\t", f"{w}!", f"x{w}"]))
        .flatmap(lambda s: s),
    ),
)
def test_word_commands_are_exactly_their_words(leaf: str, text: str) -> None:
    """Only the command's own words (any case, any surrounding space) make a request."""
    result = parse(TOPICS.desk("office", leaf), text.encode("utf-8", "surrogatepass"))
    valid = text.strip().lower() in WORDS[leaf]
    assert isinstance(result, Request) == valid


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=30))
def test_only_a_known_profile_name_selects_a_profile(text: str) -> None:
    result = parse("deskctl/office/profile/set", text.encode("utf-8", "surrogatepass"))
    assert isinstance(result, Request) == (text.strip() in PROFILES)


# -- the checks that depend on the desk now -------------------------------------------------------
def check(request: Request, **changes: Any) -> Refusal | None:
    inhibited = bool(changes.pop("inhibited", False))
    return check_request(
        request,
        {**STATUS, **changes},
        min_mm=620,
        max_mm=1270,
        sit_mm=720,
        stand_mm=1100,
        inhibited=inhibited,
    )


MOVE_1300 = Request("office", "move", {"height": "1300mm", "height_mm": 1300})
STAND = Request("office", "stand")


@pytest.mark.parametrize(
    ("request_", "changes", "reason"),
    [
        (MOVE_1300, {}, "130.0 cm is above this desk's highest allowed height of 127.0 cm"),
        (Request("office", "move", {"height_mm": 500}), {}, "below this desk's lowest"),
        (STAND, {"connected": False}, "desk 'office' is not connected"),
        (STAND, {"inhibited": True}, "desk 'office' is inhibited: turn inhibit OFF"),
        (STAND, {"inhibited": True, "schedule": "paused"}, "is inhibited"),
        (STAND, {"schedule": "inhibited"}, "is inhibited"),
        (STAND, {"schedule": "inhibited", "held": "the desk stopped short"},
         "on hold after the desk stopped short; send resume"),
    ],
)  # fmt: skip
def test_a_move_that_may_not_happen_now_is_refused(
    request_: Request, changes: dict[str, Any], reason: str
) -> None:
    refusal = check(request_, **changes)
    assert refusal is not None
    assert reason in refusal.reason


@pytest.mark.parametrize(
    ("request_", "changes"),
    [
        (STAND, {}),
        (Request("office", "sit"), {"schedule": "paused"}),
        (Request("office", "move", {"height_mm": 1270}), {"schedule": "off_hours"}),
        (Request("office", "inhibit", {"on": False}), {"inhibited": True}),
        (Request("office", "stop"), {"inhibited": True, "connected": False}),
        (Request("office", "skip"), {"schedule": "inhibited"}),
    ],
)  # fmt: skip
def test_what_may_happen_passes(request_: Request, changes: dict[str, Any]) -> None:
    assert check(request_, **changes) is None


def test_sit_and_stand_are_checked_at_the_profiles_heights() -> None:
    refusal = check_request(
        STAND, STATUS, min_mm=620, max_mm=1000, sit_mm=720, stand_mm=1100, inhibited=False
    )
    assert refusal is not None
    assert "110.0 cm is above" in refusal.reason


# -- the record of published desks ----------------------------------------------------------------
def test_a_desk_that_left_the_settings_gets_its_retained_topics_cleared() -> None:
    old = parse_record(
        encode(record_payload("default", {d: TOPICS.retained(d) for d in ("office", "lab")}))
    )
    now = {"office": TOPICS.retained("office")}
    assert topics_to_clear(TOPICS, old, now) == [  # the discovery first: no empty state shown
        "homeassistant/device/deskctl_lab/config",
        "deskctl/lab/availability",
        "deskctl/lab/state",
    ]


def test_topics_outside_this_bridges_prefix_and_base_are_left_alone() -> None:
    # after discovery_prefix changed from "ha", Home Assistant no longer reads the old message
    old = {"office": Topics(discovery_prefix="ha").retained("office")}
    now = {"office": TOPICS.retained("office")}
    assert topics_to_clear(TOPICS, old, now) == []


def test_a_record_can_never_clear_foreign_or_wildcard_topics() -> None:
    old = {"x": ["deskctl/bridge/availability", "deskctl/#", "zigbee2mqtt/lamp",
                 "homeassistant/light/lamp/config", "deskctl/office/height/set",
                 "deskctl/gone/state", "homeassistant/device/deskctl_gone/config", ""]}  # fmt: skip
    assert topics_to_clear(TOPICS, old, {}) == [
        "homeassistant/device/deskctl_gone/config",
        "deskctl/gone/state",
    ]


@pytest.mark.parametrize(
    "payload", [b"", b"\xff", b"[]", b"{}", b'{"desks": 1}', b"[" * 5000, b'{"desks": {"a": 2}}']
)
def test_a_broken_record_reads_as_none_or_empty(payload: bytes) -> None:
    assert not parse_record(payload)


# -- the log budget -------------------------------------------------------------------------------
def test_the_log_takes_a_few_lines_per_interval_and_counts_the_rest() -> None:
    budget = LogBudget(burst=2, interval_s=60.0)
    assert [budget.take(t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, False, False]
    assert budget.report_at() == 60.0
    assert budget.overdue(59.0) == 0
    assert budget.overdue(60.0) == 2
    assert budget.overdue(61.0) == 0
    assert [budget.take(t) for t in (61.0, 62.0, 63.0, 64.0)] == [True, True, False, False]
    assert budget.overdue(70.0, at_end=True) == 2
    assert budget.report_at() is None


# -- the default bridge id ------------------------------------------------------------------------
def test_the_default_bridge_id_is_stable_and_differs_per_host_and_user() -> None:
    pi = host_bridge_id("raspberrypi", "pi", "a1")
    assert pi == host_bridge_id("raspberrypi", "pi", "a1")  # the same at every start
    assert pi.startswith("raspberrypi-pi-")
    others = {host_bridge_id("raspberrypi", "pi", "b2"), host_bridge_id("raspberrypi", "ann", "a1"),
              host_bridge_id("gw.office.example", "pi", "a1")}  # fmt: skip
    assert pi not in others
    assert len(others) == 3
    for host, user in [("gw.office.example", "pi"), ("Büro PC", "jürgen"), ("x" * 200, "y" * 200),
                       ("", "")]:  # fmt: skip
        Topics(bridge_id=host_bridge_id(host, user))  # a valid id, whatever the names


def test_a_desk_another_bridge_lists_now_is_never_cleared() -> None:
    published = {d: TOPICS.retained(d) for d in ("office", "lab")}
    claimed = TOPICS.retained("lab")  # the desk moved to another gateway, which publishes it
    assert topics_to_clear(TOPICS, published, {"office": TOPICS.retained("office")},
                           claimed=claimed) == []  # fmt: skip
    assert topics_to_clear(TOPICS, None, {}) == []  # nothing remembered: nothing cleared
