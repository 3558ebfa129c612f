"""An ESPHome-style MQTT desk's topics and payloads, as pure code (no IO, like `core/linak.py`).

Design: `DeskTopics` turns a desk's settings (anything shaped like `DeskTopicSettings`, which
`MqttDeskSettings` is) into topics and a payload codec: the height's state topic and unit (in, cm,
mm, or a cover's 0..100 position between two heights, optionally inside a JSON object), the command
topic that takes a target, the stop message and the availability topic (`<prefix>/status`,
`online`/`offline`, retained, as ESPHome publishes it). `resolution_mm` is one step of the height
as the payload carries it, and `tolerance_mm` how close a landing must be (configured, or the whole
mm within one step: 2 mm for 0.1 in, 1 mm for 0.1 cm, 6 mm for one percent of 620..1270 mm).
`MoveToCommander` tells `core/landing.py` how such a desk is commanded towards an aim: a target on
the command topic, and the stop message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal, Protocol

from deskctl.core.units import MM_PER_UNIT
from deskctl.errors import ConfigError

__all__ = ["DeskTopicSettings", "DeskTopics", "MoveToCommander", "Publish"]

_DEFAULT_DECIMALS = {"in": 1, "cm": 1, "mm": 0}


class DeskTopicSettings(Protocol):
    """What `DeskTopics.from_settings` reads (the fields of `MqttDeskSettings`)."""

    @property
    def preset(self) -> Literal["upsy", "cover", "custom"]: ...
    @property
    def prefix(self) -> str | None: ...
    @property
    def cover_id(self) -> str: ...
    @property
    def state_topic(self) -> str | None: ...
    @property
    def command_topic(self) -> str | None: ...
    @property
    def availability_topic(self) -> str | None: ...
    @property
    def stop_topic(self) -> str | None: ...
    @property
    def stop_payload(self) -> str | None: ...
    @property
    def unit(self) -> Literal["in", "cm", "mm"] | None: ...
    @property
    def decimals(self) -> int | None: ...
    @property
    def json_key(self) -> str | None: ...
    @property
    def cover_min_mm(self) -> int | None: ...
    @property
    def cover_max_mm(self) -> int | None: ...
    @property
    def tolerance_mm(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class DeskTopics:
    """Where a desk publishes and listens, and how its payloads carry a height."""

    state_topic: str
    command_topic: str
    availability_topic: str | None
    stop_topic: str | None  # None: stop by writing the last height back to command_topic
    stop_payload: str
    unit: str | None  # in, cm or mm; None when the payload is a cover's position
    decimals: int
    json_key: str | None = None
    cover_range_mm: tuple[int, int] | None = None
    tolerance: int | None = None

    @classmethod
    def from_settings(cls, desk: DeskTopicSettings) -> DeskTopics:
        prefix = desk.prefix
        availability = desk.availability_topic or (f"{prefix}/status" if prefix else None)
        if desk.preset == "cover":
            base = f"{prefix}/cover/{desk.cover_id}"
            if desk.cover_min_mm is None or desk.cover_max_mm is None:
                raise ConfigError("preset 'cover' needs cover_min_mm and cover_max_mm")
            return cls(
                state_topic=desk.state_topic or f"{base}/position/state",
                command_topic=desk.command_topic or f"{base}/position/command",
                availability_topic=availability,
                stop_topic=desk.stop_topic or f"{base}/command",
                stop_payload=desk.stop_payload or "STOP",
                unit=None,
                decimals=desk.decimals if desk.decimals is not None else 0,
                json_key=desk.json_key,
                cover_range_mm=(desk.cover_min_mm, desk.cover_max_mm),
                tolerance=desk.tolerance_mm,
            )
        if desk.preset == "upsy":
            unit = desk.unit or "in"
            state = desk.state_topic or f"{prefix}/sensor/desk_height/state"
            command = desk.command_topic or f"{prefix}/number/target_desk_height/command"
        else:
            unit = desk.unit or "mm"
            state, command = desk.state_topic or "", desk.command_topic or ""
        if not state or not command:
            raise ConfigError("an MQTT desk needs a state topic and a command topic")
        return cls(
            state_topic=state,
            command_topic=command,
            availability_topic=availability,
            stop_topic=desk.stop_topic,
            stop_payload=desk.stop_payload or "",
            unit=unit,
            decimals=desk.decimals if desk.decimals is not None else _DEFAULT_DECIMALS[unit],
            json_key=desk.json_key,
            tolerance=desk.tolerance_mm,
        )

    @property
    def resolution_mm(self) -> float:
        """One step of the height as the payload carries it."""
        if self.cover_range_mm is not None:
            low, high = self.cover_range_mm
            return (high - low) / 100
        return float(MM_PER_UNIT[self.unit or "mm"]) * 10.0 ** (-self.decimals)

    @property
    def tolerance_mm(self) -> int:
        """How close a landing must be: configured, or the whole mm within one step."""
        if self.tolerance is not None:
            return self.tolerance
        return max(1, math.floor(self.resolution_mm + 1e-9))

    def decode(self, payload: str) -> int | None:
        """A state payload → whole mm; None for `nan`, `unknown` or anything unreadable."""
        text: object = payload.strip()
        if self.json_key is not None:
            try:
                data = json.loads(payload)
            except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
                return None
            text = data.get(self.json_key) if isinstance(data, dict) else None
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            return None
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            return None
        if not value.is_finite():
            return None
        try:
            if self.cover_range_mm is not None:
                low, high = self.cover_range_mm
                position = min(max(value, Decimal(0)), Decimal(100))
                value = Decimal(low) + position * (high - low) / 100
            else:
                value *= MM_PER_UNIT[self.unit or "mm"]
            return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except ArithmeticError:  # decimal's InvalidOperation or Overflow: no height is that long
            return None

    def encode(self, height_mm: float) -> str:
        """A height → the command payload (a number in the unit, or a cover's position)."""
        value = Decimal(repr(float(height_mm)))
        if self.cover_range_mm is not None:
            low, high = self.cover_range_mm
            value = min(max((value - low) * 100 / (high - low), Decimal(0)), Decimal(100))
        else:
            value /= MM_PER_UNIT[self.unit or "mm"]
        step = Decimal(1).scaleb(-self.decimals)
        return str(value.quantize(step, rounding=ROUND_HALF_UP))

    def stop_message(self, height_mm: int | None) -> tuple[str, str] | None:
        """(topic, payload) that stops the desk; None if it needs a height nobody knows yet."""
        if self.stop_topic is not None:
            return self.stop_topic, self.stop_payload
        if height_mm is None:
            return None
        return self.command_topic, self.encode(height_mm)


@dataclass(frozen=True, slots=True)
class Publish:
    """One message to publish (never retained); `what` names what it is for: a move, a stop."""

    topic: str
    payload: str
    what: str


@dataclass(frozen=True, slots=True)
class MoveToCommander:
    """How `core/landing.py` commands a desk that takes a target: the aim on the command topic
    (the nearest step of the payload's resolution, or the next one inwards when the nearest lies
    just outside the limits), and the stop message."""

    topics: DeskTopics
    min_mm: int
    max_mm: int

    @property
    def resolution_mm(self) -> float:
        return self.topics.resolution_mm

    @property
    def listens_on(self) -> str:
        return self.topics.command_topic

    def aim(self, aim: float, direction: int) -> tuple[Publish, int]:
        """The message that sends the desk towards `aim`, and the height it reads as."""
        del direction  # a target says its own way
        topics = self.topics
        step = topics.resolution_mm
        for candidate in (aim, aim + step, aim - step):
            payload = topics.encode(candidate)
            aim_mm = topics.decode(payload)
            if aim_mm is not None and self.min_mm <= aim_mm <= self.max_mm:
                return Publish(topics.command_topic, payload, "a move"), aim_mm
        payload = topics.encode(aim)  # the link's gate for targets refuses it, saying why
        aim_mm = topics.decode(payload)
        return Publish(topics.command_topic, payload, "a move"), (
            aim_mm if aim_mm is not None else round(aim)
        )

    def stop(self, height_mm: int | None) -> Publish | None:
        """The message that stops the desk; None if it needs a height nobody knows yet."""
        message = self.topics.stop_message(height_mm)
        if message is None:
            return None
        return Publish(*message, "a stop")
