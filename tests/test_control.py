"""The control socket end to end: a real Unix socket, the real server and the real client.

The service is faked by small handlers here; the client is blocking, so it runs in a thread
(`asyncio.to_thread`) while the server serves on the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters.control_client import call, service_running
from deskctl.adapters.control_protocol import COMMANDS, MAX_LINE_BYTES, socket_path
from deskctl.adapters.control_server import (
    ControlServer,
    Handler,
    ProgressSink,
    Request,
)
from deskctl.adapters.service_lock import ServiceLock
from deskctl.errors import (
    AlreadyRunning,
    ControlError,
    DeskctlError,
    HeightError,
    IllegalTransition,
    InputError,
    LinkError,
    NoService,
    Obstruction,
)

REPO = Path(__file__).resolve().parent.parent
NOBODY = 65534


async def echo(request: Request, progress: ProgressSink) -> dict[str, Any]:
    """A fake service: answers every command with what it was asked."""
    return {
        "cmd": request.cmd,
        "desk": request.desk,
        "args": request.args,
        "progress_wanted": progress.wanted,
    }


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    monkeypatch.setenv("DESKCTL_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture
async def served(run_dir: Path) -> AsyncIterator[Path]:
    async with ControlServer(None, echo) as server:
        yield server.path


async def ask(
    cmd: str, desk: str | None = None, args: dict[str, Any] | None = None, **kw: Any
) -> Any:
    """`call()` from a thread, as the CLI would from its own process."""
    return await asyncio.to_thread(call, cmd, desk, args, **kw)


async def exchange(path: Path, payload: bytes, answers: int) -> list[dict[str, Any]]:
    """Write raw bytes on one connection and read `answers` lines back."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(payload)
        await writer.drain()
        return [json.loads(await asyncio.wait_for(reader.readline(), 10)) for _ in range(answers)]
    finally:
        writer.close()
        await writer.wait_closed()


# --- every command shape makes the round trip -------------------------------------------------

SHAPES = [
    ("status", None, {}),
    ("sit", "office", {}),
    ("stand", None, {}),
    ("move", "office", {"height_mm": 1100}),
    ("stop", None, {}),
    ("pause", None, {"duration_s": 2700}),
    ("pause", "office", {"duration_s": None}),
    ("resume", None, {}),
    ("skip", "office", {}),
    ("snooze", None, {"duration_s": 600}),
    ("confirm", None, {}),
    ("profile_use", "office", {"name": "tall"}),
    ("profile_set", "office", {"posture": "stand", "height_mm": 1080}),
    ("profile_set", None, {"posture": "sit", "here": True}),
    ("inhibit", "office", {"on": True}),
    ("schedule", None, {"on": False}),
    ("move", "office", {"preset": "focus"}),
    ("release", None, {"duration_s": 600}),
    ("connect", "office", {}),
    ("preset_recall", None, {"slot": 2}),
    ("preset_save", "office", {"slot": 2}),
]


def test_the_table_covers_every_command() -> None:
    assert {cmd for cmd, _, _ in SHAPES} == COMMANDS


@pytest.mark.parametrize(("cmd", "desk", "args"), SHAPES)
async def test_round_trip(served: Path, cmd: str, desk: str | None, args: dict[str, Any]) -> None:
    result = await ask(cmd, desk, args)
    assert result == {"cmd": cmd, "desk": desk, "args": args, "progress_wanted": False}


async def test_the_default_path_is_in_the_runtime_folder(run_dir: Path) -> None:
    assert socket_path() == str(run_dir / "control.sock")
    async with ControlServer(None, echo) as server:
        assert server.path == run_dir / "control.sock"
        assert service_running()
        assert (await ask("status"))["cmd"] == "status"


