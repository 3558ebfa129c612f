"""An MQTT desk bridge's topics and payloads, as pure code (no IO, like `core/linak.py`).

Design: `DeskTopics` turns a desk's settings (anything shaped like `DeskTopicSettings`, which
`MqttDeskSettings` is, with a recipe's defaults already filled in) into topics and a payload
codec, for any bridge a person can describe:
- the height's state topic and how its payload carries a height: a number (a text sensor's
  trailing unit, like `29.5 in`, is read too; another unit than the configured one makes the
  payload unreadable), a key of a JSON object, or a percent of a range (`cover_range_mm`); in
  mm, cm, in or %; then `scale` and `offset_mm` (height_mm = reading × scale + offset_mm);
- an optional moving state (`moving_topic`, with the payloads that mean moving and stopped);
- an optional move-to (`command_topic`, in `command_unit`, with `decimals`): the inverse of the
  state's reading, the same scale and offset;
- step commands (`up`, `down`: a topic and a payload each, `step_repeat_s` for a box that moves
  only while its button is held, `step_mm` how far one press moves it), a stop, memory recalls
  (1-4, each with the height it holds when known) and a wake command;
- availability (`<prefix>/status` with `online`/`offline` as ESPHome publishes it, or a topic and
  payloads of the bridge's own).
`resolution_mm` is one step of the height as the payload carries it, and `tolerance_mm` how close
a landing must be (configured, or the whole mm within one step: 2 mm for 0.1 in, 1 mm for 0.1 cm,
6 mm for one percent of 620..1270 mm; half a press for a desk that only steps).
The commanders tell `core/landing.py` how such a desk is commanded towards an aim:
`MoveToCommander` a target on the command topic and the stop message; `StepCommander` up or down
and the stop (or nothing: a held button lets go by itself); `RecallCommander` a memory recall
(the box lands by itself, so no stop at the aim).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from deskctl.core.bridge_recipes import ESPHOME_RECIPES
from deskctl.core.units import MM_PER_UNIT
from deskctl.errors import ConfigError

__all__ = [
    "Button",
    "DeskTopicSettings",
    "DeskTopics",
    "MemorySlot",
    "MoveToCommander",
    "Publish",
    "RecallCommander",
    "StepCommander",
    "predicted_mm",
    "repeat_step",
    "step_within_limits",
]

_DEFAULT_DECIMALS = {"in": 1, "cm": 1, "mm": 0, "%": 0}
# what a text sensor may write after the number, per unit ("" always)
_SUFFIXES = {
    "in": frozenset({"", "in", '"', "inch", "inches"}),
    "cm": frozenset({"", "cm"}),
    "mm": frozenset({"", "mm"}),
    "%": frozenset({"", "%"}),
}
_NUMBER_AND_UNIT = re.compile(
    r"^([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*(\S*)$"
)


class ButtonSettings(Protocol):
    """A command the bridge takes: a payload on a topic."""

    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> str: ...


class DeskTopicSettings(Protocol):
    """What `DeskTopics.from_settings` reads (the fields of `MqttDeskSettings`)."""

    @property
    def preset(self) -> str: ...
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
    def online_payload(self) -> str: ...
    @property
    def offline_payload(self) -> str: ...
    @property
    def stop_topic(self) -> str | None: ...
    @property
    def stop_payload(self) -> str | None: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def command_unit(self) -> str | None: ...
    @property
    def decimals(self) -> int | None: ...
    @property
    def json_key(self) -> str | None: ...
    @property
    def cover_min_mm(self) -> int | None: ...
    @property
    def cover_max_mm(self) -> int | None: ...
    @property
    def scale(self) -> float: ...
    @property
    def offset_mm(self) -> float: ...
    @property
    def tolerance_mm(self) -> int | None: ...
    @property
    def moving_topic(self) -> str | None: ...
    @property
    def moving_payloads(self) -> Sequence[str]: ...
    @property
    def stopped_payloads(self) -> Sequence[str]: ...
    @property
    def up(self) -> ButtonSettings | None: ...
    @property
    def down(self) -> ButtonSettings | None: ...
    @property
    def wake(self) -> ButtonSettings | None: ...
    @property
    def memory(self) -> Sequence[ButtonSettings]: ...
    @property
    def memory_heights_mm(self) -> Mapping[int, int]: ...
    @property
    def step_repeat_s(self) -> float | None: ...
    @property
    def step_mm(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Button:
    """A command the bridge takes: `payload` on `topic`."""

    topic: str
    payload: str


@dataclass(frozen=True, slots=True)
class MemorySlot:
    """A memory recall, and the height the slot holds (None: not known, so never used to land)."""

    topic: str
    payload: str
    height_mm: int | None = None


def _button(button: ButtonSettings | None) -> Button | None:
    return None if button is None else Button(button.topic, button.payload)


@dataclass(frozen=True, slots=True)
class DeskTopics:
    """Where a desk publishes and listens, and how its payloads carry a height."""

    state_topic: str
    command_topic: str | None  # None: no move-to; the desk is stepped or recalled
    availability_topic: str | None
    stop_topic: str | None  # None: stop by writing the last height back to command_topic
    stop_payload: str
    unit: str | None  # in, cm or mm; None when the payload is a percent of cover_range_mm
    decimals: int
    json_key: str | None = None
    cover_range_mm: tuple[int, int] | None = None
    tolerance: int | None = None
    scale: float = 1.0  # height_mm = reading × scale + offset_mm
    offset_mm: float = 0.0
    command_unit: str | None = None  # the move-to's unit ("%" for a percent); None: the state's
    online_payload: str = "online"
    offline_payload: str = "offline"
    moving_topic: str | None = None
    moving_payloads: tuple[str, ...] = ()
    stopped_payloads: tuple[str, ...] = ()
    up: Button | None = None
    down: Button | None = None
    wake: Button | None = None
    memory: tuple[MemorySlot, ...] = ()
    step_repeat_s: float | None = None  # repeat a step this often (a held button); None: once
    step_mm: float = 10.0  # how far one press of a step moves the desk

    @classmethod
    def from_settings(cls, desk: DeskTopicSettings) -> DeskTopics:
        prefix = desk.prefix
        esphome = desk.preset in ESPHOME_RECIPES or desk.preset == "custom"
        availability = desk.availability_topic or (
            f"{prefix}/status" if prefix and esphome else None
        )
        cover_range: tuple[int, int] | None = None
        if desk.cover_min_mm is not None and desk.cover_max_mm is not None:
            cover_range = (desk.cover_min_mm, desk.cover_max_mm)
        moving_topic = desk.moving_topic
        moving, stopped = tuple(desk.moving_payloads), tuple(desk.stopped_payloads)
        stop_topic, stop_payload = desk.stop_topic, desk.stop_payload or ""
        if desk.preset == "cover":
            base = f"{prefix}/cover/{desk.cover_id}"
            if cover_range is None:
                raise ConfigError("preset 'cover' needs cover_min_mm and cover_max_mm")
            unit = "%"
            state = desk.state_topic or f"{base}/position/state"
            command: str | None = desk.command_topic or f"{base}/position/command"
            stop_topic = stop_topic or f"{base}/command"
            stop_payload = desk.stop_payload or "STOP"
            moving_topic = moving_topic or f"{base}/state"
            moving = moving or ("opening", "closing")
            stopped = stopped or ("open", "closed", "stopped")
        elif desk.preset == "upsy":
            unit = desk.unit or "in"
            state = desk.state_topic or f"{prefix}/sensor/desk_height/state"
            command = desk.command_topic or f"{prefix}/number/target_desk_height/command"
        else:
            unit = desk.unit or "mm"
            state, command = desk.state_topic or "", desk.command_topic
        if not state:
            raise ConfigError(
                "an MQTT desk needs a state topic: a bridge with no height feedback is not "
                "supported"
            )
        if unit == "%" and cover_range is None:
            raise ConfigError("unit '%' needs cover_min_mm and cover_max_mm")
        decimals_unit = desk.command_unit or unit
        return cls(
            state_topic=state,
            command_topic=command,
            availability_topic=availability,
            stop_topic=stop_topic,
            stop_payload=stop_payload,
            unit=None if unit == "%" else unit,
            decimals=(
                desk.decimals if desk.decimals is not None else _DEFAULT_DECIMALS[decimals_unit]
            ),
            json_key=desk.json_key,
            cover_range_mm=cover_range,
            tolerance=desk.tolerance_mm,
            scale=desk.scale,
            offset_mm=desk.offset_mm,
            command_unit=desk.command_unit,
            online_payload=desk.online_payload,
            offline_payload=desk.offline_payload,
            moving_topic=moving_topic,
            moving_payloads=moving,
            stopped_payloads=stopped,
            up=_button(desk.up),
            down=_button(desk.down),
            wake=_button(desk.wake),
            memory=tuple(
                MemorySlot(m.topic, m.payload, desk.memory_heights_mm.get(n))
                for n, m in enumerate(desk.memory, start=1)
            ),
            step_repeat_s=desk.step_repeat_s,
            step_mm=desk.step_mm,
        )

    # -- units ----------------------------------------------------------------------------------
    @property
    def state_unit(self) -> str:
        return "%" if self.unit is None else self.unit

    @property
    def move_unit(self) -> str:
        """The move-to's unit: its own, or the state's."""
        return self.command_unit or self.state_unit

    @property
    def move_to(self) -> bool:
        return self.command_topic is not None

    @property
    def steps(self) -> bool:
        return self.up is not None and self.down is not None

    def _mm_per(self, unit: str) -> Decimal:
        """mm per one of `unit` before scale and offset ("%": one percent of the range)."""
        if unit == "%":
            if self.cover_range_mm is None:
                raise ConfigError("unit '%' needs cover_min_mm and cover_max_mm")
            low, high = self.cover_range_mm
            return Decimal(high - low) / 100
        return MM_PER_UNIT[unit]

    def _base_mm(self, unit: str) -> Decimal:
        """The height (before scale and offset) at a reading of 0."""
        if unit == "%" and self.cover_range_mm is not None:
            return Decimal(self.cover_range_mm[0])
        return Decimal(0)

    @property
    def resolution_mm(self) -> float:
        """One step of the height as the payload carries it."""
        step = self._mm_per(self.state_unit) * Decimal(1).scaleb(-self.decimals)
        return float(step) * abs(self.scale)

    @property
    def tolerance_mm(self) -> int:
        """How close a landing must be: configured, or the whole mm within one step."""
        if self.tolerance is not None:
            return self.tolerance
        return max(1, math.floor(self.resolution_mm + 1e-9))

    @property
    def step_tolerance_mm(self) -> int:
        """How close a stepped landing must be: configured, or half a press (one more press
        would land no nearer), and never finer than the height's own step."""
        if self.tolerance is not None:
            return self.tolerance
        return max(self.tolerance_mm, math.ceil(self.step_mm / 2))

    # -- payloads -------------------------------------------------------------------------------
    def _reading(self, payload: str) -> Decimal | None:
        """The number in a state payload (inside JSON when `json_key` is set), or None."""
        text: object = payload.strip()
        if self.json_key is not None:
            try:
                data = json.loads(payload)
            except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
                return None
            text = data.get(self.json_key) if isinstance(data, dict) else None
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            return None
        match = _NUMBER_AND_UNIT.match(str(text).strip())
        if match is None or match.group(2).lower() not in _SUFFIXES[self.state_unit]:
            return None
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:
            return None
        return value if value.is_finite() else None

    def decode(self, payload: str) -> int | None:
        """A state payload → whole mm; None for `nan`, `unknown` or anything unreadable."""
        value = self._reading(payload)
        if value is None:
            return None
        unit = self.state_unit
        try:
            if unit == "%":
                value = min(max(value, Decimal(0)), Decimal(100))
            value = self._base_mm(unit) + value * self._mm_per(unit)
            value = value * Decimal(repr(self.scale)) + Decimal(repr(self.offset_mm))
            return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except ArithmeticError:  # decimal's InvalidOperation or Overflow: no height is that long
            return None

    def encode(self, height_mm: float) -> str:
        """A height → the move-to's payload (a number in its unit, or a percent)."""
        unit = self.move_unit
        value = Decimal(repr(float(height_mm)))
        value = (value - Decimal(repr(self.offset_mm))) / Decimal(repr(self.scale))
        value = (value - self._base_mm(unit)) / self._mm_per(unit)
        if unit == "%":
            value = min(max(value, Decimal(0)), Decimal(100))
        step = Decimal(1).scaleb(-self.decimals)
        return str(value.quantize(step, rounding=ROUND_HALF_UP))

    def decode_command(self, payload: str) -> int | None:
        """A move-to payload (as `encode` writes it) → whole mm, or None."""
        unit = self.move_unit
        try:
            value = Decimal(payload.strip())
            if not value.is_finite():
                return None
            value = self._base_mm(unit) + value * self._mm_per(unit)
            value = value * Decimal(repr(self.scale)) + Decimal(repr(self.offset_mm))
            return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except ArithmeticError:
            return None

    def decode_moving(self, payload: str) -> bool | None:
        """A moving-state payload → True (moving), False (stopped), or None (neither)."""
        text = payload.strip().lower()
        if text in (p.lower() for p in self.moving_payloads):
            return True
        if text in (p.lower() for p in self.stopped_payloads):
            return False
        return None

    def availability(self, payload: str) -> bool | None:
        """An availability payload → True (online), False (offline), or None (neither)."""
        text = payload.strip().lower()
        if text == self.online_payload.lower():
            return True
        if text == self.offline_payload.lower():
            return False
        return None

    def stop_message(self, height_mm: int | None) -> tuple[str, str] | None:
        """(topic, payload) that stops the desk; None if it needs a height nobody knows yet, or
        has no stop (a held button lets go by itself)."""
        if self.stop_topic is not None:
            return self.stop_topic, self.stop_payload
        if height_mm is None or self.command_topic is None:
            return None
        return self.command_topic, self.encode(height_mm)

    def slot_for(self, target_mm: int) -> int | None:
        """The memory slot (1-based) whose known height is the target within a step, or None."""
        for index, slot in enumerate(self.memory, start=1):
            if slot.height_mm is not None and abs(slot.height_mm - target_mm) <= self.tolerance_mm:
                return index
        return None


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
        return self.topics.command_topic or "its command topic"

    def aim(self, aim: float, direction: int) -> tuple[Publish, int]:
        """The message that sends the desk towards `aim`, and the height it reads as."""
        del direction  # a target says its own way
        topics = self.topics
        topic = topics.command_topic
        if topic is None:
            raise ConfigError("this desk has no move-to (command_topic)")
        step = topics.resolution_mm
        for candidate in (aim, aim + step, aim - step):
            payload = topics.encode(candidate)
            aim_mm = topics.decode_command(payload)
            if aim_mm is not None and self.min_mm <= aim_mm <= self.max_mm:
                return Publish(topic, payload, "a move"), aim_mm
        payload = topics.encode(aim)  # the link's gate for targets refuses it, saying why
        aim_mm = topics.decode_command(payload)
        return Publish(topic, payload, "a move"), (aim_mm if aim_mm is not None else round(aim))

    def stop(self, height_mm: int | None) -> Publish | None:
        """The message that stops the desk; None if it needs a height nobody knows yet."""
        message = self.topics.stop_message(height_mm)
        if message is None:
            return None
        return Publish(*message, "a stop")


