"""The lock that keeps one deskctl service per user.

Design: `ServiceLock` is an exclusive, non-blocking `flock` on `state_dir()/service.lock` holding
the owner's pid (the state folder, not the runtime folder, so the lock outlives a logout); the
kernel releases it when the process dies, so no stale lock survives a crash. A second service
gets `AlreadyRunning` with the owner's pid in its sentence.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from pathlib import Path
from types import TracebackType
from typing import Self

from deskctl.config.paths import private_folder, runtime_dir, state_dir
from deskctl.errors import AlreadyRunning, ControlError

__all__ = ["LOCK_NAME", "ServiceLock", "lock_path"]

log = logging.getLogger("deskctl.adapters.control_server")

LOCK_NAME = "service.lock"


def lock_path() -> str:
    """Where the one-service lock lives: `state_dir()/service.lock`, which outlives the runtime
    folder (logind removes that at logout while a `deskctl run` in tmux goes on)."""
    return os.path.join(state_dir(), LOCK_NAME)


class ServiceLock:
    """One service at a time: `with ServiceLock():` holds an exclusive flock and records the pid.

    `path` None means `state_dir()/service.lock`: the state folder outlives the runtime folder,
    which logind removes at logout while a `deskctl run` in tmux goes on. Raises `AlreadyRunning`
    when another process holds it. The file stays (removing lock files races); it is emptied on
    release. A symlink at the path, or a file that is not ours, is refused. When the state folder
    cannot hold the lock (read-only, not a folder), the default lock falls back to the runtime
    folder, with a warning, so the service still starts.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else Path(lock_path())
        self._default = path is None
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        """Where the lock file is."""
        return self._path

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise `AlreadyRunning` naming the holder's pid."""
        if self._fd is not None:
            return
        try:
            fd = self._open(self._path)
        except ControlError as exc:
            if not self._default:
                raise
            # a read-only or broken state folder: a desk controller still starts (without its
            # history), locked where the lock used to be
            fallback = runtime_dir() / LOCK_NAME
            log.warning("%s; locking %s instead, which does not outlive a logout", exc, fallback)
            private_folder(fallback.parent)
            fd = self._open(fallback)
            self._path = fallback
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(pid) from None
        except OSError as exc:
            os.close(fd)
            raise ControlError(f"cannot lock {self._path}: {exc.strerror}") from None
        with contextlib.suppress(OSError):  # a full disk: held all the same, only without a pid
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    @staticmethod
    def _open(path: Path) -> int:
        """The lock file's descriptor: a regular file of ours, never through a symlink."""
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise ControlError(f"cannot open the lock file {path}: {exc.strerror}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            os.close(fd)
            raise ControlError(f"the lock file {path} is not a file of yours; move it away")
        return fd

    def release(self) -> None:
        """Let go of the lock (nothing happens when it is not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
