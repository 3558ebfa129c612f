"""Home Assistant buttons for a desk's presets: one retained discovery topic each.

Design: a desk's presets change with its settings, so their buttons are not rows of the fixed
entity table (`entities.py`) but one entity-based discovery message each, on
`<prefix>/button/<device id>_preset_<name>/config`, joined to the desk's device by its
identifier. Each such topic is listed among the desk's retained topics (`desk_retained`), so the
bridge's record names it, and when a preset leaves the settings its button is cleared the way a
removed desk's topics are (`records.topics_to_clear`: an empty retained message), and Home
Assistant removes the entity. Pressing one sends the preset's name to `B/D/preset/set`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deskctl.core.ha.topics import OFFLINE, ONLINE, Topics
from deskctl.core.units import format_height

__all__ = ["PRESET_LEAF", "desk_retained", "preset_button_payload", "preset_discovery"]

PRESET_LEAF = "preset/set"


def preset_discovery(topics: Topics, desk: str, preset: str) -> str:
    """The retained discovery topic of one preset's button."""
    return f"{topics.discovery_prefix}/button/{topics.device_id(desk)}_preset_{preset}/config"


def desk_retained(topics: Topics, desk: str, presets: Sequence[str]) -> list[str]:
    """Every retained topic of `desk`: the fixed ones and one per preset button."""
    return [*topics.retained(desk), *(preset_discovery(topics, desk, p) for p in presets)]


def preset_button_payload(
    topics: Topics, desk: str, preset: str, height_mm: int, *, sw_version: str
) -> dict[str, Any]:
    """The discovery message of the button that moves `desk` to `preset` (`height_mm`)."""
    device_id = topics.device_id(desk)
    return {
        "unique_id": f"{device_id}_preset_{preset}",
        "name": f"Preset {preset} ({format_height(height_mm)})",
        "device": {"identifiers": [device_id]},
        "origin": {"name": "deskctl", "sw_version": sw_version},
        "availability": [
            _availability(topics.bridge_availability),
            _availability(topics.desk(desk, "availability")),
        ],
        "availability_mode": "all",
        "command_topic": topics.desk(desk, PRESET_LEAF),
        "payload_press": preset,
        "retain": False,
        "qos": 1,
        "icon": "mdi:bookmark-outline",
    }


def _availability(topic: str) -> dict[str, str]:
    return {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}
