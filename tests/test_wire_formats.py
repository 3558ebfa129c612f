"""The wire formats, byte for byte: the contract that refactors keep.

Each test produces what deskctl writes for fixed inputs (virtual time from a fixed instant, the
simulated desk, the shipped profiles and cues, default settings) and compares the bytes with a
golden file in tests/golden/: the control socket's answer lines (status of one desk and of two,
a move with its progress lines, error answers), MQTT's `B/D/state` and `B/D/event` payloads and
the Home Assistant discovery of a desk (every entity), and the `--json` output of `status`,
`plan`, `cues list`, `stats`, `config show` and the commands a service answers. The documented
formats (docs/control-socket.md, docs/home-assistant.md) are promises to other programs: a
change here is a change on the wire.
The simulated desk runs without its physics and radio here (`IDEAL`, `NO_RADIO`): the pins are
about the format, and the realistic desk's heights are another test's business.
`DESKCTL_WRITE_GOLDEN=1` rewrites the files; do that only when the wire is meant to change, and
say so in the commit.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from deskctl.adapters.control_server import ControlServer, ProgressSink, Request, service_handler
from deskctl.adapters.history_store import Store, default_path
from deskctl.clocks.clock import Clock
from deskctl.config.settings import DeskSettings, MqttSettings, Settings
from deskctl.core.cues import Area, Change, Cue, Kind
from deskctl.core.ha import (
    DeskInfo,
    Topics,
    discovery_payload,
    encode,
    event_payload,
    state_payload,
)
from deskctl.links.base import DeskLink
from deskctl.service import assembly
from deskctl.service.assembly import build_service
from deskctl.service.core import Service
from deskctl.service.news import HeightReported, StatusChanged
from deskctl.service.status import status_json
from deskctl.sim.links import SimLink
from deskctl.sim.physics import IDEAL, NO_RADIO
from deskctl.testing.virtual_time import run_virtual
from tests.cli import deskctl

GOLDEN = Path(__file__).resolve().parent / "golden"
TZ = ZoneInfo("Europe/Berlin")
MONDAY_0950 = datetime(2026, 11, 30, 9, 50, tzinfo=TZ)  # inside the default profile's hours
MONDAY_0750 = datetime(2026, 11, 30, 7, 50, tzinfo=TZ)  # before them


def check(name: str, data: bytes) -> None:
    """`data` must equal tests/golden/`name` byte for byte."""
    path = GOLDEN / name
    if os.environ.get("DESKCTL_WRITE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert path.is_file(), f"no golden file {path}; write it with DESKCTL_WRITE_GOLDEN=1"
    assert data.decode() == path.read_text(encoding="utf-8")


@pytest.fixture(autouse=True, scope="module")
def _ideal_desks() -> Iterator[None]:
    """Every simulated desk built here is the ideal one (see the module docstring)."""
    real = assembly.open_link

    def ideal(
        name: str, desk: DeskSettings, clock: Clock, *, broker: MqttSettings | None = None
    ) -> DeskLink:
        link = real(name, desk, clock, broker=broker)
        if not isinstance(link, SimLink):
            return link
        return SimLink(
            name, clock, min_mm=desk.min_mm, max_mm=desk.max_mm, physics=IDEAL, radio=NO_RADIO
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assembly, "open_link", ideal)
        yield


def _quiet(service: Service) -> None:
    for runner in service.desks.values():
        if isinstance(runner.link, SimLink):
            runner.link._persist = False


def _settings(*desks: str) -> Settings:
    return Settings(desks={name: DeskSettings() for name in desks})


# -- the control socket --------------------------------------------------------------------------
async def _exchange(path: str, lines: list[dict[str, Any]], answers: int) -> bytes:
    """Send `lines` on one connection; the raw bytes of the first `answers` answer lines (a
    progress line is no answer)."""
    reader, writer = await asyncio.open_unix_connection(path)
    out = b""
    try:
        for line in lines:
            writer.write(json.dumps(line).encode() + b"\n")
        await writer.drain()
        while answers:
            raw = await asyncio.wait_for(reader.readline(), 600)
            out += raw
            if "progress" not in json.loads(raw):
                answers -= 1
    finally:
        writer.close()
        await writer.wait_closed()
    return out


def _control_session(desks: tuple[str, ...], requests: list[dict[str, Any]], answers: int) -> bytes:
    async def main() -> bytes:
        service = build_service(
            _settings(*desks), TZ, simulate=True, time_scale=1.0, start_at=MONDAY_0950
        )
        _quiet(service)
        running = asyncio.create_task(service.run())
        try:
            async with ControlServer(None, service_handler(service)) as server:
                await asyncio.sleep(5)  # the desks connect and report their height
                return await _exchange(str(server.path), requests, answers)
        finally:
            service.request_stop()
            await running

    return run_virtual(main())


def test_control_status_of_one_desk() -> None:
    data = _control_session(("desk",), [{"id": 1, "cmd": "status"}], 1)
    check("control_status_one_desk.jsonl", data)


def test_control_status_of_two_desks_and_of_each() -> None:
    requests = [
        {"id": 1, "cmd": "status"},
        {"id": 2, "cmd": "status", "desk": "lab"},
    ]
    check("control_status_two_desks.jsonl", _control_session(("office", "lab"), requests, 2))


def test_control_move_with_progress_then_status() -> None:
    requests = [
        {"id": 7, "cmd": "move", "args": {"height_mm": 1000}, "progress": True},
        {"id": 8, "cmd": "stand"},
        {"id": 9, "cmd": "pause", "args": {"duration_s": 2700}},
        {"id": 10, "cmd": "inhibit", "args": {"on": True}},
    ]
    check("control_move.jsonl", _control_session(("desk",), requests, 4))


def test_control_error_answers() -> None:
    requests: list[Any] = [
        {"id": 3, "cmd": "move", "args": {"height_mm": 5000}},
        {"id": 4, "cmd": "status", "desk": "attic"},
        {"id": 5, "cmd": "fly"},
        {"id": 6, "cmd": "pause", "args": {"duration_s": -1}},
        {"id": 7, "cmd": "inhibit", "args": {"on": "yes"}},
        {"id": 8, "cmd": "status", "extra": 1},
    ]
    check("control_errors.jsonl", _control_session(("desk",), requests, len(requests)))


def test_control_errors_for_lines_that_are_no_request() -> None:
    async def main() -> bytes:
        async def never(request: Request, progress: ProgressSink) -> dict[str, Any]:
            raise AssertionError("not a request")

        async with ControlServer(None, never) as server:
            reader, writer = await asyncio.open_unix_connection(str(server.path))
            writer.write(b"not json\n[1]\n{}\n\xff\n")
            await writer.drain()
            out = b"".join([await reader.readline() for _ in range(4)])
            writer.close()
            await writer.wait_closed()
            return out

    check("control_bad_lines.jsonl", run_virtual(main()))


# -- MQTT: state, events, discovery --------------------------------------------------------------
CUE = Cue(
    id="cat-cow",
    title="Cat-cow at the desk",
    steps=("Hands on the desk.", "Round, then arch, the back."),
    area=Area.LOWER_BACK,
    kind=Kind.MOBILITY,
    duration_s=60,
    suits=frozenset({Change.TO_STAND}),
)


def _day_of_events() -> tuple[list[tuple[str, datetime, str, dict[str, Any]]], list[bytes]]:
    """A simulated morning: every event the service emitted, and the desk's state each minute."""
    events: list[tuple[str, datetime, str, dict[str, Any]]] = []
    states: list[bytes] = []

    async def main() -> None:
        service = build_service(
            _settings("office"), TZ, simulate=True, time_scale=1.0, start_at=MONDAY_0750
        )
        _quiet(service)
        service.subscribe(
            lambda e: (
                None
                if isinstance(e, HeightReported | StatusChanged)
                else events.append((e.desk, e.at, e.kind, e.fields()))
            )
        )
        running = asyncio.create_task(service.run())
        runner = service.desks["office"]
        try:
            for minute in range(0, 150):
                await asyncio.sleep(60)
                if minute in (5, 76, 90, 106, 149):
                    status = status_json(runner.status(service.clock.now()))
                    states.append(encode(state_payload(status, inhibited=False)) + b"\n")
                if minute == 75:
                    await service.call("pause", "office", {"duration_s": 600})
                if minute == 105:
                    await service.call("move", "office", {"height_mm": 900})
                if minute == 110:
                    await service.call("inhibit", "office", {"on": True})
                    states.append(
                        encode(
                            state_payload(
                                status_json(runner.status(service.clock.now())), inhibited=True
                            )
                        )
                        + b"\n"
                    )
                    await service.call("inhibit", "office", {"on": False})
        finally:
            service.request_stop()
            await running

    run_virtual(main())
    return events, states


