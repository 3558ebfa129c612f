"""The MQTT bridge against a real mosquitto, with `mosquitto_pub`/`mosquitto_sub` as Home Assistant.

Each test runs whole simulated services (the simulated desk on a scaled clock, on the real event
loop) with the bridge, and waits (bounded) for what a home-automation user would see on the
broker: retained discovery and state, events, and the desk's height.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import random
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from pydantic import SecretStr

from deskctl import __version__
from deskctl.adapters.mqtt_bridge import BridgeTiming, MqttBridge, run_bridge
from deskctl.config.profile_library import find_profiles
from deskctl.config.settings import DeskSettings, MqttSettings, Settings
from deskctl.core.ha import DeskInfo, Request, Topics, discovery_payload, parse_command
from deskctl.errors import ConfigError, LinkError
from deskctl.service.assembly import build_companions, build_service
from deskctl.service.core import Service
from deskctl.sim.jiecang_links import SimJiecangLink
from deskctl.sim.links import SimLink
from tests.mosquitto import Broker
from tests.service_harness import Recorded
from tests.warp import fast_forward, run_warped

TZ = ZoneInfo("Europe/Berlin")
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)  # off hours: only remote commands move
MONDAY = datetime(2026, 11, 30, 9, 50, tzinfo=TZ)  # next change at 10:15
FAST = BridgeTiming(moving_interval_s=0.05, sync_timeout_s=3.0, backoff_s=(0.1, 0.2, 0.5))
WAIT_S = 15.0


@pytest.fixture(autouse=True)
def _own_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path / "config"))


# -- the home-automation side ---------------------------------------------------------------------
@dataclass(frozen=True)
class Msg:
    retained: bool
    topic: str
    payload: str

    def json(self) -> Any:
        return json.loads(self.payload)


WATCHED = ["deskctl/+/state", "deskctl/+/event", "deskctl/+/availability", "deskctl/bridge/#",
           "homeassistant/#", "test/probe"]  # fmt: skip


class Watcher:
    """`mosquitto_sub` on what the bridge publishes (not the commands), kept in order."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.messages: list[Msg] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new = asyncio.Event()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            "mosquitto_sub", *self.broker.client_args(), "-F", "%r\t%t\t%p",
            *[arg for topic in WATCHED for arg in ("-t", topic)], stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        # a retained probe arrives whenever the subscription is in place: then we are watching
        await pub(self.broker, "test/probe", "ready", retain=True)
        await self.wait_for(lambda m: m.topic == "test/probe")

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        async for raw in self._process.stdout:
            retained, topic, payload = raw.decode(errors="replace").rstrip("\n").split("\t", 2)
            self.messages.append(Msg(retained == "1", topic, payload))
            self._new.set()

    async def stop(self) -> None:
        if self._process is not None:
            await _end(self._process)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def mark(self) -> int:
        return len(self.messages)

    def since(self, mark: int, topic: str | None = None) -> list[Msg]:
        return [m for m in self.messages[mark:] if topic is None or m.topic == topic]

    async def wait_for(
        self,
        match: Callable[[Msg], bool],
        *,
        since: int = 0,
    ) -> Msg:
        async with _dumping(self), asyncio.timeout(WAIT_S):
            while True:
                for message in self.messages[since:]:
                    if match(message):
                        return message
                since = len(self.messages)
                self._new.clear()
                await self._new.wait()

    async def event(self, desk: str, kind: str, since: int, **fields: Any) -> dict[str, Any]:
        def matches(m: Msg) -> bool:
            if m.topic != f"deskctl/{desk}/event":
                return False
            data = m.json()
            return bool(data["type"] == kind and all(data.get(k) == v for k, v in fields.items()))

        event: dict[str, Any] = (await self.wait_for(matches, since=since)).json()
        return event

    async def state(
        self, desk: str, since: int, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        found = await self.wait_for(
            lambda m: m.topic == f"deskctl/{desk}/state" and match(m.json()), since=since
        )
        state: dict[str, Any] = found.json()
        return state


def having(**fields: Any) -> Callable[[dict[str, Any]], bool]:
    """A state (or event) match: these fields have these values."""
    return lambda data: all(data.get(key) == value for key, value in fields.items())


async def pub(broker: Broker, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
    args = ["mosquitto_pub", *broker.client_args(), "-t", topic, "-q", "1"]
    if retain:
        args.append("-r")
    data = payload.encode() if isinstance(payload, str) else payload
    args += ["-s"] if data else ["-n"]
    process = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE)
    await process.communicate(data or None)
    assert process.returncode == 0


async def retained(broker: Broker, topic: str) -> Msg | None:
    """What a subscriber gets at once on `topic`: its retained message, or None.

    The subscription also asks for a retained end marker, which the broker sends after any
    retained message of `topic` (filters are answered in order): no waiting for a timeout.
    """
    await pub(broker, "test/end", "end", retain=True)
    process = await asyncio.create_subprocess_exec(
        "mosquitto_sub", *broker.client_args(), "-t", topic, "-t", "test/end",
        "-F", "%r\t%t\t%p", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    found = None
    try:
        async with asyncio.timeout(WAIT_S):
            async for raw in process.stdout:
                flag, name, payload = raw.decode(errors="replace").rstrip("\n").split("\t", 2)
                if name == "test/end":
                    break
                found = Msg(flag == "1", name, payload)
    finally:
        await _end(process)
    return found


async def _end(process: asyncio.subprocess.Process) -> None:
    # SIGKILL: a busy mosquitto_sub can have SIGTERM blocked and would never end
    if process.returncode is None:
        process.kill()
    await process.wait()


# -- services with a bridge -----------------------------------------------------------------------
@dataclass
class Running:
    service: Service
    bridge: MqttBridge
    recorded: Recorded
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def height_mm(self, desk: str) -> int | None:
        return self.service.desks[desk].link.height_mm

    def kinds(self, desk: str) -> list[str]:
        return [kind for name, _, kind, _ in self.recorded.events if name == desk]

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait (bounded) until `done()` holds, looking again after every service event."""
        async with asyncio.timeout(WAIT_S):
            while not done():
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def serving(
    mqtt: MqttSettings,
    watcher: Watcher | None,
    *,
    desks: tuple[str, ...] = ("office",),
    start: datetime = SATURDAY,
    scale: float = 20.0,
    bridge_id: str | None = "default",
    timing: BridgeTiming = FAST,
    events: bool = True,
    published_file: Path | None = None,
    presence: bool = False,
    presets: dict[str, str | int | float] | None = None,
    sim: str = "model",
) -> AsyncIterator[Running]:
    """A simulated service (`sim`: the simulated desk, as `--sim` takes it) and its bridge
    (`bridge_id=None`: the settings' default); the bridge remembers what it published in
    `published_file` (default: in the state folder); every desk has `presets`."""
    settings = Settings(desks={name: DeskSettings(presets=presets or {}) for name in desks})
    service = build_service(settings, TZ, simulate=True, time_scale=scale, start_at=start, sim=sim)
    for runner in service.desks.values():
        assert isinstance(runner.link, SimLink | SimJiecangLink)
        runner.link._persist = False
    recorded = Recorded()
    service.subscribe(recorded)
    bridge = MqttBridge(
        service,
        mqtt,
        bridge_id=bridge_id,
        events=events,
        timing=timing,
        published_file=published_file,
    )
    running = Running(service, bridge, recorded, asyncio.Event())
    service.subscribe(lambda _event: running.changed.set())
    mark = watcher.mark() if watcher is not None else 0
    beside = build_companions(service, settings, TZ, simulate=True) if presence else []
    running.tasks.append(asyncio.create_task(service.run(beside=beside)))
    running.tasks.append(asyncio.create_task(bridge.run(running.stop)))
    try:
        if watcher is not None:
            for desk in desks:
                await watcher.state(desk, mark, lambda s: s["height_mm"] is not None)
        yield running
    finally:
        running.stop.set()
        await running.tasks[1]
        service.request_stop()
        await running.tasks[0]


@pytest.fixture
async def watcher(mosquitto: Broker) -> AsyncIterator[Watcher]:
    watching = Watcher(mosquitto)
    await watching.start()
    try:
        yield watching
    finally:
        await watching.stop()


# -- discovery and state --------------------------------------------------------------------------
async def test_discovery_state_and_availability_are_retained_for_home_assistant(
    mosquitto: Broker, watcher: Watcher
) -> None:
    async with serving(mosquitto.settings(), watcher) as run:
        discovery = await retained(mosquitto, "homeassistant/device/deskctl_office/config")
        state = await retained(mosquitto, "deskctl/office/state")
        desk_up = await retained(mosquitto, "deskctl/office/availability")
        bridge_up = await retained(mosquitto, "deskctl/bridge/availability")
        link = run.service.desks["office"].link
    assert discovery is not None
    assert discovery.retained
    info = DeskInfo("office", link.min_mm, link.max_mm, "deskctl", "Simulated LINAK desk")
    expected = discovery_payload(Topics(), info, sorted(find_profiles()), sw_version=__version__)
    assert discovery.json() == json.loads(json.dumps(expected))
    assert state is not None
    assert state.retained
    assert state.json()["height_mm"] == 750
    assert state.json()["profile"] == "default"
    assert state.json()["schedule"] == "off_hours"
    assert (desk_up, bridge_up) == (
        Msg(True, "deskctl/office/availability", "online"),
        Msg(True, "deskctl/bridge/availability", "online"),
    )
    # a clean stop says offline on both, so Home Assistant greys the entities out
    assert await retained(mosquitto, "deskctl/bridge/availability") == Msg(
        True, "deskctl/bridge/availability", "offline"
    )
    assert await retained(mosquitto, "deskctl/office/availability") == Msg(
        True, "deskctl/office/availability", "offline"
    )


# -- commands -------------------------------------------------------------------------------------
async def test_height_and_posture_commands_move_the_desk(
    mosquitto: Broker, watcher: Watcher
) -> None:
    async with serving(mosquitto.settings(), watcher) as run:
        for payload, height_mm in [("110", 1100), ("800mm", 800), ("28.5in", 724)]:
            mark = watcher.mark()
            await pub(mosquitto, "deskctl/office/height/set", payload)
            arrived = await watcher.event("office", "arrived", mark)
            assert arrived["height_mm"] == height_mm
            state = await watcher.state("office", mark, lambda s: not s["moving"])
            assert state["height_mm"] == height_mm
        for posture, height_mm in [("stand", 1100), ("SIT", 720)]:
            mark = watcher.mark()
            await pub(mosquitto, "deskctl/office/posture/set", posture)
            started = await watcher.event("office", "move_started", mark)
            assert started["target_mm"] == height_mm
            assert (await watcher.event("office", "arrived", mark))["height_mm"] == height_mm
            await watcher.state("office", mark, having(height_mm=height_mm, moving=False))
        rest_mm = run.height_mm("office")
        assert rest_mm is not None
        assert abs(rest_mm - 720) <= 1  # a real desk rests within 0.5 mm of it


@pytest.mark.usefixtures("sit_stand_30_15")
async def test_a_move_reports_its_progress_then_where_it_landed(
    mosquitto: Broker, watcher: Watcher
) -> None:
    async with serving(mosquitto.settings(), watcher, scale=4.0):
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/height/set", "120")
        await watcher.event("office", "arrived", mark)
        states = [m.json() for m in watcher.since(mark, "deskctl/office/state")]
    moving = [s for s in states if s["moving"]]
    assert moving, "no state while moving"
    assert all(750 <= s["height_mm"] <= 1200 for s in moving)
    assert [s["height_mm"] for s in moving] == sorted(s["height_mm"] for s in moving)
    assert states[-1]["moving"] is False
    assert states[-1]["height_mm"] == 1200


async def test_stop_gets_through_while_the_desk_moves(mosquitto: Broker, watcher: Watcher) -> None:
    async with serving(mosquitto.settings(), watcher, scale=2.0) as run:
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/height/set", "127")
        await watcher.state("office", mark, lambda s: s["moving"] and s["height_mm"] > 800)
        await pub(mosquitto, "deskctl/office/action", "stop")
        state = await watcher.state("office", watcher.mark(), lambda s: not s["moving"])
        assert 800 < state["height_mm"] < 1200
        assert "arrived" not in run.kinds("office")


async def test_profile_schedule_and_inhibit_commands(mosquitto: Broker, watcher: Watcher) -> None:
    async with serving(mosquitto.settings(), watcher, start=MONDAY, scale=1.0) as run:
        steps: list[tuple[str, str, Callable[[dict[str, Any]], bool]]] = [
            ("profile/set", "cornell-20-8-2", lambda s: s["profile"] == "cornell-20-8-2"),
            ("profile/set", "default", lambda s: s["profile"] == "default"),
            ("schedule/set", "OFF", lambda s: s["schedule"] == "off"),
            ("schedule/set", "ON", lambda s: s["schedule"] == "running"),
            ("inhibit/set", "ON", lambda s: s["inhibited"] and s["schedule"] == "inhibited"),
            ("inhibit/set", "OFF", lambda s: not s["inhibited"] and s["schedule"] == "running"),
        ]
        for leaf, payload, match in steps:
            mark = watcher.mark()
            await pub(mosquitto, f"deskctl/office/{leaf}", payload)
            await watcher.state("office", mark, match)
        assert run.service.desks["office"].profile.name == "default"
        assert "move_started" not in run.kinds("office")


async def test_presence_from_home_automation_holds_the_desk_and_auto_hands_back(
    mosquitto: Broker, watcher: Watcher
) -> None:
    """`B/D/presence/set` reaches the presence model through the service; the state says what
    deskctl believes; a retained one is refused and cleared, and changes nothing."""
    async with serving(
        mosquitto.settings(), watcher, start=MONDAY, scale=1.0, presence=True
    ) as run:
        steps: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
            ("away", lambda s: s["presence"]["state"] == "away" and s["waiting_for"] == "away"),
            ("present", lambda s: s["presence"]["state"] == "present"),
            ("auto", lambda s: s["presence"] == {**s["presence"], "state": "unknown",
                                                 "mode": "auto"}),
        ]  # fmt: skip
        for payload, match in steps:
            mark = watcher.mark()
            await pub(mosquitto, "deskctl/office/presence/set", payload)
            await watcher.state("office", mark, match)
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/presence/set", "away", retain=True)
        await watcher.event("office", "error", mark, topic="deskctl/office/presence/set")
        assert await retained(mosquitto, "deskctl/office/presence/set") is None
        presence = run.service.snapshot()["office"].presence
        assert presence is not None
        assert presence["state"] == "unknown", "a retained word changes nothing"


async def test_steps_from_home_automation_show_against_the_goal_and_bad_ones_are_ignored(
    mosquitto: Broker, watcher: Watcher, caplog: pytest.LogCaptureFixture
) -> None:
    """`B/D/steps/set` hands today's count to the service: every desk's state shows it with the
    goal; a bad payload is ignored with an `error` event and one log line, a retained one is
    refused and cleared, and neither changes the count nor stops the bridge."""
    async with serving(
        mosquitto.settings(), watcher, desks=("office", "lab"), start=MONDAY, scale=1.0
    ) as run:
        first = await retained(mosquitto, "deskctl/office/state")
        assert first is not None
        assert (first.json()["steps_today"], first.json()["steps_goal"]) == (None, 8000)
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/steps/set", "5200")
        await watcher.state("office", mark, lambda s: s["steps_today"] == 5200)
        await watcher.state("lab", mark, lambda s: s["steps_today"] == 5200)  # the person's
        for payload, why in (("lots", "'lots' is not a step count"), ("5,200", "ambiguous")):
            mark = watcher.mark()
            await pub(mosquitto, "deskctl/office/steps/set", payload)
            error = await watcher.event("office", "error", mark, topic="deskctl/office/steps/set")
            assert why in error["reason"]
            said = [r.getMessage() for r in caplog.records if payload in r.getMessage()]
            assert len(said) == 1, said
            assert "\n" not in said[0]
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/steps/set", "9000", retain=True)
        await watcher.event("office", "error", mark, topic="deskctl/office/steps/set")
        assert await retained(mosquitto, "deskctl/office/steps/set") is None
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/steps/set", "6100")  # the bridge goes on
        await watcher.state("office", mark, lambda s: s["steps_today"] == 6100)
        status = run.service.snapshot()["office"]
        assert (status.steps_today, status.steps_goal) == (6100, 8000)


@pytest.mark.usefixtures("sit_stand_30_15")
async def test_actions_skip_snooze_pause_resume_and_confirm(
    mosquitto: Broker, watcher: Watcher
) -> None:
    async with serving(mosquitto.settings(), watcher, start=MONDAY, scale=1.0) as run:
        first = await retained(mosquitto, "deskctl/office/state")
        assert first is not None
        assert first.json()["next_change_at"] == "2026-11-30T10:15:00+01:00"
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/action", "skip")
        dropped = await watcher.event("office", "dropped", mark, why="skipped")
        assert dropped["start"] == "2026-11-30T10:15:00+01:00"
        await watcher.state(  # still sitting: the next change is the stand after the skipped one
            "office", mark, lambda s: s["next_change_at"] == "2026-11-30T11:00:00+01:00"
        )
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/action", "snooze 20m")
        await watcher.state(
            "office", mark, lambda s: s["next_change_at"] == "2026-11-30T11:20:00+01:00"
        )
        for action, schedule in [("pause", "paused"), ("resume", "running"),
                                 ("pause 45m", "paused"), ("resume", "running")]:  # fmt: skip
            mark = watcher.mark()
            await pub(mosquitto, "deskctl/office/action", action)
            await watcher.state("office", mark, having(schedule=schedule))
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/action", "confirm")
        error = await watcher.event("office", "error", mark)
        assert error["reason"] == "there is no move waiting for a confirmation"
        assert error["topic"] == "deskctl/office/action"
        assert "move_started" not in run.kinds("office")


BAD = [
    ("height/set", b"200", "200.0 cm is above this desk's highest allowed height of 127.0 cm"),
    ("height/set", b"40cm", "40.0 cm is below this desk's lowest allowed height of 62.0 cm"),
    ("height/set", b"tall", "'tall' is not a height"),
    ("height/set", b"\xff\xfe\x00", "the payload is not UTF-8 text"),
    ("height/set", b"", "the payload is empty"),
    ("height/set", b"1" * 1000, "the payload is too long (1000 bytes)"),
    ("posture/set", b"away", "'away' is not a posture to move to; send sit or stand"),
    ("profile/set", b"nobody", "there is no profile 'nobody'"),
    ("schedule/set", b"sometimes", "send ON or OFF"),
    ("inhibit/set", b"{}", "send ON or OFF"),
    ("action", b"jump", "'jump' is not an action"),
    ("action", b"snooze soon", "is not a duration"),
    ("volume/set", b"11", "'volume/set' is not a command topic"),
]


async def test_a_bad_payload_moves_nothing_and_says_why(
    mosquitto: Broker, watcher: Watcher
) -> None:
    garbage = random.Random(6)
    async with serving(mosquitto.settings(), watcher) as run:
        for leaf, payload, reason in BAD:
            mark = watcher.mark()
            await pub(mosquitto, f"deskctl/office/{leaf}", payload)
            error = await watcher.event("office", "error", mark)
            assert reason in error["reason"], (leaf, payload)
            assert error["topic"] == f"deskctl/office/{leaf}"
        for _ in range(20):  # random bytes on every command topic
            leaf = garbage.choice(["height/set", "posture/set", "profile/set", "schedule/set",
                                   "inhibit/set", "action"])  # fmt: skip
            junk = bytes(garbage.randrange(256) for _ in range(garbage.randrange(1, 40)))
            topic = f"deskctl/office/{leaf}"
            if isinstance(parse_command(Topics(), topic, junk, profiles=find_profiles()), Request):
                continue  # random bytes that happen to spell a command
            mark = watcher.mark()
            await pub(mosquitto, topic, junk)
            await watcher.event("office", "error", mark, topic=f"deskctl/office/{leaf}")
        # the bridge still works after all that
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/height/set", "90")
        assert (await watcher.event("office", "arrived", mark))["height_mm"] == 900
        assert run.kinds("office").count("move_started") == 1


async def test_remote_moves_wait_while_inhibited(mosquitto: Broker, watcher: Watcher) -> None:
    async with serving(mosquitto.settings(), watcher) as run:
        mark = watcher.mark()
        # sent back to back: the inhibit is in force before the move is checked
        await pub(mosquitto, "deskctl/office/inhibit/set", "ON")
        await pub(mosquitto, "deskctl/office/posture/set", "stand")
        error = await watcher.event("office", "error", mark)
        assert error["reason"] == (
            "desk 'office' is inhibited: turn inhibit OFF before moving it remotely"
        )
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/inhibit/set", "OFF")
        await pub(mosquitto, "deskctl/office/posture/set", "stand")
        assert (await watcher.event("office", "arrived", mark))["height_mm"] == 1100
        assert run.kinds("office").count("move_started") == 1


async def test_without_mqtt_notices_only_command_errors_are_events(
    mosquitto: Broker, watcher: Watcher
) -> None:
    async with serving(mosquitto.settings(), watcher, events=False):
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/height/set", "90")
        await watcher.state("office", mark, having(height_mm=900, moving=False))
        await pub(mosquitto, "deskctl/office/height/set", "900")
        error = await watcher.event("office", "error", mark)
        assert "above this desk's highest" in error["reason"]
        kinds = [m.json()["type"] for m in watcher.since(mark, "deskctl/office/event")]
    assert kinds == ["error"]


async def test_a_retained_command_found_at_connection_is_refused_and_cleared(
    mosquitto: Broker, watcher: Watcher
) -> None:
    await pub(mosquitto, "deskctl/office/posture/set", "stand", retain=True)
    try:
        async with serving(mosquitto.settings(), watcher) as run:
            await watcher.event("office", "error", 0, topic="deskctl/office/posture/set")
            assert "move_started" not in run.kinds("office")
            assert await retained(mosquitto, "deskctl/office/posture/set") is None
    finally:
        await pub(mosquitto, "deskctl/office/posture/set", b"", retain=True)


async def test_over_mqtt_3_1_1_a_live_retained_command_runs_once_then_is_refused_and_cleared(
    mosquitto: Broker, watcher: Watcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MQTT 3.1.1 has no retain-as-published: the broker clears the flag of a live message, so
    the bridge cannot tell (docs/home-assistant.md says so); at the next connection the command
    arrives as retained, and is refused and cleared."""
    init = MqttBridge.__init__

    def mqtt_3_1_1(self: MqttBridge, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._protocol = aiomqtt.ProtocolVersion.V311

    monkeypatch.setattr(MqttBridge, "__init__", mqtt_3_1_1)
    topic = "deskctl/office/height/set"
    try:
        async with serving(mosquitto.settings(), watcher) as run:
            await pub(mosquitto, topic, "100", retain=True)
            await run.until(lambda: "arrived" in run.kinds("office"))
        mark = watcher.mark()
        async with serving(mosquitto.settings(), watcher) as run:
            error = await watcher.event("office", "error", mark, topic=topic)
            assert "retained command is refused" in error["reason"]
            assert "move_started" not in run.kinds("office")
            assert await retained(mosquitto, topic) is None
    finally:
        await pub(mosquitto, topic, b"", retain=True)


@contextlib.asynccontextmanager
async def _dumping(w: Watcher) -> AsyncIterator[None]:
    """On a timeout, print the last messages seen: what the test waited for instead."""
    try:
        yield
    except TimeoutError:
        for m in w.messages[-25:]:
            print(m.retained, m.topic, m.payload[:160])
        raise


# -- the connection -------------------------------------------------------------------------------
async def test_tls_with_a_password_file(
    mosquitto_tls: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    watching = Watcher(mosquitto_tls)
    await watching.start()
    try:
        async with serving(mosquitto_tls.settings(), watching):
            mark = watching.mark()
            await pub(mosquitto_tls, "deskctl/office/height/set", "100")
            assert (await watching.event("office", "arrived", mark))["height_mm"] == 1000
        discovery = await retained(mosquitto_tls, "homeassistant/device/deskctl_office/config")
        assert discovery is not None
        assert discovery.retained
    finally:
        await watching.stop()
    assert "tls_insecure" not in caplog.text


# paho-mqtt 2.2 leaves the SSL socket of a failed handshake to the garbage collector
PAHO_LEAKS_THE_SOCKET = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnraisableExceptionWarning"
)


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"password": SecretStr("wrong")}, "refused this client as not authorised; check username "
                                           "and password in the [mqtt] settings"),
        ({"username": None, "password": None}, "refused this client as not authorised"),
        pytest.param({"ca_file": None}, "the TLS handshake with the MQTT broker at 127.0.0.1:",
                     marks=PAHO_LEAKS_THE_SOCKET),
    ],
)  # fmt: skip
async def test_a_refused_connection_fails_with_one_clear_sentence(
    mosquitto_tls: Broker, changes: dict[str, Any], sentence: str
) -> None:
    settings = Settings(desks={"office": DeskSettings()})
    service = build_service(settings, TZ, simulate=True, time_scale=1.0, start_at=SATURDAY)
    stop = asyncio.Event()
    subscribers = list(service._subscribers)
    with pytest.raises(LinkError) as failed:
        async with asyncio.timeout(WAIT_S):
            await run_bridge(service, mosquitto_tls.settings(**changes), stop=stop, timing=FAST)
    message = str(failed.value)
    assert sentence in message
    assert "\n" not in message
    assert failed.value.__cause__ is None  # no chained traceback for the CLI to show
    assert failed.value.__context__ is None
    assert service._subscribers == subscribers  # the bridge unsubscribed
    gc.collect()  # anything the failed connection left behind is found during this test


