"""The composition root: a `Service` with every configured desk, its link and its event sinks.

Design: `build_service` turns the settings into a service (every configured desk, or one
simulated desk with `simulate`), choosing each desk's link with `open_link` (the link's libraries
are imported lazily, so a BLE-less machine never loads bleak) and wiring the history and notifier
sinks it is given. It sits above the adapters (it wires them in) and below the CLI, so `deskctl
run`, the tests and the benches build the service the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from deskctl.clocks.clock import Clock
from deskctl.config.cue_library import load_cues
from deskctl.config.profile_library import service_profile
from deskctl.config.settings import (
    DEFAULT_DESK,
    DeskSettings,
    MqttSettings,
    Settings,
    sim_choice,
)
from deskctl.errors import ConfigError
from deskctl.links.base import DeskLink
from deskctl.service.core import Service
from deskctl.service.desk import DeskRunner
from deskctl.service.events import HistorySink, NoticeSink

if TYPE_CHECKING:
    from pathlib import Path

    from deskctl.adapters.history_store import Store
    from deskctl.adapters.notify import Notifiers
    from deskctl.core.jiecang import DisplayUnit
    from deskctl.core.profile import Profile
    from deskctl.service.core import Companion, Subscriber

__all__ = ["build_companions", "build_service", "open_link", "simulated_start"]


def simulated_start(profile: Profile, today: datetime, tz: tzinfo) -> datetime:
    """Just before the first working range of today, or of the next working day."""
    from deskctl.core.planner import working_spans

    for offset in range(8):
        day = today.astimezone(tz).date() + timedelta(days=offset)
        spans = working_spans(profile, day, tz)
        if spans:
            return spans[0][0] - timedelta(seconds=profile.warn_s + 10)
    return today


def build_service(
    settings: object,
    tz: tzinfo,
    *,
    simulate: bool,
    time_scale: float,
    start_at: datetime | None,
    sim: str = "model",
    store: Store | None = None,
    notifiers: Notifiers | None = None,
) -> Service:
    """The service with every desk added (links not yet connected)."""
    if not isinstance(settings, Settings):  # pragma: no cover - typed callers only
        raise TypeError("settings")
    desks = dict(settings.desks)
    if simulate:
        desks = desks or {DEFAULT_DESK: DeskSettings()}
        update = {"link": "sim", **sim_choice(sim)}
        desks = {n: d.model_copy(update=update) for n, d in desks.items()}
    if not desks:
        from deskctl.config.settings import settings_path

        raise ConfigError(
            f"no desk is configured; add one to {settings_path()} or run with --simulate"
        )
    profiles = {
        name: service_profile(name, desk.profile, desk.preset_heights)
        for name, desk in desks.items()
    }
    if simulate:
        first = next(iter(profiles.values()))
        wall = datetime.now(tz)
        clock = Clock(scale=time_scale, start=start_at or simulated_start(first, wall, tz), tz=tz)
    else:
        clock = Clock(tz=tz)
    sinks: list[Subscriber] = []
    if notifiers is not None:
        sinks.append(NoticeSink(notifiers))
    if store is not None:
        sinks.append(HistorySink(store))
    service = Service(clock, sinks=sinks, store=store)
    cues = load_cues()
    for name, desk in desks.items():
        link = open_link(name, desk, clock, broker=settings.mqtt)
        runner = DeskRunner(
            name,
            link,
            profiles[name],
            clock=clock,
            tz=tz,
            cues=cues,
            emit=service.publish,
            post=service.post,
            presets=desk.preset_heights,
        )
        runner.scheduler.break_after_s = settings.presence.break_after_s
        runner.steps_goal = settings.steps.goal
        service.add_desk(runner)
    return service


def build_companions(
    service: Service,
    settings: object,
    tz: tzinfo,
    *,
    simulate: bool,
    cache_dir: Path | None = None,
) -> list[Companion]:
    """What feeds the schedulers beside the service: the presence watch (always, so home
    automation can set a mode; with no desktop source when simulated, so a simulated day does
    not follow the person at this machine) and the calendars, when `[calendar]` names any."""
    if not isinstance(settings, Settings):  # pragma: no cover - typed callers only
        raise TypeError("settings")
    from deskctl.adapters.calendar_feed import CalendarFeed
    from deskctl.adapters.presence.feed import PresenceFeed
    from deskctl.adapters.presence.watch import PresenceWatch
    from deskctl.config.paths import state_dir

    presence = settings.presence
    if simulate:
        presence = presence.model_copy(update={"sources": []})
    companions: list[Companion] = [
        PresenceFeed(service, PresenceWatch.from_settings(presence, service.clock))
    ]
    if settings.calendar.sources:
        cache = cache_dir or state_dir() / "calendars"
        companions.append(
            CalendarFeed.from_settings(service, settings.calendar, service.clock, tz, cache)
        )
    return companions


def _display_unit(desk: DeskSettings) -> DisplayUnit | None:
    """A Jiecang desk's display unit as set, or None (the desk says it, or the range rule)."""
    from deskctl.core.jiecang import DisplayUnit

    return None if desk.display_unit is None else DisplayUnit(desk.display_unit)


