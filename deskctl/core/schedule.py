"""The schedule of one desk: when to warn, when to move, when to hold still. Pure.

Design: `Scheduler` holds the day's blocks (from the planner) and what the person said (pause,
inhibit, skip, snooze, schedule on/off, confirm) and answers every input with a list of actions
for the shell to carry out, plus `wake_at`, the next instant it must be ticked.
- A change is a block that starts with a change of posture. `warn_s` before it the scheduler
  says `Warn`; at its start it says `Move` (or `AskConfirm` when the profile wants a confirmation,
  then `Move` on `confirm`; a question nobody answers lapses `warn_s` before its block ends, so a
  late `confirm` never moves the desk to a posture whose time is over). A warning always gives
  the full `warn_s`: when it comes late (a pause or an inhibit ended just before the change) the
  move waits until `warn_s` after it. The shell reports the move's end with `move_done`: on
  arrival the change is done and its `Cue` is shown; on an obstruction or a manual press the
  schedule is held until the person acts (resume, skip, a command move, or moving the desk by
  hand).
- Nothing moves while the schedule is off, paused, inhibited or held, or outside working hours.
- Pause, inhibit and snooze keep the timers where they were: when they end, the block in progress
  grows and every later block of the working range is shifted by the time they lasted (and cut at
  the range's end), so the time left to the next change is what it was; a later range is shifted
  only by the part of that time that fell inside it.
- Skip and snooze are the person's word and are kept: a skip drops the next change and keeps the
  posture until the plan next leaves it; a snooze puts the next change off. Whatever comes after
  (a pause or an inhibit ending, the schedule switched off and on, a profile switch, a restart)
  never brings a skipped change back: the done mark moves with the blocks it marks, and a re-plan
  puts no change before the one the word left next (`_not_before`). Only a manual move, the
  person choosing again, or a new day ends the word.
- A change found more than `late_s` overdue (a suspend, a clock jump) is dropped, never fired:
  `clock_jumped` re-plans from now, and no burst of overdue moves can happen.
- A manual move is the person's choice: the plan restarts from now in the posture they chose.
- A restart of the service keeps the day's plan (`restarted`): the block in progress ends when it
  would have, and no change comes before the one the last run had planned.
- Illegal commands (confirm with nothing to confirm, skip with nothing ahead) raise
  `IllegalTransition` with one sentence and change nothing.
- Time is real time: inside, every instant is UTC (`now` is converted on the way in, the day's
  blocks are kept in UTC), because Python compares and subtracts two datetimes of one zone by
  their wall clocks, which is an hour off across a DST change. What goes out (actions,
  `next_change`, `upcoming`, `current_block`, `paused_until`) is in the person's zone `tz`.
- `upcoming` says what comes next as a person reads it: the change, when the desk moves for it
  (after a pause with an end: as it will come then), or what it waits for (a confirm, a resume,
  inhibit off, the schedule on, the person back, a meeting's end) and until when.

The schedule follows the person (the service feeds it what `core.presence` believes):
- `away(now)`: no scheduled move while the person is away; a warning (or a question) already given
  is withdrawn (`Withdrawn`, which the shell says as a notice) and comes again, in full, later.
- `returned(now, away_s)`: an away stretch of at least `break_after_s` was a break: the bout in
  progress ends and the plan restarts from the return in the posture the desk is in, so the timer
  does not demand a stand the moment the person sits back down (`took_break` says so for the
  stats). A shorter absence keeps the timers, like an inhibit: the plan is put off by the time the
  schedule was held for it. Either way nothing moves in the first `RETURN_S` back.
- `meetings(holds, now)`: the desk holds still during a meeting. A change due in one is moved
  (`core.meetings.around_meetings`): just before it when the full warning can still be given,
  else to its end, and the rest of the day is planned from there, so a meeting never costs a whole
  block. The longest sitting bout is kept where it can be: a change to stand (or to walk) prefers
  the time before the meeting, which shortens the sitting; a change to sit goes before only when
  the sitting bout it starts still ends by the meeting's end, else at the end (standing longer).
  A change is never moved before the person's word (`_not_before`), the first minute back, or to
  leave the block before it shorter than `MIN_BLOCK_S`. While a meeting holds, `upcoming` says
  `MEETING` until its end.
- A profile with `stand_for_meetings` spends a meeting standing (`_stand_for_meetings`, after the
  fitting): a meeting the plan spends seated or walking gets a change to stand `BEFORE_S` before
  it (warned as every change), standing to its end, and the day planned afresh from the end (the
  cycle from its first step). Only where it is sound: a full warning can still be given, the
  meeting lasts at most `MEETING_STAND_MAX_S` (no long static standing) and lies in working hours,
  no earlier meeting holds the minute before it, the block cut keeps `MIN_BLOCK_S` (or all of it),
  the person's word and a change already warned, asked or moving come first, and the plan's
  standing for the rest of the day stays at most about 2 hours (`STANDING_DAY_S`, the health
  note) unless it already was more. Otherwise the desk holds still at whatever height it has, as
  without the setting. Being away still moves nothing (the change waits, like any other).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from deskctl.core.cues import Change, Cue
from deskctl.core.meetings import BEFORE_S, Meeting, around_meetings, meeting_at, merge
from deskctl.core.planner import Block, wall_time, working_spans
from deskctl.core.profile import Profile
from deskctl.core.units import format_duration, format_height
from deskctl.core.vocab import Posture, ScheduleState, Waiting
from deskctl.errors import IllegalTransition

__all__ = [
    "Action",
    "AskConfirm",
    "Dropped",
    "Held",
    "Move",
    "Replanned",
    "Scheduler",
    "ShowCue",
    "Upcoming",
    "Warn",
    "Withdrawn",
]

RETURN_S = 60.0  # no move in the first minute back
MIN_BLOCK_S = 300.0  # a change moved before a meeting leaves the block before it this long
MEETING_STAND_MAX_S = 30 * 60.0  # stand_for_meetings: a longer meeting is not stood through
STANDING_DAY_S = 2 * 3600.0 + 60  # about 2 hours of standing a day (core.health's note)
_MAX_FITS = 500  # a day never has more changes than this

# plans a day: (profile, day, tz, now, posture_now) -> blocks
PlanFn = Callable[[Profile, date, tzinfo, datetime | None, Posture | None], list[Block]]


class Stage(enum.StrEnum):
    WAITING = "waiting"  # for the next change
    WARNED = "warned"  # warning given, the move comes at the change's start
    CONFIRMING = "confirming"  # waiting for the person's confirm
    MOVING = "moving"  # the shell is moving the desk


@dataclass(frozen=True, slots=True)
class Warn:
    block: Block
    move_at: datetime


@dataclass(frozen=True, slots=True)
class AskConfirm:
    block: Block


@dataclass(frozen=True, slots=True)
class Move:
    """Move the desk to `block.height_mm` (None for an `away` block: nothing moves)."""

    block: Block


@dataclass(frozen=True, slots=True)
class ShowCue:
    block: Block
    cue: Cue


@dataclass(frozen=True, slots=True)
class Held:
    reason: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """A change that was skipped, snoozed past its range, or missed (overdue)."""

    block: Block
    why: str  # "skipped" | "missed" | "unconfirmed"


@dataclass(frozen=True, slots=True)
class Replanned:
    why: str


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A warning (or a question) given for `block` no longer holds; `why` in a few words."""

    block: Block
    why: str