# --- errors from the handler ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (HeightError("200.0 cm is above the desk's highest allowed height of 127.0 cm"), 2),
        (InputError("unknown profile 'tal'; known: default, tall"), 2),
        (Obstruction("something is in the way: the desk stopped at 84.2 cm", 842), 1),
        (LinkError("the desk office cannot be reached"), 1),
        (IllegalTransition("cannot confirm: no change is waiting"), 2),
    ],
)
async def test_a_deskctl_error_keeps_its_sentence_and_exit_code(
    run_dir: Path, error: DeskctlError, exit_code: int
) -> None:
    async def failing(request: Request, progress: ProgressSink) -> dict[str, Any]:
        if request.cmd == "status":
            return {"fine": True}
        raise error

    async with ControlServer(None, failing):
        with pytest.raises(ControlError) as caught:
            await ask("move", args={"height_mm": 2000})
        assert str(caught.value) == str(error)
        assert caught.value.exit_code == exit_code
        assert isinstance(caught.value, DeskctlError)
        assert await ask("status") == {"fine": True}


class Boom(Exception):
    pass


async def _raises(request: Request, progress: ProgressSink) -> dict[str, Any]:
    raise Boom("the cat sat on the keyboard")


async def _not_a_dict(request: Request, progress: ProgressSink) -> Any:
    return ["a", "list"]


async def _not_json(request: Request, progress: ProgressSink) -> dict[str, Any]:
    return {"when": object()}


async def _nan(request: Request, progress: ProgressSink) -> dict[str, Any]:
    return {"height_mm": float("nan")}


async def _cancels_itself(request: Request, progress: ProgressSink) -> dict[str, Any]:
    raise asyncio.CancelledError


@pytest.mark.parametrize(
    ("broken", "detail"),
    [
        (_raises, "Boom: the cat sat on the keyboard"),
        (_not_a_dict, "TypeError"),
        (_not_json, "TypeError"),
        (_nan, "ValueError"),
        (_cancels_itself, "the command was cancelled"),
    ],
)
async def test_a_handler_bug_is_an_internal_error_and_the_server_carries_on(
    run_dir: Path, caplog: pytest.LogCaptureFixture, broken: Handler, detail: str
) -> None:
    async def handler(request: Request, progress: ProgressSink) -> dict[str, Any]:
        if request.cmd == "status":
            return {"alive": True}
        return await broken(request, progress)

    async with ControlServer(None, handler):
        for _ in range(2):
            with pytest.raises(ControlError) as caught:
                await ask("skip")
            assert str(caught.value).startswith("internal error: ")
            assert detail in str(caught.value)
            assert caught.value.exit_code == 1
            assert await ask("status") == {"alive": True}
    assert [r.name for r in caplog.records if r.levelname == "ERROR"] == [
        "deskctl.adapters.control_server"
    ] * 2


# --- progress ------------------------------------------------------------------------------------


async def moving(request: Request, progress: ProgressSink) -> dict[str, Any]:
    for height_mm in (720, 850, 1000, 1100):
        progress({"height_mm": height_mm})
        await asyncio.sleep(0)
    progress({"not json": {1, 2}})  # dropped, never breaks the move
    return {"height_mm": 1100}


async def test_progress_lines_come_before_the_answer_when_asked_for(run_dir: Path) -> None:
    seen: list[dict[str, Any]] = []
    async with ControlServer(None, moving):
        result = await ask("move", args={"height_mm": 1100}, on_progress=seen.append)
    assert result == {"height_mm": 1100}
    assert seen == [{"height_mm": h} for h in (720, 850, 1000, 1100)]


async def test_no_progress_lines_unless_asked_for(run_dir: Path) -> None:
    async with ControlServer(None, moving) as server:
        answers = await exchange(
            server.path, b'{"id":1,"cmd":"sit"}\n{"id":2,"cmd":"stand","progress":false}\n', 2
        )
    assert answers == [
        {"id": 1, "ok": True, "result": {"height_mm": 1100}},
        {"id": 2, "ok": True, "result": {"height_mm": 1100}},
    ]


def test_a_progress_sink_without_a_client_drops_everything() -> None:
    kept: list[dict[str, Any]] = []
    sink = ProgressSink(kept.append)
    silent = ProgressSink()
    sink({"height_mm": 900})
    silent({"height_mm": 900})
    sink.close()
    sink({"height_mm": 950})
    assert (sink.wanted, silent.wanted, kept) == (False, False, [{"height_mm": 900}])


