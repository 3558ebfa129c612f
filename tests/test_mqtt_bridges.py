"""Each named bridge recipe (issue 16) driven end to end: the emulated bridge (`BridgeDesk`, the
desk model behind that bridge's own topics and firmware) on a real mosquitto, and the MQTT desk
link configured with nothing but the recipe and the bridge's prefix (and the heights its memory
slots hold). The link must land moves within the bridge's resolution (a step bridge: half a
press; a memory recall or a move-to: the height's resolution) and stop on command.

As in tests/test_mqtt_desk.py the desk's motor and the link share a `Clock` running SCALE times
faster; every wait is bounded. The motor keeps its real speed (38 mm/s in clock time): a step
bridge's press is a time, so a faster motor would make each press a longer step.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from deskctl.clocks.clock import Clock
from deskctl.config.cue_library import load_cues
from deskctl.config.profile_library import active_profile
from deskctl.config.settings import DeskSettings, MqttDeskSettings
from deskctl.core.esphome import DeskTopics
from deskctl.errors import DeskError, MoveError
from deskctl.links.base import HeightChanged, LinkEvent
from deskctl.links.mqtt_desk import MqttDeskLink
from deskctl.service.assembly import open_link
from deskctl.service.core import Service
from deskctl.service.desk import DeskRunner
from deskctl.sim.esphome_bridges import BridgeDesk, BridgeKind
from deskctl.sim.esphome_desk import IDEAL, EsphomeDeskModel, EsphomePhysics
from tests.cli import cli_env
from tests.mosquitto import Broker
from tests.service_harness import TZ

SCALE = 5.0
BOUND_S = 60.0  # wall time, per test
PREFIX = "bridge-test"
MEMORY_MM = {1: 720.0, 2: 1100.0, 3: 760.0}
MEMORY_SETTINGS = {1: "72cm", 2: "110cm", 3: "76cm"}


def _settings(kind: BridgeKind, **changes: Any) -> MqttDeskSettings:
    fields: dict[str, Any] = {"preset": kind, "prefix": PREFIX}
    if kind != "micropython":  # it has no stop, so its recalls are never used
        fields["memory_heights"] = MEMORY_SETTINGS
    return MqttDeskSettings(**(fields | changes))


@asynccontextmanager
async def bridge_and_link(
    broker: Broker,
    kind: BridgeKind,
    *,
    height_mm: float = 750,
    physics: EsphomePhysics = IDEAL,
    memory_mm: Mapping[int, float] = MEMORY_MM,
    sleep_after_s: float | None = None,
    min_mm: int = 620,
    max_mm: int = 1270,
    **changes: Any,
) -> AsyncIterator[tuple[BridgeDesk, MqttDeskLink]]:
    clock = Clock(scale=SCALE)
    model = EsphomeDeskModel(
        height_mm=height_mm, unit="in" if kind == "autonomous" else "cm", physics=physics
    )
    desk = BridgeDesk(
        broker.settings(),
        kind,
        prefix=PREFIX,
        clock=clock,
        model=model,
        memory_mm=memory_mm,
        sleep_after_s=sleep_after_s,
    )
    link = MqttDeskLink(
        "office",
        broker.settings(),
        _settings(kind, **changes),
        clock,
        min_mm=min_mm,
        max_mm=max_mm,
    )
    async with asyncio.timeout(BOUND_S), desk, link:
        yield desk, link


async def _settled(desk: BridgeDesk) -> None:
    async with asyncio.timeout(5):
        while desk.model.active:  # noqa: ASYNC110 - the model has no event to wait on
            await asyncio.sleep(0.01)


async def _moved_from(link: MqttDeskLink, start_mm: int, away_mm: int = 30) -> None:
    seen: asyncio.Queue[LinkEvent] = asyncio.Queue()
    unsubscribe = link.subscribe(seen.put_nowait)
    try:
        async with asyncio.timeout(10):
            while True:
                event = await seen.get()
                if isinstance(event, HeightChanged) and abs(event.height_mm - start_mm) >= away_mm:
                    return
    finally:
        unsubscribe()


def _tolerance(kind: BridgeKind) -> int:
    topics = DeskTopics.from_settings(_settings(kind))
    return topics.tolerance_mm if topics.move_to else topics.step_tolerance_mm


# -- landing on any height ------------------------------------------------------------------------
STEP_TARGETS_MM = [1000, 1130, 830, 905, 700, 1051]


@pytest.mark.parametrize("kind", ["autonomous", "jiecang-uart", "micropython"])
async def test_a_bridge_lands_any_height_within_its_resolution(
    mosquitto: Broker, kind: BridgeKind
) -> None:
    tolerance_mm = _tolerance(kind)
    async with bridge_and_link(mosquitto, kind) as (desk, link):
        for target_mm in STEP_TARGETS_MM:
            landed_mm = await link.move_to(target_mm)
            await _settled(desk)
            assert abs(landed_mm - target_mm) <= tolerance_mm, (target_mm, landed_mm)
            true_mm = desk.model.position_mm
            assert abs(true_mm - target_mm) <= tolerance_mm + 1, (target_mm, true_mm)


@pytest.mark.parametrize("kind", ["loctek", "jiecang-uart", "autonomous"])
async def test_a_memory_height_is_landed_exactly_by_the_recall(
    mosquitto: Broker, kind: BridgeKind
) -> None:
    async with bridge_and_link(mosquitto, kind) as (desk, link):
        for slot, target_mm in ((2, 1100), (1, 720)):
            sent = len(desk.commands)
            landed_mm = await (
                link.recall(slot) if kind == "autonomous" else link.move_to(target_mm)
            )
            await _settled(desk)
            assert abs(landed_mm - target_mm) <= 2
            assert abs(desk.model.position_mm - target_mm) <= 2
            recalled = [payload for _, payload in desk.commands[sent:]]
            expected = {
                "loctek": "PRESS",
                "jiecang-uart": "PRESS",
                "autonomous": f"Preset {slot}",
            }[kind]
            assert expected in recalled


async def test_a_stepped_landing_at_the_limit_ends_within_a_press_without_passing_it(
    mosquitto: Broker,
) -> None:
    """Near a limit the last press may be refused (it could pass the limit): the move ends where
    the desk rests, within one press of the target, and the desk never passes the limit."""
    tolerance_mm = _tolerance("micropython")
    async with bridge_and_link(
        mosquitto, "micropython", height_mm=800, max_mm=1000, physics=EsphomePhysics(seed=2)
    ) as (desk, link):
        landed_mm = await link.move_to(1000)
        await _settled(desk)
        assert 1000 - 2 * tolerance_mm <= landed_mm <= 1000
        assert desk.model.position_mm <= 1000


# -- stopping on command ------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["autonomous", "loctek", "jiecang-uart", "micropython"])
async def test_a_bridge_stops_on_command(mosquitto: Broker, kind: BridgeKind) -> None:
    """On a memory recall where the box has no other way (loctek), else on its own way; the
    MicroPython bridge has no stop: its presses are no longer repeated and end by themselves."""
    async with bridge_and_link(mosquitto, kind, height_mm=720) as (desk, link):
        move = asyncio.create_task(link.move_to(1100 if kind == "loctek" else 1050))
        await _moved_from(link, 720)
        await link.stop()
        with pytest.raises(MoveError, match="stopped"):
            await move
        await _settled(desk)
        assert desk.model.position_mm < 1000, "it stopped well short of the target"


# -- what each bridge needs ----------------------------------------------------------------
async def test_a_sleeping_loctek_box_is_woken_before_the_recall(mosquitto: Broker) -> None:
    async with bridge_and_link(mosquitto, "loctek", sleep_after_s=30.0) as (desk, link):
        assert desk.asleep
        landed_mm = await link.move_to(1100)
        assert abs(landed_mm - 1100) <= 1
        leaves = [topic.split("/")[2] for topic, _ in desk.commands]
        assert leaves[:2] == ["wake_screen", "preset_2"], "the wake goes first"


async def test_a_box_without_move_to_or_steps_refuses_other_heights_in_one_sentence(
    mosquitto: Broker,
) -> None:
    async with bridge_and_link(mosquitto, "loctek") as (desk, link):
        with pytest.raises(MoveError, match=r"lands only on its memory heights .*not on 100\.0 cm"):
            await link.move_to(1000)
        assert desk.commands == []


async def test_a_text_sensor_with_its_unit_is_read_and_an_offset_corrects_it(
    mosquitto: Broker,
) -> None:
    """The Autonomous component's `29.5 in`, with an offset the person measured."""
    async with bridge_and_link(mosquitto, "autonomous", height_mm=749.3, offset_mm=20) as (
        desk,
        link,
    ):
        assert link.height_mm == 749 + 20
        landed_mm = await link.move_to(1020)
        await _settled(desk)
        assert abs(landed_mm - 1020) <= 2
        assert abs(desk.model.position_mm - 1000) <= 3, "the bridge's own scale is 20 mm lower"


