"""The time zone the person lives in: named, or the system's own (DST-aware when it can be)."""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskctl.errors import InputError

__all__ = ["local_tz"]


def local_tz(name: str | None = None) -> tzinfo:
    """The zone named, else the system's own (TZ, /etc/localtime), else its current offset."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise InputError(
                f"{name!r} is not a time zone; use a name like Europe/Berlin"
            ) from None
    keys = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        keys.append(os.readlink("/etc/localtime").partition("zoneinfo/")[2])
    for key in keys:
        if key:
            try:
                return ZoneInfo(key)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else ZoneInfo("UTC")
