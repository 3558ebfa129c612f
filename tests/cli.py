"""Run the real `deskctl` command in a subprocess (or in this process), with its folders inside a
test's tmp_path."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKCTL_")}
    env.update(
        DESKCTL_CONFIG_DIR=str(tmp_path / "config"),
        DESKCTL_STATE_DIR=str(tmp_path / "state"),
        DESKCTL_RUNTIME_DIR=str(tmp_path / "run"),
        COLUMNS="120",
        TZ="Europe/Berlin",
    )
    env.update(extra)
    return env


def deskctl(
    tmp_path: Path, *args: str, timeout_s: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """`deskctl ARGS…` as a user would run it; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "deskctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=cli_env(tmp_path, **env),
        check=False,
    )


def deskctl_in_process(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`deskctl ARGS…` run in this process, as `deskctl.cli.main` runs it (the quick path, then
    typer), with the same environment as `deskctl()` gives a subprocess: for the many commands
    that end in a sentence, where a fresh interpreter costs ten times the command. Not for a
    command that could go on running (`run`, a move): a subprocess can be timed out."""
    from deskctl.cli import main

    return _in_process(main, tmp_path, args, env)


def typer_in_process(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The same through typer alone, never the quick path."""
    from deskctl.cli._app import app

    return _in_process(app, tmp_path, args, env)


def _in_process(
    main: Callable[[], object], tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    saved_env, saved_argv = dict(os.environ), sys.argv
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    os.environ.clear()
    os.environ.update(cli_env(tmp_path, **env))
    sys.argv = ["deskctl", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code
    except Exception:  # what a subprocess would print before it died
        traceback.print_exc(file=err)
        code = 1
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
    if isinstance(code, str):  # SystemExit("message"): Python prints it and exits 1
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess(
        ["deskctl", *args], code or 0, stdout=out.getvalue(), stderr=err.getvalue()
    )
