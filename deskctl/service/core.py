"""The service: one task owns all state; links, commands and the clock feed it events.

Design: the owner task (`_own`) is the only one that changes a desk. Everything else (link
callbacks, move tasks, reconnect tasks, the control socket, the MQTT bridge) only puts items on
its queue; the owner takes them one at a time, asks each desk's scheduler what to do, and
carries the actions out. Between items it sleeps until the earliest `wake_at` of all desks, or
the next start or end of a planned block (at most a minute, to notice a clock jump: when wall
time moves more than `JUMP_S` away from monotonic time, every scheduler re-plans from now, so a
suspend never fires a burst of overdue moves; compared in UTC, a DST change is no jump).

The interface adapters use, and nothing else of it:
- `submit(command)` (or `send`, which does not wait): one `service.commands` value in, the
  desk's `DeskStatus` out (a status of several desks: a tuple); a move answers when it ends.
  `answer(command)`: the same, answered as the control socket's JSON.
  What a command needs from files (`profile use`, `profile set`) is read and written here, in
  the caller's task, before the owner gets the command: the owner task does no file IO.
- `snapshot()`: each desk's `DeskStatus` now; `facts()`: each desk's name, limits and make.
- `subscribe(callback)`: every `service.news` event, in the order the owner emits them, among
  them `StatusChanged` whenever a desk's status changes (the durations that grow aside).
- The lifetime: `async with service:` (or `await service.run(front=..., beside=...)`) runs the
  owner in an `asyncio.TaskGroup` that owns every task the service starts (moves, reconnects,
  stops, the companions beside it). `request_stop()` ends it, in this one order: the companions
  (the MQTT bridge) say goodbye while the desks still run (at most `GOODBYE_S` each), the owner
  stops every moving desk, closes the links and saves each desk's state, then the front (the
  control socket) closes, answering what is still asked with "the service is stopping".

What survives a crash: each desk's schedule state is saved whenever it differs from what was
last saved, before its actions are carried out (`DeskRunner.persist`), so a hold made by the
scheduler itself is on disk before anyone hears of it; a store that cannot write leaves the state
in memory (said once). A heartbeat (one state update a minute at most, no rows) says the service
is alive; the next start ends a dead session at its last heartbeat, and continues the day's plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from deskctl.adapters.history_store import Store
from deskctl.clocks.clock import Clock
from deskctl.core.presence import UNKNOWN_REASON, Belief, State
from deskctl.core.presets import check_slot, preset_mm
from deskctl.core.profile import Profile
from deskctl.core.stats import HEARTBEAT_S
from deskctl.core.steps import StepsToday
from deskctl.core.units import check_limits, format_duration
from deskctl.core.vocab import Posture
from deskctl.errors import DeskctlError, DeskError, InputError, LinkError
from deskctl.service.commands import (
    Confirm,
    Connect,
    Inhibit,
    MeetingsSeen,
    Move,
    Pause,
    PresenceSeen,
    Recall,
    Release,
    Resume,
    SaveSlot,
    ServiceCommand,
    SetHeight,
    SetPresence,
    SetSteps,
    Skip,
    Snooze,
    Status,
    Stop,
    SwitchSchedule,
    UseProfile,
    parse_command,
)
from deskctl.service.desk import DeskRunner, MoveFinished, Reconnected
from deskctl.service.news import (
    ErrorReported,
    PresenceChanged,
    PresenceModeAsked,
    ServiceEvent,
    SessionChanged,
    StatusChanged,
    StepsCounted,
)
from deskctl.service.status import DeskFacts, DeskStatus, same_but_growing, status_json

__all__ = [
    "GOODBYE_S",
    "JUMP_S",
    "CommandResult",
    "Companion",
    "Service",
    "Subscriber",
    "answer_json",
]

log = logging.getLogger("deskctl.service")

JUMP_S = 60.0
GOODBYE_S = 5.0  # real seconds a companion has to say goodbye while the desks still run
_MAX_SLEEP_S = 60.0

Subscriber = Callable[[ServiceEvent], None]
CommandResult = DeskStatus | tuple[DeskStatus, ...]


class Companion(Protocol):
    """Something that serves beside the service (the MQTT bridge) until `stop` is set."""

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass(frozen=True, slots=True)
class _ProfileChosen:
    """`profile use` or `profile set`, its file already read (and written): the owner applies
    `profile` (`use`: switch to it; else: new heights of the profile in use)."""

    command: UseProfile | SetHeight
    desk: str
    profile: Profile


@dataclass
class _Order:
    """A command on the owner's queue, with the future its answer goes to."""

    command: ServiceCommand | _ProfileChosen
    answer: asyncio.Future[CommandResult] = field(repr=False)


