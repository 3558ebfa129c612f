"""`deskctl run --simulate` in a subprocess, with its folders inside a test's tmp_path.

`start_service(tmp_path, *args)` starts it (ARGS after `--simulate`) and returns once its control
socket answers and the simulated desk has reported its height (desks connect after the socket
opens, so a move asked for any sooner would be refused); with `desk_ready=False` (a desk the
service must keep off) once the socket answers. Every wait is bounded by a deadline on a
condition, never a fixed sleep; a service that ends early, or is not ready within 30 s, is an
AssertionError carrying what it printed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from deskctl.adapters import control_client
from tests.cli import cli_env

_START_S = 30.0
_POLL_S = 0.05


def start_service(
    tmp_path: Path, *args: str, desk_ready: bool = True, **env: str
) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "deskctl", "run", "--simulate", *args],
        env=cli_env(tmp_path, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sock = tmp_path / "run" / "control.sock"
    deadline = time.monotonic() + _START_S
    while time.monotonic() < deadline:  # a bounded wait for a condition, not a fixed sleep
        if proc.poll() is not None:
            raise AssertionError(f"the service ended early: {proc.communicate()[0]}")
        if (
            sock.exists()
            and control_client.service_running(sock)
            and (
                not desk_ready or control_client.call("status", path=sock)["height_mm"] is not None
            )
        ):
            return proc  # listening, and the desk has reported where it stands
        time.sleep(_POLL_S)
    proc.kill()
    raise AssertionError("the service did not open its control socket within 30 s")


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait until `check()` holds, at most `timeout_s`; else AssertionError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # a bounded wait for a condition, not a fixed sleep
        if check():
            return
        time.sleep(_POLL_S)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")
