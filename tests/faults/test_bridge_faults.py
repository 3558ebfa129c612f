"""The MQTT bridge against what a broker shared with others does to it (issue 10: 5, 16, 17, 20).

Real mosquitto, `mosquitto_sub` as Home Assistant, whole simulated services with the bridge (see
tests/test_bridge.py for the helpers). Injected: a second service with the same bridge id, two
services with default settings on two hosts, profile files that are not profiles, a flood of bad
commands, a desk removed from the settings, and state changes that come with no news. Every wait
is bounded; real time only where the broker is involved, with generous margins.
"""

from __future__ import annotations

import pytest

from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.test_bridge import Watcher, retained, serving, watcher

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
__all__ = ["watcher"]  # the fixture, shared with tests/test_bridge.py


# -- 20: a removed desk leaves Home Assistant without template errors -----------------------------
async def test_a_removed_desk_loses_its_discovery_before_its_state(
    mosquitto: Broker, watcher: Watcher
) -> None:
    """Home Assistant renders every template of a device whose state goes empty while its
    discovery still stands (21 errors in its log): the discovery config is cleared first."""
    async with serving(mosquitto.settings(), watcher, desks=("office", "lab")):
        pass
    mark = watcher.mark()
    async with serving(mosquitto.settings(), watcher, desks=("office",)):
        pass
    TALLY.fault()  # a desk left the settings
    cleared = [m.topic for m in watcher.since(mark) if m.payload == "" and "lab" in m.topic]
    assert cleared == [
        "homeassistant/device/deskctl_lab/config",
        "deskctl/lab/availability",
        "deskctl/lab/state",
    ]
    for topic in cleared:
        assert await retained(mosquitto, topic) is None, topic
