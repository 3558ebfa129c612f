"""Hostile input and hostile surroundings at the command line: one sentence, never a traceback.

Every test runs the real `deskctl` as a person runs it (its folders in tmp_path; a subprocess
where the test limits the process, pipes it or waits on a service, else `deskctl.cli.main` in
this process, `tests.cli.deskctl_in_process`) and asserts what the person sees: the exit code
(2 for bad input, 1 for a failure at run time), exactly one line on stderr, no "Traceback",
and that nothing was lost (a file already there is unchanged, no half-written file is left).
What is injected:
- a reader that goes away before `deskctl status` prints (`deskctl status | head -1`): the pipe
  is closed before the command starts, so the write fails every time, not by a race;
- a full disk (the file-size limit at 0, so every write fails with EFBIG, as root too) and a
  folder that cannot be made (its path runs through a regular file) under `profile use`,
  `config init` and `service install`;
- `run --from` at the ends of the calendar; a 70,000-byte MQTT password against a real
  mosquitto; desk names that are empty, NUL, a line break, zero-width or bidi controls;
- heights that are negative (`move -5cm`) or carry a comma (`1,100mm`), also over MQTT and the
  control socket of a running service;
- a settings path that is /dev/zero (read with a memory limit, so a reader without a bound fails
  fast instead of filling the machine), far too long, or holds a line break;
- profiles that keep a person seated for hours or standing all day: a warning, exit still 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deskctl.adapters import control_client
from deskctl.adapters.systemd import CONFIG_ERROR_EXIT
from tests.cli import cli_env, deskctl_in_process
from tests.faults.tally import counter
from tests.mosquitto import Broker
from tests.service_process import start_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)


def run_cli(
    tmp_path: Path,
    *args: str,
    stdout: int | None = subprocess.PIPE,
    limit: Callable[[], None] | None = None,
    timeout_s: float = 60,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`deskctl ARGS…` with a limit set in the child before it starts (`preexec_fn`)."""
    return subprocess.run(
        [sys.executable, "-m", "deskctl", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout_s,
        env=cli_env(tmp_path, **env),
        preexec_fn=limit,
        check=False,
    )


def no_file_may_grow() -> None:
    """A full disk, as far as this process can tell: every write to a file fails (EFBIG)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))


def memory_at_most_1_gib() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, resource.RLIM_INFINITY))


def one_sentence(done: subprocess.CompletedProcess[str], code: int) -> str:
    """The single line on stderr, after checking the exit code and that nothing else came."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert done.returncode == code, done.stderr
    assert lines[0].startswith("deskctl: ")
    return lines[0]


def write_settings(tmp_path: Path, text: str) -> None:
    config = tmp_path / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.toml").write_text(text, encoding="utf-8")
    (config / "settings.toml").chmod(0o600)


def a_file_in_the_way(tmp_path: Path) -> Path:
    """A regular file where a folder must go: nothing can be made beneath it, root or not."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return blocker


@pytest.fixture
def service(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = start_service(tmp_path, "--from", "2026-11-30T09:10:00+01:00")
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


# -- item 10: tracebacks that reached a user ----------------------------------------------------


@pytest.mark.parametrize("args", [("status",), ("status", "--json")])
def test_status_into_a_reader_that_has_gone_ends_quietly(
    tmp_path: Path, service: subprocess.Popen[str], args: tuple[str, ...]
) -> None:
    """`deskctl status | head -1`: the answer comes from the running service before typer loads
    (the fast path), and used to end in a BrokenPipeError traceback. Now, as Python's own
    documentation on SIGPIPE advises: no output, no message, exit 1."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before deskctl writes a byte
    try:
        done = run_cli(tmp_path, *args, stdout=write_end)
    finally:
        os.close(write_end)
    TALLY.fault()
    assert "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipe" not in done.stderr
    assert done.stderr == ""
    assert done.returncode == 1
    assert service.poll() is None, "the service runs on"


def test_profile_use_on_a_full_disk_says_so_and_keeps_the_remembered_profile(
    tmp_path: Path,
) -> None:
    first = deskctl_in_process(tmp_path, "profile", "use", "cornell-20-8-2")
    assert first.returncode == 0, first.stderr
    remembered = tmp_path / "state" / "profile.json"
    before = remembered.read_bytes()
    done = run_cli(tmp_path, "profile", "use", "walking-breaks", limit=no_file_may_grow)
    TALLY.fault()
    line = one_sentence(done, 1)
    assert "cannot save the chosen profile" in line
    assert str(remembered) in line
    assert remembered.read_bytes() == before, "the profile chosen before is still remembered"
    assert sorted(p.name for p in remembered.parent.iterdir()) == ["profile.json"]
    again = deskctl_in_process(tmp_path, "profile", "list")
    assert "* cornell-20-8-2" in again.stdout


def test_profile_use_where_the_state_folder_cannot_be_made(tmp_path: Path) -> None:
    state = a_file_in_the_way(tmp_path) / "state"
    done = run_cli(tmp_path, "profile", "use", "default", DESKCTL_STATE_DIR=str(state))
    TALLY.fault()
    line = one_sentence(done, 1)
    assert "not a folder" in line


FIRST_RUN = ("--simulate", "--yes", "--no-service")  # the first run, without questions


@pytest.mark.parametrize("fault", ["full disk", "no folder"])
def test_config_init_that_cannot_write_leaves_nothing_half_written(
    tmp_path: Path, fault: str
) -> None:
    if fault == "full disk":
        target = tmp_path / "config" / "settings.toml"
        done = run_cli(tmp_path, "config", "init", *FIRST_RUN, limit=no_file_may_grow)
    else:
        target = a_file_in_the_way(tmp_path) / "settings.toml"
        done = run_cli(tmp_path, "config", "init", *FIRST_RUN, "--config", str(target))
    TALLY.fault()
    line = one_sentence(done, 1)
    assert "cannot save the settings" in line
    assert not target.exists(), "no empty or partial settings file is left behind"
    assert "Wrote" not in done.stdout


@pytest.mark.parametrize("fault", ["full disk", "no folder"])
def test_service_install_that_cannot_write_the_unit(tmp_path: Path, fault: str) -> None:
    units = tmp_path / "units" if fault == "full disk" else a_file_in_the_way(tmp_path) / "units"
    done = run_cli(
        tmp_path,
        "service",
        "install",
        limit=no_file_may_grow if fault == "full disk" else None,
        DESKCTL_SYSTEMD_DIR=str(units),
    )
    TALLY.fault()
    line = one_sentence(done, 1)
    assert "cannot save the systemd unit" in line
    assert not (units / "deskctl.service").exists()


def test_service_install_refuses_a_config_path_that_would_break_the_unit(tmp_path: Path) -> None:
    """A line break in `--config` would end ExecStart and start a directive of its own."""
    units = tmp_path / "units"
    config = tmp_path / "desk.toml\nExecStartPre=/bin/false"
    done = deskctl_in_process(
        tmp_path, "service", "install", "--config", str(config), DESKCTL_SYSTEMD_DIR=str(units)
    )
    TALLY.tried()
    line = one_sentence(done, 2)
    assert "cannot go into a systemd unit" in line
    assert not (units / "deskctl.service").exists()


@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:59",
        "9999-12-31",
        "0001-01-01T00:00",
        "0001-01-01T00:00+05:00",
        "9999-12-31T23:59-23:59",
    ],
)
def test_run_from_the_ends_of_the_calendar_is_refused(tmp_path: Path, start: str) -> None:
    done = run_cli(tmp_path, "run", "--simulate", "--from", start, timeout_s=30)
    TALLY.tried()
    line = one_sentence(done, 2)
    assert "between the years" in line


