"""The quick path (`deskctl/cli/_fast.py`) and typer give the same answer to the same argv.

The quick path answers the commands a running service answers, `config path`, `cues list` and
`deskctl --help` before typer loads; everything it does not plainly understand goes to typer.
Each row here runs one argv both ways, as `deskctl …` runs it (`deskctl.cli.main`, which may
take the quick path) and through typer alone, against the same running service (or none), and
compares stdout, stderr and the exit code: in this process, and for a few rows as processes.
Clock times in the answers are masked: the simulated service's clock runs on between the runs.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from deskctl.cli._app import app
from deskctl.cli._fast import QUICK, parse
from deskctl.cli._help import TOP_HELP
from tests.cli import cli_env, deskctl, deskctl_in_process, typer_in_process
from tests.service_process import start_service

IDLE = "2026-11-29T20:00"  # a Sunday evening: no schedule moves the desk by itself
# typer alone, named as click names `python -m deskctl` (how tests.cli.deskctl runs it)
_TYPER_ONLY = "from deskctl.cli._app import app; app(prog_name=PROG)"
_INSTALLED = Path(sys.executable).with_name("deskctl")

# argv, in order: some change the service's state, and both paths see the same state
WITH_SERVICE = [
    ("status",),
    ("status", "--json"),
    ("status", "--desk", "desk"),
    ("status", "--desk=desk", "--json"),
    ("status", "--desk", "nope"),
    ("move", "80cm", "--json"),
    ("move", "5000cm"),
    ("move", "72cm", "--desk", "nope"),
    ("move", "-5cm"),
    ("sit",),
    ("stand", "--json"),
    ("stop",),
    ("stop", "--json"),
    ("pause", "45m"),
    ("pause", "soon"),
    ("pause", "--json"),
    ("resume",),
    ("snooze", "10m", "--json"),
    ("skip",),
    ("confirm",),
    ("inhibit", "on"),
    ("inhibit", "OFF", "--json"),
    ("inhibit", "maybe"),
    ("inhibit",),
    ("schedule", "off"),
    ("schedule", "on"),
    ("schedule", "on", "off"),
    ("profile", "use", "standing-4h"),
    ("profile", "use", "no-such-profile"),
    ("profile", "use", "default", "--desk", "desk"),
    ("status", "--simulate"),
    ("status", "--json", "--json"),
    ("sit", "--desk"),
    ("resume", "-h"),
]
WITHOUT_SERVICE = [
    ("config", "path"),
    ("plan", "--date", "2026-11-30", "--tz", "Europe/Berlin"),
    ("profile", "list"),
    ("cues", "list"),
    ("cues", "list", "--json"),
    ("cues", "list", "--area", "neck"),
    ("pause", "45m"),
    ("pause", "soon"),
    ("inhibit", "maybe"),
    ("status", "--desk", "nope"),
    ("move", "5000cm"),
    ("profile", "use", "no-such-profile"),
]


def _typer_only(
    tmp_path: Path, *args: str, prog: str = "python -m deskctl", **env: str
) -> subprocess.CompletedProcess[str]:
    """`deskctl ARGS…` through typer alone, never the quick path."""
    return subprocess.run(
        [sys.executable, "-c", _TYPER_ONLY.replace("PROG", repr(prog)), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(tmp_path, **env),
        check=False,
    )


def _seen(done: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    def masked(text: str) -> str:
        return re.sub(r"\d\d:\d\d(:\d\d(\.\d+)?)?", "HH:MM", text)

    return done.returncode, masked(done.stdout), masked(done.stderr)


def _same_both_ways(
    tmp_path: Path, rows: list[tuple[str, ...]], as_processes: list[tuple[str, ...]]
) -> None:
    """Each row both ways in this process (`deskctl.cli.main`, and typer's app alone: a fresh
    interpreter for each would cost ten times the commands), then the rows `as_processes` (which
    change nothing) both ways as a person runs them, a process each."""
    for argv in rows:
        slow = _seen(typer_in_process(tmp_path, *argv))
        quick = _seen(deskctl_in_process(tmp_path, *argv))
        assert quick == slow, f"deskctl {' '.join(argv)}"
    for argv in as_processes:
        slow = _seen(_typer_only(tmp_path, *argv))
        quick = _seen(deskctl(tmp_path, *argv))
        assert quick == slow, f"deskctl {' '.join(argv)} (a process)"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = start_service(tmp_path, "--from", IDLE, "--time-scale", "10")
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


def test_the_quick_path_and_typer_answer_alike_with_a_service(
    tmp_path: Path, service: subprocess.Popen[str]
) -> None:
    _same_both_ways(
        tmp_path, WITH_SERVICE, [("status", "--json"), ("inhibit", "maybe"), ("resume", "-h")]
    )
    # the service really was reached: a stand is a stand
    stood = deskctl(tmp_path, "stand", "--json")
    assert stood.returncode == 0, stood.stderr
    assert '"height_mm": 1100' in stood.stdout


def test_the_quick_path_and_typer_answer_alike_without_a_service(tmp_path: Path) -> None:
    _same_both_ways(tmp_path, WITHOUT_SERVICE, [("config", "path"), ("pause", "soon")])


SETTINGS = """
[desks.office]
profile = "standing-4h"
[desks.home]
min_mm = 700
max_mm = 1050
"""
READ_NO_DESK = [
    ("plan", "--date", "2026-11-30", "--tz", "Europe/Berlin"),
    ("plan", "--json", "--date=2026-11-30", "--profile", "standing-4h", "--desk", "a"),
    ("plan", "--date", "2026-02-30"),
    ("plan", "--profile", "nope"),
    ("profile", "list"),
    ("profile", "list", "--desk", "a\tb"),
]
WITH_SETTINGS = [
    ("profile", "list"),
    ("profile", "list", "--desk", "office"),
    ("plan", "--desk", "office", "--date", "2026-11-30", "--tz", "Europe/Berlin"),
    ("plan", "--desk", "home", "--json", "--date", "2026-11-30"),  # stand above max_mm
]


def _same_both_ways_in_process(tmp_path: Path, argv: tuple[str, ...], **env: str) -> None:
    quick = deskctl_in_process(tmp_path, *argv, **env)
    slow = typer_in_process(tmp_path, *argv, **env)
    assert (quick.returncode, quick.stdout, quick.stderr) == (
        slow.returncode,
        slow.stdout,
        slow.stderr,
    ), (argv, env)


def test_plan_and_profile_list_read_the_settings_alike_both_ways(tmp_path: Path) -> None:
    """Without settings the quick path picks the desk without loading them; with a file (or a
    variable) it loads them as typer does: the desk, its profile and its limits. In this
    process: these read files and end."""
    for argv in READ_NO_DESK:
        _same_both_ways_in_process(tmp_path, argv)
    settings = tmp_path / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text(SETTINGS, encoding="utf-8")
    for argv in WITH_SETTINGS:
        _same_both_ways_in_process(tmp_path, argv)
    settings.write_text("[desks.office]\nmin_mm = 'low'\n", encoding="utf-8")
    _same_both_ways_in_process(tmp_path, ("plan",))
    _same_both_ways_in_process(tmp_path, ("profile", "list"))
    settings.unlink()
    for argv in (("profile", "list"), ("plan", "--json", "--date", "2026-11-30")):
        _same_both_ways_in_process(tmp_path, argv, DESKCTL_DESKS__HOME__PROFILE="walking-breaks")
        _same_both_ways_in_process(tmp_path, argv, deskctl_desks="1")


@pytest.mark.parametrize(
    ("argv", "keywords"),
    [
        (["status"], {}),
        (["status", "--json", "--desk", "a"], {"as_json": True, "desk": "a"}),
        (["move", "72cm", "--desk=b"], {"cmd": "move", "height": "72cm", "desk": "b"}),
        (["sit"], {"cmd": "sit"}),
        (["pause", "45m", "--json"], {"cmd": "pause", "for_": "45m", "as_json": True}),
        (["inhibit", "on"], {"cmd": "inhibit", "state": "on"}),
        (["profile", "use", "x", "--desk", "a"], {"name": "x", "desk": "a"}),
        (["status", "--desk", ""], {"desk": ""}),
        (["config", "path"], {}),
        (["cues", "list", "--json"], {"json": True}),
        (["plan", "--date", "2026-11-30", "--json"], {"day": "2026-11-30", "as_json": True}),
        (["plan", "--tz=UTC", "--profile", "x"], {"tz_name": "UTC", "profile": "x"}),
        (["profile", "list"], {}),
        (["profile", "list", "--desk", "a"], {"desk": "a"}),
    ],
)
def test_plain_argv_takes_the_quick_path(argv: list[str], keywords: dict[str, object]) -> None:
    parsed = parse(argv)
    assert parsed is not None
    assert parsed[1] == keywords


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["statu"],
        ["status", "--simulate"],
        ["status", "--config", "x.toml"],
        ["status", "--help"],
        ["status", "-h"],
        ["status", "--json", "--json"],
        ["status", "--desk"],
        ["status", "--desk", "--json"],
        ["status", "extra"],
        ["move"],
        ["move", "-5cm"],
        ["move", "72cm", "80cm"],
        ["move", "72cm", "--time-scale", "2"],
        ["move", "72cm", "--"],
        ["inhibit"],
        ["profile", "use"],
        ["profile", "use", "x", "--json"],
        ["profile", "list", "--json"],
        ["plan", "2026-11-30"],
        ["plan", "--week"],
        ["config", "path", "--json"],
        ["cues", "list", "--kind", "stretch"],
        ["run"],
    ],
)
def test_anything_else_goes_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None


def test_the_quick_path_accepts_only_what_typer_accepts() -> None:
    """Every option, flag and argument the quick path reads is one the typer command declares,
    under the same parameter name: it can never accept what typer would refuse."""
    group = typer.main.get_command(app)
    for quick in QUICK:
        command = group
        for word in quick.words:
            command = command.commands[word]  # type: ignore[attr-defined]
        declared = {opt: param.name for param in command.params for opt in param.opts}
        by_name = {param.name: param for param in command.params}
        for option, name in {**quick.values, **quick.flags}.items():
            assert declared.get(option) == name, (quick.words, option)
        for name in quick.arguments:
            assert by_name[name].param_type_name == "argument", (quick.words, name)
        required = [p.name for p in command.params if p.required]
        assert required == list(quick.arguments[: quick.required]), quick.words


def test_the_kept_help_is_typers_help() -> None:
    """`deskctl --help` prints the kept text; it must be what typer prints. When this fails,
    rewrite it: `python -m deskctl.cli._help`."""
    # in a fresh interpreter: a test that imports a command module before the app (as
    # `from deskctl.cli.run_cmds import ...` does) registers its commands last in this process
    fresh = subprocess.run(
        [sys.executable, "-c", "from deskctl.cli._help import typer_help; print(typer_help())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert fresh.stdout == TOP_HELP + "\n"


def _installed(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    if not _INSTALLED.exists():
        pytest.skip(f"no installed deskctl command next to {sys.executable}")
    return subprocess.run(
        [str(_INSTALLED), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(tmp_path, **env),
        check=False,
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_the_same_on_both_paths(tmp_path: Path, flag: str) -> None:
    """The installed `deskctl` prints the kept help; `python -m deskctl` (named so by click),
    or a terminal too narrow for the kept layout, get typer's."""
    kept = _installed(tmp_path, flag)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout == TOP_HELP == _typer_only(tmp_path, flag, prog="deskctl").stdout
    assert _seen(deskctl(tmp_path, flag)) == _seen(_typer_only(tmp_path, flag))
    narrow = _installed(tmp_path, flag, COLUMNS="60")
    assert narrow.returncode == 0, narrow.stderr
    assert narrow.stdout == _typer_only(tmp_path, flag, prog="deskctl", COLUMNS="60").stdout
    assert narrow.stdout != TOP_HELP