async def test_a_realistic_step_bridge_still_lands_within_half_a_press(mosquitto: Broker) -> None:
    """Reports every 0.5 s at most, Wi-Fi delays, a varying run-on: the MicroPython bridge."""
    physics = EsphomePhysics(seed=7)
    tolerance_mm = _tolerance("micropython")
    async with bridge_and_link(mosquitto, "micropython", physics=physics) as (_, link):
        for target_mm in (1000, 820, 1130):
            landed_mm = await link.move_to(target_mm)
            assert abs(landed_mm - target_mm) <= tolerance_mm, (target_mm, landed_mm)


async def test_a_bridge_with_no_stop_never_recalls_a_memory(mosquitto: Broker) -> None:
    """A recall runs by itself: on the MicroPython bridge (no stop) a target a slot would hold
    is landed by steps, and `recall` is refused in one sentence."""
    async with bridge_and_link(mosquitto, "micropython") as (desk, link):
        with pytest.raises(DeskError, match="has no stop"):
            await link.recall(2)
        landed_mm = await link.move_to(1100)
        assert abs(landed_mm - 1100) <= _tolerance("micropython")
        assert not any(payload.startswith("pos") for _, payload in desk.commands)


# -- through the service, as `deskctl run` drives them --------------------------------------
@asynccontextmanager
async def bridge_service(
    broker: Broker, kind: BridgeKind, *, height_mm: float = 750
) -> AsyncIterator[tuple[BridgeDesk, Service]]:
    clock = Clock(scale=SCALE, tz=TZ)
    model = EsphomeDeskModel(height_mm=height_mm, unit="in" if kind == "autonomous" else "cm")
    desk = BridgeDesk(
        broker.settings(), kind, prefix=PREFIX, clock=clock, model=model, memory_mm=MEMORY_MM
    )
    settings = DeskSettings(
        link="mqtt", min_mm=650, max_mm=1250, profile="never", mqtt=_settings(kind)
    )
    service = Service(clock)
    link = open_link("office", settings, clock, broker=broker.settings())
    runner = DeskRunner(
        "office",
        link,
        active_profile("office", "never"),
        clock=clock,
        tz=TZ,
        cues=load_cues(),
        emit=service.publish,
        post=service.post,
    )
    service.add_desk(runner)
    async with asyncio.timeout(BOUND_S), desk:
        task = asyncio.create_task(service.run())
        try:
            async with asyncio.timeout(10):
                while not (link.connected and link.height_mm is not None):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            yield desk, service
        finally:
            service.request_stop()
            await task


