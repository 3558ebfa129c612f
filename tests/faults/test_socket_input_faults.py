"""What reaches the service over its control socket and the CLI: switches, and where the socket is.

- Switches: over the socket only JSON booleans (`{"on": "false"}` once turned inhibit on, and
  `{"on": "off"}` the schedule on); anything else is an exit-2 answer naming the argument and
  changes nothing, for every boolean argument (`on` of inhibit and schedule, `remote` of the
  moves). On the CLI `deskctl inhibit` takes on/off (true/false too, any case, as over MQTT);
  an empty word, yes, 1 and the like are exit 2 with one sentence, never "off".
- The socket's folder: without XDG_RUNTIME_DIR it is `run/` in the state folder, not a name in
  /tmp that another user can take first; when that path is too long for a Unix socket it falls
  back to /tmp/deskctl-<uid> and says why; a symlink (to our own folder, or dangling, as a
  squatter would leave it), a folder of another user or one open to others is refused by the
  service, and the client will not follow a symlink either.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters import control_client, control_protocol
from deskctl.adapters.control_server import ControlServer, ProgressSink, Request
from deskctl.config import paths
from tests.cli import cli_env, deskctl
from tests.faults.tally import counter
from tests.service_process import start_service, wait_for

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
FROM = "2026-11-30T09:10:00+01:00"
NOBODY = 65534

NOT_BOOLEANS: list[Any] = ["false", "off", "true", "on", "", 0, 1, None, [], {}]


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)[0]


# --- 15: booleans --------------------------------------------------------------------------------


def test_only_json_booleans_switch_anything_over_the_socket(tmp_path: Path) -> None:
    sock = tmp_path / "run" / "control.sock"
    proc = start_service(tmp_path, "--from", FROM)
    try:
        before = control_client.call("status", path=sock)
        cases = [
            *[("inhibit", {"on": value}, "on") for value in NOT_BOOLEANS],
            *[("schedule", {"on": value}, "on") for value in NOT_BOOLEANS],
            *[("move", {"height_mm": 1100, "remote": v}, "remote") for v in NOT_BOOLEANS],
            *[("stand", {"remote": value}, "remote") for value in NOT_BOOLEANS],
        ]
        for cmd, args, name in cases:
            TALLY.tried()
            with pytest.raises(control_client.ControlError) as refused:
                control_client.call(cmd, args=args, path=sock, timeout_s=30)
            assert refused.value.exit_code == 2, (cmd, args, str(refused.value))
            assert f"'{name}' must be true or false" in str(refused.value), (cmd, args)
        after = control_client.call("status", path=sock)
        assert (after["inhibited"], after["schedule"]) == (False, "running"), after
        assert (after["height_mm"], after["moving"]) == (before["height_mm"], False)
        assert control_client.call("inhibit", args={"on": True}, path=sock)["inhibited"] is True
        assert control_client.call("inhibit", args={"on": False}, path=sock)["inhibited"] is False
        assert control_client.call("schedule", args={"on": False}, path=sock)["schedule"] == "off"
    finally:
        _stop(proc)


def test_the_cli_switch_takes_on_or_off_and_nothing_else(tmp_path: Path) -> None:
    proc = start_service(tmp_path, "--from", FROM)
    try:
        for word in ("", " ", "yes", "no", "1", "0", "y", "maybe", "offf"):
            TALLY.tried()
            done = deskctl(tmp_path, "inhibit", word)
            assert done.returncode == 2, (word, done.stdout, done.stderr)
            assert done.stderr.strip().splitlines() == [
                f"deskctl: inhibit takes on or off, not {word!r}."
            ]
            state = json.loads(deskctl(tmp_path, "status", "--json").stdout)
            assert state["inhibited"] is False, word
        for word, inhibited in (("ON", True), ("off", False), ("true", True), ("False", False)):
            TALLY.tried()
            done = deskctl(tmp_path, "inhibit", word, "--json")
            assert done.returncode == 0, (word, done.stderr)
            assert json.loads(done.stdout)["inhibited"] is inhibited, word
    finally:
        _stop(proc)


# --- 18: where the socket is, and what is refused there ------------------------------------------


def _no_runtime_env(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path)
    env.pop("DESKCTL_RUNTIME_DIR")
    env.pop("XDG_RUNTIME_DIR", None)
    return env


def test_without_xdg_runtime_dir_service_and_client_meet_in_the_state_folder(
    tmp_path: Path,
) -> None:
    env = _no_runtime_env(tmp_path)
    sock = tmp_path / "state" / "run" / "control.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskctl", "run", "--simulate", "--from", FROM],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for(
            "the socket in the state folder",
            lambda: proc.poll() is None and sock.exists() and control_client.service_running(sock),
        )
        assert (sock.parent.stat().st_mode & 0o777) == 0o700
        done = subprocess.run(
            [sys.executable, "-m", "deskctl", "status", "--json"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["service"] is True, "the client found the same socket"
    finally:
        log = _stop(proc)
    assert proc.returncode == 0, log
    assert f"control socket listening on {sock}" in log


def test_a_state_folder_too_long_for_a_socket_falls_back_to_tmp_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESKCTL_RUNTIME_DIR")
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("DESKCTL_STATE_DIR", str(tmp_path / "state"))
    assert paths.runtime_dir() == tmp_path / "state" / "run"
    assert paths.runtime_dir_note() is None
    long_state = tmp_path / ("s" * 100)
    monkeypatch.setenv("DESKCTL_STATE_DIR", str(long_state))
    TALLY.fault()
    fallback = Path(f"/tmp/deskctl-{os.getuid()}")
    assert paths.runtime_dir() == fallback
    assert control_protocol.socket_path() == str(fallback / "control.sock")
    note = paths.runtime_dir_note()
    assert note is not None
    assert str(long_state) in note
    assert "too long" in note
    assert len(os.fsencode(control_protocol.socket_path())) <= 107


async def _echo(request: Request, progress: ProgressSink) -> dict[str, Any]:
    return {"cmd": request.cmd}


def _squat(tmp_path: Path, run: Path, how: str) -> Path:
    """Prepare `run` as a squatter would; return the folder it leads to (or itself)."""
    target = tmp_path / "target"
    if how == "symlink to a private folder":
        target.mkdir(mode=0o700)
        run.symlink_to(target)
    elif how == "dangling symlink":
        run.symlink_to(target)
    elif how == "folder of another user":
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        run.mkdir(mode=0o700)
        os.chown(run, NOBODY, NOBODY)
        return run
    elif how == "folder open to others":
        run.mkdir()
        run.chmod(0o777)
        return run
    return target


@pytest.mark.parametrize(
    ("how", "refusal"),
    [
        ("symlink to a private folder", "is a symbolic link"),
        ("dangling symlink", "is a symbolic link"),
        ("folder of another user", f"belongs to uid {NOBODY}"),
        ("folder open to others", "writable by others"),
    ],
)
async def test_a_squatted_runtime_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, refusal: str
) -> None:
    run = tmp_path / "run"
    monkeypatch.setenv("DESKCTL_RUNTIME_DIR", str(run))
    leads_to = _squat(tmp_path, run, how)
    TALLY.fault()
    with pytest.raises(control_client.ControlError, match=refusal):
        async with ControlServer(None, _echo):
            pass
    assert not (leads_to / "control.sock").exists()
    assert not leads_to.exists() or sorted(os.listdir(leads_to)) == []


async def test_the_client_does_not_follow_a_symlinked_runtime_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real"
    async with ControlServer(real / "control.sock", _echo):
        (tmp_path / "run").symlink_to(real)
        monkeypatch.setenv("DESKCTL_RUNTIME_DIR", str(tmp_path / "run"))
        TALLY.fault()
        with pytest.raises(control_client.ControlError, match="is a symbolic link"):
            await asyncio.to_thread(control_client.call, "status", timeout_s=10)
