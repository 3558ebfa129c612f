"""`MqttDeskLink`: an ESPHome-style desk (Upsy Desky, LoctekMotion, Jarvis boxes) over MQTT.

Design: `DeskTopics` turns a desk's `MqttDeskSettings` into topics and a payload codec (pure):
the height's state topic and unit (in, cm, mm, or a cover's 0..100 position between two heights,
optionally inside a JSON object), the command topic that takes a target, the stop message and the
availability topic (`<prefix>/status`, `online`/`offline`, retained, as ESPHome publishes it).
The link holds one aiomqtt client: a reader task turns messages into `HeightChanged`,
`ManualMove` (height changes nobody asked for) and `ConnectionChanged` (the broker, or the desk's
availability) events. Commands are never retained, so a desk that reboots does not move.

These desks have no exact move-to: their firmware holds up or down until its reading passes the
target, then the motor runs on for a few mm. So `move_to` aims short of the target by the run-on
it has learned (`lead_mm`, starting at `stop_lead_mm`), and as soon as a report reaches the aim it
sends the stop itself: `STOP` on a cover's command topic; for a number (Upsy Desky) it writes the
last reported height back as the new target (firmware that replaces a running target then releases
the button; set `stop_topic`/`stop_payload`, e.g. a stop button's `PRESS`, for firmware that does
not). Every publish goes through `_publish`, the link's one gate for targets: a height on the
command topic outside `min_mm..max_mm` is refused (`DeskLink._check_target`), so a stop whose
last height lies outside the limits is not sent, and the log says why. Height reports outside the
desk's plausible travel are dropped on arrival (`DeskLink._accept_report`). Silence for
`settle_s` after the stop means the desk has landed; the run-on of long moves is learned, and a
landing outside `tolerance_mm` (default: the whole mm within one step of the payload's
resolution: 2 mm for 0.1 in, 1 mm for 0.1 cm, 6 mm for one percent of 620..1270 mm) is corrected
with a new aim, at most `max_corrections` times. The move ends with:
- the landed height, from the desk's own report;
- `Obstruction` when the height stops changing for `stall_s` well short of the aim (or never
  starts): something is in the way, or the desk went silent;
- `ManualOverride` when it moves away from the target, or runs on far past it after the stop;
- `MoveTimeout` past `move_timeout_s`; `LinkError` when the broker drops or the desk goes offline.
Before moving, a desk whose every report was dropped as implausible (a wrong unit, most likely)
is a `ConfigError` naming the payload, and nothing is sent. When the broker or the desk's
availability drops mid-move, the aim the desk was given is remembered (`DeskLink._lost_move`):
the firmware finishing it is not a manual move.
Every ending but a lost link sends the stop. All timing is clock time from the injected `Clock`
(so a scaled clock speeds it up with the emulated motor); only the broker's own network timeout
(`MqttTiming.broker_timeout_s`) is in real seconds. aiomqtt's errors become `LinkError` with one
sentence saying what to check (`broker_error`). TLS checks the broker's certificate and host name;
`tls_insecure` skips only the host name, and the link says so in a warning (once per link).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import math
import socket
import ssl
import warnings
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode

from deskctl.core.units import MM_PER_UNIT, format_height
from deskctl.errors import (
    ConfigError,
    DeskError,
    LinkError,
    ManualOverride,
    MoveError,
    MoveTimeout,
    Obstruction,
)
from deskctl.links.base import ConnectionChanged, DeskLink, HeightChanged, ManualMove, Progress

if TYPE_CHECKING:
    from deskctl.clock import Clock
    from deskctl.settings import MqttDeskSettings, MqttSettings

__all__ = ["DeskTopics", "MqttDeskLink", "MqttTiming", "broker_client", "broker_error"]

log = logging.getLogger(__name__)
# paho's own log (socket errors as a client disconnects): kept out of the terminal unless the
# application configures logging.
_CLIENT_LOG = logging.getLogger("deskctl.mqtt.client")
_CLIENT_LOG.addHandler(logging.NullHandler())

_DEFAULT_DECIMALS = {"in": 1, "cm": 1, "mm": 0}
_ONLINE, _OFFLINE = "online", "offline"
_NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# -- topics and payloads (pure) -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeskTopics:
    """Where a desk publishes and listens, and how its payloads carry a height."""

    state_topic: str
    command_topic: str
    availability_topic: str | None
    stop_topic: str | None  # None: stop by writing the last height back to command_topic
    stop_payload: str
    unit: str | None  # in, cm or mm; None when the payload is a cover's position
    decimals: int
    json_key: str | None = None
    cover_range_mm: tuple[int, int] | None = None
    tolerance: int | None = None

    @classmethod
    def from_settings(cls, desk: MqttDeskSettings) -> DeskTopics:
        prefix = desk.prefix
        availability = desk.availability_topic or (f"{prefix}/status" if prefix else None)
        if desk.preset == "cover":
            base = f"{prefix}/cover/{desk.cover_id}"
            if desk.cover_min_mm is None or desk.cover_max_mm is None:
                raise ConfigError("preset 'cover' needs cover_min_mm and cover_max_mm")
            return cls(
                state_topic=desk.state_topic or f"{base}/position/state",
                command_topic=desk.command_topic or f"{base}/position/command",
                availability_topic=availability,
                stop_topic=desk.stop_topic or f"{base}/command",
                stop_payload=desk.stop_payload or "STOP",
                unit=None,
                decimals=desk.decimals if desk.decimals is not None else 0,
                json_key=desk.json_key,
                cover_range_mm=(desk.cover_min_mm, desk.cover_max_mm),
                tolerance=desk.tolerance_mm,
            )
        if desk.preset == "upsy":
            unit = desk.unit or "in"
            state = desk.state_topic or f"{prefix}/sensor/desk_height/state"
            command = desk.command_topic or f"{prefix}/number/target_desk_height/command"
        else:
            unit = desk.unit or "mm"
            state, command = desk.state_topic or "", desk.command_topic or ""
        if not state or not command:
            raise ConfigError("an MQTT desk needs a state topic and a command topic")
        return cls(
            state_topic=state,
            command_topic=command,
            availability_topic=availability,
            stop_topic=desk.stop_topic,
            stop_payload=desk.stop_payload or "",
            unit=unit,
            decimals=desk.decimals if desk.decimals is not None else _DEFAULT_DECIMALS[unit],
            json_key=desk.json_key,
            tolerance=desk.tolerance_mm,
        )

    @property
    def resolution_mm(self) -> float:
        """One step of the height as the payload carries it."""
        if self.cover_range_mm is not None:
            low, high = self.cover_range_mm
            return (high - low) / 100
        return float(MM_PER_UNIT[self.unit or "mm"]) * 10.0 ** (-self.decimals)

    @property
    def tolerance_mm(self) -> int:
        """How close a landing must be: configured, or the whole mm within one step."""
        if self.tolerance is not None:
            return self.tolerance
        return max(1, math.floor(self.resolution_mm + 1e-9))

    def decode(self, payload: str) -> int | None:
        """A state payload → whole mm; None for `nan`, `unknown` or anything unreadable."""
        text: object = payload.strip()
        if self.json_key is not None:
            try:
                data = json.loads(payload)
            except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
                return None
            text = data.get(self.json_key) if isinstance(data, dict) else None
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            return None
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            return None
        if not value.is_finite():
            return None
        try:
            if self.cover_range_mm is not None:
                low, high = self.cover_range_mm
                position = min(max(value, Decimal(0)), Decimal(100))
                value = Decimal(low) + position * (high - low) / 100
            else:
                value *= MM_PER_UNIT[self.unit or "mm"]
            return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        except ArithmeticError:  # decimal's InvalidOperation or Overflow: no height is that long
            return None

    def encode(self, height_mm: float) -> str:
        """A height → the command payload (a number in the unit, or a cover's position)."""
        value = Decimal(repr(float(height_mm)))
        if self.cover_range_mm is not None:
            low, high = self.cover_range_mm
            value = min(max((value - low) * 100 / (high - low), Decimal(0)), Decimal(100))
        else:
            value /= MM_PER_UNIT[self.unit or "mm"]
        step = Decimal(1).scaleb(-self.decimals)
        return str(value.quantize(step, rounding=ROUND_HALF_UP))

    def stop_message(self, height_mm: int | None) -> tuple[str, str] | None:
        """(topic, payload) that stops the desk; None if it needs a height nobody knows yet."""
        if self.stop_topic is not None:
            return self.stop_topic, self.stop_payload
        if height_mm is None:
            return None
        return self.command_topic, self.encode(height_mm)


# -- the broker ------------------------------------------------------------------------------
def _tls_context(broker: MqttSettings) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=str(broker.ca_file) if broker.ca_file else None)
        if broker.cert_file is not None:
            context.load_cert_chain(
                str(broker.cert_file), str(broker.key_file) if broker.key_file else None
            )
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"mqtt: the TLS files (ca_file, cert_file, key_file) cannot be used: {reason}"
        ) from None
    if broker.tls_insecure:
        context.check_hostname = False
    return context


