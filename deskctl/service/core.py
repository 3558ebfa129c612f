"""The service: one task owns all state; links, commands and the clock feed it events.

Design: `Service.run()` is the owner task. Everything else (link callbacks, move tasks,
reconnect tasks, control-socket connections) only puts items on its queue; the owner takes them
one at a time, asks each desk's scheduler what to do, and carries the actions out. Between items
it sleeps until the earliest `wake_at` of all desks (at most a minute, to notice a clock jump:
when wall time moves more than `JUMP_S` away from monotonic time, every scheduler re-plans from
now, so a suspend never fires a burst of overdue moves; compared in UTC, a DST change is no
jump). Commands arrive as `Command` items with a future for the answer; a move command answers
when the move ends. Shutting down stops every moving desk before the links close.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from deskctl.adapters.history_store import Store
from deskctl.clocks.clock import Clock
from deskctl.core.profile import Profile
from deskctl.core.stats import HEARTBEAT_S
from deskctl.core.units import (
    MAX_DURATION_S,
    format_duration,
    parse_duration_s,
    parse_height_mm,
)
from deskctl.core.vocab import Posture
from deskctl.errors import DeskctlError, DeskError, DurationError, InputError, LinkError
from deskctl.links.base import HeightChanged, LinkEvent
from deskctl.service.desk import DeskRunner, MoveFinished, Reconnected

__all__ = ["JUMP_S", "Command", "EventSink", "Service"]

log = logging.getLogger("deskctl.service")

JUMP_S = 60.0
_MAX_SLEEP_S = 60.0

EventSink = Callable[[str, datetime, str, dict[str, Any]], None]  # (desk, at, type, fields)


@dataclass
class Command:
    cmd: str
    desk: str | None
    args: dict[str, Any]
    answer: asyncio.Future[dict[str, Any]] = field(repr=False)


class Service:
    """Runs every configured desk's schedule; see the module docstring."""

    def __init__(
        self, clock: Clock, sinks: list[EventSink] | None = None, store: Store | None = None
    ) -> None:
        self.clock = clock
        self.store = store
        self.desks: dict[str, DeskRunner] = {}
        self.sinks: list[EventSink] = list(sinks or [])
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self._stopping = asyncio.Event()
        self._waiting_moves: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._last_wall: datetime | None = None
        self._last_mono = 0.0
        self._state_failing = False  # the last save of a schedule's state failed
        self._saved: dict[str, dict[str, Any]] = {}  # per desk: the state last saved
        self._beat_mono: float | None = None  # when the last heartbeat was written

    # -- wiring -------------------------------------------------------------------------------
    def emitter(self, desk: str) -> Callable[[str, dict[str, Any]], None]:
        def emit(kind: str, fields: dict[str, Any]) -> None:
            at = self.clock.now()
            for sink in self.sinks:
                try:
                    sink(desk, at, kind, fields)
                except Exception:  # a sink failing never stops the service or another sink
                    log.exception("an event sink failed on %s", kind)

        return emit

    def post(self, item: object) -> None:
        self.queue.put_nowait(item)

    def add_desk(self, runner: DeskRunner) -> None:
        self.desks[runner.name] = runner
        runner.persist = lambda: self._save(runner)

    def request_stop(self) -> None:
        self._stopping.set()

    # -- the owner task -----------------------------------------------------------------------
    async def run(self) -> None:
        for runner in self.desks.values():
            self._restore(runner)
            runner.emit("session", {"state": "start"})
        # every desk connects in its own task (with backoff): the owner task takes commands at
        # once, and one slow or absent desk never holds up the others
        for runner in self.desks.values():
            runner.start_reconnect()
        stopper = asyncio.create_task(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                now = self._now_checking_jumps()
                for runner in self.desks.values():
                    self._guarded(runner.name, runner.tick, now)
                self._heartbeat(now)
                getter = asyncio.create_task(self.queue.get())
                done, _ = await asyncio.wait(
                    {getter, stopper},
                    timeout=self.clock.real_seconds(self._sleep_s(now)),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if getter in done:
                    self._guarded("service", self._dispatch, getter.result(), self.clock.now())
                else:
                    getter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getter
        finally:
            stopper.cancel()
            await self._shutdown()

    def _guarded(self, desk: str, step: Callable[..., None], *args: Any) -> None:
        """Run one step of the owner task; an error in it is reported, never fatal: the
        service holds the desks, so it must outlive its own bugs."""
        try:
            step(*args)
        except DeskctlError as exc:
            log.error("%s: %s", desk, exc)
            self.emitter(desk)("error", {"reason": str(exc)})
        except Exception:
            log.exception("%s: internal error (please report it)", desk)
            self.emitter(desk)("error", {"reason": "internal error; see the service's log"})

    def _sleep_s(self, now: datetime) -> float:
        wakes = [r.scheduler.wake_at(now) for r in self.desks.values()]
        sleep_s = _MAX_SLEEP_S
        for wake in wakes:
            if wake is not None:
                until = wake.astimezone(UTC) - now.astimezone(UTC)  # real time, whatever the zone
                sleep_s = min(sleep_s, max(0.0, until / timedelta(seconds=1)))
        return sleep_s

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
        if isinstance(item, Command):
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
            elif isinstance(item, Command) and not item.answer.done():
                item.answer.set_exception(LinkError("the deskctl service is stopping"))
        for runner in self.desks.values():
            self._save(runner)
            runner.emit("session", {"state": "stop"})
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

    # -- the control socket --------------------------------------------------------------------
    async def handle(
        self, request: Any, progress: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """The control socket's handler: one request, through the owner task, one answer."""
        unsubscribe: Callable[[], None] | None = None
        if request.cmd in ("sit", "stand", "move") and getattr(progress, "wanted", False):
            runner = self.desks.get(request.desk) if request.desk else None
            if runner is None and len(self.desks) == 1:
                runner = next(iter(self.desks.values()))
            if runner is not None:

                def forward(event: LinkEvent) -> None:
                    if isinstance(event, HeightChanged):
                        progress({"height_mm": event.height_mm})

                unsubscribe = runner.link.subscribe(forward)
        try:
            return await self.call(request.cmd, request.desk, request.args)
        finally:
            if unsubscribe is not None:
                unsubscribe()

    # -- commands -----------------------------------------------------------------------------
    async def call(
        self, cmd: str, desk: str | None = None, args: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Hand a command to the owner task and wait for its answer."""
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.post(Command(cmd, desk, dict(args or {}), answer))
        return await answer

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

    def _command(self, command: Command, now: datetime) -> None:
        try:
            result = self._execute(command, now)
        except DeskctlError as exc:
            command.answer.set_exception(exc)
            return
        except Exception:
            log.exception("the %s command failed (please report it)", command.cmd)
            command.answer.set_exception(DeskError("internal error; see the service's log"))
            return
        for runner in self.desks.values():
            runner.note_schedule(now)
            self._save(runner)  # only what changed is written
        if result is not None:
            command.answer.set_result(result)

    def _execute(self, command: Command, now: datetime) -> dict[str, Any] | None:
        cmd, args = command.cmd, command.args
        if cmd == "status":
            if command.desk is None and len(self.desks) != 1:
                return {"desks": [r.status(now) for r in self.desks.values()], "service": True}
            return {**self._runner(command.desk).status(now), "service": True}
        runner = self._runner(command.desk)
        sched = runner.scheduler
        if cmd in ("sit", "stand", "move"):
            if _bool_arg(args, "remote", False) and (sched.inhibited or sched.held is not None):
                why = "inhibit is on" if sched.inhibited else f"the schedule is held ({sched.held})"
                raise InputError(f"remote moves wait while {why}")
            if cmd == "move":
                target_mm = _height_arg(args)
            else:
                target_mm = runner.profile.sit_mm if cmd == "sit" else runner.profile.stand_mm
            runner.start_move(target_mm, scheduled=False)
            self._waiting_moves[runner.name] = command.answer
            return None
        if cmd == "stop":
            task = asyncio.create_task(runner.stop_now())

            def answer(_task: asyncio.Task[None]) -> None:
                if not command.answer.done():
                    command.answer.set_result(runner.status(self.clock.now()))

            task.add_done_callback(answer)
            return None
        if cmd == "pause":
            actions = sched.pause(now, _duration_arg(args))
        elif cmd == "resume":
            actions = sched.resume(now)
        elif cmd == "skip":
            actions = sched.skip(now)
        elif cmd == "snooze":
            actions = sched.snooze(_duration_arg(args) or 600.0, now)
        elif cmd == "confirm":
            actions = sched.confirm(now)
        elif cmd == "inhibit":
            on = _bool_arg(args, "on", True)
            actions = sched.inhibit(on, now)
            if on and runner.scheduled_move_running:
                asyncio.create_task(runner.stop_now())  # noqa: RUF006 - the move task reports
        elif cmd == "schedule":
            actions = sched.set_enabled(_bool_arg(args, "on", True), now)
        elif cmd == "profile_use":
            from deskctl.config.profile_library import remember_profile

            profile = remember_profile(str(args.get("name", "")), runner.name)
            actions = sched.use_profile(profile, now)
        elif cmd == "profile_set":
            actions = sched.new_heights(_new_heights(runner, args))
        else:
            raise InputError(f"{cmd!r} is not a command the service knows")
        runner.carry_out(actions, now)
        return runner.status(now)


def _new_heights(runner: DeskRunner, args: dict[str, Any]) -> Profile:
    """`profile_set`: save the new sit or stand height of the desk's profile; the profile as now
    saved. `here: true` takes the desk's height now (it must stand still)."""
    from deskctl.config.profile_library import set_heights

    posture = args.get("posture")
    if posture not in (Posture.SIT, Posture.STAND):
        raise InputError("profile_set needs a posture, sit or stand")
    if args.get("here") is True:
        link = runner.link
        if not link.connected or link.height_mm is None:
            raise DeskError(f"desk {runner.name!r} has not said how high it is; try again")
        if link.moving:
            raise InputError(f"desk {runner.name!r} is moving; set the height once it stands still")
        height_mm = link.height_mm
    else:
        height_mm = _height_arg(args)
    profile, _file = set_heights(
        runner.profile.name,
        sit_mm=height_mm if posture == Posture.SIT else None,
        stand_mm=height_mm if posture == Posture.STAND else None,
        min_mm=runner.link.min_mm,
        max_mm=runner.link.max_mm,
    )
    return profile


def _bool_arg(args: dict[str, Any], name: str, default: bool) -> bool:
    """A JSON true or false; a string like "false" or "off" is refused, not read as true."""
    value = args.get(name, default)
    if not isinstance(value, bool):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:36] + "..."
        raise InputError(f"the argument {name!r} must be true or false (JSON), not {shown}")
    return value


def _height_arg(args: dict[str, Any]) -> int:
    """`height_mm` (an int, from the CLI) or `height` (text with a unit, from MQTT)."""
    value = args.get("height_mm")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if "height" in args:
        return parse_height_mm(str(args["height"]))
    raise InputError("a move needs a height, like 110cm")


def _duration_arg(args: dict[str, Any]) -> float | None:
    """`duration_s` (a number, from the CLI) or `for` (text like 45m), or None.

    At most `MAX_DURATION_S`: a pause or snooze of years (or of infinity, which JSON allows)
    would overflow the date arithmetic; a pause without a duration lasts until resume.
    """
    value = args.get("duration_s")
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif args.get("for"):
        seconds = parse_duration_s(str(args["for"]))
    else:
        return None
    if not 0 < seconds <= MAX_DURATION_S:  # also refuses NaN
        raise DurationError(
            "a duration must be above zero and at most 30 days; "
            "a pause without a duration lasts until resume"
        )
    return seconds
