"""Setting your own heights can never aim the desk outside its limits, or break a profile.

- Over the control socket a running service gets `profile_set` with every wrong argument a
  client could send (no posture, `away`, a height as a bool, a float, text, out of the desk's
  limits, sit above stand, `here` as a string): each is an exit-2 answer with one sentence, the
  profile's heights stay as they were, no file is written, and the desk does not move.
- `here` while the desk moves is refused: the height it passes through is not a height anybody
  chose.
- A profile of yours that cannot be edited line by line (the height in a dotted or inline form,
  or under a table) is refused with one sentence and left byte for byte as it was; a profile
  folder that cannot be written is one sentence, not a traceback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters import control_client
from tests.cli import cli_env, deskctl
from tests.faults.tally import counter
from tests.service_process import start_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)

BAD_ARGS: list[tuple[dict[str, Any], str]] = [
    ({}, "needs a posture, sit or stand"),
    ({"posture": "away", "height_mm": 900}, "needs a posture, sit or stand"),
    ({"posture": ["stand"], "height_mm": 900}, "needs a posture, sit or stand"),
    ({"posture": "stand"}, "needs a height"),
    ({"posture": "stand", "height_mm": True}, "needs a height"),
    ({"posture": "stand", "height_mm": 1080.5}, "needs a height"),
    ({"posture": "stand", "height": "tall"}, "is not a height"),
    ({"posture": "stand", "height_mm": 99999}, "above this desk's highest allowed height"),
    ({"posture": "stand", "height_mm": -5}, "below this desk's lowest allowed height"),
    ({"posture": "sit", "height_mm": 1200}, "must be below the stand height"),
    ({"posture": "stand", "height_mm": 700}, "must be below the stand height"),
    ({"posture": "sit", "here": "yes"}, "needs a height"),
]


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)[0]


def test_no_wrong_profile_set_changes_a_height_or_moves_the_desk(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    sock = tmp_path / "run" / "control.sock"
    try:
        before = control_client.call("status", path=sock)
        for args, sentence in BAD_ARGS:
            TALLY.tried()
            with pytest.raises(control_client.ControlError) as refused:
                control_client.call("profile_set", None, args, path=sock)
            assert refused.value.exit_code == 2, args
            assert sentence in str(refused.value), (args, str(refused.value))
            now = control_client.call("status", path=sock)
            assert (now["sit_mm"], now["stand_mm"]) == (720, 1100), args
            assert not now["moving"]
            assert now["height_mm"] == before["height_mm"]
        assert not (tmp_path / "config" / "profiles").exists()
    finally:
        log = _stop(service)
    assert "Traceback" not in log


def test_here_while_the_desk_moves_is_refused(tmp_path: Path) -> None:
    service = start_service(tmp_path)
    sock = tmp_path / "run" / "control.sock"
    mover = subprocess.Popen(  # `deskctl move 120cm` through the service, in the background
        [sys.executable, "-m", "deskctl", "move", "120cm"],
        env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not control_client.call("status", path=sock)["moving"]:
            assert time.monotonic() < deadline, "the desk never started moving"
            time.sleep(0.05)
        TALLY.fault()
        with pytest.raises(control_client.ControlError) as refused:
            control_client.call("profile_set", None, {"posture": "stand", "here": True}, path=sock)
        assert refused.value.exit_code == 2
        assert "is moving; set the height once it stands still" in str(refused.value)
        assert mover.wait(timeout=120) == 0
        assert control_client.call("status", path=sock)["stand_mm"] == 1100
    finally:
        if mover.poll() is None:
            mover.kill()
            mover.wait()
        _stop(service)


@pytest.mark.parametrize(
    "text",
    [
        'sit.value = "72cm"\nstand = "110cm"\n',  # a dotted key: no `sit = ` line
        '"sit" = "72cm"\n[x]\n',  # broken anyway: unknown table
        'stand = "110cm"\n[hours_on]\nsit = "72cm"\n',  # sit only under a table
    ],
)
def test_a_profile_that_cannot_be_edited_line_by_line_is_left_as_it_was(
    tmp_path: Path, text: str
) -> None:
    folder = tmp_path / "config" / "profiles"
    folder.mkdir(parents=True)
    mine = folder / "mine.toml"
    mine.write_text(text, encoding="utf-8")
    (tmp_path / "config" / "settings.toml").write_text(
        '[desks.office]\nlink = "sim"\nprofile = "mine"\n', encoding="utf-8"
    )
    TALLY.fault()
    done = deskctl(tmp_path, "profile", "set", "sit", "74cm")
    assert done.returncode == 2, done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert mine.read_text(encoding="utf-8") == text


def test_a_profile_folder_that_cannot_be_written_is_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "profiles").write_text("not a folder", encoding="utf-8")
    TALLY.fault()
    done = deskctl(tmp_path, "profile", "set", "stand", "108cm")
    assert done.returncode == 1, done.stdout  # a failure at run time, as every file deskctl saves
    assert done.stderr.startswith("deskctl: cannot save profile ")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
