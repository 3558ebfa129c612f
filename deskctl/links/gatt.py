"""`GattClient`: the small part of a GATT client that the LINAK link needs.

Design: the LINAK link (`deskctl.links.linak`) speaks the protocol through this interface only, so
the same link code drives a real desk over bleak (`deskctl.links.ble`) and the simulated desk in
process (`deskctl.sim.model_gatt`). Implementations turn their own errors into `LinkError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from deskctl.core.linak import Char

__all__ = ["GattClient"]


class GattClient(Protocol):
    @property
    def is_connected(self) -> bool: ...

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        """Connect; `on_disconnect` is called (once) when the link drops afterwards."""

    async def disconnect(self) -> None: ...

    async def read(self, char: Char) -> bytes: ...

    async def write(self, char: Char, data: bytes) -> None:
        """Write `data` (without response for REFERENCE_INPUT, with response otherwise)."""

    async def subscribe(self, char: Char, callback: Callable[[bytes], None]) -> None:
        """Deliver every notification of `char` to `callback`."""
