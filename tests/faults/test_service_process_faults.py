"""Process faults of the service itself: its lock, its control socket, its signals.

Each test runs `deskctl run --simulate` in a subprocess with its own folders, as a person would
in a terminal or in tmux, and breaks what the world breaks:
- logind removes the runtime folder at logout while `deskctl run` goes on in tmux: a second
  `deskctl run` is refused naming the first one's pid (the lock is in the state folder), and the
  first one makes its socket again, so `deskctl stop` stops its moves;
- a flood of idle connections, more than the cap and more than the open-file limit (lowered for
  the service): `status` is still answered, the log stays small, and the service raised its soft
  limit to the hard one;
- the terminal of a foreground `deskctl run` closes (SIGHUP) in the middle of a move: the desk
  is stopped, the session ends in the history, the lock is free, the exit is clean.
The cap and the idle timeout are also checked in-process on a `ControlServer` with small limits.
Every wait is bounded by a deadline on a condition, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters import control_client
from deskctl.adapters.control_server import ControlServer, ProgressSink, Request
from deskctl.adapters.history_store import Store
from deskctl.adapters.service_lock import ServiceLock
from tests.cli import cli_env, deskctl
from tests.faults.tally import counter
from tests.service_process import start_service, wait_for

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
FROM = "2026-11-30T09:10:00+01:00"


def _answers(sock: Path) -> bool:
    try:
        return sock.exists() and control_client.call("status", path=sock, timeout_s=5)["service"]
    except control_client.ControlError:
        return False


def _far_target_mm(sock: Path) -> int:
    """The end of the travel farther from where the desk stands: a move of 10 s or more."""
    height_mm = control_client.call("status", path=sock, timeout_s=10)["height_mm"]
    return 650 if height_mm > 950 else 1250


def _send_move(sock: Path, height_mm: int) -> socket.socket:
    """A move on its way; nobody waits for its answer."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(sock))
    conn.sendall(json.dumps({"id": 1, "cmd": "move", "args": {"height_mm": height_mm}}).encode())
    conn.sendall(b"\n")
    return conn


def _moving(sock: Path) -> bool:
    return bool(control_client.call("status", path=sock, timeout_s=10)["moving"])


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)[0]


# --- 4: the runtime folder vanishes under a running service -----------------------------------


def test_a_vanished_runtime_folder_lets_no_second_service_start_and_the_first_comes_back(
    tmp_path: Path,
) -> None:
    sock = tmp_path / "run" / "control.sock"
    first = start_service(tmp_path, "--from", FROM)  # time at scale 1: a long move takes seconds
    try:
        shutil.rmtree(tmp_path / "run")  # logind, at logout
        TALLY.fault()
        try:
            second = deskctl(tmp_path, "run", "--simulate", "--from", FROM, timeout_s=30)
        except subprocess.TimeoutExpired:
            pytest.fail("a second service started beside the first one and drives the same desk")
        assert second.returncode == 1, second.stdout + second.stderr
        assert second.stderr.strip().splitlines() == [
            f"deskctl: deskctl is already running (pid {first.pid}); stop it first."
        ]
        wait_for("the first service's control socket coming back", lambda: _answers(sock))
        target_mm = _far_target_mm(sock)
        in_flight = _send_move(sock, target_mm)
        try:
            wait_for("the move", lambda: _moving(sock))
            stopped = deskctl(tmp_path, "stop", "--json")
            assert stopped.returncode == 0, stopped.stderr
            status = json.loads(deskctl(tmp_path, "status", "--json").stdout)
            assert status["service"] is True
            assert status["moving"] is False
            assert abs(status["height_mm"] - target_mm) > 50, "stop reached the first one's move"
        finally:
            in_flight.close()
        assert first.poll() is None
    finally:
        log = _stop(first)
    assert first.returncode == 0, log
    assert "had vanished; it is back" in log
    assert log.count("Traceback") == 0, log


# --- 7: a flood of idle connections ------------------------------------------------------------

LOW_LIMIT = (128, 256)  # soft, hard: below the flood, above what the service itself needs
FLOOD = 400

WITH_LIMIT = (
    "import os, resource, sys\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2])))\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[3:]])\n"
)