def broker_client(
    broker: MqttSettings,
    *,
    client_id: str | None = None,
    will: aiomqtt.Will | None = None,
    timeout_s: float = 10.0,
    protocol: aiomqtt.ProtocolVersion | None = None,
) -> aiomqtt.Client:
    """An aiomqtt client for the configured broker (not yet connected; `async with` it)."""
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password.get_secret_value() if broker.password is not None else None,
        identifier=client_id,
        protocol=protocol,
        logger=_CLIENT_LOG,
        will=will,
        tls_context=_tls_context(broker) if broker.tls else None,
        timeout=timeout_s,
        socket_options=[_NO_DELAY],  # a stop must leave now, not wait for an ACK (Nagle)
    )


def _release_failed_tls_socket(exc: BaseException) -> None:
    """Close the socket of a failed TLS handshake now.

    paho-mqtt 2.2 drops that socket without closing it (the traceback of the handshake error
    still holds it), so each failed attempt (a reconnect loop with a wrong ca_file) would keep a
    file descriptor until the garbage collector runs, and then warn (ResourceWarning) in whatever
    code happens to run at that moment. The error is replaced by a LinkError sentence anyway.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        seen: set[int] = set()
        inner = exc.__cause__ or exc.__context__
        while inner is not None and id(inner) not in seen:
            seen.add(id(inner))
            inner.__traceback__ = None
            inner = inner.__cause__ or inner.__context__
        gc.collect()


def broker_error(exc: aiomqtt.MqttError, broker: MqttSettings) -> LinkError:
    """One sentence a person can act on, for whatever aiomqtt raised."""
    where = f"the MQTT broker at {broker.host}:{broker.port}"
    # a login refusal comes as the broker's reason code (CONNACK); paho's own client-side codes
    # (MQTTErrorCode: 4 is "not connected", 5 "connection refused") share the numbers
    if isinstance(exc, aiomqtt.MqttCodeError) and not isinstance(exc.rc, MQTTErrorCode):
        code = getattr(exc.rc, "value", exc.rc)
        if code in (4, 0x86):
            return LinkError(
                f"{where} refused the user name or password; check username and password in "
                "the [mqtt] settings"
            )
        if code in (5, 0x87):
            return LinkError(
                f"{where} refused this client as not authorised; check username and password "
                "in the [mqtt] settings and the broker's access rules"
            )
    text = str(exc)
    lowered = text.lower()
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
        _release_failed_tls_socket(exc)
        return LinkError(
            f"the TLS handshake with {where} failed ({text}); check ca_file and tls in the "
            "[mqtt] settings and that this port speaks TLS"
        )
    if "timed out" in lowered:
        return LinkError(
            f"{where} did not answer in time; check host, port and tls in the [mqtt] settings "
            "and the network"
        )
    if "refused" in lowered:
        return LinkError(
            f"cannot reach {where}: the connection was refused; check that the broker runs and "
            "that host and port in the [mqtt] settings are right"
        )
    if "name or service" in lowered or "nodename" in lowered or "resolution" in lowered:
        return LinkError(
            f"cannot find the MQTT broker's host {broker.host!r}; check host in the [mqtt] settings"
        )
    if "disconnected" in lowered:
        return LinkError(f"lost the connection to {where}; check that the broker still runs")
    return LinkError(
        f"cannot talk to {where} ({text or type(exc).__name__}); check that it runs and the "
        "[mqtt] settings"
    )


# -- the link ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MqttTiming:
    """How long the link waits for what (clock seconds unless named otherwise)."""

    first_report_s: float = 2.0  # after connecting: the retained status and height
    settle_s: float = 0.6  # no new height for this long after the aim: landed
    stall_s: float = 2.0  # no new height for this long before the aim: stuck or silent
    max_corrections: int = 3  # new aims after a landing outside the tolerance
    short_ok_mm: int = 25  # stopping this close short of the aim is corrected, not an obstruction
    runaway_mm: int = 30  # running on this far past the target after the stop: held buttons
    learn_min_mm: int = 40  # moves at least this long teach the run-on
    broker_timeout_s: float = 10.0  # real seconds: aiomqtt's network timeout


class MqttDeskLink(DeskLink):
    """An ESPHome-style desk on an MQTT broker; see the module docstring."""

    def __init__(
        self,
        name: str,
        broker: MqttSettings,
        desk: MqttDeskSettings,
        clock: Clock,
        *,
        min_mm: int = 620,
        max_mm: int = 1270,
        timing: MqttTiming | None = None,
    ) -> None:
        super().__init__(name, clock, min_mm=min_mm, max_mm=max_mm)
        self.broker = broker
        self.topics = DeskTopics.from_settings(desk)
        self.timing = timing or MqttTiming()
        self.move_timeout_s = desk.move_timeout_s
        self.lead_mm = float(desk.stop_lead_mm)
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._broker_up = False
        self._announced = False
        self._online: bool | None = None
        self._height_mm: int | None = None
        self._moving = False
        self._manual = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._heard = asyncio.Event()
        self._reports: asyncio.Queue[int | DeskError] | None = None
        self._progress: Progress | None = None
        self._quiet_until_s = 0.0
        self._dropped: tuple[str, int] | None = None  # the last report dropped: payload, mm
        self._aim_sent_mm: int | None = None  # the aim the running move last published
        self._said_insecure = False

    # -- state --------------------------------------------------------------------------------
    @property
    def height_mm(self) -> int | None:
        return self._height_mm

    @property
    def moving(self) -> bool:
        return self._moving

    @property
    def connected(self) -> bool:
        """The broker is up and the desk says it is online (or has no availability topic)."""
        if not self._broker_up:
            return False
        return self.topics.availability_topic is None or self._online is True

    @property
    def tolerance_mm(self) -> int:
        return self.topics.tolerance_mm

    # -- connection ---------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._broker_up:
            return
        if self.broker.tls_insecure and not self._said_insecure:
            self._said_insecure = True  # once per link, not at every reconnect
            log.warning(
                "%s: mqtt tls_insecure is on: the broker's certificate is not checked against "
                "the host name %r, so whoever answers there can pose as the broker and drive "
                "the desk; prefer ca_file",
                self.name,
                self.broker.host,
            )
        await self._teardown()  # what is left of a connection the broker dropped
        client = broker_client(self.broker, timeout_s=self.timing.broker_timeout_s)
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(client)
            await client.subscribe(self.topics.state_topic, qos=1)
            if self.topics.availability_topic is not None:
                await client.subscribe(self.topics.availability_topic, qos=1)
        except aiomqtt.MqttError as exc:
            with contextlib.suppress(aiomqtt.MqttError):
                await stack.aclose()
            raise broker_error(exc, self.broker) from None
        self._stack, self._client, self._broker_up = stack, client, True
        self._online, self._height_mm, self._announced = None, None, False
        self._heard = asyncio.Event()
        self._reader = asyncio.create_task(self._read(client), name=f"{self.name}-mqtt-reader")
        await self._wait_heard()
        self._announced = True
        self._emit(ConnectionChanged(self.connected, self._connection_reason()))

    async def _wait_heard(self) -> None:
        """Wait (bounded) for the retained availability and height."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.clock.real_seconds(self.timing.first_report_s)):
                await self._heard.wait()

    def _check_heard(self) -> None:
        known = self._height_mm is not None
        if self.topics.availability_topic is not None:
            known = known and self._online is not None
        if known:
            self._heard.set()

    def _connection_reason(self) -> str:
        topic = self.topics.availability_topic
        if not self._broker_up:
            return f"not connected to the MQTT broker at {self.broker.host}:{self.broker.port}"
        if topic is None or self._online is True:
            return "the desk is online"
        if self._online is False:
            return f"the desk is offline ({topic} says offline)"
        return f"the desk has not said it is online on {topic}"

    async def close(self) -> None:
        if self._reports is not None and self._broker_up:
            self._feed(LinkError(f"the link to desk {self.name!r} was closed during the move"))
            await self._stop_quietly()
        await self._teardown()

    async def _teardown(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        stack, self._stack, self._client = self._stack, None, None
        self._broker_up = False
        self._disarm_idle()
        if stack is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await stack.aclose()

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, (bytes, bytearray)):
                    text = bytes(payload).decode("utf-8", errors="replace")
                else:
                    text = "" if payload is None else str(payload)
                try:
                    self._on_message(message.topic.value, text)
                except Exception:  # a subscriber's bug must not silence the desk
                    log.exception("%s: handling a message on %s failed", self.name, message.topic)
        except aiomqtt.MqttError as exc:
            self._on_broker_lost(broker_error(exc, self.broker))

    def _on_broker_lost(self, error: LinkError) -> None:
        self._broker_up = False
        self._disarm_idle()
        self._moving = False
        self._feed(error)
        self._emit(ConnectionChanged(False, str(error)))

    def _on_message(self, topic: str, text: str) -> None:
        if topic == self.topics.availability_topic:
            self._on_availability(text.strip().lower())
        elif topic == self.topics.state_topic:
            height_mm = self.topics.decode(text)
            if height_mm is None:
                log.debug("%s: ignored a height payload %r", self.name, text[:40])
                return
            if not self._accept_report(height_mm, text.strip()[:40]):
                self._dropped = (text.strip()[:40], height_mm)
                return
            self._on_height(height_mm)

    def _on_availability(self, state: str) -> None:
        if state not in (_ONLINE, _OFFLINE):
            log.debug("%s: ignored an availability payload %r", self.name, state[:40])
            return
        online = state == _ONLINE
        if online == self._online:
            return
        self._online = online
        self._check_heard()
        if not online:
            self._feed(LinkError(f"desk {self.name!r} went offline during the move"))
        if self._announced:
            self._emit(ConnectionChanged(online, self._connection_reason()))

    def _on_height(self, height_mm: int) -> None:
        previous = self._height_mm
        self._height_mm = height_mm
        changed = previous is not None and previous != height_mm
        if changed:
            self._moving = True
            self._arm_idle()
        self._check_heard()
        self._emit(HeightChanged(height_mm, self._moving))
        if self._reports is not None:
            self._reports.put_nowait(height_mm)
            if self._progress is not None:
                self._progress(height_mm)
        elif changed and not self._manual and self.clock.monotonic() >= self._quiet_until_s:
            self._manual = True
            self._emit(ManualMove(height_mm, ended=False))

    def _arm_idle(self) -> None:
        self._disarm_idle()
        delay_s = self.clock.real_seconds(self.timing.settle_s)
        self._idle_timer = asyncio.get_running_loop().call_later(delay_s, self._on_idle)

    def _disarm_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _on_idle(self) -> None:
        self._idle_timer = None
        self._moving = False
        if self._height_mm is None:
            return
        self._emit(HeightChanged(self._height_mm, False))
        if self._manual:
            self._manual = False
            self._emit(ManualMove(self._height_mm, ended=True))

    def _feed(self, item: DeskError) -> None:
        """End a running move with `item` (raised inside it)."""
        if self._reports is not None:
            self._reports.put_nowait(item)

    # -- commands -----------------------------------------------------------------------------
    async def _publish(self, topic: str, payload: str, what: str) -> None:
        """Publish one command; the one way out of this link for every target (see `DeskLink`).

        On the command topic a payload that reads as a height must lie within the limits
        (MoveError otherwise; `what` names what the target was for); anything else sent there
        must be the configured stop payload.
        """
        if topic == self.topics.command_topic:
            target_mm = self.topics.decode(payload)
            if target_mm is not None:
                self._check_target(target_mm, what)
            elif not (topic == self.topics.stop_topic and payload == self.topics.stop_payload):
                raise MoveError(f"desk {self.name!r}: refused to send {payload!r} as a target")
        client = self._client
        if client is None or not self._broker_up:
            raise LinkError(f"desk {self.name!r} is not connected to the MQTT broker")
        try:
            await client.publish(topic, payload, qos=1, retain=False)
        except aiomqtt.MqttError as exc:
            raise broker_error(exc, self.broker) from None

    async def _send_stop(self) -> None:
        """Stop the desk. A desk stopped by writing its height back gets the last plausible
        height only if it lies within the limits; else no stop is sent, and the log says why."""
        message = self.topics.stop_message(self._height_mm)
        if message is None:
            log.warning("%s: no stop sent: the desk's height is not known yet", self.name)
            return
        try:
            await self._publish(*message, what="a stop")
        except MoveError as exc:
            log.warning("%s: no stop sent: %s", self.name, exc)

    async def _stop_quietly(self) -> None:
        """Send the stop if the broker is there; a failure here must not hide the first one."""
        if self._broker_up:
            with contextlib.suppress(DeskError):
                await self._send_stop()

    async def stop(self) -> None:
        if not self._broker_up:
            raise LinkError(f"desk {self.name!r} is not connected to the MQTT broker")
        if self._reports is not None:
            message = f"the move was stopped at {format_height(self._height_mm)}"
            self._feed(MoveError(message, self._height_mm))
        await self._send_stop()

    # -- moving -------------------------------------------------------------------------------
    async def _ready_height_mm(self) -> int:
        """The current height, once the desk is online and has reported; else LinkError."""
        if not self._broker_up:
            raise LinkError(f"desk {self.name!r} is not connected to the MQTT broker")
        await self._wait_heard()
        topic = self.topics.availability_topic
        if topic is not None and self._online is False:
            raise LinkError(
                f"desk {self.name!r} is offline ({topic} says offline); check its power and network"
            )
        if topic is not None and self._online is None:
            raise LinkError(
                f"desk {self.name!r} has not said it is online on {topic}; check its prefix and "
                "that it is powered and on the network"
            )
        height_mm = self._height_mm
        if height_mm is None and self._dropped is not None:
            payload, dropped_mm = self._dropped
            unit = self.topics.unit or "a cover position"
            raise ConfigError(
                f"desk {self.name!r} reports {payload!r} on {self.topics.state_topic}, "
                f"which reads as {dropped_mm} mm ({unit}), far outside its limits of "
                f"{self.min_mm}..{self.max_mm} mm; check unit (or cover_min_mm and cover_max_mm) "
                "in its mqtt settings"
            )
        if height_mm is None:
            raise LinkError(
                f"desk {self.name!r} has not reported its height on {self.topics.state_topic}; "
                "check the topic and the unit"
            )
        return height_mm

    async def _move_to(self, target_mm: int, progress: Progress | None) -> int:
        if self._reports is not None:
            raise MoveError("a move is already running; stop it first")
        from_mm = await self._ready_height_mm()
        self._reports = asyncio.Queue()
        self._progress = progress
        self._manual = False
        self._aim_sent_mm = None
        try:
            async with asyncio.timeout(self.clock.real_seconds(self.move_timeout_s)):
                return await self._land(target_mm)
        except TimeoutError:
            await self._stop_quietly()
            raise MoveTimeout(
                f"the move to {format_height(target_mm)} took longer than "
                f"{self.move_timeout_s:g} s; desk {self.name!r} was told to stop at "
                f"{format_height(self._height_mm)}",
                self._height_mm,
            ) from None
        except MoveError:
            await self._stop_quietly()
            raise
        except LinkError:  # the desk may finish the aim it has: that is not a manual move
            self._lost_move(self._height_mm or from_mm, self._aim_sent_mm)
            raise
        except asyncio.CancelledError:
            with contextlib.suppress(DeskError, TimeoutError):
                async with asyncio.timeout(1.0):  # real seconds: a bound on one publish
                    await self._stop_quietly()
            raise
        finally:
            self._reports = None
            self._progress = None
            self._quiet_until_s = self.clock.monotonic() + self.timing.settle_s

    async def _land(self, target_mm: int) -> int:
        corrections = 0
        while True:
            start_mm = self._height_mm
            if start_mm is None:  # pragma: no cover - _ready_height_mm made sure
                raise LinkError(f"desk {self.name!r} has not reported its height")
            if abs(start_mm - target_mm) <= self.tolerance_mm:
                return start_mm
            direction = 1 if target_mm > start_mm else -1
            payload, aim_mm = self._encode_aim(self._aim_mm(start_mm, target_mm, direction))
            await self._publish(self.topics.command_topic, payload, what="a move")
            self._aim_sent_mm = aim_mm
            landed_mm = await self._follow(start_mm, target_mm, aim_mm, direction)
            if abs(landed_mm - start_mm) >= self.timing.learn_min_mm:
                run_on_mm = (landed_mm - aim_mm) * direction
                self.lead_mm = min(100.0, max(0.0, (self.lead_mm + run_on_mm) / 2))
            if abs(landed_mm - target_mm) <= self.tolerance_mm:
                return landed_mm
            corrections += 1
            if corrections > self.timing.max_corrections:
                log.warning(
                    "%s: landed at %d mm, %d mm from the target %d mm, after %d corrections",
                    self.name,
                    landed_mm,
                    landed_mm - target_mm,
                    target_mm,
                    self.timing.max_corrections,
                )
                return landed_mm

    def _encode_aim(self, aim: float) -> tuple[str, int]:
        """The payload for `aim` and the height it reads as: the nearest step of the payload's
        resolution, or the next one inwards when the nearest lies just outside the limits."""
        step = self.topics.resolution_mm
        for candidate in (aim, aim + step, aim - step):
            payload = self.topics.encode(candidate)
            aim_mm = self.topics.decode(payload)
            if aim_mm is not None and self.min_mm <= aim_mm <= self.max_mm:
                return payload, aim_mm
        payload = self.topics.encode(aim)  # the gate in _publish refuses it, saying why
        return payload, self.topics.decode(payload) or round(aim)

    def _aim_mm(self, start_mm: int, target_mm: int, direction: int) -> float:
        """Short of the target by the run-on, but at least one step of the desk's resolution."""
        aim = target_mm - direction * self.lead_mm
        step = self.topics.resolution_mm
        if (aim - start_mm) * direction < step:
            aim = start_mm + direction * step
        if (aim - target_mm) * direction > 0:
            aim = float(target_mm)
        return min(max(aim, float(self.min_mm)), float(self.max_mm))

    async def _next_report(self, quiet_s: float) -> int | DeskError | None:
        """The next height (or error) of the running move; None after `quiet_s` of silence."""
        reports = self._reports
        if reports is None:  # pragma: no cover - only called during a move
            return None
        try:
            async with asyncio.timeout(self.clock.real_seconds(quiet_s)):
                return await reports.get()
        except TimeoutError:
            return None

    async def _follow(self, start_mm: int, target_mm: int, aim_mm: int, direction: int) -> int:
        """Watch one approach to `aim_mm`; return where the desk came to rest."""
        timing = self.timing
        away_mm = max(5, math.ceil(2 * self.topics.resolution_mm))
        extreme_mm = start_mm
        stop_sent = moved = False
        while True:
            height_mm = self._height_mm if self._height_mm is not None else start_mm
            reached = (height_mm - aim_mm) * direction >= 0
            item = await self._next_report(
                timing.settle_s if stop_sent or reached else timing.stall_s
            )
            if isinstance(item, DeskError):
                raise item
            if item is None:
                short_mm = (aim_mm - height_mm) * direction
                if stop_sent or reached or (moved and short_mm <= timing.short_ok_mm):
                    return height_mm
                if not moved:
                    raise Obstruction(
                        f"desk {self.name!r} did not start moving towards "
                        f"{format_height(target_mm)} within {timing.stall_s:g} s: something "
                        f"may be in the way, or it does not listen on {self.topics.command_topic}",
                        height_mm,
                    )
                raise Obstruction(
                    f"desk {self.name!r} stopped at {format_height(height_mm)}, short of "
                    f"{format_height(target_mm)}: something may be in the way, or it stopped "
                    "reporting its height",
                    height_mm,
                )
            if (item - start_mm) * direction > 0:
                moved = True
            if (item - extreme_mm) * direction > 0:
                extreme_mm = item
            elif (extreme_mm - item) * direction > away_mm:
                raise ManualOverride(
                    f"desk {self.name!r} moved away from {format_height(target_mm)} (to "
                    f"{format_height(item)}): someone is using its buttons",
                    item,
                )
            if not stop_sent and (item - aim_mm) * direction >= 0:
                await self._send_stop()
                stop_sent = True
            if stop_sent and (item - target_mm) * direction > timing.runaway_mm:
                raise ManualOverride(
                    f"desk {self.name!r} kept moving past {format_height(target_mm)} (to "
                    f"{format_height(item)}) after the stop: someone is holding its buttons",
                    item,
                )
