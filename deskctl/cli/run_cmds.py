"""`deskctl run`: the background service.

Design: builds the service from the settings (every configured desk, or one simulated desk with
`--simulate`), wires its event sinks (the console/journal, the history, notifications), serves the
control socket (and the MQTT bridge beside it), and runs until SIGINT, SIGTERM or SIGHUP (its
terminal closed), each of which asks the service to stop: it stops in its own order
(`Service.run`: the bridge's goodbye, every moving desk stopped, the schedule's state saved, the
socket closed), then the lock is let go before a clean exit. At start it raises its soft limit
on open files to the hard one (systemd's default soft limit is 1,024). A simulated run starts
its clock at the start of today's working hours (or the next day's), or at `--from`, so the
demo shows a whole day whenever it is run; `--time-scale 60` runs it 60x faster.
Its clock is not the real one, so a simulated run keeps its history and remembered state apart
(`demo-history.sqlite3`, read by `deskctl stats --demo`): a demo never writes days ahead of the
real clock into your history, nor touches your desk's hold or pause.
A desk controller must start even when its files let it down: a history that cannot be opened
(full disk, read-only, damaged) is said once and the service runs without it, and a remembered
profile that is gone or broken gives way to the configured one (else `default`) with a warning.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from deskctl.cli._app import app
from deskctl.cli._common import CALENDAR_YEARS, guard

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ParamSpec, Self

    from deskctl.adapters.history_store import Store
    from deskctl.clocks.clock import Clock
    from deskctl.config.settings import Settings
    from deskctl.service.core import Companion, Service

    P = ParamSpec("P")


def _config_error_exit(func: Callable[P, None]) -> Callable[P, None]:
    """A broken settings or profile file ends `run` with CONFIG_ERROR_EXIT (78), which the
    systemd unit does not restart after: restarting cannot mend a file."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        from deskctl.adapters.systemd import CONFIG_ERROR_EXIT
        from deskctl.cli._common import fail
        from deskctl.errors import ConfigError

        try:
            func(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), CONFIG_ERROR_EXIT)

    return wrapper


@app.command()
@guard
@_config_error_exit
def run(
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Run on the simulated desk.")
    ] = False,
    sim: Annotated[
        str | None,
        typer.Option(
            "--sim",
            help="Simulate with 'model' (= --simulate), 'ble' (real bleak) or 'jiecang' "
            "(a Jiecang desk; jiecang:FF12 picks the adapter).",
        ),
    ] = None,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale",
            min=0.01,
            max=240,
            help="With --simulate: run X times faster (up to 240).",
        ),
    ] = 1.0,
    start: Annotated[
        str | None,
        typer.Option("--from", help="With --simulate: start the clock here (2026-11-30T09:00)."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file to use.")] = None,
    tz_name: Annotated[
        str | None, typer.Option("--tz", help="Time zone (default: the system's).")
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="-v: log every event; -vv: also the libraries' debug (MQTT packets, Bluetooth).",
        ),
    ] = 0,
) -> None:
    """Run the service: follow the plan, warn before each move, cue each change."""
    import asyncio
    import logging

    from deskctl.clocks.localzone import local_tz
    from deskctl.config.settings import load_settings, sim_choice
    from deskctl.errors import InputError

    if sim is not None:
        sim_choice(sim)  # a bad word is said before anything starts
    simulate = simulate or sim is not None
    if not simulate and (time_scale != 1.0 or start is not None):
        raise InputError("--time-scale and --from only work with --simulate")
    logging.basicConfig(
        level=logging.DEBUG if verbose >= 2 else logging.INFO, format="%(message)s", force=True
    )
    if verbose == 1:  # deskctl's own debug; the libraries' (aiomqtt, bleak, bumble) with -vv
        logging.getLogger("deskctl").setLevel(logging.DEBUG)
        logging.getLogger("deskctl.mqtt.client").setLevel(logging.INFO)  # MQTT desks' packets
    settings = load_settings(config)
    tz = local_tz(tz_name)
    start_at = None if start is None else _parse_start(start, tz)
    asyncio.run(
        _serve(
            settings,
            tz,
            simulate=simulate,
            sim=sim or "model",
            time_scale=time_scale,
            start_at=start_at,
        )
    )