@pytest.mark.parametrize(
    ("day", "tz"), [("9999-12-31", "Etc/GMT+12"), ("0001-01-01", "Etc/GMT-14")]
)
def test_plan_for_a_day_at_the_ends_of_the_calendar_is_refused(
    tmp_path: Path, day: str, tz: str
) -> None:
    """The day exists where the person is, but not in UTC, where every plan is computed."""
    done = deskctl_in_process(tmp_path, "plan", "--date", day, "--tz", tz)
    TALLY.tried()
    line = one_sentence(done, 2)
    assert "between the years" in line


@pytest.mark.parametrize(
    ("key", "size", "words"),
    [
        ("password", 70_000, "MQTT carries at most 65,535"),
        ("client_id", 70_000, "MQTT carries at most 65,535"),
        ("base_topic", 70_000, "a topic root may have at most 1,024"),
    ],
)
def test_an_mqtt_setting_too_long_for_mqtt_is_refused_when_the_settings_load(
    tmp_path: Path, mosquitto: Broker, key: str, size: int, words: str
) -> None:
    """A 70,000-character password (or client id, or base topic) used to reach the MQTT client
    and end the service with a struct.error traceback at connect."""
    value = "p" * size
    write_settings(
        tmp_path,
        f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
        f'username = "desk"\n{key} = "{value}"\n',
    )
    done = run_cli(tmp_path, "run", "--simulate", timeout_s=30)
    TALLY.tried()
    line = one_sentence(done, CONFIG_ERROR_EXIT)  # run's exit for a settings file to mend
    assert f"mqtt.{key}" in line
    assert words in line
    assert value not in done.stderr + (done.stdout or ""), "a secret is never echoed"


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ('""', "desks.''"),
        ('"off\\u0000ice"', "desks.'off\\x00ice'"),
        ('"off\\nice"', "desks.'off\\nice'"),
        ('"off\\u200bice"', "desks.'off\\u200bice'"),  # zero-width space
        ('"off\\u202eice"', "desks.'off\\u202eice'"),  # right-to-left override
        ('"off\\u2066ice"', "desks.'off\\u2066ice'"),  # left-to-right isolate
        ('"office\\ufeff"', "desks.'office\\ufeff'"),  # byte-order mark
        ('"off\\u001b[31mice"', "desks.'off\\x1b[31mice'"),  # a terminal escape
    ],
)
def test_a_desk_name_with_control_or_invisible_characters_is_refused(
    tmp_path: Path, key: str, shown: str
) -> None:
    write_settings(tmp_path, f'[desks.{key}]\nlink = "sim"\n')
    done = deskctl_in_process(tmp_path, "status")
    TALLY.tried()
    line = one_sentence(done, 2)
    assert shown in line, "the key is named, escaped so that it shows"
    assert "settings.toml" in line