def _proxy_backend(desk: DeskSettings) -> type[Any] | None:
    """bleak's client backend through the desk's ESPHome Bluetooth proxy, if it has one."""
    if desk.proxy is None:
        return None
    from deskctl.links.esphome_proxy import ProxyTarget, proxy_backends

    proxy = desk.proxy
    key = proxy.key.get_secret_value().strip() if proxy.key is not None else None
    target = ProxyTarget(proxy.host, proxy.port, key, proxy.address_type)
    return proxy_backends(target)[0]


def open_link(
    name: str, desk: DeskSettings, clock: Clock, *, broker: MqttSettings | None = None
) -> DeskLink:
    """A link for desk `name`; not yet connected (use `async with`).

    `broker` is `Settings.mqtt`, for desks with link = "mqtt"; without one they use a broker on
    localhost:1883.
    """
    if desk.link == "sim" and desk.sim == "model":
        from deskctl.sim.links import SimLink

        return SimLink(name, clock, min_mm=desk.min_mm, max_mm=desk.max_mm)
    if desk.link == "sim" and desk.sim == "jiecang":
        from deskctl.sim.jiecang_links import SimJiecangLink, variant_named

        return SimJiecangLink(
            name,
            clock,
            min_mm=desk.min_mm,
            max_mm=desk.max_mm,
            variant=variant_named(desk.sim_variant),
            unit_setting=_display_unit(desk),
        )
    if desk.link == "sim" and desk.sim == "proxy":
        from deskctl.sim.links import SimProxyLink

        return SimProxyLink(name, clock, min_mm=desk.min_mm, max_mm=desk.max_mm)
    if desk.link == "sim":
        from deskctl.sim.links import SimBleLink

        return SimBleLink(name, clock, min_mm=desk.min_mm, max_mm=desk.max_mm)
    backend = _proxy_backend(desk)  # None: this computer's Bluetooth adapter
    if desk.link == "ble" and desk.address and desk.protocol == "jiecang":
        from deskctl.links.ble import BleakPipeGatt
        from deskctl.links.jiecang import JiecangLink

        pipe = BleakPipeGatt(
            desk.address, timeout_s=desk.connect_timeout_s, pair=desk.pair, backend=backend
        )
        return JiecangLink(
            name, pipe, clock, min_mm=desk.min_mm, max_mm=desk.max_mm, unit=_display_unit(desk)
        )
    if desk.link == "ble" and desk.address and desk.protocol == "auto":
        from deskctl.links.auto import FamilyLink

        return FamilyLink(
            name,
            desk.address,
            clock,
            min_mm=desk.min_mm,
            max_mm=desk.max_mm,
            timeout_s=desk.connect_timeout_s,
            pair=desk.pair,
            calibration_mm=desk.calibration_mm,
            unit=_display_unit(desk),
            backend=backend,
        )
    if desk.link == "ble" and desk.address:
        from deskctl.links.ble import BleakGattClient
        from deskctl.links.linak import LinakLink

        gatt = BleakGattClient(
            desk.address, timeout_s=desk.connect_timeout_s, pair=desk.pair, backend=backend
        )
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
