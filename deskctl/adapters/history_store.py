"""History and remembered state in SQLite: the service writes, the CLI reads.

Design: one file, `state_dir()/history.sqlite3` (owner-only; a simulated run, whose clock is not
the real one, keeps its own in `demo-history.sqlite3` beside it), in WAL mode, so readers in other
processes (`deskctl stats`) never block the one writer (the service) and see only committed rows.
Two tables: `events` (desk, ISO-8601 time with its offset, unix seconds for range queries, kind,
JSON data; the kinds and their fields are checked by `deskctl.core.stats.check_event`) and `state`
(desk, key, JSON value) for what a restart needs to continue the day. Each write is one statement
in autocommit mode, so one committed transaction, made durable by `synchronous=FULL`: a crash
loses at most the write in flight, never half of it. Aware datetimes anywhere in data or state
round-trip (stored as `{"$datetime": ISO}`); event times come back with their recorded offset.
The layout is versioned by `PRAGMA user_version`; opening for writing runs the missing steps of
`_MIGRATIONS` in one transaction; a file from a newer deskctl is refused. Every SQLite or OS
failure (disk full, read-only file, not a database) becomes a `DeskError` of one sentence naming
the file; a caller's mistake (unknown kind, naive time, a value JSON cannot hold) is a ValueError.
A row that cannot be read back (its time or data mangled by another tool) is skipped and counted
in `unreadable`; a remembered value that cannot be read is a `DeskError`, like a damaged file.
Synchronous on purpose: each write is small, and the service calls it from its own task.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from deskctl.config import paths
from deskctl.core.stats import Event, check_event
from deskctl.errors import DeskError

__all__ = ["SCHEMA_VERSION", "Event", "Store", "default_path", "demo_path"]

_BUSY_S = 2.0
_DATETIME_TAG = "$datetime"


def default_path() -> Path:
    """Where the service keeps its history: `state_dir()/history.sqlite3`."""
    return paths.state_dir() / "history.sqlite3"


def demo_path() -> Path:
    """Where a simulated run (a demo, on its own clock) keeps its history, apart from yours."""
    return paths.state_dir() / "demo-history.sqlite3"


def _v1(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, desk TEXT NOT NULL, at TEXT NOT NULL,"
        " at_s REAL NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX events_by_desk_time ON events (desk, at_s)")
    db.execute(
        "CREATE TABLE state (desk TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (desk, key)) WITHOUT ROWID"
    )


# Step n brings a file from user_version n to n + 1. Append, never edit a released step.
_MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1]
SCHEMA_VERSION = len(_MIGRATIONS)

_REASONS = (
    ("SQLITE_FULL", "the disk is full"),
    ("SQLITE_READONLY", "the file is read-only"),
    ("SQLITE_CANTOPEN", "the file cannot be opened"),
    ("SQLITE_PERM", "permission is denied"),
    ("SQLITE_NOTADB", "the file is not a deskctl history"),
    ("SQLITE_CORRUPT", "the file is damaged"),
    ("SQLITE_BUSY", "another process keeps it locked"),
    ("SQLITE_LOCKED", "another process keeps it locked"),
    ("SQLITE_IOERR", "the disk failed to read or write it"),
)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        for prefix, text in _REASONS:
            if name.startswith(prefix):
                return text
        return str(exc).rstrip(".") or type(exc).__name__
    if isinstance(exc, OSError):
        return (exc.strerror or str(exc)).lower()
    return str(exc)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} needs a time zone")
        return {_DATETIME_TAG: value.isoformat()}
    raise TypeError(f"{type(value).__name__} cannot be stored as JSON")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and isinstance(obj.get(_DATETIME_TAG), str):
        return datetime.fromisoformat(obj[_DATETIME_TAG])
    return obj


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=_encode, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot store {value!r}: {exc}") from None


def _loads(text: str) -> Any:
    return json.loads(text, object_hook=_decode)


def _match(desk: str | None, kinds: Collection[str]) -> dict[str, Any]:
    """Query parameters: one desk or every desk (None), these kinds or every kind (empty)."""
    chosen = [kinds] if isinstance(kinds, str) else sorted(kinds)
    return {"desk": desk, "kinds": json.dumps(chosen)}


class Store:
    """The desk history and per-desk state; `readonly=True` for readers in other processes."""

    def __init__(self, path: Path | None = None, *, readonly: bool = False) -> None:
        self.path = path if path is not None else default_path()
        self.readonly = readonly
        self._empty = False  # a reader that found the file before its tables were made
        self.unreadable = 0  # event rows skipped so far because they could not be read
        self._db = self._open_reader() if readonly else self._open_writer()

    # opening

    def _fail(self, doing: str, exc: BaseException) -> DeskError:
        return DeskError(f"cannot {doing} the history at {self.path}: {_reason(exc)}")

    def _open_writer(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except FileExistsError:
            raise DeskError(
                f"cannot keep the history at {self.path}: {self.path.parent} is not a folder"
            ) from None
        except OSError as exc:
            raise self._fail("keep", exc) from exc
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError as exc:
            raise self._fail("keep", exc) from exc
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.path, timeout=_BUSY_S, isolation_level=None)
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise DeskError(
                    f"cannot keep the history at {self.path}: its file system does not allow "
                    "SQLite's WAL mode"
                )
            db.execute("PRAGMA synchronous = FULL")
            self._migrate(db)
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise self._fail("open", exc) from exc
        except BaseException:
            if db is not None:
                db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = self._check_version(db)
            for step in _MIGRATIONS[version:]:
                step(db)
            db.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _check_version(self, db: sqlite3.Connection) -> int:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(_MIGRATIONS):
            raise DeskError(
                f"the history at {self.path} was written by a newer deskctl (layout {version}, "
                f"this one knows up to {len(_MIGRATIONS)}); upgrade deskctl to use it"
            )
        return version

    def _open_reader(self) -> sqlite3.Connection:
        if self.path.exists() and not self.path.is_file():
            raise DeskError(f"cannot read the history at {self.path}: it is not a file")
        if not self.path.is_file():
            raise DeskError(f"there is no history at {self.path} yet")
        uri = self.path.resolve().as_uri() + "?mode=ro"
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(uri, uri=True, timeout=_BUSY_S, isolation_level=None)
            version = self._check_version(db)
            if 0 < version < len(_MIGRATIONS):
                raise DeskError(
                    f"the history at {self.path} has an older layout; run `deskctl run` once "
                    "to update it"
                )
            self._empty = version == 0
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise self._fail("read", exc) from exc
        except BaseException:
            if db is not None:
                db.close()
            raise
        return db

    # writing

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        if self.readonly:
            raise DeskError(f"the history at {self.path} is open read-only")
        try:
            self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._fail("write", exc) from exc

    def record(self, desk: str, at: datetime, kind: str, **data: Any) -> None:
        """Add one event, committed (and on disk) when this returns."""
        if not desk:
            raise ValueError("an event needs a desk name")
        if at.utcoffset() is None:
            raise ValueError(f"{at.isoformat()} needs a time zone")
        check_event(kind, data)
        self._write(
            "INSERT INTO events (desk, at, at_s, kind, data) VALUES (?, ?, ?, ?, ?)",
            (desk, at.isoformat(), at.timestamp(), kind, _dumps(data)),
        )

    def set_state(self, desk: str, key: str, value: Any) -> None:
        """Remember `value` (JSON, aware datetimes allowed) under the desk's `key`."""
        self._write(
            "INSERT INTO state (desk, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (desk, key) DO UPDATE SET value = excluded.value",
            (desk, key, _dumps(value)),
        )

    def delete_state(self, desk: str, key: str) -> None:
        """Forget the desk's `key` (nothing happens if it was never set)."""
        self._write("DELETE FROM state WHERE desk = ? AND key = ?", (desk, key))

    # reading

    def _read(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> list[tuple[Any, ...]]:
        if self._empty:
            return []
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._fail("read", exc) from exc

    def get_state(self, desk: str, key: str, default: Any = None) -> Any:
        """The value remembered under the desk's `key`, or `default`."""
        rows = self._read("SELECT value FROM state WHERE desk = ? AND key = ?", (desk, key))
        if not rows:
            return default
        try:
            return _loads(rows[0][0])
        except (TypeError, ValueError) as exc:
            raise DeskError(
                f"cannot read {key!r} of desk {desk!r} in the history at {self.path}: "
                "the value is damaged"
            ) from exc

    def state(self, desk: str) -> dict[str, Any]:
        """Everything remembered for the desk, by key."""
        rows = self._read("SELECT key, value FROM state WHERE desk = ? ORDER BY key", (desk,))
        return {key: _loads(value) for key, value in rows}

    def events(
        self,
        desk: str | None,
        since: datetime,
        until: datetime,
        kinds: Collection[str] = (),
    ) -> list[Event]:
        """Events with `since <= at < until` (all desks when `desk` is None), oldest first."""
        rows = self._read(
            "SELECT desk, at, kind, data FROM events WHERE at_s >= :since AND at_s < :until"
            " AND (:desk IS NULL OR desk = :desk)"
            " AND (:kinds = '[]' OR kind IN (SELECT value FROM json_each(:kinds)))"
            " ORDER BY at_s, id",
            {"since": since.timestamp(), "until": until.timestamp(), **_match(desk, kinds)},
        )
        return self._readable(rows)

    def latest(
        self, desk: str | None, before: datetime, kinds: Collection[str] = ()
    ) -> Event | None:
        """The last event strictly before `before` (of one of `kinds`, if given), or None."""
        rows = self._read(
            "SELECT desk, at, kind, data FROM events WHERE at_s < :before"
            " AND (:desk IS NULL OR desk = :desk)"
            " AND (:kinds = '[]' OR kind IN (SELECT value FROM json_each(:kinds)))"
            " ORDER BY at_s DESC, id DESC LIMIT 1",
            {"before": before.timestamp(), **_match(desk, kinds)},
        )
        found = self._readable(rows)
        return found[0] if found else None

    def desks(self) -> list[str]:
        """The names of every desk with history, sorted."""
        return [row[0] for row in self._read("SELECT DISTINCT desk FROM events ORDER BY desk", {})]

    def _readable(self, rows: list[tuple[Any, ...]]) -> list[Event]:
        """The rows as events; a row that cannot be read is skipped and counted."""
        events = []
        for row in rows:
            event = _event(row)
            if event is None:
                self.unreadable += 1
            else:
                events.append(event)
        return events

    # lifetime

    def close(self) -> None:
        """Close the file; closing twice is fine."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _event(row: tuple[Any, ...]) -> Event | None:
    """One row as an event, or None when its time or data cannot be read."""
    desk, at, kind, data = row
    try:
        when = datetime.fromisoformat(at)
        fields = _loads(data)
    except (TypeError, ValueError):
        return None
    if not isinstance(desk, str) or not isinstance(kind, str) or not isinstance(fields, dict):
        return None
    if when.utcoffset() is None:
        return None
    return Event(desk, when, kind, MappingProxyType(fields))
