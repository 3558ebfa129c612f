"""`deskctl profile set sit|stand HEIGHT|--here`: a person's own heights in one command.

The CLI runs with its folders in tmp_path: in this process where a command reads and writes files
and ends (`tests.cli.deskctl_in_process`), as a subprocess where a new process or a move is the
point; the live path runs a real
`deskctl run --simulate` with a real mosquitto playing Home Assistant; the scheduler's side runs
on virtual time. Waits are bounded polls on a condition.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime
from importlib.resources import files
from pathlib import Path

import pytest

from deskctl.adapters import control_client
from deskctl.service.core import Service
from tests.cli import deskctl, deskctl_in_process
from tests.mosquitto import Broker
from tests.service_harness import TZ, Recorded, run_service
from tests.service_process import start_service

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)
_SHIPPED_DEFAULT = (files("deskctl") / "profiles" / "default.toml").read_text(encoding="utf-8")


def _settings(tmp_path: Path, text: str) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "settings.toml").write_text(text, encoding="utf-8")


def _heights_shown(tmp_path: Path, profile: str = "default") -> str:
    shown = deskctl_in_process(tmp_path, "profile", "show", profile)
    assert shown.returncode == 0, shown.stderr
    return next(line for line in shown.stdout.splitlines() if line.startswith("heights:"))


def test_a_height_set_by_value_is_remembered_in_a_copy_that_profile_show_names(
    tmp_path: Path,
) -> None:
    done = deskctl_in_process(tmp_path, "profile", "set", "stand", "108cm")
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "config" / "profiles" / "default.toml"
    assert str(copy) in done.stdout
    assert _heights_shown(tmp_path) == "heights:  sit 72.0 cm, stand 108.0 cm"
    shown = deskctl_in_process(tmp_path, "profile", "show", "default").stdout
    assert f"(user: {copy})" in shown.splitlines()[0]
    listed = deskctl_in_process(tmp_path, "profile", "list").stdout
    assert "user, replaces shipped" in next(x for x in listed.splitlines() if " default " in x)
    # the shipped file is untouched; the copy keeps everything else of it
    assert (files("deskctl") / "profiles" / "default.toml").read_text(
        encoding="utf-8"
    ) == _SHIPPED_DEFAULT
    assert copy.read_text(encoding="utf-8").endswith(
        _SHIPPED_DEFAULT.replace('stand = "110cm"', 'stand = "108cm"')
    )
    # and the next command, a new process, still sees it; a second change edits the same copy
    assert deskctl(tmp_path, "profile", "set", "sit", "74.5cm").returncode == 0
    assert _heights_shown(tmp_path) == "heights:  sit 74.5 cm, stand 108.0 cm"
    stood = deskctl(tmp_path, "stand", "--simulate", "--time-scale", "10")  # a motor 10x faster
    assert stood.stdout.strip() == "desk: at 108.0 cm"


def test_a_users_own_profile_is_edited_in_place_keeping_its_comments(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "profiles"
    folder.mkdir(parents=True)
    text = (
        "# mine\n"
        'description = "Tall me"\n'
        'sit = "78cm"      # my chair is high\n'
        'stand = "122cm"\n'
        "cycle = [\n"
        '  { posture = "sit", minutes = 30 },\n'
        '  { posture = "stand", minutes = 15 },\n'
        "]\n"
    )
    (folder / "tall.toml").write_text(text, encoding="utf-8")
    _settings(tmp_path, '[desks.office]\nlink = "sim"\nprofile = "tall"\n')
    done = deskctl_in_process(tmp_path, "profile", "set", "sit", "80cm")
    assert done.returncode == 0, done.stderr
    assert "profile 'tall'" in done.stdout
    assert (folder / "tall.toml").read_text(encoding="utf-8") == text.replace(
        'sit = "78cm"', 'sit = "80cm"'
    )
    assert _heights_shown(tmp_path, "tall") == "heights:  sit 80.0 cm, stand 122.0 cm"


def test_a_height_outside_the_desk_or_sit_above_stand_is_one_sentence_and_writes_nothing(
    tmp_path: Path,
) -> None:
    _settings(tmp_path, '[desks.office]\nlink = "sim"\nmin_mm = 650\nmax_mm = 1200\n')
    cases = {
        ("sit", "112cm"): "the sit height (112.0 cm) must be below the stand height (110.0 cm)",
        ("stand", "70cm"): "the sit height (72.0 cm) must be below the stand height (70.0 cm)",
        ("stand", "125cm"): "above this desk's highest allowed height of 120.0 cm",
        ("sit", "64cm"): "below this desk's lowest allowed height of 65.0 cm",
        ("lie", "70cm"): "'lie' is not a posture to set; use sit or stand",
        ("sit", "tall"): "'tall' is not a height",
    }
    for (posture, height), sentence in cases.items():
        done = deskctl_in_process(tmp_path, "profile", "set", posture, height)
        assert done.returncode == 2, (posture, height, done.stdout)
        assert sentence in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
    both = deskctl_in_process(tmp_path, "profile", "set", "sit", "70cm", "--here")
    neither = deskctl_in_process(tmp_path, "profile", "set", "sit")
    assert (both.returncode, neither.returncode) == (2, 2)
    assert "--here" in both.stderr
    assert "--here" in neither.stderr
    assert not (tmp_path / "config" / "profiles").exists()
    assert _heights_shown(tmp_path) == "heights:  sit 72.0 cm, stand 110.0 cm"


def test_here_without_a_service_asks_the_desk_where_it_is(tmp_path: Path) -> None:
    _settings(tmp_path, '[desks.office]\nlink = "sim"\n')
    assert deskctl(tmp_path, "move", "81cm").returncode == 0  # the simulated desk remembers it
    done = deskctl(tmp_path, "profile", "set", "sit", "--here")
    assert done.returncode == 0, done.stderr
    assert "office: the sit height of profile 'default' is now 81.0 cm" in done.stdout
    assert _heights_shown(tmp_path) == "heights:  sit 81.0 cm, stand 110.0 cm"


def _retained_state(broker: Broker) -> dict[str, object]:
    done = subprocess.run(
        ["mosquitto_sub", *broker.client_args(), "-t", "deskctl/desk/state", "-C", "1",
         "-W", "10"],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    state: dict[str, object] = json.loads(done.stdout) if done.stdout.strip() else {}
    return state


def _seen_within(broker: Broker, want: dict[str, object], limit_s: float) -> float:
    """Seconds until the retained state holds `want`; fails past `limit_s`."""
    start = time.monotonic()
    state = _retained_state(broker)
    while any(state.get(k) != v for k, v in want.items()):
        assert time.monotonic() - start < limit_s, f"Home Assistant still sees {state}"
        time.sleep(0.1)
        state = _retained_state(broker)
    return time.monotonic() - start


def test_a_running_service_takes_the_new_height_at_once_and_home_assistant_sees_it(
    tmp_path: Path, mosquitto: Broker
) -> None:
    _settings(tmp_path, f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n')
    service = start_service(tmp_path)
    sock = tmp_path / "run" / "control.sock"
    try:
        _seen_within(mosquitto, {"stand_mm": 1100, "sit_mm": 720}, 30)
        done = deskctl(tmp_path, "profile", "set", "stand", "112cm")
        assert done.returncode == 0, done.stderr
        assert "the running service uses it from the next move" in done.stdout
        # the bridge looks every second; 5 s leaves room for a busy machine
        assert _seen_within(mosquitto, {"stand_mm": 1120}, 5.0) < 5.0
        here = deskctl(tmp_path, "profile", "set", "sit", "--here")  # the desk is at 75 cm
        assert here.returncode == 0, here.stderr
        _seen_within(mosquitto, {"sit_mm": 750}, 5.0)
        used = deskctl(tmp_path, "profile", "use", "cornell-20-8-2")
        assert used.returncode == 0, used.stderr
        _seen_within(mosquitto, {"profile": "cornell-20-8-2", "stand_mm": 1100}, 5.0)
        # a refused height changes nothing in the service, and says why
        refused = deskctl(tmp_path, "profile", "set", "stand", "140cm")
        assert refused.returncode == 2
        assert "above this desk's highest allowed height" in refused.stderr
        status = control_client.call("status", path=sock)
        assert (status["sit_mm"], status["stand_mm"], status["simulated"]) == (720, 1100, True)
        shown = deskctl(tmp_path, "status")
        assert "desk: 75.0 cm" in shown.stdout
        assert "(a simulated desk" in shown.stdout
        # remembered: the service started again uses the heights set for `default`
    finally:
        service.send_signal(signal.SIGTERM)
        log, _ = service.communicate(timeout=30)
    # `run` says at start that the desk is simulated
    assert "desk is a simulated desk: no real desk moves" in log
    assert deskctl(tmp_path, "profile", "use", "default").returncode == 0
    assert _heights_shown(tmp_path) == "heights:  sit 75.0 cm, stand 112.0 cm"


@pytest.mark.usefixtures("sit_stand_30_15")
def test_the_schedule_keeps_its_times_and_moves_to_the_new_height() -> None:
    before: list[str] = []

    async def day(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(3600 + 5 * 60)  # 09:05, sitting since 09:00
        runner = service.desks["desk"]
        next_block = runner.scheduler.next_change()
        assert next_block is not None
        before.append(next_block.start.isoformat())
        answer = await service.call("profile_set", None, {"posture": "stand", "height_mm": 1050})
        assert answer["stand_mm"] == 1050
        assert answer["next_change_at"] == before[0]  # the cycle goes on, not restarted
        await service.clock.sleep(30 * 60)

    recorded = run_service(MONDAY, day)
    stands = [f for _, f in recorded.of("move_started") if f["target_mm"] > 900]
    assert stands
    assert stands[0]["target_mm"] == 1050
    moved_at = [at for at, f in recorded.of("move_started") if f["target_mm"] == 1050]
    assert abs((moved_at[0] - datetime.fromisoformat(before[0])).total_seconds()) < 2
