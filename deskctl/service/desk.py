"""One desk inside the service: its link, its schedule, and what it has done today.

Design: `DeskRunner` is plain state plus methods that the service's single owner task calls; it
never runs on its own except for two helpers it starts and tracks: the move task (a move takes
seconds, and a stop must get through meanwhile) and the reconnect task, both in the service's
task group (`spawn`). Both report back by putting events on the service's queue, so every
decision is still taken by the owner task. What it tells the world goes out as typed events
(`service.news`), and its state as a `DeskStatus` value.
The scheduler decides; this class carries its actions out (warn, move, show the cue, hold) and
turns what the link says (heights, manual moves, drops) into scheduler inputs. Before it carries
out anything it calls `persist` (the owner saves the schedule's state if it changed), so a hold,
a pause or a skip is on disk before the desk or the person hears of it.
A release (`release`, for the vendor's phone app: the desk takes one connection) closes the link
and keeps it closed until `released_until` or `end_release`: the reconnect loop stays off, the
scheduler is not ticked (no warning, no move; a change that falls inside is dropped as missed
once the release ends, as after a suspend), and a Move that reaches `carry_out` anyway holds the
schedule instead of moving. A release is part of the saved state (`saved`: on disk before the
link lets go, and again when it ends), so a service restarted or crashed meanwhile keeps off the
desk until the time is up or `connect` (`restore`: no connection at start while released).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from deskctl.clocks.clock import Clock
from deskctl.core.backoff import Backoff
from deskctl.core.meetings import next_meeting
from deskctl.core.planner import Block, plan_with_cues
from deskctl.core.posture import posture_of
from deskctl.core.presence import UNKNOWN_REASON, Belief, State
from deskctl.core.profile import Profile
from deskctl.core.schedule import (
    Action,
    AskConfirm,
    Dropped,
    Held,
    Move,
    Replanned,
    Scheduler,
    ShowCue,
    Warn,
    Withdrawn,
)
from deskctl.core.steps import DEFAULT_GOAL, StepsToday
from deskctl.core.vocab import Outcome, Posture
from deskctl.errors import (
    DeskctlError,
    DeskError,
    LinkError,
    ManualOverride,
    MoveError,
    MoveTimeout,
    Obstruction,
)
from deskctl.links.base import ConnectionChanged, DeskLink, HeightChanged, LinkEvent, ManualMove
from deskctl.service.news import (
    Arrived,
    ChangeDropped,
    ConfirmAsked,
    ConnectionNoted,
    CueShown,
    ErrorReported,
    HeightReported,
    HeightSettled,
    HoldStarted,
    ManualMoved,
    MoveEnded,
    MoveOverridden,
    MoveStarted,
    Obstructed,
    PostureChanged,
    ScheduleChanged,
    ServiceEvent,
    Warned,
    WarningWithdrawn,
)
from deskctl.service.status import DeskFacts, DeskStatus

__all__ = ["DeskRunner", "MoveFinished", "Reconnected"]

log = logging.getLogger("deskctl.service")

Emit = Callable[[ServiceEvent], None]  # -> the service's subscribers: notices, history, MQTT
Post = Callable[[object], None]  # put an event on the owner task's queue
Spawn = Callable[[Coroutine[Any, Any, None], str], "asyncio.Task[None]"]  # (coroutine, name)


@dataclass(frozen=True, slots=True)
class MoveFinished:
    desk: str
    scheduled: bool
    height_mm: int | None
    error: DeskctlError | None


@dataclass(frozen=True, slots=True)
class Reconnected:
    desk: str


_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)


class DeskRunner:
    """One desk: link, scheduler, and today's posture bookkeeping."""

    _hold_told = False  # while a failed move's hold is carried out: its notice said it already

    def __init__(
        self,
        name: str,
        link: DeskLink,
        profile: Profile,
        *,
        clock: Clock,
        tz: tzinfo,
        cues: list[Any],
        emit: Emit,
        post: Post,
        presets: dict[str, int] | None = None,
    ) -> None:
        self.name = name
        self.link = link
        self.presets: dict[str, int] = dict(presets or {})  # named heights, in order
        self.released_until: datetime | None = None  # let go for the phone app until then
        self.clock = clock
        self.tz = tz
        self._cues = cues
        self.emit = emit
        self._post = post
        now = clock.now()
        self.scheduler = Scheduler(profile, tz, self._plan, now)
        self.posture: Posture | None = None
        self.posture_since: datetime = now
        self.standing_today_s = 0.0  # stood on `_standing_day` before `posture_since`
        self._standing_day = now.astimezone(tz).date()
        self.last_cue: dict[str, Any] | None = None
        self.presence = Belief(State.UNKNOWN, None, None, UNKNOWN_REASON)  # the service's belief
        self.calendar_problem: str | None = None  # what is wrong with a calendar, one sentence
        self.steps: StepsToday | None = None  # the person's last step count and its local day
        self.steps_goal = DEFAULT_GOAL
        self.move_task: asyncio.Task[None] | None = None
        self._move_from_mm: int | None = None
        self._move_to_mm = 0
        self._move_scheduled = False
        self._rest_mm: int | None = None
        self._schedule_noted: tuple[str, datetime | None, bool] | None = None
        self.reconnect_task: asyncio.Task[None] | None = None
        self.closing = False
        self.persist: Callable[[], None] = lambda: None  # the owner saves `saved()` if it changed
        self.spawn: Spawn = _create_task  # the service's task group, once the service adds it
        self._restored: Posture | None = None  # the last run's posture, until the desk reports
        link.subscribe(self._on_link_event)

    # -- planning -----------------------------------------------------------------------------
    def _plan(
        self,
        profile: Profile,
        day: Any,
        tz: tzinfo,
        now: datetime | None,
        posture_now: Posture | None,
    ) -> list[Block]:
        return plan_with_cues(
            profile,
            day,
            tz,
            self._cues,
            now=now,
            posture_now=posture_now,
            min_mm=self.link.min_mm,
            max_mm=self.link.max_mm,
        )

    @property
    def profile(self) -> Profile:
        return self.scheduler.profile

    # -- posture bookkeeping ------------------------------------------------------------------
    def _set_posture(self, posture: Posture | None, now: datetime) -> None:
        if posture == self.posture:
            return
        self.standing_today_s = self._standing_today_s(now)
        self._standing_day = now.astimezone(self.tz).date()
        self.posture = posture
        self.posture_since = now
        self.emit(PostureChanged(self.name, self._at(), posture, self.link.height_mm))

    def _standing_today_s(self, now: datetime) -> float:
        """Seconds stood on `now`'s local day: what was counted that day, and the stand in
        progress since that day's midnight (in real time: a DST day has its 23 or 25 hours)."""
        today = now.astimezone(self.tz).date()
        midnight = datetime.combine(today, datetime.min.time(), self.tz).astimezone(UTC)
        standing_s = self.standing_today_s if self._standing_day == today else 0.0
        if self.posture == Posture.STAND:
            since = max(self.posture_since.astimezone(UTC), midnight)
            standing_s += max(0.0, (now.astimezone(UTC) - since).total_seconds())
        return standing_s

    def tick(self, now: datetime) -> None:
        """Time passed: carry out what the schedule says; outside working hours, stop counting.
        While released the schedule holds: it is not ticked until the release ends."""
        if self.released_until is not None:
            if now < self.released_until:
                return
            self.end_release(now)
        self.carry_out(self.scheduler.tick(now), now)
        off_hours = self.scheduler.current_block(now) is None
        if off_hours and self.posture is not None and not self.link.moving:
            self._set_posture(None, now)
        self.note_schedule(now)

    def note_schedule(self, now: datetime) -> None:
        """Emit a `schedule` event when the schedule's state, its pause's end or whether it is
        working hours changed."""
        working = self.scheduler.current_block(now) is not None
        state = (self.scheduler.state(now).value, self.scheduler.paused_until, working)
        if state != self._schedule_noted:
            self._schedule_noted = state
            self.emit(ScheduleChanged(self.name, self._at(), state[0], state[1], working))

    # -- surviving a restart --------------------------------------------------------------------
    def saved(self) -> dict[str, Any]:
        """What a restart needs to continue the day (kept in the history's state table)."""
        sched = self.scheduler
        next_block = sched.next_change()
        return {
            "day": sched.day.isoformat(),
            "profile": sched.profile.name,
            "enabled": sched.enabled,
            "inhibited": sched.inhibited,
            "paused": sched.paused,
            "paused_until": sched.paused_until,
            "held": sched.held,
            "posture": sched.posture,
            "posture_since": sched.posture_since,
            "next_change_at": None if next_block is None else next_block.start,
            "released_until": self.released_until,
        }

    def restore(
        self,
        saved: dict[str, Any],
        *,
        posture: Posture | None,
        standing_today_s: float,
        since: datetime | None,
        now: datetime,
    ) -> None:
        """Continue where the last run left it: switches, hold, time stood, and today's plan
        (the block in progress ends when it would have). `posture` and `since` come from the
        history; the scheduler's own record in `saved` wins over them, and the desk's first
        height report wins over both (`handle_link_event`)."""
        sched = self.scheduler
        next_change_at = None
        released = saved.get("released_until")
        if isinstance(released, datetime) and released > now:  # the phone app may have it still
            self.released_until = released
            log.info("%s: %s (from before the restart)", self.name, self.release_words())
        held = saved.get("held")  # switches and a hold outlast midnight, as in a running service
        sched.restore_switches(
            enabled=bool(saved.get("enabled", True)), held=None if held is None else str(held)
        )
        if saved.get("inhibited"):
            sched.inhibit(True, now)
        until = saved.get("paused_until")
        until = until if isinstance(until, datetime) else None
        if saved.get("paused") and (until is None or until > now):
            for_s = None if until is None else (until - now).total_seconds()
            sched.pause(now, for_s)
        if saved.get("day") == now.astimezone(self.tz).date().isoformat():
            was, was_since = saved.get("posture"), saved.get("posture_since")
            if was in (Posture.SIT, Posture.STAND) and isinstance(was_since, datetime):
                posture, since = Posture(was), was_since
            at = saved.get("next_change_at")
            next_change_at = at if isinstance(at, datetime) else None
        self.standing_today_s = standing_today_s
        self._standing_day = now.astimezone(self.tz).date()
        if posture is not None and since is not None:
            self._restored = posture
            self.carry_out(sched.restarted(posture, since, next_change_at, now), now)

    # -- letting the phone app in ---------------------------------------------------------------
    def wake_at(self, now: datetime) -> datetime | None:
        """When the owner must tick this desk next: the release's end while released."""
        if self.released_until is not None:
            return self.released_until
        return self.scheduler.wake_at(now)

    def release_words(self) -> str | None:
        """Why the desk is not connected, while released: one phrase for the status."""
        if self.released_until is None:
            return None
        until = self.released_until.astimezone(self.tz).strftime("%H:%M")
        return f"released for the phone app until {until}"

    def release(self, until: datetime, now: datetime) -> None:
        """Let go of the desk until `until`: stop it if it moves, close the link, stay off."""
        self.released_until = until
        self.persist()  # on disk before the link lets go: a crash meanwhile keeps off the desk
        task = self.reconnect_task
        if task is not None and not task.done():
            task.cancel()
        log.info("%s: %s", self.name, self.release_words())
        self.spawn(self._let_go(), f"{self.name}-release")

    async def _let_go(self) -> None:
        if self.move_task is not None and not self.move_task.done():
            await self.stop_now()
        with contextlib.suppress(LinkError):
            await self.link.close()

    def end_release(self, now: datetime) -> None:
        """Connect again (the release's time is up, or `deskctl connect`)."""
        words = self.release_words()
        self.released_until = None
        if words is not None and self.scheduler.held == words:
            sched = self.scheduler
            sched.restore_switches(enabled=sched.enabled, held=None)
        self.persist()
        if not self.closing and not self.link.connected:
            self.start_reconnect()

    def _at(self) -> datetime:
        """When an event happens: the service's clock now."""
        return self.clock.now()

    def _block(self, block: Block) -> tuple[str, datetime, Posture, int | None, str, str, Any]:
        """An event's desk and time, then a block's fields as the wire has them."""
        start, end = block.start.isoformat(), block.end.isoformat()
        return self.name, self._at(), block.posture, block.height_mm, start, end, block.cue

    def facts(self) -> DeskFacts:
        """The desk's name, limits, maker and model (as its link declares them), presets."""
        link = self.link
        presets = tuple(self.presets.items())
        return DeskFacts(
            self.name, link.min_mm, link.max_mm, link.maker, link.model_name, presets=presets
        )

    def _posture_of(self, height_mm: int) -> Posture:
        return posture_of(height_mm, self.profile.sit_mm, self.profile.stand_mm)

    def status(self, now: datetime) -> DeskStatus:
        """The desk's state, as `deskctl status --json` and MQTT `B/D/state` give it."""
        upcoming = self.scheduler.upcoming(now)
        next_block = upcoming.block
        standing_s = self._standing_today_s(now)
        sitting_bout_s = (
            (now.astimezone(UTC) - self.posture_since.astimezone(UTC)).total_seconds()
            if self.posture == Posture.SIT
            else 0
        )
        return DeskStatus(
            desk=self.name,
            height_mm=self.link.height_mm,
            posture=self.posture,
            moving=self.link.moving,
            connected=self.link.connected,
            profile=self.profile.name,
            sit_mm=self.profile.sit_mm,
            stand_mm=self.profile.stand_mm,
            simulated=self.link.simulated,
            schedule=self.scheduler.state(now).value,
            inhibited=self.scheduler.inhibited,
            paused_until=self.scheduler.paused_until,
            held=self.scheduler.held,
            next_change_at=upcoming.at,
            next_posture=None if next_block is None else next_block.posture,
            next_cue=None
            if next_block is None or next_block.cue is None
            else next_block.cue.to_json(),
            waiting_for=None if upcoming.waiting_for is None else upcoming.waiting_for.value,
            waiting_until=upcoming.until,
            standing_today_s=round(standing_s),
            sitting_bout_s=round(sitting_bout_s),
            last_cue=self.last_cue,
            presence=self._presence_json(),
            next_meeting=self._next_meeting_json(now),
            calendar_problem=self.calendar_problem,
            memory_slots=self.link.memory_slots,
            released_until=self.released_until,
            steps_today=self.steps_today(now),
            steps_goal=self.steps_goal,
        )

    def steps_today(self, now: datetime) -> int | None:
        """Today's step count (the local day in `tz`), or None if none came today."""
        return None if self.steps is None else self.steps.on(now.astimezone(self.tz).date())

    def _presence_json(self) -> dict[str, Any]:
        belief = self.presence
        return {
            "state": belief.state.value,
            "source": belief.source,
            "since": None if belief.since is None else belief.since.astimezone(self.tz).isoformat(),
            "mode": belief.mode.value,
            "reason": belief.reason,
        }

    def _next_meeting_json(self, now: datetime) -> dict[str, Any] | None:
        """The next meeting hold that has not ended (in force now, or the next to come)."""
        hold = next_meeting(self.scheduler.holds, now)
        if hold is None:
            return None
        return {
            "start": hold.start.astimezone(self.tz).isoformat(),
            "end": hold.end.astimezone(self.tz).isoformat(),
            "summary": hold.summary,
        }

    def note_break(self, start: datetime, now: datetime) -> None:
        """An away stretch from `start` to `now` was a break: the history counts it as away
        (not sitting or standing), and the bout in the status starts again."""
        posture = self.posture
        self.emit(PostureChanged(self.name, start, Posture.AWAY, None))
        if posture is None:  # back outside working hours: their end already closed the stretch
            return
        self.emit(PostureChanged(self.name, self._at(), posture, self.link.height_mm))
        self.standing_today_s = self._standing_today_s(start)
        self._standing_day = start.astimezone(self.tz).date()
        self.posture_since = now

    # -- the link -----------------------------------------------------------------------------
    def _on_link_event(self, event: LinkEvent) -> None:
        self._post((self.name, event))

    def handle_link_event(self, event: LinkEvent, now: datetime) -> None:
        """Called by the owner task for every event the link sent."""
        if isinstance(event, HeightChanged):
            self.emit(HeightReported(self.name, self._at(), event.height_mm, event.moving))
            if not event.moving and self._restored is not None:  # the desk wins over the history
                restored, self._restored = self._restored, None
                posture = self._posture_of(event.height_mm)
                if posture != restored:
                    self.carry_out(self.scheduler.restarted(posture, now, None, now), now)
            if not event.moving and event.height_mm != self._rest_mm:
                self._rest_mm = event.height_mm
                self.emit(HeightSettled(self.name, self._at(), event.height_mm))
            if not event.moving and self.posture is None and self.scheduler.current_block(now):
                self._set_posture(self._posture_of(event.height_mm), now)
        elif isinstance(event, ManualMove):
            if not event.ended:
                self.emit(ManualMoved(self.name, self._at(), event.height_mm, ended=False))
                return
            posture = self._posture_of(event.height_mm)
            self.emit(ManualMoved(self.name, self._at(), event.height_mm, ended=True))
            self._set_posture(posture, now)
            self.carry_out(self.scheduler.manual_move(posture, now), now)
        elif isinstance(event, ConnectionChanged):
            self.emit(ConnectionNoted(self.name, self._at(), event.connected, event.reason))
            if not event.connected and not self.closing and self.released_until is None:
                self.start_reconnect()

    def start_reconnect(self) -> None:
        """Connect (again) in a task, with backoff; never while the desk is released."""
        if self.released_until is not None:
            return
        if self.reconnect_task is None or self.reconnect_task.done():
            self.reconnect_task = self.spawn(self._reconnect(), f"{self.name}-link")

    async def _reconnect(self) -> None:
        backoff = Backoff(_BACKOFF_S)
        while not self.closing and self.released_until is None:
            try:
                await self.link.connect()
            except LinkError as exc:
                delay_s = backoff.next_s()
                log.warning("%s: %s; trying again in %.0f s", self.name, exc, delay_s)
                await self.clock.sleep(delay_s)
                continue
            self._post(Reconnected(self.name))
            return

    # -- carrying out the scheduler's actions ---------------------------------------------------
    def carry_out(self, actions: list[Action], now: datetime) -> None:
        self.persist()  # durable first: a crash while acting never forgets a hold
        for action in actions:
            if isinstance(action, Warn):
                move_at = _iso(action.move_at)
                confirm = self.profile.confirm
                self.emit(Warned(*self._block(action.block), move_at=move_at, confirm=confirm))
            elif isinstance(action, AskConfirm):
                self.emit(ConfirmAsked(*self._block(action.block)))
            elif isinstance(action, Move):
                height_mm = action.block.height_mm
                if height_mm is None:
                    continue
                words = self.release_words()
                if words is not None:  # the schedule holds while the desk is let go
                    self.carry_out(self.scheduler.move_done(False, now, words), now)
                    continue
                try:
                    self.start_move(height_mm, scheduled=True)
                except MoveError:  # a command move runs: never fight it; it ends the hold
                    reason = "the desk was already moving on your command"
                    self.carry_out(self.scheduler.move_done(False, now, reason), now)
            elif isinstance(action, ShowCue):
                self.last_cue = {**action.cue.to_json(), "at": now.isoformat()}
                # done only when the desk really went from another posture to the cue's (a walk,
                # or a change to the posture the desk already had, is only shown)
                was_mm = self._move_from_mm
                done = (
                    action.block.posture in (Posture.SIT, Posture.STAND)
                    and self.posture == action.block.posture
                    and was_mm is not None
                    and self._posture_of(was_mm) != action.block.posture
                )
                change = str(action.block.change)
                walk = action.block.posture is Posture.AWAY  # the cue says how far the day is
                self.emit(
                    CueShown(
                        self.name, self._at(), action.cue, change, done,
                        steps_today=self.steps_today(now) if walk else None,
                        steps_goal=self.steps_goal if walk else None,
                    )
                )  # fmt: skip
                if action.block.posture is Posture.AWAY:
                    self._set_posture(Posture.AWAY, now)
            elif isinstance(action, Held):
                self.emit(HoldStarted(self.name, self._at(), action.reason, self._hold_told))
            elif isinstance(action, Dropped):
                self.emit(ChangeDropped(*self._block(action.block), why=action.why))
            elif isinstance(action, Withdrawn):
                self.emit(WarningWithdrawn(*self._block(action.block), why=action.why))
            elif isinstance(action, Replanned):
                log.info("%s: re-planned (%s)", self.name, action.why)

    @property
    def scheduled_move_running(self) -> bool:
        return self.move_task is not None and not self.move_task.done() and self._move_scheduled

    def start_move(self, target_mm: int, *, scheduled: bool, slot: int | None = None) -> None:
        """Start a move in its own task (to `target_mm`, or to the desk's memory `slot`); its
        end comes back as `MoveFinished`."""
        if self.move_task is not None and not self.move_task.done():
            raise MoveError("the desk is already moving; stop it first")
        words = self.release_words()
        if words is not None:
            raise MoveError(f"desk {self.name!r} is {words}; run `deskctl connect` first")
        self.emit(MoveStarted(self.name, self._at(), target_mm, scheduled))
        self._move_from_mm = self.link.height_mm
        self._move_to_mm = target_mm
        self._move_scheduled = scheduled
        moving = self._move(target_mm, scheduled, slot)
        self.move_task = self.spawn(moving, f"{self.name}-move")

    async def _move(self, target_mm: int, scheduled: bool, slot: int | None = None) -> None:
        """One move; its end always comes back as `MoveFinished`, whatever the link raised.

        Anything but deskctl's own errors is a bug: the desk is told to stop, the traceback is
        logged once, and the move ends as an internal error (its caller is answered, and a
        scheduled move holds the schedule like any failed move).
        """
        try:
            if slot is None:
                height_mm = await self.link.move_to(target_mm)
            else:
                height_mm = await self.link.recall(slot)
        except DeskctlError as exc:
            self._post(MoveFinished(self.name, scheduled, self.link.height_mm, exc))
        except Exception:
            log.exception("%s: the move to %d mm failed (please report it)", self.name, target_mm)
            error = DeskError("the move ended with an internal error; see the service's log")
            try:
                await self.stop_now()
            except Exception as exc:
                log.error("%s: the stop after that failed too: %r", self.name, exc)
                error = DeskError(
                    "the move ended with an internal error and the desk may not have stopped; "
                    "see the service's log"
                )
            self._post(MoveFinished(self.name, scheduled, self.link.height_mm, error))
        else:
            self._post(MoveFinished(self.name, scheduled, height_mm, None))

    def move_finished(self, event: MoveFinished, now: datetime) -> None:
        error = event.error
        holds = event.scheduled and error is not None  # a failed scheduled move holds the schedule
        reason = "scheduled" if event.scheduled else "command"
        at = self._at()
        self.emit(
            MoveEnded(self.name, at, self._move_from_mm, self._move_to_mm, _outcome(error), reason)
        )
        if error is None:
            self.emit(Arrived(self.name, self._at(), event.height_mm))
            if event.height_mm is not None:
                posture = self._posture_of(event.height_mm)
                self._set_posture(posture, now)
                if not event.scheduled:
                    self.carry_out(self.scheduler.manual_move(posture, now), now)
        elif isinstance(error, Obstruction | ManualOverride):
            kind = Obstructed if isinstance(error, Obstruction) else MoveOverridden
            self.emit(kind(self.name, self._at(), event.height_mm, str(error), holds))
        else:
            self.emit(ErrorReported(self.name, self._at(), str(error), held=holds))
        if event.scheduled:
            # the obstruction's or error's notice already says the schedule holds; a hand on the
            # buttons has no notice of its own, so its hold is said by the `held` notice
            self._hold_told = not isinstance(error, ManualOverride)
            try:
                self.carry_out(self.scheduler.move_done(error is None, now, str(error or "")), now)
            finally:
                self._hold_told = False

    async def stop_now(self) -> None:
        """Stop the desk at once (a command, an obstruction, or the service going down)."""
        if self.link.connected:
            with contextlib.suppress(LinkError):
                await self.link.stop()

    async def close(self) -> None:
        self.closing = True
        for task in (self.reconnect_task,):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.move_task is not None and not self.move_task.done():
            await self.stop_now()
            with contextlib.suppress(asyncio.CancelledError, DeskctlError):
                await asyncio.wait_for(self.move_task, self.clock.real_seconds(5.0))
        self._set_posture(None, self.clock.now())
        await self.link.close()


def _create_task(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    return asyncio.create_task(coro, name=name)


def _outcome(error: DeskctlError | None) -> Outcome:
    if error is None:
        return Outcome.ARRIVED
    if isinstance(error, Obstruction):
        return Outcome.OBSTRUCTION
    if isinstance(error, ManualOverride):
        return Outcome.MANUAL_PRESS
    if isinstance(error, MoveTimeout):
        return Outcome.TIMEOUT
    if isinstance(error, LinkError):
        return Outcome.LINK_LOST
    return Outcome.STOPPED


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def seconds_until(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    return max(0.0, (then - now) / timedelta(seconds=1))