@dataclass(frozen=True, slots=True)
class StepCommander:
    """How `core/landing.py` commands a desk with no move-to: up or down towards the aim (the link
    repeats it every `step_repeat_s` while the machine approaches, for a held button), and the
    stop (None on a bridge with none: a held button lets go by itself). Its resolution is one
    press; the machine learns the run-on."""

    topics: DeskTopics

    @property
    def resolution_mm(self) -> float:
        return max(self.topics.step_mm, self.topics.resolution_mm)

    @property
    def listens_on(self) -> str:
        up = self.topics.up
        return f"{up.topic} (its step commands)" if up is not None else "its step commands"

    def step(self, direction: int) -> Publish:
        button = self.topics.up if direction > 0 else self.topics.down
        if button is None:
            raise ConfigError("this desk has no step commands (up and down)")
        return Publish(
            button.topic, button.payload, "a step up" if direction > 0 else "a step down"
        )

    def aim(self, aim: float, direction: int) -> tuple[Publish, int]:
        return self.step(direction), round(aim)

    def stop(self, height_mm: int | None) -> Publish | None:
        topics = self.topics
        if topics.stop_topic is None:
            return None
        return Publish(topics.stop_topic, topics.stop_payload, "a stop")


@dataclass(frozen=True, slots=True)
class RecallCommander:
    """A memory recall: the box drives to the slot's height with its own ramp and lands by itself,
    so there is no stop at the aim (the link sends the stop itself when such a move ends without
    arriving). Used with no lead."""

    topics: DeskTopics
    slot: int  # 1-based

    @property
    def resolution_mm(self) -> float:
        return self.topics.resolution_mm

    @property
    def listens_on(self) -> str:
        return f"{self.topics.memory[self.slot - 1].topic} (memory {self.slot})"

    def aim(self, aim: float, direction: int) -> tuple[Publish, int]:
        slot = self.topics.memory[self.slot - 1]
        height_mm = slot.height_mm if slot.height_mm is not None else round(aim)
        return Publish(slot.topic, slot.payload, f"memory {self.slot}"), height_mm

    def stop(self, height_mm: int | None) -> Publish | None:
        return None


