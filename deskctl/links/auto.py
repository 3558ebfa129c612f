"""`FamilyLink`: a Bluetooth desk whose family (LINAK or Jiecang) is read from it on connect.

Design: with `protocol = "auto"` (the default for `link = "ble"`) the settings do not say which
protocol the desk speaks. On the first `connect` the link connects once to look at the GATT
database (`BleakPipeGatt.services()`: LINAK's control service, or one of the four Jiecang
adapters, `find_variant`) and builds the family's own link (`LinakLink` or `JiecangLink`) on the
same connection (its GATT client `adopt`s it), through which everything else goes; the family is
kept for reconnects. Its events
are passed on as they come; its limits and safety rules are its own (the base class's gate runs
in both). A database of neither family is a `LinkError` in one sentence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskctl.core.jiecang import DisplayUnit, find_variant
from deskctl.core.linak import SERVICE_CONTROL
from deskctl.errors import LinkError
from deskctl.links.base import DeskLink, LinkEvent, Progress

if TYPE_CHECKING:
    from deskctl.clocks.clock import Clock
    from deskctl.links.ble import BleakPipeGatt

__all__ = ["FamilyLink", "family_of"]


def family_of(services: dict[str, list[str]]) -> str | None:
    """ "jiecang" or "linak" by the GATT database, else None."""
    if find_variant(services) is not None:
        return "jiecang"
    if SERVICE_CONTROL in {s.lower() for s in services}:
        return "linak"
    return None


class FamilyLink(DeskLink):
    """A BLE desk of either family; see the module docstring."""

    model_name = "Desk over Bluetooth LE"  # the maker is known once the family is

    def __init__(
        self,
        name: str,
        address: str,
        clock: Clock,
        *,
        min_mm: int,
        max_mm: int,
        timeout_s: float = 20.0,
        pair: bool = False,
        calibration_mm: int = 0,
        unit: DisplayUnit | None = None,
        backend: type | None = None,
    ) -> None:
        super().__init__(name, clock, min_mm=min_mm, max_mm=max_mm)
        self.address = address
        self._options = (timeout_s, pair, calibration_mm, unit, backend)
        self.family: str | None = None
        self.inner: DeskLink | None = None

    @property
    def height_mm(self) -> int | None:
        return self.inner.height_mm if self.inner is not None else None

    @property
    def moving(self) -> bool:
        return self.inner is not None and self.inner.moving

    @property
    def connected(self) -> bool:
        return self.inner is not None and self.inner.connected

    async def _detect(self) -> tuple[str, BleakPipeGatt]:
        from deskctl.links.ble import BleakPipeGatt

        timeout_s, pair, _, _, backend = self._options
        peer = BleakPipeGatt(self.address, timeout_s=timeout_s, pair=pair, backend=backend)
        await peer.connect(lambda: None)
        try:
            family = family_of(peer.services())
        except LinkError:
            await peer.disconnect()
            raise
        if family is None:
            await peer.disconnect()
            raise LinkError(
                f"the device at {self.address} is neither a LINAK desk nor a Jiecang desk (it "
                "serves neither family's services): check the address with `deskctl scan`, or "
                'set protocol = "linak" or "jiecang" for it'
            )
        return family, peer

    def _build(self, family: str, peer: BleakPipeGatt) -> DeskLink:
        from deskctl.links.ble import BleakGattClient, BleakPipeGatt
        from deskctl.links.jiecang import JiecangLink
        from deskctl.links.linak import LinakLink

        timeout_s, pair, calibration_mm, unit, backend = self._options
        low, high = self.min_mm, self.max_mm
        if family == "jiecang":
            pipe = BleakPipeGatt(self.address, timeout_s=timeout_s, pair=pair, backend=backend)
            pipe.adopt(peer)
            return JiecangLink(self.name, pipe, self.clock, min_mm=low, max_mm=high, unit=unit)
        gatt = BleakGattClient(self.address, timeout_s=timeout_s, pair=pair, backend=backend)
        gatt.adopt(peer)
        return LinakLink(
            self.name, gatt, self.clock, min_mm=low, max_mm=high, calibration_mm=calibration_mm
        )

    async def connect(self) -> None:
        if self.inner is None:
            self.family, peer = await self._detect()
            self.inner = self._build(self.family, peer)
            self.maker, self.model_name = self.inner.maker, self.inner.model_name
            self.inner.subscribe(self._pass_on)
        await self.inner.connect()

    def _pass_on(self, event: LinkEvent) -> None:
        self._emit(event)

    async def close(self) -> None:
        if self.inner is not None:
            await self.inner.close()

    async def _move_to(self, target_mm: int, progress: Progress | None) -> int:
        if self.inner is None:
            raise LinkError(f"desk {self.name!r} is not connected")
        return await self.inner.move_to(target_mm, progress)

    async def stop(self) -> None:
        if self.inner is None:
            raise LinkError(f"desk {self.name!r} is not connected")
        await self.inner.stop()
