"""Writing a person's files: the starter settings, the remembered profile, the systemd unit.

Design: `write_file(path, text, what=...)` makes the folder, writes a temporary file beside the
target, flushes it to disk and renames it into place, so a full disk, a read-only folder or a
crash leaves the old file as it was: nothing is lost, and no half-written file is left. With
`exclusive=True` it creates the file and never replaces one (`config init`); a write that fails
half-way removes what it created. Every `OSError` becomes ONE `DeskError` sentence (exit 1: a
failure at run time) naming what was being saved, where, and why in plain words (`os_reason`).
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from deskctl.errors import DeskError, InputError

__all__ = ["os_reason", "shown_path", "write_file"]

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EFBIG: "the file would exceed the size this system allows",
    errno.ENOENT: "a folder on the way does not exist",
    errno.ELOOP: "the path loops through symbolic links",
    errno.EIO: "an input/output error",
}
_MAX_SHOWN = 120


def os_reason(exc: OSError) -> str:
    """Why an OS call failed, in a few plain words (`the disk is full`)."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    return (exc.strerror or str(exc) or type(exc).__name__).lower()


def shown_path(path: object) -> str:
    """A path as a one-line message shows it: escaped if it holds control characters, cut short
    if it is very long."""
    text = str(path)
    if not text.isprintable():
        text = repr(text)[1:-1]
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return text


def write_file(
    path: Path, text: str, *, what: str, mode: int = 0o600, exclusive: bool = False
) -> None:
    """Save `text` at `path` whole or not at all; `what` names it in the error (`the settings`).

    Raises `DeskError` with one sentence when it cannot be saved (the old file is untouched),
    and `InputError` when `exclusive` and the file exists.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if exclusive:
            _create(path, text, mode)
        else:
            _replace(path, text, mode)
    except FileExistsError:
        if not exclusive or not path.exists():
            raise DeskError(
                f"cannot save {what} to {shown_path(path)}: a part of the path is a file, "
                "not a folder"
            ) from None
        raise InputError(
            f"{shown_path(path)} already exists; edit it, or remove it first"
        ) from None
    except OSError as exc:
        unchanged = "; the file there is unchanged" if not exclusive and _exists(path) else ""
        raise DeskError(
            f"cannot save {what} to {shown_path(path)}: {os_reason(exc)}{unchanged}"
        ) from None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _create(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def _replace(path: Path, text: str, mode: int) -> None:
    import tempfile  # only here: the commands that only read start faster without it

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), mode)
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
