"""The service's side of the control socket.

Design: `ControlServer` listens on a Unix stream socket (docs/control-socket.md is the protocol)
and hands each request to one `handler(request, progress)` coroutine (`service_handler` for the
service: it only submits the request's command and forwards the service's height reports as
progress); it owns no desk state itself. Each connection is one task that reads JSON lines (at
most 64 KiB; a longer line is answered and skipped up to its newline), checks each one into a
`Request`, its arguments into the command's dataclass (`service.commands.parse_command`: a bad
argument is answered with its sentence and exit code 2, before any handler sees it),
awaits the handler and writes one response line; requests on a connection are answered in
order, while connections run side by side (so `stop` can arrive during a move). A handler's
`DeskctlError` becomes an error answer with its sentence and exit code; anything else is logged
and answered as an internal error; nothing a peer sends or a handler raises ends the server.
Progress lines go straight into the connection's transport and are dropped when the peer reads
too slowly; the final answer is always written.
Safety of the socket: its folder is created 0700 (an existing one must be a real folder, not a
symlink, ours, and not writable by others); the socket is bound under a temporary name, set to
0600, then renamed into place, which also replaces a stale socket left by a crash (one that
refuses connections) atomically; a live socket or a non-socket at the path is never touched.
Every peer's uid is checked with SO_PEERCRED. On exit the server stops listening, answers
requests still running with "the deskctl service is stopping", and removes its socket if it is
still the one it bound.
A flood of connections cannot starve the service: at most `MAX_CONNECTIONS` are open at once (a
new one past that closes the connection idle longest, or gets one refusal when all are busy), and
a connection with no request running for `IDLE_TIMEOUT_S` is closed; a request that runs (a
move sending progress) is never idle. While serving, one lstat every `RECHECK_S` notices that
the socket vanished (logind removes the runtime folder at logout) and binds it again.
One service per user is `adapters.service_lock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from deskctl.adapters.control_protocol import COMMANDS, MAX_LINE_BYTES, socket_path
from deskctl.config.paths import private_folder, runtime_dir_note
from deskctl.errors import ControlError, DeskctlError
from deskctl.service.commands import Move, ServiceCommand, Status, parse_command
from deskctl.service.news import HeightReported, ServiceEvent

if TYPE_CHECKING:
    from deskctl.service.core import Service

__all__ = [
    "IDLE_TIMEOUT_S",
    "MAX_CONNECTIONS",
    "RECHECK_S",
    "ControlServer",
    "Handler",
    "ProgressSink",
    "Request",
    "service_handler",
]

log = logging.getLogger(__name__)

_FIELDS = frozenset({"id", "cmd", "desk", "args", "progress"})
_PROGRESS_BACKLOG_BYTES = 64 * 1024
_MAX_UNIX_PATH_BYTES = 107
_STOPPING = "the deskctl service is stopping"
_BUSY = "the deskctl service has too many connections open; try again when a move has ended"
_REFUSAL_GRACE_S = 2.0
MAX_CONNECTIONS = 64
IDLE_TIMEOUT_S = 60.0
RECHECK_S = 2.0


@dataclass(frozen=True)
class Request:
    """One command from a client, checked: `cmd` is known, `desk` and `args` have their types,
    and `command` is the command with its arguments checked."""

    id: int
    cmd: str
    desk: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    progress: bool = False
    command: ServiceCommand = field(default_factory=Status)


class ProgressSink:
    """Where a handler reports progress: `progress({"height_mm": 812})`; never blocks.

    `send` is None when the client did not ask for progress (calls are then dropped); tests of a
    handler can pass `list.append`.
    """

    def __init__(self, send: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._send = send

    @property
    def wanted(self) -> bool:
        """Whether the client asked for progress lines."""
        return self._send is not None

    def __call__(self, progress: Mapping[str, Any]) -> None:
        if self._send is not None:
            self._send(dict(progress))

    def close(self) -> None:
        """Drop everything from now on (the answer has been sent)."""
        self._send = None


Handler = Callable[[Request, ProgressSink], Awaitable[dict[str, Any]]]


class _BadRequest(Exception):
    def __init__(self, message: str, request_id: int | None = None, exit_code: int = 2) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.exit_code = exit_code


class _TooLong:
    pass


_TOO_LONG = _TooLong()


def _encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def _error(request_id: int | None, sentence: str, exit_code: int) -> bytes:
    return _encode({"id": request_id, "ok": False, "error": sentence, "exit_code": exit_code})


def _parse_request(line: bytes, commands: Collection[str]) -> Request:
    try:
        message = json.loads(line.decode())
    except UnicodeDecodeError:
        raise _BadRequest("the request is not UTF-8 text") from None
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
        raise _BadRequest("the request is not valid JSON") from None
    if not isinstance(message, dict):
        raise _BadRequest("a request must be a JSON object")
    raw_id = message.get("id")
    request_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    unknown = sorted(set(message) - _FIELDS)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise _BadRequest(f"unknown field in the request: {names}", request_id)
    if request_id is None:
        raise _BadRequest("a request needs an integer id")
    cmd = message.get("cmd")
    if not isinstance(cmd, str):
        raise _BadRequest("a request needs a command name in cmd", request_id)
    if cmd not in commands:
        raise _BadRequest(f"unknown command {cmd!r}", request_id)
    desk = message.get("desk")
    if desk is not None and (not isinstance(desk, str) or not desk):
        raise _BadRequest("desk must be a desk's name or null", request_id)
    args = message.get("args", {})
    if not isinstance(args, dict):
        raise _BadRequest("args must be a JSON object", request_id)
    progress = message.get("progress", False)
    if not isinstance(progress, bool):
        raise _BadRequest("progress must be true or false", request_id)
    try:
        command = parse_command(cmd, desk, args)
    except DeskctlError as exc:
        code = exc.exit_code if exc.exit_code in (1, 2) else 2
        raise _BadRequest(str(exc), request_id, code) from None
    return Request(request_id, cmd, desk, args, progress, command)


class _Lines:
    """Lines from a stream, each at most MAX_LINE_BYTES; a longer one is reported once, skipped."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self._skipping = False

    async def next(self) -> bytes | _TooLong | None:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                if self._skipping:
                    self._skipping = False
                    continue
                return _TOO_LONG if len(line) > MAX_LINE_BYTES else line
            if len(self._buffer) > MAX_LINE_BYTES:
                self._buffer.clear()
                if not self._skipping:
                    self._skipping = True
                    return _TOO_LONG
            chunk = await self._reader.read(65536)
            if not chunk:
                line = bytes(self._buffer)
                self._buffer.clear()
                return line if line and not self._skipping else None
            self._buffer += chunk


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def _check_replaceable(path: Path) -> None:
    """Nothing at `path`, or a stale socket nobody listens on; else ControlError."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise ControlError(f"{path} is in the way and is not a socket; move it away")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except ConnectionRefusedError:
        log.info("replacing the stale control socket %s", path)
        return
    except OSError as exc:
        raise ControlError(f"cannot tell whether {path} is in use: {exc.strerror or exc}") from None
    finally:
        probe.close()
    raise ControlError(f"another deskctl service is listening on {path}; stop it first")


def _bind_private(path: Path) -> socket.socket:
    """A listening socket at `path`, mode 0600 from its first moment there."""
    if len(os.fsencode(path)) > _MAX_UNIX_PATH_BYTES:
        raise ControlError(f"the control socket path {path} is too long for a Unix socket")
    temp = path.with_name(f".{os.getpid():x}~")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        temp.unlink(missing_ok=True)
        sock.bind(str(temp))
        os.chmod(temp, 0o600)
        sock.listen(16)
        os.replace(temp, path)
    except OSError as exc:
        sock.close()
        with contextlib.suppress(OSError):
            temp.unlink()
        reason = exc.strerror or str(exc)
        raise ControlError(f"cannot open the control socket {path}: {reason}") from None
    sock.setblocking(False)
    return sock


@dataclass(eq=False)
class _Connection:
    """One client's connection: `busy` while a request of it runs (a move may take a minute)."""

    writer: asyncio.StreamWriter
    active_at: float
    busy: bool = False
    dropped: bool = False


