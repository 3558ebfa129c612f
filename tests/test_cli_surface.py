"""The CLI's own surface, as a person meets it: `--version`, `-h`, shell completion, and the
on/off switches (`inhibit`, `schedule`) with their help and their one-sentence refusals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskctl import __version__
from tests.cli import cli_env, deskctl
from tests.service_process import start_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = start_service(tmp_path, "--from", "2026-11-30T09:10:00+01:00", "--time-scale", "10")
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


def test_version_prints_the_version_and_exits_0(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"deskctl {__version__}\n"


@pytest.mark.parametrize("args", [(), ("run",), ("profile",), ("profile", "use")])
def test_h_is_help_like_help(tmp_path: Path, args: tuple[str, ...]) -> None:
    short = deskctl(tmp_path, *args, "-h")
    long = deskctl(tmp_path, *args, "--help")
    assert short.returncode == long.returncode == 0, short.stderr
    assert short.stdout == long.stdout
    assert "Usage:" in short.stdout


def test_shell_completion_is_offered_and_completes_commands(tmp_path: Path) -> None:
    top = deskctl(tmp_path, "--help")
    assert "--install-completion" in top.stdout
    assert "--show-completion" in top.stdout
    # typer finds the shell among the command's parents, as in a terminal: here a bash that
    # stays its parent (the test runner's own parents may hold none, under a job runner)
    script = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m deskctl --show-completion; exit $?'],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(tmp_path),
        check=False,
    )
    assert script.returncode == 0, script.stderr
    assert "complete " in script.stdout
    # what bash asks when a person types `deskctl sch<TAB>`, of the installed `deskctl` command
    command = Path(sys.executable).with_name("deskctl")
    if not command.exists():
        pytest.skip(f"no installed deskctl command next to {sys.executable}")
    asked = subprocess.run(
        [str(command)],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(
            tmp_path, COMP_WORDS="deskctl sch", COMP_CWORD="1", _DESKCTL_COMPLETE="complete_bash"
        ),
        check=False,
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.split() == ["schedule"]


@pytest.mark.parametrize("command", ["inhibit", "schedule"])
def test_on_off_help_names_both_words(tmp_path: Path, command: str) -> None:
    done = deskctl(tmp_path, command, "-h")
    assert done.returncode == 0, done.stderr
    usage = done.stdout.splitlines()[0]
    assert usage.endswith("on|off}"), usage
    assert "{on}" not in done.stdout


@pytest.mark.parametrize("command", ["inhibit", "schedule"])
@pytest.mark.parametrize("value", ["maybe", "1", "", "onn"])
def test_a_bad_on_off_value_is_one_plain_sentence(tmp_path: Path, command: str, value: str) -> None:
    done = deskctl(tmp_path, command, value)
    assert done.returncode == 2
    assert done.stderr == f"deskctl: {command} takes on or off, not {value!r}.\n"


def test_schedule_off_and_on_switch_the_running_service(
    tmp_path: Path, service: subprocess.Popen[str]
) -> None:
    off = deskctl(tmp_path, "schedule", "off", "--json")
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout)["schedule"] == "off"
    status = json.loads(deskctl(tmp_path, "status", "--json").stdout)
    assert status["schedule"] == "off"
    on = deskctl(tmp_path, "schedule", "ON")
    assert on.returncode == 0, on.stderr
    assert on.stdout.startswith("desk: switched the schedule on (schedule running")
    inhibited = deskctl(tmp_path, "inhibit", "On", "--json")
    assert json.loads(inhibited.stdout)["schedule"] == "inhibited"


def test_schedule_without_a_service_says_how_to_start_it(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "schedule", "off")
    assert done.returncode == 1
    assert "deskctl run" in done.stderr
