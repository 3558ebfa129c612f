"""An emulated Jiecang desk on Bumble: a BLE adapter that pipes bytes to a simulated box.

Design: `EmulatedJiecangDesk` is one `Peripheral` (`sim/peripheral.py`) on a `BumbleRadio`. Its
GATT server is one of the four adapters (`deskctl.core.jiecang.VARIANTS`): a service with a write
characteristic (write, write without response) and a notify characteristic; the FF12 adapter also
serves its configuration characteristics (pair code, baud rate, reset: read and write), whose
writes are recorded in `config_writes` and obeyed never. Bytes written to the pipe go to a pure
`JiecangModel`; the frames it reports are notified, one per notification, after the radio's
delay (`Radio`: the next connection event). It advertises its name and the variant's 16-bit
service UUID, or `advertise_as` (one adapter advertises 00FF and serves FF00).

Faults (a seeded `random.Random`, so a run repeats): `lose` (the chance a notification is lost),
`merge` (frames of one step in one notification), `split` (a frame cut in two), `corrupt` (the
chance a frame's checksum is wrong), and by the model: `model.error(code)` (E01, H01, LOCK),
`model.locked`, `model.collision_mm`, `press()`; `drop_link()` cuts the connection.
"""

from __future__ import annotations

import random

from bumble import gatt
from bumble.core import UUID, AdvertisingData

from deskctl.clocks.clock import Clock
from deskctl.core.jiecang import VARIANTS, Variant
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.jiecang_gatt import CONFIG_CHARS
from deskctl.sim.jiecang_model import JiecangModel
from deskctl.sim.peripheral import Peripheral
from deskctl.sim.physics import NO_RADIO, Radio, RadioLink

__all__ = ["EmulatedJiecangDesk"]

_P = gatt.Characteristic.Properties
_LEGACY_ADVERTISEMENT_BYTES = 31


def _short(uuid: str) -> int:
    return int(uuid[4:8], 16)


class EmulatedJiecangDesk(Peripheral):
    """A Jiecang desk on a virtual radio; see the module docstring."""

    def __init__(
        self,
        radio: BumbleRadio,
        model: JiecangModel | None = None,
        *,
        variant: Variant = VARIANTS[0],
        advertise_as: Variant | None = None,
        name: str = "Desk 5678",
        address: str | None = None,
        clock: Clock | None = None,
        step_s: float = 0.05,
        radio_timing: Radio = NO_RADIO,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(radio, name=name, address=address, clock=clock, step_s=step_s)
        self.model = model if model is not None else JiecangModel()
        self.variant = variant
        self.advertise_as = advertise_as or variant
        self._rng = rng if rng is not None else random.Random(0)  # noqa: S311 - a simulation
        self.link_timing = RadioLink(radio_timing, self._rng)
        self.lose = 0.0
        self.merge = False
        self.split = False
        self.corrupt = 0.0
        self.config_writes: list[tuple[str, bytes]] = []
        self.notified: list[bytes] = []
        self._pipe_out: gatt.Characteristic[bytes] | None = None

    def press(self, direction: int) -> None:
        """A hand on the paddle: +1 up, -1 down, 0 release."""
        self.model.press(direction)
        self.wake()

    # -- GATT server ----------------------------------------------------------------------------
    def _services(self) -> list[gatt.Service]:
        variant = self.variant
        pipe_in = gatt.Characteristic[bytes](
            variant.write,
            _P.WRITE | _P.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue[bytes](write=lambda connection, data: self._on_pipe(data)),
        )
        pipe_out = gatt.Characteristic[bytes](
            variant.notify, _P.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self._pipe_out = pipe_out
        chars: list[gatt.Characteristic[bytes]] = [pipe_in, pipe_out]
        if variant.name == "FF12":
            for uuid in CONFIG_CHARS:
                chars.append(
                    gatt.Characteristic[bytes](
                        uuid,
                        _P.READ | _P.WRITE,
                        gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
                        gatt.CharacteristicValue[bytes](
                            read=lambda connection: b"\x00",
                            write=lambda connection, data, uuid=uuid: self._on_config(uuid, data),
                        ),
                    )
                )
        return [gatt.Service(variant.service, chars)]

    def _advertisement(self) -> bytes:
        service = UUID.from_16_bits(_short(self.advertise_as.service))
        uuids = (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, service.to_bytes())
        room = _LEGACY_ADVERTISEMENT_BYTES - (2 + 2) - 2
        encoded = self.name.encode("utf-8")[:room]
        return bytes(AdvertisingData([uuids, (AdvertisingData.COMPLETE_LOCAL_NAME, encoded)]))

    def _on_config(self, uuid: str, data: bytes) -> None:
        self.config_writes.append((uuid, bytes(data)))

    async def _on_pipe(self, data: bytes) -> None:
        await self._step(self._elapsed())  # the box takes the command now
        self.model.write(bytes(data))
        self.wake()

    # -- the box --------------------------------------------------------------------------------
    def _active(self) -> bool:
        return self.model.active

    async def _step(self, dt_s: float) -> None:
        frames = self.model.advance(dt_s)
        if not frames or self._pipe_out is None or not self.connected:
            return
        for data in self._cut(frames):
            if self.lose and self._rng.random() < self.lose:
                continue
            if self.link_timing.interval_s > 0:
                now_s = self.clock.monotonic()
                await self.clock.sleep(self.link_timing.next_event_s(now_s) - now_s)
            if self.link_timing.lost():
                continue
            self.notified.append(data)
            await self.notify(self._pipe_out, data)

    def _cut(self, frames: list[bytes]) -> list[bytes]:
        if self.corrupt:
            frames = [self._maybe_corrupt(f) for f in frames]
        if self.merge:
            frames = [b"".join(frames)]
        if self.split:
            frames = [part for f in frames for part in (f[: len(f) // 2], f[len(f) // 2 :]) if part]
        return frames

    def _maybe_corrupt(self, frame: bytes) -> bytes:
        if self._rng.random() >= self.corrupt:
            return frame
        broken = bytearray(frame)
        broken[-2] ^= 0x5A
        return bytes(broken)
