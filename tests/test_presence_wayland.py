"""The Wayland presence source against a real Wayland server: a tiny compositor made with
pywayland's server API (tests/wayland_compositor.py) on a private socket in the test's folder,
offering ext-idle-notify-v1, the person played by the test. Waits are on the source's reports
(and the compositor's), under generous bounds.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskctl.adapters.presence import PresenceChain, SourceUnavailable, build_sources
from deskctl.adapters.presence.wayland import WaylandIdleSource
from deskctl.core.presence import Event, Signal
from tests.presence_fakes import Heard
from tests.wayland_compositor import Compositor

WAIT_S = 10.0
AWAY_S = 0.3  # real time here: the compositor's idle clock cannot be warped


@pytest.fixture
def compositor(tmp_path: Path) -> Iterator[Compositor]:
    with Compositor(tmp_path) as running:
        yield running


def wayland(socket: Path | str, **env: str) -> WaylandIdleSource:
    return WaylandIdleSource(AWAY_S, environ={"WAYLAND_DISPLAY": str(socket), **env})


async def asked(compositor: Compositor) -> None:
    assert await asyncio.to_thread(compositor.asked.wait, WAIT_S)


async def test_wayland_reports_active_then_idle_after_the_threshold_then_active(
    compositor: Compositor,
) -> None:
    heard = Heard()
    async with PresenceChain([wayland(compositor.socket)], heard) as chain:
        assert chain.available == ("wayland",), chain.absent
        assert compositor.timeouts_ms == [300]  # the away threshold, in ms
        assert await heard.count(1) == [(Signal.ACTIVE, 0)]
        assert (await heard.count(2))[1] == (Signal.IDLE, AWAY_S)
        compositor.touch()
        assert (await heard.count(3))[2] == (Signal.ACTIVE, 0)
        compositor.touch()  # input while active: nothing to report, the timeout starts again
        assert (await heard.count(4))[3] == (Signal.IDLE, AWAY_S)
    assert all(event.source == "wayland" for event in heard.events)


async def test_wayland_reports_idle_at_once_when_already_idle(compositor: Compositor) -> None:
    compositor.already_idle = True
    heard = Heard()
    async with PresenceChain([wayland(compositor.socket)], heard) as chain:
        assert chain.available == ("wayland",), chain.absent
        assert await heard.count(1) == [(Signal.IDLE, AWAY_S)]  # no `active` first
        compositor.touch()
        assert (await heard.count(2))[1] == (Signal.ACTIVE, 0)


async def test_a_socket_name_is_found_in_the_runtime_dir(compositor: Compositor) -> None:
    source = wayland(compositor.socket.name, XDG_RUNTIME_DIR=str(compositor.socket.parent))
    heard = Heard()
    async with PresenceChain([source], heard) as chain:
        assert chain.available == ("wayland",), chain.absent
        assert await heard.count(1) == [(Signal.ACTIVE, 0)]


async def test_a_compositor_that_goes_away_is_dropped_and_not_waited_for(
    compositor: Compositor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    heard = Heard()
    async with PresenceChain([wayland(compositor.socket)], heard) as chain:
        await heard.count(1)
        await asyncio.to_thread(compositor.close)
        await heard.until(lambda: heard.events[-1] == Event("wayland", Signal.GONE))
        assert chain.available == ()
        assert (
            chain.status() == "no presence source is available, so the schedule runs on the clock"
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelno > logging.INFO]
    assert warnings[0] == (
        "presence: the Wayland compositor went away (the compositor closed the connection); "
        "it no longer counts"
    )


async def test_a_compositor_without_ext_idle_notify_is_skipped_in_one_sentence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    with Compositor(tmp_path, idle_notify=False) as plain:
        heard = Heard()
        async with PresenceChain([wayland(plain.socket)], heard) as chain:
            assert chain.available == ()
            assert chain.absent == {
                "wayland": f"the Wayland compositor at {plain.socket} has no ext-idle-notify-v1 "
                "(ext_idle_notifier_v1 is not offered)"
            }
        assert heard.events == []
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"presence: the Wayland compositor is not used: {chain.absent['wayland']}",
        "presence: no presence source is available, so the schedule runs on the clock",
    ]


async def test_with_no_compositor_the_source_says_so(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable) as raised:
        await wayland(tmp_path / "wayland-9").open()
    assert str(raised.value) == f"no Wayland compositor is running at {tmp_path / 'wayland-9'}"
    assert not raised.value.may_appear


async def test_a_compositor_that_does_not_answer_is_given_up_on(tmp_path: Path) -> None:
    # a socket that takes the connection and never answers, like a compositor that hangs
    path = tmp_path / "wayland-hung"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as hung:
        hung.bind(str(path))
        hung.listen()
        source = WaylandIdleSource(AWAY_S, environ={"WAYLAND_DISPLAY": str(path)},
                                   answer_timeout_s=0.2)  # fmt: skip
        with pytest.raises(SourceUnavailable) as raised:
            async with asyncio.timeout(WAIT_S):
                await source.open()
    assert str(raised.value) == f"the Wayland compositor at {path} did not answer within 0.2 s"


@pytest.mark.parametrize(
    ("environ", "why"),
    [
        ({}, "WAYLAND_DISPLAY is not set, so there is no Wayland compositor to ask"),
        ({"WAYLAND_DISPLAY": "wayland-0"},
         "XDG_RUNTIME_DIR is not set, so the Wayland socket wayland-0 cannot be found"),
    ],
)  # fmt: skip
async def test_wayland_is_not_used_outside_a_wayland_session(
    environ: dict[str, str], why: str
) -> None:
    with pytest.raises(SourceUnavailable) as raised:
        await WaylandIdleSource(AWAY_S, environ=environ).open()
    assert str(raised.value) == why


async def test_wayland_without_pywayland_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pywayland.client.display", None)  # import: ImportError
    with pytest.raises(SourceUnavailable) as raised:
        await wayland(tmp_path / "wayland-0").open()
    assert str(raised.value) == "pywayland is not installed (pip install 'deskctl[wayland]')"


async def test_the_settings_name_the_wayland_source(compositor: Compositor) -> None:
    [source] = build_sources(
        ["wayland"], AWAY_S, environ={"WAYLAND_DISPLAY": str(compositor.socket)}
    )
    heard = Heard()
    async with PresenceChain([source], heard) as chain:
        assert chain.status() == "presence from the Wayland compositor"
