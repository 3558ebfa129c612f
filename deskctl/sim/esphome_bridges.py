"""Emulated MQTT desk bridges: the desk model behind the four named bridges of issue 16.

Design: `BridgeDesk` is `EsphomeDesk` (the broker, the motor stepped on its clock, the radio's
delays, availability) with the topics and the behaviour of one bridge, written out here as each
bridge's firmware does it, independently of the settings' recipes that describe them
(`core/bridge_recipes.py`), so a test driving one against the other checks the recipe:
- `autonomous` (the Autonomous SmartDesk ESPHome component): publishes the height as a text
  sensor in inches with its unit (`29.5 in`) on `<p>/text_sensor/desk_height/state`; a height
  slider `<p>/number/desk_height/command` (its firmware holds the button until its reading
  reaches the value, then coasts; the value is echoed on `.../state`); nudge buttons
  `<p>/button/nudge_up/command` and `nudge_down` (half an inch a press); a preset select
  `<p>/select/desk_preset/command` taking `Preset 1`..`Preset 4` (the box's memories).
- `loctek` (LoctekMotion / FlexiSpot ESPHome): the height in cm on `<p>/sensor/desk_height/state`;
  buttons `preset_1`, `preset_2`, `sit`, `stand` (memories 1-4) and `wake_screen` under
  `<p>/button/.../command`, each taking `PRESS`. The box sleeps `sleep_after_s` after its last
  command and ignores every button but the wake one until woken; a press while it moves stops it.
- `jiecang-uart` (a Jiecang UART ESPHome component): the height in cm on `<p>/sensor/height/state`;
  `position_1`..`position_4`, `step_up`, `step_down` (about 14 mm a press) and `stop` buttons.
- `micropython` (a plain-text MicroPython bridge): the height in cm on `<p>/state`; plain words on
  `<p>/set`: `up` and `down` hold the keypad's button for `HOLD_S` (a press while held extends
  it), `pos1`..`pos3` recall; anything else is ignored. It has no stop and no availability.
A memory recall drives with the box's own ramp (`EsphomeDeskModel.recall_mm`) to the height the
slot holds (`memory_mm`); an empty slot does nothing.

Public API:
    BridgeDesk(broker, kind, *, prefix, clock=None, model=None, memory_mm=None,
               sleep_after_s=None)   as EsphomeDesk; .asleep
    BRIDGES (the kinds), HOLD_S, NUDGE_MM, UART_STEP_MM
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Literal

from deskctl.clocks.clock import Clock
from deskctl.sim.esphome_desk import BrokerSettings, EsphomeDesk
from deskctl.sim.esphome_model import EsphomeDeskModel

__all__ = ["BRIDGES", "HOLD_S", "NUDGE_MM", "UART_STEP_MM", "BridgeDesk", "BridgeKind"]

log = logging.getLogger(__name__)

BridgeKind = Literal["autonomous", "loctek", "jiecang-uart", "micropython"]
BRIDGES: tuple[BridgeKind, ...] = ("autonomous", "loctek", "jiecang-uart", "micropython")
HOLD_S = 0.2  # the MicroPython bridge holds the keypad's button this long per word
NUDGE_MM = 12.7  # an Autonomous nudge: half an inch
UART_STEP_MM = 14.0  # a Jiecang UART step


class BridgeDesk(EsphomeDesk):
    """The desk model behind one named bridge; see the module docstring."""

    def __init__(
        self,
        broker: BrokerSettings,
        kind: BridgeKind,
        *,
        prefix: str,
        clock: Clock | None = None,
        model: EsphomeDeskModel | None = None,
        memory_mm: Mapping[int, float] | None = None,
        sleep_after_s: float | None = None,
    ) -> None:
        unit: Literal["in", "cm"] = "in" if kind == "autonomous" else "cm"
        super().__init__(
            broker,
            prefix=prefix,
            clock=clock,
            model=model or EsphomeDeskModel(unit=unit),
        )
        self.kind = kind
        self.memory_mm = dict(memory_mm or {})
        self.sleep_after_s = sleep_after_s
        self._awake_until_s = -math.inf
        p = prefix
        buttons = f"{p}/button"
        self.bridge_topics: dict[str, str] = {
            "autonomous": f"{p}/text_sensor/desk_height/state",
            "loctek": f"{p}/sensor/desk_height/state",
            "jiecang-uart": f"{p}/sensor/height/state",
            "micropython": f"{p}/state",
        }
        self.topics["bridge_height"] = self.bridge_topics[kind]
        listen: dict[BridgeKind, list[str]] = {
            "autonomous": [
                f"{p}/number/desk_height/command",
                f"{buttons}/nudge_up/command",
                f"{buttons}/nudge_down/command",
                f"{p}/select/desk_preset/command",
            ],
            "loctek": [
                f"{buttons}/{name}/command"
                for name in ("preset_1", "preset_2", "sit", "stand", "wake_screen")
            ],
            "jiecang-uart": [
                f"{buttons}/{name}/command"
                for name in (
                    "position_1",
                    "position_2",
                    "position_3",
                    "position_4",
                    "step_up",
                    "step_down",
                    "stop",
                )
            ],
            "micropython": [f"{p}/set"],
        }
        self._listen_on = listen[kind]
        for n, topic in enumerate(self._listen_on):
            self.topics[f"bridge_command_{n}"] = topic

    @property
    def asleep(self) -> bool:
        """A Loctek box that has had no command for `sleep_after_s`: it takes only the wake."""
        if self.sleep_after_s is None:
            return False
        return self.clock.monotonic() > self._awake_until_s and not self.model.active

    # -- the EsphomeDesk hooks -----------------------------------------------------------------
    def _command_topics(self) -> tuple[str, ...]:
        return tuple(f"bridge_command_{n}" for n in range(len(self._listen_on)))

    def _states(self) -> dict[str, str]:
        reading = self.model.reading
        if self.kind == "autonomous":
            reading = f"{reading} in"
        return {self.topics["bridge_height"]: reading}

    def _command(self, topic: str, text: str) -> tuple[str, str] | None:
        leaf = topic.rsplit("/", 2)[-2] if topic.endswith("/command") else topic.rsplit("/", 1)[-1]
        handle = {
            "autonomous": self._autonomous,
            "loctek": self._loctek,
            "jiecang-uart": self._jiecang_uart,
            "micropython": self._micropython,
        }[self.kind]
        return handle(leaf, text)

    # -- each bridge's firmware ----------------------------------------------------------------
    def _recall(self, slot: int) -> None:
        height_mm = self.memory_mm.get(slot)
        if height_mm is not None:
            self.model.recall_mm(height_mm)

    def _autonomous(self, leaf: str, text: str) -> tuple[str, str] | None:
        model = self.model
        if leaf == "desk_height":
            try:
                value = float(text)
            except ValueError:
                return None
            if not math.isfinite(value):
                return None
            model.set_target_mm(value * 25.4)
            return f"{self.prefix}/number/desk_height/state", f"{value:.1f}"
        if leaf in ("nudge_up", "nudge_down") and text == "PRESS":
            direction = 1 if leaf == "nudge_up" else -1
            model.set_target_mm(model.reading_mm + direction * NUDGE_MM)
        elif leaf == "desk_preset" and text.startswith("Preset "):
            slot = text.removeprefix("Preset ")
            if slot.isdigit():
                self._recall(int(slot))
        return None

    def _loctek(self, leaf: str, text: str) -> tuple[str, str] | None:
        if text != "PRESS":
            return None
        now_s = self.clock.monotonic()
        if leaf == "wake_screen":
            if self.model.active:
                self.model.stop()  # a press while it moves stops it
            self._awake_until_s = now_s + (self.sleep_after_s or 0.0)
            return None
        if self.asleep:
            log.info("%s: asleep, ignored %s", self.prefix, leaf)
            return None
        self._awake_until_s = now_s + (self.sleep_after_s or 0.0)
        if self.model.active:
            self.model.stop()
            return None
        slots = {"preset_1": 1, "preset_2": 2, "sit": 3, "stand": 4}
        if leaf in slots:
            self._recall(slots[leaf])
        return None

    def _jiecang_uart(self, leaf: str, text: str) -> tuple[str, str] | None:
        model = self.model
        if text != "PRESS":
            return None
        if leaf == "stop":
            model.stop()
        elif leaf in ("step_up", "step_down"):
            direction = 1 if leaf == "step_up" else -1
            model.set_target_mm(model.reading_mm + direction * UART_STEP_MM)  # from here
        elif leaf.startswith("position_") and leaf[-1].isdigit():
            self._recall(int(leaf[-1]))
        return None

    def _micropython(self, leaf: str, text: str) -> tuple[str, str] | None:
        del leaf
        word = text.strip().lower()
        if word in ("up", "down"):
            self.model.hold(1 if word == "up" else -1, HOLD_S)
        elif word in ("pos1", "pos2", "pos3"):
            self._recall(int(word[-1]))
        return None