@pytest.fixture(scope="module")
def morning() -> tuple[list[tuple[str, datetime, str, dict[str, Any]]], list[bytes]]:
    return _day_of_events()


def test_mqtt_state_payloads(
    morning: tuple[list[tuple[str, datetime, str, dict[str, Any]]], list[bytes]],
) -> None:
    check("mqtt_state.jsonl", b"".join(morning[1]))


def test_mqtt_event_payloads_of_a_morning(
    morning: tuple[list[tuple[str, datetime, str, dict[str, Any]]], list[bytes]],
) -> None:
    lines = b""
    for desk, at, kind, fields in morning[0]:
        payload = event_payload(desk, at, kind, fields)
        if payload is not None:
            lines += encode(payload) + b"\n"
    check("mqtt_events_morning.jsonl", lines)


def test_mqtt_event_payloads_of_every_kind() -> None:
    at = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    block = {
        "posture": "stand",
        "height_mm": 1100,
        "start": "2026-11-30T10:15:00+01:00",
        "end": "2026-11-30T11:00:00+01:00",
        "cue": CUE,
    }
    cases: list[tuple[str, dict[str, Any]]] = [
        ("warning", {**block, "move_at": "2026-11-30T10:15:00+01:00", "confirm": False}),
        ("confirm", block),
        ("cue", {"cue": CUE, "change": "to_stand", "done": True}),
        ("move_started", {"target_mm": 1100, "scheduled": True}),
        ("arrived", {"height_mm": 1100}),
        ("manual_move", {"height_mm": 950, "ended": True}),
        ("obstruction", {"height_mm": 900, "reason": "something is in the way", "held": True}),
        ("held", {"reason": "the desk stopped", "told": False}),
        ("dropped", {**block, "why": "skipped"}),
        ("error", {"reason": "the link is gone", "held": False}),
        ("error", {"reason": "'fly' is not an action", "topic": "deskctl/office/action"}),
        ("move", {"from_mm": 720, "to_mm": 1100, "outcome": "arrived", "reason": "command"}),
        ("posture", {"posture": "stand", "height_mm": 1100}),
        ("schedule", {"state": "running", "until": None, "working": True}),
        ("withdrawn", {**block, "why": "you are away"}),
        (
            "presence",
            {
                "state": "away",
                "source": "logind",
                "since": at,
                "reason": "logind says the screen is locked",
            },
        ),
    ]
    lines = b""
    for kind, fields in cases:
        payload = event_payload("office", at, kind, fields)
        lines += b"-\n" if payload is None else encode(payload) + b"\n"
    check("mqtt_events_every_kind.jsonl", lines)