@pytest.fixture
def never_profile(tmp_path: Path) -> None:
    folder = tmp_path / "deskctl" / "config" / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "never.toml").write_text('sit = "72cm"\nstand = "110cm"\nweekdays = []\n')


@pytest.mark.usefixtures("never_profile")
@pytest.mark.parametrize("kind", ["autonomous", "loctek", "jiecang-uart", "micropython"])
async def test_the_service_lands_moves_on_each_bridge_and_stops_on_command(
    mosquitto: Broker, kind: BridgeKind
) -> None:
    far_mm = 1100 if kind == "loctek" else 1150  # loctek: only its memory heights
    near_mm = 720 if kind == "loctek" else 905
    tolerance_mm = 2 if kind == "loctek" else _tolerance(kind)
    async with bridge_service(mosquitto, kind) as (desk, service):
        status = await service.call("move", args={"height_mm": near_mm})
        assert abs(status["height_mm"] - near_mm) <= tolerance_mm
        move = asyncio.create_task(service.call("move", args={"height_mm": far_mm}))
        async with asyncio.timeout(10):
            while desk.model.position_mm < near_mm + 40:  # noqa: ASYNC110 - the model's height
                await asyncio.sleep(0.01)
        await service.call("stop")
        with contextlib.suppress(DeskError):
            await move
        await _settled(desk)
        assert desk.model.position_mm < far_mm - 60, "stopped on command, well short"
        async with asyncio.timeout(10):  # the service sees it rest (its last report comes late)
            while (await service.call("status"))["moving"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)


@pytest.mark.usefixtures("never_profile")
@pytest.mark.parametrize("kind", ["loctek", "jiecang-uart"])
async def test_the_service_recalls_a_bridges_memory_as_a_preset(
    mosquitto: Broker, kind: BridgeKind
) -> None:
    """`deskctl preset recall 2`: the slot's known height, landed by the box itself."""
    async with bridge_service(mosquitto, kind) as (desk, service):
        status = await service.call("preset_recall", args={"slot": 2})
        assert abs(status["height_mm"] - 1100) <= 2
        sent = [topic.rsplit("/", 2)[-2] for topic, _ in desk.commands]
        assert sent[-1] == ("preset_2" if kind == "loctek" else "position_2")


# -- deskctl emulate esphome --preset RECIPE -----------------------------------------------
async def test_the_emulate_command_plays_a_recipe_and_its_printed_settings_drive_it(
    mosquitto: Broker, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deskctl", "emulate", "esphome", "--preset", "jiecang-uart",
        "--host", mosquitto.host, "--port", str(mosquitto.port), "--prefix", "cli-jiecang",
        "--time-scale", str(SCALE),
        env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(BOUND_S):
            assert process.stdout is not None
            lines: list[str] = []
            while not lines or not lines[-1].startswith("memory_heights"):
                lines.append((await process.stdout.readline()).decode().rstrip("\n"))
            printed = tomllib.loads("\n".join(lines))
            desk = MqttDeskSettings(**printed["desks"]["emulated"]["mqtt"])
            link = MqttDeskLink("emulated", mosquitto.settings(), desk, Clock(scale=SCALE))
            async with link:
                assert abs(await link.move_to(1100) - 1100) <= 1, "a memory height: the recall"
                assert abs(await link.move_to(905) - 905) <= _tolerance("jiecang-uart")
            process.send_signal(signal.SIGTERM)
            _, stderr = await process.communicate()
            assert process.returncode == 0, stderr.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