class ControlServer:
    """`async with ControlServer(path, handler) as server:` serves the control socket meanwhile.

    `path` None means `runtime_dir()/control.sock`. `commands` is the set of accepted `cmd`
    names (the documented ones by default). At most `max_connections` connections are open at
    once: a new one past that closes the one idle longest, or is refused with one answer when
    every one is busy; a connection idle (no request running) for `idle_timeout_s` is closed.
    While it serves, it checks every `recheck_s` that its socket is still in place, and makes it
    again when it vanished (the runtime folder removed at logout). Raises `ControlError` on entry
    when the socket cannot be opened safely, or another service listens there.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        handler: Handler,
        *,
        commands: Collection[str] = COMMANDS,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        recheck_s: float = RECHECK_S,
    ) -> None:
        self._path = Path(path) if path is not None else Path(socket_path())
        self._default_path = path is None
        self._handler = handler
        self._commands = frozenset(commands)
        self._max_connections = max_connections
        self._idle_timeout_s = idle_timeout_s
        self._recheck_s = recheck_s
        self._server: asyncio.Server | None = None
        self._retired: list[asyncio.Server] = []
        self._identity: tuple[int, int] | None = None
        self._connections: dict[asyncio.Task[Any], _Connection] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._crowded = False  # past the cap: said once per crowd
        self._rebind_failing = False
        self._stopping = False

    @property
    def path(self) -> Path:
        """Where the socket is."""
        return self._path

    async def __aenter__(self) -> Self:
        if self._default_path and (note := runtime_dir_note()) is not None:
            log.warning("%s", note)
        await self._listen()
        log.info("control socket listening on %s", self._path)
        self._watcher = asyncio.get_running_loop().create_task(
            self._watch_socket(), name="control-socket-watch"
        )
        return self

    async def _listen(self) -> None:
        """Bind the socket (again) and serve it; a server listening before stops listening."""
        private_folder(self._path.parent)
        _check_replaceable(self._path)
        sock = _bind_private(self._path)
        info = os.lstat(self._path)
        identity = (info.st_dev, info.st_ino)
        try:
            # backlog=1: one accept per wake-up, so a flood cannot open hundreds of descriptors
            # before `_serve` gets to close the connections idle longest
            server = await asyncio.start_unix_server(self._serve, sock=sock, backlog=1)
        except BaseException:
            sock.close()
            self._remove_socket(identity)
            raise
        if self._server is not None:
            self._server.close()  # its path is gone; its connections carry on
            self._retired.append(self._server)
        self._server, self._identity = server, identity

    def _socket_in_place(self, identity: tuple[int, int] | None = None) -> bool:
        try:
            info = os.lstat(self._path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == (identity or self._identity)

    async def _watch_socket(self) -> None:
        """One lstat every `recheck_s`: the socket vanished (or was replaced) -> make it again."""
        while True:
            await asyncio.sleep(self._recheck_s)
            if self._socket_in_place():
                continue
            try:
                await self._listen()
            except ControlError as exc:
                if not self._rebind_failing:
                    log.error("the control socket %s vanished and cannot be made again: %s",
                              self._path, exc)  # fmt: skip
                self._rebind_failing = True
            else:
                log.warning("the control socket %s had vanished; it is back", self._path)
                self._rebind_failing = False

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        servers = [*self._retired, *([self._server] if self._server is not None else [])]
        for server in servers:
            server.close()
        running = list(self._connections)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for server in servers:
            await server.wait_closed()
        self._remove_socket()

    def _remove_socket(self, identity: tuple[int, int] | None = None) -> None:
        """Remove the socket at our path if it is still the one we bound."""
        with contextlib.suppress(OSError):
            if self._socket_in_place(identity):
                self._path.unlink()

    def _make_room(self) -> bool:
        """Room for one more connection: past the cap, close the one idle longest; False when
        every open connection is busy."""
        live = [c for c in self._connections.values() if not c.dropped]
        if len(live) < self._max_connections:
            if self._crowded and len(live) < self._max_connections // 2:
                self._crowded = False
            return True
        if not self._crowded:
            log.warning(
                "more than %d control connections at once: closing the ones idle longest",
                self._max_connections,
            )
            self._crowded = True
        idle = [c for c in live if not c.busy]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.active_at)
        oldest.dropped = True
        oldest.writer.transport.abort()
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        connection = _Connection(writer, asyncio.get_running_loop().time())
        room = self._make_room()
        if task is not None:
            self._connections[task] = connection
        try:
            if self._stopping:
                pass
            elif not self._peer_allowed(writer):
                await self._refuse(reader, writer)
            elif not room:
                writer.write(_error(None, _BUSY, 1))
                await writer.drain()
            else:
                await self._converse(_Lines(reader), connection)
        except ConnectionError:
            pass
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # We cancelled it to stop: end quietly (Python 3.11 logs a cancelled callback task).
        finally:
            if task is not None:
                self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _peer_allowed(self, writer: asyncio.StreamWriter) -> bool:
        uid = _peer_uid(writer)
        if uid is None or uid == os.geteuid():
            return True
        log.warning("refused a control connection from uid %d", uid)
        return False

    @staticmethod
    async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Say why, then let the peer finish sending, so it reads the sentence, not a reset."""
        writer.write(_error(None, f"this deskctl service belongs to uid {os.geteuid()}", 1))
        writer.write_eof()
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_REFUSAL_GRACE_S):
                while await reader.read(65536):
                    pass

    async def _converse(self, lines: _Lines, connection: _Connection) -> None:
        writer = connection.writer
        loop = asyncio.get_running_loop()
        while True:
            connection.busy, connection.active_at = False, loop.time()
            try:
                async with asyncio.timeout(self._idle_timeout_s):
                    line = await lines.next()
            except TimeoutError:
                return  # idle too long: hang up (a request that runs is never idle)
            if line is None:
                return
            connection.busy = True
            if isinstance(line, _TooLong):
                answer = _error(None, f"a request line may hold at most {MAX_LINE_BYTES} bytes", 2)
            elif not line.strip():
                continue
            else:
                try:
                    request = _parse_request(line, self._commands)
                except _BadRequest as bad:
                    answer = _error(bad.request_id, str(bad), bad.exit_code)
                else:
                    answer = await self._answer(request, writer)
            writer.write(answer)
            await writer.drain()

    async def _answer(self, request: Request, writer: asyncio.StreamWriter) -> bytes:
        sink = ProgressSink(self._progress_to(writer, request.id) if request.progress else None)
        try:
            result = await self._handler(request, sink)
            if not isinstance(result, dict):
                raise TypeError(f"the handler returned {type(result).__name__}, not a dict")
            return _encode({"id": request.id, "ok": True, "result": result})
        except DeskctlError as exc:
            code = exc.exit_code if exc.exit_code in (1, 2) else 1
            return _error(request.id, str(exc) or "the command failed", code)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and not task.cancelling():
                log.error("the control handler for %r cancelled itself", request.cmd)
                return _error(request.id, "internal error: the command was cancelled", 1)
            if self._stopping and not writer.is_closing():
                writer.write(_error(request.id, _STOPPING, 1))
            raise
        except Exception as exc:
            log.exception("the control handler failed on %r", request.cmd)
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return _error(request.id, f"internal error: {detail}", 1)
        finally:
            sink.close()

    @staticmethod
    def _progress_to(
        writer: asyncio.StreamWriter, request_id: int
    ) -> Callable[[dict[str, Any]], None]:
        def send(progress: dict[str, Any]) -> None:
            transport = writer.transport
            if (
                transport.is_closing()
                or transport.get_write_buffer_size() > _PROGRESS_BACKLOG_BYTES
            ):
                return
            try:
                line = _encode({"id": request_id, "progress": progress})
            except (TypeError, ValueError):
                log.warning("dropped a progress line that is not JSON: %r", progress)
                return
            writer.write(line)

        return send


def service_handler(service: Service) -> Handler:
    """The handler that serves `service`: each request's command is submitted, and answered with
    the socket's JSON; a move asked with progress gets the desk's height reports meanwhile (from
    the service's events, not from the link)."""

    async def handle(request: Request, progress: ProgressSink) -> dict[str, Any]:
        command = request.command
        unsubscribe: Callable[[], None] | None = None
        if isinstance(command, Move) and progress.wanted:
            try:
                desk: str | None = service.resolve(command.desk)
            except DeskctlError:
                desk = None  # the service says why when the command arrives

            def forward(event: ServiceEvent) -> None:
                if isinstance(event, HeightReported) and event.desk == desk:
                    progress({"height_mm": event.height_mm})

            if desk is not None:
                unsubscribe = service.subscribe(forward)
        try:
            return await service.answer(command)
        finally:
            if unsubscribe is not None:
                unsubscribe()

    return handle