DESKS = [
    DeskInfo("office", 620, 1270, manufacturer="LINAK", model="DPG1C", sw_version="5.2"),
    DeskInfo("desk", 620, 1270, manufacturer="deskctl", model="Simulated LINAK desk"),
    DeskInfo("Büro 2", 640, 1290, model="ESPHome desk over MQTT", hw_version="rev B"),
]


@pytest.mark.parametrize("index", range(len(DESKS)))
def test_home_assistant_discovery(index: int) -> None:
    desk = DESKS[index]
    lines = b""
    for topics in (Topics(), Topics("home/desks", "ha", "gw-1")):
        payload = discovery_payload(
            topics, desk, ("cornell-20-8-2", "default", "tall"), sw_version="1.2.3"
        )
        lines += topics.discovery(desk.name).encode() + b"\n" + encode(payload) + b"\n"
    check(f"ha_discovery_{index}.jsonl", lines)


# -- the CLI's --json ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("plan_default", ["plan", "--json", "--date", "2026-11-30", "--tz", "Europe/Berlin"]),
        (
            "plan_cornell",
            ["plan", "--json", "--profile", "cornell-20-8-2", "--date", "2026-12-01"],
        ),
        ("plan_day_off", ["plan", "--json", "--date", "2026-11-29", "--tz", "Europe/Berlin"]),
        ("cues_list", ["cues", "list", "--json"]),
        ("cues_list_neck", ["cues", "list", "--json", "--area", "neck"]),
        ("status_simulated", ["status", "--simulate", "--json"]),
    ],
)
def test_cli_json(tmp_path: Path, name: str, args: list[str]) -> None:
    done = deskctl(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    check(f"cli_{name}.json", done.stdout.encode())


@pytest.fixture
def answering_service(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A control socket in a thread that answers every request with the result it is given."""
    results: list[dict[str, Any]] = [{}]
    ready = threading.Event()
    stop: list[Callable[[], None]] = []

    async def serve() -> None:
        async def handler(request: Request, progress: ProgressSink) -> dict[str, Any]:
            return results[-1]

        done = asyncio.Event()

        def end() -> None:
            loop.call_soon_threadsafe(done.set)

        stop.append(end)
        async with ControlServer(tmp_path / "run" / "control.sock", handler):
            ready.set()
            await done.wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()))
    thread.start()
    assert ready.wait(30)
    try:
        yield results.append
    finally:
        stop[0]()
        thread.join(30)
        loop.close()


def _service_status(desks: tuple[str, ...]) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        service = build_service(
            _settings(*desks), TZ, simulate=True, time_scale=1.0, start_at=MONDAY_0950
        )
        _quiet(service)
        running = asyncio.create_task(service.run())
        try:
            await asyncio.sleep(5)
            return await service.call("status")
        finally:
            service.request_stop()
            await running

    return run_virtual(main())


@pytest.mark.parametrize("desks", [("desk",), ("office", "lab")])
def test_cli_status_json_from_the_service(
    tmp_path: Path, answering_service: Callable[[dict[str, Any]], None], desks: tuple[str, ...]
) -> None:
    answering_service(_service_status(desks))
    done = deskctl(tmp_path, "status", "--json")
    assert done.returncode == 0, done.stderr
    check(f"cli_status_service_{len(desks)}.json", done.stdout.encode())


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("stand", ["stand", "--json"]),
        ("move", ["move", "100cm", "--json"]),
        ("stop", ["stop", "--json"]),
        ("pause", ["pause", "45m", "--json"]),
        ("inhibit", ["inhibit", "on", "--json"]),
    ],
)
def test_cli_commands_json_from_the_service(
    tmp_path: Path, answering_service: Callable[[dict[str, Any]], None], name: str, args: list[str]
) -> None:
    """What a command prints with --json, for the service's answer (the desk's status)."""
    answering_service(_service_status(("desk",)))
    done = deskctl(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    check(f"cli_{name}_service.json", done.stdout.encode())


def test_cli_config_show_json(tmp_path: Path) -> None:
    """The effective settings with secrets masked, from a file and the environment."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(
        '[mqtt]\nhost = "broker.lan"\nusername = "desk"\npassword = "hunter2"\n'
        '[desks.office]\nlink = "ble"\naddress = "AA:BB:CC:DD:EE:FF"\nprofile = "default"\n',
        encoding="utf-8",
    )
    done = deskctl(tmp_path, "config", "show", "--json", DESKCTL_MQTT__PORT="8883")
    assert done.returncode == 0, done.stderr
    check("cli_config_show.json", done.stdout.replace(str(tmp_path), "<tmp>").encode())


