"""An emulated ESPHome desk (an Upsy Desky or a cover) on a real MQTT broker.

Design: the motor and firmware are `esphome_model.EsphomeDeskModel` (pure, stepped in time, with
`EsphomePhysics`: realistic by default, `IDEAL` for exact numbers). `EsphomeDesk` puts it on a
broker with ESPHome's MQTT conventions: availability `<prefix>/status` (`online` retained,
`offline` as last will and on exit); the `upsy` preset publishes
`<prefix>/sensor/desk_height/state` (like `29.5`) and takes
`<prefix>/number/target_desk_height/command` (echoed `%f` on its state topic); the `cover` preset
publishes `<prefix>/cover/<id>/position/state` (0..100) and `<prefix>/cover/<id>/state`
(`open`/`closed`/`opening`/`closing`) and takes `.../position/command` and `.../command` (`OPEN`,
`CLOSE`, `STOP`, `TOGGLE`). States are retained, as ESPHome retains them. It steps the model
every `TICK_S` of its `Clock` while something moves or waits to be published (a scaled clock
runs it faster). Like ESPHome's polling sensor it publishes the firmware's reading when it
changed, at most every `physics.publish_s` (on a fixed grid; 0: at the tick it changed), and it
holds each message it sends and each command it takes for `physics.delay_s` (uniform, in order:
Wi-Fi and the broker). Fault switches: `reporting = False` (the firmware goes silent: no state
messages, though the desk still moves), `go_offline()` (says `offline` and ignores commands until
`go_online()`).

Public API:
    EsphomeDesk(broker, *, prefix="upsy-desky-emu", preset="upsy", clock=None, cover_id="desk",
                model=None)     async context manager; .model, .reporting, .commands,
                                await .command(predicate, after=, timeout_s=), .press(direction),
                                .go_offline(), .go_online(), .wait_closed(), .topics (name → topic)
    EsphomeDeskModel, EsphomePhysics, IDEAL, STEP_S (from `esphome_model`), TICK_S
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import aiomqtt

from deskctl.clocks.clock import Clock
from deskctl.config.settings import MqttSettings
from deskctl.core.units import MM_PER_UNIT
from deskctl.links.mqtt_broker import broker_client, broker_error
from deskctl.sim.esphome_model import IDEAL, STEP_S, EsphomeDeskModel, EsphomePhysics, Preset

__all__ = [
    "IDEAL",
    "STEP_S",
    "TICK_S",
    "BrokerSettings",
    "EsphomeDesk",
    "EsphomeDeskModel",
    "EsphomePhysics",
]

BrokerSettings = (
    MqttSettings  # what an emulated desk takes to reach its broker (its subclasses too)
)

log = logging.getLogger(__name__)

TICK_S = 0.02  # how often the emulator steps the model and publishes (clock seconds)


class EsphomeDesk:
    """`EsphomeDeskModel` on an MQTT broker, as ESPHome would publish it."""

    def __init__(
        self,
        broker: MqttSettings,
        *,
        prefix: str = "upsy-desky-emu",
        preset: Preset = "upsy",
        clock: Clock | None = None,
        cover_id: str = "desk",
        model: EsphomeDeskModel | None = None,
    ) -> None:
        self.broker = broker
        self.prefix = prefix
        self.preset = preset
        self.clock = clock or Clock()
        self.model = model or EsphomeDeskModel(preset)
        if self.model.preset != preset:
            raise ValueError(f"the model is a {self.model.preset!r} desk, not {preset!r}")
        self.reporting = True
        self._offline = False
        self.commands: list[tuple[str, str]] = []
        cover = f"{prefix}/cover/{cover_id}"
        self.topics = {
            "status": f"{prefix}/status",
            "height": f"{prefix}/sensor/desk_height/state",
            "target_state": f"{prefix}/number/target_desk_height/state",
            "target_command": f"{prefix}/number/target_desk_height/command",
            "cover_state": f"{cover}/state",
            "cover_command": f"{cover}/command",
            "position": f"{cover}/position/state",
            "position_command": f"{cover}/position/command",
        }
        self._client: aiomqtt.Client | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._published: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._commanded = asyncio.Condition()
        self._last_s = 0.0
        self._origin_s = 0.0  # the sensor's polling grid starts here
        self._next_poll_s = 0.0
        self.radio = random.Random(self.model.physics.seed + 1)  # noqa: S311 - the delays, not secrets
        self._outbox = _Delayed(self, self._send_now)
        self._inbox = _Delayed(self, self._take)

    # -- lifecycle ----------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        status = self.topics["status"]
        client = broker_client(self.broker, will=aiomqtt.Will(status, "offline", 1, retain=True))
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(client)
            for name in self._command_topics():
                await client.subscribe(self.topics[name], qos=1)
            await client.publish(status, "online", qos=1, retain=True)
        except aiomqtt.MqttError as exc:
            with contextlib.suppress(aiomqtt.MqttError):
                await stack.aclose()
            raise broker_error(exc, self.broker) from None
        self._client, self._stack = client, stack
        self._last_s = self._origin_s = self._next_poll_s = self.clock.monotonic()
        self._publish_states(at_once=True)
        await self._outbox.flush()
        self._tasks = [
            asyncio.create_task(self._listen(client), name=f"{self.prefix}-listen"),
            asyncio.create_task(self._run(), name=f"{self.prefix}-motor"),
            asyncio.create_task(self._outbox.run(), name=f"{self.prefix}-radio-out"),
            asyncio.create_task(self._inbox.run(), name=f"{self.prefix}-radio-in"),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # cancelled again until done: on Python 3.11 a cancel that meets a finishing
        # asyncio.wait_for (inside aiomqtt's publish) is lost, and awaiting the task hung
        for task in self._tasks:
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.1)
            error = None if task.cancelled() else task.exception()
            if error is not None and not isinstance(error, aiomqtt.MqttError):
                raise error
        self._tasks = []
        client, stack = self._client, self._stack
        self._client = self._stack = None
        if client is not None and stack is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self.topics["status"], "offline", qos=1, retain=True)
            with contextlib.suppress(aiomqtt.MqttError):
                await stack.aclose()

    async def wait_closed(self) -> None:
        """Wait until the broker connection ends; raises LinkError saying why."""
        if self._tasks:
            try:
                await self._tasks[0]
            except aiomqtt.MqttError as exc:
                raise broker_error(exc, self.broker) from None

    # -- fault switches -----------------------------------------------------------------------
    async def go_offline(self) -> None:
        """Say `offline` (as the last will would) and ignore commands until `go_online()`."""
        self._offline = True
        await self._publish(self.topics["status"], "offline")

    async def go_online(self) -> None:
        self._offline = False
        await self._publish(self.topics["status"], "online")

    async def command(
        self,
        predicate: Callable[[str, str], bool] = lambda _topic, _payload: True,
        *,
        after: int = 0,
        timeout_s: float = 5.0,
    ) -> tuple[str, str]:
        """The first command received (from index `after`) that matches `predicate(topic,
        payload)`, waiting for it up to `timeout_s` real seconds (TimeoutError after that)."""
        async with asyncio.timeout(timeout_s), self._commanded:
            while True:
                for topic, payload in self.commands[after:]:
                    if predicate(topic, payload):
                        return topic, payload
                await self._commanded.wait()

    def press(self, direction: int) -> None:
        """A hand on the desk's own buttons: +1 up, -1 down, 0 lets go."""
        self._catch_up()
        self.model.press(direction)
        self._wake.set()

    # -- inside -------------------------------------------------------------------------------
    def _command_topics(self) -> tuple[str, ...]:
        if self.preset == "cover":
            return ("position_command", "cover_command")
        return ("target_command",)

    async def _publish(self, topic: str, payload: str) -> None:
        if self._client is not None:
            await self._client.publish(topic, payload, qos=0, retain=True)

    def _states(self) -> dict[str, str]:
        model = self.model
        if self.preset == "cover":
            moving = model.direction or (model.velocity_mm_s > 0) - (model.velocity_mm_s < 0)
            if moving:
                state = "opening" if moving > 0 else "closing"
            else:
                state = "closed" if model.reading == "0" else "open"
            return {self.topics["position"]: model.reading, self.topics["cover_state"]: state}
        return {self.topics["height"]: model.reading}

    def _publish_states(self, *, at_once: bool = False) -> None:
        """Queue each state that changed since it was last published (through the radio)."""
        if not self.reporting:
            return
        for topic, payload in self._states().items():
            if self._published.get(topic) != payload:
                self._published[topic] = payload
                self._outbox.put((topic, payload), at_once=at_once)

    def _unpublished(self) -> bool:
        return self.reporting and any(
            self._published.get(topic) != payload for topic, payload in self._states().items()
        )

    def _poll(self) -> None:
        """The sensor's update: publish a changed reading when the polling grid says so."""
        period_s = self.model.physics.publish_s
        now_s = self.clock.monotonic()
        if period_s > 0:
            if now_s + 1e-9 < self._next_poll_s:
                return
            periods = math.floor((now_s - self._origin_s) / period_s + 1e-9) + 1
            self._next_poll_s = self._origin_s + periods * period_s
        self._publish_states()

    def _catch_up(self) -> None:
        now_s = self.clock.monotonic()
        self.model.advance(now_s - self._last_s)
        self._last_s = now_s

    async def _run(self) -> None:
        while True:
            if not (self.model.active or self._unpublished()):
                self._wake.clear()
                await self._wake.wait()
                self._last_s = self.clock.monotonic()
                continue
            await self.clock.sleep(TICK_S)
            self._catch_up()
            self._poll()

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, (bytes, bytearray)):
                text = bytes(payload).decode("utf-8", errors="replace").strip()
            else:
                text = str(payload).strip()
            self._inbox.put((message.topic.value, text))

    async def _take(self, command: tuple[str, str]) -> None:
        """A command that has come through the radio: the firmware has it (`commands`) and acts
        on it."""
        self.commands.append(command)
        if self._offline:
            async with self._commanded:
                self._commanded.notify_all()
            return
        self._catch_up()
        echo = self._command(*command)
        self._wake.set()
        async with self._commanded:
            self._commanded.notify_all()
        if echo is not None:
            self._outbox.put(echo)
        if self.model.physics.publish_s == 0:
            self._publish_states()

    async def _send_now(self, message: tuple[str, str]) -> None:
        await self._publish(*message)

    def _command(self, topic: str, text: str) -> tuple[str, str] | None:
        """Apply one command; returns a state to echo (the number's), if any."""
        model = self.model
        handlers: dict[str, Callable[[], None]] = {
            "OPEN": lambda: model.set_target_mm(model.top_mm),
            "CLOSE": lambda: model.set_target_mm(model.bottom_mm),
            "STOP": model.stop,
            "TOGGLE": lambda: (
                model.stop()
                if model.active
                else model.set_target_mm(
                    model.top_mm if model.position_percent < 50 else model.bottom_mm
                )
            ),
        }
        if topic == self.topics["cover_command"]:
            handler = handlers.get(text.upper())
            if handler is None:
                log.warning("%s: unknown cover command %r", self.prefix, text[:20])
            else:
                handler()
            return None
        try:
            value = float(text)
        except ValueError:
            log.warning("%s: %r is not a number", self.prefix, text[:20])
            return None
        if not math.isfinite(value):
            return None
        if topic == self.topics["position_command"]:
            value = min(max(value, 0.0), 100.0)
            model.set_target_mm(model.bottom_mm + value * (model.top_mm - model.bottom_mm) / 100)
            return None
        mm_per_unit = float(MM_PER_UNIT[model.unit])
        value = min(max(value, model.bottom_mm / mm_per_unit), model.top_mm / mm_per_unit)
        model.set_target_mm(value * mm_per_unit)
        return self.topics["target_state"], f"{value:f}"


class _Delayed:
    """Messages held for the radio's delay (uniform per message, in order), then handled."""

    def __init__(
        self, desk: EsphomeDesk, handle: Callable[[tuple[str, str]], Awaitable[None]]
    ) -> None:
        self._desk = desk
        self._handle = handle
        self._queue: asyncio.Queue[tuple[float, tuple[str, str]]] = asyncio.Queue()
        self._last_due_s = 0.0

    def put(self, message: tuple[str, str], *, at_once: bool = False) -> None:
        desk = self._desk
        delay_s = 0.0 if at_once else desk.radio.uniform(*desk.model.physics.delay_s)
        due_s = max(self._last_due_s, desk.clock.monotonic() + delay_s)
        self._last_due_s = due_s
        self._queue.put_nowait((due_s, message))

    async def flush(self) -> None:
        while not self._queue.empty():
            _, message = self._queue.get_nowait()
            await self._handle(message)

    async def run(self) -> None:
        clock = self._desk.clock
        while True:
            due_s, message = await self._queue.get()
            wait_s = due_s - clock.monotonic()
            if wait_s > 0:
                await clock.sleep(wait_s)
            await self._handle(message)