# --- bad input never kills the server ----------------------------------------------------------

HUGE = b'{"id":10,"cmd":"status","args":{"pad":"' + b"x" * (3 * MAX_LINE_BYTES) + b'"}}'
BAD_LINES = [
    (b"status please", None, "not valid JSON"),
    (b'{"id":9,"cmd":"status"', None, "not valid JSON"),
    (b"\xff\xfe{}", None, "not UTF-8"),
    (b"[1, 2]", None, "JSON object"),
    (b"42", None, "JSON object"),
    (b'{"id":3,"cmd":"status","colour":"red"}', 3, "unknown field in the request: 'colour'"),
    (b'{"cmd":"status"}', None, "integer id"),
    (b'{"id":true,"cmd":"status"}', None, "integer id"),
    (b'{"id":"1","cmd":"status"}', None, "integer id"),
    (b'{"id":' + b"9" * 5000 + b',"cmd":"status"}', None, "not valid JSON"),
    (b'{"id":4,"cmd":"dance"}', 4, "unknown command 'dance'"),
    (b'{"id":5}', 5, "command name"),
    (b'{"id":6,"cmd":"move","args":[1100]}', 6, "args must be a JSON object"),
    (b'{"id":7,"cmd":"sit","desk":5}', 7, "desk must be"),
    (b'{"id":7,"cmd":"sit","desk":""}', 7, "desk must be"),
    (b'{"id":8,"cmd":"sit","progress":"yes"}', 8, "progress must be"),
    (HUGE, None, f"at most {MAX_LINE_BYTES} bytes"),
]


@pytest.mark.parametrize(("line", "request_id", "fragment"), BAD_LINES)
async def test_a_malformed_line_gets_an_error_and_the_connection_stays_usable(
    run_dir: Path, line: bytes, request_id: int | None, fragment: str
) -> None:
    asked: list[Request] = []

    async def handler(request: Request, progress: ProgressSink) -> dict[str, Any]:
        asked.append(request)
        return {"ok": "yes"}

    async with ControlServer(None, handler) as server:
        bad, good = await exchange(server.path, line + b'\n{"id":11,"cmd":"status"}\n', 2)
        assert bad["ok"] is False
        assert bad["id"] == request_id
        assert bad["exit_code"] == 2
        assert fragment in bad["error"]
        assert good == {"id": 11, "ok": True, "result": {"ok": "yes"}}
        assert [request.id for request in asked] == [11]
        assert await ask("status") == {"ok": "yes"}


async def test_a_huge_line_in_small_pieces_gets_one_error(served: Path) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served))
    for start in range(0, len(HUGE), 4096):
        writer.write(HUGE[start : start + 4096])
        await writer.drain()
    writer.write(b'\n\n{"id":2,"cmd":"skip"}\n')
    first = json.loads(await asyncio.wait_for(reader.readline(), 10))
    second = json.loads(await asyncio.wait_for(reader.readline(), 10))
    writer.close()
    await writer.wait_closed()
    assert (first["ok"], first["exit_code"]) == (False, 2)
    assert (second["id"], second["result"]["cmd"]) == (2, "skip")


async def test_a_last_line_without_newline_is_still_answered(served: Path) -> None:
    reader, writer = await asyncio.open_unix_connection(str(served))
    writer.write(b'{"id":1,"cmd":"resume"}')
    writer.write_eof()
    answer = json.loads(await asyncio.wait_for(reader.readline(), 10))
    writer.close()
    await writer.wait_closed()
    assert answer["result"]["cmd"] == "resume"


async def test_pipelined_requests_are_answered_in_order(served: Path) -> None:
    answers = await exchange(
        served, b'{"id":1,"cmd":"sit"}\n{"id":2,"cmd":"stand"}\n{"id":3,"cmd":"stop"}\n', 3
    )
    assert [(a["id"], a["result"]["cmd"]) for a in answers] == [
        (1, "sit"),
        (2, "stand"),
        (3, "stop"),
    ]


