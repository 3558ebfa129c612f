"""The MQTT bridge against what a broker shared with others does to it (issue 10: 5, 16, 17, 20).

Real mosquitto, `mosquitto_sub` as Home Assistant, whole simulated services with the bridge (see
tests/test_bridge.py for the helpers). Injected: a second service with the same bridge id, two
services with default settings on two hosts, profile files that are not profiles, a flood of bad
commands, a desk removed from the settings, and state changes that come with no news. Every wait
is bounded; real time only where the broker is involved, with generous margins.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from deskctl.links.mqtt_desk import broker_client
from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.test_bridge import (
    FAST,
    TZ,
    Msg,
    Watcher,
    having,
    pub,
    retained,
    serving,
    watcher,
)

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


# -- 16: the profile select offers only profiles that can be used --------------------------------
async def test_the_profile_select_offers_only_profiles_that_load(
    mosquitto: Broker, watcher: Watcher, tmp_path: Path
) -> None:
    """A file whose name MQTT refuses, a broken file and an empty one are not offered: choosing
    them in Home Assistant could only end in an error; a good file of the person's is."""
    folder = tmp_path / "deskctl" / "config" / "profiles"
    folder.mkdir(parents=True)
    good = 'sit = "72cm"\nstand = "110cm"\n'
    files = {
        "standing-desk.toml": good,
        "Tall Person.toml": good,  # a valid profile, but not a name MQTT can carry
        "ÜBER.toml": good,
        "broken.toml": 'sit = "72cm"\nstand = \n',  # not TOML
        "nonsense.toml": 'sit = "tall"\n',  # TOML, but no profile
        "empty.toml": "",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        TALLY.fault()
    async with serving(mosquitto.settings(), watcher):
        discovery = await retained(mosquitto, "homeassistant/device/deskctl_office/config")
        assert discovery is not None
        options = discovery.json()["components"]["profile"]["options"]
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/profile/set", "broken")
        error = await watcher.event("office", "error", mark)
    assert "standing-desk" in options
    assert "default" in options
    assert not {"Tall Person", "ÜBER", "broken", "nonsense", "empty"} & set(options)
    assert error["reason"].startswith("there is no profile 'broken'")


# -- 17: a flood of bad commands does not flood the log -------------------------------------------
async def test_a_flood_of_bad_commands_gets_every_error_event_and_a_few_log_lines(
    mosquitto: Broker, watcher: Watcher, caplog: pytest.LogCaptureFixture
) -> None:
    """5,000 refused commands made 5,004 log lines: now the first few are logged, the rest
    counted in one line; every one still gets its `error` event on MQTT."""
    flood = 5000
    caplog.set_level(logging.WARNING, logger="deskctl.bridge")
    async with serving(mosquitto.settings(), watcher) as run:
        mark = watcher.mark()
        async with broker_client(mosquitto.settings()) as sender:
            for _ in range(flood):  # as fast as the broker takes them, one after the other
                await sender.publish("deskctl/office/posture/set", b"lie down", qos=1)
        TALLY.tried(flood)

        def errors() -> list[Msg]:
            events = watcher.since(mark, "deskctl/office/event")
            return [m for m in events if '"type":"error"' in m.payload]

        async with asyncio.timeout(60):
            while len(errors()) < flood:
                await watcher.wait_for(lambda _m: True, since=watcher.mark())
        assert "move_started" not in run.kinds("office")
    lines = [r.getMessage() for r in caplog.records if r.name == "deskctl.bridge"]
    refused = [line for line in lines if "'lie down' is not a posture" in line]
    assert len(refused) == 5
    assert f"{flood - 5} more refused command(s)" in "\n".join(lines)
    assert len(lines) < 20, lines[:30]


# -- 20: the state follows every change, with news or without -------------------------------------
QUIET = replace(FAST, refresh_s=3600.0)  # no periodic refresh hides a missed change


async def test_the_state_follows_the_schedule_into_working_hours(
    mosquitto: Broker, watcher: Watcher
) -> None:
    """Working hours begin at 09:00 with no move (the first change was skipped): no news, yet
    the state says `running` at once, not when the service next looks at its schedule (a
    minute later) or at the next refresh."""
    start = datetime(2026, 11, 30, 8, 59, 40, tzinfo=TZ)
    async with serving(mosquitto.settings(), watcher, start=start, scale=2.0, timing=QUIET) as run:
        clock = run.service.clock
        await run.service.call("skip", "office")
        TALLY.fault()  # a change of state that comes with no event
        mark = watcher.mark()
        await watcher.state("office", mark, having(schedule="running"))
        seen_at = clock.now()
    assert seen_at < datetime(2026, 11, 30, 9, 0, 20, tzinfo=TZ), seen_at


async def test_a_profile_switched_from_the_cli_reaches_home_assistant(
    mosquitto: Broker, watcher: Watcher
) -> None:
    """`deskctl profile use` (the control socket, not MQTT) changes what the state holds and
    says nothing on the event bus: Home Assistant's select follows within moments anyway."""
    async with serving(mosquitto.settings(), watcher, timing=QUIET) as run:
        mark = watcher.mark()
        await run.service.call("profile_use", "office", {"name": "cornell-20-8-2"})
        TALLY.fault()
        state = await watcher.state("office", mark, having(profile="cornell-20-8-2"))
    assert state["profile"] == "cornell-20-8-2"
