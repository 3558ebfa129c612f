"""The command hook: the user's own program, run for each notice, the notice in its environment.

How it runs: `asyncio.create_subprocess_exec(*argv)`, never a shell, so nothing in a notice (a cue
title with `;` or `$(...)`) is ever interpreted. The program gets this process's environment minus
every `DESKCTL_*` variable (settings may hold secrets such as `DESKCTL_MQTT__PASSWORD`), plus
`notice_env(notice)`; stdin and stdout are closed, stderr is kept for the log. It runs in its own
session, so at `timeout_s` the whole process group is killed (a shell script's `sleep` too). Each
failure (cannot start, non-zero exit, killed, too slow) is logged as one line; `send` never raises
for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Sequence

from deskctl.adapters.notify.notice import Channel, Notice
from deskctl.errors import ConfigError

__all__ = ["CommandChannel", "notice_env"]

log = logging.getLogger("deskctl.adapters.notify")

_PREFIX = "DESKCTL_"
_REAP_S = 5.0
_STDERR_CHARS = 200


def _clean(text: str) -> str:
    """Environment values cannot hold NUL bytes."""
    return text.replace("\x00", "")


def notice_env(notice: Notice) -> dict[str, str]:
    """The variables a hook gets. Cue variables are empty strings when there is no cue."""
    cue = notice.cue
    env = {
        "DESKCTL_KIND": notice.kind.value,
        "DESKCTL_DESK": notice.desk,
        "DESKCTL_TITLE": notice.title,
        "DESKCTL_BODY": notice.body,
        "DESKCTL_ACTIONS": " ".join(notice.actions),
        "DESKCTL_CUE_ID": cue.id if cue else "",
        "DESKCTL_CUE_TITLE": cue.title if cue else "",
        "DESKCTL_CUE_STEPS": "\n".join(cue.steps) if cue else "",
        "DESKCTL_CUE_AREA": cue.area.value if cue else "",
        "DESKCTL_CUE_KIND": cue.kind.value if cue else "",
        "DESKCTL_CUE_DURATION_S": str(cue.duration_s) if cue else "",
        "DESKCTL_NOTICE_JSON": json.dumps(
            {
                "kind": notice.kind.value,
                "desk": notice.desk,
                "title": notice.title,
                "body": notice.body,
                "actions": list(notice.actions),
                "cue": cue.to_full_json() if cue else None,
            },
            ensure_ascii=False,
        ),
    }
    return {key: _clean(value) for key, value in env.items()}


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][-_STDERR_CHARS:] if lines else ""


class CommandChannel(Channel):
    """Runs `argv` once per notice, bounded by `timeout_s`."""

    name = "command"

    def __init__(self, argv: Sequence[str], *, timeout_s: float = 10.0) -> None:
        if not argv or not all(isinstance(arg, str) and arg for arg in argv):
            raise ConfigError(
                "notify.command must be a list of non-empty strings (the program and its arguments)"
            )
        if not timeout_s > 0:
            raise ConfigError("the notify command's timeout must be above zero")
        self.argv = tuple(argv)
        self.timeout_s = timeout_s

    async def send(self, notice: Notice) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIX)}
        env.update(notice_env(notice))
        what = f"the notify command {self.argv[0]!r} ({notice.kind.value} notice)"
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            log.warning("%s cannot be started: %s", what, exc.strerror or exc)
            return
        stderr = b""
        try:
            async with asyncio.timeout(self.timeout_s):
                _, stderr = await process.communicate()
        except TimeoutError:
            log.warning("%s ran longer than %g s and was killed", what, self.timeout_s)
            return
        finally:
            if process.returncode is None:
                _kill_group(process)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_REAP_S):
                        await process.wait()
        code = process.returncode
        if code == 0:
            return
        said = _last_line(stderr)
        how = f"exited with {code}" if code and code > 0 else f"was killed by signal {-(code or 0)}"
        log.warning("%s %s%s", what, how, f": {said}" if said else "")