# --- several clients, hang-ups, shutdown, timeouts --------------------------------------------


class Desk:
    """A fake service whose move runs until a stop arrives on another connection."""

    def __init__(self) -> None:
        self.moving = asyncio.Event()
        self.stopped = asyncio.Event()
        self.finished: list[str] = []

    async def __call__(self, request: Request, progress: ProgressSink) -> dict[str, Any]:
        if request.cmd == "stop":
            self.stopped.set()
            return {"stopped": True}
        self.moving.set()
        progress({"height_mm": 800})
        await self.stopped.wait()
        self.finished.append(request.cmd)
        return {"height_mm": 800, "stopped_short": True}


async def test_a_stop_gets_through_while_a_move_waits(run_dir: Path) -> None:
    desk = Desk()
    async with ControlServer(None, desk):
        move = asyncio.ensure_future(ask("move", args={"height_mm": 1100}, timeout_s=30))
        await asyncio.wait_for(desk.moving.wait(), 10)
        assert await ask("stop") == {"stopped": True}
        assert await move == {"height_mm": 800, "stopped_short": True}


async def test_hanging_up_does_not_cancel_a_running_command(run_dir: Path) -> None:
    desk = Desk()
    async with ControlServer(None, desk) as server:
        _, writer = await asyncio.open_unix_connection(str(server.path))
        writer.write(b'{"id":1,"cmd":"move","args":{"height_mm":1100},"progress":true}\n')
        await writer.drain()
        await asyncio.wait_for(desk.moving.wait(), 10)
        writer.close()
        await writer.wait_closed()
        assert await ask("stop") == {"stopped": True}
        for _ in range(100):
            if desk.finished:
                break
            await asyncio.sleep(0)
        assert desk.finished == ["move"]
        assert (await ask("stop"))["stopped"] is True


