"""No target outside the desk's limits, whatever a desk reports; a broken link never hangs a move.

Issue 10, items 1 and 6. An ESPHome desk on a real mosquitto (the emulated Upsy Desky, driven by
the whole service) is sent height reports no desk can make (0.0, 60 inches, −12.7 cm, 20 cm, 20
inches) at rest and mid-move: they are dropped on arrival (not shown, not a manual move), a stop
never publishes one as its target, and a move rides them out. A hypothesis property runs every
link's write path (the LINAK link on the simulated desk, the MQTT desk link on the emulator with
each preset) through random reports, moves, stops and reconnects, and checks every target that
left the link. A topic with an MQTT wildcard is refused when the settings load, and a link that
raises something that is not deskctl's own error ends the move as an internal error: the desk is
stopped, the caller answered, the schedule held, the traceback logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from deskctl.clocks.clock import Clock
from deskctl.config.settings import MqttDeskSettings, load_settings
from deskctl.core.esphome import DeskTopics
from deskctl.core.linak import Char, decode_target, encode_height_speed
from deskctl.core.schedule import Stage
from deskctl.errors import ConfigError, DeskctlError, DeskError
from deskctl.links.base import DeskLink, HeightChanged, LinkEvent, Progress
from deskctl.links.mqtt_desk import MqttDeskLink
from deskctl.sim.esphome_desk import IDEAL, EsphomeDesk, EsphomeDeskModel
from deskctl.sim.links import SimBleLink, SimLink, SimProxyLink
from deskctl.testing.virtual_time import run_virtual
from tests.cli import deskctl
from tests.faults.esphome_service import PREFIX, esphome_service, wait_for
from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.service_harness import run_service, sim

pytestmark = pytest.mark.fault
TALLY = counter(__name__)

STATE = f"{PREFIX}/sensor/desk_height/state"
TARGET = f"{PREFIX}/number/target_desk_height/command"
UPSY = DeskTopics.from_settings(MqttDeskSettings(preset="upsy", prefix=PREFIX))
MIN_MM, MAX_MM = 650, 1250
# what the issue saw (the Upsy Desky reports inches): 0.0, 60 in, -12.7 cm, 20 cm, 20 in
WILD = ["0.0", "60.0", "-5.0", "7.9", "20.0"]


def _sent_targets_mm(desk: EsphomeDesk, topics: DeskTopics) -> list[int]:
    """Every height the emulated desk was told to go to (stops by payload excluded)."""
    found: list[int] = []
    for topic, payload in desk.commands:
        if topic == topics.command_topic and payload != "marker":
            height_mm = topics.decode(payload)
            assert height_mm is not None, f"{payload!r} on {topic} is no height"
            found.append(height_mm)
    return found


def _seen_heights(events: list[tuple[str, dict[str, Any]]]) -> list[int]:
    return [
        f["height_mm"]
        for _, f in events
        if isinstance(f.get("height_mm"), int) and "to_mm" not in f
    ]


# -- item 1: the reproduction, under the service ------------------------------------------------
@pytest.fixture(autouse=True)
def never_profile(tmp_path: Path) -> None:
    """A profile with no working days: only commands move the desk (the test runs any day)."""
    folder = tmp_path / "deskctl" / "config" / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "never.toml").write_text('sit = "72cm"\nstand = "110cm"\nweekdays = []\n')


@pytest.mark.parametrize("payload", WILD)
async def test_a_stop_after_a_wild_report_sends_no_target_and_nothing_moves(
    mosquitto: Broker, payload: str
) -> None:
    async with asyncio.timeout(60), esphome_service(mosquitto, profile="never") as h:
        link = h.runner.link
        before_mm = link.height_mm
        assert before_mm is not None
        await h.service.call("inhibit", args={"on": True})
        dropped = getattr(link, "dropped_reports", 0)
        await h.publish(STATE, payload)
        TALLY.fault()
        await wait_for(
            lambda: link.height_mm != before_mm or getattr(link, "dropped_reports", 0) > dropped
        )
        status = await h.service.call("stop")
        marker = len(h.desk.commands)
        await h.publish(TARGET, "marker")  # after the stop on the broker: everything sent is in
        await h.desk.command(lambda _t, p: p == "marker", after=marker)
        for target_mm in _sent_targets_mm(h.desk, UPSY):
            assert MIN_MM <= target_mm <= MAX_MM, f"a target of {target_mm} mm was sent"
        assert not h.desk.model.active, "the desk moved on a stop"
        assert abs(h.desk.model.position_mm - 750) < 1
        assert status["height_mm"] == before_mm, "a wild report is not shown"
        assert "manual_move" not in h.kinds()
        assert all(MIN_MM - 100 <= mm <= MAX_MM + 100 for mm in _seen_heights(h.events))
        assert (await h.service.call("status"))["height_mm"] == before_mm


async def test_a_move_rides_out_wild_reports_and_lands(mosquitto: Broker) -> None:
    async with asyncio.timeout(60), esphome_service(mosquitto, profile="never", scale=5) as h:
        link = h.runner.link
        wild = iter(WILD)
        sent: list[str] = []

        def inject(event: LinkEvent) -> None:
            if isinstance(event, HeightChanged) and event.height_mm > 800 + 60 * len(sent):
                payload = next(wild, None)
                if payload is not None:
                    sent.append(payload)
                    task = asyncio.get_running_loop().create_task(h.publish(STATE, payload))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)

        tasks: set[asyncio.Task[None]] = set()
        link.subscribe(inject)
        status = await h.service.call("move", args={"height_mm": 1150})
        TALLY.fault(len(sent))
        assert sent == WILD, "every wild report went out mid-move"
        assert abs(status["height_mm"] - 1150) < 2.54
        assert abs(h.desk.model.reading_mm - 1150) < 2.54
        assert "manual_move" not in h.kinds()
        for target_mm in _sent_targets_mm(h.desk, UPSY):
            assert MIN_MM <= target_mm <= MAX_MM


@pytest.mark.parametrize("target_mm", [MIN_MM, MAX_MM])
async def test_a_cover_lands_at_its_limits_though_its_steps_straddle_them(
    mosquitto: Broker, target_mm: int
) -> None:
    """One percent of 620..1270 mm is 6.5 mm: the aim nearest a limit can lie just outside it
    (97 % is 1251 mm); the link takes the next step inwards rather than being refused."""
    async with (
        asyncio.timeout(60),
        esphome_service(mosquitto, profile="never", preset="cover", scale=5) as h,
    ):
        topics = DeskTopics.from_settings(
            MqttDeskSettings(preset="cover", prefix=PREFIX, cover_min_mm=620, cover_max_mm=1270)
        )
        status = await h.service.call("move", args={"height_mm": target_mm})
        assert abs(status["height_mm"] - target_mm) <= 7
        sent = _sent_targets_mm(h.desk, topics)
        assert sent
        assert all(MIN_MM <= mm <= MAX_MM for mm in sent)


# -- item 1: the property, over every link's write path -----------------------------------------
REPORTS_MQTT = st.one_of(
    st.floats(-100, 200, allow_nan=False).map(lambda v: f"{v:.1f}"),  # inches, or a cover's %
    st.integers(-2000, 3000).map(str),
    st.sampled_from([*WILD, "nan", "unknown", "", "1e100"]),
)
STEPS_MQTT = st.lists(
    st.one_of(
        st.tuples(st.just("report"), REPORTS_MQTT),
        st.tuples(st.just("move"), st.integers(0, 1000)),  # a fraction of the limits, in 1/1000
        st.tuples(st.just("stop"), st.just(0)),
        st.tuples(st.just("reconnect"), st.just(0)),
        st.tuples(st.just("wait"), st.integers(0, 40)),  # ms of real time
    ),
    min_size=1,
    max_size=12,
)


async def _drive(
    link: DeskLink, steps: list[tuple[str, Any]], report: Any, reconnect: Any, wait: Any
) -> None:
    """Run `steps` against `link`; moves run in the background and may end in any error."""
    moves: list[asyncio.Task[int]] = []
    for kind, value in steps:
        if kind == "report":
            await report(value)
            TALLY.fault()
        elif kind == "move":
            target_mm = link.min_mm + (link.max_mm - link.min_mm) * value // 1000
            moves.append(asyncio.create_task(link.move_to(target_mm)))
        elif kind == "stop":
            with contextlib.suppress(DeskctlError):
                await link.stop()
        elif kind == "reconnect":
            TALLY.fault()
            await reconnect()
        await wait(value if kind == "wait" else 5)
    for move in moves:
        with contextlib.suppress(DeskctlError, TimeoutError):
            async with asyncio.timeout(30):
                await move


@pytest.mark.parametrize("preset", ["upsy", "cover", "custom"])
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a real broker's runs is slow
)
@given(steps=STEPS_MQTT, limits=st.tuples(st.integers(620, 800), st.integers(1000, 1270)))
@example(steps=[("report", "0.0"), ("stop", 0)], limits=(650, 1250))  # the reproduction
@example(steps=[("move", 900), ("wait", 30), ("report", "20.0"), ("wait", 40)], limits=(650, 1250))
def test_no_mqtt_desk_target_ever_leaves_the_limits(
    mosquitto: Broker, preset: str, steps: list[tuple[str, Any]], limits: tuple[int, int]
) -> None:
    TALLY.tried()
    min_mm, max_mm = limits
    fields: dict[str, Any] = {"preset": preset, "prefix": PREFIX}
    if preset == "cover":
        fields |= {"cover_min_mm": 620, "cover_max_mm": 1270}
    if preset == "custom":  # the Upsy Desky's topics in mm, stopped by writing the height back
        fields |= {
            "state_topic": f"{PREFIX}/sensor/desk_height/state",
            "command_topic": TARGET,
            "unit": "in",
        }
    desk_settings = MqttDeskSettings(**fields)
    topics = DeskTopics.from_settings(desk_settings)

    async def main() -> None:
        clock = Clock(scale=20)
        model = EsphomeDeskModel(
            "cover" if preset == "cover" else "upsy", height_mm=900, physics=IDEAL
        )
        emulator = EsphomeDesk(
            mosquitto.settings(), prefix=PREFIX, preset=model.preset, clock=clock, model=model
        )
        link = MqttDeskLink(
            "office", mosquitto.settings(), desk_settings, clock, min_mm=min_mm, max_mm=max_mm
        )
        from deskctl.links.mqtt_broker import broker_client

        async with asyncio.timeout(120), emulator, broker_client(mosquitto.settings()) as pub:
            await link.connect()
            try:

                async def report(payload: str) -> None:
                    await pub.publish(topics.state_topic, payload, qos=1)

                async def reconnect() -> None:
                    await link.close()
                    await link.connect()

                await _drive(link, steps, report, reconnect, lambda ms: asyncio.sleep(ms / 1000))
            finally:
                await link.close()
            for target_mm in _sent_targets_mm(emulator, topics):
                assert min_mm <= target_mm <= max_mm, f"{target_mm} mm left the link"

    asyncio.run(main())


REPORTS_LINAK = st.tuples(st.integers(0, 0xFFFF), st.integers(-0x8000, 0x7FFF))
STEPS_LINAK = st.lists(
    st.one_of(
        st.tuples(st.just("report"), REPORTS_LINAK),
        st.tuples(st.just("move"), st.integers(0, 1000)),
        st.tuples(st.just("stop"), st.just(0)),
        st.tuples(st.just("reconnect"), st.just(0)),
        st.tuples(st.just("wait"), st.integers(0, 3000)),  # ms of virtual time
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=150, deadline=None)
@given(steps=STEPS_LINAK, limits=st.tuples(st.integers(620, 800), st.integers(1000, 1270)))
def test_no_linak_target_ever_leaves_the_limits(
    steps: list[tuple[str, Any]], limits: tuple[int, int]
) -> None:
    TALLY.tried()
    min_mm, max_mm = limits

    async def main() -> None:
        link = SimLink("desk", Clock(), min_mm=min_mm, max_mm=max_mm, persist=False, height_mm=900)

        async def report(value: tuple[int, int]) -> None:
            link._on_height(encode_height_speed(*value))  # a notification, as the radio gives it

        async def reconnect() -> None:
            link.sim_gatt.drop()
            await link.connect()

        async def wait(ms: int) -> None:
            await asyncio.sleep(ms / 1000)

        async with link:
            await _drive(link, steps, report, reconnect, wait)
        for _, char, data in link.model.writes:
            if char is Char.REFERENCE_INPUT:
                target_mm = decode_target(data, link.base_mm)
                assert target_mm is None or min_mm <= target_mm <= max_mm, data.hex()

    run_virtual(main())


@settings(
    max_examples=15, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)  # shrinking over Bumble's radio is slow
@given(steps=STEPS_LINAK, limits=st.tuples(st.integers(620, 800), st.integers(1000, 1270)))
def test_no_linak_target_over_bleak_ever_leaves_the_limits(
    steps: list[tuple[str, Any]], limits: tuple[int, int]
) -> None:
    """The same over the real bleak client and Bumble's radio (`--sim ble`)."""
    TALLY.tried()
    min_mm, max_mm = limits

    async def main() -> None:
        link = SimBleLink("desk", Clock(), min_mm=min_mm, max_mm=max_mm, height_mm=900)

        async def report(value: tuple[int, int]) -> None:
            link._on_height(encode_height_speed(*value))

        async def reconnect() -> None:
            await link.desk.drop_link(away_s=0.5)
            await wait_for(lambda: not link.connected, timeout_s=30)
            for _ in range(20):
                with contextlib.suppress(DeskctlError):
                    await link.connect()
                    return
                await asyncio.sleep(0.5)

        async def wait(ms: int) -> None:
            await asyncio.sleep(ms / 1000)

        async with link:
            await _drive(link, steps, report, reconnect, wait)
        for _, char, data in link.desk.model.writes:
            if char is Char.REFERENCE_INPUT:
                target_mm = decode_target(data, link.base_mm)
                assert target_mm is None or min_mm <= target_mm <= max_mm, data.hex()

    run_virtual(main())


