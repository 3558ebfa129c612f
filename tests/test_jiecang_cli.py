"""Where a Jiecang desk appears: `--sim jiecang` for desk commands and `run`, `scan` with the
family and the variant, the settings' `protocol` and `display_unit`, and the family read from the
desk on connect (`protocol = "auto"`) over the real bleak client on the virtual radio."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deskctl.clocks.clock import Clock
from deskctl.config.settings import DeskSettings, sim_choice
from deskctl.errors import InputError, LinkError
from deskctl.links.auto import FamilyLink
from deskctl.links.jiecang import JiecangLink
from deskctl.links.linak import LinakLink
from deskctl.service.assembly import open_link
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.jiecang_emulator import EmulatedJiecangDesk
from deskctl.sim.jiecang_links import SimJiecangLink, variant_named
from deskctl.sim.physics import IDEAL
from deskctl.testing.virtual_time import run_virtual
from tests.cli import deskctl


def test_move_110cm_on_the_simulated_jiecang_desk_lands_within_1_mm(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "move", "110cm", "--sim", "jiecang", "--json", "--time-scale", "10")
    assert done.returncode == 0, done.stderr
    assert abs(json.loads(done.stdout)["height_mm"] - 1100) <= 1
    status = deskctl(tmp_path, "status", "--sim", "jiecang:FF12", "--json")
    assert status.returncode == 0, status.stderr
    assert abs(json.loads(status.stdout)["height_mm"] - 1100) <= 1, "the height is remembered"


def test_status_of_the_desk_itself_shows_its_memory_slots(tmp_path: Path) -> None:
    jiecang = deskctl(tmp_path, "status", "--sim", "jiecang", "--json")
    assert jiecang.returncode == 0, jiecang.stderr
    assert json.loads(jiecang.stdout)["memory_slots"] == 4  # a Jiecang box keeps four
    linak = deskctl(tmp_path, "status", "--simulate", "--json")
    assert json.loads(linak.stdout)["memory_slots"] == 0  # LINAK's are not known: none


def test_scan_lists_the_jiecang_desk_with_its_family_and_variant(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "scan", "--sim", "jiecang:00FF", "--timeout", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "address": "C0:DE:5C:00:00:01",
            "family": "jiecang",
            "name": "Desk 5678",
            "rssi": -50,
            "variant": "00FF",
        }
    ]
    text = deskctl(tmp_path, "scan", "--sim", "jiecang", "--timeout", "1")
    assert "jiecang FE60" in text.stdout


def test_a_bad_sim_word_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "move", "80cm", "--sim", "jiecang:FFFF")
    assert done.returncode == 2
    assert "jiecang:FF12" in done.stderr
    assert "Traceback" not in done.stderr
    run = deskctl(tmp_path, "run", "--sim", "linak")
    assert run.returncode == 2


def test_sim_choice_reads_the_kind_and_the_variant() -> None:
    assert sim_choice("jiecang") == {"sim": "jiecang"}
    assert sim_choice("jiecang:ff00") == {"sim": "jiecang", "sim_variant": "FF00"}
    assert sim_choice("ble") == {"sim": "ble"}
    with pytest.raises(InputError):
        sim_choice("ble:FF00")


def test_settings_pick_the_link_by_protocol() -> None:
    def link_for(**fields: object) -> object:
        return open_link("d", DeskSettings.model_validate(fields), Clock())

    ble = {"link": "ble", "address": "C2:4B:1D:00:12:34", "min_mm": 650, "max_mm": 1250}
    assert isinstance(link_for(**ble), FamilyLink)
    assert isinstance(link_for(**ble, protocol="linak"), LinakLink)
    jiecang = link_for(**ble, protocol="jiecang", display_unit="in")
    assert isinstance(jiecang, JiecangLink)
    assert jiecang.unit_setting is not None
    assert jiecang.unit_setting.value == "in"
    sim = link_for(link="sim", sim="jiecang", sim_variant="FF12")
    assert isinstance(sim, SimJiecangLink)
    assert sim.sim_gatt.variant == variant_named("FF12")


def test_a_bad_protocol_is_refused_when_the_settings_load() -> None:
    with pytest.raises(ValueError, match="protocol"):
        DeskSettings.model_validate({"link": "ble", "address": "x", "protocol": "timotion"})


@pytest.mark.parametrize("family", ["linak", "jiecang"])
def test_the_family_is_read_from_the_desk_on_connect(family: str) -> None:
    async def main() -> None:
        radio = BumbleRadio()
        desk: EmulatedDesk | EmulatedJiecangDesk
        if family == "linak":
            desk = EmulatedDesk(radio, DeskModel(physics=IDEAL), clock=Clock())
        else:
            desk = EmulatedJiecangDesk(radio, variant=variant_named("FF00"), clock=Clock())
        async with desk:
            link = FamilyLink(
                "d",
                desk.address,
                Clock(),
                min_mm=650,
                max_mm=1250,
                timeout_s=5.0,
                backend=radio.client_backend,
            )
            async with link:
                assert link.family == family
                assert link.maker == ("LINAK" if family == "linak" else "Jiecang")
                assert link.connected
                await link.move_to(1000)
                assert link.height_mm is not None
                assert abs(link.height_mm - 1000) <= 2
        await radio.close()

    run_virtual(main())


def test_a_device_of_neither_family_is_said_in_one_sentence() -> None:
    async def main() -> None:
        radio = BumbleRadio()
        link = FamilyLink(
            "d", "C0:DE:5C:00:00:09", Clock(), min_mm=650, max_mm=1250, timeout_s=1.0,
            backend=radio.client_backend,
        )  # fmt: skip
        with pytest.raises(LinkError, match=r"no desk answered|could not be reached"):
            await link.connect()
        await radio.close()

    run_virtual(main())
