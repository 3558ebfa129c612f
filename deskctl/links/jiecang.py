"""`JiecangLink`: a Jiecang desk (Uplift, Desky, DeskHaus, Omnidesk) over any `PipeGatt`.

Design: the decisions are pure: `core/jiecang.py` reads and writes the frames, `core/landing.py`'s
`LandingMachine` decides every move with a commander of `core/jiecang_landing.py` (1B or a memory
recall, where the box lands by itself; steps and a stop with the learned run-on, where it does
not), and which height changes nobody asked for are manual moves. This class carries them out:
- Connecting finds the variant in the GATT database (`find_variant`; never the advertisement),
  subscribes, wakes the box, and asks for its limits (0C), settings (07: memories and height) and
  display unit (0E); the unit is a setting if given, else the box's answer, else the range rule
  (`guess_unit`). The box's limits narrow the configured ones, never widen them.
- Writes go, in order, through one writer task; before a command after `wake_after_s` of quiet
  it sends a wake (00) first. Every frame passes the gate: a 1B's height and a recalled memory's
  height go through `DeskLink._check_target` right before they leave; the codec cannot encode
  reset, calibration or limit commands at all.
- A move tries the ways of `jiecang_landing.plan` in order: a box that does not move within
  `start_s` of a 1B is taken not to know 1B (remembered for the connection), and the move goes on
  with a memory slot that holds the target, else with steps. While stepping, the step is repeated
  every `step_every_s` as long as the machine approaches, at most `steps_ahead` steps past the aim.
  An approach shorter than one and a half steps (a short move, a correction) is one step with no
  stop: a step lands to within a millimetre by itself, while a stop sent on the report that shows
  the aim comes a report too late; so a landing more than half a step off comes within half a
  step with one more step. On a longer one, reports come every ~9 mm of travel, so the link tells
  the machine when the desk passes the aim by the speed of the last two reports, and the stop
  goes out then (the machine learns the run-on from where the desk comes to rest).
- Reports come only while the box moves, so its last word may be from before it came to rest:
  after `read_back_s` without a report during a move (and once after a person's move) the link
  asks for the settings (07), whose answer holds the height, so a landing is judged on where the
  desk rests. Only height changes go to the machine (a repeat of the same height is no news).
- An error report (02) ends a move with its sentence (E01-E04 as an obstruction; H01: the motor
  is hot and needs about 16 minutes; LOCK: the child lock); a report moving away from the target
  is a hand on the paddle (`ManualOverride`, from the machine). Every ending but an arrival or a
  lost link sends the stop (2B).
- A dropped link ends a move with `LinkError` and remembers the aim (`DeskLink._lost_move`), so
  the box finishing the 1B it was given is not taken for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from deskctl.core import jiecang_landing as jl
from deskctl.core.jiecang import (
    DisplayUnit,
    ErrorReport,
    HeightReport,
    LimitsReport,
    MemoryReport,
    Op,
    Report,
    ReportParser,
    ResetReport,
    UnitReport,
    Variant,
    encode,
    find_variant,
    guess_unit,
    save_op,
)
from deskctl.core.landing import Decision, LandingConfig, LandingMachine, Phase
from deskctl.core.units import format_height
from deskctl.core.vocab import Outcome
from deskctl.errors import (
    DeskctlError,
    DeskError,
    LinkError,
    MoveError,
    Obstruction,
    ProtocolError,
)
from deskctl.links.base import (
    ConnectionChanged,
    DeskLink,
    HeightChanged,
    ManualMove,
    Progress,
    drained,
)
from deskctl.links.deadline import DeadlineTimer
from deskctl.links.gatt import PipeGatt

if TYPE_CHECKING:
    from deskctl.clocks.clock import Clock

__all__ = ["JiecangLink", "JiecangTiming"]

log = logging.getLogger(__name__)

_START_CHECK_MM = 10  # a 1B this long moves the box visibly: else it says nothing about 1B
_QUESTIONS = frozenset({Op.WAKE, Op.REQUEST_SETTINGS, Op.REQUEST_LIMITS, Op.REQUEST_UNIT})
_RECALLS = {int(Op.RECALL_1): 1, int(Op.RECALL_2): 2, int(Op.RECALL_3): 3, int(Op.RECALL_4): 4}


@dataclass(frozen=True, slots=True)
class JiecangTiming:
    """How long the link waits for what (clock seconds)."""

    answer_s: float = 1.5  # an answer to 0C, 07 or 0E
    start_s: float = 1.2  # no motion this long after a 1B: the box ignores 1B
    read_back_s: float = 0.4  # no report this long during a move: ask where the desk is
    step_every_s: float = 0.3  # repeat a step this often while approaching
    steps_ahead: int = 1  # never more than this many steps past the aim
    wake_after_s: float = 20.0  # send a wake before a command after this long without one
    tick_s: float = 0.1  # how often the move's watch looks at the clock
    predict_s: float = 0.35  # stepping: stop between reports when the aim is this close in time


class _Ignored(DeskctlError):
    """The box did not move on a 1B: try the next way."""


class JiecangLink(DeskLink):
    """A Jiecang desk over a byte-pipe GATT client; see the module docstring."""

    maker = "Jiecang"  # the control box's maker; the desk's brand (Uplift, Desky, …) is not said
    model_name = "Desk over Bluetooth LE"

    def __init__(
        self,
        name: str,
        gatt: PipeGatt,
        clock: Clock,
        *,
        min_mm: int,
        max_mm: int,
        unit: DisplayUnit | None = None,
        timing: JiecangTiming | None = None,
        step_mm: float = jl.STEP_MM,
    ) -> None:
        super().__init__(name, clock, min_mm=min_mm, max_mm=max_mm)
        self.gatt = gatt
        self.unit_setting = unit
        self.timing = timing or JiecangTiming()
        self.step_mm = step_mm
        self.variant: Variant | None = None
        self.unit: DisplayUnit | None = None
        self.memories: dict[int, int] = {}  # slot -> display tenths
        self.box_limits: tuple[int, int] | None = None  # (min, max) mm as the box says
        self.move_to_works: bool | None = None  # None: not known yet
        self.last_error: ErrorReport | None = None
        self._parser = ReportParser()
        self._machine = self._new_machine()
        self._step_lead_mm = 5.0
        self._writes: asyncio.Queue[bytes] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._timer = DeadlineTimer(clock, self._on_deadline)
        self._watch: asyncio.Task[None] | None = None
        self._move: asyncio.Future[int] | None = None
        self._way = jl.Way.MOVE_TO
        self._progress: Progress | None = None
        self._waiters: list[tuple[type, asyncio.Future[Report]]] = []
        self._tenths: int | None = None  # the last height report, before the unit is known
        self._last_sent_s = -1e9
        self._last_report_s = 0.0
        self._last_ask_s = -1e9
        self._start_mm = 0
        self._moved = False
        self._check_start = False  # a move long enough to tell whether the box took a 1B
        self._step_aim: int | None = None
        self._single_step = False  # this approach is one step, which ends by itself
        self._step_goal = 0.0
        self._last_step_s = 0.0
        self._read_back: asyncio.TimerHandle | None = None
        self._predicted: asyncio.TimerHandle | None = None
        self._previous: tuple[int, float] | None = None  # the last height report and when

    def _new_machine(self, lead_mm: float = 0.0) -> LandingMachine[bytes]:
        config = LandingConfig(min_mm=self.min_mm, max_mm=self.max_mm)
        return LandingMachine(self.name, jl.DirectCommander(), config, lead_mm=lead_mm)

    # -- state --------------------------------------------------------------------------------
    @property
    def height_mm(self) -> int | None:
        return self._machine.height_mm

    @property
    def moving(self) -> bool:
        return self._machine.moving

    @property
    def connected(self) -> bool:
        return self.gatt.is_connected

    @property
    def dropped_frames(self) -> int:
        """Frames dropped for a wrong checksum or end byte since connecting."""
        return self._parser.dropped

    # -- connection ---------------------------------------------------------------------------
    async def connect(self) -> None:
        await self.gatt.connect(self._on_disconnect)
        await self._stop_tasks()
        self._parser = ReportParser()
        self._machine = self._new_machine()
        self._tenths = None
        self._writes = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name=f"{self.name}-writer")
        try:
            await self._set_up()
        except (LinkError, ProtocolError) as exc:
            await self._stop_tasks()
            await self.gatt.disconnect()
            if isinstance(exc, LinkError):
                raise
            raise LinkError(
                f"desk {self.name!r} answered with frames that make no sense: {exc}"
            ) from None
        self._emit(ConnectionChanged(True))

    async def _set_up(self) -> None:
        variant = find_variant(self.gatt.services())
        if variant is None:
            raise LinkError(
                f"desk {self.name!r} is no Jiecang desk: it serves none of the four known "
                "Bluetooth adapters' services (FE60, FF12, FF00, 00FF); is it another family?"
            )
        self.variant = variant
        await self.gatt.subscribe(variant.notify, self._on_notification)
        self._send(encode(Op.WAKE))
        limits = await self._ask(Op.REQUEST_LIMITS, LimitsReport)
        unit = await self._ask(Op.REQUEST_UNIT, UnitReport)
        height = await self._ask(Op.REQUEST_SETTINGS, HeightReport)
        if isinstance(limits, LimitsReport):
            self._narrow_limits(limits)
        if not isinstance(height, HeightReport):
            raise LinkError(
                f"desk {self.name!r} did not say its height within {self.timing.answer_s:g} s: "
                "is it a Jiecang desk, and awake?"
            )
        self.unit = self._choose_unit(unit, height.tenths)
        self._tenths = height.tenths
        self._on_height(height.tenths)
        log.info(
            "%s: Jiecang adapter %s, display in %s, at %s",
            self.name,
            variant.name,
            self.unit.value,
            format_height(self.height_mm),
        )

    def _choose_unit(self, answer: Report | None, tenths: int) -> DisplayUnit:
        if self.unit_setting is not None:
            return self.unit_setting
        if isinstance(answer, UnitReport):
            return answer.unit
        guessed = guess_unit(tenths)
        if guessed is None:
            raise LinkError(
                f"desk {self.name!r} did not say its display unit and its height ({tenths}) fits "
                'neither 24.0-53.0 in nor 650-1290 mm: set unit = "cm" or "in" for it'
            )
        return guessed

    def _narrow_limits(self, limits: LimitsReport) -> None:
        low, high = max(self.min_mm, limits.min_mm), min(self.max_mm, limits.max_mm)
        self.box_limits = (limits.min_mm, limits.max_mm)
        if low < high and (low, high) != (self.min_mm, self.max_mm):
            log.info(
                "%s: the box's own limits narrow the desk's to %d..%d mm", self.name, low, high
            )
            self.min_mm, self.max_mm = low, high

    async def _ask(self, op: Op, kind: type) -> Report | None:
        """Send `op` and wait (bounded) for the first report of `kind`; None if none comes."""
        future: asyncio.Future[Report] = asyncio.get_running_loop().create_future()
        self._waiters.append((kind, future))
        self._send(encode(op))
        try:
            async with asyncio.timeout(self.clock.real_seconds(self.timing.answer_s)):
                return await future
        except TimeoutError:
            log.info("%s: no answer to 0x%02X", self.name, int(op))
            return None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove((kind, future))

    async def close(self) -> None:
        if self.gatt.is_connected and self._machine.target_mm is not None:
            with contextlib.suppress(LinkError):
                await self.stop()
        if self._writer is not None and not self._writer.done():
            await self._drained()
        await self._stop_tasks()
        if self.gatt.is_connected:
            await self.gatt.disconnect()

    async def _stop_tasks(self) -> None:
        self._timer.disarm()
        if self._predicted is not None:
            self._predicted.cancel()
            self._predicted = None
        if self._read_back is not None:
            self._read_back.cancel()
            self._read_back = None
        for task in (self._writer, self._watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, LinkError):
                    await task
        self._writer = self._watch = None

    def _on_disconnect(self) -> None:
        self._lost_move(self._machine.height_mm, self._machine.aim_mm)
        now_s = self.clock.monotonic()
        self._apply(self._machine.link_lost("the desk dropped the link", now_s, silent=True))
        self._timer.disarm()
        for task in (self._writer, self._watch):
            if task is not None:
                task.cancel()
        self._writer = self._watch = None
        self._emit(ConnectionChanged(False, "the desk dropped the link"))

    # -- reports ------------------------------------------------------------------------------
    def _on_notification(self, data: bytes) -> None:
        for report in self._parser.reports(bytes(data)):
            for kind, future in list(self._waiters):
                if isinstance(report, kind) and not future.done():
                    future.set_result(report)
            if isinstance(report, HeightReport):
                self._tenths = report.tenths
                if self.unit is not None:
                    self._on_height(report.tenths)
            elif isinstance(report, MemoryReport):
                self.memories[report.slot] = report.tenths
            elif isinstance(report, ErrorReport):
                self._on_error(report)
            elif isinstance(report, ResetReport):
                self._on_error(None)

    def _on_height(self, tenths: int) -> None:
        unit = self.unit or DisplayUnit.CM
        height_mm = unit.to_mm(tenths)
        if not self._accept_report(height_mm, f"{tenths} tenths of {unit.value}"):
            return
        now_s = self.clock.monotonic()
        self._last_report_s = now_s
        if height_mm == self._machine.height_mm:
            return  # a repeat (an answer to 07 at rest) is no news
        if self._machine.target_mm is not None and height_mm != self._start_mm:
            self._moved = True
        self._apply(self._machine.report(height_mm, now_s))
        self._emit(HeightChanged(height_mm, self._machine.moving))
        if self._progress is not None:
            self._progress(height_mm)
        if self._machine.target_mm is None:
            self._read_back_later()
        else:
            self._predict_aim(height_mm, now_s)
        self._previous = (height_mm, now_s)

    def _predict_aim(self, height_mm: int, now_s: float) -> None:
        """Stepping, the desk passes the aim between two reports: tell the machine when, by the
        speed of the last two, so the stop goes out then and not a report late."""
        if self._predicted is not None:
            self._predicted.cancel()
            self._predicted = None
        machine, aim = self._machine, self._machine.aim_mm
        if self._way is not jl.Way.STEPS or self._single_step or aim is None:
            return
        if machine.phase is not Phase.APPROACHING or self._previous is None:
            return
        direction = 1 if aim > self._start_mm else -1
        due_s = jl.aim_due_in_s(
            self._previous, (height_mm, now_s), aim, direction, within_s=self.timing.predict_s
        )
        if due_s is None:
            return
        self._predicted = asyncio.get_running_loop().call_later(
            self.clock.real_seconds(due_s), self._at_aim, aim
        )

    def _at_aim(self, aim: int) -> None:
        self._predicted = None
        machine = self._machine
        if machine.phase is Phase.APPROACHING and machine.aim_mm == aim:
            self._apply(machine.report(aim, self.clock.monotonic()))

    def _read_back_later(self) -> None:
        """After a report nobody asked for, ask once where the desk came to rest."""
        if self._read_back is not None:
            self._read_back.cancel()
        delay_s = self.clock.real_seconds(self.timing.read_back_s)
        self._read_back = asyncio.get_running_loop().call_later(delay_s, self._ask_height)

    def _ask_height(self) -> None:
        self._read_back = None
        if self.gatt.is_connected and self._writer is not None:
            self._last_ask_s = self.clock.monotonic()
            self._send(encode(Op.REQUEST_SETTINGS))

    def _on_error(self, report: ErrorReport | None) -> None:
        self.last_error = report
        sentence = (
            report.sentence
            if report is not None
            else "the desk shows RST: it needs a reset by hand (hold down until it moves)"
        )
        log.warning("%s: %s", self.name, sentence)
        move = self._move
        if move is None or move.done():
            return
        height_mm = self._machine.height_mm
        over_current = report is not None and report.code in range(1, 5)
        move.set_exception(
            Obstruction(sentence, height_mm) if over_current else MoveError(sentence, height_mm)
        )
        if self._machine.target_mm is not None:
            self._apply(self._machine.stop(self.clock.monotonic()))

    # -- moving -------------------------------------------------------------------------------
    async def _move_to(self, target_mm: int, progress: Progress | None) -> int:
        if not self.gatt.is_connected or self.unit is None:
            raise LinkError(f"desk {self.name!r} is not connected")
        if self._move is not None and not self._move.done():
            raise MoveError("a move is already running; stop it first")
        unit = self.unit
        ways = jl.plan(target_mm, move_to=self.move_to_works, memories=self.memories, unit=unit)
        self._progress = progress
        try:
            for way, slot in ways:
                try:
                    return await self._move_one_way(way, slot, target_mm)
                except _Ignored:
                    self.move_to_works = False
                    log.warning(
                        "%s: the desk did not move on a move-to (1B) within %g s; it does not "
                        "know it: using %s",
                        self.name,
                        self.timing.start_s,
                        "a memory slot or steps" if len(ways) > 2 else "steps",
                    )
            raise MoveError(f"desk {self.name!r} could not be moved")  # pragma: no cover
        finally:
            self._progress = None
            self._move = None

    async def _move_one_way(self, way: jl.Way, slot: int | None, target_mm: int) -> int:
        unit = self.unit or DisplayUnit.CM
        height_mm = self._machine.height_mm
        if height_mm is None:
            raise LinkError(f"desk {self.name!r} has not said its height yet")
        machine = self._machine
        if way is jl.Way.STEPS:
            machine.commander = jl.StepCommander(self.step_mm)
            machine.lead_mm = self._step_lead_mm
        else:
            nudge = abs(target_mm - height_mm) <= jl.tolerance_mm(way, unit, self.step_mm)
            machine.commander = jl.DirectCommander(slot, due_mm=height_mm if nudge else None)
            machine.lead_mm = 0.0
        machine.config = jl.config(
            way,
            unit,
            min_mm=self.min_mm,
            max_mm=self.max_mm,
            distance_mm=target_mm - height_mm,
            step_mm=self.step_mm,
        )
        self._way = way
        self._start_mm, self._moved = height_mm, False
        self._step_aim = None
        self._move = asyncio.get_running_loop().create_future()
        now_s = self.clock.monotonic()
        self._last_report_s = now_s
        tolerance_mm = machine.config.tolerance_mm
        if way is not jl.Way.STEPS:  # the box lands closer than any report can show: always ask
            machine.config = replace(
                machine.config, tolerance_mm=0 if unit is DisplayUnit.CM else -1
            )
        self._check_start = abs(target_mm - height_mm) >= _START_CHECK_MM
        decision = machine.start(target_mm, now_s)
        machine.config = replace(machine.config, tolerance_mm=tolerance_mm)
        self._apply(decision)
        if machine.target_mm is not None:
            self._watch = asyncio.create_task(self._watch_move(now_s), name=f"{self.name}-watch")
        try:
            return await self._move
        finally:
            if way is jl.Way.STEPS:
                self._step_lead_mm = machine.lead_mm
            watch, self._watch = self._watch, None
            if watch is not None:
                watch.cancel()

    async def _watch_move(self, started_s: float) -> None:
        """While a move runs: the 1B start check, repeated steps, and asking where it rests."""
        timing = self.timing
        while self._machine.target_mm is not None:
            await self.clock.sleep(timing.tick_s)
            now_s = self.clock.monotonic()
            if self._way is jl.Way.MOVE_TO and not self._moved and self._check_start:
                if now_s - started_s >= timing.start_s and self.move_to_works is not True:
                    self._ignored()
                    return
            elif self._way is jl.Way.MOVE_TO:
                self.move_to_works = True
            if self._way is jl.Way.STEPS:
                self._maybe_step(now_s)
            quiet_s = now_s - max(self._last_report_s, self._last_ask_s)
            if quiet_s >= timing.read_back_s:
                self._last_ask_s = now_s
                self._send(encode(Op.REQUEST_SETTINGS))

    def _ignored(self) -> None:
        move = self._move
        if move is not None and not move.done():
            move.set_exception(_Ignored("the box ignores 1B"))
        self._apply(self._machine.stop(self.clock.monotonic()))

    def _maybe_step(self, now_s: float) -> None:
        machine = self._machine
        aim = machine.aim_mm
        if machine.phase is not Phase.APPROACHING or aim is None or self._step_aim != aim:
            return
        if self._single_step:
            return
        direction = 1 if aim > self._start_mm else -1
        timing = self.timing
        if not jl.step_due(
            self._step_goal,
            aim,
            direction,
            step_mm=self.step_mm,
            steps_ahead=timing.steps_ahead,
            quiet_s=now_s - self._last_step_s,
            every_s=timing.step_every_s,
        ):
            return
        commander = machine.commander
        if isinstance(commander, jl.StepCommander):
            self._queue_step(commander.step(direction), direction, now_s)

    def _queue_step(self, frame: bytes, direction: int, now_s: float) -> None:
        self._step_goal += direction * self.step_mm
        self._last_step_s = now_s
        self._send(frame)

    # -- the box's own memory slots ----------------------------------------------------------
    memory_slots = 4

    def slot_mm(self, slot: int) -> int | None:
        tenths = self.memories.get(slot)
        return None if tenths is None else (self.unit or DisplayUnit.CM).to_mm(tenths)

    async def _recall(self, slot: int) -> int:
        """The box drives to its memory with its own ramp; landed and watched as a move."""
        if not self.gatt.is_connected or self.unit is None:
            raise LinkError(f"desk {self.name!r} is not connected")
        if self._move is not None and not self._move.done():
            raise MoveError("a move is already running; stop it first")
        target_mm = self.slot_mm(slot)
        if target_mm is None:  # pragma: no cover - the template checked it
            raise DeskError(f"desk {self.name!r} has not said what its memory slot {slot} holds")
        try:
            return await self._move_one_way(jl.Way.MEMORY, slot, target_mm)
        except _Ignored:
            raise MoveError(
                f"desk {self.name!r} did not move to its memory slot {slot}", self.height_mm
            ) from None
        finally:
            self._move = None

    async def save(self, slot: int) -> None:
        """Keep the height now in the box's memory `slot`; the box's answer to a settings
        request then says what the slot holds."""
        if not 1 <= slot <= self.memory_slots:
            raise DeskError(f"desk {self.name!r} has memory slots 1 to 4, not {slot}")
        if not self.gatt.is_connected or self.unit is None:
            raise LinkError(f"desk {self.name!r} is not connected")
        self._send(encode(save_op(slot)))
        await self._ask(Op.REQUEST_SETTINGS, HeightReport)

    async def stop(self) -> None:
        if not self.gatt.is_connected:
            raise LinkError(f"desk {self.name!r} is not connected")
        if self._machine.target_mm is not None:
            self._apply(self._machine.stop(self.clock.monotonic()))
        else:
            self._send(encode(Op.STOP))
        if not await self._drained():
            raise LinkError(f"desk {self.name!r} did not take the stop in time")

    async def _drained(self) -> bool:
        return await drained(self._writes, self._writer)

    # -- applying decisions -------------------------------------------------------------------
    def _apply(self, decision: Decision[bytes]) -> None:
        machine = self._machine
        for frame in decision.commands:
            if frame[2] in (Op.UP, Op.DOWN) and machine.aim_mm is not None:
                direction = 1 if frame[2] == Op.UP else -1
                if self._step_aim != machine.aim_mm:  # a new approach (or a correction)
                    self._step_aim = machine.aim_mm
                    self._start_mm = machine.height_mm or self._start_mm
                    self._step_goal = float(self._start_mm)
                    target_mm = machine.target_mm or self._start_mm
                    # one step only towards a target that close; a back-off (the aim away
                    # from the target, to come again as a whole move) is stepped and stopped
                    towards = (target_mm - self._start_mm) * direction > 0
                    self._single_step = (
                        towards and abs(target_mm - self._start_mm) < 1.5 * self.step_mm
                    )
                self._queue_step(frame, direction, self.clock.monotonic())
            elif frame[2] == Op.STOP and self._single_step and decision.outcome is None:
                continue  # one step does better than a stop behind a report that comes late
            else:
                self._send(frame)
        self._timer.arm(decision.deadline_s)
        if decision.manual is not None:
            self._emit(ManualMove(decision.manual.height_mm, ended=decision.manual.ended))
        if decision.outcome is not None:
            self._finish(decision)

    def _finish(self, decision: Decision[bytes]) -> None:
        stopped = any(frame[2] == Op.STOP for frame in decision.commands)
        if decision.outcome not in (Outcome.ARRIVED, Outcome.LINK_LOST) and not stopped:
            self._send(encode(Op.STOP))  # the direct ways have no stop of their own
        move = self._move
        if move is None or move.done():
            return
        error = decision.error()
        if error is not None:
            move.set_exception(error)
        elif decision.height_mm is not None:
            if decision.message:
                log.info("%s: %s", self.name, decision.message)
            move.set_result(decision.height_mm)
        else:  # pragma: no cover - the machine always knows the height when it arrives
            move.set_exception(LinkError("the desk arrived without reporting its height"))

    def _on_deadline(self) -> None:
        if self._machine.deadline_s is not None:
            self._apply(self._machine.tick(self.clock.monotonic()))

    def _send(self, frame: bytes) -> None:
        if self._writer is not None:
            self._writes.put_nowait(frame)

    async def _write_loop(self) -> None:
        """Every frame leaves here, in order; a height only past `_check_target`; a wake first
        after a quiet spell."""
        variant = self.variant
        while True:
            frame = await self._writes.get()
            try:
                variant = self.variant or variant
                if variant is None:  # pragma: no cover - set before the first write
                    raise LinkError(f"desk {self.name!r} has no known Bluetooth adapter")
                self._gate(frame)
                now_s = self.clock.monotonic()
                if frame[2] != Op.WAKE and now_s - self._last_sent_s >= self.timing.wake_after_s:
                    await self.gatt.write(variant.write, encode(Op.WAKE))
                await self.gatt.write(variant.write, frame)
                self._last_sent_s = self.clock.monotonic()
                if self._machine.target_mm is not None and frame[2] not in _QUESTIONS:
                    self._apply(self._machine.sent(self._last_sent_s))
            except (LinkError, MoveError, ProtocolError) as exc:
                self._fail_move(exc)
            finally:
                self._writes.task_done()

    def _gate(self, frame: bytes) -> None:
        """Refuse a frame that would send the desk outside its limits."""
        op = frame[2]
        if op == Op.MOVE_TO:
            self._check_target(int.from_bytes(frame[4:6], "big"), "a move")
        elif op in _RECALLS:
            tenths = self.memories.get(_RECALLS[op])
            if tenths is None:
                raise MoveError(f"desk {self.name!r}: memory {_RECALLS[op]} holds no height")
            self._check_target((self.unit or DisplayUnit.CM).to_mm(tenths), "a memory recall")

    def _fail_move(self, exc: DeskctlError) -> None:
        """A write failed or was refused: end the move with that error and stop the desk."""
        if self._move is not None and not self._move.done():
            self._move.set_exception(exc)
        if self._machine.target_mm is not None:
            self._apply(self._machine.stop(self.clock.monotonic()))