def test_a_notify_command_with_nul_is_refused_when_the_settings_load(tmp_path: Path) -> None:
    """It used to fail at every warning and cue of the day, one log line each."""
    write_settings(tmp_path, '[notify]\ncommand = ["/usr/bin/espeak-ng\\u0000x"]\n')
    done = deskctl_in_process(tmp_path, "config", "show")
    TALLY.tried()
    line = one_sentence(done, 2)
    assert "notify.command" in line
    assert "NUL" in line


# -- item 21: negative heights, commas -----------------------------------------------------------


@pytest.mark.parametrize("height", ["-5cm", "-5", "-72cm"])
def test_move_to_a_negative_height_says_heights_cannot_be_negative(
    tmp_path: Path, height: str
) -> None:
    done = deskctl_in_process(tmp_path, "move", height, "--simulate")
    TALLY.tried()
    line = one_sentence(done, 2)
    assert "cannot be negative" in line
    assert "No such option" not in done.stderr


@pytest.mark.parametrize(
    ("height", "readings"),
    [("1,100mm", ("1100mm", "1.1mm")), ("72,5cm", ("725cm", "72.5cm"))],
)
def test_a_height_with_a_comma_is_refused_as_ambiguous(
    tmp_path: Path, height: str, readings: tuple[str, str]
) -> None:
    """`1,100mm` was read as 1.1 mm: a desk with a low limit would have driven to its bottom."""
    write_settings(tmp_path, '[desks.office]\nlink = "sim"\nmin_mm = 0\nmax_mm = 1300\n')
    done = deskctl_in_process(tmp_path, "move", height, "--simulate", "--json")
    TALLY.tried()
    line = one_sentence(done, 2)
    assert "ambiguous" in line
    for reading in readings:
        assert reading in line
    assert done.stdout == "", "nothing moved"