@settings(
    max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)  # shrinking through the proxy and Bumble's radio is slow
@given(steps=STEPS_LINAK, limits=st.tuples(st.integers(620, 800), st.integers(1000, 1270)))
def test_no_linak_target_through_a_proxy_ever_leaves_the_limits(
    steps: list[tuple[str, Any]], limits: tuple[int, int]
) -> None:
    """The same through an emulated ESPHome Bluetooth proxy (`--sim proxy`): the link over
    bleak-esphome and the proxy's native API, the desk dropping the link under it."""
    TALLY.tried()
    min_mm, max_mm = limits

    async def main() -> None:
        link = SimProxyLink("desk", Clock(), min_mm=min_mm, max_mm=max_mm, height_mm=900)

        async def report(value: tuple[int, int]) -> None:
            link._on_height(encode_height_speed(*value))

        async def reconnect() -> None:
            await link.desk.drop_link(away_s=0.5)
            await wait_for(lambda: not link.connected, timeout_s=30)
            for _ in range(20):
                with contextlib.suppress(DeskctlError):
                    await link.connect()
                    return
                await asyncio.sleep(0.5)

        async def wait(ms: int) -> None:
            await asyncio.sleep(ms / 1000)

        async with link:
            await _drive(link, steps, report, reconnect, wait)
        for _, char, data in link.desk.model.writes:
            if char is Char.REFERENCE_INPUT:
                target_mm = decode_target(data, link.base_mm)
                assert target_mm is None or min_mm <= target_mm <= max_mm, data.hex()

    run_virtual(main())


