"""The service's interface, driven alone: commands in, statuses and events out, on virtual time.

No socket and no bridge here: what an adapter may use (`submit`, `send`, `snapshot`, `facts`,
`subscribe`, `run(front=..., beside=...)`) is enough to drive a desk, and its arguments are
checked where they come in (a bad one never reaches the owner task). The adapters' sources are
read too: none of them reaches past that interface into a desk's runner, scheduler or link.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from deskctl.adapters.control_server import ControlServer, ProgressSink, Request
from deskctl.config.settings import Settings
from deskctl.core.vocab import Posture
from deskctl.errors import ConfigError, DeskctlError, InputError
from deskctl.service.assembly import build_service
from deskctl.service.commands import Inhibit, Move, Skip, Status, UseProfile, parse_command
from deskctl.service.core import Service
from deskctl.service.news import (
    Arrived,
    HeightReported,
    MoveEnded,
    MoveStarted,
    ServiceEvent,
    SessionChanged,
    StatusChanged,
)
from deskctl.service.status import DeskStatus
from deskctl.sim.links import SimLink
from deskctl.testing.virtual_time import run_virtual

TZ = ZoneInfo("Europe/Berlin")
ROOT = Path(__file__).resolve().parent.parent


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, second, tzinfo=TZ)  # a Monday


def _service(start: datetime) -> Service:
    service = build_service(Settings(), TZ, simulate=True, time_scale=1.0, start_at=start)
    for runner in service.desks.values():  # the test's own setup, not an adapter's
        assert isinstance(runner.link, SimLink)
        runner.link._persist = False
    return service


def _drive(
    start: datetime, script: Callable[[Service, list[ServiceEvent]], Awaitable[None]]
) -> list[ServiceEvent]:
    """Run the simulated service from `start` with `script` inside `async with service`."""
    events: list[ServiceEvent] = []

    async def main() -> None:
        service = _service(start)
        service.subscribe(events.append)
        async with service:
            await _until(service, lambda e: isinstance(e, StatusChanged) and e.status.connected)
            await script(service, events)
        assert asyncio.all_tasks() == {asyncio.current_task()}, "the service left a task behind"

    run_virtual(main())
    return events


async def _until(service: Service, wanted: Callable[[ServiceEvent], bool]) -> None:
    """Until the service emits an event that is `wanted`."""
    seen = asyncio.Event()
    unsubscribe = service.subscribe(lambda e: seen.set() if wanted(e) else None)
    try:
        async with asyncio.timeout(120):
            await seen.wait()
    finally:
        unsubscribe()


def test_a_desk_is_driven_by_commands_and_followed_by_its_events() -> None:
    answers: list[Any] = []
    refusals: list[str] = []

    async def script(service: Service, events: list[ServiceEvent]) -> None:
        moved = await service.submit(Move(height_mm=900))
        answers.append(moved)
        answers.append(await service.submit(Inhibit(on=True)))
        with pytest.raises(InputError) as refused:
            await service.submit(Move(posture=Posture.STAND, remote=True))
        refusals.append(str(refused.value))
        answers.append(service.snapshot()["desk"])
        answers.append(await service.submit(Status()))

    events = _drive(at(8, 0), script)
    moved, inhibited, snapshot, status = answers
    assert isinstance(moved, DeskStatus)
    assert (moved.height_mm, moved.moving) == (900, False)
    assert (inhibited.inhibited, inhibited.schedule) == (True, "inhibited")
    assert refusals == ["remote moves wait while inhibit is on"]
    assert (snapshot.inhibited, status.inhibited, status.height_mm) == (True, True, 900)
    kinds = [type(e) for e in events]
    started = kinds.index(MoveStarted)
    assert kinds.index(MoveEnded) > started
    assert kinds.index(Arrived) > started
    ended = next(e for e in events if isinstance(e, MoveEnded))
    assert (ended.outcome, ended.to_mm, ended.reason) == ("arrived", 900, "command")
    assert any(isinstance(e, HeightReported) and e.moving for e in events), "progress was told"
    assert [e.state for e in events if isinstance(e, SessionChanged)] == ["start", "stop"]
    changes = [e.status for e in events if isinstance(e, StatusChanged)]
    assert any(s.inhibited for s in changes), "the inhibit was a status change"


def test_working_hours_beginning_is_a_status_change_at_once() -> None:
    """09:00 with the first change skipped: no news, no scheduler wake-up; the status changes
    all the same, and subscribers hear of it when it does, not a minute later."""

    async def script(service: Service, events: list[ServiceEvent]) -> None:
        await service.submit(Skip())
        await asyncio.sleep((at(9, 0, 30) - service.clock.now()).total_seconds())

    events = _drive(at(8, 59, 40), script)
    running = [
        e.at for e in events if isinstance(e, StatusChanged) and e.status.schedule == "running"
    ]
    assert running, "the status never said running"
    assert at(9) <= running[0] < at(9, 0, 1)


def test_the_service_stops_its_companions_then_its_desks_then_its_front() -> None:
    seen: list[str] = []

    class Bridge:
        async def run(self, stop: asyncio.Event) -> None:
            await stop.wait()
            connected = self.service.snapshot()["desk"].connected
            seen.append(f"goodbye while the desk is {'on' if connected else 'off'}")

        service: Service

    class Front:
        async def __aenter__(self) -> Front:
            seen.append("front open")
            return self

        async def __aexit__(self, *exc: object) -> None:
            seen.append("front closed")

    async def main() -> None:
        service = _service(at(8, 0))
        bridge = Bridge()
        bridge.service = service
        service.subscribe(
            lambda e: seen.append(f"session {e.state}") if isinstance(e, SessionChanged) else None
        )
        running = asyncio.create_task(service.run(front=Front(), beside=[bridge]))
        await asyncio.sleep(10)
        service.request_stop()
        await running

    run_virtual(main())
    assert seen == [
        "front open",
        "session start",
        "goodbye while the desk is on",
        "session stop",
        "front closed",
    ]


def test_a_companion_that_fails_stops_the_service_and_its_error_comes_out() -> None:
    class Refused:
        async def run(self, stop: asyncio.Event) -> None:
            raise ConfigError("the broker refused the login")

    async def main() -> None:
        service = _service(at(8, 0))
        with pytest.raises(ConfigError, match="refused the login"):
            async with asyncio.timeout(60):
                await service.run(beside=[Refused()])

    run_virtual(main())


def test_a_profile_that_does_not_load_is_refused_before_the_owner_sees_it() -> None:
    async def main() -> None:
        service = _service(at(8, 0))
        answer = service.send(UseProfile(profile="no-such-profile"))
        assert answer.done()
        assert isinstance(answer.exception(), ConfigError)
        assert service.queue.empty(), "the file was read in the caller's task, not the owner's"

    run_virtual(main())


# -- checked where they come in --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cmd", "args", "sentence"),
    [
        ("fly", {}, "'fly' is not a command the service knows"),
        ("move", {}, "a move needs a height, like 110cm"),
        ("inhibit", {"on": "yes"}, "the argument 'on' must be true or false (JSON), not 'yes'"),
        ("profile_set", {"posture": "lie"}, "profile_set needs a posture, sit or stand"),
        ("snooze", {"duration_s": 0}, "a duration must be above zero and at most 30 days"),
    ],
)
def test_bad_commands_are_refused_in_one_sentence(
    cmd: str, args: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(DeskctlError) as refused:
        parse_command(cmd, None, args)
    assert str(refused.value).startswith(sentence)
    assert refused.value.exit_code == 2


def test_sit_stand_and_move_are_one_command() -> None:
    assert parse_command("sit", "office", {}) == Move("office", posture=Posture.SIT)
    remote = Move(posture=Posture.STAND, remote=True)
    assert parse_command("stand", None, {"remote": True}) == remote
    assert parse_command("move", None, {"height": "110cm"}) == Move(height_mm=1100)


async def test_the_socket_refuses_bad_arguments_before_any_handler(
    tmp_path: Path,
) -> None:
    asked: list[Request] = []

    async def handler(request: Request, progress: ProgressSink) -> dict[str, Any]:
        asked.append(request)
        return {"fine": True}

    async with ControlServer(tmp_path / "run" / "control.sock", handler) as server:
        reader, writer = await asyncio.open_unix_connection(str(server.path))
        writer.write(b'{"id":1,"cmd":"move","args":{}}\n{"id":2,"cmd":"fly"}\n')
        writer.write(b'{"id":3,"cmd":"stand"}\n')
        await writer.drain()
        lines = [await asyncio.wait_for(reader.readline(), 10) for _ in range(3)]
        writer.close()
        await writer.wait_closed()
    assert lines == [
        b'{"id":1,"ok":false,"error":"a move needs a height, like 110cm","exit_code":2}\n',
        b'{"id":2,"ok":false,"error":"unknown command \'fly\'","exit_code":2}\n',
        b'{"id":3,"ok":true,"result":{"fine":true}}\n',
    ]
    assert [r.command for r in asked] == [Move(posture=Posture.STAND)]


# -- the adapters' sources -------------------------------------------------------------------------
INTERFACE = {
    "submit", "send", "answer", "snapshot", "facts", "subscribe", "desk_names", "resolve",
    "clock", "request_stop", "run",
}  # fmt: skip


def _is_service(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "service") or (
        isinstance(node, ast.Attribute) and node.attr == "service"
    )


def test_no_adapter_reaches_past_the_service_interface() -> None:
    """In deskctl/adapters and deskctl/cli, a service is used by its interface only: no
    `service.desks`, no `service.post(...)`, nothing of a runner, scheduler or link."""
    found = []
    sources = [
        *(ROOT / "deskctl" / "adapters").rglob("*.py"),
        *(ROOT / "deskctl" / "cli").rglob("*.py"),
    ]
    for path in sorted(sources):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and _is_service(node.value)
                and node.attr not in INTERFACE
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} service.{node.attr}")
    assert found == []