def test_a_negative_height_over_the_socket_and_mqtt_says_so(
    tmp_path: Path, mosquitto: Broker
) -> None:
    write_settings(tmp_path, f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n')
    proc = start_service(tmp_path, "--from", "2026-11-30T07:00:00+01:00")
    sock = tmp_path / "run" / "control.sock"
    try:
        with pytest.raises(control_client.ControlError) as refused:
            control_client.call("move", args={"height_mm": -50}, path=sock)
        TALLY.tried()
        assert refused.value.exit_code == 2
        assert "cannot be negative" in str(refused.value)
        events = subprocess.Popen(
            ["mosquitto_sub", *mosquitto.client_args(), "-t", "deskctl/desk/event", "-C", "1",
             "-W", "30"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30  # until the subscriber hears one refusal
            while events.poll() is None and time.monotonic() < deadline:
                subprocess.run(
                    ["mosquitto_pub", *mosquitto.client_args(), "-t", "deskctl/desk/height/set",
                     "-m", "-5"],
                    check=True, timeout=10,
                )  # fmt: skip
                TALLY.tried()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    events.wait(timeout=0.5)  # a bounded wait for the subscriber's answer
            out, _ = events.communicate(timeout=30)
        finally:
            if events.poll() is None:
                events.kill()
        event = json.loads(out)
        assert event["type"] == "error"
        assert "cannot be negative" in json.dumps(event)
        assert control_client.call("status", path=sock)["height_mm"] == 750, "nothing moved"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


# -- the sweep: settings paths that are not settings files --------------------------------------


def test_a_settings_path_to_dev_zero_is_refused_without_reading_forever(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "config", "show", "--config", "/dev/zero", limit=memory_at_most_1_gib)
    TALLY.fault()
    line = one_sentence(done, 2)
    assert "/dev/zero" in line
    assert "larger than 1 MiB" in line


def test_a_profile_file_that_never_ends_is_refused(tmp_path: Path) -> None:
    done = run_cli(
        tmp_path, "profile", "validate", "/dev/zero", limit=memory_at_most_1_gib, timeout_s=60
    )
    TALLY.fault()
    line = one_sentence(done, 2)
    assert "larger than 1 MiB" in line


def test_a_settings_path_too_long_for_the_system(tmp_path: Path) -> None:
    done = deskctl_in_process(tmp_path, "config", "show", "--config", "x" * 5000)
    TALLY.fault()
    line = one_sentence(done, 1)
    assert "too long" in line
    assert len(line) < 400, "a path that long is cut short in the sentence"


@pytest.mark.parametrize(
    "args",
    [("config", "show", "--config"), ("config", "init", "--config"), ("profile", "validate")],
)
def test_a_path_with_a_line_break_stays_on_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "a\nb.toml").mkdir()  # there, but a folder: no command can use it
    done = deskctl_in_process(tmp_path, *args, str(tmp_path / "a\nb.toml"))
    TALLY.tried()
    line = one_sentence(done, 2)
    assert "a\\nb.toml" in line


# -- item 19: profiles that keep a person seated for hours --------------------------------------

SEATED_ALL_DAY = """\
sit = "72cm"
stand = "110cm"
cycle = [
  { posture = "sit", minutes = 240 },
  { posture = "sit", minutes = 240 },
  { posture = "sit", minutes = 240 },
]
"""
STANDING_ALL_DAY = """\
sit = "72cm"
stand = "110cm"
cycle = [{ posture = "stand", minutes = 55 }, { posture = "away", minutes = 5 }]
"""


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("seated", SEATED_ALL_DAY, ("seated for up to 4 h", "30 minutes")),
        ("on-my-feet", STANDING_ALL_DAY, ("6 h", "standing", "4 hours")),
    ],
)
def test_validate_show_and_use_warn_about_a_profile_past_the_health_limits(
    tmp_path: Path, name: str, text: str, words: tuple[str, ...]
) -> None:
    folder = tmp_path / "config" / "profiles"
    folder.mkdir(parents=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    for args in (("profile", "validate", str(path)), ("profile", "show", name),
                 ("profile", "use", name)):  # fmt: skip
        done = deskctl_in_process(tmp_path, *args)
        TALLY.tried()
        assert done.returncode == 0, "a person may choose it: a warning, not a refusal"
        assert done.stdout.strip(), "the command did its work"
        line = one_sentence(done, 0)
        assert line.startswith("deskctl: warning: ")
        for word in words:
            assert word in line, (args, line)
