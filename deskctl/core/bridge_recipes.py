"""Named recipes for common MQTT desk bridges: the settings each one implies, as plain data.

Design: a recipe is a function of the bridge's prefix (its ESPHome node name, or a topic base)
that answers default values for `MqttDeskSettings` keys; the settings fill in only the keys a
person did not write, so any topic or payload of a recipe can be overridden. The topics follow
ESPHome's MQTT conventions (`<node>/<component>/<object_id>/state` and `.../command`, a button
takes `PRESS`); docs/desks.md has one section per recipe. A recipe never names memory heights:
only the person knows what the desk's slots hold (`memory_heights`).

- `autonomous`: the Autonomous SmartDesk ESPHome component: the height as a text sensor in
  inches (`29.5 in`), a height slider (a number, the move-to), nudge buttons, a preset select.
- `loctek`: LoctekMotion / FlexiSpot ESPHome: a height sensor in cm, preset 1 and 2, sit and
  stand buttons (the box's four memories), and a wake button (the box sleeps, and ignores the
  others until woken; a press during a move stops it, so it is the stop too). No move-to and no
  steps: such a desk lands only on its memory heights.
- `jiecang-uart`: a Jiecang UART ESPHome component: a height sensor in cm, position 1-4 buttons,
  step up and down buttons (about 14 mm a press) and a stop button.
- `micropython`: a plain-text MicroPython bridge: the height in cm on `<base>/state`, commands as
  plain words on `<base>/set`: `up` and `down` (a short press each, repeated while moving),
  `pos1` to `pos3`; no stop (a press lets go by itself) and no availability.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["DEFAULT_PREFIX", "ESPHOME_RECIPES", "RECIPES", "recipe_defaults"]

Defaults = dict[str, object]


def _press(topic: str) -> dict[str, str]:
    return {"topic": topic, "payload": "PRESS"}


def _autonomous(prefix: str) -> Defaults:
    return {
        "state_topic": f"{prefix}/text_sensor/desk_height/state",
        "unit": "in",
        "command_topic": f"{prefix}/number/desk_height/command",
        "decimals": 1,
        "up": _press(f"{prefix}/button/nudge_up/command"),
        "down": _press(f"{prefix}/button/nudge_down/command"),
        "step_mm": 13.0,  # a nudge: half an inch
        "memory": [
            {"topic": f"{prefix}/select/desk_preset/command", "payload": f"Preset {n}"}
            for n in range(1, 5)
        ],
    }


def _loctek(prefix: str) -> Defaults:
    wake = f"{prefix}/button/wake_screen/command"
    return {
        "state_topic": f"{prefix}/sensor/desk_height/state",
        "unit": "cm",
        "decimals": 1,
        "memory": [
            _press(f"{prefix}/button/preset_1/command"),
            _press(f"{prefix}/button/preset_2/command"),
            _press(f"{prefix}/button/sit/command"),
            _press(f"{prefix}/button/stand/command"),
        ],
        "wake": _press(wake),
        "stop_topic": wake,
        "stop_payload": "PRESS",
    }


def _jiecang_uart(prefix: str) -> Defaults:
    return {
        "state_topic": f"{prefix}/sensor/height/state",
        "unit": "cm",
        "decimals": 1,
        "up": _press(f"{prefix}/button/step_up/command"),
        "down": _press(f"{prefix}/button/step_down/command"),
        "step_mm": 14.0,
        "step_repeat_s": 0.3,
        "stop_topic": f"{prefix}/button/stop/command",
        "stop_payload": "PRESS",
        "memory": [_press(f"{prefix}/button/position_{n}/command") for n in range(1, 5)],
    }


def _micropython(prefix: str) -> Defaults:
    command = f"{prefix}/set"
    return {
        "state_topic": f"{prefix}/state",
        "unit": "cm",
        "decimals": 1,
        "up": {"topic": command, "payload": "up"},
        "down": {"topic": command, "payload": "down"},
        "step_mm": 15.0,  # at most: a 0.2 s press at 38 mm/s, the box running on, its coast
        "step_repeat_s": 0.15,
        "memory": [{"topic": command, "payload": f"pos{n}"} for n in range(1, 4)],
    }


RECIPES: dict[str, Callable[[str], Defaults]] = {
    "autonomous": _autonomous,
    "loctek": _loctek,
    "jiecang-uart": _jiecang_uart,
    "micropython": _micropython,
}
# recipes for ESPHome nodes: availability is <prefix>/status, as ESPHome publishes it
ESPHOME_RECIPES = frozenset({"upsy", "cover", "autonomous", "loctek", "jiecang-uart"})
DEFAULT_PREFIX = {"micropython": "homeassistant/sensor/standingdesk"}


def recipe_defaults(preset: str, prefix: str | None) -> Defaults:
    """The keys recipe `preset` implies for a bridge at `prefix` ({} for upsy, cover, custom,
    whose topics `core/esphome.py` derives itself)."""
    make = RECIPES.get(preset)
    if make is None:
        return {}
    base = prefix or DEFAULT_PREFIX.get(preset)
    if base is None:
        return {}
    return make(base)
