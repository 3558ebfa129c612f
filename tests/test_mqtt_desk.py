"""The MQTT desk link against the emulated ESPHome desk, through a real mosquitto.

Everything runs on the ordinary event loop (the broker is another process, so virtual time would
run ahead of it); the desk's motor and the link share a `Clock` running SCALE times faster, and
the emulated motor runs SPEEDUP times faster than a real one (its acceleration by the square, so a
move keeps its shape), so a move across the whole range takes about a second. The link's own
deadlines (a height report within `stall_s` of clock time) stay long enough in real time for a
busy machine, where a clock scaled further would turn them into milliseconds. Every wait is
bounded.

Resolutions (the emulated desk reports its height at these steps): the Upsy Desky in 0.1 in
(2.54 mm); the cover in whole percent of 620..1270 mm (6.5 mm).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt
import pytest
from pydantic import SecretStr

from deskctl.clocks.clock import Clock
from deskctl.config.settings import DeskSettings, MqttDeskSettings, MqttSettings, load_settings
from deskctl.core.esphome import DeskTopics
from deskctl.errors import (
    ConfigError,
    HeightError,
    LinkError,
    ManualOverride,
    MoveError,
    MoveTimeout,
    Obstruction,
)
from deskctl.links.base import ConnectionChanged, HeightChanged, LinkEvent, ManualMove
from deskctl.links.mqtt_desk import MqttDeskLink
from deskctl.service.assembly import open_link
from deskctl.sim.esphome_desk import IDEAL, EsphomeDesk, EsphomeDeskModel
from deskctl.testing.virtual_time import run_virtual
from tests.cli import cli_env
from tests.mosquitto import Broker, _free_port
from tests.mqtt_traffic import MqttTraffic

SCALE = 5.0
SPEEDUP = 4.0
PREFIX = "upsy-desky-test"
BOUND_S = 30.0  # no test here may take longer (wall time)
UPSY_STEP_MM = 2.54
COVER_STEP_MM = 6.5
E = TypeVar("E", bound=LinkEvent)
COVER = MqttDeskSettings(preset="cover", prefix="d", cover_min_mm=620, cover_max_mm=1270)


def _desk_settings(preset: str, **changes: Any) -> MqttDeskSettings:
    fields: dict[str, Any] = {"preset": preset, "prefix": PREFIX}
    if preset == "cover":
        fields |= {"cover_min_mm": 620, "cover_max_mm": 1270}
    return MqttDeskSettings(**(fields | changes))


@asynccontextmanager
async def desk_and_link(
    broker: Broker,
    preset: str = "upsy",
    *,
    height_mm: int = 750,
    runs_past_mm: float = 0.0,
    speedup: float = SPEEDUP,
    **changes: Any,
) -> AsyncIterator[tuple[EsphomeDesk, MqttDeskLink]]:
    clock = Clock(scale=SCALE)
    model = EsphomeDeskModel(
        "cover" if preset == "cover" else "upsy",
        height_mm=height_mm,
        runs_past_mm=runs_past_mm,
        unit=changes.get("unit", "in"),
        speed_mm_s=38.0 * speedup,
        accel_mm_s2=300.0 * speedup**2,
        physics=IDEAL,
    )
    emulator = EsphomeDesk(
        broker.settings(), prefix=PREFIX, preset=model.preset, clock=clock, model=model
    )
    link = MqttDeskLink("office", broker.settings(), _desk_settings(preset, **changes), clock)
    async with asyncio.timeout(BOUND_S), emulator, link:
        yield emulator, link


class Events:
    """What the link reported, waited for with a bound."""

    def __init__(self, link: MqttDeskLink) -> None:
        self.queue: asyncio.Queue[LinkEvent] = asyncio.Queue()
        link.subscribe(self.queue.put_nowait)

    async def next(
        self, kind: type[E], where: Callable[[E], bool] = lambda _: True, timeout_s: float = 5.0
    ) -> E:
        async with asyncio.timeout(timeout_s):
            while True:
                event = await self.queue.get()
                if isinstance(event, kind) and where(event):
                    return event


async def _moving(events: Events, start_mm: int, away_mm: int = 20) -> None:
    """Wait until the desk has moved `away_mm` from where it started."""
    await events.next(HeightChanged, lambda e: abs(e.height_mm - start_mm) >= away_mm)


# -- landing: both presets, several targets up and down -----------------------------------------
TARGETS_MM = [1000, 1100, 800, 720, 1051, 900, 1180, 700, 763]


@pytest.mark.parametrize(
    ("preset", "unit", "step_mm"),
    [("upsy", "in", UPSY_STEP_MM), ("upsy", "cm", 1.0), ("cover", None, COVER_STEP_MM)],
    ids=["upsy-inches", "upsy-cm", "cover"],
)
def test_the_link_lands_the_desk_within_its_resolution_up_and_down(
    mosquitto: Broker,
    monkeypatch: pytest.MonkeyPatch,
    preset: str,
    unit: str | None,
    step_mm: float,
) -> None:
    """On virtual time beside the real broker: on a scaled clock over a real loop a busy
    machine made the first landing two millimetres short now and then."""
    changes: dict[str, Any] = {"unit": unit} if unit else {}

    async def scenario() -> None:
        async with desk_and_link(mosquitto, preset, **changes) as (desk, link):
            for target_mm in TARGETS_MM:
                landed_mm = await link.move_to(target_mm)
                assert abs(landed_mm - target_mm) <= step_mm, target_mm
                assert abs(desk.model.reading_mm - target_mm) <= step_mm, "its own reading"
                assert landed_mm == link.height_mm
                assert not desk.model.active, "the desk is at rest when move_to returns"

    run_virtual(scenario(), hold=MqttTraffic.watch(monkeypatch).busy)


@pytest.mark.parametrize(("preset", "step_mm"), [("upsy", UPSY_STEP_MM), ("cover", COVER_STEP_MM)])
async def test_the_link_stops_a_desk_whose_firmware_would_run_far_past_the_target(
    mosquitto: Broker, preset: str, step_mm: float
) -> None:
    async with desk_and_link(mosquitto, preset, runs_past_mm=40, speedup=1.0) as (desk, link):
        for target_mm in (1100, 800):
            landed_mm = await link.move_to(target_mm)
            assert abs(landed_mm - target_mm) < step_mm
        assert len(desk.commands) >= 4, "an aim and a stop for each move"
        if preset == "cover":
            assert [payload for _, payload in desk.commands].count("STOP") >= 2


async def test_progress_is_called_with_the_heights_on_the_way(mosquitto: Broker) -> None:
    seen: list[int] = []
    async with desk_and_link(mosquitto) as (_, link):
        landed_mm = await link.move_to(900, seen.append)
    assert len(seen) > 10
    # up all the way to the first landing (a small correction may back off after it)
    turn = next((i for i in range(1, len(seen)) if seen[i] < seen[i - 1]), len(seen))
    assert seen[turn - 1] >= 890, "the first approach goes up, to near the target"
    assert seen[-1] == landed_mm
    assert abs(landed_mm - 900) <= 2


async def test_a_target_outside_the_limits_sends_nothing(mosquitto: Broker) -> None:
    async with desk_and_link(mosquitto) as (desk, link):
        with pytest.raises(HeightError, match="1270 mm"):
            await link.move_to(1300)
        assert desk.commands == []


async def test_a_wrong_unit_is_caught_before_anything_moves(mosquitto: Broker) -> None:
    clock = Clock(scale=SCALE)
    emulator = EsphomeDesk(mosquitto.settings(), prefix=PREFIX, clock=clock)  # inches
    link = MqttDeskLink("office", mosquitto.settings(), _desk_settings("upsy", unit="cm"), clock)
    async with asyncio.timeout(BOUND_S), emulator, link:
        with pytest.raises(ConfigError, match=r"'29\.5'.*check unit"):
            await link.move_to(1000)
        assert emulator.commands == []


# -- availability --------------------------------------------------------------------------------
async def test_availability_becomes_connection_events_and_an_offline_desk_does_not_move(
    mosquitto: Broker,
) -> None:
    async with desk_and_link(mosquitto) as (desk, link):
        events = Events(link)
        assert link.connected
        await desk.go_offline()
        changed = await events.next(ConnectionChanged)
        assert changed.connected is False
        assert "offline" in changed.reason
        assert not link.connected
        with pytest.raises(LinkError, match="offline"):
            await link.move_to(1000)
        await desk.go_online()
        assert (await events.next(ConnectionChanged)).connected is True
        assert abs(await link.move_to(1000) - 1000) < UPSY_STEP_MM


async def test_a_desk_that_never_said_online_is_named_with_its_topic(mosquitto: Broker) -> None:
    clock = Clock(scale=SCALE)
    settings = MqttDeskSettings(prefix="no-such-desk")
    async with (
        asyncio.timeout(BOUND_S),
        MqttDeskLink("x", mosquitto.settings(), settings, clock) as link,
    ):
        assert not link.connected
        with pytest.raises(LinkError, match="no-such-desk/status"):
            await link.move_to(1000)


# -- the broker ----------------------------------------------------------------------------------
async def test_a_broker_that_is_not_there_is_one_sentence() -> None:
    port = _free_port()
    broker = MqttSettings(host="127.0.0.1", port=port)
    link = MqttDeskLink("office", broker, MqttDeskSettings(prefix=PREFIX), Clock())
    with pytest.raises(LinkError) as caught:
        async with asyncio.timeout(BOUND_S):
            await link.connect()
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "refused" in message
    assert "\n" not in message
    assert message.count(". ") == 0


async def test_tls_with_a_password_drives_the_desk(mosquitto_tls: Broker) -> None:
    async with desk_and_link(mosquitto_tls) as (_, link):
        assert link.connected
        assert abs(await link.move_to(1000) - 1000) < UPSY_STEP_MM


@pytest.mark.parametrize(
    "changes",
    [{"password": SecretStr("wrong")}, {"username": None, "password": None}],
    ids=["wrong-password", "anonymous"],
)
async def test_a_refused_login_says_to_check_username_and_password(
    mosquitto_tls: Broker, changes: dict[str, Any]
) -> None:
    link = MqttDeskLink(
        "office", mosquitto_tls.settings(**changes), MqttDeskSettings(prefix=PREFIX), Clock()
    )
    with pytest.raises(LinkError, match="username and password") as caught:
        async with asyncio.timeout(BOUND_S):
            await link.connect()
    assert "\n" not in str(caught.value)


async def test_an_untrusted_certificate_says_to_check_ca_file(mosquitto_tls: Broker) -> None:
    broker = mosquitto_tls.settings(ca_file=None)
    link = MqttDeskLink("office", broker, MqttDeskSettings(prefix=PREFIX), Clock())
    with pytest.raises(LinkError, match="ca_file"):
        async with asyncio.timeout(BOUND_S):
            await link.connect()


@pytest.mark.fault
async def test_the_broker_dying_mid_move_ends_the_move_with_a_link_error(
    mosquitto: Broker,
) -> None:
    async with desk_and_link(mosquitto) as (_, link):
        events = Events(link)
        move = asyncio.create_task(link.move_to(1200))
        await _moving(events, 750)
        mosquitto.kill()
        with pytest.raises(LinkError, match="lost the connection"):
            await move
        assert (await events.next(ConnectionChanged)).connected is False
        assert not link.connected


@pytest.mark.fault
async def test_after_a_broker_restart_the_link_connects_again_and_resumes_nothing(
    mosquitto: Broker,
) -> None:
    clock = Clock(scale=SCALE)
    model = EsphomeDeskModel(height_mm=750, physics=IDEAL)
    link = MqttDeskLink("office", mosquitto.settings(), _desk_settings("upsy"), clock)
    events = Events(link)
    async with asyncio.timeout(BOUND_S):
        async with EsphomeDesk(mosquitto.settings(), prefix=PREFIX, clock=clock, model=model):
            await link.connect()
            move = asyncio.create_task(link.move_to(1200))
            await _moving(events, 750)
            mosquitto.restart()
            with pytest.raises(LinkError):
                await move
        model.stop()
        model.advance(5.0)  # the desk comes to rest while the broker is away
        rested_mm = round(model.reading_mm)
        async with (
            EsphomeDesk(mosquitto.settings(), prefix=PREFIX, clock=clock, model=model) as desk,
            link,
        ):
            await events.next(ConnectionChanged, lambda e: e.connected)
            assert link.height_mm == rested_mm
            landed_mm = await link.move_to(900)
            assert abs(landed_mm - 900) < UPSY_STEP_MM
            first_topic, first_payload = desk.commands[0]
            assert first_topic.endswith("target_desk_height/command")
            assert abs(float(first_payload) * 25.4 - 900) < 10, "the first command aims at 900"


# -- moves that do not arrive -------------------------------------------------------------------
@pytest.mark.fault
async def test_a_desk_that_stops_reporting_mid_move_ends_with_an_error_and_is_stopped(
    mosquitto: Broker,
) -> None:
    async with desk_and_link(mosquitto, speedup=1.0) as (desk, link):
        events = Events(link)
        move = asyncio.create_task(link.move_to(1200))
        await _moving(events, 750)
        desk.reporting = False
        sent = len(desk.commands)
        with pytest.raises(Obstruction, match="stopped reporting"):
            await move
        await desk.command(after=sent)
        assert desk.model.direction == 0, "the link told the desk to stop"
        assert desk.model.position_mm < 1100


@pytest.mark.fault
async def test_something_in_the_way_is_an_obstruction(mosquitto: Broker) -> None:
    async with desk_and_link(mosquitto, "cover") as (desk, link):
        desk.model.obstacle_mm = 900
        with pytest.raises(Obstruction) as caught:
            await link.move_to(1100)
        assert caught.value.height_mm is not None
        assert abs(caught.value.height_mm - 900) <= COVER_STEP_MM
        await desk.command(lambda _, payload: payload == "STOP")
        assert desk.model.direction == 0


@pytest.mark.fault
async def test_a_hand_on_the_buttons_against_the_move_is_a_manual_override(
    mosquitto: Broker,
) -> None:
    async with desk_and_link(mosquitto, speedup=1.0) as (desk, link):
        events = Events(link)
        move = asyncio.create_task(link.move_to(1200))
        await _moving(events, 750, away_mm=60)
        desk.press(-1)
        with pytest.raises(ManualOverride, match="buttons"):
            await move
        desk.press(0)


async def test_a_move_past_its_time_bound_times_out_and_stops(mosquitto: Broker) -> None:
    async with desk_and_link(mosquitto, "cover", speedup=1.0, move_timeout_s=3) as (desk, link):
        with pytest.raises(MoveTimeout, match="3 s"):
            await link.move_to(1250)
        await desk.command(lambda _, payload: payload == "STOP")
        assert desk.model.direction == 0
        assert desk.model.position_mm < 1000


async def test_stop_ends_a_running_move(mosquitto: Broker) -> None:
    async with desk_and_link(mosquitto) as (desk, link):
        events = Events(link)
        move = asyncio.create_task(link.move_to(1200))
        await _moving(events, 750)
        sent = len(desk.commands)
        await link.stop()
        with pytest.raises(MoveError, match="stopped"):
            await move
        await desk.command(after=sent)
        assert desk.model.direction == 0


async def test_a_covers_moving_state_counts_as_moving_on_its_own(mosquitto: Broker) -> None:
    """The moving state (`<cover>/state`: opening, closing; open, closed) shows in `moving`
    while the height stands still (a bridge that reports its height only at rest)."""
    state = f"{PREFIX}/cover/desk/state"
    async with (
        desk_and_link(mosquitto, "cover") as (_, link),
        aiomqtt.Client(mosquitto.host, mosquitto.port) as bridge,
    ):
        assert not link.moving
        for payload, moving in (("opening", True), ("open", False), ("closing", True)):
            await bridge.publish(state, payload, qos=1)
            async with asyncio.timeout(5):
                while link.moving is not moving:  # noqa: ASYNC110 - no event for the flag
                    await asyncio.sleep(0.01)


# -- manual moves and retained commands ---------------------------------------------------------
async def test_a_move_by_hand_is_reported_as_a_manual_move(mosquitto: Broker) -> None:
    async with desk_and_link(mosquitto) as (desk, link):
        events = Events(link)
        desk.press(+1)
        started = await events.next(ManualMove)
        assert started.ended is False
        await _moving(events, 750, away_mm=30)
        desk.press(0)
        ended = await events.next(ManualMove)
        assert ended.ended is True
        assert ended.height_mm >= 780
        assert not link.moving


async def test_commands_are_never_retained(mosquitto: Broker) -> None:
    async with desk_and_link(mosquitto, "cover") as (_, link):
        await link.move_to(1000)
        await link.stop()
    topics = DeskTopics.from_settings(_desk_settings("cover"))
    retained: list[str] = []
    async with asyncio.timeout(BOUND_S), aiomqtt.Client(mosquitto.host, mosquitto.port) as spy:
        await spy.subscribe(f"{PREFIX}/#")
        await spy.publish(f"{PREFIX}/zz-marker", "end")  # after the retained messages
        async for message in spy.messages:
            if message.topic.value.endswith("zz-marker"):
                break
            retained.append(message.topic.value)
    assert topics.state_topic in retained, "the desk's retained state is there"
    assert topics.command_topic not in retained
    assert topics.stop_topic not in retained


# -- the emulated desk on its own (pure stepping) -----------------------------------------------
def test_the_emulated_motor_runs_about_38_mm_s_after_a_short_ramp() -> None:
    model = EsphomeDeskModel(height_mm=750, physics=IDEAL)
    model.press(+1)
    model.advance(5.0)
    assert 750 + 38 * 5 - 5 < model.position_mm < 750 + 38 * 5
    model.press(0)
    model.advance(1.0)
    assert not model.active


@pytest.mark.parametrize(("start_mm", "target_mm"), [(750, 1000), (1100, 800)])
def test_the_emulated_firmware_alone_runs_past_its_target(start_mm: int, target_mm: int) -> None:
    model = EsphomeDeskModel(height_mm=start_mm, physics=IDEAL)
    model.set_target_mm(target_mm)
    model.advance(30.0)
    direction = 1 if target_mm > start_mm else -1
    assert (model.position_mm - target_mm) * direction > 1, "no exact move-to of its own"
    assert abs(model.position_mm - target_mm) < 10


# -- topics, payloads and settings (no broker) --------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "state", "command", "stop"),
    [
        (
            MqttDeskSettings(prefix="upsy-desky-a1b2c3"),
            "upsy-desky-a1b2c3/sensor/desk_height/state",
            "upsy-desky-a1b2c3/number/target_desk_height/command",
            None,
        ),
        (
            MqttDeskSettings(preset="cover", prefix="desk", cover_min_mm=640, cover_max_mm=1290),
            "desk/cover/desk/position/state",
            "desk/cover/desk/position/command",
            ("desk/cover/desk/command", "STOP"),
        ),
        (
            MqttDeskSettings(
                preset="custom",
                state_topic="loctek/height",
                command_topic="loctek/height/set",
                stop_topic="loctek/button/stop/command",
                stop_payload="PRESS",
            ),
            "loctek/height",
            "loctek/height/set",
            ("loctek/button/stop/command", "PRESS"),
        ),
    ],
    ids=["upsy", "cover", "custom"],
)
def test_presets_name_esphome_topics(
    settings: MqttDeskSettings, state: str, command: str, stop: tuple[str, str] | None
) -> None:
    topics = DeskTopics.from_settings(settings)
    assert (topics.state_topic, topics.command_topic) == (state, command)
    assert topics.stop_message(1000) == (stop or (command, topics.encode(1000)))


@pytest.mark.parametrize(
    ("settings", "payload", "height_mm"),
    [
        (MqttDeskSettings(prefix="d"), "29.5", 749),
        (MqttDeskSettings(prefix="d"), "41.500000", 1054),
        (MqttDeskSettings(prefix="d"), "nan", None),
        (MqttDeskSettings(prefix="d"), "unknown", None),
        (MqttDeskSettings(prefix="d", unit="cm"), "72.5", 725),
        (MqttDeskSettings(prefix="d", unit="mm"), " 1100\n", 1100),
        (MqttDeskSettings(prefix="d", unit="cm", json_key="height"), '{"height": 110.2}', 1102),
        (MqttDeskSettings(prefix="d", json_key="height"), '{"other": 1}', None),
        (MqttDeskSettings(prefix="d", json_key="height"), "not json", None),
        (
            COVER,
            "50",
            945,
        ),
        (
            COVER,
            "0",
            620,
        ),
    ],
)
def test_state_payloads_become_millimetres(
    settings: MqttDeskSettings, payload: str, height_mm: int | None
) -> None:
    assert DeskTopics.from_settings(settings).decode(payload) == height_mm


@pytest.mark.parametrize(
    ("settings", "height_mm", "payload", "tolerance_mm"),
    [
        (MqttDeskSettings(prefix="d"), 1000, "39.4", 2),
        (MqttDeskSettings(prefix="d", unit="cm"), 1004, "100.4", 1),
        (MqttDeskSettings(prefix="d", unit="mm"), 1004, "1004", 1),
        (MqttDeskSettings(prefix="d", decimals=2), 1000, "39.37", 1),
        (
            COVER,
            945,
            "50",
            6,
        ),
        (MqttDeskSettings(prefix="d", tolerance_mm=5), 1000, "39.4", 5),
    ],
)
def test_commands_carry_the_unit_and_its_decimals(
    settings: MqttDeskSettings, height_mm: int, payload: str, tolerance_mm: int
) -> None:
    topics = DeskTopics.from_settings(settings)
    assert topics.encode(height_mm) == payload
    assert topics.tolerance_mm == tolerance_mm


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[desks.office]\nlink = "mqtt"\n', "needs an mqtt table"),
        ('[desks.office]\nlink = "mqtt"\n[desks.office.mqtt]\npreset = "upsy"\n', "prefix"),
        (
            '[desks.office]\nlink = "mqtt"\n[desks.office.mqtt]\npreset = "cover"\nprefix = "d"\n',
            "cover_min_mm and cover_max_mm",
        ),
        (
            '[desks.office]\nlink = "mqtt"\n[desks.office.mqtt]\npreset = "custom"\n',
            "state_topic is missing",
        ),
        ('[desks.office]\nlink = "mqtt"\n[desks.office.mqtt]\nprefix = "d"\nunit = "ft"\n', "unit"),
    ],
)
def test_broken_mqtt_desk_settings_name_the_field(
    tmp_path: Path, toml: str, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("DESKCTL_")]:
        monkeypatch.delenv(key)
    path = tmp_path / "settings.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle) as caught:
        load_settings(path)
    assert "desks.office" in str(caught.value)


def test_the_factory_builds_an_mqtt_link_on_the_configured_broker(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[mqtt]\nhost = "broker.lan"\nport = 8883\n'
        '[desks.office]\nlink = "mqtt"\nmin_mm = 650\n'
        '[desks.office.mqtt]\nprefix = "upsy-desky-a1b2c3"\nunit = "cm"\n',
        encoding="utf-8",
    )
    settings = load_settings(path)
    link = open_link("office", settings.desks["office"], Clock(), broker=settings.mqtt)
    assert isinstance(link, MqttDeskLink)
    assert (link.broker.host, link.broker.port, link.min_mm) == ("broker.lan", 8883, 650)
    assert link.topics.unit == "cm"
    default = open_link("office", DeskSettings(link="mqtt", mqtt=_desk_settings("upsy")), Clock())
    assert isinstance(default, MqttDeskLink)
    assert (default.broker.host, default.broker.port) == ("localhost", 1883)


# -- deskctl emulate esphome ---------------------------------------------------------------------
async def test_deskctl_emulate_esphome_says_online_and_offline_when_stopped(
    mosquitto: Broker, tmp_path: Path
) -> None:
    status = "cli-desk/status"
    async with asyncio.timeout(BOUND_S), aiomqtt.Client(mosquitto.host, mosquitto.port) as spy:
        await spy.subscribe(status)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deskctl", "emulate", "esphome",
            "--host", mosquitto.host, "--port", str(mosquitto.port), "--prefix", "cli-desk",
            env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            messages = aiomqtt_payloads(spy)
            assert await anext(messages) == "online"
            process.send_signal(signal.SIGTERM)
            assert await anext(messages) == "offline"
            _, stderr = await process.communicate()
            assert process.returncode == 0, stderr.decode()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def aiomqtt_payloads(client: aiomqtt.Client) -> AsyncIterator[str]:
    async for message in client.messages:
        payload = message.payload
        yield payload.decode() if isinstance(payload, bytes) else str(payload)
