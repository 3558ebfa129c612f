"""Control-socket messages: any line gets one answer, and no request can end the service.

- `_parse_request` (the server's reading of one line) answers a `Request` or its own bad-request
  error for any bytes and for any JSON object built from the request's fields;
- the real server on a real socket answers every non-blank line of a random batch with exactly
  one JSON line and keeps serving;
- the simulated service, on virtual time, takes any command with any JSON arguments and answers
  a status or a deskctl error; afterwards it still answers `status`.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from deskctl.adapters.control_protocol import COMMANDS
from deskctl.adapters.control_server import (
    ControlServer,
    ProgressSink,
    Request,
    _BadRequest,
    _parse_request,
)
from deskctl.errors import DeskctlError
from deskctl.service.core import Service
from tests.faults.tally import counter
from tests.fuzz.strategies import json_values
from tests.service_harness import TZ, Recorded, run_service

TALLY = counter(__name__)

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "id": st.one_of(st.integers(-(2**70), 2**70), json_values(max_leaves=2)),
    "cmd": st.one_of(st.sampled_from(sorted(COMMANDS)), json_values(max_leaves=2)),
    "desk": st.one_of(st.none(), st.sampled_from(["desk", ""]), json_values(max_leaves=2)),
    "args": st.one_of(
        st.dictionaries(st.text(max_size=8), json_values(6), max_size=4), json_values(4)
    ),
    "progress": st.one_of(st.booleans(), json_values(max_leaves=1)),
}


@st.composite
def request_objects(draw: st.DrawFn) -> dict[str, Any]:
    message = {key: draw(values) for key, values in FIELD_VALUES.items() if draw(st.integers(0, 4))}
    if draw(st.integers(0, 9)) == 0:
        message[draw(st.text(max_size=6))] = draw(json_values(max_leaves=2))
    return message


LINES = st.one_of(
    request_objects().map(lambda m: json.dumps(m).encode()),
    st.binary(max_size=120),
    json_values().map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [b"[" * 60000, b'{"id": 1, "cmd": "status", "args": ' + b"[" * 30000, b"\xff\xfe"]
    ),
)


@settings(max_examples=500, deadline=None)
@given(line=LINES)
@example(line=b"[" * 60000)  # JSON nested deeper than the parser recurses, within 64 KiB
def test_any_line_is_a_request_or_a_bad_request(line: bytes) -> None:
    TALLY.tried()
    try:
        request: Request | _BadRequest = _parse_request(line, COMMANDS)
    except _BadRequest as bad:
        request = bad
    if isinstance(request, _BadRequest):
        assert str(request)
        assert str(request).isprintable()
        assert request.request_id is None or type(request.request_id) is int
        return
    assert request.cmd in COMMANDS
    assert type(request.id) is int
    assert request.desk is None or (isinstance(request.desk, str) and request.desk)
    assert isinstance(request.args, dict)


async def _echo(request: Request, progress: ProgressSink) -> dict[str, Any]:
    if request.cmd == "stop":
        raise DeskctlError("told to fail")
    return {"cmd": request.cmd}


async def _exchange(path: Path, lines: list[bytes]) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=2**20)
    writer.write(b"".join(line + b"\n" for line in lines))
    await writer.drain()
    writer.write_eof()
    answers = []
    async with asyncio.timeout(30):
        while raw := await reader.readline():
            answers.append(json.loads(raw))
    writer.close()
    await writer.wait_closed()
    return answers


async def test_a_random_batch_on_one_connection_gets_one_answer_per_line(tmp_path: Path) -> None:
    rng = random.Random(20261130)
    lines: list[bytes] = []
    for _ in range(300):
        kind = rng.randrange(5)
        if kind == 0:
            lines.append(
                bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))).replace(b"\n", b"")
            )
        elif kind == 1:
            cmd = rng.choice([*sorted(COMMANDS), "dance", 7, None])
            lines.append(json.dumps({"id": rng.randrange(-5, 10**6), "cmd": cmd}).encode())
        elif kind == 2:
            lines.append(json.dumps({"id": 1, "cmd": "status", "args": rng.random()}).encode())
        elif kind == 3:
            lines.append(b"[" * rng.randrange(1, 50000))
        else:
            lines.append(b"x" * rng.randrange(60000, 70000))  # around the 64 KiB line limit
    expected = [line for line in lines if line.strip()]
    TALLY.tried(len(lines))
    async with ControlServer(tmp_path / "run" / "control.sock", _echo) as server:
        answers = await _exchange(server.path, lines)
        assert len(answers) == len(expected), "every line gets exactly one answer"
        for answer in answers:
            assert set(answer) in ({"id", "ok", "result"}, {"id", "ok", "error", "exit_code"})
            if not answer["ok"]:
                assert answer["error"].isprintable()
        # the server still serves a well-formed request afterwards
        again = await _exchange(server.path, [b'{"id": 9, "cmd": "status"}'])
        assert again == [{"id": 9, "ok": True, "result": {"cmd": "status"}}]


SERVICE_COMMANDS = st.sampled_from(
    ["status", "move", "sit", "stand", "stop", "pause", "resume", "skip", "snooze", "confirm",
     "inhibit", "schedule", "profile_use", "dance"]
)  # fmt: skip
ARG_KEYS = st.sampled_from(["height", "height_mm", "duration_s", "for", "on", "name", "x"])
ARG_VALUES = st.one_of(
    json_values(max_leaves=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.sampled_from(["110cm", "45m", "1e999h", "default", "../../etc/passwd", "", "2h"]),
)
CALLS = st.lists(
    st.tuples(SERVICE_COMMANDS, st.dictionaries(ARG_KEYS, ARG_VALUES, max_size=3)),
    min_size=1,
    max_size=8,
)
START = datetime(2026, 11, 30, 9, 5, tzinfo=TZ)


@pytest.mark.usefixtures("own_folders")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=CALLS)
@example(calls=[("pause", {"duration_s": float("inf")})])
@example(calls=[("pause", {"duration_s": float("nan")})])
@example(calls=[("snooze", {"duration_s": 1e300})])
@example(calls=[("pause", {"for": "999999999h"})])
def test_no_command_with_any_arguments_ends_the_service(
    calls: list[tuple[str, dict[str, Any]]],
) -> None:
    TALLY.tried(len(calls))
    answered: list[str] = []

    async def script(service: Service, recorded: Recorded) -> None:
        for cmd, args in calls:
            said = ""
            try:
                async with asyncio.timeout(600):  # virtual seconds: a move takes about 20
                    await service.call(cmd, args=args)
            except DeskctlError as error:
                said = str(error) or "?"
            assert said.isprintable(), "a refusal is one line"
            answered.append(cmd)
        status = await service.call("status")
        assert status["service"] is True, "the service still answers after every command"
        answered.append("status")

    run_service(START, script)
    assert len(answered) == len(calls) + 1
