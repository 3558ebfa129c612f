"""The MQTT bridge against what a broker shared with others does to it (issue 10: 5, 16, 17, 20).

Real mosquitto, `mosquitto_sub` as Home Assistant, whole simulated services with the bridge (see
tests/test_bridge.py for the helpers). Injected: a second service with the same bridge id, two
services with default settings on two hosts, profile files that are not profiles, a flood of bad
commands, a desk removed from the settings, and state changes that come with no news. Every wait
is bounded; real time only where the broker is involved, with generous margins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import aiomqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from deskctl.adapters import mqtt_bridge as bridge_module
from deskctl.core.ha import host_bridge_id
from deskctl.links.mqtt_broker import broker_client
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
        (folder / "later.toml").write_text(good, encoding="utf-8")  # a file added meanwhile
        await pub(mosquitto, "deskctl/office/profile/set", "later")
        await watcher.state("office", mark, having(profile="later"))
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
    caplog.set_level(logging.WARNING, logger="deskctl.adapters.mqtt_bridge")
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
    lines = [r.getMessage() for r in caplog.records if r.name == "deskctl.adapters.mqtt_bridge"]
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
    start = datetime(2026, 11, 30, 8, 59, 52, tzinfo=TZ)
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


# -- 5: services sharing a broker keep to themselves ---------------------------------------------
def _connects(broker: Broker, client_id: str) -> int:
    """How many times the broker let a client with this id in (its log says each one)."""
    return broker.log().count(f" as {client_id} ")


def _cleared_devices(watcher: Watcher) -> list[str]:
    return [
        m.topic
        for m in watcher.messages
        if m.topic.startswith("homeassistant/device/") and m.payload == ""
    ]


def _arrived(height_mm: int, topic: str | None = None) -> Callable[[Msg], bool]:
    def match(m: Msg) -> bool:
        if not m.topic.endswith("/event") or (topic is not None and m.topic != topic):
            return False
        return bool(having(type="arrived", height_mm=height_mm)(m.json()))

    return match


@contextlib.asynccontextmanager
async def _logged(text: str) -> AsyncIterator[asyncio.Event]:
    """An event set when the bridge logs a line holding `text`."""
    seen = asyncio.Event()

    class Spotter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if text in record.getMessage():
                seen.set()

    spotter = Spotter()
    logger = logging.getLogger("deskctl.adapters.mqtt_bridge")
    logger.addHandler(spotter)
    try:
        yield seen
    finally:
        logger.removeHandler(spotter)


async def test_two_services_with_default_settings_on_two_hosts_keep_to_themselves(
    mosquitto: Broker, watcher: Watcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Two gateways, neither with a bridge_id: they shared one client id and one record, threw
    each other off the broker about once a second and each cleared the other's devices. Now
    each has its own id (from host and user), and both devices stay."""
    caplog.set_level(logging.INFO, logger="deskctl.adapters.mqtt_bridge")
    monkeypatch.setattr(bridge_module, "_this_host", lambda: ("gw-a.local", "pi", "m-a"))
    async with serving(
        mosquitto.settings(), watcher, desks=("office",), bridge_id=None,
        published_file=tmp_path / "a.json",
    ):  # fmt: skip
        monkeypatch.setattr(bridge_module, "_this_host", lambda: ("gw-b.local", "pi", "m-b"))
        TALLY.fault()  # a second service with default settings
        async with serving(
            mosquitto.settings(), watcher, desks=("lab",), bridge_id=None,
            published_file=tmp_path / "b.json",
        ):  # fmt: skip
            mark = watcher.mark()
            await pub(mosquitto, "deskctl/all/posture/set", "stand")
            for desk in ("office", "lab"):
                assert (await watcher.event(desk, "arrived", mark))["height_mm"] == 1100
            for desk in ("office", "lab"):
                assert await retained(mosquitto, f"homeassistant/device/deskctl_{desk}/config")
    assert _cleared_devices(watcher) == []
    assert "lost the connection" not in caplog.text
    ids = {m.topic for m in watcher.messages if m.topic.endswith("/availability")}
    assert {t for t in ids if t.startswith("deskctl/bridge/")} == {
        f"deskctl/bridge/{host_bridge_id('gw-a.local', 'pi', 'm-a')}/availability",
        f"deskctl/bridge/{host_bridge_id('gw-b.local', 'pi', 'm-b')}/availability",
    }