Action = Warn | AskConfirm | Move | ShowCue | Held | Dropped | Replanned | Withdrawn


@dataclass(frozen=True, slots=True)
class Upcoming:
    """What comes next, as a person reads it (`Scheduler.upcoming`); instants in the person's zone.

    `block` is the next change (None when none is known: the schedule is off, or no change is
    left today); `at` is when the desk moves for it, None while it waits for the person (a pause
    without an end, inhibit, a hold, a question); `waiting_for` says what it waits for, and
    `until` when that wait ends by itself (a pause's end, an unanswered question lapsing).
    """

    block: Block | None
    at: datetime | None
    waiting_for: Waiting | None = None
    until: datetime | None = None


class Scheduler:
    """The schedule of one desk; see the module docstring."""

    def __init__(
        self,
        profile: Profile,
        tz: tzinfo,
        plan: PlanFn,
        now: datetime,
        *,
        posture: Posture | None = None,
        late_s: float = 120.0,
        break_after_s: float = 600.0,
    ) -> None:
        self.profile = profile
        self.break_after_s = break_after_s
        self.person_away = False
        self.took_break: datetime | None = None  # when the last break that ended a bout ended
        self._back_at: datetime | None = None  # when the person last came back (UTC)
        self.holds: tuple[Meeting, ...] = ()  # meetings, merged, in UTC
        self.tz = tz
        self._plan = plan
        self.late_s = late_s
        self.posture: Posture | None = posture
        self.posture_since: datetime | None = None  # when the person took up `posture` (UTC)
        self.enabled = True
        self.inhibited = False
        self.paused = False
        self._paused_until: datetime | None = None
        self.held: str | None = None
        self.stage = Stage.WAITING
        self._move_at: datetime | None = None  # when WARNED: when the move comes
        self._change: Block | None = None  # when CONFIRMING or MOVING: the change at stake
        self._frozen_since: datetime | None = None
        self._done_until: datetime | None = None  # changes starting at or before this are done
        self._not_before: datetime | None = None  # the person's word (a skip, a snooze): no change
        # before this, whatever re-plans the day (kept through pauses, inhibits, restarts)
        self.day = now.astimezone(tz).date()
        self.blocks: list[Block] = self._planned(None, None)  # in UTC

    def _planned(self, now: datetime | None, posture: Posture | None) -> list[Block]:
        """The day's plan from the planner, its instants in UTC."""
        blocks = self._plan(self.profile, self.day, self.tz, now, posture)
        return [_zoned(block, UTC) for block in blocks]

    @property
    def paused_until(self) -> datetime | None:
        """When a pause with a duration ends (in `tz`), or None."""
        return None if self._paused_until is None else self._paused_until.astimezone(self.tz)

    # -- what the schedule says ---------------------------------------------------------------
    @property
    def frozen(self) -> bool:
        """True while no automatic move may happen (off, paused, inhibited, held or away)."""
        return (
            not self.enabled
            or self.paused
            or self.inhibited
            or self.held is not None
            or self.person_away
        )

    def meeting_now(self, now: datetime) -> Meeting | None:
        """The meeting holding the desk still at `now`, or None."""
        return meeting_at(self.holds, now)

    def state(self, now: datetime) -> ScheduleState:
        if not self.enabled:
            return ScheduleState.OFF
        if self.paused:
            return ScheduleState.PAUSED
        if self.inhibited or self.held is not None:
            return ScheduleState.INHIBITED
        if self.current_block(now) is None:
            return ScheduleState.OFF_HOURS
        return ScheduleState.RUNNING

    def current_block(self, now: datetime) -> Block | None:
        now = _utc(now)
        for block in self.blocks:
            if block.start <= now < block.end:
                return _zoned(block, self.tz)
        return None

    def working_changes_at(self, now: datetime) -> datetime | None:
        """The next instant after `now` at which a block starts or ends (working hours begin or
        end, the posture planned changes), whether or not anything moves then."""
        now = _utc(now)
        edges = [edge for b in self.blocks for edge in (b.start, b.end) if _utc(edge) > now]
        edges += [edge for m in self.holds for edge in (m.start, m.end) if edge > now]
        return min(edges, key=_utc).astimezone(self.tz) if edges else None

    def next_change(self) -> Block | None:
        """The next change not yet done (the one being warned about or moved to included)."""
        block = self._next_change()
        return None if block is None else _zoned(block, self.tz)

    def _next_change(self) -> Block | None:
        return _first_change(self.blocks, self._done_until)

    def upcoming(self, now: datetime) -> Upcoming:
        """What comes next and when, as `deskctl status` says it (see `Upcoming`).

        After a skip, the change after it; during a pause with an end, the change as it will
        come once the pause is over (timers kept, a full warning); while a question waits, the
        change asked about, `at` None until `confirm`; a warning given late moves at `move_at`.
        """
        now = _utc(now)
        if not self.enabled:
            return Upcoming(None, None, Waiting.SCHEDULE_ON)
        if self.stage is Stage.CONFIRMING and self._change is not None and not self.frozen:
            lapse = self._confirm_until(self._change).astimezone(self.tz)
            return Upcoming(_zoned(self._change, self.tz), None, Waiting.CONFIRM, lapse)
        block = self._next_change()
        at = None if block is None else block.start
        if self.paused:
            waiting, until = Waiting.RESUME, self._paused_until
            at = None
            if until is not None and not self.inhibited and self.held is None:
                block, at = self._after_pause(until)
        elif self.inhibited:
            waiting, until, at = Waiting.INHIBIT_OFF, None, None
        elif self.held is not None:
            waiting, until, at = Waiting.RESUME, None, None
        elif self.person_away:
            waiting, until, at = Waiting.AWAY, None, None
        else:
            if at is not None and self.stage is Stage.WARNED and self._move_at is not None:
                at = max(at, self._move_at)
            elif at is not None and self.stage is Stage.WAITING:  # a warning still comes first
                at = max(at, self._soonest(now))
            meeting = self.meeting_now(now)
            if meeting is None:
                return Upcoming(*_in_zone(block, at, self.tz))
            waiting, until = Waiting.MEETING, meeting.end
        shown, at_shown = _in_zone(block, at, self.tz)
        return Upcoming(
            shown, at_shown, waiting, None if until is None else until.astimezone(self.tz)
        )

    def _after_pause(self, until: datetime) -> tuple[Block | None, datetime | None]:
        """The next change and its move once the pause ends at `until` (UTC), timers kept."""
        since = self._frozen_since or until
        blocks, done, _ = self._shifted(since, until - since)
        block = _first_change(blocks, done)
        if block is None:
            return None, None
        return block, max(block.start, until + timedelta(seconds=self.profile.warn_s))

    def _soonest(self, now: datetime) -> datetime:
        """The earliest a move warned at `now` may come: a full warning, and not in the first
        minute back."""
        soonest = now + timedelta(seconds=self.profile.warn_s)
        if self._back_at is not None:
            soonest = max(soonest, self._back_at + timedelta(seconds=RETURN_S))
        return soonest

    def wake_at(self, now: datetime) -> datetime | None:
        """When `tick` must next be called (None: only an input can change anything today)."""
        now = _utc(now)
        midnight = wall_time(self.day + timedelta(days=1), 0, self.tz)
        if self.paused:
            return min(self._paused_until or midnight, midnight)
        if self.stage is Stage.CONFIRMING and self._change is not None and not self.frozen:
            return min(self._confirm_until(self._change), midnight)
        if self.frozen or self.stage in (Stage.MOVING, Stage.CONFIRMING):
            return midnight
        block = self._next_change()
        if block is None:
            return midnight
        if self.stage is Stage.WARNED:
            return self._move_at or block.start
        return max(now, block.start - timedelta(seconds=self.profile.warn_s))

    # -- time ---------------------------------------------------------------------------------
    def tick(self, now: datetime) -> list[Action]:
        now = _utc(now)
        actions: list[Action] = []
        if now.astimezone(self.tz).date() != self.day:
            self._new_day(now)
            actions.append(Replanned("a new day"))
        if self.paused and self._paused_until is not None and now >= self._paused_until:
            self.paused = False
            self._paused_until = None
            actions.extend(self._thaw(now, "pause"))
        asked = self._change
        if self.stage is Stage.CONFIRMING and asked is not None:
            if now < self._confirm_until(asked):
                return actions
            self.stage = Stage.WAITING
            self._mark_done(asked.start)
            actions.append(Dropped(_zoned(asked, self.tz), "unconfirmed"))
        if self.frozen or self.stage in (Stage.MOVING, Stage.CONFIRMING):
            return actions
        actions.extend(self._fit(now))
        actions.extend(self._drop_missed(now))
        block = self._next_change()
        if block is None:
            return actions
        warn_at = block.start - timedelta(seconds=self.profile.warn_s)
        if self.stage is Stage.WAITING and now >= warn_at:
            move_at = max(block.start, self._soonest(now))
            meeting = meeting_at(self.holds, move_at)
            if meeting is not None:  # a late warning would move it into a meeting: after it
                self._move_change(block, meeting.end)
                return actions
            self.stage = Stage.WARNED
            self._move_at = move_at
            actions.append(Warn(_zoned(block, self.tz), self._move_at.astimezone(self.tz)))
        if self.stage is Stage.WARNED and now >= (self._move_at or block.start):
            if self.profile.confirm:
                self.stage = Stage.CONFIRMING
                self._change = block
                actions.append(AskConfirm(_zoned(block, self.tz)))
            else:
                actions.extend(self._start_move(block))
        return actions

    def _drop_missed(self, now: datetime) -> list[Action]:
        dropped: list[Action] = []
        warned = self._next_change() if self.stage is Stage.WARNED else None
        for block in self.blocks:
            if block.change is None or block.start > now:
                continue
            if self._done_until is not None and block.start <= self._done_until:
                continue
            due = self._move_at if block == warned and self._move_at else block.start
            if (now - due).total_seconds() > self.late_s:
                self._done_until = block.start
                dropped.append(Dropped(_zoned(block, self.tz), "missed"))
                if self.stage is Stage.WARNED:
                    self.stage = Stage.WAITING
        return dropped

    def _confirm_until(self, block: Block) -> datetime:
        """When an unanswered question about `block` lapses: `warn_s` before the block ends."""
        return max(block.start, block.end - timedelta(seconds=self.profile.warn_s))

    def _mark_done(self, start: datetime) -> None:
        """Every change starting at or before `start` is done (never moves the mark back)."""
        if self._done_until is None or start > self._done_until:
            self._done_until = start

    def _start_move(self, block: Block) -> list[Action]:
        self.stage = Stage.MOVING
        self._change = block
        if block.height_mm is None:  # away: nothing moves, the cue is the walk
            return self._arrived(block)
        return [Move(_zoned(block, self.tz))]

    def _arrived(self, block: Block) -> list[Action]:
        self.stage = Stage.WAITING
        self._mark_done(block.start)
        self.posture = block.posture
        self.posture_since = block.start
        return [ShowCue(_zoned(block, self.tz), block.cue)] if block.cue is not None else []

    def clock_jumped(self, now: datetime, jump_s: float = 0.0) -> list[Action]:
        """Wall time jumped by `jump_s` (a suspend, an NTP step; a DST change is no jump): re-plan
        from now; nothing overdue fires. The posture's timer keeps the time actually spent in it
        (the jump does not count); a jump during a move plans from the posture the desk is going
        to."""
        now = _utc(now)
        if self.posture_since is not None:
            self.posture_since += timedelta(seconds=jump_s)
        if self.stage is Stage.MOVING and self._change is not None:
            self._replan(now, self._change.posture, now)
        else:
            self._replan(now, self.posture, self.posture_since)
        return [Replanned("the clock jumped")]

    def _new_day(self, now: datetime) -> None:
        self.day = now.astimezone(self.tz).date()
        self.blocks = self._planned(None, None)
        self._done_until = None
        self._not_before = None
        if self.stage is not Stage.MOVING:  # a move across midnight still reports its end
            self.stage = Stage.WAITING

    def _replan(
        self, now: datetime, posture: Posture | None, since: datetime | None = None
    ) -> None:
        """Plan the rest of the day from the person's posture, keeping the time they have been
        in it (`since`): the block in progress ends when it would have, never later than one
        step of the cycle, and with a full warning if it is already due; and keeping the
        person's word: no change before `_not_before` (a skip or a snooze)."""
        origin = now
        step_s = next((st.minutes * 60 for st in self.profile.cycle if st.posture == posture), 0)
        if posture is not None and since is not None and step_s:
            kept_s = (now - since).total_seconds()
            kept_s = max(0.0, min(kept_s, step_s - self.profile.warn_s - 1))
            origin = now - timedelta(seconds=kept_s)
        self.day = now.astimezone(self.tz).date()
        self.blocks = self._planned(origin, posture)
        self._done_until = now
        if self.stage is not Stage.MOVING:
            self.stage = Stage.WAITING
        block = self._next_change()
        floor = self._not_before
        if floor is not None and block is not None and floor > max(now, block.start):
            self._shift_from(block.start, floor - block.start)
            self._not_before = floor
        self._fit(now)

    # -- what the desk did --------------------------------------------------------------------
    def move_done(self, arrived: bool, now: datetime, reason: str = "") -> list[Action]:
        """The scheduled move ended: arrived, or failed for `reason` (one sentence)."""
        now = _utc(now)
        block = self._change
        if self.stage is not Stage.MOVING or block is None:
            raise IllegalTransition("no scheduled move is running")
        if arrived:
            return self._arrived(block)
        self.stage = Stage.WAITING
        self._mark_done(block.start)
        self.held = reason or "the move did not arrive"
        return [Held(self.held)]

    def manual_move(self, posture: Posture, now: datetime) -> list[Action]:
        """The person moved the desk by hand to `posture`: the plan follows them."""
        now = _utc(now)
        actions: list[Action] = []
        if self.held is not None:
            self.held = None
        if self.stage is Stage.MOVING:
            return actions
        if posture == self.posture and self.stage is Stage.WAITING:
            return actions
        self.posture = posture
        self.posture_since = now
        self._not_before = None  # the person chose: their posture, not an earlier word, counts
        self._replan(now, posture)
        actions.append(Replanned(f"you chose to {posture}"))
        return actions

    def restore_switches(self, *, enabled: bool, held: str | None) -> None:
        """The service started again: the last run's on/off switch and hold carry on (as they
        outlast midnight in a running service). Inhibit and pause come back through `inhibit`
        and `pause`, which re-plan."""
        self.enabled = enabled
        self.held = held

    def restarted(
        self,
        posture: Posture,
        since: datetime,
        next_change_at: datetime | None,
        now: datetime,
    ) -> list[Action]:
        """The service started again (after a crash, say) and the person is in `posture` since
        `since`: the block in progress keeps the posture's timer, as after a clock jump, and the
        next change comes no earlier than `next_change_at` (the last run's plan, so a snooze or a
        skip survives). The hold and the switches stay as they are."""
        now, since = _utc(now), _utc(since)
        self.posture = posture
        self.posture_since = since
        # the last run's plan is kept like the person's word: a later re-plan keeps it too; with
        # none (a new day, or the desk itself says another posture) nothing earlier holds
        self._not_before = None if next_change_at is None else _utc(next_change_at)
        self._replan(now, posture, since)
        return [Replanned("restarted; the day's plan kept")]

    # -- what the person said -----------------------------------------------------------------
    def skip(self, now: datetime) -> list[Action]:
        """Skip the next change: the posture stays until the plan next leaves it.

        The change is dropped, and so are the changes right after it back to the posture kept
        (skipping a 15-minute stand while sitting also drops the sit that would end it: that is
        no change for someone still sitting). The next change is the first that leaves the
        posture, and nothing re-plans the day to come earlier (`_not_before`).
        """
        block = self._next_change()
        if block is None:
            raise IllegalTransition("there is no change left today to skip")
        if self.stage is Stage.MOVING:
            raise IllegalTransition("the desk is moving; stop it first")
        self.held = None
        kept = self.posture or self._posture_before(block)
        last = block
        for later in self.blocks if kept in (Posture.SIT, Posture.STAND) else ():
            if later.start <= last.start:
                continue
            if later.start != last.end or (later.change is not None and later.posture != kept):
                break
            last = later
        self._mark_done(last.start)
        self._not_before = last.end
        self.stage = Stage.WAITING
        return [Dropped(_zoned(block, self.tz), "skipped")]

    def _posture_before(self, block: Block) -> Posture | None:
        """The planned posture right before `block` (None when nothing adjoins it)."""
        return next((b.posture for b in self.blocks if b.end == block.start), None)

    def snooze(self, for_s: float, now: datetime) -> list[Action]:
        """Put the next change off by `for_s`; the blocks after it move along."""
        now = _utc(now)
        if for_s <= 0:
            raise IllegalTransition("a snooze needs a positive duration")
        if self.stage is Stage.MOVING:
            raise IllegalTransition("the desk is moving; stop it first")
        block = self._next_change()
        if block is None:
            raise IllegalTransition("there is no change left today to snooze")
        self._shift_from(block.start, timedelta(seconds=for_s))
        later = self._next_change()
        self._not_before = None if later is None else later.start
        self.stage = Stage.WAITING
        self._fit(now)
        return [Replanned(f"snoozed {round(for_s / 60)} min")]

    def pause(self, now: datetime, for_s: float | None = None) -> list[Action]:
        now = _utc(now)
        if self.stage is Stage.MOVING:
            raise IllegalTransition("the desk is moving; stop it first")
        if not self.paused and not self.inhibited and not self.person_away:
            self._frozen_since = now
        self.paused = True
        self._paused_until = None if for_s is None else now + timedelta(seconds=for_s)
        self.stage = Stage.WAITING
        return []

    def resume(self, now: datetime) -> list[Action]:
        now = _utc(now)
        actions: list[Action] = []
        if self.paused:
            self.paused = False
            self._paused_until = None
            actions.extend(self._thaw(now, "pause"))
        if self.held is not None:
            self.held = None
            actions.append(Replanned("resumed after a hold"))
        return actions

    def inhibit(self, on: bool, now: datetime) -> list[Action]:
        now = _utc(now)
        if on == self.inhibited:
            return []
        if on:
            if not self.paused and not self.person_away:
                self._frozen_since = now
            self.inhibited = True
            if self.stage is not Stage.MOVING:
                self.stage = Stage.WAITING
            return []
        self.inhibited = False
        return self._thaw(now, "inhibit")

    def set_enabled(self, on: bool, now: datetime) -> list[Action]:
        now = _utc(now)
        if on == self.enabled:
            return []
        self.enabled = on
        if on:
            self._replan(now, self.posture, self.posture_since)
            return [Replanned("the schedule is on")]
        if self.stage is not Stage.MOVING:
            self.stage = Stage.WAITING
        return []

    def confirm(self, now: datetime) -> list[Action]:
        block = self._change
        if self.stage is not Stage.CONFIRMING or block is None:
            raise IllegalTransition("there is no move waiting for a confirmation")
        return self._start_move(block)

    def use_profile(self, profile: Profile, now: datetime) -> list[Action]:
        """Switch profile live: re-plan from now in the current posture."""
        now = _utc(now)
        self.profile = profile
        self._replan(now, self.posture, self.posture_since)
        return [Replanned(f"profile {profile.name}")]

    def new_heights(self, profile: Profile) -> list[Action]:
        """The same profile with new heights (`deskctl profile set`): the plan keeps its times,
        every change from now goes to the new height; a move under way carries on."""
        self.profile = profile
        self.blocks = [replace(b, height_mm=profile.height_for(b.posture)) for b in self.blocks]
        if self.stage is Stage.CONFIRMING and self._change is not None:
            self._change = replace(self._change, height_mm=profile.height_for(self._change.posture))
        sit, stand = format_height(profile.sit_mm), format_height(profile.stand_mm)
        return [Replanned(f"new heights: sit {sit}, stand {stand}")]

    # -- the person and the calendar ------------------------------------------------------------
    def away(self, now: datetime) -> list[Action]:
        """The person left: no scheduled move until they return; a warning given is withdrawn."""
        now = _utc(now)
        if self.person_away:
            return []
        if not self.paused and not self.inhibited:
            self._frozen_since = now
        self.person_away = True
        actions: list[Action] = []
        if self.stage is Stage.WARNED or (
            self.stage is Stage.CONFIRMING and self._change is not None
        ):
            given = self._change if self.stage is Stage.CONFIRMING else self._next_change()
            self.stage = Stage.WAITING
            self._move_at = None
            if given is not None:
                actions.append(Withdrawn(_zoned(given, self.tz), "you are away"))
        return actions

    def returned(self, now: datetime, away_s: float) -> list[Action]:
        """The person is back after `away_s` away: a break ends the bout, a short absence keeps
        the timers; no move in the first minute back."""
        now = _utc(now)
        if not self.person_away:
            return []
        self.person_away = False
        self._back_at = now
        if away_s < self.break_after_s:
            return self._thaw(now, "away")
        self.took_break = now
        if self.posture is not None and self.stage is not Stage.MOVING:
            self.posture_since = now
        if self.stage is Stage.MOVING and self._change is not None:
            self._replan(now, self._change.posture, now)
        else:
            self._replan(now, self.posture, now)
        self._frozen_since = now if self.paused or self.inhibited else None
        return [Replanned(f"back after {format_duration(away_s)} away: a break; the plan restarts")]

    def meetings(self, holds: Iterable[Meeting], now: datetime) -> list[Action]:
        """The calendar's meetings (any order, overlapping or not): changes due in one move.
        When they differ from the last ones (a meeting cancelled or moved), the rest of the day
        is planned again from the posture and its timer first, as for a new profile, so a change
        moved for a meeting that is gone comes back."""
        now = _utc(now)
        merged = tuple(merge(holds))
        if merged == self.holds:
            return []
        self.holds = merged
        if self.posture is not None and self.stage is Stage.WAITING and not self.frozen:
            self._replan(now, self.posture, self.posture_since)  # fits as well
            return []
        return self._fit(now)

    def _fit(self, now: datetime) -> list[Action]:
        """Move every change not yet done that is due during a meeting (see the docstring)."""
        if not self.holds:
            return []
        actions: list[Action] = []
        after = self._done_until
        if self.stage in (Stage.MOVING, Stage.CONFIRMING) and self._change is not None:
            after = self._change.start if after is None else max(after, self._change.start)
        for _ in range(_MAX_FITS):
            block = _first_change(self.blocks, after)
            if block is None:
                break
            warned = self.stage is Stage.WARNED and block == self._next_change()
            due = max(block.start, self._move_at) if warned and self._move_at else block.start
            meeting = meeting_at(self.holds, due)
            if meeting is None:
                after = block.start
                continue
            to = self._placed(block, due, now)
            if after is not None and to <= after:
                break  # never back over a change already placed
            if warned:
                self.stage = Stage.WAITING
                self._move_at = None
                until = meeting.end.astimezone(self.tz).strftime("%H:%M")
                actions.append(Withdrawn(_zoned(block, self.tz), f"a meeting until {until}"))
            self._move_change(block, to)
            after = to
        if self.profile.stand_for_meetings and any(
            [self._stand_for_meeting(meeting, now) for meeting in self.holds]
        ):
            actions += self._fit(now)  # the day planned afresh after a meeting meets the next
        return actions

    def _stand_for_meeting(self, meeting: Meeting, now: datetime) -> bool:
        """Stand through `meeting` when the profile asks and the rules allow (module docstring):
        a change to stand `BEFORE_S` before it, standing to its end, the day afresh from there.
        True if the plan changed (so the changes after it are fitted around meetings again)."""
        stand_at = meeting.start - timedelta(seconds=BEFORE_S)
        if stand_at - timedelta(seconds=self.profile.warn_s) < now:
            return False  # no full warning any more: hold still as the plan stands
        if (meeting.end - meeting.start).total_seconds() > MEETING_STAND_MAX_S:
            return False
        if meeting_at(self.holds, stand_at) is not None:
            return False  # another meeting holds the desk right before it
        for word in (self._not_before, self._done_until):
            if word is not None and stand_at <= word:
                return False
        if self.stage is not Stage.WAITING:  # a change warned, asked or moving comes first
            current = self._change if self.stage is not Stage.WARNED else self._next_change()
            if current is None or current.start >= stand_at:
                return False
        spans = [(_utc(s), _utc(e)) for s, e in working_spans(self.profile, self.day, self.tz)]
        if not any(s <= stand_at and meeting.end <= e for s, e in spans):
            return False
        during = [b for b in self.blocks if b.start < meeting.end and b.end > meeting.start]
        if not during or all(b.posture is Posture.STAND for b in during):
            return False  # outside the plan, or standing through it already
        cut = next((b for b in self.blocks if b.start < stand_at < b.end), None)
        if cut is not None and (stand_at - cut.start).total_seconds() < min(
            MIN_BLOCK_S, cut.duration.total_seconds()
        ):
            return False  # it would leave the block before it too short (a walk is never cut)
        head = [b for b in self.blocks if b.start < stand_at]
        if head and head[-1].end > stand_at:
            head[-1] = replace(head[-1], end=stand_at)
        still = bool(head) and head[-1].end == stand_at and head[-1].posture is Posture.STAND
        later_stand = next(
            (b for b in self.blocks if b.start >= stand_at and b.change is Change.TO_STAND), None
        )
        stand = Block(
            start=stand_at,
            end=meeting.end,
            posture=Posture.STAND,
            height_mm=self.profile.stand_mm,
            cue=None if still or later_stand is None else later_stand.cue,
            change=None if still else Change.TO_STAND,
        )
        blocks = [*head, stand, *self._planned(meeting.end, None)]
        standing_s = _standing_s(blocks, stand_at)
        if standing_s > STANDING_DAY_S and standing_s > _standing_s(self.blocks, stand_at):
            return False  # more than about 2 hours on one's feet: the health note wins
        self.blocks = blocks
        return True

    def _placed(self, block: Block, due: datetime, now: datetime) -> datetime:
        """Where a change due at `due`, in a meeting, goes: before the meeting or at its end."""
        moved = around_meetings(self.holds, due, now, self.profile.warn_s)
        if moved is None:  # not in a meeting after all
            return due
        end = moved.meeting.end
        if not moved.before:
            return end
        before = moved.at
        previous = next((b for b in self.blocks if b.end == block.start), None)
        if previous is not None and (before - previous.start).total_seconds() < MIN_BLOCK_S:
            return end
        spans = working_spans(self.profile, self.day, self.tz)
        if not any(_utc(s) <= before and _utc(s) <= block.start < _utc(e) for s, e in spans):
            return end  # before working hours begin (the first change of the day or after lunch)
        if self._not_before is not None and before < self._not_before:
            return end
        if self._back_at is not None and before < self._back_at + timedelta(seconds=RETURN_S):
            return end
        if block.posture is Posture.SIT:  # sitting from before the meeting to its end at most
            sit_s = next(
                (st.minutes * 60 for st in self.profile.cycle if st.posture is Posture.SIT), 0
            )
            if (end - before).total_seconds() > sit_s:
                return end
        return before

    def _move_change(self, block: Block, to: datetime) -> None:
        """Move the change that starts `block` to `to`; the rest of the day is planned afresh
        from there in its posture (a change that lands outside working hours is gone: the
        posture before it holds to the range's end)."""
        spans = [(_utc(s), _utc(e)) for s, e in working_spans(self.profile, self.day, self.tz)]
        index = self.blocks.index(block)
        head = list(self.blocks[:index])
        if head and head[-1].end == block.start:
            span_end = next((e for s, e in spans if s <= head[-1].start < e), head[-1].end)
            head[-1] = replace(head[-1], end=min(to, span_end))
        head = [b for b in head if b.start < b.end]
        fresh = self._planned(to, block.posture)
        if fresh and fresh[0].start == to:
            fresh[0] = replace(fresh[0], change=block.change, cue=block.cue)
        self.blocks = head + fresh

    # -- keeping the timers where they were ---------------------------------------------------
    def _thaw(self, now: datetime, why: str) -> list[Action]:
        if self.paused or self.inhibited or self.person_away or self._frozen_since is None:
            return []
        lasted = now - self._frozen_since
        self._frozen_since = None
        if lasted <= timedelta(0):
            return []
        self._shift_from(now - lasted, lasted)
        self._fit(now)
        return [Replanned(f"{why} ended; timers kept")]

    def _shift_from(self, since: datetime, by: timedelta) -> None:
        """Put the plan off from `since` by `by`, range by range, each block cut at its range's end.

        A range is put off by the part of `since` .. `since + by` that fell inside it: the range
        holding `since` by all of it (its block in progress, or the one ending right at `since`,
        grows; the later ones move along), a later range only by what overlapped it (usually
        nothing: a pause in the morning leaves the afternoon where it was).
        """
        self.blocks, self._done_until, self._not_before = self._shifted(since, by)

    def _shifted(
        self, since: datetime, by: timedelta
    ) -> tuple[list[Block], datetime | None, datetime | None]:
        """The blocks, the done mark and the word as `_shift_from` leaves them (nothing changes)."""
        spans = [(_utc(s), _utc(e)) for s, e in working_spans(self.profile, self.day, self.tz)]
        until = since + by

        def shift_at(instant: datetime) -> timedelta:
            span = next(((s, e) for s, e in spans if s <= instant <= e), None)
            if span is None:
                return timedelta(0)
            return max(timedelta(0), min(until, span[1]) - max(since, span[0]))

        done = self._done_until
        done_starts: list[datetime] = []  # where the changes already done start now
        shifted: list[Block] = []
        for block in self.blocks:
            span = next(((s, e) for s, e in spans if s <= block.start < e), None)
            if block.end < since or span is None:
                new = block
            else:
                span_end = span[1]
                shift = shift_at(block.start)
                if block.start < since:  # in progress: it grows by the frozen time
                    new = replace(block, end=block.end + shift)
                else:
                    new = replace(block, start=block.start + shift, end=block.end + shift)
                if new.start >= span_end:
                    continue
                new = replace(new, end=min(new.end, span_end))
            shifted.append(new)
            if done is not None and block.start <= done:
                done_starts.append(new.start)
        # what was done (a skipped change included) stays done where it moved to, and nothing
        # that was not done becomes done: the mark follows the blocks
        if done is not None and done >= since:
            done = max(done_starts, default=since)
        word = self._not_before
        if word is not None and word >= since:
            span = next(((s, e) for s, e in spans if s <= word <= e), None)
            word += shift_at(word)
            if span is not None:
                word = min(word, span[1])
        return shifted, done, word


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _zoned(block: Block, tz: tzinfo) -> Block:
    """`block` with its instants shown in `tz` (the same instants)."""
    return replace(block, start=block.start.astimezone(tz), end=block.end.astimezone(tz))


def _standing_s(blocks: list[Block], since: datetime) -> float:
    """Seconds planned standing in `blocks` from `since` on."""
    return sum(
        (b.end - max(b.start, since)).total_seconds()
        for b in blocks
        if b.posture is Posture.STAND and b.end > since
    )


def _first_change(blocks: list[Block], done_until: datetime | None) -> Block | None:
    """The first block of `blocks` that starts with a change not yet done."""
    for block in blocks:
        if block.change is None:
            continue
        if done_until is not None and block.start <= done_until:
            continue
        return block
    return None


def _in_zone(
    block: Block | None, at: datetime | None, tz: tzinfo
) -> tuple[Block | None, datetime | None]:
    return (
        None if block is None else _zoned(block, tz),
        None if at is None else at.astimezone(tz),
    )
