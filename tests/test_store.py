"""The history store: round trips, WAL, reopening, a second process, kill -9, unusable files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from deskctl.adapters import history_store as store_module
from deskctl.adapters.history_store import SCHEMA_VERSION, Event, Store, default_path
from deskctl.errors import DeskError

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)

# A writer in its own process: records `height` events with seq 0, 1, 2, ... and prints each
# seq after `record` returned, i.e. once it is committed. argv: path, count (0 = until killed).
WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from deskctl.adapters.history_store import Store

store = Store(Path(sys.argv[1]))
count = int(sys.argv[2])
t0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
seq = 0
while count == 0 or seq < count:
    store.record("office", t0 + timedelta(seconds=seq), "height", height_mm=600 + seq % 600,
                 seq=seq, note="x" * 200)
    print(seq, flush=True)
    seq += 1
store.close()
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "history.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store(path) as opened:
        yield opened


def one_of_each(store: Store) -> None:
    store.record("office", T0, "session", state="start", profile="default")
    store.record("office", T0, "posture", posture="sit", height_mm=720)
    store.record("office", T0 + timedelta(minutes=1), "height", height_mm=721)
    store.record(
        "office",
        T0 + timedelta(minutes=30),
        "cue",
        id="cat-cow",
        title="Cat-cow",
        area="lower_back",
        status="shown",
    )
    store.record(
        "office",
        T0 + timedelta(minutes=30),
        "move",
        from_mm=721,
        to_mm=1100,
        outcome="arrived",
        reason="scheduled",
    )
    store.record(
        "office",
        T0 + timedelta(minutes=31),
        "schedule",
        state="paused",
        until=T0 + timedelta(hours=1),
    )
    store.record("office", T0 + timedelta(hours=8), "session", state="stop")


def test_every_kind_round_trips_with_its_time_and_data(store: Store) -> None:
    one_of_each(store)
    got = store.events("office", T0, T0 + timedelta(days=1))
    assert [e.kind for e in got] == [
        "session",
        "posture",
        "height",
        "cue",
        "move",
        "schedule",
        "session",
    ]
    assert got[1] == Event("office", T0, "posture", {"posture": "sit", "height_mm": 720})
    assert got[5].data["until"] == T0 + timedelta(hours=1)
    assert got[5].data["until"].utcoffset() == timedelta(hours=1)
    assert got[0].at.isoformat() == "2026-03-02T09:00:00+01:00"
    assert dict(got[4].data) == {
        "from_mm": 721,
        "to_mm": 1100,
        "outcome": "arrived",
        "reason": "scheduled",
    }


def test_the_file_holds_iso_time_with_offset_and_unix_seconds(store: Store, path: Path) -> None:
    store.record("office", T0, "height", height_mm=700)
    with sqlite3.connect(path) as raw:
        row = raw.execute("SELECT at, at_s FROM events").fetchone()
    raw.close()
    assert row == ("2026-03-02T09:00:00+01:00", T0.timestamp())


def test_range_kinds_and_desk_filters(store: Store) -> None:
    for minute in range(5):
        store.record("office", T0 + timedelta(minutes=minute), "height", height_mm=700 + minute)
    store.record("home", T0 + timedelta(minutes=2), "posture", posture="away", height_mm=None)
    store.record("office", T0 + timedelta(minutes=2), "session", state="stop")

    window = store.events("office", T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
    assert [(e.kind, e.data.get("height_mm")) for e in window] == [
        ("height", 701),
        ("height", 702),
        ("session", None),
    ]  # since is inclusive, until exclusive; same instant keeps the order of recording
    assert [e.kind for e in store.events("office", T0, T0 + timedelta(hours=1), ["session"])] == [
        "session"
    ]
    everyone = store.events(None, T0, T0 + timedelta(hours=1), ("posture",))
    assert [(e.desk, e.data["height_mm"]) for e in everyone] == [("home", None)]
    assert store.desks() == ["home", "office"]


def test_ranges_compare_instants_across_offsets(store: Store) -> None:
    store.record("office", T0, "height", height_mm=700)  # 08:00 UTC
    in_utc = T0.astimezone(UTC)
    assert len(store.events("office", in_utc, in_utc + timedelta(seconds=1))) == 1
    new_york = timezone(timedelta(hours=-5))
    assert (
        store.events(
            "office", in_utc.astimezone(new_york) + timedelta(seconds=1), T0 + timedelta(1)
        )
        == []
    )


def test_latest_finds_the_event_before_a_time(store: Store) -> None:
    store.record("office", T0, "posture", posture="sit", height_mm=720)
    store.record("office", T0 + timedelta(minutes=5), "height", height_mm=730)
    store.record("office", T0 + timedelta(minutes=9), "posture", posture="stand", height_mm=1100)
    before = T0 + timedelta(minutes=9)
    latest = store.latest("office", before, ("posture", "session"))
    assert latest is not None
    assert latest.data["posture"] == "sit"
    latest_any = store.latest("office", before)
    assert latest_any is not None
    assert latest_any.kind == "height"
    assert store.latest("office", T0) is None
    assert store.latest("home", before + timedelta(days=1)) is None


def test_state_remembers_json_and_aware_times_per_desk(store: Store) -> None:
    until = datetime(2026, 3, 2, 10, 30, tzinfo=BERLIN)
    store.set_state("office", "paused_until", until)
    store.set_state("office", "picker", {"recent": ["cat-cow", "hip-flexor"], "seed": 7})
    store.set_state("home", "picker", [1, 2.5, None, True])
    store.set_state("office", "block", 3)
    store.set_state("office", "block", 4)

    assert store.get_state("office", "paused_until") == until
    assert store.get_state("office", "block") == 4
    assert store.get_state("office", "missing", "fallback") == "fallback"
    assert store.state("office") == {
        "block": 4,
        "paused_until": until,
        "picker": {"recent": ["cat-cow", "hip-flexor"], "seed": 7},
    }
    assert store.get_state("home", "picker") == [1, 2.5, None, True]
    store.delete_state("office", "block")
    assert store.get_state("office", "block") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(object(), "cannot store", id="an object"),
        pytest.param(float("nan"), "cannot store", id="NaN"),
        pytest.param(datetime(2026, 3, 2, 10), "time zone", id="a naive time"),
    ],
)
def test_state_refuses_what_json_cannot_hold(store: Store, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        store.set_state("office", "bad", value)
    assert store.state("office") == {}


@pytest.mark.parametrize(
    ("at", "kind", "data", "message"),
    [
        pytest.param(datetime(2026, 3, 2, 9), "height", {"height_mm": 1}, "time zone", id="naive"),
        pytest.param(T0, "nap", {}, "not a kind", id="unknown kind"),
        pytest.param(T0, "height", {"height_mm": "72cm"}, "must be int", id="wrong type"),
        pytest.param(T0, "height", {"height_mm": 1, "extra": {1, 2}}, "cannot store", id="a set"),
    ],
)
def test_a_bad_record_is_refused_and_writes_nothing(
    store: Store, at: datetime, kind: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.record("office", at, kind, **data)
    assert store.events(None, T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


def test_the_file_is_in_wal_mode_owner_only_and_versioned(store: Store, path: Path) -> None:
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()
    assert path.stat().st_mode & 0o777 == 0o600


def test_reopening_after_close_keeps_everything(path: Path) -> None:
    with Store(path) as first:
        one_of_each(first)
        first.set_state("office", "profile", "tall")
        before = first.events("office", T0, T0 + timedelta(days=1))
    with Store(path) as again:
        assert again.events("office", T0, T0 + timedelta(days=1)) == before
        assert again.get_state("office", "profile") == "tall"
        again.record("office", T0 + timedelta(days=1), "height", height_mm=700)
    with Store(path, readonly=True) as reader:
        assert len(reader.events(None, T0, T0 + timedelta(days=2))) == len(before) + 1


def test_the_default_path_follows_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_STATE_DIR", str(tmp_path / "elsewhere"))
    assert default_path() == tmp_path / "elsewhere" / "history.sqlite3"
    with Store() as opened:
        assert opened.path == default_path()
    assert default_path().is_file()


def test_a_reader_refuses_writes_and_a_missing_file(store: Store, path: Path) -> None:
    with Store(path, readonly=True) as reader:
        with pytest.raises(DeskError, match="read-only"):
            reader.record("office", T0, "height", height_mm=700)
        with pytest.raises(DeskError, match="read-only"):
            reader.set_state("office", "k", 1)
    with pytest.raises(DeskError, match="no history at"):
        Store(path.with_name("nothing.sqlite3"), readonly=True)
    assert not path.with_name("nothing.sqlite3").exists()


def test_a_second_process_reads_committed_rows_while_one_writes(path: Path) -> None:
    total = 300
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(total)], stdout=subprocess.PIPE, text=True
    ) as writer:
        assert writer.stdout is not None
        reader: Store | None = None
        try:
            for line in writer.stdout:
                committed = int(line) + 1
                if reader is None:
                    reader = Store(path, readonly=True)
                if committed % 10:
                    continue
                seqs = [e.data["seq"] for e in reader.events("office", *window)]
                # never a partial view: a gap-free prefix holding at least every row announced
                assert seqs == list(range(len(seqs)))
                assert len(seqs) >= committed
            assert writer.wait(timeout=60) == 0
            assert reader is not None
            assert [e.data["seq"] for e in reader.events(None, *window)] == list(range(total))
        finally:
            if reader is not None:
                reader.close()
            if writer.poll() is None:
                writer.kill()


@pytest.mark.fault
def test_kill_9_mid_stream_leaves_an_intact_file_with_every_committed_row(path: Path) -> None:
    announced = 0
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "0"], stdout=subprocess.PIPE, text=True
    ) as writer:
        assert writer.stdout is not None
        for line in writer.stdout:
            announced = int(line) + 1
            if announced >= 400:
                break
        os.kill(writer.pid, signal.SIGKILL)  # while it keeps writing
    assert writer.returncode == -signal.SIGKILL
    assert announced >= 400

    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        raw.close()
    with Store(path) as reopened:
        seqs = [
            e.data["seq"]
            for e in reopened.events("office", T0 - timedelta(days=1), T0 + timedelta(days=1))
        ]
        assert seqs == list(range(len(seqs)))
        assert len(seqs) >= announced
        reopened.record("office", T0, "height", height_mm=700)  # and it takes new rows


@pytest.mark.fault
@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda p: p.parent.write_text("a file"),
            "cannot keep the history at .*: .*/state is not a folder",
            id="the folder is a file",
        ),
        pytest.param(
            lambda p: p.mkdir(parents=True),
            "cannot keep the history at .*: is a directory",
            id="the file is a folder",
        ),
        pytest.param(
            lambda p: (p.parent.mkdir(parents=True), p.write_bytes(b"not sqlite at all " * 100)),
            "cannot open the history at .*: the file is not a deskctl history",
            id="not a database",
        ),
    ],
)
def test_an_unusable_path_is_one_sentence_naming_it(path: Path, make: Any, message: str) -> None:
    make(path)
    with pytest.raises(DeskError, match=message) as caught:
        Store(path)
    text = str(caught.value)
    assert str(path) in text
    assert "\n" not in text
    assert text.count(". ") == 0


@pytest.mark.fault
def test_a_full_disk_is_one_sentence_and_keeps_what_was_written(store: Store, path: Path) -> None:
    store.record("office", T0, "height", height_mm=700)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # this file cannot grow any more
    with pytest.raises(DeskError, match=r"cannot write the history at .*: the disk is full$"):
        store.record("office", T0, "height", height_mm=701, note="x" * 100_000)
    assert [e.data["height_mm"] for e in store.events("office", T0, T0 + timedelta(1))] == [700]
    assert store._db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_file_from_a_newer_deskctl_is_refused(path: Path) -> None:
    Store(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    for readonly in (False, True):
        with pytest.raises(DeskError, match="newer deskctl"):
            Store(path, readonly=readonly)


def test_migrations_run_in_order_once_and_all_or_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(path).close()
    ran: list[int] = []

    def add_notes(db: sqlite3.Connection) -> None:
        ran.append(2)
        db.execute("CREATE TABLE notes (body TEXT)")

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("step 3 failed")

    monkeypatch.setattr(store_module, "_MIGRATIONS", [*store_module._MIGRATIONS, add_notes, broken])
    with pytest.raises(DeskError, match="step 3 failed"):
        Store(path)
    raw = sqlite3.connect(path)
    try:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        raw.close()
    assert "notes" not in tables  # the whole upgrade rolled back
    assert "half" not in tables

    monkeypatch.setattr(store_module, "_MIGRATIONS", store_module._MIGRATIONS[:2])
    Store(path).close()  # the upgrade to 2 runs again, now to the end
    Store(path).close()  # and never again
    assert ran == [2, 2]
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
        assert raw.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    finally:
        raw.close()
