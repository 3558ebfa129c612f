"""`MqttDeskLink`: an ESPHome-style desk (Upsy Desky, LoctekMotion, Jarvis boxes) over MQTT.

Design: all decisions live in pure code; this class only carries them out. `core/esphome.py`'s
`DeskTopics` turns a desk's `MqttDeskSettings` into topics and a payload codec, and
`core/landing.py`'s `LandingMachine` decides every move (aim short by the learned run-on, stop at
the aim, correct, and end with the landed height, `Obstruction`, `ManualOverride`, `MoveTimeout`
or `LinkError`; see there), and which height changes nobody asked for are manual moves. The link
holds one aiomqtt client (`links/mqtt_broker.py`): a reader task turns messages into height
reports for the machine and into `HeightChanged`, `ManualMove` and `ConnectionChanged` events
(the broker, or the desk's availability topic). Each `Decision` is applied the same way: its
publishes go, in order, through one writer task; its deadline re-arms one timer; its manual-move
note and outcome become events and the result of `move_to`. Commands are never retained, so a
desk that reboots does not move.

Every publish goes through `_publish`, the link's one gate for targets: a height on the command
topic outside `min_mm..max_mm` is refused (`DeskLink._check_target`), so a stop whose last height
lies outside the limits is not sent, and the log says why. Height reports outside the desk's
plausible travel are dropped on arrival (`DeskLink._accept_report`). Before moving, a desk whose
every report was dropped as implausible (a wrong unit, most likely) is a `ConfigError` naming the
payload, and nothing is sent. When the broker or the desk's availability drops mid-move, the aim
the desk was given is remembered (`DeskLink._lost_move`): the firmware finishing it is not a
manual move. All timing is clock time from the injected `Clock` (so a scaled clock speeds it up
with the emulated motor); only the broker's own network timeout (`MqttTiming.broker_timeout_s`)
is in real seconds.

A busy machine is not a silent desk: after the event loop was starved (CPU load, a stalled loop)
the reports that came meanwhile wait in the socket and the reader's queue, and the deadline timer
fires in the same loop turn that reads the socket, before the reader task has run. So every
deadline is put off once, by `_READ_FIRST_S` (real time), or by `_CATCH_UP_S` when it fired more
than `_STARVED_S` late, for the reader to hand over what has come first; without that, a stall
ending near `stall_s` into a move read as a desk that stopped short ("something may be in the
way").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import aiomqtt

from deskctl.core.esphome import (
    DeskTopics,
    MoveToCommander,
    Publish,
    RecallCommander,
    StepCommander,
    predicted_mm,
    repeat_step,
    step_within_limits,
)
from deskctl.core.landing import Commander, Decision, LandingConfig, LandingMachine, Phase
from deskctl.core.units import format_height
from deskctl.core.vocab import Outcome
from deskctl.errors import ConfigError, DeskError, LinkError, MoveError
from deskctl.links.base import ConnectionChanged, DeskLink, HeightChanged, ManualMove, Progress
from deskctl.links.deadline import DeadlineTimer
from deskctl.links.mqtt_broker import broker_client, broker_error, warn_tls_insecure

if TYPE_CHECKING:
    from deskctl.clocks.clock import Clock
    from deskctl.config.settings import MqttDeskSettings, MqttSettings

__all__ = ["MqttDeskLink", "MqttTiming"]

log = logging.getLogger(__name__)

_CANCEL_STOP_S = 1.0  # real seconds: a bound on the stop of a cancelled move
_STARVED_S = 0.1  # real seconds: a deadline firing this late means the process was starved
_CATCH_UP_S = 0.1  # real seconds: then the reader's time to hand over what came meanwhile
_READ_FIRST_S = 0.02  # real seconds: always, the reader's turn for what is already here


@dataclass(frozen=True, slots=True)
class MqttTiming:
    """How long the link waits for what (clock seconds unless named otherwise)."""

    first_report_s: float = 2.0  # after connecting: the retained status and height
    # stepping a held button: no height report for this long means the state is lost, and the
    # step is not pressed again (the desk stops within the press it has)
    report_stale_s: float = 0.8
    report_lag_s: float = 0.1  # how old a height may be when it comes (the frame, the radio)
    # a press's trip to the bridge (the broker, Wi-Fi, a busy machine): the desk moves on
    # meanwhile, so a press is judged against the limits from where it may be when it arrives
    command_trip_s: float = 0.1
    broker_timeout_s: float = 10.0  # real seconds: aiomqtt's network timeout
    landing: LandingConfig = field(default_factory=LandingConfig)  # limits: the desk's


@dataclass(slots=True)
class _Out:
    """One publish waiting for the writer; `done` when somebody waits for it."""

    publish: Publish
    done: asyncio.Future[None] | None = field(default=None)


class MqttDeskLink(DeskLink):
    """An ESPHome-style desk on an MQTT broker; see the module docstring."""

    model_name = "ESPHome desk over MQTT"

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
        self.move_timeout_s = desk.move_timeout_s
        self._timing = timing or MqttTiming()
        # a recall runs by itself: only a bridge that can stop it gets its slots used
        stoppable = self.topics.stop_topic is not None or self.topics.move_to
        self.memory_slots = len(self.topics.memory) if stoppable else 0
        self._step_lead_mm = float(desk.stop_lead_mm)  # what steps taught (moves keep their own)
        self._move_lead_mm = float(desk.stop_lead_mm)
        self._way = "move-to"  # how the running (or last) move is commanded
        self._bridge_moving: bool | None = None  # the bridge's own moving state, if it has one
        self._step_timer = DeadlineTimer(clock, self._on_step_due)
        self._last_press_s = 0.0
        self._last_report: tuple[int, float] | None = None  # (mm, clock s), the newest
        self._prev_report: tuple[int, float] | None = None
        self._landing = self._new_landing(float(desk.stop_lead_mm))
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._out: asyncio.Queue[_Out] = asyncio.Queue()
        self._timer = DeadlineTimer(clock, self._on_deadline)
        self._broker_up = False
        self._announced = False
        self._online: bool | None = None
        self._heard = asyncio.Event()
        self._move: asyncio.Future[int] | None = None
        self._progress: Progress | None = None
        self._from_mm: int | None = None  # where the running move started
        self._dropped: tuple[str, int] | None = None  # the last report dropped: payload, mm
        self._aim_sent_mm: int | None = None  # the aim the running move last published
        self._said_insecure = False
        self._caught_up_for: float | None = None  # the deadline already put off for the reader

    @property
    def timing(self) -> MqttTiming:
        return self._timing

    @timing.setter
    def timing(self, timing: MqttTiming) -> None:
        """New timing; it holds from the next move on."""
        self._timing = timing
        self._landing.config = self._landing_config()

    def _landing_config(self, tolerance_mm: int | None = None) -> LandingConfig:
        return replace(
            self._timing.landing,
            min_mm=self.min_mm,
            max_mm=self.max_mm,
            tolerance_mm=self.topics.tolerance_mm if tolerance_mm is None else tolerance_mm,
            move_timeout_s=self.move_timeout_s,
        )

    def _new_landing(
        self, lead_mm: float, settle_s: float | None = None
    ) -> LandingMachine[Publish]:
        commander = MoveToCommander(self.topics, self.min_mm, self.max_mm)
        machine = LandingMachine(self.name, commander, self._landing_config(), lead_mm=lead_mm)
        if settle_s is not None:
            machine.settle_s = settle_s  # what this desk taught: it reports its rest late
        return machine

    # -- state --------------------------------------------------------------------------------
    @property
    def height_mm(self) -> int | None:
        return self._landing.height_mm

    @property
    def moving(self) -> bool:
        """The height changes (or the bridge's moving state says it moves)."""
        return self._landing.moving or self._bridge_moving is True

    @property
    def connected(self) -> bool:
        """The broker is up and the desk says it is online (or has no availability topic)."""
        if not self._broker_up:
            return False
        return self.topics.availability_topic is None or self._online is True

    @property
    def tolerance_mm(self) -> int:
        return self.topics.tolerance_mm

    @property
    def lead_mm(self) -> float:
        """The run-on learned so far: moves aim this far short of the target."""
        return self._landing.lead_mm

    # -- connection ---------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._broker_up:
            return
        if not self._said_insecure:
            self._said_insecure = True  # once per link, not at every reconnect
            warn_tls_insecure(self.broker, self.name)
        await self._teardown()  # what is left of a connection the broker dropped
        client = broker_client(self.broker, timeout_s=self.timing.broker_timeout_s)
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(client)
            await client.subscribe(self.topics.state_topic, qos=1)
            for topic in (self.topics.availability_topic, self.topics.moving_topic):
                if topic is not None:
                    await client.subscribe(topic, qos=1)
        except aiomqtt.MqttError as exc:
            with contextlib.suppress(aiomqtt.MqttError):
                await stack.aclose()
            raise broker_error(exc, self.broker) from None
        self._stack, self._client, self._broker_up = stack, client, True
        self._online, self._announced = None, False
        self._bridge_moving = None
        self._last_report = self._prev_report = None
        landing = self._landing
        self._landing = self._new_landing(landing.lead_mm, landing.settle_s)  # no height yet
        self._heard = asyncio.Event()
        self._out = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name=f"{self.name}-mqtt-writer")
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
        known = self._landing.height_mm is not None
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
        if self._landing.target_mm is not None and self._broker_up:
            reason = f"the link to desk {self.name!r} was closed during the move"
            self._apply(self._landing.link_lost(reason, self.clock.monotonic()))
            self._apply(self._stop_now())
            await self._drained(self.timing.broker_timeout_s)
        await self._teardown()

    async def _teardown(self) -> None:
        for task in (self._reader, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._reader = self._writer = None
        while not self._out.empty():  # publishes the writer will not send any more
            self._resolve(self._out.get_nowait(), self._not_connected())
            self._out.task_done()
        stack, self._stack, self._client = self._stack, None, None
        self._broker_up = False
        self._timer.disarm()
        self._step_timer.disarm()
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
        self._apply(self._landing.link_lost(str(error), self.clock.monotonic(), silent=True))
        self._emit(ConnectionChanged(False, str(error)))

    def _on_message(self, topic: str, text: str) -> None:
        if topic == self.topics.availability_topic:
            self._on_availability(text)
        elif topic == self.topics.moving_topic and topic != self.topics.state_topic:
            moving = self.topics.decode_moving(text)
            if moving is not None:
                self._bridge_moving = moving
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
        online = self.topics.availability(state)
        if online is None:
            log.debug("%s: ignored an availability payload %r", self.name, state[:40])
            return
        if online == self._online:
            return
        self._online = online
        self._check_heard()
        if not online:
            reason = f"desk {self.name!r} went offline during the move"
            self._apply(self._landing.link_lost(reason, self.clock.monotonic()))
        if self._announced:
            self._emit(ConnectionChanged(online, self._connection_reason()))

    def _on_height(self, height_mm: int) -> None:
        now_s = self.clock.monotonic()
        self._prev_report, self._last_report = self._last_report, (height_mm, now_s)
        decision = self._landing.report(height_mm, now_s)
        self._check_heard()
        self._emit(HeightChanged(height_mm, self._landing.moving))
        if self._progress is not None:
            self._progress(height_mm)
        self._apply(decision)

    # -- applying decisions -------------------------------------------------------------------
    def _apply(
        self, decision: Decision[Publish], *, wait: bool = False
    ) -> asyncio.Future[None] | None:
        """Carry out `decision`; with `wait`, a future that ends with its last publish (None if
        it has none)."""
        done: asyncio.Future[None] | None = None
        ended_short = decision.outcome not in (None, Outcome.ARRIVED, Outcome.LINK_LOST)
        if ended_short and self._way == "memory" and not decision.commands:
            stop = self._bridge_stop()  # the box lands by itself: stop it when the move ends
            if stop is not None:
                decision = replace(decision, commands=(stop,))
        for publish in decision.commands:
            done = asyncio.get_running_loop().create_future() if wait else None
            self._out.put_nowait(_Out(publish, done))
        self._timer.arm(decision.deadline_s)
        if decision.rested and decision.height_mm is not None:
            self._emit(HeightChanged(decision.height_mm, False))
        if decision.manual is not None:
            self._emit(ManualMove(decision.manual.height_mm, ended=decision.manual.ended))
        if decision.outcome is not None:
            self._finish(decision)
        return done

    def _finish(self, decision: Decision[Publish]) -> None:
        if decision.outcome is Outcome.LINK_LOST:  # the desk may finish its aim: not manual
            self._lost_move(decision.height_mm or self._from_mm, self._aim_sent_mm)
        elif decision.outcome is Outcome.ARRIVED and decision.message:
            log.warning("%s: %s", self.name, decision.message)
        move = self._move
        if move is None or move.done():
            return
        error = decision.error()
        if error is not None:
            move.set_exception(error)
        elif decision.height_mm is not None:
            move.set_result(decision.height_mm)

    def _on_deadline(self) -> None:
        deadline_s = self._landing.deadline_s
        if deadline_s is None:
            return
        now_s = self.clock.monotonic()
        if self._caught_up_for != deadline_s:
            self._caught_up_for = deadline_s  # once: a deadline that is late again is due
            starved = self.clock.real_seconds(now_s - deadline_s) > _STARVED_S
            wait_s = _CATCH_UP_S if starved else _READ_FIRST_S
            self._timer.arm(now_s + wait_s * self.clock.scale)
            return
        self._apply(self._landing.tick(now_s))

    # -- the one writer -----------------------------------------------------------------------
    async def _write_loop(self) -> None:
        """Every decision's publishes leave here, in order, through `_publish`."""
        while True:
            out = await self._out.get()
            error: LinkError | None = None
            try:
                await self._publish(out.publish)
                self._apply(self._landing.sent(self.clock.monotonic()))
                if out.publish.what.startswith("a step"):
                    self._pressed()
            except MoveError as exc:
                self._refused(out.publish, exc)
            except LinkError as exc:
                error = exc
                if self._landing.target_mm is not None:  # the move cannot go on without it
                    self._apply(self._landing.link_lost(str(exc), self.clock.monotonic()))
            except asyncio.CancelledError:  # the connection is being torn down
                error = self._not_connected()
                raise
            finally:
                self._resolve(out, error)
                self._out.task_done()

    def _refused(self, publish: Publish, exc: MoveError) -> None:
        """The gate refused a publish: a stop is left out (the log says why); a move's aim
        ends the move with that error, and the desk is told to stop."""
        if publish.what == "a stop":
            log.warning("%s: no stop sent: %s", self.name, exc)
            return
        height_mm, target_mm = self._landing.height_mm, self._landing.target_mm
        near = (
            publish.what.startswith("a step")
            and height_mm is not None
            and target_mm is not None
            and abs(height_mm - target_mm) <= self.topics.step_mm
        )
        if self._move is not None and not self._move.done():
            if near and height_mm is not None and target_mm is not None:  # a correction
                log.warning(
                    "%s: landed at %d mm, %d mm from the target %d mm: one more press could "
                    "take it past its limits",
                    self.name,
                    height_mm,
                    height_mm - target_mm,
                    target_mm,
                )
                self._move.set_result(height_mm)
            else:
                self._move.set_exception(exc)
        if self._landing.target_mm is not None:
            self._apply(self._landing.stop(self.clock.monotonic()))

    @staticmethod
    def _resolve(out: _Out, error: LinkError | None) -> None:
        if out.done is None or out.done.done():
            return
        if error is None:
            out.done.set_result(None)
        else:
            out.done.set_exception(error)

    async def _publish(self, publish: Publish) -> None:
        """Publish one command; the one way out of this link for every target (see `DeskLink`).

        On the command topic a payload that reads as a height must lie within the limits
        (MoveError otherwise; `publish.what` names what the target was for); anything else sent
        there must be the configured stop payload.
        """
        topic, payload = publish.topic, publish.payload
        target_mm: int | None = None
        if publish.what.startswith("a step"):
            self._check_step(publish)
        elif publish.what.startswith("memory "):
            self._check_recall(publish)
        elif topic == self.topics.command_topic:
            target_mm = self.topics.decode_command(payload)
            if target_mm is not None:
                self._check_target(target_mm, publish.what)
            elif not (topic == self.topics.stop_topic and payload == self.topics.stop_payload):
                raise MoveError(f"desk {self.name!r}: refused to send {payload!r} as a target")
        client = self._client
        if client is None or not self._broker_up:
            raise self._not_connected()
        try:
            await client.publish(topic, payload, qos=1, retain=False)
        except aiomqtt.MqttError as exc:
            raise broker_error(exc, self.broker) from None
        if publish.what == "a move":
            self._aim_sent_mm = target_mm

    def _check_step(self, publish: Publish) -> None:
        """A step implies a target: where one press takes the desk from its last height. It must
        lie within the limits (MoveError otherwise), and the height must be known."""
        direction = 1 if publish.what == "a step up" else -1
        now_mm = self._now_mm(self.clock.monotonic(), direction, trip=True)
        step_mm = self.topics.step_mm
        if not step_within_limits(now_mm, direction, step_mm, self.min_mm, self.max_mm):
            where = "an unknown height" if now_mm is None else format_height(round(now_mm))
            raise MoveError(
                f"desk {self.name!r}: refused {publish.what} from {where}: one press (about "
                f"{step_mm:g} mm) could take it past its limits of {format_height(self.min_mm)} "
                f"to {format_height(self.max_mm)}"
            )

    def _check_recall(self, publish: Publish) -> None:
        """A recall's target is the height its slot holds: known, and within the limits."""
        slot = int(publish.what.removeprefix("memory "))
        height_mm = self.slot_mm(slot)
        if height_mm is None:
            raise MoveError(
                f"desk {self.name!r}: refused memory {slot}: the height it holds is not known "
                "(memory_heights)"
            )
        self._check_target(height_mm, publish.what)

    def _stop_now(self) -> Decision[Publish]:
        """The machine's stop; during a recall (whose commander has none: the box lands by
        itself) with the bridge's own stop."""
        decision = self._landing.stop(self.clock.monotonic())
        stop = self._bridge_stop()
        if not decision.commands and stop is not None and self._way == "memory":
            decision = replace(decision, commands=(stop,))
        return decision

    def _bridge_stop(self) -> Publish | None:
        message = self.topics.stop_message(self._landing.height_mm)
        return None if message is None else Publish(*message, "a stop")

    def _not_connected(self) -> LinkError:
        return LinkError(f"desk {self.name!r} is not connected to the MQTT broker")

    async def _drained(self, timeout_s: float) -> None:
        """Wait (at most `timeout_s` real seconds) until every queued publish went out."""
        writer = self._writer
        if writer is None or writer.done():
            return
        joined = asyncio.ensure_future(self._out.join())
        await asyncio.wait({joined, writer}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        joined.cancel()

    # -- commands -----------------------------------------------------------------------------
    async def stop(self) -> None:
        if not self._broker_up:
            raise self._not_connected()
        self._step_timer.disarm()
        done = self._apply(self._stop_now(), wait=True)
        if done is None:
            if self.topics.stop_topic is None and self.topics.command_topic is None:
                log.info("%s: the bridge has no stop; the desk stops as its press ends", self.name)
            else:
                log.warning("%s: no stop sent: the desk's height is not known yet", self.name)
            return
        await done

    async def _ready_height_mm(self) -> int:
        """The current height, once the desk is online and has reported; else LinkError."""
        if not self._broker_up:
            raise self._not_connected()
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
        height_mm = self._landing.height_mm
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
        return await self._run_move(target_mm, progress, None)

    async def _run_move(self, target_mm: int, progress: Progress | None, slot: int | None) -> int:
        if self._move is not None:
            raise MoveError("a move is already running; stop it first")
        move: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._move = move
        try:
            self._from_mm = await self._ready_height_mm()
            self._choose_way(target_mm, slot)
            self._aim_sent_mm = None
            self._progress = progress
            decision = self._landing.start(target_mm, self.clock.monotonic())
            if decision.commands and self.topics.wake is not None:  # some boxes sleep
                wake = self.topics.wake
                self._out.put_nowait(_Out(Publish(wake.topic, wake.payload, "a wake")))
            self._apply(decision)
            try:
                return await move
            except asyncio.CancelledError:
                if self._landing.target_mm is not None:
                    self._apply(self._landing.stop(self.clock.monotonic()))
                    await self._drained(_CANCEL_STOP_S)
                raise
        finally:
            self._move = None
            self._progress = None
            self._step_timer.disarm()
            self._end_way()

    async def _recall(self, slot: int) -> int:
        height_mm = self.slot_mm(slot)
        if height_mm is None:  # pragma: no cover - DeskLink.recall checks first
            raise MoveError(f"desk {self.name!r} does not know what memory {slot} holds")
        return await self._run_move(height_mm, None, slot)

    def _no_slots(self) -> DeskError:
        if self.topics.memory and not self.memory_slots:
            return DeskError(
                f"desk {self.name!r}'s bridge has no stop, so its memory recalls are not used: "
                "one could not be stopped once started"
            )
        return super()._no_slots()

    def slot_mm(self, slot: int) -> int | None:
        if 1 <= slot <= len(self.topics.memory):
            return self.topics.memory[slot - 1].height_mm
        return None

    # -- ways to move -------------------------------------------------------------------------
    def _choose_way(self, target_mm: int, slot: int | None) -> None:
        """How this move is commanded: a recall asked for, the move-to, a memory slot holding
        the target (an exact landing on a box without move-to), or steps; MoveError if none."""
        topics = self.topics
        if slot is None and not topics.move_to and self.memory_slots:
            slot = topics.slot_for(target_mm)
        machine = self._landing
        commander: Commander[Publish]
        if slot is not None:
            self._way, commander, lead_mm = "memory", RecallCommander(topics, slot), 0.0
            tolerance_mm = topics.tolerance_mm
        elif topics.move_to:
            commander = MoveToCommander(topics, self.min_mm, self.max_mm)
            self._way, lead_mm, tolerance_mm = "move-to", self._move_lead_mm, topics.tolerance_mm
        elif topics.steps:
            self._way, commander, lead_mm = "steps", StepCommander(topics), self._step_lead_mm
            tolerance_mm = topics.step_tolerance_mm
        else:
            known = [
                f"{n}: {format_height(m.height_mm)}"
                for n, m in enumerate(topics.memory, start=1)
                if m.height_mm is not None
            ]
            raise MoveError(
                f"desk {self.name!r} has no move-to and no step commands, so it lands only on "
                f"its memory heights ({', '.join(known) or 'none known'}), not on "
                f"{format_height(target_mm)}"
            )
        machine.commander = commander
        machine.lead_mm = lead_mm
        machine.config = self._landing_config(tolerance_mm)

    def _end_way(self) -> None:
        """After a move: keep what it taught, and go back to the move-to's numbers."""
        machine = self._landing
        if self._way == "steps":
            self._step_lead_mm = machine.lead_mm
        elif self._way == "move-to":
            self._move_lead_mm = machine.lead_mm
        if self._way != "move-to":
            self._way = "move-to"
            machine.lead_mm = self._move_lead_mm
            machine.config = self._landing_config()
            if self.topics.move_to:
                machine.commander = MoveToCommander(self.topics, self.min_mm, self.max_mm)

    def _pressed(self) -> None:
        """A step went out: press it again `step_repeat_s` later if the desk still needs it."""
        self._last_press_s = self.clock.monotonic()
        repeat_s = self.topics.step_repeat_s
        if repeat_s is not None and self._landing.phase is Phase.APPROACHING:
            self._step_timer.arm(self._last_press_s + repeat_s)

    def _now_mm(self, now_s: float, direction: int, *, trip: bool = False) -> float | None:
        """How far the desk may be now in `direction`, from its last reports (None: none);
        with `trip`, by the time a press sent now reaches the bridge."""
        latest = self._last_report
        if latest is None:
            return None
        if not self._landing.moving:  # at rest: its last reports' speed is history
            return float(latest[0])
        lag_s = self.timing.report_lag_s + (self.timing.command_trip_s if trip else 0.0)
        return predicted_mm(self._prev_report, latest, now_s, direction, lag_s=lag_s)

    def _on_step_due(self) -> None:
        machine = self._landing
        repeat_s = self.topics.step_repeat_s
        aim_mm, direction, latest = machine.aim_mm, machine.direction, self._last_report
        if (
            repeat_s is None
            or machine.phase is not Phase.APPROACHING
            or not isinstance(machine.commander, StepCommander)
            or aim_mm is None
            or latest is None
        ):
            return
        now_s = self.clock.monotonic()
        now_mm = self._now_mm(now_s, direction) or float(latest[0])
        due = repeat_step(
            height_mm=now_mm,
            aim_mm=aim_mm,
            direction=direction,
            report_age_s=now_s - latest[1],
            press_age_s=now_s - self._last_press_s,
            repeat_s=repeat_s,
            stale_s=self.timing.report_stale_s,
        )
        step_mm = self.topics.step_mm
        arrives_mm = self._now_mm(now_s, direction, trip=True)
        if due and step_within_limits(arrives_mm, direction, step_mm, self.min_mm, self.max_mm):
            self._out.put_nowait(_Out(machine.commander.step(direction)))
        else:
            self._step_timer.arm(now_s + repeat_s)  # look again: the state may come back
