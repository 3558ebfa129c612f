"""The simulated Jiecang desk as a link: the real `JiecangLink` over the in-process box.

Design: `--sim jiecang` must exercise the same code a real desk does, so the simulated link is
the Jiecang link on a `ModelPipeGatt` over a `JiecangModel` with realistic physics (a seeded
random, so a run can be repeated). Between CLI runs it keeps its height in the state dir
(`sim-<desk>.json`, as the LINAK simulation does). The variant, the display unit and whether
the box knows 1B are choices (`variant`, `unit`, `move_to`).
"""

from __future__ import annotations

import random

from deskctl.clocks.clock import Clock
from deskctl.core.jiecang import VARIANTS, DisplayUnit, Variant
from deskctl.links.jiecang import JiecangLink
from deskctl.sim.fast_clock import protocol_clock
from deskctl.sim.height_file import load_height_mm, save_height_mm
from deskctl.sim.jiecang_gatt import ModelPipeGatt
from deskctl.sim.jiecang_model import JiecangModel
from deskctl.sim.physics import REALISTIC, Physics

__all__ = ["SimJiecangBleLink", "SimJiecangLink", "variant_named"]

_START_MM = 750
BOX_MIN_MM, BOX_MAX_MM = 650, 1300


def variant_named(name: str) -> Variant:
    """One of the four GATT variants by its service's hex name (FE60, FF12, FF00, 00FF)."""
    for variant in VARIANTS:
        if variant.name.lower() == name.lower():
            return variant
    known = ", ".join(v.name for v in VARIANTS)
    raise ValueError(f"a Jiecang adapter is one of {known}, not {name!r}")


class SimJiecangLink(JiecangLink):
    """A Jiecang link to a simulated box whose height persists between runs."""

    simulated = True
    maker = "deskctl"
    model_name = "Simulated Jiecang desk"

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        min_mm: int,
        max_mm: int,
        persist: bool = True,
        height_mm: int | None = None,
        variant: Variant = VARIANTS[0],
        unit: DisplayUnit = DisplayUnit.CM,
        move_to: bool = True,
        physics: Physics = REALISTIC,
        seed: int | None = None,
        unit_setting: DisplayUnit | None = None,
    ) -> None:
        self._persist = persist
        if height_mm is None:
            height_mm = (
                load_height_mm(name, _START_MM, BOX_MIN_MM, BOX_MAX_MM) if persist else _START_MM
            )
        rng = random.Random(seed)  # noqa: S311 - a simulation
        self.model = JiecangModel(
            height_mm=height_mm,
            min_mm=BOX_MIN_MM,
            max_mm=BOX_MAX_MM,
            unit=unit,
            move_to=move_to,
            sleep_after_s=60.0,
            physics=physics,
            rng=rng,
        )
        clock = protocol_clock(clock, self.model.motor)
        self.sim_gatt = ModelPipeGatt(self.model, clock, variant=variant)
        super().__init__(
            name, self.sim_gatt, clock, min_mm=min_mm, max_mm=max_mm, unit=unit_setting
        )

    async def close(self) -> None:
        await super().close()
        if self._persist:
            save_height_mm(self.name, self.model.height_mm)


class SimJiecangBleLink(JiecangLink):
    """The Jiecang link over bleak and Bumble's virtual radio to an emulated desk
    (`--sim jiecang` with the radio): the real bleak client and GATT bytes, no hardware. The
    emulated desk starts with the link and stops with it."""

    simulated = True
    maker = "deskctl"
    model_name = "Emulated Jiecang desk over Bluetooth LE"

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        min_mm: int,
        max_mm: int,
        height_mm: int = _START_MM,
        variant: Variant = VARIANTS[0],
        advertise_as: Variant | None = None,
        unit: DisplayUnit = DisplayUnit.CM,
        move_to: bool = True,
        physics: Physics = REALISTIC,
        seed: int | None = None,
        unit_setting: DisplayUnit | None = None,
    ) -> None:
        from deskctl.links.ble import BleakPipeGatt
        from deskctl.sim.bleak_bumble import BumbleRadio
        from deskctl.sim.jiecang_emulator import EmulatedJiecangDesk

        rng = random.Random(seed)  # noqa: S311 - a simulation
        self.model = JiecangModel(
            height_mm=height_mm,
            min_mm=BOX_MIN_MM,
            max_mm=BOX_MAX_MM,
            unit=unit,
            move_to=move_to,
            sleep_after_s=60.0,
            physics=physics,
            rng=rng,
        )
        clock = protocol_clock(clock, self.model.motor)
        self.radio = BumbleRadio()
        self.desk = EmulatedJiecangDesk(
            self.radio, self.model, variant=variant, advertise_as=advertise_as, clock=clock, rng=rng
        )
        gatt = BleakPipeGatt(self.desk.address, timeout_s=10.0, backend=self.radio.client_backend)
        super().__init__(name, gatt, clock, min_mm=min_mm, max_mm=max_mm, unit=unit_setting)

    async def connect(self) -> None:
        await self.desk.start()
        await super().connect()

    async def close(self) -> None:
        await super().close()
        await self.desk.stop()
        await self.radio.close()
