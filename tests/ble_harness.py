"""The real LINAK link over the real `bleak.BleakClient`, against the emulated desk on Bumble.

`on_radio(body, model)` builds one virtual radio, puts the emulated desk (`model`, default a
DeskModel at 750 mm) on it, gives `body` a `LinakLink` through a `BleakGattClient` on that radio
(not yet connected) and the desk, and runs it all on virtual time; the link and the radio are
closed afterwards. A body that scans uses `desk.radio.scanner_backend`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from deskctl.clocks.clock import Clock
from deskctl.links.ble import BleakGattClient
from deskctl.links.linak import LinakLink
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.testing.virtual_time import run_virtual

Body = Callable[[LinakLink, EmulatedDesk], Awaitable[None]]


def on_radio(body: Body, model: DeskModel | None = None) -> None:
    async def main() -> None:
        clock = Clock()
        radio = BumbleRadio()
        desk = EmulatedDesk(radio, model or DeskModel(height_mm=750), clock=clock)
        async with desk:
            gatt = BleakGattClient(desk.address, timeout_s=5, backend=radio.client_backend)
            link = LinakLink("desk", gatt, clock)
            try:
                await body(link, desk)
            finally:
                await link.close()
        await radio.close()

    run_virtual(main())
