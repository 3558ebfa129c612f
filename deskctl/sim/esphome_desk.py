"""An emulated ESPHome desk (an Upsy Desky or a cover) on a real MQTT broker.

Design: two layers, as with the LINAK model.
- `EsphomeDeskModel` is pure and stepped in time (`advance(dt_s)`, in substeps of `STEP_S`): a
  wired desk box whose motor runs while up or down is held, ramping at `accel_mm_s2` to
  `speed_mm_s` (38 mm/s) and coasting to rest on release, plus the ESPHome firmware in front of it.
  The firmware has no exact move-to of its own: given a target it holds the button towards it
  and releases it once its reading (the height at the payload's own resolution: 0.1 in by
  default, or one percent of the range for a cover) has reached the target, plus `runs_past_mm`
  for a firmware with a slow loop; the motor then runs on. A new target while moving that lies
  behind the motion, or within one step of the reading, releases the button (the desk stops; it
  never reverses in one go); at rest, a target one step or more away starts a move. Hands on the
  desk's own buttons (`press`) override the firmware; `obstacle_mm` stops the motor there
  (no back-off) for as long as it is driven against it.
- `EsphomeDesk` puts the model on a broker with ESPHome's MQTT conventions: availability
  `<prefix>/status` (`online` retained, `offline` as last will and on exit); the `upsy` preset
  publishes `<prefix>/sensor/desk_height/state` (like `29.5`) and takes
  `<prefix>/number/target_desk_height/command` (echoed `%f` on its state topic); the `cover`
  preset publishes `<prefix>/cover/<id>/position/state` (0..100) and `<prefix>/cover/<id>/state`
  (`open`/`closed`/`opening`/`closing`) and takes `.../position/command` and `.../command`
  (`OPEN`, `CLOSE`, `STOP`, `TOGGLE`). States are retained, as ESPHome retains them. It steps the
  model every `TICK_S` of its `Clock` while something moves (a scaled clock runs it faster) and
  publishes the height whenever the reading changes. Fault switches: `reporting = False` (the
  firmware goes silent: no state messages, though the desk still moves), `go_offline()` (says
  `offline` and ignores commands until `go_online()`).

Public API:
    EsphomeDeskModel(preset="upsy", *, height_mm=750, bottom_mm=620, top_mm=1270, unit="in",
                     decimals=1, speed_mm_s=38.0, accel_mm_s2=300.0, runs_past_mm=0.0)
        .set_target_mm(mm), .stop(), .press(direction), .advance(dt_s), .obstacle_mm
        .position_mm, .velocity_mm_s, .reading, .reading_mm, .resolution_mm, .active
    EsphomeDesk(broker, *, prefix="upsy-desky-emu", preset="upsy", clock=None, cover_id="desk",
                model=None)     async context manager; .model, .reporting, .commands,
                                await .command(predicate, after=, timeout_s=), .press(direction),
                                .go_offline(), .go_online(), .wait_closed(), .topics (name → topic)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self

import aiomqtt

from deskctl.clocks.clock import Clock
from deskctl.config.settings import MqttSettings
from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM
from deskctl.core.units import MM_PER_UNIT
from deskctl.links.mqtt_broker import broker_client, broker_error

__all__ = ["STEP_S", "TICK_S", "EsphomeDesk", "EsphomeDeskModel"]

log = logging.getLogger(__name__)

Preset = Literal["upsy", "cover"]
STEP_S = 0.002  # the longest substep of the motor and firmware simulation
TICK_S = 0.02  # how often the emulator steps the model and publishes (clock seconds)
_EPS_MM = 1e-6


class EsphomeDeskModel:
    """A hold-to-move desk box with ESPHome firmware in front; see the module docstring."""

    def __init__(
        self,
        preset: Preset = "upsy",
        *,
        height_mm: float = 750,
        bottom_mm: int = DEFAULT_BASE_MM,
        top_mm: int = DEFAULT_TOP_MM,
        unit: Literal["in", "cm", "mm"] = "in",
        decimals: int = 1,
        speed_mm_s: float = 38.0,
        accel_mm_s2: float = 300.0,
        runs_past_mm: float = 0.0,
    ) -> None:
        if not bottom_mm < top_mm:
            raise ValueError(f"the bottom {bottom_mm} mm must lie below the top {top_mm} mm")
        if not bottom_mm <= height_mm <= top_mm:
            raise ValueError(f"{height_mm} mm lies outside the desk's {bottom_mm}..{top_mm} mm")
        if min(speed_mm_s, accel_mm_s2) <= 0 or decimals < 0 or runs_past_mm < 0:
            raise ValueError(
                "speed and acceleration must be positive, decimals and run-on not negative"
            )
        self.preset = preset
        self.bottom_mm = bottom_mm
        self.top_mm = top_mm
        self.unit = unit
        self.decimals = decimals
        self.speed_mm_s = speed_mm_s
        self.accel_mm_s2 = accel_mm_s2
        self.runs_past_mm = runs_past_mm
        self.obstacle_mm: float | None = None
        self.position_mm = float(height_mm)
        self.velocity_mm_s = 0.0
        self.target_mm: float | None = None
        self._held = 0  # the button the firmware holds: +1 up, -1 down
        self._pressed = 0  # a person's hand on the desk's own buttons
        self._hit_from = 0  # the direction the desk ran into the obstacle

    # -- the reading --------------------------------------------------------------------------
    @property
    def resolution_mm(self) -> float:
        if self.preset == "cover":
            return (self.top_mm - self.bottom_mm) / 100
        return float(MM_PER_UNIT[self.unit]) * 10.0 ** (-self.decimals)

    def _quantize(self, position_mm: float) -> float:
        """The height as the firmware reads it, in mm (a whole number of steps)."""
        if self.preset == "cover":
            steps = math.floor((position_mm - self.bottom_mm) / self.resolution_mm + 0.5)
            return self.bottom_mm + steps * self.resolution_mm
        steps = math.floor(position_mm / self.resolution_mm + 0.5)
        return steps * self.resolution_mm

    @property
    def reading_mm(self) -> float:
        return self._quantize(self.position_mm)

    @property
    def reading(self) -> str:
        """The state payload: the height in the unit with its decimals, or a cover's position."""
        if self.preset == "cover":
            return str(round((self.reading_mm - self.bottom_mm) / self.resolution_mm))
        value = self.reading_mm / float(MM_PER_UNIT[self.unit])
        return f"{value:.{self.decimals}f}"

    @property
    def position_percent(self) -> float:
        return (self.position_mm - self.bottom_mm) * 100 / (self.top_mm - self.bottom_mm)

    @property
    def direction(self) -> int:
        """Where the motor is driven: the hand on the buttons first, else the firmware."""
        return self._pressed or self._held

    @property
    def active(self) -> bool:
        """False once nothing changes with time (stepping can pause)."""
        return self.direction != 0 or self.velocity_mm_s != 0

    # -- commands -----------------------------------------------------------------------------
    def set_target_mm(self, target_mm: float) -> None:
        """A target from the number or the cover's position (clamped to the desk's range)."""
        target = min(max(float(target_mm), float(self.bottom_mm)), float(self.top_mm))
        gap = target - self.reading_mm
        step = self.resolution_mm
        moving = self.direction or (
            1 if self.velocity_mm_s > 0 else -1 if self.velocity_mm_s else 0
        )
        if moving and gap * moving < step - _EPS_MM:
            self.stop()  # behind the motion, or within a step: release, never reverse at speed
            return
        if abs(gap) < step - _EPS_MM:
            self.stop()
            return
        self.target_mm = target
        self._held = 1 if gap > 0 else -1

    def stop(self) -> None:
        self.target_mm = None
        self._held = 0

    def press(self, direction: int) -> None:
        """A hand on the desk's own buttons: +1 up, -1 down, 0 lets go (overrides the firmware)."""
        self._pressed = (direction > 0) - (direction < 0)
        if self._pressed:
            self.stop()

    # -- time ---------------------------------------------------------------------------------
    def advance(self, dt_s: float) -> None:
        """Let `dt_s` seconds pass, in substeps of at most STEP_S."""
        remaining = max(0.0, dt_s)
        while remaining > 0 and self.active:
            step = min(STEP_S, remaining)
            self._step(step)
            remaining -= step

    def _step(self, dt_s: float) -> None:
        drive = self.direction
        goal = drive * self.speed_mm_s
        at_end = (drive > 0 and self.position_mm >= self.top_mm) or (
            drive < 0 and self.position_mm <= self.bottom_mm
        )
        if at_end:
            goal = 0.0
        change = self.accel_mm_s2 * dt_s
        if self.velocity_mm_s < goal:
            self.velocity_mm_s = min(goal, self.velocity_mm_s + change)
        elif self.velocity_mm_s > goal:
            self.velocity_mm_s = max(goal, self.velocity_mm_s - change)
        before = self.position_mm
        after = min(max(before + self.velocity_mm_s * dt_s, self.bottom_mm), self.top_mm)
        if self.obstacle_mm is not None and self._hits_obstacle(before, after):
            self._hit_from = 1 if after > before else -1
            after = float(self.obstacle_mm)
            self.velocity_mm_s = 0.0
        if after in (self.bottom_mm, self.top_mm):
            self.velocity_mm_s = 0.0
        self.position_mm = after
        self._firmware()

    def _hits_obstacle(self, before: float, after: float) -> bool:
        """Whether moving from `before` to `after` runs into (or pushes against) the obstacle."""
        obstacle = self.obstacle_mm
        if obstacle is None:
            return False
        if before < obstacle:
            return after >= obstacle
        if before > obstacle:
            return after <= obstacle
        return (after - before) * self._hit_from > 0  # pushing on against it

    def _firmware(self) -> None:
        """Release the held button once the reading has reached the target (plus any run-past)."""
        if self._held == 0 or self.target_mm is None:
            return
        passed_mm = (self.reading_mm - self.target_mm) * self._held
        if passed_mm >= self.runs_past_mm - _EPS_MM:
            self.stop()


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
        self._last_s = self.clock.monotonic()
        await self._publish_states()
        self._tasks = [
            asyncio.create_task(self._listen(client), name=f"{self.prefix}-listen"),
            asyncio.create_task(self._run(), name=f"{self.prefix}-motor"),
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

    async def _publish_states(self) -> None:
        if not self.reporting:
            return
        for topic, payload in self._states().items():
            if self._published.get(topic) != payload:
                self._published[topic] = payload
                await self._publish(topic, payload)

    def _catch_up(self) -> None:
        now_s = self.clock.monotonic()
        self.model.advance(now_s - self._last_s)
        self._last_s = now_s

    async def _run(self) -> None:
        while True:
            if not self.model.active:
                self._wake.clear()
                await self._wake.wait()
                self._last_s = self.clock.monotonic()
                continue
            await self.clock.sleep(TICK_S)
            self._catch_up()
            await self._publish_states()

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, (bytes, bytearray)):
                text = bytes(payload).decode("utf-8", errors="replace").strip()
            else:
                text = str(payload).strip()
            topic = message.topic.value
            self.commands.append((topic, text))
            async with self._commanded:
                self._commanded.notify_all()
            if self._offline:
                continue
            self._catch_up()
            echo = self._command(topic, text)
            self._wake.set()
            if echo is not None:
                await self._publish(*echo)
            await self._publish_states()

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
