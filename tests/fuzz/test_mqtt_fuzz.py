"""MQTT payloads: what an ESPHome desk publishes, and what Home Assistant sends deskctl.

- `DeskTopics.decode` (the MQTT desk link's reading of a height payload, for every preset and
  unit, plain or inside JSON) answers whole millimetres or None, whatever arrives; a height it
  encodes itself reads back within one step of the payload's resolution.
- `ha.parse_command` answers a `Request` or a one-line `Refusal` for payloads built from the
  command grammar (numbers with units, words, actions with durations); tests/test_ha.py already
  throws arbitrary bytes at it.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from deskctl.config.settings import MqttDeskSettings
from deskctl.core import ha
from deskctl.core.esphome import DeskTopics
from deskctl.core.units import MAX_DURATION_S
from tests.faults.tally import counter
from tests.fuzz.strategies import DURATIONS, HEIGHTS, NUMBERS, json_values

TALLY = counter(__name__)

PRESETS = {
    "upsy-in": MqttDeskSettings(preset="upsy", prefix="p"),
    "upsy-cm": MqttDeskSettings(preset="upsy", prefix="p", unit="cm"),
    "custom-mm": MqttDeskSettings(preset="custom", state_topic="s", command_topic="c", unit="mm"),
    "cover": MqttDeskSettings(preset="cover", prefix="p", cover_min_mm=620, cover_max_mm=1270),
    "json": MqttDeskSettings(preset="upsy", prefix="p", unit="cm", json_key="height"),
    "autonomous": MqttDeskSettings(preset="autonomous", prefix="p"),  # `29.5 in`
    "percent-offset": MqttDeskSettings(
        preset="custom",
        state_topic="s",
        command_topic="c",
        unit="%",
        cover_min_mm=620,
        cover_max_mm=1270,
        offset_mm=-12.5,
        scale=1.02,
    ),
    "scaled-json": MqttDeskSettings(
        preset="custom", state_topic="s", command_topic="c", unit="in", json_key="h", scale=0.5
    ),
}
TOPICS = {name: DeskTopics.from_settings(desk) for name, desk in PRESETS.items()}

STATE_PAYLOADS = st.one_of(
    NUMBERS,
    HEIGHTS,
    st.text(max_size=60),
    st.sampled_from(["nan", "unknown", "inf", "-inf", "1e100", "1e999999999999", "[" * 3000]),
    json_values().map(json.dumps),
    st.builds(lambda v: json.dumps({"height": v}), json_values(max_leaves=3)),
    NUMBERS.map(lambda n: '{"height": ' + n + "}"),
)


@settings(max_examples=500, deadline=None)
@given(preset=st.sampled_from(sorted(TOPICS)), payload=STATE_PAYLOADS)
@example(preset="upsy-in", payload="1e100")  # more digits than a height can hold
@example(preset="upsy-in", payload="1e999999999999")  # past what decimal arithmetic reaches
@example(preset="json", payload="[" * 3000)  # JSON nested deeper than the parser recurses
@example(preset="json", payload='{"height": "1e100"}')
def test_any_height_payload_is_whole_mm_or_ignored(preset: str, payload: str) -> None:
    TALLY.tried()
    height_mm = TOPICS[preset].decode(payload)
    assert height_mm is None or type(height_mm) is int
    if preset == "cover" and height_mm is not None:
        assert 620 <= height_mm <= 1270, "a cover's position lies between its two heights"


@settings(max_examples=300, deadline=None)
@given(
    preset=st.sampled_from(
        ["upsy-in", "upsy-cm", "custom-mm", "cover", "autonomous", "percent-offset"]
    ),
    height_mm=st.integers(620, 1270),
)
def test_a_height_deskctl_sends_reads_back_within_one_step(preset: str, height_mm: int) -> None:
    TALLY.tried()
    topics = TOPICS[preset]
    read_back = topics.decode(topics.encode(height_mm))
    assert read_back is not None
    assert abs(read_back - height_mm) <= topics.resolution_mm / 2 + 1


HA_TOPICS = ha.Topics()
PROFILES = ("default", "tall", "cornell-20-8-2")
LEAVES = ["height/set", "posture/set", "profile/set", "schedule/set", "inhibit/set", "action"]
WORDS = st.sampled_from(
    ["sit", "stand", "ON", "off", "stop", "skip", "snooze", "pause", "resume", "confirm", "tall"]
)
COMMAND_PAYLOADS = st.one_of(
    HEIGHTS,
    WORDS,
    st.builds(
        lambda w, d: f"{w} {d}", st.sampled_from(["pause", "snooze", "skip", "PAUSE"]), DURATIONS
    ),
    st.text(max_size=40),
)


@settings(max_examples=500, deadline=None)
@given(
    target=st.sampled_from(["office", "all", "x"]),
    leaf=st.sampled_from(LEAVES),
    payload=COMMAND_PAYLOADS,
    retained=st.booleans(),
)
@example(target="office", leaf="action", payload="pause 1e999h", retained=False)
@example(target="office", leaf="height/set", payload="1e400cm", retained=False)
def test_any_command_is_a_request_or_a_one_line_refusal(
    target: str, leaf: str, payload: str, retained: bool
) -> None:
    TALLY.tried()
    topic = f"{HA_TOPICS.base}/{target}/{leaf}"
    result = ha.parse_command(
        HA_TOPICS,
        topic,
        payload.encode("utf-8", "surrogatepass"),
        profiles=PROFILES,
        retained=retained,
    )
    assert result is not None, "a command topic always gets an answer"
    if isinstance(result, ha.Refusal):
        assert result.reason
        assert result.reason.isprintable(), result.reason
        return
    assert not retained
    args: dict[str, Any] = dict(result.args)
    json.dumps(args, allow_nan=False)  # what goes on to the service is plain JSON
    if result.command == "move":
        assert isinstance(args["height_mm"], int)
        assert args["height_mm"] > 0
    if "for" in args:
        assert 1 <= float(str(args["for"]).removesuffix("s")) <= MAX_DURATION_S  # 30 days
