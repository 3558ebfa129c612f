"""The X11 presence source against a real X server (Xvfb, started per test on a display of its
own), the person played through XTEST. Waits are on the source's reports, under generous bounds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import selectors
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from deskctl.adapters.presence import PresenceChain, SourceUnavailable
from deskctl.adapters.presence.x11 import X11IdleSource
from deskctl.core.presence import Event, Signal
from tests.presence_fakes import Heard

WAIT_S = 10.0
AWAY_S = 0.3  # real time here: the X server's idle clock cannot be warped
POLL_S = 0.02


@pytest.fixture
def x_display() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    program = shutil.which("Xvfb")
    if program is None:
        pytest.fail("Xvfb is not installed, and the X11 presence tests need an X server: "
                    "run scripts/setup (or `apt-get install xvfb`)")  # fmt: skip
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [
            program,
            "-displayfd",
            str(write_fd),
            "-nolisten",
            "tcp",
            "-noreset",
            "-screen",
            "0",
            "320x240x24",
        ],  # -noreset: no server reset when the last client leaves, which a client
        # connecting just then would meet as "connection reset by peer"
        pass_fds=(write_fd,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with selectors.DefaultSelector() as selector, os.fdopen(read_fd, "rb") as pipe:
            selector.register(pipe, selectors.EVENT_READ)
            if not selector.select(WAIT_S):
                pytest.fail(f"Xvfb named no display within {WAIT_S:g} s")
            number = pipe.readline().decode().strip()
        _until_answering(f":{number}")
        yield f":{number}", server
    finally:
        server.terminate()
        server.wait(WAIT_S)


def _until_answering(display_name: str) -> None:
    """Wait (bounded) until the X server takes a connection."""
    import time

    from Xlib import display

    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            display.Display(display_name).close()
            return
        except Exception:  # Xlib's DisplayError and socket errors alike
            if time.monotonic() > deadline:
                raise
            time.sleep(POLL_S)


def touch(display_name: str) -> None:
    """Input on the X server: a pointer move through XTEST."""
    from Xlib import X, display
    from Xlib.ext import xtest

    connection = display.Display(display_name)
    try:
        xtest.fake_input(connection, X.MotionNotify, x=10, y=20)
        connection.sync()
    finally:
        connection.close()


def x11(display_name: str, **env: str) -> X11IdleSource:
    return X11IdleSource(AWAY_S, poll_s=POLL_S, environ={"DISPLAY": display_name, **env})


async def test_x11_reports_active_then_idle_then_active(
    x_display: tuple[str, subprocess.Popen[bytes]],
) -> None:
    name, _server = x_display
    touch(name)
    heard = Heard()
    async with PresenceChain([x11(name)], heard) as chain:
        assert chain.available == ("x11",), chain.absent
        assert await heard.count(1) == [(Signal.ACTIVE, 0)]
        [(signal, idle_s)] = (await heard.count(2))[1:]
        assert signal is Signal.IDLE
        assert idle_s >= AWAY_S
        await asyncio.to_thread(touch, name)
        assert (await heard.count(3))[-1] == (Signal.ACTIVE, 0)


async def test_an_x_server_that_dies_is_dropped_and_not_waited_for(
    x_display: tuple[str, subprocess.Popen[bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    name, server = x_display
    heard = Heard()
    async with PresenceChain([x11(name)], heard) as chain:
        await heard.count(1)
        server.kill()
        await heard.until(lambda: heard.events[-1] == Event("x11", Signal.GONE))
        assert chain.available == ()
    warnings = [r.getMessage() for r in caplog.records if r.levelno > logging.INFO]
    assert warnings[0].startswith(
        "presence: the X server went away (the X server stopped answering ("
    )


@pytest.mark.parametrize(
    ("environ", "why"),
    [
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"},
         "this is a Wayland session, where X11 sees only the input to X11 windows"),
        ({"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"},
         "this is a Wayland session, where X11 sees only the input to X11 windows"),
        ({}, "DISPLAY is not set, so there is no X11 session to ask"),
    ],
)  # fmt: skip
async def test_x11_is_not_used_outside_an_x11_session(environ: dict[str, str], why: str) -> None:
    with pytest.raises(SourceUnavailable) as raised:
        await X11IdleSource(AWAY_S, environ=environ).open()
    assert str(raised.value) == why
    assert not raised.value.may_appear


async def test_x11_with_no_server_says_so(x_display: tuple[str, subprocess.Popen[bytes]]) -> None:
    # another display than the one the fixture started (which made sure the socket folder is there)
    with pytest.raises(SourceUnavailable) as raised:
        await x11(":9876").open()
    assert str(raised.value) == "the X server :9876 is not running (no /tmp/.X11-unix/X9876)"


async def test_x11_without_python_xlib_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "Xlib", None)  # import now raises ImportError
    with pytest.raises(SourceUnavailable) as raised:
        await x11(":0").open()
    assert str(raised.value) == "python-xlib is not installed (pip install 'deskctl[x11]')"
