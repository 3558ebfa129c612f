"""The time zone the person lives in: named, or the one the system's C library uses.

Design: `TZ` is read the way the C library (glibc) reads it, so the schedule keeps the time that
`date` and every other program show. Unset: `/etc/localtime`. Empty: UTC. `:NAME` or a path: that
zone file. A name: its zone file if there is one, else a POSIX rule (`EST5EDT,M3.2.0,M11.1.0`,
`<+0530>-5:30`, `JST-9`; DST without rules gets the C library's default, `M3.2.0,M11.1.0`). A POSIX
rule runs on zoneinfo's own rule engine: it becomes the footer of a TZif file with no transitions,
which RFC 8536 and `zoneinfo` read as "this rule, at all times". Anything else is what the C
library cannot read either: the zone is then the offset it gives now (UTC for an unknown name),
and a warning says so once, in one sentence.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import time
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deskctl.errors import InputError

__all__ = ["local_tz"]


_LOCALTIME = "/etc/localtime"
_DEFAULT_RULES = ",M3.2.0,M11.1.0"  # glibc's rules for a DST zone that names none
_warned: set[str] = set()


def local_tz(name: str | None = None) -> tzinfo:
    """The zone named (`--tz`: a name or a POSIX rule), else the one the C library uses."""
    if name:
        zone = _read_tz(name)
        if zone is None:
            raise InputError(
                f"{name!r} is not a time zone; use a name like Europe/Berlin "
                "or a POSIX rule like EST5EDT,M3.2.0,M11.1.0"
            )
        return zone
    value = os.environ.get("TZ")
    if value is None:
        return _system_zone()
    zone = _read_tz(value)
    if zone is not None:
        return zone
    zone = _libc_now()
    if value not in _warned:  # once per process
        _warned.add(value)
        offset = zone.utcoffset(None) or timedelta()
        instead = (
            "UTC, as the C library does"
            if not offset
            else f"the offset the C library gives it now, UTC{_hh_mm(offset)}, "
            "which does not follow daylight-saving changes"
        )
        import logging  # here: `deskctl plan` starts faster without it

        logging.getLogger("deskctl.clocks.localzone").warning(
            "TZ=%r is not a time zone deskctl can read; using %s", value, instead
        )
    return zone


def _read_tz(value: str) -> tzinfo | None:
    """`value` read as glibc reads TZ, or None if it cannot be."""
    if value in ("", ":"):
        return UTC
    if value.startswith(":"):
        return _zone_file(value[1:])
    zone = _zone_file(value)
    if zone is None:
        zone = _posix_rule(value)
    if zone is None and "," not in value:
        zone = _posix_rule(value + _DEFAULT_RULES)
    return zone


def _zone_file(key: str) -> tzinfo | None:
    """The zone in a zone file: a path, or a name under the zone folders (`Europe/Berlin`)."""
    try:
        if key.startswith("/"):
            with open(key, "rb") as file:
                return ZoneInfo.from_file(file, key=key)
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _posix_rule(rule: str) -> tzinfo | None:
    """A POSIX TZ rule as a zone: the footer of a TZif file (version 2) with no transitions."""
    if not rule.isascii() or not rule.isprintable():
        return None
    counts = struct.pack(">6l", 0, 0, 0, 0, 1, 4)  # one local time type (UTC), 4 name bytes
    block = b"TZif2" + bytes(15) + counts + struct.pack(">lBB", 0, 0, 0) + b"UTC\0"
    data = block + block + b"\n" + rule.encode() + b"\n"
    try:
        return ZoneInfo.from_file(io.BytesIO(data), key=rule)
    except ValueError:
        return None


def _system_zone() -> tzinfo:
    """The zone of `/etc/localtime` (its name when it links into the zone folders)."""
    with contextlib.suppress(OSError):
        key = os.readlink(_LOCALTIME).partition("zoneinfo/")[2]
        zone = _zone_file(key) if key else None
        if zone is not None:
            return zone
    if os.path.exists(_LOCALTIME):
        zone = _zone_file(_LOCALTIME)
        return zone if zone is not None else _libc_now()
    return UTC  # as the C library does without /etc/localtime


def _libc_now() -> tzinfo:
    """The offset the C library gives the time zone now, as a fixed zone (UTC if none)."""
    time.tzset()  # read TZ as it is now
    now = time.localtime()
    offset = timedelta(seconds=now.tm_gmtoff)
    return timezone(offset, now.tm_zone) if offset else UTC


def _hh_mm(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
