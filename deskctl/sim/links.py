"""The simulated desk as a link: the real `LinakLink` over the in-process desk model.

Design: `--simulate` must exercise the same code a real desk does, so the simulated link is the
LINAK link on a `ModelGattClient`. Between CLI runs the simulated desk keeps its height in the
state dir (`sim-<desk>.json`), so `deskctl status --simulate` after a move shows where it went.
On a sped-up clock (`--time-scale 60`) the link and the desk keep a slower one and the motor
runs faster (`fast_clock`); over the radio (`--sim ble`) the radio keeps pace with that clock.
"""

from __future__ import annotations

import zlib

from deskctl.clocks.clock import Clock
from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM
from deskctl.links.linak import LinakLink
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.fast_clock import protocol_clock
from deskctl.sim.height_file import load_height_mm, save_height_mm
from deskctl.sim.model_gatt import ModelGattClient
from deskctl.sim.physics import RADIO, REALISTIC, Physics, Radio, seeded

__all__ = ["SimBleLink", "SimLink"]

_START_MM = 750


class SimLink(LinakLink):
    """A LINAK link to a simulated desk whose height persists between runs."""

    simulated = True
    maker = "deskctl"
    model_name = "Simulated LINAK desk"

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        min_mm: int,
        max_mm: int,
        persist: bool = True,
        height_mm: int | None = None,
        physics: Physics = REALISTIC,
        radio: Radio = RADIO,
        seed: int | None = None,
    ) -> None:
        self._persist = persist
        if height_mm is None:
            height_mm = (
                load_height_mm(name, _START_MM, DEFAULT_BASE_MM, DEFAULT_TOP_MM)
                if persist
                else _START_MM
            )
        # the same desk every run: its randomness is seeded from its name unless a seed is given
        rng = seeded(zlib.crc32(name.encode("utf-8")) if seed is None else seed)
        self.model = DeskModel(height_mm=height_mm, physics=physics, rng=rng)
        clock = protocol_clock(clock, self.model)
        self.sim_gatt = ModelGattClient(self.model, clock, radio=radio, rng=rng)
        super().__init__(name, self.sim_gatt, clock, min_mm=min_mm, max_mm=max_mm)

    async def close(self) -> None:
        await super().close()
        if self._persist:
            save_height_mm(self.name, self.model.height_mm)


class SimBleLink(LinakLink):
    """The LINAK link over bleak and Bumble's virtual radio to an emulated desk (`--sim ble`).

    The real bleak client, the real GATT bytes, no Bluetooth hardware: the emulated desk starts
    with the link and stops with it.
    """

    simulated = True
    maker = "deskctl"
    model_name = "Emulated LINAK desk over Bluetooth LE"

    def __init__(
        self, name: str, clock: Clock, *, min_mm: int, max_mm: int, height_mm: int = _START_MM
    ) -> None:
        from deskctl.links.ble import BleakGattClient
        from deskctl.sim.ble_emulator import EmulatedDesk
        from deskctl.sim.bleak_bumble import BumbleRadio

        rng = seeded(zlib.crc32(name.encode("utf-8")))
        model = DeskModel(height_mm=height_mm, physics=REALISTIC, rng=rng)
        clock = protocol_clock(clock, model)
        # the radio keeps pace with that clock: at 1x a connection interval is 15–50 ms, and on
        # a sped-up clock as many of its seconds (in real time its waits would queue the
        # target's renewals past the desk's hold, and the desk would stop short)
        self.radio = BumbleRadio(radio=RADIO.sped_up(clock.scale), rng=rng)
        self.desk = EmulatedDesk(self.radio, model, clock=clock)
        gatt = BleakGattClient(self.desk.address, timeout_s=10.0, backend=self.radio.client_backend)
        super().__init__(name, gatt, clock, min_mm=min_mm, max_mm=max_mm)

    async def connect(self) -> None:
        await self.desk.start()
        await super().connect()

    async def close(self) -> None:
        await super().close()
        await self.desk.stop()
        await self.radio.close()


class SimProxyLink(LinakLink):
    """The LINAK link through an emulated ESPHome Bluetooth proxy (`--sim proxy`).

    The emulated desk on the virtual radio, the emulated proxy in front of it on a loopback TCP
    port (its native API, plaintext or with `key` noise-encrypted), and the real link over bleak
    with bleak-esphome's backend: everything a desk behind a real proxy goes through but the air
    and the Wi-Fi. The desk and the proxy start with the link and stop with it.
    """

    simulated = True
    maker = "deskctl"
    model_name = "Emulated LINAK desk behind an ESPHome Bluetooth proxy"

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        min_mm: int,
        max_mm: int,
        height_mm: int = _START_MM,
        key: str | None = None,
        slots: int = 3,
        taken: int = 0,
    ) -> None:
        from deskctl.links.ble import BleakGattClient
        from deskctl.links.esphome_proxy import ProxyTarget, load_libraries, proxy_backends
        from deskctl.sim.ble_emulator import EmulatedDesk
        from deskctl.sim.bleak_bumble import BumbleRadio
        from deskctl.sim.esphome_proxy import EmulatedProxy

        rng = seeded(zlib.crc32(name.encode("utf-8")))
        model = DeskModel(height_mm=height_mm, physics=REALISTIC, rng=rng)
        clock = protocol_clock(clock, model)
        self.radio = BumbleRadio(radio=RADIO.sped_up(clock.scale), rng=rng)
        self.desk = EmulatedDesk(self.radio, model, clock=clock)
        self.proxy = EmulatedProxy(self.radio, key=key, slots=slots, taken=taken)
        self._key = key
        gatt = BleakGattClient(self.desk.address, timeout_s=10.0)
        super().__init__(name, gatt, clock, min_mm=min_mm, max_mm=max_mm)
        self._gatt_client = gatt
        self._backends = (ProxyTarget, proxy_backends)
        load_libraries()

    async def connect(self) -> None:
        target_type, backends = self._backends
        await self.desk.start()
        await self.proxy.start()
        target = target_type("127.0.0.1", self.proxy.port, self._key)
        self._gatt_client.backend = backends(target)[0]
        await super().connect()

    async def close(self) -> None:
        await super().close()
        await self.proxy.stop()
        await self.desk.stop()
        await self.radio.close()
