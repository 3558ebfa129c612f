"""Home Assistant's device-based discovery of one desk, rendered from the table of entities.

Design: one retained message per desk on `<prefix>/device/<id>/config` (see Home Assistant's MQTT
docs): the device, the origin, both availability topics (the bridge's and the desk's) with
`availability_mode: all`, and one component per row of `deskctl.core.ha.entities.ENTITIES`, in
the table's order. Each component's options always come in one order (`_component`), so the
message is the same bytes for the same desk, profiles and version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deskctl.core.ha.entities import ENTITIES, Entity
from deskctl.core.ha.topics import OFFLINE, ONLINE, Topics

__all__ = ["DeskInfo", "discovery_payload"]


@dataclass(frozen=True, slots=True)
class DeskInfo:
    """What Home Assistant's device registry shows about one desk."""

    name: str
    min_mm: int
    max_mm: int
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None


def discovery_payload(
    topics: Topics, desk: DeskInfo, profiles: Sequence[str], *, sw_version: str
) -> dict[str, Any]:
    """The retained device-based discovery message for one desk (see Home Assistant's docs)."""
    name = desk.name
    device: dict[str, Any] = {"identifiers": [topics.device_id(name)], "name": name}
    for key in ("manufacturer", "model", "sw_version", "hw_version"):
        value = getattr(desk, key)
        if value:
            device[key] = value
    return {
        "device": device,
        "origin": {"name": "deskctl", "sw_version": sw_version},
        "availability": [
            _availability(topics.bridge_availability),
            _availability(topics.desk(name, "availability")),
        ],
        "availability_mode": "all",
        "qos": 1,
        "components": {e.key: _component(e, topics, desk, profiles) for e in ENTITIES},
    }


def _component(
    entity: Entity, topics: Topics, desk: DeskInfo, profiles: Sequence[str]
) -> dict[str, Any]:
    name = desk.name
    state = topics.desk(name, "state")
    out: dict[str, Any] = {
        "platform": entity.platform,
        "unique_id": f"{topics.device_id(name)}_{entity.key}",
        "name": entity.name,
    }
    optional: list[tuple[str, Any]] = [
        ("device_class", entity.device_class),
        ("entity_category", "diagnostic" if entity.diagnostic else None),
        ("unit_of_measurement", entity.unit),
        ("state_class", entity.state_class),
    ]
    if entity.height_range:
        optional += [("min", desk.min_mm / 10), ("max", desk.max_mm / 10)]
        optional += [("step", 0.1), ("mode", "box")]
    if entity.profile_options:
        optional.append(("options", list(profiles)))
    elif entity.options:
        optional.append(("options", list(entity.options)))
    if entity.command_leaf is not None:
        optional.append(("command_topic", topics.desk(name, entity.command_leaf)))
    optional.append(("payload_press", entity.press))
    if entity.on_off:
        optional += [("payload_on", "ON"), ("payload_off", "OFF")]
    if entity.command_leaf is not None:
        optional.append(("retain", False))
    optional.append(("icon", entity.icon))
    if entity.bridge_availability_only:  # the desk's own availability is what it shows
        optional.append(("availability", [_availability(topics.bridge_availability)]))
        optional.append(("availability_mode", "all"))
    if entity.attributes is not None:
        optional += [
            ("json_attributes_topic", state),
            ("json_attributes_template", entity.attributes),
        ]
    if entity.value is not None:
        optional += [("state_topic", state), ("value_template", entity.value)]
    out.update((key, value) for key, value in optional if value is not None)
    return out


def _availability(topic: str) -> dict[str, str]:
    return {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