async def test_two_services_with_one_bridge_id_back_off_and_say_what_to_change(
    mosquitto: Broker, watcher: Watcher, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two services set to the same bridge_id share a client id: the broker throws one off
    whenever the other connects. Now the one thrown off repeatedly says in one sentence to
    give each its own bridge_id and stays away instead of fighting, and neither clears the
    other's device."""
    caplog.set_level(logging.INFO, logger="deskctl.adapters.mqtt_bridge")
    timing = replace(FAST, takeover_s=5.0, takeover_backoff_s=(120.0,))
    client_id = "deskctl-bridge-shared"
    async with _logged("give each its own bridge_id") as warned, serving(
        mosquitto.settings(), watcher, desks=("office",), bridge_id="shared", timing=timing,
        published_file=tmp_path / "a.json",
    ):  # fmt: skip
        TALLY.fault()  # the same bridge id on a second service
        async with serving(
            mosquitto.settings(), None, desks=("lab",), bridge_id="shared", timing=timing,
            published_file=tmp_path / "b.json",
        ):  # fmt: skip
            async with asyncio.timeout(30):
                await warned.wait()
            settled = _connects(mosquitto, client_id)
            # the other keeps the connection: commands reach its desk (sent again until its
            # session is set up: a command sent before that is not for anyone)
            mark = watcher.mark()
            arrived = None
            for _ in range(10):
                await pub(mosquitto, "deskctl/all/posture/set", "stand")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2):
                        arrived = await watcher.wait_for(_arrived(1100), since=mark)
                if arrived is not None:
                    break
            assert arrived is not None
            await pub(mosquitto, "deskctl/all/posture/set", "sit")
            await watcher.wait_for(_arrived(720, topic=arrived.topic), since=mark)
            assert _connects(mosquitto, client_id) - settled <= 1
    warnings = [r.getMessage() for r in caplog.records if "its own bridge_id" in r.getMessage()]
    assert "this one is 'shared'" in warnings[0]
    assert "waiting 120 s instead of taking the connection back" in warnings[0]
    assert _connects(mosquitto, client_id) < 20
    assert _cleared_devices(watcher) == []


async def test_a_desk_moved_to_another_gateway_is_left_to_it(
    mosquitto: Broker, watcher: Watcher, tmp_path: Path
) -> None:
    """A desk moves from gateway r1 to gateway r2, and r2 starts first: when r1 starts
    without it, it must not clear the device r2 now publishes."""
    r1, r2 = tmp_path / "r1.json", tmp_path / "r2.json"
    async with serving(mosquitto.settings(), watcher, desks=("office", "lab"), bridge_id="r1",
                       published_file=r1):  # fmt: skip
        pass
    async with serving(mosquitto.settings(), watcher, desks=("lab",), bridge_id="r2",
                       published_file=r2):  # fmt: skip
        pass
    TALLY.fault()  # the desk's old gateway starts after its new one
    async with serving(mosquitto.settings(), watcher, desks=("office",), bridge_id="r1",
                       published_file=r1):  # fmt: skip
        pass
    assert _cleared_devices(watcher) == []
    assert await retained(mosquitto, "homeassistant/device/deskctl_lab/config") is not None


def test_the_brokers_session_taken_over_is_recognised() -> None:
    """MQTT 5 brokers say why they closed the session (0x8E): that reason alone is enough."""
    taken = ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E)
    ended = aiomqtt.MqttError("Disconnected during message iteration")
    ended.__cause__ = aiomqtt.MqttCodeError(taken, "Unexpected disconnection")
    assert bridge_module._taken_over(ended)
    lost = aiomqtt.MqttCodeError(ReasonCode(PacketTypes.DISCONNECT, identifier=0x80), "lost")
    assert not bridge_module._taken_over(lost)
