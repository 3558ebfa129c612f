"""Build the right `DeskLink` for a configured desk (imports each link's libraries lazily)."""

from __future__ import annotations

from deskctl.clock import Clock
from deskctl.errors import ConfigError
from deskctl.links.base import DeskLink
from deskctl.settings import DeskSettings, MqttSettings

__all__ = ["open_link"]


def open_link(
    name: str, desk: DeskSettings, clock: Clock, *, broker: MqttSettings | None = None
) -> DeskLink:
    """A link for desk `name`; not yet connected (use `async with`).

    `broker` is `Settings.mqtt`, for desks with link = "mqtt"; without one they use a broker on
    localhost:1883.
    """
    if desk.link == "sim" and desk.sim == "model":
        from deskctl.links.sim import SimLink

        return SimLink(name, clock, min_mm=desk.min_mm, max_mm=desk.max_mm)
    if desk.link == "sim":
        from deskctl.links.sim import SimBleLink

        return SimBleLink(name, clock, min_mm=desk.min_mm, max_mm=desk.max_mm)
    if desk.link == "ble" and desk.address:
        from deskctl.links.ble import BleakGattClient
        from deskctl.links.linak import LinakLink

        gatt = BleakGattClient(desk.address, timeout_s=desk.connect_timeout_s, pair=desk.pair)
        return LinakLink(
            name,
            gatt,
            clock,
            min_mm=desk.min_mm,
            max_mm=desk.max_mm,
            calibration_mm=desk.calibration_mm,
        )
    if desk.link == "mqtt" and desk.mqtt is not None:
        from deskctl.links.mqtt_desk import MqttDeskLink

        return MqttDeskLink(
            name, broker or MqttSettings(), desk.mqtt, clock, min_mm=desk.min_mm, max_mm=desk.max_mm
        )
    raise ConfigError(f"desk {name!r}: link {desk.link!r} is not available in this version")