def _parse_start(text: str, tz: tzinfo) -> datetime:
    """`--from`: a date and time in the years a simulated day (and the weeks after it, at any
    time scale) can be computed in; anything else is one sentence, never an overflow."""
    from datetime import UTC

    from deskctl.errors import InputError

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{text!r} is not a date and time; write it like 2026-11-30T09:00"
        ) from None
    value = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    try:
        year = value.astimezone(UTC).year
    except (OverflowError, ValueError):
        year = value.year
    if year not in CALENDAR_YEARS or value.year not in CALENDAR_YEARS:
        raise InputError(
            f"--from {text}: a simulated day must start between the years "
            f"{CALENDAR_YEARS.start} and {CALENDAR_YEARS.stop - 1}; write it like 2026-11-30T09:00"
        )
    return value


async def _serve(
    settings: object,
    tz: tzinfo,
    *,
    simulate: bool,
    sim: str,
    time_scale: float,
    start_at: datetime | None,
) -> None:
    import asyncio
    import signal

    from deskctl.adapters.notify import build_notifiers
    from deskctl.adapters.service_lock import ServiceLock
    from deskctl.config.settings import Settings
    from deskctl.service.assembly import build_companions, build_service

    if not isinstance(settings, Settings):  # pragma: no cover - typed callers only
        raise TypeError("settings")
    _raise_file_limit()
    with ServiceLock(), _history(demo=simulate) as store:
        # the bridge publishes events to MQTT itself, so the notifiers get no MQTT channel
        async with build_notifiers(settings.notify) as notifiers:
            service = build_service(
                settings,
                tz,
                simulate=simulate,
                sim=sim,
                time_scale=time_scale,
                start_at=start_at,
                store=store,
                notifiers=notifiers,
            )
            _log_in_clock_time(service.clock)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, service.request_stop)
            # the service stops its companions, its desks and the socket in its own order
            beside = [
                *_bridge(service, settings),
                *build_companions(service, settings, tz, simulate=simulate),
            ]
            await service.run(front=_ControlSocket(service), beside=beside)


class _ControlSocket:
    """The control socket in front of the service; it says the service runs once it listens."""

    def __init__(self, service: Service) -> None:
        from deskctl.adapters.control_server import ControlServer, service_handler

        self._server = ControlServer(None, service_handler(service))
        self._desks = ", ".join(service.desk_names)
        self._simulated = [name for name, s in service.snapshot().items() if s.simulated]

    async def __aenter__(self) -> Self:
        import logging

        await self._server.__aenter__()
        log = logging.getLogger("deskctl.service")
        log.info("deskctl is running %s; stop it with Ctrl-C", self._desks)
        for name in self._simulated:
            log.warning(
                "%s is a simulated desk: no real desk moves (set yours up with `deskctl init`)",
                name,
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.__aexit__(None, None, None)


def _raise_file_limit() -> None:
    """Soft RLIMIT_NOFILE up to the hard one: a desk, the broker, the history and a burst of
    control connections never run out of descriptors under a low default soft limit."""
    import logging
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        logging.getLogger("deskctl.service").debug("open-file limit stays at %d: %s", soft, exc)


@contextlib.contextmanager
def _history(*, demo: bool = False) -> Iterator[Store | None]:
    """The history (a demo's apart from the real one), or None (said once) when it cannot be
    opened: the desk must stay safe and the schedule run without it."""
    import logging

    from deskctl.adapters.history_store import Store, demo_path
    from deskctl.errors import DeskError

    try:
        store = Store(demo_path() if demo else None)
    except DeskError as exc:
        logging.getLogger("deskctl.service").error(
            "%s; running without a history: the desk stays safe and the schedule runs, but "
            "nothing is recorded and a hold or pause will not survive a restart",
            exc,
        )
        yield None
        return
    with store:
        yield store


def _bridge(service: Service, settings: Settings) -> list[Companion]:
    """The MQTT bridge beside the service when `[mqtt]` is set; a broker that refuses the
    credentials or the certificate stops the service with that one sentence."""
    if settings.mqtt is None:
        return []
    from deskctl.adapters.mqtt_bridge import MqttBridge

    mqtt = settings.mqtt
    return [MqttBridge(service, mqtt, bridge_id=mqtt.bridge_id, events=settings.notify.mqtt)]


def _log_in_clock_time(clock: Clock) -> None:
    """Stamp log lines with the service's clock (the simulated time in a demo)."""
    import logging

    class _ClockTime(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            try:
                record.clock = clock.now().strftime("%H:%M:%S")
            except RuntimeError:  # no running loop (at exit)
                record.clock = "--:--:--"
            return True

    for handler in logging.getLogger().handlers:
        handler.addFilter(_ClockTime())
        handler.setFormatter(logging.Formatter("%(clock)s %(message)s"))