def _open_files_limit(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-file limit in /proc")


def _flood(sock: Path, count: int, timeout_s: float) -> list[socket.socket]:
    """`count` connections that never send anything (as many as get in within `timeout_s`)."""
    opened: list[socket.socket] = []
    deadline = time.monotonic() + timeout_s
    while len(opened) < count and time.monotonic() < deadline:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.setblocking(False)
        code = conn.connect_ex(str(sock))
        if code == 0:
            opened.append(conn)
            TALLY.tried()
            continue
        conn.close()
        if code not in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise AssertionError(f"connecting failed: {os.strerror(code)}")
        time.sleep(0.01)  # the backlog is full: give the service a moment to accept
    return opened


def test_a_flood_of_idle_connections_leaves_status_answered_and_the_log_small(
    tmp_path: Path,
) -> None:
    sock = tmp_path / "run" / "control.sock"
    soft, hard = LOW_LIMIT
    proc = subprocess.Popen(
        [sys.executable, "-c", WITH_LIMIT, str(soft), str(hard),
         "-m", "deskctl", "run", "--simulate", "--from", FROM],
        env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    flood: list[socket.socket] = []
    TALLY.fault()  # a low open-file limit, then the flood
    try:
        wait_for("the control socket", lambda: proc.poll() is None and _answers(sock))
        assert _open_files_limit(proc.pid) == (hard, hard), "the soft limit is raised to the hard"
        flood = _flood(sock, FLOOD, timeout_s=60)
        answer = control_client.call("status", path=sock, timeout_s=10)
        assert answer["service"] is True
        by_cli = deskctl(tmp_path, "status", "--json")
        assert by_cli.returncode == 0, by_cli.stderr
        assert len(flood) == FLOOD, "every connection of the flood got in (the oldest idle went)"
        TALLY.tried(2)
    finally:
        for conn in flood:
            conn.close()
        log = _stop(proc)
    assert proc.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert len(log.splitlines()) < 30, f"{len(log.splitlines())} log lines: {log[-3000:]}"
    assert log.count("control connections at once") == 1, log


async def _hold(request: Request, progress: ProgressSink) -> dict[str, Any]:
    """A handler like a long move: progress now and then until the test lets it end."""
    release = HOLDS[request.args["hold"]]
    ENTERED.add(request.args["hold"])
    while not release.is_set():
        progress({"height_mm": 700})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 0.2)
    return {"held": request.args["hold"]}


HOLDS: dict[str, asyncio.Event] = {}
ENTERED: set[str] = set()


async def _entered(*names: str) -> None:
    """Until the handler runs each named request (bounded)."""
    deadline = asyncio.get_running_loop().time() + 30
    while not ENTERED.issuperset(names):
        assert asyncio.get_running_loop().time() < deadline, f"{names} never started"
        await asyncio.sleep(0.01)


async def _open(path: Path, request: dict[str, Any] | None = None) -> Any:
    reader, writer = await asyncio.open_unix_connection(str(path))
    if request is not None:
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
    return reader, writer


async def _final(reader: asyncio.StreamReader) -> dict[str, Any]:
    """The answer after any progress lines."""
    while True:
        line = await asyncio.wait_for(reader.readline(), 30)
        message = json.loads(line)
        if "ok" in message:
            return dict(message)


async def test_an_idle_connection_is_closed_but_a_long_request_is_not_idle(
    tmp_path: Path,
) -> None:
    HOLDS.clear()
    ENTERED.clear()
    HOLDS["move"] = asyncio.Event()
    path = tmp_path / "run" / "control.sock"
    async with ControlServer(path, _hold, idle_timeout_s=2.0):
        busy_reader, busy_writer = await _open(
            path,
            {"id": 1, "cmd": "move", "args": {"hold": "move", "height_mm": 900}, "progress": True},
        )
        await _entered("move")
        idle_reader, idle_writer = await _open(path)
        TALLY.fault()
        assert await asyncio.wait_for(idle_reader.read(), 30) == b"", "the idle one is closed"
        HOLDS["move"].set()  # longer than the idle timeout has passed: the move still answers
        assert await _final(busy_reader) == {"id": 1, "ok": True, "result": {"held": "move"}}
        for writer in (busy_writer, idle_writer):
            writer.close()


async def test_past_the_cap_the_oldest_idle_goes_and_with_all_busy_one_refusal(
    tmp_path: Path,
) -> None:
    HOLDS.clear()
    ENTERED.clear()
    path = tmp_path / "run" / "control.sock"
    async with ControlServer(path, _hold, max_connections=2):
        oldest_reader, oldest_writer = await _open(path)
        await asyncio.sleep(0)
        newer_reader, newer_writer = await _open(path)
        _third_reader, third_writer = await _open(path)
        TALLY.fault()
        assert await asyncio.wait_for(oldest_reader.read(), 30) == b"", "the oldest idle went"
        for name, writer in (("a", newer_writer), ("b", third_writer)):
            HOLDS[name] = asyncio.Event()
            args = {"hold": name, "height_mm": 900}
            writer.write(json.dumps({"id": 1, "cmd": "move", "args": args}).encode())
            writer.write(b"\n")
        await _entered("a", "b")
        refused_reader, refused_writer = await _open(path)
        refusal = json.loads(await asyncio.wait_for(refused_reader.readline(), 30))
        TALLY.fault()
        assert (refusal["ok"], refusal["exit_code"]) == (False, 1)
        assert "too many connections" in refusal["error"]
        for event in HOLDS.values():
            event.set()
        assert (await _final(newer_reader))["result"] == {"held": "a"}
        for writer in (oldest_writer, newer_writer, third_writer, refused_writer):
            writer.close()


# --- 8: SIGHUP, the terminal of a foreground `deskctl run` closed ------------------------------


def test_sighup_mid_move_stops_the_desk_saves_and_exits_cleanly(tmp_path: Path) -> None:
    sock = tmp_path / "run" / "control.sock"
    proc = start_service(tmp_path, "--from", FROM)
    try:
        target_mm = _far_target_mm(sock)
        in_flight = _send_move(sock, target_mm)
        wait_for("the move", lambda: _moving(sock))
        proc.send_signal(signal.SIGHUP)
        TALLY.fault()
        log = proc.communicate(timeout=60)[0]
        in_flight.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
    assert proc.returncode == 0, f"ended by {proc.returncode}: {log}"
    with Store(tmp_path / "state" / "demo-history.sqlite3", readonly=True) as store:
        events = store.events("desk", datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC))
        saved = store.get_state("desk", "schedule")
    moves = [e for e in events if e.kind == "move"]
    assert moves, "the move is in the history"
    assert moves[-1].data.get("outcome") != "arrived", moves[-1]
    heights = [e.data["height_mm"] for e in events if e.kind == "height"]
    assert abs(heights[-1] - target_mm) > 50, "the desk stopped short of its target"
    assert (events[-1].kind, events[-1].data) == ("session", {"state": "stop"})
    assert saved, "the schedule's state was saved"
    with ServiceLock(tmp_path / "state" / "service.lock") as lock:
        assert lock.held
    assert "Traceback" not in log