def answer_json(command: ServiceCommand, result: CommandResult) -> dict[str, Any]:
    """A command's answer as JSON's object (the control socket's `result`): a status, with
    `"service": true` for the `status` command, or every desk's for a status of several."""
    if isinstance(result, tuple):
        return {"desks": [status_json(status) for status in result], "service": True}
    if isinstance(command, Status):
        return {**status_json(result), "service": True}
    return status_json(result)


class Service:
    """Runs every configured desk's schedule; see the module docstring."""

    def __init__(
        self,
        clock: Clock,
        sinks: Sequence[Subscriber] | None = None,
        store: Store | None = None,
    ) -> None:
        self.clock = clock
        self.store = store
        self.desks: dict[str, DeskRunner] = {}
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self._subscribers: list[Subscriber] = list(sinks or [])
        self._stop_requested = asyncio.Event()  # someone asked the service to stop
        self._owner_stop = asyncio.Event()  # the owner: stop the desks now
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._owner: asyncio.Task[None] | None = None
        self._front: AbstractAsyncContextManager[Any] | None = None
        self._beside: tuple[Companion, ...] = ()
        self._companions: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
        self._companion_error: BaseException | None = None
        self._waiting_moves: dict[str, asyncio.Future[CommandResult]] = {}
        self._last_status: dict[str, DeskStatus] = {}
        self._last_wall: datetime | None = None
        self._last_mono = 0.0
        self._state_failing = False  # the last save of a schedule's state failed
        self._saved: dict[str, dict[str, Any]] = {}  # per desk: the state last saved
        self._beat_mono: float | None = None  # when the last heartbeat was written
        self.presence = Belief(State.UNKNOWN, None, None, UNKNOWN_REASON)  # from the feed

    # -- wiring -------------------------------------------------------------------------------
    def publish(self, event: ServiceEvent) -> None:
        """Hand `event` to every subscriber, in the order they subscribed."""
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a subscriber failing never stops the service or another one
                log.exception("an event subscriber failed on %s", event.kind)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with every event from now on; returns the call that stops it."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(subscriber)

        return unsubscribe

    def post(self, item: object) -> None:
        self.queue.put_nowait(item)

    def add_desk(self, runner: DeskRunner) -> None:
        self.desks[runner.name] = runner
        runner.persist = lambda: self._save(runner)
        runner.spawn = self._spawn

    def request_stop(self) -> None:
        """Stop the service (see the module docstring for the order); returns at once."""
        self._stop_requested.set()

    # -- the interface ------------------------------------------------------------------------
    @property
    def desk_names(self) -> tuple[str, ...]:
        return tuple(self.desks)

    def facts(self) -> dict[str, DeskFacts]:
        """Each desk's name, limits, maker and model."""
        return {name: runner.facts() for name, runner in self.desks.items()}

    def snapshot(self) -> dict[str, DeskStatus]:
        """Each desk's status now."""
        now = self.clock.now()
        return {name: runner.status(now) for name, runner in self.desks.items()}

    def send(self, command: ServiceCommand) -> asyncio.Future[CommandResult]:
        """Hand `command` to the owner task; the future gets its answer (or its error)."""
        answer: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        try:
            item = self._prepared(command)
        except DeskctlError as exc:
            answer.set_exception(exc)
        else:
            self.post(_Order(item, answer))
        return answer

    async def submit(self, command: ServiceCommand) -> CommandResult:
        """Hand `command` to the owner task and wait for its answer."""
        return await self.send(command)

    async def call(
        self, cmd: str, desk: str | None = None, args: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A command as the control socket names it (`"snooze"`, `{"duration_s": 600}`), its
        answer as the socket's JSON: for Python callers that speak the socket's words."""
        return await self.answer(parse_command(cmd, desk, args or {}))

    async def answer(self, command: ServiceCommand) -> dict[str, Any]:
        """`submit(command)`, its answer as the control socket's JSON (`answer_json`). A profile
        switch's answer also holds `health_warnings`: one sentence per health limit a working
        day of the profile now in use goes past (`core.health`), and `health_notes`: the one
        sentence when it plans more than about 2 hours of standing a day, so that the CLI can say
        so without loading the profile itself."""
        result = await self.submit(command)
        answer = answer_json(command, result)
        if isinstance(command, UseProfile) and isinstance(result, DeskStatus):
            from deskctl.core.health import profile_warnings, standing_note

            profile = self.desks[result.desk].profile
            answer["health_warnings"] = profile_warnings(profile)
            answer["health_notes"] = [note] if (note := standing_note(profile)) else []
        return answer

    def resolve(self, name: str | None) -> str:
        """The desk a command for `name` goes to (None: the only one); `InputError` if none."""
        return self._runner(name).name

    def _prepared(self, command: ServiceCommand) -> ServiceCommand | _ProfileChosen:
        """The command as the owner takes it: the files it needs read (and written) here, in
        the caller's task."""
        if isinstance(command, UseProfile):
            from deskctl.config.profile_library import remember_profile

            runner = self._runner(command.desk)
            chosen = remember_profile(command.profile, runner.name, runner.presets)
            return _ProfileChosen(command, runner.name, chosen)
        if isinstance(command, SetHeight):
            runner = self._runner(command.desk)
            return _ProfileChosen(command, runner.name, _new_heights(runner, command))
        return command

    # -- the lifetime -------------------------------------------------------------------------
    async def run(
        self,
        *,
        front: AbstractAsyncContextManager[Any] | None = None,
        beside: Sequence[Companion] = (),
    ) -> None:
        """Serve until `request_stop()`: `front` (the control socket) is entered first and
        closed last; each of `beside` (the MQTT bridge) runs in the service's task group."""
        self._front, self._beside = front, tuple(beside)
        async with self:
            await self._stop_requested.wait()

    async def __aenter__(self) -> Self:
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        try:
            if self._front is not None:
                await self._front.__aenter__()
        except BaseException as exc:
            self._group = None
            await group.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        for companion in self._beside:  # first: each subscribes before the owner's first news
            stop = asyncio.Event()
            name = type(companion).__name__
            self._companions.append((stop, self._spawn(self._accompany(companion, stop), name)))
        self._owner = self._spawn(self._own(), "deskctl-owner")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        group = self._group
        try:
            await self._stop_in_order()
        finally:
            for task in list(self._tasks):  # a move that would not end in its bound, say
                task.cancel()
            self._group = None
            if group is not None:
                await group.__aexit__(exc_type, exc, traceback)
        error, self._companion_error = self._companion_error, None
        if error is not None and exc is None:
            raise error

    async def _stop_in_order(self) -> None:
        """The one place that says how the service stops (see the module docstring)."""
        self._stop_requested.set()
        for stop, _task in self._companions:
            stop.set()
        companions = {task for _stop, task in self._companions}
        if companions:  # they say goodbye (offline) while the desks still run
            await asyncio.wait(companions, timeout=GOODBYE_S)
        self._owner_stop.set()
        if self._owner is not None:
            await asyncio.wait({self._owner})
        if self._front is not None:
            await self._front.__aexit__(None, None, None)
        running = {task for task in companions if not task.done()}
        if running:
            await asyncio.wait(running, timeout=GOODBYE_S)

    async def _accompany(self, companion: Companion, stop: asyncio.Event) -> None:
        """Run one companion; its failure (a broker refusing the login) stops the service and
        is raised once the service has stopped."""
        try:
            await companion.run(stop)
        except Exception as exc:
            if self._companion_error is None:
                self._companion_error = exc
            self.request_stop()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Start `coro` in the service's task group; its error is logged, never fatal."""
        if self._group is None:
            coro.close()
            raise RuntimeError("the service is not running: use `async with service`")
        task = self._group.create_task(self._guarded_task(coro, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded_task(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await coro
        except Exception:
            log.exception("%s: internal error (please report it)", name)
            if name == "deskctl-owner":
                self.request_stop()

    # -- the owner task -----------------------------------------------------------------------
    async def _own(self) -> None:
        try:
            for runner in self.desks.values():
                self._restore(runner)
                runner.emit(SessionChanged(runner.name, self.clock.now(), "start"))
            # every desk connects in its own task (with backoff): the owner task takes commands
            # at once, and one slow or absent desk never holds up the others
            for runner in self.desks.values():
                runner.start_reconnect()
            stopper = asyncio.ensure_future(self._owner_stop.wait())
            try:
                await self._serve_queue(stopper)
            finally:
                stopper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stopper
        finally:
            await self._shutdown()

    async def _serve_queue(self, stopper: asyncio.Future[Any]) -> None:
        """Take the queue's items one at a time; tick the schedulers at every item and when one
        asks (`wake_at`). At a block's start or end (working hours begin, say) it only looks at
        the statuses: what a status shows changes then, while the schedulers are ticked on their
        own timetable."""
        loop = asyncio.get_running_loop()
        tick, tick_at = True, 0.0  # the loop's time at which the schedulers are next ticked
        while not self._owner_stop.is_set():
            now = self._now_checking_jumps()
            if tick:
                for runner in self.desks.values():
                    self._guarded(runner.name, runner.tick, now)
                self._heartbeat(now)
                tick_at = loop.time() + self.clock.real_seconds(self._sleep_s(now))
            self._guarded("service", self._note_status, now)
            tick_s = max(0.0, tick_at - loop.time())
            edge_s = self.clock.real_seconds(self._edge_s(now))
            getter = asyncio.ensure_future(self.queue.get())
            done, _ = await asyncio.wait(
                {getter, stopper}, timeout=min(tick_s, edge_s), return_when=asyncio.FIRST_COMPLETED
            )
            tick = True
            if getter in done:
                now = self.clock.now()
                self._guarded("service", self._dispatch, getter.result(), now)
                self._guarded("service", self._note_status, now)
            else:
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                tick = tick_s <= edge_s

    def _note_status(self, now: datetime) -> None:
        """Tell the subscribers of each desk whose status changed."""
        for name, runner in self.desks.items():
            status = runner.status(now)
            if not same_but_growing(self._last_status.get(name), status):
                self._last_status[name] = status
                self.publish(StatusChanged(name, self.clock.now(), status))

    def _guarded(self, desk: str, step: Callable[..., None], *args: Any) -> None:
        """Run one step of the owner task; an error in it is reported, never fatal: the
        service holds the desks, so it must outlive its own bugs."""
        try:
            step(*args)
        except DeskctlError as exc:
            log.error("%s: %s", desk, exc)
            self.publish(ErrorReported(desk, self.clock.now(), str(exc)))
        except Exception:
            log.exception("%s: internal error (please report it)", desk)
            reason = "internal error; see the service's log"
            self.publish(ErrorReported(desk, self.clock.now(), reason))

    def _sleep_s(self, now: datetime) -> float:
        """Seconds until a scheduler must be ticked (at most `_MAX_SLEEP_S`)."""
        return _until_s(now, [runner.wake_at(now) for runner in self.desks.values()])

    def _edge_s(self, now: datetime) -> float:
        """Seconds until a planned block starts or ends (at most `_MAX_SLEEP_S`)."""
        edges = [runner.scheduler.working_changes_at(now) for runner in self.desks.values()]
        return _until_s(now, edges)

    def _now_checking_jumps(self) -> datetime:
        """Now; a DST change is no jump: wall time is compared with monotonic time in UTC."""
        now = self.clock.now()
        mono = self.clock.monotonic()
        if self._last_wall is not None:
            expected = self._last_wall + timedelta(seconds=mono - self._last_mono)
            jump_s = (now.astimezone(UTC) - expected) / timedelta(seconds=1)
            if abs(jump_s) > JUMP_S:
                way = "forward" if jump_s > 0 else "back"
                by = format_duration(abs(jump_s))
                log.warning("the clock jumped %s by %s; re-planning", way, by)
                for runner in self.desks.values():
                    runner.carry_out(runner.scheduler.clock_jumped(now, jump_s), now)
        self._last_wall, self._last_mono = now.astimezone(UTC), mono
        return now

    def _dispatch(self, item: object, now: datetime) -> None:
        if isinstance(item, _Order):
            self._command(item, now)
        elif isinstance(item, MoveFinished):
            mover = self.desks[item.desk]
            mover.move_finished(item, now)
            waiting = self._waiting_moves.pop(item.desk, None)
            if waiting is not None and not waiting.done():
                if item.error is not None:
                    waiting.set_exception(item.error)
                else:
                    waiting.set_result(mover.status(now))
        elif isinstance(item, Reconnected):
            log.info("%s: connected", item.desk)
        elif isinstance(item, tuple) and len(item) == 2:
            desk, event = item
            runner = self.desks.get(desk)
            if runner is not None:
                runner.handle_link_event(event, now)

    async def _shutdown(self) -> None:
        for runner in self.desks.values():
            try:
                await runner.close()
            except DeskctlError as exc:
                log.warning("%s: %s", runner.name, exc)
        while not self.queue.empty():  # moves that ended in the stop: record how they ended
            item = self.queue.get_nowait()
            if isinstance(item, MoveFinished):
                self._dispatch(item, self.clock.now())
            elif isinstance(item, _Order) and not item.answer.done():
                item.answer.set_exception(LinkError("the deskctl service is stopping"))
        for runner in self.desks.values():
            self._save(runner)
            runner.emit(SessionChanged(runner.name, self.clock.now(), "stop"))
        for waiting in self._waiting_moves.values():
            if not waiting.done():
                waiting.set_exception(LinkError("the service is stopping"))

    # -- surviving restarts -------------------------------------------------------------------
    def _save(self, runner: DeskRunner) -> None:
        """Save the desk's schedule state if it changed since it was last saved."""
        saved = runner.saved()
        if self.store is None or self._saved.get(runner.name) == saved:
            return
        if self._set_state(runner.name, "schedule", saved):
            self._saved[runner.name] = saved

    def _set_state(self, desk: str, key: str, value: Any) -> bool:
        """Write one state value; a failure is said once per streak, never raised."""
        if self.store is None:
            return False
        try:
            self.store.set_state(desk, key, value)
        except DeskctlError as exc:
            if not self._state_failing:  # once per failure streak, not at every change
                log.error(
                    "%s: the schedule's state was not saved (a hold still holds while the "
                    "service runs): %s",
                    desk,
                    exc,
                )
            self._state_failing = True
            return False
        if self._state_failing:
            log.warning("the schedule's state is being saved again")
        self._state_failing = False
        return True

    def _heartbeat(self, now: datetime) -> None:
        """Say in the history that the service is alive, at most once every `HEARTBEAT_S`."""
        mono = self.clock.monotonic()
        if self.store is None or (
            self._beat_mono is not None and mono - self._beat_mono < HEARTBEAT_S
        ):
            return
        self._beat_mono = mono
        for name in self.desks:
            self._set_state(name, "heartbeat", now)

    def _end_dead_session(self, runner: DeskRunner, now: datetime) -> None:
        """A session that started and never stopped died (kill -9, a power cut): record its stop
        at its last heartbeat (or its last event, if later), so no bout runs on through the
        time the service was down."""
        if self.store is None:
            return
        desk = runner.name
        last = self.store.latest(desk, now, ("session",))
        if last is None or last.data.get("state") != "start":
            return
        ended = self.store.latest(desk, now)
        end = last.at if ended is None else ended.at
        try:
            beat = self.store.get_state(desk, "heartbeat")
        except DeskctlError:
            beat = None
        if isinstance(beat, datetime) and last.at <= beat <= now and beat > end:
            end = beat
        log.warning(
            "%s: the last run ended without stopping; its history ends at %s",
            desk,
            end.astimezone(runner.tz).strftime("%Y-%m-%d %H:%M"),
        )
        self.store.record(desk, end, "session", state="stop", crashed=True)

    def _restore(self, runner: DeskRunner) -> None:
        """Continue today from the history: switches, hold, the day's plan, time stood so far."""
        if self.store is None:
            return
        from deskctl.core.stats import daily_stats, working_hours

        now = self.clock.now()
        today = now.astimezone(runner.tz).date()
        saved: Any = {}
        try:
            saved = self.store.get_state(runner.name, "schedule", {}) or {}
        except DeskctlError as exc:
            log.error("%s: %s; the day starts afresh", runner.name, exc)
        saved = saved if isinstance(saved, dict) else {}
        try:
            self._end_dead_session(runner, now)
        except DeskctlError as exc:
            log.error("%s: the history could not be read: %s", runner.name, exc)
        try:
            midnight = datetime.combine(today, datetime.min.time(), runner.tz)
            events = self.store.events(runner.name, midnight, now)
        except DeskctlError as exc:
            log.error("%s: the history could not be read: %s", runner.name, exc)
            events = []
        day = daily_stats(events, today, today, runner.tz, now)[0]
        last = None  # the posture the history vouches for now, if any
        for event in events:
            if event.kind == "posture":
                last = event
            elif (event.kind == "schedule" and not working_hours(event.data)) or (
                event.kind == "session"
                and event.data.get("state") == "stop"
                and not event.data.get("crashed")
            ):
                last = None  # working hours ended, or the service stopped the desk's day
        said = None if last is None else last.data.get("posture")
        posture = Posture(said) if said in (Posture.SIT, Posture.STAND) else None
        runner.restore(
            saved,
            posture=posture,
            standing_today_s=float(day.standing_s),
            since=None if last is None else last.at,
            now=now,
        )

    # -- commands -----------------------------------------------------------------------------
    def _runner(self, name: str | None) -> DeskRunner:
        if name is None:
            if len(self.desks) == 1:
                return next(iter(self.desks.values()))
            known = ", ".join(sorted(self.desks))
            raise InputError(f"several desks are running ({known}); choose one with --desk NAME")
        if name not in self.desks:
            known = ", ".join(sorted(self.desks))
            raise InputError(f"no desk named {name!r} is running; the desks are: {known}")
        return self.desks[name]

    def _command(self, order: _Order, now: datetime) -> None:
        try:
            result = self._execute(order, now)
        except DeskctlError as exc:
            order.answer.set_exception(exc)
            return
        except Exception:
            log.exception("the %s command failed (please report it)", order.command)
            order.answer.set_exception(DeskError("internal error; see the service's log"))
            return
        for runner in self.desks.values():
            runner.note_schedule(now)
            self._save(runner)  # only what changed is written
        if result is not None:
            order.answer.set_result(result)

    def _execute(self, order: _Order, now: datetime) -> CommandResult | None:
        command = order.command
        if isinstance(command, Status | SetPresence | SetSteps | PresenceSeen | MeetingsSeen):
            if isinstance(command, SetSteps):
                self._steps_counted(command, now)
            elif isinstance(command, SetPresence):  # the presence feed carries it to the model
                desk = self._runner(command.desk).name if command.desk else next(iter(self.desks))
                self.publish(PresenceModeAsked(desk, self.clock.now(), command.mode.value))
            elif isinstance(command, PresenceSeen):
                self._presence_seen(command, now)
            elif isinstance(command, MeetingsSeen):
                for runner in self.desks.values():
                    runner.calendar_problem = command.problem
                    runner.carry_out(runner.scheduler.meetings(command.holds, now), now)
            if command.desk is None and len(self.desks) != 1:
                return tuple(r.status(now) for r in self.desks.values())
            return self._runner(command.desk).status(now)
        runner = self._runner(command.desk)
        sched = runner.scheduler
        if isinstance(command, Move):
            if command.remote and (sched.inhibited or sched.held is not None):
                why = "inhibit is on" if sched.inhibited else f"the schedule is held ({sched.held})"
                raise InputError(f"remote moves wait while {why}")
            if command.height_mm is not None:
                target_mm = command.height_mm
            elif command.preset is not None:
                target_mm = preset_mm(command.preset, runner.presets, runner.name)
            else:
                profile = runner.profile
                target_mm = profile.sit_mm if command.posture is Posture.SIT else profile.stand_mm
            runner.start_move(target_mm, scheduled=False)
            self._waiting_moves[runner.name] = order.answer
            return None
        if isinstance(command, Recall):
            link = runner.link
            slot = check_slot(command.slot, link.memory_slots, runner.name)
            slot_mm = link.slot_mm(slot)
            if slot_mm is None:
                raise DeskError(f"desk {runner.name!r} has not said what height slot {slot} holds")
            check_limits(slot_mm, link.min_mm, link.max_mm)  # the link checks it again
            runner.start_move(slot_mm, scheduled=False, slot=slot)
            self._waiting_moves[runner.name] = order.answer
            return None
        if isinstance(command, Stop | SaveSlot):

            def answer(_task: asyncio.Task[None]) -> None:
                if not order.answer.done():
                    order.answer.set_result(runner.status(self.clock.now()))

            if isinstance(command, Stop):
                doing, what = runner.stop_now(), "stop"
            else:
                check_slot(command.slot, runner.link.memory_slots, runner.name)
                doing, what = _save_slot(runner, command.slot, order.answer), "save"
            self._spawn(doing, f"{runner.name}-{what}").add_done_callback(answer)
            return None
        if isinstance(command, Release):
            until = (now + timedelta(seconds=command.duration_s)).replace(microsecond=0)
            runner.release(until, now)
            return runner.status(now)
        if isinstance(command, Connect):
            runner.end_release(now)
            return runner.status(now)
        if isinstance(command, Pause):
            actions = sched.pause(now, command.duration_s)
        elif isinstance(command, Resume):
            actions = sched.resume(now)
        elif isinstance(command, Skip):
            actions = sched.skip(now)
        elif isinstance(command, Snooze):
            actions = sched.snooze(command.duration_s, now)
        elif isinstance(command, Confirm):
            actions = sched.confirm(now)
        elif isinstance(command, Inhibit):
            actions = sched.inhibit(command.on, now)
            if command.on and runner.scheduled_move_running:
                self._spawn(runner.stop_now(), f"{runner.name}-stop")  # the move task reports
        elif isinstance(command, SwitchSchedule):
            actions = sched.set_enabled(command.on, now)
        elif isinstance(command, _ProfileChosen):
            if isinstance(command.command, UseProfile):
                actions = sched.use_profile(command.profile, now)
            else:
                actions = sched.new_heights(command.profile)
        else:  # UseProfile and SetHeight come as _ProfileChosen (`_prepared`)
            raise InputError(f"{command.name!r} is not a command the service knows")
        runner.carry_out(actions, now)
        return runner.status(now)

    def _steps_counted(self, command: SetSteps, now: datetime) -> None:
        """Today's step count from outside: the person's, so every desk shows it (for the local
        day it came on) and the history keeps it for the stats."""
        for runner in self.desks.values():
            runner.steps = StepsToday(command.count, now.astimezone(runner.tz).date())
            runner.emit(
                StepsCounted(runner.name, self.clock.now(), command.count, runner.steps_goal)
            )

    def _presence_seen(self, seen: PresenceSeen, now: datetime) -> None:
        """The presence model's new belief: the schedulers stop for an absence and take the
        return (a break or not); the history hears of the change."""
        was, belief = self.presence, seen.belief
        self.presence = belief
        for runner in self.desks.values():
            runner.presence = belief
            sched = runner.scheduler
            if belief.vetoes_moves and not was.vetoes_moves:
                runner.carry_out(sched.away(now), now)
            elif was.vetoes_moves and not belief.vetoes_moves:
                runner.carry_out(sched.returned(now, seen.away_s), now)
                if seen.away_s >= sched.break_after_s:
                    runner.note_break(now - timedelta(seconds=seen.away_s), now)
            if belief.state is not was.state:
                runner.emit(
                    PresenceChanged(
                        runner.name, self.clock.now(), belief.state.value, belief.source,
                        belief.since, belief.reason,
                    )
                )  # fmt: skip


def _until_s(now: datetime, wakes: Sequence[datetime | None]) -> float:
    """Real seconds from `now` to the earliest of `wakes`, whatever the zone; at most
    `_MAX_SLEEP_S`."""
    sleep_s = _MAX_SLEEP_S
    for wake in wakes:
        if wake is not None:
            until = wake.astimezone(UTC) - now.astimezone(UTC)
            sleep_s = min(sleep_s, max(0.0, until / timedelta(seconds=1)))
    return sleep_s


async def _save_slot(runner: DeskRunner, slot: int, answer: asyncio.Future[CommandResult]) -> None:
    """`preset save N`: the desk keeps its height now in its memory slot (it must be still);
    an error is the command's answer."""
    link = runner.link
    try:
        if runner.released_until is not None or not link.connected:
            raise DeskError(f"desk {runner.name!r} is not connected, so it cannot save a slot now")
        if link.moving:
            raise InputError(f"desk {runner.name!r} is moving; save the slot once it stands still")
        await link.save(slot)
    except DeskctlError as exc:
        if not answer.done():
            answer.set_exception(exc)


def _new_heights(runner: DeskRunner, command: SetHeight) -> Profile:
    """`profile_set`: save the new sit or stand height of the desk's profile; the profile as now
    saved. No height: the desk's height now (it must stand still)."""
    from deskctl.config.profile_library import set_heights

    height_mm = command.height_mm
    if height_mm is None:
        link = runner.link
        if not link.connected or link.height_mm is None:
            raise DeskError(f"desk {runner.name!r} has not said how high it is; try again")
        if link.moving:
            raise InputError(f"desk {runner.name!r} is moving; set the height once it stands still")
        height_mm = link.height_mm
    profile, _file = set_heights(
        runner.profile.name,
        sit_mm=height_mm if command.posture is Posture.SIT else None,
        stand_mm=height_mm if command.posture is Posture.STAND else None,
        min_mm=runner.link.min_mm,
        max_mm=runner.link.max_mm,
    )
    return profile
