"""The Home Assistant entities of one desk, each described once, in one table.

Design: an `Entity` row says everything about one entity: its platform, name and icon, how it
reads the retained `B/D/state` JSON (a value template, and attributes), and how it commands the
desk (the command topic's leaf and the payloads it sends). `deskctl.core.ha.discovery` renders
the rows into the discovery message, in the table's order; `deskctl.core.ha.commands` parses what
they send. Templates render `none` when a value is unknown, which Home Assistant shows as unknown.
Only two things come from elsewhere: the height's range (the desk's limits) and the profile's
options (the profiles on disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from deskctl.core.presence import Mode
from deskctl.core.vocab import Posture, ScheduleState

__all__ = ["ENTITIES", "Entity"]

Platform = Literal["number", "select", "button", "switch", "sensor", "binary_sensor"]


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity; None or empty means the option is left out of the discovery message."""

    key: str  # the component's key and the end of its unique id
    platform: Platform
    name: str
    icon: str | None = None
    device_class: str | None = None
    diagnostic: bool = False  # shown among the device's diagnostics
    unit: str | None = None
    state_class: str | None = None
    height_range: bool = False  # min, max and step in cm from the desk's limits
    options: tuple[str, ...] = ()
    profile_options: bool = False  # the options are the profiles on disk
    command_leaf: str | None = None  # commands go to B/D/<leaf>
    press: str | None = None  # a button's payload
    on_off: bool = False  # payload_on and payload_off are ON and OFF
    bridge_availability_only: bool = False  # available while the bridge is, desk or not
    attributes: str | None = None  # a json_attributes_template on the state
    value: str | None = None  # a value_template on the state


def _switch(key: str, name: str, value: str, icon: str) -> Entity:
    return Entity(
        key, "switch", name, icon, device_class="switch", command_leaf=f"{key}/set",
        on_off=True, value=value,
    )  # fmt: skip


def _button(key: str, name: str, leaf: str, press: str, icon: str) -> Entity:
    return Entity(key, "button", name, icon, command_leaf=leaf, press=press)


ENTITIES = (
    Entity(
        "height", "number", "Height", "mdi:arrow-expand-vertical", device_class="distance",
        unit="cm", height_range=True, command_leaf="height/set",
        value="{{ none if value_json.height_mm is none else value_json.height_mm / 10 }}",
    ),
    Entity(
        "profile", "select", "Profile", "mdi:account-cog", profile_options=True,
        command_leaf="profile/set",
        attributes="{{ {'sit_mm': value_json.sit_mm, 'stand_mm': value_json.stand_mm} | tojson }}",
        value="{{ value_json.profile }}",
    ),
    _button("sit", "Sit", "posture/set", Posture.SIT, "mdi:chair-rolling"),
    _button("stand", "Stand", "posture/set", Posture.STAND, "mdi:human-handsup"),
    _button("stop", "Stop", "action", "stop", "mdi:stop"),
    _button("skip", "Skip next change", "action", "skip", "mdi:skip-next"),
    _button("snooze", "Snooze next change", "action", "snooze", "mdi:alarm-snooze"),
    _button("release", "Release for the phone app", "release", "PRESS", "mdi:cellphone-link"),
    _button("connect", "Connect", "connect", "PRESS", "mdi:bluetooth-connect"),
    _switch(
        "schedule", "Schedule",
        f"{{{{ 'OFF' if value_json.schedule == '{ScheduleState.OFF}' else 'ON' }}}}",
        "mdi:calendar-clock",
    ),
    _switch(
        "inhibit", "Inhibit moves", "{{ 'ON' if value_json.inhibited else 'OFF' }}",
        "mdi:hand-back-left",
    ),
    Entity(
        "posture", "sensor", "Posture", "mdi:human", device_class="enum",
        options=tuple(Posture), value="{{ value_json.posture }}",
    ),
    Entity(
        "next_change", "sensor", "Next change", device_class="timestamp",
        attributes=(
            "{{ {'posture': value_json.next_posture, 'cue': value_json.next_cue,"
            " 'waiting_for': value_json.waiting_for,"
            " 'waiting_until': value_json.waiting_until} | tojson }}"
        ),
        value="{{ value_json.next_change_at }}",
    ),
    Entity(
        "standing_today", "sensor", "Standing today", "mdi:human-handsup",
        device_class="duration", unit="s", state_class="total_increasing",
        value="{{ value_json.standing_today_s }}",
    ),
    Entity(
        "sitting_bout", "sensor", "Sitting bout", "mdi:chair-rolling", device_class="duration",
        unit="s", state_class="measurement", value="{{ value_json.sitting_bout_s }}",
    ),
    Entity(
        "last_cue", "sensor", "Last cue", "mdi:yoga",
        attributes="{{ (value_json.last_cue or {}) | tojson }}",
        value="{{ value_json.last_cue.title if value_json.last_cue else none }}",
    ),
    Entity(
        "moving", "binary_sensor", "Moving", device_class="moving", on_off=True,
        value="{{ 'ON' if value_json.moving else 'OFF' }}",
    ),
    Entity(
        "presence", "binary_sensor", "At the desk", device_class="occupancy", on_off=True,
        bridge_availability_only=True,
        attributes=(
            "{{ {'state': value_json.presence.state, 'source': value_json.presence.source,"
            " 'since': value_json.presence.since, 'reason': value_json.presence.reason}"
            " | tojson if value_json.presence else '{}' }}"
        ),
        value=(
            "{{ none if not value_json.presence or value_json.presence.state == 'unknown'"
            " else ('ON' if value_json.presence.state == 'present' else 'OFF') }}"
        ),
    ),
    Entity(
        "presence_mode", "select", "Presence mode", "mdi:account-question",
        options=tuple(Mode), command_leaf="presence/set",
        value="{{ value_json.presence.mode if value_json.presence else 'auto' }}",
    ),
    Entity(
        "next_meeting", "sensor", "Next meeting hold", "mdi:calendar-account",
        device_class="timestamp",
        attributes=(
            "{{ {'end': value_json.next_meeting.end, 'summary': value_json.next_meeting.summary,"
            " 'calendar_problem': value_json.calendar_problem} | tojson"
            " if value_json.next_meeting else {'calendar_problem': value_json.calendar_problem}"
            " | tojson }}"
        ),
        value="{{ value_json.next_meeting.start if value_json.next_meeting else none }}",
    ),
    Entity(
        "steps_today", "sensor", "Steps today", "mdi:walk", unit="steps",
        state_class="total_increasing",
        attributes=(
            "{{ {'goal': value_json.steps_goal, 'to_go': none if value_json.steps_today is none"
            " else [value_json.steps_goal - value_json.steps_today, 0] | max} | tojson }}"
        ),
        value="{{ value_json.steps_today }}",
    ),
    Entity(
        "connected", "binary_sensor", "Connected", device_class="connectivity", diagnostic=True,
        on_off=True, bridge_availability_only=True,
        value="{{ 'ON' if value_json.connected else 'OFF' }}",
    ),
)  # fmt: skip