# -- item 6: wildcards in topics; a link raising a foreign error ---------------------------------
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("command_topic", "esp1/+/command"),
        ("state_topic", "esp1/#"),
        ("prefix", "esp\x001"),
        ("stop_topic", "esp1/stop/#"),
        ("availability_topic", "+/status"),
        ("cover_id", "de+sk"),
    ],
)
def test_a_topic_with_a_wildcard_is_refused_when_the_settings_load(
    tmp_path: Path, key: str, value: str
) -> None:
    TALLY.tried()
    file = tmp_path / "settings.toml"
    fields = {"preset": "custom", "state_topic": "a/b", "command_topic": "a/c", key: value}
    lines = "".join(f"{k} = {_toml(v)}\n" for k, v in fields.items())
    file.write_text(f'[desks.study]\nlink = "mqtt"\n[desks.study.mqtt]\n{lines}')
    with pytest.raises(ConfigError, match=rf"desks\.study\.mqtt\.{key}: .*(wildcard|NUL)"):
        load_settings(file)
    result = deskctl(tmp_path, "config", "show", "--config", str(file))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert key in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("key", "value"), [("base_topic", "desk/+"), ("discovery_prefix", "ha/#")])
def test_a_bridge_topic_with_a_wildcard_is_refused(tmp_path: Path, key: str, value: str) -> None:
    file = tmp_path / "settings.toml"
    file.write_text(f"[mqtt]\n{key} = {_toml(value)}\n")
    with pytest.raises(ConfigError, match=rf"mqtt\.{key}: "):
        load_settings(file)


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace("\x00", "\\u0000") + '"'