def test_cli_stats_json(tmp_path: Path) -> None:
    """A simulated morning recorded in the history, then `stats --json` over it."""
    path = default_path()  # in the conftest's state folder; the CLI is pointed at it below
    history = Store(path)

    async def main() -> None:
        service = build_service(
            _settings("office"), TZ, simulate=True, time_scale=1.0, start_at=MONDAY_0750,
            store=history,
        )  # fmt: skip
        _quiet(service)
        running = asyncio.create_task(service.run())
        try:
            await asyncio.sleep(4 * 3600)
            await service.call("move", "office", {"height_mm": 900})
            await asyncio.sleep(3600)
        finally:
            service.request_stop()
            await running

    run_virtual(main())
    history.close()
    for to, days in (("2026-11-30", "1"), ("2026-12-01", "3")):
        done = deskctl(
            tmp_path, "stats", "--json", "--to", to, "--days", days,
            "--tz", "Europe/Berlin", DESKCTL_STATE_DIR=str(path.parent),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        check(f"cli_stats_{days}.json", done.stdout.encode())


def test_the_golden_files_are_all_used() -> None:
    """A golden file no test writes any more would pin nothing."""
    names = {p.name for p in GOLDEN.iterdir()}
    expected = {
        "control_status_one_desk.jsonl", "control_status_two_desks.jsonl", "control_move.jsonl",
        "control_errors.jsonl", "control_bad_lines.jsonl", "mqtt_state.jsonl",
        "mqtt_events_morning.jsonl", "mqtt_events_every_kind.jsonl",
        *(f"ha_discovery_{i}.jsonl" for i in range(len(DESKS))),
        "cli_plan_default.json", "cli_plan_cornell.json", "cli_plan_day_off.json",
        "cli_cues_list.json", "cli_cues_list_neck.json", "cli_status_simulated.json",
        "cli_status_service_1.json", "cli_status_service_2.json",
        "cli_stats_1.json", "cli_stats_3.json", "cli_config_show.json",
        *(f"cli_{n}_service.json" for n in ("stand", "move", "stop", "pause", "inhibit")),
    }  # fmt: skip
    assert names == expected
