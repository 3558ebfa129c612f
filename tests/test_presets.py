"""Presets: named heights of a desk in the settings, `deskctl move NAME`, `preset list`, the
desk's own memory slots (refused politely where a desk has none), and profiles that name a
preset for sit or stand.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from deskctl.clocks.clock import Clock
from deskctl.config.settings import DeskSettings, Settings, load_settings
from deskctl.core.presets import (
    check_slot,
    heights_of_presets,
    looks_like_preset,
    parse_presets,
    preset_mm,
    preset_name_problem,
)
from deskctl.core.profile import parse_profile
from deskctl.errors import ConfigError, DeskctlError, DeskError, InputError
from deskctl.service import assembly
from deskctl.service.commands import Move, Recall, parse_command
from deskctl.service.core import Service
from deskctl.sim.links import SimLink
from tests.cli import deskctl
from tests.service_harness import TZ, Recorded, run_service, sim

SETTINGS = """\
[desks.office]
link = "sim"
[desks.office.presets]
focus = "105cm"
reading = "80cm"
low = 70
"""


@pytest.mark.parametrize("name", ["focus", "reading-2", "deep_work", "a"])
def test_good_preset_names(name: str) -> None:
    assert preset_name_problem(name) is None
    assert looks_like_preset(name)


@pytest.mark.parametrize(
    ("name", "words"),
    [("sit", "is a posture"), ("stand", "is a posture"), ("away", "is a posture"),
     ("Focus", "not a preset name"), ("105cm", "not a preset name"), ("72", "not a preset name"),
     ("two words", "not a preset name"), ("", "not a preset name"), ("x" * 40, "at most 32")],
)  # fmt: skip
def test_names_that_cannot_be_presets_say_why(name: str, words: str) -> None:
    problem = preset_name_problem(name)
    assert problem is not None
    assert words in problem
    assert not looks_like_preset(name)


def test_a_settings_table_becomes_heights_in_its_order() -> None:
    table = {"focus": "105cm", "reading": "800mm", "low": 70, "tall": "43.3in", "mid": 90.5}
    assert parse_presets(table, 620, 1270) == {"focus": 1050, "reading": 800, "low": 700,
                                              "tall": 1100, "mid": 905}  # fmt: skip


@pytest.mark.parametrize(
    ("table", "words"),
    [({"high": "130cm"}, "outside the desk's limits of 62.0 cm to 127.0 cm"),
     ({"low": "50cm"}, "outside the desk's limits"),
     ({"x": "tall"}, "preset 'x': 'tall' is not a height"),
     ({"x": True}, "must be a height"),
     ({"sit": "80cm"}, "is a posture")],
)  # fmt: skip
def test_a_bad_preset_is_one_sentence(table: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_presets(table, 620, 1270)


def test_settings_with_a_bad_preset_name_the_file_and_the_desk(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[desks.office]\n[desks.office.presets]\nhigh = "140cm"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: desks.office: preset 'high' (140.0 cm) lies outside")
    assert "\n" not in message


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"'tall' is not a height, nor a preset of desk 'office' "
                                         r"\(its presets: focus, low\)"):  # fmt: skip
        preset_mm("tall", {"focus": 1050, "low": 700}, "office")
    assert preset_mm("low", {"focus": 1050, "low": 700}, "office") == 700


def test_memory_slots_are_checked_against_what_the_desk_has() -> None:
    assert check_slot(4, 4, "office") == 4
    with pytest.raises(InputError, match="has memory slots 1 to 4, not 5"):
        check_slot(5, 4, "office")
    with pytest.raises(InputError, match="has no memory slots of its own"):
        check_slot(1, 0, "office")


def test_the_control_socket_words_for_presets_release_and_slots() -> None:
    assert parse_command("move", "office", {"preset": "focus"}) == Move("office", preset="focus")
    assert parse_command("preset_recall", None, {"slot": 2}) == Recall(None, 2)
    with pytest.raises(InputError, match="is a posture"):
        parse_command("move", None, {"preset": "sit"})
    with pytest.raises(InputError, match="a memory slot is a whole number"):
        parse_command("preset_save", None, {"slot": "2"})
    assert parse_command("release", None, {"for": "30m"}).duration_s == 1800  # type: ignore[union-attr]
    assert parse_command("release", None, {}).duration_s == 600  # type: ignore[union-attr]


def test_a_profile_may_name_the_desks_presets_for_sit_and_stand() -> None:
    presets = {"focus": 1050, "reading": 800}
    profile = parse_profile({"sit": "reading", "stand": "focus"}, name="mine", source="mine.toml",
                            presets=presets)  # fmt: skip
    assert (profile.sit_mm, profile.stand_mm) == (800, 1050)
    with pytest.raises(ConfigError) as caught:
        parse_profile(
            {"sit": "reading", "stand": "tall"}, name="mine", source="mine.toml", presets=presets
        )
    assert str(caught.value) == (
        "mine.toml: stand: 'tall' is not a height, nor a preset of the desk (its presets: focus, "
        "reading)"
    )
    with pytest.raises(ConfigError, match="'reading' is not a height; write a number"):
        parse_profile({"sit": "reading", "stand": "focus"}, name="mine", source="mine.toml")
    assert heights_of_presets({"sit": "72cm"}, None, "x") == {"sit": "72cm"}


async def _no_slots() -> None:
    from deskctl.clocks.clock import Clock
    from deskctl.sim.links import SimLink

    link = SimLink("office", Clock(), min_mm=620, max_mm=1270, persist=False)
    assert link.memory_slots == 0
    with pytest.raises(DeskError, match="desk 'office' has no memory slots of its own"):
        await link.recall(1)
    with pytest.raises(DeskError, match="has no memory slots"):
        await link.save(1)


def test_a_link_without_memory_slots_refuses_recall_and_save() -> None:
    import asyncio

    asyncio.run(_no_slots())


START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)


def test_the_service_moves_to_a_preset_and_refuses_an_unknown_one() -> None:
    seen: dict[str, object] = {}
    settings = Settings(desks={"desk": DeskSettings(presets={"focus": "105cm"})})

    async def script(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(5)
        answer = await service.call("move", args={"preset": "focus"})
        seen["height_mm"] = answer["height_mm"]
        seen["desk_mm"] = sim(service).model.height_mm
        with pytest.raises(DeskctlError, match="nor a preset of desk 'desk'"):
            await service.call("move", args={"preset": "tall"})
        with pytest.raises(DeskctlError, match="has no memory slots"):
            await service.call("preset_recall", args={"slot": 1})
        seen["status"] = await service.call("status")
        seen["facts"] = service.facts()["desk"].presets

    run_service(START, script, settings=settings)
    assert seen["height_mm"] == 1050
    assert seen["desk_mm"] == 1050
    status = seen["status"]
    assert isinstance(status, dict)
    assert status["memory_slots"] == 0
    assert seen["facts"] == (("focus", 1050),)


def _configured(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SETTINGS)
    return path


def test_preset_list_in_words_and_json(tmp_path: Path) -> None:
    _configured(tmp_path)
    words = deskctl(tmp_path, "preset", "list")
    assert words.returncode == 0, words.stderr
    assert words.stdout.splitlines() == [
        "low      70.0 cm",
        "reading  80.0 cm",
        "focus    105.0 cm",
    ]
    as_json = deskctl(tmp_path, "preset", "list", "--json")
    presets = {"focus": 1050, "reading": 800, "low": 700}
    assert json.loads(as_json.stdout) == {"desk": "office", "presets": presets}


def test_move_to_a_preset_on_the_desk_directly(tmp_path: Path) -> None:
    config = _configured(tmp_path)
    moved = deskctl(
        tmp_path, "move", "focus", "--config", str(config), "--json", "--time-scale", "10"
    )
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["height_mm"] == 1050
    unknown = deskctl(tmp_path, "move", "tall", "--config", str(config))
    assert unknown.returncode == 2
    assert "'tall' is not a height, nor a preset of desk 'office'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_recall_and_save_refuse_politely_on_a_desk_without_slots(tmp_path: Path) -> None:
    config = _configured(tmp_path)
    for args in (("recall", "2"), ("save", "2", "--yes")):
        done = deskctl(tmp_path, "preset", *args, "--config", str(config))
        assert done.returncode == 2
        assert done.stderr == (
            "deskctl: desk 'office' has no memory slots of its own; use named presets.\n"
        )


def test_save_asks_first(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.cli import cli_env

    config = _configured(tmp_path)
    asked = subprocess.run(
        [sys.executable, "-m", "deskctl", "preset", "save", "2", "--config", str(config)],
        input="n\n", capture_output=True, text=True, timeout=60, env=cli_env(tmp_path),
        check=False,
    )  # fmt: skip
    assert asked.returncode == 0
    assert "Overwrite the desk's memory slot 2?" in asked.stdout
    assert "Nothing saved." in asked.stdout


def test_release_without_a_service_says_nothing_holds_the_desk(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "release")
    assert done.returncode == 1
    assert "nothing holds the desk: its phone app can connect now" in done.stderr


class _SlotDesk(SimLink):
    """The simulated desk with four memory slots, as the Jiecang link declares them."""

    memory_slots = 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots: dict[int, int] = {2: 1000, 4: 1400}  # 4: set on the keypad, too high

    def slot_mm(self, slot: int) -> int | None:
        return self.slots.get(slot)

    async def _recall(self, slot: int) -> int:
        return await self._move_to(self.slots[slot], None)

    async def save(self, slot: int) -> None:
        assert self.height_mm is not None
        self.slots[slot] = self.height_mm


def test_the_service_recalls_and_saves_the_desks_memory_slots(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, object] = {}

    def open_link(name: str, desk: DeskSettings, clock: Clock, **_: object) -> SimLink:
        return _SlotDesk(name, clock, min_mm=desk.min_mm, max_mm=desk.max_mm, persist=False)

    monkeypatch.setattr(assembly, "open_link", open_link)

    async def script(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(5)
        seen["status"] = await service.call("status")
        seen["recalled"] = (await service.call("preset_recall", args={"slot": 2}))["height_mm"]
        await service.call("move", args={"height_mm": 1100})
        await service.call("preset_save", args={"slot": 3})
        link = service.desks["desk"].link
        assert isinstance(link, _SlotDesk)
        seen["slots"] = dict(link.slots)
        with pytest.raises(DeskctlError, match="has memory slots 1 to 4, not 5"):
            await service.call("preset_recall", args={"slot": 5})
        with pytest.raises(DeskctlError, match="above this desk's highest allowed height"):
            await service.call("preset_recall", args={"slot": 4})  # beyond the limits: refused
        with pytest.raises(DeskctlError, match="has not said what height slot 1 holds"):
            await service.call("preset_recall", args={"slot": 1})
        seen["after_mm"] = link.model.height_mm

    run_service(START, script)
    status = seen["status"]
    assert isinstance(status, dict)
    assert status["memory_slots"] == 4
    assert seen["recalled"] == 1000
    assert seen["slots"] == {2: 1000, 3: 1100, 4: 1400}
    assert seen["after_mm"] == 1100, "a slot beyond the limits moved nothing"