async def test_a_command_running_when_the_service_stops_gets_told(
    run_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    desk = Desk()
    async with ControlServer(None, desk) as server:
        move = asyncio.ensure_future(ask("move", args={"height_mm": 1100}, timeout_s=30))
        idle = await asyncio.open_unix_connection(str(server.path))
        await asyncio.wait_for(desk.moving.wait(), 10)
    with pytest.raises(ControlError) as caught:
        await move
    assert str(caught.value) == "the deskctl service is stopping"
    assert caught.value.exit_code == 1
    assert _listing(run_dir) == []  # the socket went with the service
    assert desk.finished == []
    assert await idle[0].read() == b""  # an idle client is simply hung up on
    idle[1].close()
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


async def test_a_silent_service_times_out_within_its_bound(run_dir: Path) -> None:
    desk = Desk()
    async with ControlServer(None, desk):
        started = time.monotonic()
        with pytest.raises(ControlError) as caught:
            await ask("sit", timeout_s=0.2)
        elapsed = time.monotonic() - started
        assert str(caught.value) == "the deskctl service did not answer within 0.2 s"
        assert not isinstance(caught.value, NoService)
        assert elapsed < 5  # bounded, not a performance figure: without a bound this hangs


# --- no service --------------------------------------------------------------------------------


def _stale_socket(path: Path) -> None:
    """What a crashed service leaves: a socket file nobody listens on."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()


@pytest.mark.parametrize("state", ["no folder", "empty folder", "stale socket", "plain file"])
def test_without_a_service_the_client_gets_no_service(run_dir: Path, state: str) -> None:
    target = run_dir / "control.sock"
    if state != "no folder":
        run_dir.mkdir(mode=0o700)
    if state == "stale socket":
        _stale_socket(target)
    if state == "plain file":
        target.write_text("not a socket")
    assert service_running() is False
    started = time.monotonic()
    with pytest.raises(NoService) as caught:
        call("status", timeout_s=30)
    assert time.monotonic() - started < 5  # quick: no waiting for the 30 s timeout
    assert caught.value.exit_code == 1
    assert "no deskctl service is running" in str(caught.value)


# --- the socket's safety --------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _note(path: Path, text: str | None = None) -> str:
    if text is not None:
        path.write_text(text)
    return path.read_text()


def _listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _make_folder(folder: Path, mode: int) -> None:
    folder.mkdir()
    folder.chmod(mode)


def _loosen(path: Path, mode: int) -> None:
    """What a careless hand might do: open a folder or the socket to everyone."""
    path.chmod(mode)


async def test_folder_and_socket_are_owner_only_and_the_socket_goes_on_exit(run_dir: Path) -> None:
    old_umask = os.umask(0)  # even a careless umask gives no one else access
    try:
        async with ControlServer(None, echo) as server:
            assert _mode(run_dir) == 0o700
            assert stat.S_ISSOCK(os.lstat(server.path).st_mode)
            assert _mode(server.path) == 0o600
            assert _listing(run_dir) == ["control.sock"]
    finally:
        os.umask(old_umask)
    assert _listing(run_dir) == []


async def test_a_stale_socket_is_replaced(run_dir: Path) -> None:
    _stale_socket(run_dir / "control.sock")
    async with ControlServer(None, echo):
        assert (await ask("skip"))["cmd"] == "skip"


async def test_a_live_socket_is_left_alone(served: Path) -> None:
    with pytest.raises(ControlError, match="another deskctl service is listening"):
        async with ControlServer(served, echo):
            pass
    assert (await ask("status"))["cmd"] == "status"


async def test_a_file_that_is_not_a_socket_is_left_alone(run_dir: Path) -> None:
    _make_folder(run_dir, 0o700)
    _note(run_dir / "control.sock", "my notes")
    with pytest.raises(ControlError, match="is not a socket"):
        async with ControlServer(None, echo):
            pass
    assert _note(run_dir / "control.sock") == "my notes"


async def test_a_folder_others_can_write_is_refused(run_dir: Path) -> None:
    _make_folder(run_dir, 0o777)
    with pytest.raises(ControlError, match="writable by others"):
        async with ControlServer(None, echo):
            pass
    assert _listing(run_dir) == []


async def test_a_socket_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="too long for a Unix socket"):
        async with ControlServer(tmp_path / ("x" * 120) / "control.sock", echo):
            pass


# --- other users ---------------------------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")

PEER = textwrap.dedent(
    """
    import socket, sys
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.connect(sys.argv[1])
    except PermissionError:
        print("permission denied")
        raise SystemExit(0)
    s.sendall(b'{"id": 1, "cmd": "status"}\\n')
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except ConnectionResetError:  # the service hung up with our request unread
        pass
    sys.stdout.write(data.decode() + "EOF")
    """
)


@pytest.fixture
def open_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime folder another user could reach if its modes allowed (tmp_path is root-only)."""
    base = Path(tempfile.mkdtemp(prefix="deskctl-uid-", dir="/tmp"))
    base.chmod(0o755)
    monkeypatch.setenv("DESKCTL_RUNTIME_DIR", str(base / "run"))
    yield base / "run"
    shutil.rmtree(base)


def _nobody_python() -> str:
    for candidate in (sys.executable, "/usr/bin/python3"):
        try:
            probe = subprocess.run(
                [candidate, "-I", "-c", "pass"], user=NOBODY, group=NOBODY, extra_groups=[],
                capture_output=True, check=False,
            )  # fmt: skip
        except OSError:  # not executable for nobody (under /root, say)
            continue
        if probe.returncode == 0:
            return candidate
    pytest.skip("no Python interpreter that the nobody user may run")


async def _as_nobody(python: str, path: Path) -> str:
    child = await asyncio.create_subprocess_exec(
        python, "-I", "-c", PEER, str(path),
        user=NOBODY, group=NOBODY, extra_groups=[], stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(child.communicate(), 30)
    return out.decode()


@needs_root
async def test_the_socket_mode_keeps_other_users_out(open_dir: Path) -> None:
    python = _nobody_python()
    async with ControlServer(None, echo) as server:
        _loosen(open_dir, 0o755)  # even with the folder opened up, the socket's 0600 holds
        assert await _as_nobody(python, server.path) == "permission denied\n"


@needs_root
async def test_another_uid_is_refused_even_when_the_modes_are_loosened(open_dir: Path) -> None:
    python = _nobody_python()
    asked: list[Request] = []

    async def handler(request: Request, progress: ProgressSink) -> dict[str, Any]:
        asked.append(request)
        return {}

    async with ControlServer(None, handler) as server:
        _loosen(open_dir, 0o755)
        _loosen(server.path, 0o666)
        out = await _as_nobody(python, server.path)
        assert out.endswith("EOF")  # the service hung up on it
        answer = json.loads(out.removesuffix("EOF"))
        assert answer == {
            "id": None,
            "ok": False,
            "error": f"this deskctl service belongs to uid {os.geteuid()}",
            "exit_code": 1,
        }
        assert asked == []
        assert (await ask("status", timeout_s=10)) == {}


@needs_root
async def test_the_client_will_not_talk_to_a_socket_of_another_uid(run_dir: Path) -> None:
    async with ControlServer(None, echo) as server:
        os.chown(server.path, NOBODY, NOBODY)
        with pytest.raises(ControlError, match=f"belongs to uid {NOBODY}, not to you"):
            await ask("status")
        with pytest.raises(ControlError):
            service_running()


# --- one service at a time ------------------------------------------------------------------------

TRY_LOCK = textwrap.dedent(
    """
    import sys
    from deskctl.adapters.service_lock import ServiceLock
    from deskctl.errors import AlreadyRunning
    try:
        ServiceLock(sys.argv[1]).acquire()
    except AlreadyRunning as exc:
        print(exc.pid, exc, sep="|")
        raise SystemExit(exc.exit_code)
    print("locked", flush=True)
    sys.stdin.read()
    """
)


def _python(*args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", TRY_LOCK, *args], env=env, text=True, stdout=subprocess.PIPE, **kw
    )


def test_a_second_service_is_refused_and_told_the_pid(tmp_path: Path) -> None:
    lock_file = tmp_path / "run" / "service.lock"
    with ServiceLock(lock_file):
        child = _python(str(lock_file))
        out, _ = child.communicate(timeout=60)
    assert child.returncode == 1
    assert out == f"{os.getpid()}|deskctl is already running (pid {os.getpid()}); stop it first\n"


def test_the_lock_holder_in_another_process_is_named(tmp_path: Path) -> None:
    lock_file = tmp_path / "run" / "service.lock"
    child = _python(str(lock_file), stdin=subprocess.PIPE)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "locked\n"
        with pytest.raises(AlreadyRunning) as caught:
            ServiceLock(lock_file).acquire()
        assert caught.value.pid == child.pid
        assert str(caught.value) == f"deskctl is already running (pid {child.pid}); stop it first"
    finally:
        child.send_signal(signal.SIGKILL)  # a crash: no clean release
        child.communicate(timeout=60)
    with ServiceLock(lock_file) as lock:  # the kernel let go of the dead holder's lock
        assert lock.held
        assert lock_file.read_text() == f"{os.getpid()}\n"


def test_the_lock_is_private_and_released_on_exit(tmp_path: Path) -> None:
    state = tmp_path / "deskctl" / "state"  # the state folder: it outlives the runtime folder
    with ServiceLock() as lock:
        assert lock.path == state / "service.lock"
        assert (_mode(state), _mode(lock.path)) == (0o700, 0o600)
        with pytest.raises(AlreadyRunning):
            ServiceLock().acquire()
    assert not lock.held
    assert lock.path.read_text() == ""
    with ServiceLock() as again:
        assert again.held


def test_a_state_folder_that_cannot_hold_the_lock_falls_back_to_the_runtime_folder(
    tmp_path: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "state-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("DESKCTL_STATE_DIR", str(not_a_folder))
    with ServiceLock() as lock:
        assert lock.path == run_dir / "service.lock"
        assert lock.path.read_text() == f"{os.getpid()}\n"
        with pytest.raises(AlreadyRunning):
            ServiceLock().acquire()
    assert "does not outlive a logout" in caplog.text