async def test_tls_insecure_is_said_out_loud(
    mosquitto_tls: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(mosquitto_tls.settings(tls_insecure=True), None):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("tls_insecure is on" in w and "pose as the broker" in w for w in warnings)


@pytest.mark.parametrize(
    ("desks", "bridge_id", "fragment"),
    [(("all",), "default", "reserved"), (("a/b",), "default", "'/'"),
     (("office",), "room 2", "bridge id 'room 2'")],
)  # fmt: skip
async def test_names_mqtt_cannot_carry_are_config_errors(
    mosquitto: Broker, desks: tuple[str, ...], bridge_id: str, fragment: str
) -> None:
    settings = Settings(desks={name: DeskSettings() for name in desks})
    service = build_service(settings, TZ, simulate=True, time_scale=1.0, start_at=SATURDAY)
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        await run_bridge(service, mosquitto.settings(), bridge_id=bridge_id, stop=asyncio.Event())


async def test_all_reaches_every_desk_of_every_service(mosquitto: Broker, watcher: Watcher) -> None:
    async with (
        serving(mosquitto.settings(), watcher, desks=("left", "middle")) as room_a,
        serving(mosquitto.settings(), watcher, desks=("right",), bridge_id="room-b") as room_b,
    ):
        assert await retained(mosquitto, "deskctl/bridge/room-b/availability") == Msg(
            True, "deskctl/bridge/room-b/availability", "online"
        )
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/all/posture/set", "stand")
        for desk in ("left", "middle", "right"):
            assert (await watcher.event(desk, "arrived", mark))["height_mm"] == 1100
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/all/height/set", "300")  # out of range for every desk
        for desk in ("left", "middle", "right"):
            assert (
                "above this desk's highest" in (await watcher.event(desk, "error", mark))["reason"]
            )
        assert [
            room_a.height_mm("left"),
            room_a.height_mm("middle"),
            room_b.height_mm("right"),
        ] == [
            1100,
            1100,
            1100,
        ]
    # each bridge's last word is on its own topic: one stopping does not grey out the other
    # (waited for: the broker may deliver the last one after the bridge has stopped)
    for topic in (
        "deskctl/bridge/availability",
        "deskctl/bridge/room-b/availability",
    ):
        await watcher.wait_for(partial(_offline_on, topic))


async def test_a_desk_that_left_the_settings_leaves_home_assistant(
    mosquitto: Broker, watcher: Watcher
) -> None:
    async with serving(mosquitto.settings(), watcher, desks=("office", "lab")):
        pass
    assert await retained(mosquitto, "homeassistant/device/deskctl_lab/config") is not None
    async with serving(mosquitto.settings(), watcher, desks=("office",)):
        pass
    for topic in ("homeassistant/device/deskctl_lab/config", "deskctl/lab/state",
                  "deskctl/lab/availability"):  # fmt: skip
        assert await retained(mosquitto, topic) is None, topic
    assert await retained(mosquitto, "homeassistant/device/deskctl_office/config") is not None
    record = await retained(mosquitto, "deskctl/bridge/desks")
    assert record is not None
    assert list(record.json()["desks"]) == ["office"]


async def test_each_preset_is_a_button_and_a_removed_one_leaves_home_assistant(
    mosquitto: Broker, watcher: Watcher
) -> None:
    focus = "homeassistant/button/deskctl_office_preset_focus/config"
    reading = "homeassistant/button/deskctl_office_preset_reading/config"
    async with serving(
        mosquitto.settings(), watcher, presets={"focus": "105cm", "reading": "80cm"}
    ):
        button = await retained(mosquitto, focus)
        assert button is not None
        config = button.json()
        assert config["device"] == {"identifiers": ["deskctl_office"]}
        assert config["command_topic"] == "deskctl/office/preset/set"
        assert config["name"] == "Preset focus (105.0 cm)"
        mark = watcher.mark()
        await pub(mosquitto, config["command_topic"], config["payload_press"])
        assert (await watcher.event("office", "arrived", mark))["height_mm"] == 1050
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/preset/set", "tall")
        reason = (await watcher.event("office", "error", mark))["reason"]
        assert "no preset called 'tall'" in reason
    assert await retained(mosquitto, reading) is not None
    async with serving(mosquitto.settings(), watcher, presets={"focus": "105cm"}):
        pass
    assert await retained(mosquitto, reading) is None, "the removed preset's button is cleared"
    assert await retained(mosquitto, focus) is not None
    assert await retained(mosquitto, "homeassistant/device/deskctl_office/config") is not None
    record = await retained(mosquitto, "deskctl/bridge/desks")
    assert record is not None
    assert focus in record.json()["desks"]["office"]
    assert reading not in record.json()["desks"]["office"]


async def test_release_and_connect_over_mqtt(mosquitto: Broker, watcher: Watcher) -> None:
    async with serving(mosquitto.settings(), watcher) as running:
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/release", "PRESS")
        state = await watcher.state("office", mark, lambda s: s["released_until"] is not None)
        assert state["connected"] is False
        await running.until(lambda: not running.service.desks["office"].link.connected)
        mark = watcher.mark()
        await pub(mosquitto, "deskctl/office/connect", "PRESS")
        await watcher.state("office", mark, having(released_until=None, connected=True))
        await watcher.state("office", mark, having(connected=True, height_mm=750))


async def test_a_desk_name_another_bridge_publishes_is_warned_about(
    mosquitto: Broker, watcher: Watcher, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(mosquitto.settings(), watcher, desks=("office",)):
        pass
    async with serving(mosquitto.settings(), watcher, desks=("office",), bridge_id="room-b"):
        pass
    assert "deskctl/bridge/desks also lists desk(s) office" in caplog.text


async def test_home_assistant_starting_gets_discovery_and_state_again(
    mosquitto: Broker, watcher: Watcher
) -> None:
    async with serving(mosquitto.settings(), watcher):
        mark = watcher.mark()
        await pub(mosquitto, "homeassistant/status", "online")
        await watcher.wait_for(
            lambda m: m.topic == "homeassistant/device/deskctl_office/config", since=mark
        )
        await watcher.state("office", mark, lambda s: s["height_mm"] == 750)


async def test_desk_availability_follows_its_link(
    mosquitto: Broker, watcher: Watcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(mosquitto.settings(), watcher, scale=20.0) as run:
        link = run.service.desks["office"].link
        assert isinstance(link, SimLink)

        async def out_of_reach(_on_disconnect: Callable[[], None]) -> None:
            raise LinkError("the desk is out of reach")

        mark = watcher.mark()
        monkeypatch.setattr(link.sim_gatt, "connect", out_of_reach)
        link.sim_gatt.drop()
        await watcher.wait_for(
            lambda m: m.topic == "deskctl/office/availability" and m.payload == "offline",
            since=mark,
        )
        await watcher.state("office", mark, lambda s: not s["connected"])
        await pub(mosquitto, "deskctl/office/posture/set", "stand")
        error = await watcher.event("office", "error", mark)
        assert error["reason"] == "desk 'office' is not connected, so it cannot move now"
        monkeypatch.undo()  # the desk is back in reach: the service reconnects by itself
        await watcher.wait_for(
            lambda m: m.topic == "deskctl/office/availability" and m.payload == "online",
            since=mark,
        )
        assert "move_started" not in run.kinds("office")


def _restart(broker: Broker) -> subprocess.Popen[bytes]:
    """Start mosquitto again on the same port and config (the old one is dead)."""
    process = subprocess.Popen(
        ["mosquitto", "-c", str(broker.folder / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection((broker.host, broker.port), 0.2),
        ):
            return process
        time.sleep(0.02)  # polling a port that is about to open, within a bound
    process.kill()
    raise AssertionError("mosquitto did not come back")


@pytest.mark.fault
@pytest.mark.usefixtures("sit_stand_30_15")
def test_a_broker_restart_mid_day_loses_no_scheduled_change(mosquitto: Broker) -> None:
    """The broker dies before the 09:30 change is due and comes back after it: the service
    moves on time anyway, the bridge reconnects and puts discovery and state back (the new
    broker keeps nothing), and the next change's cue still reaches Home Assistant.

    The desk and the broker run in real time at 4x (every protocol deadline keeps its margin on
    a busy machine); only the waits for the schedule are skipped, while the desk is at rest."""
    run_warped(_a_broker_restart_mid_day(mosquitto))


async def _a_broker_restart_mid_day(mosquitto: Broker) -> None:
    def at(hhmmss: str) -> datetime:
        return datetime.fromisoformat(f"2026-11-30T{hhmmss}").replace(tzinfo=TZ)

    async with serving(mosquitto.settings(), None, start=at("09:29:27"), scale=4.0) as run:
        clock = run.service.clock
        assert run.kinds("office") == []
        mosquitto.process.kill()
        mosquitto.process.wait(timeout=10)
        await run.until(lambda: "warning" in run.kinds("office"))  # 09:29:30, the broker away
        fast_forward(clock, at("09:29:59"))  # the warning's 30 s, the desk at rest
        await run.until(lambda: "cue" in run.kinds("office"))  # 09:30, the broker away
        news = {"warning", "move_started", "arrived", "cue", "error", "obstruction"}
        assert [k for k in run.kinds("office") if k in news] == [
            "warning", "move_started", "arrived", "cue"
        ]  # fmt: skip
        restarted = _restart(mosquitto)
        try:
            watching = Watcher(mosquitto)
            await watching.start()
            try:
                discovery = await watching.wait_for(
                    lambda m: m.topic == "homeassistant/device/deskctl_office/config"
                )
                state = await watching.state(
                    "office", 0, lambda s: s["posture"] == "stand" and not s["moving"]
                )
                assert state["next_change_at"] == "2026-11-30T09:45:00+01:00"
                fast_forward(clock, at("09:44:28"))  # standing, nothing due before 09:44:30
                warned = await watching.event("office", "warning", 0)
                assert warned["start"] == "2026-11-30T09:45:00+01:00"
                fast_forward(clock, at("09:44:59"))
                cue = await watching.event("office", "cue", 0)  # 09:45 comes with the broker up
                assert cue["change"] == "to_sit"
            finally:
                await watching.stop()
        finally:
            run.stop.set()
            await run.tasks[1]
            restarted.kill()
            restarted.wait(timeout=10)
    assert discovery.json()["device"]["name"] == "office"
    moves = [f for _, _, kind, f in run.recorded.events if kind == "arrived"]
    # 09:30 (broker away) and 09:45 (broker back), each on time and nothing else
    landed = [m["height_mm"] for m in moves]  # the realistic desk lands within a millimetre
    assert len(landed) == 2, landed
    assert abs(landed[0] - 1100) <= 1, landed
    assert abs(landed[1] - 720) <= 1, landed
    started = [at_ for _, at_, kind, _ in run.recorded.events if kind == "move_started"]
    assert [f"{when:%H:%M:%S}" for when in started] == ["09:30:00", "09:45:00"]


def _offline_on(topic: str, message: Msg) -> bool:
    return message.topic == topic and message.payload == "offline"
