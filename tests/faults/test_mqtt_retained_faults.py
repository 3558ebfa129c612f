"""Retained MQTT commands, published while the service is connected (issue 11).

Real mosquitto; `mosquitto_pub -r` plays a Home Assistant automation or a script that set the
retain flag by mistake; whole simulated services with the bridge (helpers in
tests/test_bridge.py). A retained command sits on the broker and would run again at every
reconnect, so it is refused. The fault this file found: a retained command published while the
bridge was already subscribed moved the desk, because the broker clears the retain flag for
subscriptions that are already there unless they ask for "retain as published" (MQTT 5). Now
the bridge asks for it, refuses such a command with an `error` event, and clears it from the
broker (which it says). Over MQTT 3.1.1 the flag cannot be seen on a live message: such a
command runs once and is refused and cleared at the next connection (tests/test_bridge.py).
"""

from __future__ import annotations

import json

import pytest

from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.test_bridge import Watcher, pub, retained, serving, watcher

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
__all__ = ["watcher"]  # the fixture, shared with tests/test_bridge.py


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("deskctl/office/posture/set", "stand"),
        ("deskctl/office/height/set", "110"),
        ("deskctl/all/posture/set", "stand"),
    ],
)
async def test_a_retained_command_published_while_connected_moves_nothing_and_is_cleared(
    mosquitto: Broker, watcher: Watcher, topic: str, payload: str
) -> None:
    async with serving(mosquitto.settings(), watcher) as run:
        mark = watcher.mark()
        await pub(mosquitto, topic, payload, retain=True)
        TALLY.fault()
        error = await watcher.event("office", "error", mark, topic=topic)
        assert "retained command is refused" in error["reason"]
        assert "cleared from the broker" in error["reason"]
        # the bridge cleared it before it said so: nothing is left to run at a reconnect
        assert await retained(mosquitto, topic) is None
        # the bridge still serves, and its own clear was no command (no second error)
        await pub(mosquitto, "deskctl/office/height/set", "100")
        await run.until(lambda: "arrived" in run.kinds("office"))
        targets = [
            f["target_mm"] for _, _, kind, f in run.recorded.events if kind == "move_started"
        ]
        assert targets == [1000], "the retained command moved the desk"
        events = [json.loads(m.payload) for m in watcher.since(mark, "deskctl/office/event")]
        assert [e["topic"] for e in events if e["type"] == "error"] == [topic]
