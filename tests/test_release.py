"""`deskctl release`: the service lets go of the desk (for its phone app) and keeps off it.

On virtual time with the whole service and the simulated LINAK desk: a released desk is closed,
the reconnect loop does not touch it until the release ends (by its time or by `connect`), no
byte reaches it meanwhile, and the status says why it is not connected; a restart of the service
meanwhile (the same history and state) keeps off the desk as well.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest

from deskctl.adapters.history_store import Store
from deskctl.errors import DeskctlError
from deskctl.links.base import ConnectionChanged
from deskctl.service.commands import Connect, Release
from deskctl.service.core import Service
from tests.service_harness import TZ, Recorded, run_service, sim

START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)
Script = Callable[[Service, Recorded], Awaitable[None]]  # a Monday; changes at 09:00, 09:30, 09:45


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute, second=second)


async def until(service: Service, when: datetime) -> None:
    await service.clock.sleep((when - service.clock.now()).total_seconds())


def _count_connects(service: Service) -> list[datetime]:
    """The instants at which the service asked the link to connect."""
    link = sim(service)
    calls: list[datetime] = []
    connect = link.connect

    async def counted() -> None:
        calls.append(service.clock.now())
        await connect()

    link.connect = counted  # type: ignore[method-assign]
    return calls


def test_a_released_desk_is_left_alone_until_the_time_is_up() -> None:
    seen: dict[str, object] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 5))
        connects = _count_connects(service)
        writes = len(link.model.writes)
        await service.submit(Release(duration_s=600))
        await service.clock.sleep(1)
        status = await service.call("status")
        seen["connected"] = status["connected"]
        seen["released_until"] = status["released_until"]
        # bleak calls its disconnect callback for a disconnect we asked for too
        link._emit(ConnectionChanged(False, "disconnected"))
        await until(service, at(9, 14, 50))
        seen["connects_during"] = list(connects)
        seen["writes_during"] = link.model.writes[writes:]
        with pytest.raises(DeskctlError, match="released for the phone app until 09:15"):
            await service.call("move", args={"height_mm": 1000})
        await until(service, at(9, 15, 30))
        seen["connects_after"] = list(connects)
        status = await service.call("status")
        seen["connected_after"] = status["connected"]
        seen["released_after"] = status["released_until"]

    run_service(START, script)
    assert seen["connected"] is False
    assert seen["released_until"] == at(9, 15).isoformat()
    assert seen["connects_during"] == [], "the reconnect loop kept off the released desk"
    assert seen["writes_during"] == [], "nothing was sent to the desk while it was released"
    assert seen["connects_after"], "the service connected again when the time was up"
    connects = seen["connects_after"]
    assert isinstance(connects, list)
    assert connects[0] >= at(9, 15)
    assert seen["connected_after"] is True
    assert seen["released_after"] is None


def test_connect_ends_a_release_at_once() -> None:
    seen: dict[str, object] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 5))
        connects = _count_connects(service)
        await service.submit(Release(duration_s=3600))
        await until(service, at(9, 10))
        assert connects == []
        await service.submit(Connect())
        await service.clock.sleep(5)
        seen["connects"] = list(connects)
        seen["status"] = await service.call("status")

    run_service(START, script)
    connects = seen["connects"]
    assert isinstance(connects, list)
    assert len(connects) == 1
    status = seen["status"]
    assert isinstance(status, dict)
    assert status["connected"] is True
    assert status["released_until"] is None


def test_a_release_while_the_desk_is_out_of_reach_stops_the_reconnect_loop() -> None:
    seen: dict[str, object] = {}

    async def script(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        await until(service, at(9, 5))
        link.model.refuse_writes = True  # out of reach: reconnecting fails
        link.sim_gatt.drop()
        await service.clock.sleep(3)
        connects = _count_connects(service)
        await service.submit(Release(duration_s=600))
        connects.clear()  # one may have begun before the release came
        await until(service, at(9, 14, 50))
        seen["connects_during"] = list(connects)
        link.model.refuse_writes = False
        await until(service, at(9, 15, 30))
        seen["connected_after"] = (await service.call("status"))["connected"]

    run_service(START, script)
    assert seen["connects_during"] == []
    assert seen["connected_after"] is True


def test_status_in_words_says_why_a_released_desk_is_not_connected() -> None:
    from deskctl.cli.service_calls import status_lines

    state = {"desk": "office", "height_mm": 1100, "posture": "stand", "connected": False,
             "released_until": "2026-11-30T10:40:00+01:00", "profile": "default",
             "schedule": "running"}  # fmt: skip
    assert status_lines(state)[0] == (
        "office: 110.0 cm, stand (released for the phone app until 10:40; deskctl connect)"
    )


# -- a release outlasts the service: it is kept with the schedule's state -------------------------
def _restarted(
    tmp_path: Path, first: Script, second: Script, second_from: datetime
) -> tuple[Recorded, Recorded]:
    """Run the service from START with `first`, stop it, and run it again from `second_from`
    on the same history and state (as systemd restarts it)."""
    store = Store(tmp_path / "history.sqlite3")
    try:
        return (
            run_service(START, first, store=store),
            run_service(second_from, second, store=store),
        )
    finally:
        store.close()


def test_a_release_outlasts_a_restart_of_the_service(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    async def first(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 5))
        await service.submit(Release(duration_s=30 * 60))  # until 09:35, over the 09:30 change

    async def second(service: Service, recorded: Recorded) -> None:
        connects = _count_connects(service)  # before the restarted service's first step
        writes = sim(service).model.writes
        await service.clock.sleep(1)
        seen["status"] = await service.call("status")
        await until(service, at(9, 34, 50))
        seen["connects_during"], seen["writes_during"] = list(connects), list(writes)
        await until(service, at(9, 35, 30))
        seen["connects_after"] = list(connects)
        seen["connected_after"] = (await service.call("status"))["connected"]

    _, recorded = _restarted(tmp_path, first, second, at(9, 10))
    status = seen["status"]
    assert isinstance(status, dict)
    assert (status["connected"], status["released_until"]) == (False, at(9, 35).isoformat())
    assert seen["connects_during"] == [], "the restarted service kept off the released desk"
    assert seen["writes_during"] == []
    assert not [when for when, _ in recorded.of("move_started") if when < at(9, 35)]
    connects = seen["connects_after"]
    assert isinstance(connects, list)
    assert connects
    assert connects[0] >= at(9, 35)
    assert seen["connected_after"] is True


def test_connect_ends_a_release_for_good_and_a_release_that_ran_out_is_gone(
    tmp_path: Path,
) -> None:
    connected: list[object] = []

    async def release_for_an_hour(service: Service, recorded: Recorded) -> None:
        await until(service, at(9, 5))
        await service.submit(Release(duration_s=3600))

    async def connect(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(1)
        connected.append((await service.call("status"))["connected"])
        await service.submit(Connect())
        await service.clock.sleep(5)
        connected.append((await service.call("status"))["connected"])

    async def look(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(5)
        connected.append((await service.call("status"))["connected"])

    _restarted(tmp_path, release_for_an_hour, connect, at(9, 10))
    store = Store(tmp_path / "history.sqlite3")
    try:
        run_service(at(9, 12), look, store=store)  # the connect reached the disk
        run_service(at(9, 13), release_for_an_hour, store=store)
        run_service(at(10, 10), look, store=store)  # back after the hour (09:13 to 10:13)
        run_service(at(10, 14), look, store=store)  # back after it ended
    finally:
        store.close()
    assert connected == [False, True, True, False, True]
