"""The small parts of a GATT client that the desk links need: `GattClient` and `PipeGatt`.

Design: a link speaks its protocol through one of these only, so the same link code drives a real
desk over bleak (`deskctl.links.ble`) and a simulated one in process. Implementations turn their
own errors into `LinkError`.
- `GattClient` (LINAK, `deskctl.links.linak`) is keyed by LINAK's `Char`; in process:
  `deskctl.sim.model_gatt`.
- `PipeGatt` is for desks whose adapter is a byte pipe to the control box (Jiecang,
  `deskctl.links.jiecang`): keyed by UUID strings (128-bit, lowercase), it lists what the desk
  serves (`services()`: service UUID to its characteristic UUIDs, known after connecting), writes
  (without response unless asked) and subscribes; in process: `deskctl.sim.jiecang_gatt`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from deskctl.core.linak import Char

__all__ = ["GattClient", "PipeGatt"]


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


class PipeGatt(Protocol):
    @property
    def is_connected(self) -> bool: ...

    async def connect(self, on_disconnect: Callable[[], None]) -> None:
        """Connect; `on_disconnect` is called (once) when the link drops afterwards."""

    async def disconnect(self) -> None: ...

    def services(self) -> dict[str, list[str]]:
        """What the connected desk serves: each service's UUID and its characteristics' UUIDs."""
        ...

    async def write(self, uuid: str, data: bytes, *, response: bool = False) -> None:
        """Write `data` to characteristic `uuid` (without response unless `response`)."""

    async def subscribe(self, uuid: str, callback: Callable[[bytes], None]) -> None:
        """Deliver every notification of characteristic `uuid` to `callback`."""
