"""`deskctl init`: a first run that ends at a working desk.

The interactive path runs the real command on a real pseudo-terminal (pexpect), answering each
prompt as a person would, on the simulated desk and on the emulated BLE desk (found by the real
scan, reached by the real bleak link, on Bumble's virtual radio); the scripted path uses the
flags. Every wait is pexpect's bounded wait for a line, never a fixed sleep. What is checked
after (the settings and heights shown, a second `init` refused) runs in this process.
"""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from deskctl.cli import init_cmds
from deskctl.errors import InputError
from deskctl.links.ble import FoundDesk
from tests.cli import cli_env, deskctl, deskctl_in_process

_WAIT_S = 60


def _spawn(tmp_path: Path, *args: str) -> pexpect.spawn[str]:
    env = cli_env(tmp_path, COLUMNS="200")
    return pexpect.spawn(
        sys.executable,
        ["-m", "deskctl", "init", *args],
        env=env,
        encoding="utf-8",
        timeout=_WAIT_S,
        dimensions=(40, 200),
    )


def _init(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`deskctl init ARGS` with nothing on its input (a script, a pipe that ended)."""
    return subprocess.run(
        [sys.executable, "-m", "deskctl", "init", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=_WAIT_S,
        env=cli_env(tmp_path),
        check=False,
    )


def _settings(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.toml"


def _shown_settings(tmp_path: Path) -> dict[str, object]:
    shown = deskctl_in_process(tmp_path, "config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    desks: dict[str, object] = json.loads(shown.stdout)["settings"]["desks"]
    return desks


def _heights(tmp_path: Path) -> str:
    shown = deskctl_in_process(tmp_path, "profile", "show", "default").stdout
    return next(line for line in shown.splitlines() if line.startswith("heights:"))


def _finish(child: pexpect.spawn[str]) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None
    return child.exitstatus


def test_a_first_run_on_the_simulated_desk_by_prompts(tmp_path: Path) -> None:
    child = _spawn(tmp_path, "--simulate")
    child.expect_exact("Connected: the desk is at 75.0 cm.")
    child.expect_exact("Sitting height:")
    child.sendline("")  # Enter: where the desk is now
    child.expect_exact("sit: 75.0 cm")
    child.expect_exact("Standing height:")
    child.sendline("300cm")
    child.expect_exact("300.0 cm is above this desk's highest allowed height of 127.0 cm")
    child.expect_exact("Standing height:")
    child.sendline("70cm")
    child.expect_exact("the stand height (70.0 cm) must be above the sit height (75.0 cm)")
    child.sendline("112cm")
    child.expect_exact("stand: 112.0 cm")
    child.expect_exact(f"Wrote {_settings(tmp_path)} (only you can read it).")
    child.expect_exact("A simulated desk: try deskctl stand")
    assert _finish(child) == 0
    assert stat.S_IMODE(_settings(tmp_path).stat().st_mode) == 0o600
    desk = _shown_settings(tmp_path)["desk"]
    assert isinstance(desk, dict)
    assert (desk["link"], desk["sim"]) == ("sim", "model")
    assert (desk["min_mm"], desk["max_mm"]) == (620, 1270)
    assert _heights(tmp_path) == "heights:  sit 75.0 cm, stand 112.0 cm"
    # it works: the desk goes to the heights just set, and says plainly it is simulated (its
    # motor 10x faster: the move is the point, not its 10 s)
    assert deskctl(tmp_path, "stand", "--time-scale", "10").stdout.strip() == "desk: at 112.0 cm"
    status = deskctl(tmp_path, "status")
    assert status.stdout.strip() == "desk: 112.0 cm, stand (a simulated desk, not a real one)"
    assert json.loads(deskctl(tmp_path, "status", "--json").stdout)["simulated"] is True


def test_a_first_run_on_the_emulated_ble_desk_scans_confirms_and_connects(
    tmp_path: Path,
) -> None:
    child = _spawn(tmp_path, "--sim", "ble", "--timeout", "1.5")
    child.expect_exact("Found Desk 1234 (")
    child.expect_exact("Set up this desk? [Y/n]")
    child.sendline("")
    child.expect_exact("Connected: the desk is at 75.0 cm.")
    child.expect_exact("Sitting height:")
    child.sendline("71cm")
    child.expect_exact("sit: 71.0 cm")
    child.expect_exact("Standing height:")
    child.sendline("")  # where the desk is now: 75 cm, above 71 cm
    child.expect_exact("stand: 75.0 cm")
    child.expect_exact("Wrote ")
    assert _finish(child) == 0
    desk = _shown_settings(tmp_path)["desk"]
    assert isinstance(desk, dict)
    assert (desk["link"], desk["sim"]) == ("sim", "ble")
    assert _heights(tmp_path) == "heights:  sit 71.0 cm, stand 75.0 cm"
    moved = deskctl(tmp_path, "sit", timeout_s=120)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == "desk: at 71.0 cm"


def test_a_first_run_on_an_emulated_jiecang_desk_finds_its_family_and_adapter(
    tmp_path: Path,
) -> None:
    child = _spawn(tmp_path, "--sim", "jiecang:FF12", "--timeout", "1.5", "--no-service")
    child.expect_exact("Found Desk 5678 (Jiecang, FF12 adapter, ")
    child.expect_exact("Set up this desk? [Y/n]")
    child.sendline("y")
    child.expect_exact("Connected: the desk is at 75.0 cm.")
    child.expect_exact("Sitting height:")
    child.sendline("70cm")
    child.expect_exact("sit: 70.0 cm")
    child.expect_exact("Standing height:")
    child.sendline("108cm")
    child.expect_exact("stand: 108.0 cm")
    child.expect_exact("A simulated desk: try deskctl stand")
    assert _finish(child) == 0
    desk = _shown_settings(tmp_path)["desk"]
    assert isinstance(desk, dict)
    assert (desk["link"], desk["sim"], desk["sim_variant"]) == ("sim", "jiecang", "FF12")
    assert _heights(tmp_path) == "heights:  sit 70.0 cm, stand 108.0 cm"
    # the desk written is the simulated Jiecang box: it goes where the profile says
    moved = deskctl(tmp_path, "stand", "--json", timeout_s=120)
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["height_mm"] == 1080
    assert json.loads(deskctl(tmp_path, "status", "--json").stdout)["simulated"] is True


def test_declining_the_only_desk_found_writes_nothing(tmp_path: Path) -> None:
    child = _spawn(tmp_path, "--sim", "ble", "--timeout", "1.5")
    child.expect_exact("Set up this desk? [Y/n]")
    child.sendline("n")
    child.expect_exact("no desk chosen")
    assert _finish(child) == 2
    assert not _settings(tmp_path).exists()


def test_scripts_give_every_answer_as_a_flag(tmp_path: Path) -> None:
    args = ("--simulate", "--name", "office", "--sit", "70cm", "--stand", "115cm",
            "--min", "65cm", "--max", "120cm", "--yes", "--no-service")  # fmt: skip
    done = _init(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert str(_settings(tmp_path)) in done.stdout
    office = _shown_settings(tmp_path)["office"]
    assert isinstance(office, dict)
    assert (office["min_mm"], office["max_mm"]) == (650, 1200)
    assert _heights(tmp_path) == "heights:  sit 70.0 cm, stand 115.0 cm"
    written = _settings(tmp_path).read_text(encoding="utf-8")
    again = deskctl_in_process(tmp_path, "config", "init", *args)  # `config init` is `init`
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "--force" in again.stderr
    assert _settings(tmp_path).read_text(encoding="utf-8") == written
    forced = deskctl(tmp_path, "config", "init", "--force", *args[:7], "--yes", "--no-service")
    assert forced.returncode == 0, forced.stderr
    assert stat.S_IMODE(_settings(tmp_path).stat().st_mode) == 0o600
    office = _shown_settings(tmp_path)["office"]
    assert isinstance(office, dict)
    assert (office["min_mm"], office["max_mm"]) == (620, 1270)


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("--simulate", "--sit", "130cm"), "130.0 cm is above this desk's highest allowed"),
        (("--simulate", "--sit", "80cm", "--stand", "80cm"), "must be above the sit height"),
        (("--simulate", "--min", "100cm", "--max", "90cm"), "--min (100.0 cm) must be below"),
        (("--sim", "radio"), "--sim takes 'model', 'ble', 'jiecang' (or jiecang:FE60"),
        (("--sim", "jiecang:FFFF"), "not 'jiecang:FFFF'"),
        (("--simulate", "--address", "AA:BB:CC:DD:EE:FF"), "--address is for a real desk"),
        (("--simulate", "--name", "my desk"), "'my desk' is not a desk name"),
        (("--simulate", "--stand", "tall"), "--stand: 'tall' is not a height"),
        (("--simulate", "--yes", "--sit", "70cm"), "--yes needs --stand too"),
        (("--simulate",), "the input ended before every question was answered"),
    ],
)
def test_bad_answers_are_one_sentence_and_write_nothing(
    tmp_path: Path, args: tuple[str, ...], sentence: str
) -> None:
    done = _init(tmp_path, *args)
    assert done.returncode == 2, done.stdout
    assert sentence in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Looking for desks" not in done.stdout
    assert not _settings(tmp_path).exists()
    assert not (tmp_path / "config" / "profiles").exists()


def test_several_desks_are_a_numbered_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [FoundDesk("Desk 1234", "C0:00:00:00:00:01", -40),
             FoundDesk("Desk 5678", "C0:00:00:00:00:02", -60)]  # fmt: skip
    replies = iter(["9", "two", "2"])
    asked: list[str] = []

    async def answer(prompt: str, *, default: str | None = None) -> str:
        asked.append(prompt)
        return next(replies)

    monkeypatch.setattr(init_cmds, "_ask", answer)
    answers = init_cmds._Answers("desk", None, None, None, 620, 1270, False, None, 5.0)
    chosen = asyncio.run(init_cmds._pick(found, answers))
    assert chosen.address == "C0:00:00:00:00:02"
    assert len(asked) == 3
    answers.yes = True
    with pytest.raises(InputError, match=r"2 desks found .* choose one with --address"):
        asyncio.run(init_cmds._pick(found, answers))