START = datetime.fromisoformat("2026-11-30T09:29:00+01:00")  # a Monday; 09:30 is a change


class Bug(RuntimeError):
    """Not one of deskctl's errors: what a bug in a link raises."""


def _buggy_after_start(link: SimLink) -> None:
    """The link starts the move, then raises a foreign error while the desk is on its way."""
    real = link._move_to

    async def move_to(target_mm: int, progress: Progress | None) -> int:
        task = asyncio.ensure_future(real(target_mm, progress))
        await wait_virtual(lambda: link.model.moving)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, DeskctlError):
            await task
        raise Bug("a bug in the link")

    link._move_to = move_to  # type: ignore[method-assign]


async def wait_virtual(condition: Any) -> None:
    await wait_for(condition, timeout_s=300)  # virtual seconds


def test_a_foreign_error_in_a_commanded_move_answers_and_stops_the_desk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers: list[str] = []

    async def script(service: Any, recorded: Any) -> None:
        link = sim(service)
        await wait_virtual(lambda: link.height_mm is not None)
        _buggy_after_start(link)
        TALLY.fault()
        with pytest.raises(DeskError, match="internal error") as caught:
            async with asyncio.timeout(60):
                await service.call("move", args={"height_mm": 1100})
        answers.append(str(caught.value))
        await wait_virtual(lambda: not link.model.active)
        assert link.model.height_mm < 1000, "the desk was stopped, not left to reach the target"
        status = await service.call("status")
        assert status["moving"] is False

    with caplog.at_level(logging.ERROR):
        run_service(START.replace(hour=8), script)
    assert answers
    tracebacks = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], Bug)]
    assert len(tracebacks) == 1, "the traceback is logged once"


def test_a_foreign_error_in_a_scheduled_move_holds_the_schedule(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def script(service: Any, recorded: Any) -> None:
        link = sim(service)
        runner = service.desks["desk"]
        await wait_virtual(lambda: link.height_mm is not None)
        _buggy_after_start(link)
        TALLY.fault()
        await wait_virtual(lambda: "move_started" in recorded.kinds())
        await wait_virtual(lambda: runner.scheduler.held is not None)
        status = await service.call("status")
        assert runner.scheduler.stage is not Stage.MOVING, "the schedule left moving"
        assert "internal error" in status["held"]
        await wait_virtual(lambda: not link.model.active)
        assert link.model.height_mm < 1000
        assert "error" in recorded.kinds()

    with caplog.at_level(logging.ERROR):
        run_service(START, script)
    tracebacks = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], Bug)]
    assert len(tracebacks) == 1
