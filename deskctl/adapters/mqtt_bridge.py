"""The MQTT bridge: Home Assistant (or anything that speaks MQTT) sees and drives the desks.

Design: `run_bridge(service, mqtt, bridge_id=..., stop=...)` runs beside `Service.run()` until
`stop` is set. It connects with aiomqtt (TLS verified unless `tls_insecure`, which is logged as a
warning), leaves a retained last will `offline` on the bridge's availability topic, and after
the broker goes away reconnects with backoff. Each connection:
1. publishes `online`, reads the retained records of the desks each bridge published (its own
   echo on a private topic marks the end of the retained messages), clears the retained
   discovery, state and availability of desks that left the settings, and warns of desk names
   another bridge publishes too;
2. publishes the discovery of every desk (retained; again whenever Home Assistant's birth message
   says it started), its own record, and each desk's availability and state;
3. subscribes to the command topics (on MQTT 5 with retain-as-published, so that a command sent
   with the retain flag shows it even when it arrives live) and serves them until `stop`, then
   says `offline`. A retained command is refused, and cleared from the broker (an empty retained
   message on its topic): it would run again at every reconnect.
The bridge knows the service only by its interface (`service.core`): it subscribes to its
events, reads `snapshot()` and `facts()`, and submits commands; it never touches a desk's
runner, scheduler or link. The service's news goes out on `B/D/event` at once. `B/D/state`
(retained) is driven by the state itself: the service says when a desk's status changed
(`StatusChanged`: a height report, working hours beginning, a profile switched from the CLI),
which wakes the publisher; it reads every desk's status then and sends it when anything it holds
changed: at once, but at most once per `moving_interval_s` while the desk moves. The durations
that grow by themselves go out with each change and every `refresh_s`, when the profiles on disk
are looked at again too. Home Assistant's device shows the maker and model the desk's link
declares (`DeskFacts`).
Commands are parsed by `deskctl.core.ha`, then into the service's command dataclasses
(`service.commands.parse_command`). Each desk has a worker that carries its commands out in
order. A move first makes a status round trip through the service's queue (so an inhibit sent
just before it counts), then passes `check_request` (limits, connected, inhibited, held), then
goes to the service; its end is not awaited, so a `stop` gets through while it runs. A command
that cannot be done publishes an `error` event saying why; nothing arriving crashes the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import math
import os
import secrets
import socket
import tempfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.subscribeoptions import SubscribeOptions

from deskctl import __version__
from deskctl.config import paths
from deskctl.config.profile_library import find_profiles, load_profile
from deskctl.config.settings import MqttSettings
from deskctl.core.backoff import Backoff
from deskctl.core.ha import (
    OFFLINE,
    ONLINE,
    DeskInfo,
    Refusal,
    Request,
    Topics,
    check_desk_name,
    check_request,
    desk_retained,
    discovery_payload,
    encode,
    event_payload,
    host_bridge_id,
    is_profile_name,
    parse_command,
    parse_record,
    preset_button_payload,
    preset_discovery,
    record_payload,
    state_changed,
    state_due_in_s,
    state_payload,
    topics_to_clear,
)
from deskctl.core.log_budget import LogBudget
from deskctl.errors import DeskctlError
from deskctl.links.mqtt_broker import (
    broker_client,
    broker_error,
    login_refused,
    tls_failed,
    warn_tls_insecure,
)
from deskctl.service.commands import parse_command as service_command
from deskctl.service.core import CommandResult, Service
from deskctl.service.news import (
    HeightReported,
    MoveStarted,
    PresenceModeAsked,
    ServiceEvent,
    StatusChanged,
)
from deskctl.service.status import DeskFacts, DeskStatus, status_json

__all__ = ["BridgeTiming", "MqttBridge", "run_bridge"]

log = logging.getLogger("deskctl.adapters.mqtt_bridge")

_SESSION_TAKEN_OVER = 0x8E  # MQTT 5 DISCONNECT: another client connected with this client id


@dataclass(frozen=True, slots=True)
class BridgeTiming:
    """How the bridge paces itself, in real seconds (the broker lives in real time)."""

    moving_interval_s: float = 0.5  # at most one state per this while a desk moves
    refresh_s: float = 30.0  # send the durations and look at the profiles on disk this often
    sync_timeout_s: float = 5.0  # wait this long for the retained records after connecting
    call_timeout_s: float = 10.0  # a command the service does not answer in this is an error
    broker_timeout_s: float = 10.0  # aiomqtt's network timeout
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
    queue_max: int = 100  # commands waiting per desk; more are refused
    log_burst: int = 5  # refused commands logged per log_interval_s; the rest are counted
    log_interval_s: float = 60.0
    # a session the broker ends sooner than this after connecting, three times in a row, or with
    # "session taken over", means another client has this client id: wait these, not backoff_s
    takeover_s: float = 10.0
    takeover_backoff_s: tuple[float, ...] = (30.0, 60.0, 120.0, 300.0)


async def run_bridge(
    service: Service,
    mqtt: MqttSettings,
    *,
    bridge_id: str | None = None,
    stop: asyncio.Event,
    events: bool = True,
    timing: BridgeTiming | None = None,
) -> None:
    """Bridge `service`'s desks to the broker until `stop` is set.

    `bridge_id` (else `mqtt.bridge_id`) names this service on the broker; without one it is
    made from the host and the user (`host_bridge_id`), the same at every start.

    `events=False` (`notify.mqtt = false`) keeps the service's news (warnings, cues, moves) off
    `B/D/event`; the `error` answers to MQTT commands that cannot be done still go out.
    Raises `ConfigError` for a desk name or topic setting MQTT cannot carry, and `LinkError`
    (one sentence) when the broker refuses the user name or password, or the first TLS
    handshake fails; every other broker failure is retried with backoff.
    """
    bridge = MqttBridge(service, mqtt, bridge_id=bridge_id, events=events, timing=timing)
    await bridge.run(stop)


class MqttBridge:
    """One service's desks on one broker; see the module docstring."""

    def __init__(
        self,
        service: Service,
        mqtt: MqttSettings,
        *,
        bridge_id: str | None = None,
        events: bool = True,
        timing: BridgeTiming | None = None,
        published_file: Path | None = None,
    ) -> None:
        self.service = service
        self.events = events
        self.mqtt = mqtt
        bridge_id = bridge_id or mqtt.bridge_id or host_bridge_id(*_this_host())
        self.topics = Topics(mqtt.base_topic, mqtt.discovery_prefix, bridge_id)
        for name in service.desk_names:
            check_desk_name(name)
        self.timing = timing or BridgeTiming()
        self.client_id = mqtt.client_id or f"deskctl-bridge-{bridge_id}"
        self.connected = False
        self._published = _Published(
            published_file or paths.state_dir() / "mqtt-published.json", f"{mqtt.host}:{mqtt.port}"
        )
        self._protocol = aiomqtt.ProtocolVersion.V5  # it says when a session was taken over
        self._outbox: deque[tuple[str, bytes]] = deque(maxlen=1000)
        self._to_clear: set[str] = set()  # command topics holding a retained command
        self._wake = asyncio.Event()
        self._sent_state: dict[str, dict[str, Any]] = {}
        self._sent_at: dict[str, float] = {}
        self._sent_availability: dict[str, str] = {}
        self._republish = False
        self._profiles: tuple[str, ...] = ()
        self._profiles_left_out: set[str] = set()
        self._moves_started = dict.fromkeys(service.desk_names, 0)
        self._queues: dict[str, asyncio.Queue[Request]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._records: dict[str, dict[str, list[str]] | None] = {}
        self._sync_token = ""
        self._synced = asyncio.Event()
        self._refusals_logged = LogBudget(self.timing.log_burst, self.timing.log_interval_s)

    @property
    def desks(self) -> list[str]:
        return list(self.service.desk_names)

    # -- lifetime -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        warn_tls_insecure(self.mqtt, "MQTT bridge")
        self._attach()
        connecting = asyncio.create_task(self._connect_loop(stop), name="mqtt-bridge-connect")
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({connecting, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not connecting.done():
                # stopping: the bridge says goodbye (offline) within a bound, whatever the broker
                # does meanwhile, so a service never waits on MQTT to stop its desks
                grace_s = self.timing.broker_timeout_s + 2.0
                await asyncio.wait({connecting}, timeout=grace_s)
                if not connecting.done():
                    log.warning("MQTT bridge: the broker did not take the goodbye in %g s", grace_s)
                    connecting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await connecting
                    return
            connecting.result()  # a fatal broker error (login, certificate) goes on up
        finally:
            stopper.cancel()
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await connecting
            await self._detach()

    def _attach(self) -> None:
        self._unsubscribe.append(self.service.subscribe(self._on_event))
        for name in self.desks:
            queue: asyncio.Queue[Request] = asyncio.Queue()
            self._queues[name] = queue
            self._workers.append(asyncio.create_task(self._work(name, queue), name=f"mqtt-{name}"))

    async def _detach(self) -> None:
        self._say_refusals_left_out(asyncio.get_running_loop().time(), at_end=True)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._unsubscribe.clear()
        self._workers.clear()
        self._queues.clear()

    async def _connect_loop(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        backoff = Backoff(self.timing.backoff_s)
        takeovers = Backoff(self.timing.takeover_backoff_s)
        ever_connected = False
        short = 0  # sessions in a row the broker ended soon after connecting
        while not stop.is_set():
            will = aiomqtt.Will(self.topics.bridge_availability, OFFLINE, qos=1, retain=True)
            client = broker_client(
                self.mqtt,
                client_id=self.client_id,
                will=will,
                timeout_s=self.timing.broker_timeout_s,
                protocol=self._protocol,
            )
            connected_at: float | None = None
            try:
                async with client:
                    connected_at = loop.time()
                    ever_connected = True
                    backoff.reset()
                    log.info(
                        "MQTT bridge %r: connected to %s:%d as %r",
                        self.topics.bridge_id,
                        self.mqtt.host,
                        self.mqtt.port,
                        self.client_id,
                    )
                    await self._session(client, stop)
            except aiomqtt.MqttError as exc:
                if self._protocol is aiomqtt.ProtocolVersion.V5 and _no_mqtt5(exc):
                    log.info("MQTT bridge: the broker does not speak MQTT 5; using MQTT 3.1.1")
                    self._protocol = aiomqtt.ProtocolVersion.V311
                    continue
                error = broker_error(exc, self.mqtt, in_session=True)
                fatal = login_refused(exc) or (not ever_connected and tls_failed(exc))
                taken_over = _taken_over(exc)
            else:
                continue
            finally:
                self.connected = False
            if fatal:
                raise error  # outside the except: no chained traceback, no socket kept alive
            if stop.is_set():
                break
            if connected_at is not None:  # the broker ended a session
                lasted_s = loop.time() - connected_at
                short = short + 1 if lasted_s < self.timing.takeover_s else 0
                if short == 0 and not taken_over:
                    takeovers.reset()
                if taken_over or short >= 3:
                    delay_s = takeovers.next_s()
                    log.warning("MQTT bridge: %s", self._takeover_sentence(taken_over, delay_s))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay_s)
                    continue
            delay_s = backoff.next_s()
            log.warning("MQTT bridge: %s; trying again in %g s", error, delay_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay_s)

    def _takeover_sentence(self, certain: bool, delay_s: float) -> str:
        """What to change when another client keeps taking this one's place."""
        if self.mqtt.client_id:
            change = "give each its own client_id in the [mqtt] settings"
        else:
            change = (
                "give each its own bridge_id in the [mqtt] settings "
                f"(this one is {self.topics.bridge_id!r})"
            )
        if certain:
            what = (
                f"the broker at {self.mqtt.host}:{self.mqtt.port} handed this connection to "
                f"another client with the same client id {self.client_id!r}"
            )
        else:
            what = (
                f"the broker at {self.mqtt.host}:{self.mqtt.port} closed this connection 3 times "
                f"in a row within {self.timing.takeover_s:g} s of connecting, as it does when "
                f"another client connects with the same client id {self.client_id!r}"
            )
        return (
            f"{what}: another deskctl service on this broker most likely uses the same id, so "
            f"{change}; waiting {delay_s:g} s instead of taking the connection back"
        )

    async def _session(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        self.connected = True
        self._sent_state.clear()
        self._sent_availability.clear()
        self._outbox.clear()
        self._to_clear.clear()
        reader = asyncio.create_task(self._read(client), name="mqtt-bridge-reader")
        stopper = asyncio.create_task(stop.wait())
        tasks: set[asyncio.Task[Any]] = {reader, stopper}
        try:
            await client.publish(self.topics.bridge_availability, ONLINE, qos=1, retain=True)
            await self._clean_up(client, reader)
            await self._publish_discovery(client)
            commands = [
                self._command_subscription(f) for f in self.topics.command_filters(self.desks)
            ]
            await client.subscribe([*commands, (self.topics.ha_status, 1)])
            self._wake.set()
            tasks.add(asyncio.create_task(self._publish_loop(client), name="mqtt-bridge-out"))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=lambda task: task is not reader):
                if task is not stopper:
                    task.result()  # the broker went away: raises MqttError (the reader's says why)
            await self._goodbye(client)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _command_subscription(self, topic_filter: str) -> tuple[str, Any]:
        """A command filter at QoS 1; on MQTT 5 with retain-as-published, so that a command
        published with the retain flag while the bridge is connected still shows the flag (MQTT
        3.1.1 brokers clear it for subscribers already there: such a command cannot be told)."""
        if self._protocol is aiomqtt.ProtocolVersion.V5:
            return topic_filter, SubscribeOptions(qos=1, retainAsPublished=True)
        return topic_filter, 1

    async def _goodbye(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await self._flush(client)
            for desk in self.desks:
                topic = self.topics.desk(desk, "availability")
                await client.publish(topic, OFFLINE, qos=1, retain=True)
            await client.publish(self.topics.bridge_availability, OFFLINE, qos=1, retain=True)

    # -- what was published before ------------------------------------------------------------
    async def _clean_up(self, client: aiomqtt.Client, reader: asyncio.Task[None]) -> None:
        """Clear what this bridge published for desks it no longer has; warn of shared names.

        What this process published is remembered in the state folder (`_Published`), not read
        from the broker: another service using the same bridge id writes the same record, and
        must not get its desks cleared. A desk another bridge lists now is left to that one.
        """
        self._records.clear()
        self._synced.clear()
        self._sync_token = secrets.token_hex(8)
        filters = [*self.topics.records, self.topics.sync]
        await client.subscribe([(f, 1) for f in filters])
        await client.publish(self.topics.sync, self._sync_token, qos=1)
        waiter = asyncio.create_task(self._synced.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, reader},
                timeout=self.timing.sync_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()
        if reader in done:
            reader.result()
        await client.unsubscribe(filters)
        current = self._retained()
        published = self._published.load()
        if not self._synced.is_set():
            log.warning(
                "MQTT bridge: the broker did not echo within %g s, so desks removed from the "
                "settings keep their Home Assistant entities for now",
                self.timing.sync_timeout_s,
            )
            self._published.save({**(published or {}), **current})  # to clear next time
            return
        claimed = {
            topic
            for record_topic, record in self._records.items()
            if record_topic != self.topics.record
            for retained in (record or {}).values()
            for topic in retained
        }
        for topic in topics_to_clear(self.topics, published, current, claimed=claimed):
            log.info(
                "MQTT bridge: clearing %s (that desk or preset is no longer configured)", topic
            )
            await client.publish(topic, b"", qos=1, retain=True)
        mine = {topic for retained in (published or {}).values() for topic in retained}
        for topic in sorted((mine & claimed).difference(*current.values())):
            log.info("MQTT bridge: leaving %s to the bridge that publishes that desk now", topic)
        self._published.save(current)
        for topic, record in sorted(self._records.items()):
            shared = sorted(set(record or ()) & set(current))
            if topic != self.topics.record and shared:
                log.warning(
                    "MQTT bridge: %s also lists desk(s) %s: two bridges on one base topic would "
                    "mix their commands and state; give every desk a name of its own",
                    topic,
                    ", ".join(shared),
                )

    async def _publish_discovery(self, client: aiomqtt.Client) -> None:
        self._profiles = self._scan_profiles()
        for desk, facts in self.service.facts().items():
            payload = discovery_payload(
                self.topics, _desk_info(facts), self._profiles, sw_version=__version__
            )
            await client.publish(self.topics.discovery(desk), encode(payload), qos=1, retain=True)
            for preset, height_mm in facts.presets:
                button = preset_button_payload(
                    self.topics, desk, preset, height_mm, sw_version=__version__
                )
                topic = preset_discovery(self.topics, desk, preset)
                await client.publish(topic, encode(button), qos=1, retain=True)
        record = record_payload(self.topics.bridge_id, self._retained())
        await client.publish(self.topics.record, encode(record), qos=1, retain=True)

    def _retained(self) -> dict[str, list[str]]:
        """Every retained topic of every desk: its own, and one per preset button."""
        facts = self.service.facts()
        return {
            desk: desk_retained(self.topics, desk, [name for name, _mm in facts[desk].presets])
            for desk in self.desks
        }

    def _scan_profiles(self) -> tuple[str, ...]:
        """The profiles Home Assistant may offer: those that load and that MQTT can name."""
        names = {status.profile for status in self.service.snapshot().values()}
        try:
            found = list(find_profiles())
        except (OSError, DeskctlError) as exc:
            log.warning("MQTT bridge: cannot list the profiles: %s", exc)
            found = []
        for name in found:
            if name in names:
                continue
            try:
                load_profile(name)
            except (OSError, DeskctlError) as exc:
                self._left_out(name, f"it does not load: {exc}")
                continue
            names.add(name)
        offered = {name for name in names if is_profile_name(name)}
        for name in names - offered:
            self._left_out(
                name, "its name is not lowercase letters, digits, '.', '_' and '-'; rename the file"
            )
        return tuple(sorted(offered))

    def _profiles_with(self, payload: bytes) -> tuple[str, ...]:
        """The profiles offered, and the one `payload` names if it was added since and loads."""
        name = payload.decode("utf-8", "replace").strip()
        if name in self._profiles or not is_profile_name(name):
            return self._profiles
        try:
            load_profile(name)
        except (OSError, DeskctlError):
            return self._profiles
        return (*self._profiles, name)

    def _left_out(self, name: str, why: str) -> None:
        if name not in self._profiles_left_out:
            self._profiles_left_out.add(name)
            log.warning("MQTT bridge: Home Assistant is not offered the profile %r: %s", name, why)

    # -- what the service says ----------------------------------------------------------------
    def _on_event(self, event: ServiceEvent) -> None:
        desk = event.desk
        if desk not in self._queues or isinstance(event, HeightReported | PresenceModeAsked):
            return  # a height report that changes anything comes as a StatusChanged too
        if isinstance(event, StatusChanged):
            self._wake.set()  # the publisher looks at the states
            return
        if isinstance(event, MoveStarted):
            self._moves_started[desk] += 1
        payload = event_payload(desk, event.at, event.kind, event.fields()) if self.events else None
        if payload is not None and self.connected:
            self._outbox.append((self.topics.desk(desk, "event"), encode(payload)))
        self._wake.set()

    def _error(self, desk: str, reason: str, topic: str = "") -> None:
        """Publish an `error` event: a command on `topic` could not be done, for `reason`.

        Every one goes out on MQTT; the log takes the first few per interval and counts the rest
        (a flood of bad commands must not flood the journal).
        """
        now_s = asyncio.get_running_loop().time()
        self._say_refusals_left_out(now_s)
        if self._refusals_logged.take(now_s):
            log.warning("MQTT bridge: %s: %s (%s)", desk, reason, topic or "no topic")
        fields = {"reason": reason, **({"topic": topic} if topic else {})}
        payload = event_payload(desk, self.service.clock.now(), "error", fields)
        if payload is not None and self.connected:
            self._outbox.append((self.topics.desk(desk, "event"), encode(payload)))
            self._wake.set()

    def _say_refusals_left_out(self, now_s: float, *, at_end: bool = False) -> None:
        held = self._refusals_logged.overdue(now_s, at_end=at_end)
        if held:
            log.warning(
                "MQTT bridge: %d more refused command(s) in %g s were not logged (each one got "
                "its error event on MQTT)",
                held,
                self.timing.log_interval_s,
            )

    async def _publish_loop(self, client: aiomqtt.Client) -> None:
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + self.timing.refresh_s
        while True:
            self._wake.clear()
            await self._flush(client)
            refresh = loop.time() >= next_refresh
            if refresh:
                next_refresh = loop.time() + self.timing.refresh_s
                self._republish |= self._scan_profiles() != self._profiles
            if self._republish:
                self._republish = False
                await self._publish_discovery(client)
                self._sent_state.clear()
                self._sent_availability.clear()
            wait_s = await self._publish_states(client, refresh=refresh)
            await self._flush(client)
            self._say_refusals_left_out(loop.time())
            report_at = self._refusals_logged.report_at()
            if report_at is not None:
                wait_s = min(wait_s, report_at - loop.time())
            wait_s = min(wait_s, next_refresh - loop.time())
            if wait_s > 0 and not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait_s)

    async def _flush(self, client: aiomqtt.Client) -> None:
        while self._to_clear:
            topic = self._to_clear.pop()
            log.info("MQTT bridge: clearing the retained command on %s (refused)", topic)
            await client.publish(topic, b"", qos=1, retain=True)
        while self._outbox:
            topic, payload = self._outbox.popleft()
            await client.publish(topic, payload, qos=1)

    async def _publish_states(self, client: aiomqtt.Client, *, refresh: bool = False) -> float:
        """Send each desk's state if what it holds changed (with `refresh`, if its durations
        grew too); return how long until a held-back state is due (inf: none).

        The state itself decides, not which news came: the service's `StatusChanged` wakes the
        publisher for a change without news (working hours begin, a profile switched from the
        CLI) as for any other.
        """
        loop = asyncio.get_running_loop()
        wait_s = math.inf
        for desk, status in self.service.snapshot().items():
            available = ONLINE if status.connected else OFFLINE
            if self._sent_availability.get(desk) != available:
                topic = self.topics.desk(desk, "availability")
                await client.publish(topic, available, qos=1, retain=True)
                self._sent_availability[desk] = available
            state = state_payload(status_json(status), inhibited=status.inhibited)
            sent = self._sent_state.get(desk)
            if not state_changed(sent, state) and not (refresh and state != sent):
                continue
            last = self._sent_at.get(desk)
            due_s = state_due_in_s(
                moving=status.moving,
                since_last_s=None if last is None else loop.time() - last,
                interval_s=self.timing.moving_interval_s,
            )
            if due_s > 0:
                wait_s = min(wait_s, due_s)
                continue
            await client.publish(self.topics.desk(desk, "state"), encode(state), qos=1, retain=True)
            self._sent_state[desk] = state
            self._sent_at[desk] = loop.time()
        return wait_s

    # -- what arrives -------------------------------------------------------------------------
    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            try:
                self._on_message(topic, _as_bytes(message.payload), message.retain)
            except Exception:  # whatever arrives, the bridge goes on
                log.exception("MQTT bridge: a message on %s could not be handled", topic)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self.topics.sync:
            if payload == self._sync_token.encode():
                self._synced.set()
            return
        if topic == self.topics.ha_status:
            if payload.strip() == ONLINE.encode():  # Home Assistant (re)started
                self._republish = True
                self._wake.set()
            return
        if topic.startswith(f"{self.topics.base}/bridge/") and topic.endswith("/desks"):
            self._records[topic] = parse_record(payload)
            return
        if retained and not payload:
            return  # a retained message being cleared (this bridge's own clear included)
        profiles = self._profiles
        if topic.endswith("/profile/set"):
            profiles = self._profiles_with(payload)  # a file added since the last look
        result = parse_command(self.topics, topic, payload, profiles=profiles, retained=retained)
        if result is None:
            return
        if isinstance(result, Refusal) and result.retained and result.target in (None, *self.desks):
            self._to_clear.add(topic)  # said in the refusal's reason, and in the log
            self._wake.set()
        targets = self.desks if result.target is None else [result.target]
        for desk in targets:
            queue = self._queues.get(desk)
            if queue is None:
                continue
            if isinstance(result, Refusal):
                self._error(desk, result.reason, topic)
            elif queue.qsize() >= self.timing.queue_max:
                self._error(desk, "too many commands are waiting; this one is dropped", topic)
            else:
                queue.put_nowait(result)

    # -- carrying commands out ----------------------------------------------------------------
    async def _work(self, desk: str, queue: asyncio.Queue[Request]) -> None:
        while True:
            request = await queue.get()
            try:
                await self._carry_out(desk, request)
            except Exception:
                log.exception("MQTT bridge: %s: the %s command failed", desk, request.command)
                self._error(desk, "the command failed inside deskctl; see its log", request.topic)
            self._wake.set()

    async def _carry_out(self, desk: str, request: Request) -> None:
        if not request.moves:
            await self._ask(request.command, desk, request.args, request.topic)
            return
        status = await self._ask("status", desk, {}, request.topic)
        if not isinstance(status, DeskStatus):
            return
        facts = self.service.facts()[desk]
        refusal = check_request(
            request,
            status_json(status),
            min_mm=facts.min_mm,
            max_mm=facts.max_mm,
            sit_mm=status.sit_mm,
            stand_mm=status.stand_mm,
            inhibited=status.inhibited,
            presets=dict(facts.presets),
        )
        if refusal is not None:
            self._error(desk, refusal.reason, request.topic)
            return
        before = self._moves_started[desk]
        # `remote`: the service itself refuses the move if inhibit came on meanwhile
        answer = self._post(request.command, desk, {**request.args, "remote": True})

        def ended(future: asyncio.Future[CommandResult]) -> None:
            error = None if future.cancelled() else future.exception()
            if error is not None and self._moves_started.get(desk) == before:
                self._error(desk, str(error), request.topic)  # it never started: say why
            self._wake.set()

        answer.add_done_callback(ended)

    def _post(
        self, command: str, desk: str, args: dict[str, Any] | Any
    ) -> asyncio.Future[CommandResult]:
        """Send `command` to the service, its arguments checked first; its answer's future."""
        try:
            parsed = service_command(command, desk, dict(args))
        except DeskctlError as exc:
            answer: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
            answer.set_exception(exc)
        else:
            answer = self.service.send(parsed)
        answer.add_done_callback(_retrieve)
        return answer

    async def _ask(
        self, command: str, desk: str, args: dict[str, Any] | Any, topic: str
    ) -> CommandResult | None:
        answer = self._post(command, desk, args)
        try:
            return await asyncio.wait_for(asyncio.shield(answer), self.timing.call_timeout_s)
        except DeskctlError as exc:
            self._error(desk, str(exc), topic)
        except TimeoutError:
            self._error(
                desk,
                f"the service did not answer the {command} command within "
                f"{self.timing.call_timeout_s:g} s",
                topic,
            )
        return None


def _desk_info(facts: DeskFacts) -> DeskInfo:
    """What Home Assistant shows of a desk: its limits, and the maker and model its link
    declares."""
    return DeskInfo(
        facts.name, facts.min_mm, facts.max_mm, manufacturer=facts.maker, model=facts.model
    )


def _as_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an answer's error as seen (a late answer after a timeout has no reader)."""
    if not future.cancelled():
        future.exception()


def _this_host() -> tuple[str, str, str]:
    """The host name, the user name and the machine id, for the default bridge id."""
    host = socket.gethostname()
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        user = getpass.getuser()
    try:
        machine_id = Path("/etc/machine-id").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        machine_id = ""
    return host, user, f"{machine_id}:{os.getuid()}"


def _codes(exc: BaseException) -> list[int]:
    """The MQTT reason codes in `exc` and the errors that caused it."""
    found: list[int] = []
    seen: set[int] = set()
    inner: BaseException | None = exc
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, aiomqtt.MqttCodeError) and inner.rc is not None:
            code = inner.rc if isinstance(inner.rc, int) else inner.rc.value
            found.append(int(code))
        inner = inner.__cause__ or inner.__context__
    return found


def _taken_over(exc: BaseException) -> bool:
    """The broker said another client with this client id took the session (MQTT 5)."""
    return _SESSION_TAKEN_OVER in _codes(exc)


def _no_mqtt5(exc: BaseException) -> bool:
    """The broker refused the connection for its protocol version (an MQTT 3 broker)."""
    return isinstance(exc, MqttConnectError) and bool({1, 0x84} & set(_codes(exc)))


class _Published:
    """What this service published on one broker, kept in the state folder across restarts.

    One JSON file, a record (as `record_payload` writes) per broker `host:port`, written
    atomically. A file that cannot be read or written is said once; then nothing is cleared.
    """

    def __init__(self, path: Path, broker: str) -> None:
        self.path = path
        self.broker = broker
        self._said = False

    def _all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            self._say(f"cannot read {self.path} ({exc})")
            return {}
        return data if isinstance(data, dict) else {}

    def load(self) -> dict[str, list[str]] | None:
        """The retained topics per desk this service published there, or None if unknown."""
        record = self._all().get(self.broker)
        return parse_record(encode(record)) if isinstance(record, dict) else None

    def save(self, desks: Mapping[str, Sequence[str]]) -> None:
        data = self._all()
        data[self.broker] = record_payload("", desks)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".mqtt-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            self._say(f"cannot write {self.path} ({exc.strerror or exc})")

    def _say(self, problem: str) -> None:
        if not self._said:
            self._said = True
            log.warning(
                "MQTT bridge: %s, so it cannot remember what it published: desks removed from "
                "the settings will keep their Home Assistant entities",
                problem,
            )