def predicted_mm(
    previous: tuple[int, float] | None,
    latest: tuple[int, float],
    now_s: float,
    direction: int,
    *,
    lag_s: float = 0.0,
    max_ahead_s: float = 1.0,
    max_speed_mm_s: float = 100.0,
) -> float:
    """How far the desk may be now in `direction` (+1 up, -1 down), from its last two reports
    (`(height_mm, at_s)` each): the latest height carried on at their speed for the time since
    and the reading's own age when it came (`lag_s`: the box's frame, the radio), at most
    `max_ahead_s` and `max_speed_mm_s`, and never back against `direction`. A bridge publishes
    its height late and seldom (an ESPHome sensor at most every 0.5 s), so the last report can
    lie well behind a moving desk; the guess errs towards the limit a step heads for."""
    height_mm, at_s = latest
    if previous is None or at_s - previous[1] <= 0:
        return float(height_mm)
    speed = (height_mm - previous[0]) / (at_s - previous[1])
    speed = min(max(speed, -max_speed_mm_s), max_speed_mm_s)
    ahead_mm = speed * min(max(0.0, now_s - at_s) + lag_s, max_ahead_s) * direction
    return height_mm + max(0.0, ahead_mm) * direction


def repeat_step(
    *,
    height_mm: float,
    aim_mm: int,
    direction: int,
    report_age_s: float,
    press_age_s: float,
    repeat_s: float,
    stale_s: float,
) -> bool:
    """Whether to press a held step button again while approaching the aim: `repeat_s` after the
    last press, only on a fresh report (none for `stale_s` means the state is lost: the desk must
    stop within the press it has, not run on blind), and only while the desk (`height_mm`, where
    it is predicted to be now) is short of the aim."""
    if press_age_s < repeat_s or report_age_s > stale_s:
        return False
    return (aim_mm - height_mm) * direction > 0


def step_within_limits(
    height_mm: float | None, direction: int, step_mm: float, lo: int, hi: int
) -> bool:
    """Whether one press from `height_mm` (known) keeps the desk within `lo..hi`: a press moves
    it about `step_mm` (its run-on included), so that is the target a step implies."""
    if height_mm is None:
        return False
    reach = height_mm + direction * step_mm
    return lo <= reach <= hi
