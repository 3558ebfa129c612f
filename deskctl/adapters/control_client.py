"""The CLI's side of the control socket: one command to the running service, one answer back.

Design: `call()` opens the service's Unix socket, writes one JSON request line and reads lines
until the response with its id, handing progress lines to `on_progress` on the way; each call is
its own connection, so a `stop` can go out while another call waits for a move. It is plain
blocking code on the standard library (socket, json, os) because `deskctl status` against a
running service must start as fast as `deskctl --help`: no asyncio, pydantic or rich here, and
`deskctl.config.paths` (pathlib, platformdirs) only when no path is given. One deadline bounds the
whole call. Before connecting it checks that the socket and its folder belong to the caller's own
uid and that neither is a symbolic link (the service refuses the same, so both agree on the path).
No socket, or a stale one nobody listens on, is `NoService`, so the CLI can fall back to talking
to the desk directly; every other failure is a `ControlError` carrying one sentence and the exit
code. The protocol is in docs/control-socket.md; what both ends share is in
`deskctl.adapters.control_protocol`; the server is `deskctl.adapters.control_server`.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time

from deskctl.adapters.control_protocol import socket_path
from deskctl.errors import ControlError, NoService

TYPE_CHECKING = False  # typing itself is not imported at run time: this module must load fast
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = [  # ControlError and NoService live in deskctl.errors; they are what `call` raises
    "DEFAULT_TIMEOUT_S",
    "ControlError",
    "NoService",
    "call",
    "service_running",
]

DEFAULT_TIMEOUT_S = 10.0

_MAX_REPLY_BYTES = 4 * 1024 * 1024
_CONNECT_TIMEOUT_S = 2.0
_BACKLOG_RETRY_S = 0.01


def _check_folder(folder: str) -> None:
    """The socket's folder is not a symlink and is not somebody else's; else ControlError."""
    try:
        info = os.lstat(folder)
    except OSError:
        return  # nothing there: the socket is not there either (NoService, below)
    if stat.S_ISLNK(info.st_mode):
        raise ControlError(f"the runtime folder {folder} is a symbolic link; refusing to use it")
    if info.st_uid != os.geteuid():
        raise ControlError(
            f"the runtime folder {folder} belongs to uid {info.st_uid}, not to you; "
            "refusing to use it"
        )


def _connect(target: str, timeout_s: float) -> socket.socket:
    _check_folder(os.path.dirname(target) or ".")
    try:
        info = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        raise NoService(f"no deskctl service is running (there is no {target})") from None
    except OSError as exc:
        raise ControlError(f"cannot look at the control socket {target}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ControlError(f"the control socket {target} is a symbolic link; refusing to use it")
    if not stat.S_ISSOCK(info.st_mode):
        raise NoService(f"no deskctl service is running ({target} is not a socket)")
    if info.st_uid != os.geteuid():
        raise ControlError(
            f"the control socket {target} belongs to uid {info.st_uid}, not to you; "
            "refusing to use it"
        )
    connect_s = max(0.001, min(timeout_s, _CONNECT_TIMEOUT_S))
    deadline = time.monotonic() + connect_s
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(connect_s)
    try:
        while True:
            try:
                sock.connect(target)
                break
            except BlockingIOError:  # the service's backlog is full (a burst): wait our turn
                if time.monotonic() >= deadline:
                    raise TimeoutError from None
                time.sleep(_BACKLOG_RETRY_S)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise NoService(f"no deskctl service is running (nothing listens on {target})") from None
    except TimeoutError:
        sock.close()
        raise ControlError(f"the deskctl service at {target} did not accept a connection") from None
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ControlError(f"cannot connect to the deskctl service at {target}: {reason}") from None
    return sock


def service_running(path: str | os.PathLike[str] | None = None) -> bool:
    """True when a service accepts connections on the control socket, False when none listens.

    Raises `ControlError` when the socket is there but cannot be used (it belongs to someone else).
    """
    target = os.fspath(path) if path is not None else socket_path()
    try:
        sock = _connect(target, _CONNECT_TIMEOUT_S)
    except NoService:
        return False
    sock.close()
    return True


def call(
    cmd: str,
    desk: str | None = None,
    args: Mapping[str, Any] | None = None,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Send one command to the running service and return its result object.

    `on_progress`, when given, asks for progress lines and receives each one's object (for a
    move: `{"height_mm": ...}`). `timeout_s` bounds the whole call. Raises `NoService` when no
    service listens, `ControlError` for an error answer, a timeout or a broken connection.
    """
    target = os.fspath(path) if path is not None else socket_path()
    deadline = time.monotonic() + timeout_s
    request: dict[str, Any] = {"id": 1, "cmd": cmd, "desk": desk, "args": dict(args or {})}
    if on_progress is not None:
        request["progress"] = True
    line = json.dumps(request, separators=(",", ":")).encode() + b"\n"
    sock = _connect(target, timeout_s)
    try:
        try:  # noqa: SIM105 (contextlib would cost import time)
            sock.sendall(line)
        except OSError:
            pass  # the service hung up; what it said before that is still there to read
        return _read_answer(sock, 1, deadline, timeout_s, on_progress)
    finally:
        sock.close()


def _read_answer(
    sock: socket.socket,
    request_id: int,
    deadline: float,
    timeout_s: float,
    on_progress: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    late = f"the deskctl service did not answer within {timeout_s:g} s"
    buffer = bytearray()
    while True:
        end = buffer.find(b"\n")
        if end >= 0:
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            answer = _answer_from(line, request_id, on_progress)
            if answer is not None:
                return answer
            continue
        if len(buffer) > _MAX_REPLY_BYTES:
            raise ControlError("the deskctl service sent a reply line that is far too long")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ControlError(late)
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise ControlError(late) from None
        except OSError as exc:
            raise ControlError(f"the deskctl service hung up: {exc.strerror or exc}") from None
        if not chunk:
            raise ControlError("the deskctl service closed the connection before answering")
        buffer += chunk


def _answer_from(
    line: bytes, request_id: int, on_progress: Callable[[dict[str, Any]], None] | None
) -> dict[str, Any] | None:
    """The result if `line` is our success response; raises for an error; None to read on."""
    try:
        message = json.loads(line)
    except ValueError:
        raise ControlError("the deskctl service sent a line that is not JSON") from None
    if not isinstance(message, dict):
        raise ControlError("the deskctl service sent a line that is not a JSON object")
    message_id = message.get("id")
    if message_id is not None and message_id != request_id:
        return None
    if "ok" not in message:
        progress = message.get("progress")
        if on_progress is not None and message_id == request_id and isinstance(progress, dict):
            on_progress(progress)
        return None
    if message["ok"] is True:
        result = message.get("result")
        if not isinstance(result, dict):
            raise ControlError("the deskctl service sent a result that is not a JSON object")
        return result
    error = message.get("error")
    exit_code = message.get("exit_code")
    raise ControlError(
        error if isinstance(error, str) and error else "the deskctl service refused the request",
        exit_code if exit_code in (1, 2) else 1,
    )
