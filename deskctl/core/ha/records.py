"""The record of the desks a bridge published, and what it must clear when one leaves.

Design: each bridge keeps a retained record on `B/bridge/<id>/desks` (`record_payload`): for each
desk, every retained topic it published. `parse_record` reads one back (None if it is not one
deskctl wrote). `topics_to_clear` names what a bridge published for desks it no longer has,
leaving alone what another bridge's record claims now.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from deskctl.core.ha.topics import RESERVED_NAMES, Topics

__all__ = ["parse_record", "record_payload", "topics_to_clear"]


def record_payload(bridge_id: str, retained: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The retained record: for each desk, every retained topic the bridge published for it."""
    return {"bridge_id": bridge_id, "desks": {desk: list(t) for desk, t in retained.items()}}


def parse_record(payload: bytes) -> dict[str, list[str]] | None:
    """A record from the broker, or None if it is empty or not one deskctl wrote."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    desks = data.get("desks") if isinstance(data, dict) else None
    if not isinstance(desks, dict):
        return None
    out: dict[str, list[str]] = {}
    for desk, topics in desks.items():
        if isinstance(topics, list) and all(isinstance(t, str) and t for t in topics):
            out[str(desk)] = list(topics)
    return out


def topics_to_clear(
    topics: Topics,
    published: Mapping[str, Sequence[str]] | None,
    current: Mapping[str, Sequence[str]],
    *,
    claimed: Collection[str] = (),
) -> list[str]:
    """Retained topics this bridge published before and not now (removed desks, moved topics).

    `published` is what this process remembers publishing itself, never what a record on the
    broker says (another service with the same bridge id writes that record too); `claimed`
    are the topics other bridges' records list now (a desk moved to another gateway): those
    stay. Only topics of the shapes the bridge publishes are named, discovery configs first, so Home
    Assistant drops a device before its state goes empty (no template renders an empty state).
    """
    if not published:
        return []
    keep = {topic for retained in current.values() for topic in retained} | set(claimed)
    gone = {topic for retained in published.values() for topic in retained} - keep
    return sorted(
        (t for t in gone if _ours(topics, t)), key=lambda t: (not _is_discovery(topics, t), t)
    )


def _is_discovery(topics: Topics, topic: str) -> bool:
    return topic.startswith(f"{topics.discovery_prefix}/")


def _ours(topics: Topics, topic: str) -> bool:
    if any(c in topic for c in "+#\x00"):
        return False
    levels = topic.split("/")
    if any(not level for level in levels):
        return False
    prefix = topics.discovery_prefix.split("/")
    if levels[: len(prefix)] == prefix:
        rest = levels[len(prefix) :]
        # a device's discovery, or a preset button's (`preset_buttons.py`)
        return len(rest) == 3 and rest[0] in ("device", "button") and rest[2] == "config"
    base = topics.base.split("/")
    if levels[: len(base)] == base:
        rest = levels[len(base) :]
        return (
            len(rest) == 2
            and rest[0] not in RESERVED_NAMES
            and rest[1]
            in (
                "state",
                "availability",
            )
        )
    return False
