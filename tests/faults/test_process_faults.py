"""Process faults: `kill -9` of the running service while it writes its history.

The service is `deskctl run --simulate --time-scale 60` in a subprocess with its own folders.
This test process plays a second process reading the history (as `deskctl stats` does) while
the service writes it, keeps every row it saw, then kills the service with SIGKILL in the middle
of a move. Afterwards SQLite's own integrity check passes, every row seen before the kill is
still there, unchanged, and a new service starts on the same folders (the kernel released the
lock, the stale socket is replaced) and appends to the same history.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
from pathlib import Path

import pytest

from deskctl.adapters import control_client
from tests.faults.tally import counter
from tests.service_process import start_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
Row = tuple[int, str, str, str, str]
TARGETS_MM = [1100, 720, 950, 1200, 680, 1010, 760, 1150]


def committed_rows(db: Path) -> list[Row]:
    """Every event row committed so far, read from another process (read-only, like stats)."""
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = reader.execute("SELECT id, desk, at, kind, data FROM events ORDER BY id").fetchall()
    finally:
        reader.close()
    return [(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]


def send_without_waiting(sock_path: Path, cmd: str, args: dict[str, int]) -> socket.socket:
    """A request on its way: the service starts it, nobody waits for the answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(sock_path))
    sock.sendall(json.dumps({"id": 1, "cmd": cmd, "args": args}).encode() + b"\n")
    return sock


def test_kill_9_while_writing_history_keeps_every_committed_row_and_the_file_intact(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state" / "demo-history.sqlite3"
    sock_path = tmp_path / "run" / "control.sock"
    proc = start_service(tmp_path, "--time-scale", "60", "--from", "2026-11-30T08:59:00+01:00")
    seen: list[Row] = []
    try:
        for target_mm in TARGETS_MM:
            control_client.call("move", args={"height_mm": target_mm}, path=sock_path, timeout_s=30)
            rows = committed_rows(db)
            assert rows[: len(seen)] == seen, "a reader only ever sees the history grow"
            seen = rows
        in_flight = send_without_waiting(sock_path, "move", {"height_mm": 1250})
        seen = committed_rows(db)
        os.kill(proc.pid, signal.SIGKILL)
        TALLY.fault()
        in_flight.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    kinds = {row[3] for row in seen}
    assert {"session", "move", "height", "posture"} <= kinds, kinds
    assert len([row for row in seen if row[3] == "move"]) >= len(TARGETS_MM)

    check = sqlite3.connect(db)  # a writer connection: it recovers the WAL the kill left
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        check.close()
    after = committed_rows(db)
    assert after[: len(seen)] == seen, "every row committed before the kill is there, unchanged"

    again = start_service(tmp_path, "--time-scale", "60", "--from", "2026-11-30T10:00:00+01:00")
    try:
        status = control_client.call("status", path=sock_path, timeout_s=10)
        assert status["service"] is True
    finally:
        again.send_signal(signal.SIGTERM)
        out, _ = again.communicate(timeout=30)
    assert again.returncode == 0, out
    final = committed_rows(db)
    assert final[: len(after)] == after, "the new service appends to the same history"
    sessions = [json.loads(row[4]) for row in final[len(after) :] if row[3] == "session"]
    assert sessions == [
        {"state": "stop", "crashed": True},
        {"state": "start"},
        {"state": "stop"},
    ], "the killed session's stop (recorded by the next start), then a start and a stop"
