"""Landing a desk that has no exact move-to, as a pure state machine (no IO, like `core/move.py`).

Design:
- Such a desk (an ESPHome box over MQTT; or one that only steps up, down and stops) holds its
  motor until it is told to stop, and then runs on for a few mm. So a move aims short of the
  target by the run-on it has learned (`lead_mm`, at least one step of the desk's resolution from
  where it starts), and as soon as a report reaches the aim it sends the stop. How to command
  towards an aim is the `Commander`'s job (`core/esphome.py`'s `MoveToCommander` publishes a
  target; a step desk would send up or down): the machine only decides when.
- The caller owns the connection and the clock. It feeds `start`, `report` (a height in mm),
  `sent` (a command went out), `tick`, `stop` and `link_lost`, each with the monotonic `now_s`.
  Every call returns a `Decision`: the commands to send in order, the next deadline (the newest
  replaces any older one; None: no timer), the outcome when a move just ended
  (`core.move.Outcome`), a manual-move event, whether the desk just came to rest, and one
  sentence for a person.
- Phases: IDLE -start-> APPROACHING (aim sent) -report at the aim (stop sent)-> LANDING -settle_s
  of silence-> IDLE (settle_s also when a desk known to let go early, by a negative lead, moved
  and stopped within `short_ok_mm` short of the aim), or a correction: a landing outside
  `tolerance_mm` aims again from there, at most `max_corrections` times (then it arrives where
  it is, and the message says how far off).
  IDLE -a height change settle_s after a move-> MANUAL (someone uses the buttons) -settle_s of no
  change-> IDLE.
- A landed move at least `learn_min_mm` long teaches the run-on: the new lead is the mean of the
  old one and the run-on seen past the aim (±`max_lead_mm`). It is negative for a firmware that
  lets go of the button before its target and counts on the coast (the stock Upsy Desky lets go
  0.4 in short): such a desk comes to rest short of the aim, so the aim then lies past the target.
  Such a desk does not move at all for a target inside that early release, so on it a
  correction smaller than twice the negative lead (or one the desk did not move for) first backs
  off by `learn_min_mm` and then approaches again, as a whole move. On any desk the second
  correction does the same when it is smaller than the desk's smallest move (two steps and the
  run-on): a third small one would only overshoot back again. A correction any desk does
  not move for otherwise (or a back-off that does not move either) ends the move ARRIVED where
  the desk is, saying how far off: it moved fine to get there, so it is not an obstruction.
- A desk may report its resting height late (an ESPHome sensor publishes at most every update
  interval, and some boxes send the last frame of a move a second after the motor stopped), so
  the last report before the silence can lie a step or two short of where it rests. A change of
  at most `away_mm` within `late_window_s` after a landing is that late report, not a person:
  it teaches the lead what the run-on really was, and the silence that means "at rest" (`settle_s`
  at first) grows to the gap it came after, plus the desk's usual interval between reports in a
  move (the median of the last ones: a late report may come one interval later next time), plus
  `settle_margin_s` (at most `max_settle_s`), so
  the next landings wait for it and judge the height the desk rests at.
- A move ends with ARRIVED (a start within tolerance ends at once, sending nothing); OBSTRUCTION
  when no report comes for `stall_s` before the aim (it never started, or stopped short by more
  than `short_ok_mm`); MANUAL_PRESS when it moves back more than `away_mm` from its farthest point,
  or runs on more than `runaway_mm` past the target after the stop; TIMEOUT past
  `move_timeout_s`; STOPPED on `stop`; LINK_LOST on `link_lost`. Every ending but ARRIVED and
  LINK_LOST sends the stop (LINK_LOST sends nothing: nothing can be sent).
- Choices: `start` in MANUAL forgets the manual move (the person's move is overtaken by the
  command, as it always was). A tick before its deadline (less 1 µs of float slack) does nothing.
- An illegal event (a start while a move runs or before any report; a tick with no deadline
  pending) raises IllegalTransition and changes nothing: handlers check before they mutate.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections import deque
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from deskctl.core.move import ManualEvent, outcome_error
from deskctl.core.units import format_height
from deskctl.core.vocab import Outcome
from deskctl.errors import ConfigError, DeskError, IllegalTransition

__all__ = ["Commander", "Decision", "LandingConfig", "LandingMachine", "Phase"]

C = TypeVar("C")
C_co = TypeVar("C_co", covariant=True)


class Commander(Protocol[C_co]):
    """How to command one desk family towards an aim, and to stop."""

    @property
    def resolution_mm(self) -> float:
        """One step of the height as the desk reports and takes it."""
        ...

    @property
    def listens_on(self) -> str:
        """Where the desk takes its commands, for a sentence ("it does not listen on ...")."""
        ...

    def aim(self, aim: float, direction: int) -> tuple[C_co, int]:
        """The command that sends the desk towards `aim` (+1 up, -1 down), and the whole mm at
        which the stop is due."""
        ...

    def stop(self, height_mm: int | None) -> C_co | None:
        """The command that stops the desk at `height_mm`; None when it cannot be made."""
        ...


@dataclass(frozen=True, slots=True)
class LandingConfig:
    """The numbers that decide a landing (clock seconds, mm)."""

    min_mm: int = 620
    max_mm: int = 1270
    tolerance_mm: int = 1  # a landing this close to the target arrives
    move_timeout_s: float = 60.0  # the whole move, corrections included
    settle_s: float = 0.6  # no new height for this long after the aim: landed
    stall_s: float = 2.0  # no new height for this long before the aim: stuck or silent
    max_corrections: int = 3  # new aims after a landing outside the tolerance
    short_ok_mm: int = 25  # stopping this close short of the aim is corrected, not an obstruction
    runaway_mm: int = 30  # running on this far past the target after the stop: held buttons
    learn_min_mm: int = 40  # moves at least this long teach the run-on
    max_lead_mm: float = 100.0  # the learned run-on stays within ±this
    late_window_s: float = 3.0  # a small change this soon after a landing: its late report
    settle_margin_s: float = 0.3  # the learned settle: the late report's gap plus this
    max_settle_s: float = 3.0  # the learned settle stays within settle_s..this

    def __post_init__(self) -> None:
        for name in ("move_timeout_s", "settle_s", "stall_s", "max_settle_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"landing setting {name} must be above zero")
        if self.min_mm > self.max_mm:
            raise ConfigError(f"landing limits {self.min_mm}..{self.max_mm} mm are upside down")


class Phase(enum.Enum):
    IDLE = "idle"  # no move; the desk rests (or nothing is known)
    APPROACHING = "approaching"  # aim sent; waiting for a report at the aim
    LANDING = "landing"  # at the aim (stop sent): waiting for the desk to come to rest
    MANUAL = "manual"  # the height changes with nothing commanded: someone uses the buttons


@dataclass(frozen=True, slots=True)
class Decision(Generic[C]):
    """What the caller must do after an event."""

    commands: tuple[C, ...] = ()  # send these, in order
    deadline_s: float | None = None  # call tick() at this monotonic time; None: no tick needed
    outcome: Outcome | None = None  # set when a move just ended
    manual: ManualEvent | None = None  # a move nobody commanded started or ended
    message: str = ""  # one sentence for a person: why a move failed, or how far off it landed
    height_mm: int | None = None  # the last known height
    rested: bool = False  # the height has not changed for settle_s: the desk rests

    def error(self) -> DeskError | None:
        """The error a move that ended this way raises, or None if it arrived or goes on."""
        return outcome_error(self.outcome, self.message, self.height_mm)


_INTERVALS = 16  # the report intervals kept for the desk's usual cadence
_DUE_SLACK_S = 1e-6  # deadlines this close count as reached: sums of float seconds drift


def _due(now_s: float, at_s: float | None) -> bool:
    return at_s is not None and now_s + _DUE_SLACK_S >= at_s


class LandingMachine(Generic[C]):
    """The decisions of one desk's landings; see the module docstring."""

    def __init__(
        self,
        name: str,
        commander: Commander[C],
        config: LandingConfig,
        *,
        lead_mm: float = 5.0,
    ) -> None:
        self.name = name
        self.commander = commander
        self.config = config
        self.lead_mm = lead_mm  # the run-on learned so far: aim this far short of the target
        self.settle_s = config.settle_s  # silence that means at rest (grows with late reports)
        self._phase = Phase.IDLE
        self._height_mm: int | None = None
        self._moving = False  # the height changed within settle_s
        self._rest_at_s: float | None = None  # when no change for settle_s means at rest
        self._quiet_until_s = 0.0  # changes before this are a move's run-on, not a person
        self._changed_at_s = 0.0  # when the height last changed
        self._intervals_s: deque[float] = deque(maxlen=_INTERVALS)  # between reports in moves
        self._late: _Landed | None = None  # the last landing, while its late report may come
        self._clear_move()

    def _clear_move(self) -> None:
        self._target_mm: int | None = None
        self._aim_mm: int | None = None  # the aim last commanded
        self._direction = 0
        self._start_mm = 0  # where this approach started
        self._extreme_mm = 0  # the farthest point of this approach in its direction
        self._moved = False
        self._stop_sent = False
        self._corrections = 0
        self._backing_to_mm: int | None = None  # backing off to here before a new approach
        self._silence_from_s = 0.0  # the last report (or command) of the move
        self._bound_s = 0.0

    # -- public state ----------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def height_mm(self) -> int | None:
        """The last reported height, None before any report."""
        return self._height_mm

    @property
    def moving(self) -> bool:
        """The height changed within the last settle_s."""
        return self._moving

    @property
    def target_mm(self) -> int | None:
        """The target of the running move, else None."""
        return self._target_mm

    @property
    def aim_mm(self) -> int | None:
        """The aim the running move last commanded, else None."""
        return self._aim_mm

    @property
    def direction(self) -> int:
        """The way the running approach goes: +1 up, -1 down, 0 with no move."""
        return self._direction if self._target_mm is not None else 0

    @property
    def deadline_s(self) -> float | None:
        """When `tick` must be called next; None when no tick is needed."""
        deadlines = [self._rest_at_s] if self._rest_at_s is not None else []
        if self._target_mm is not None:
            deadlines += [self._silence_deadline_s(), self._bound_s]
        return min(deadlines, default=None)

    def _silence_deadline_s(self) -> float:
        cfg = self.config
        return self._silence_from_s + (self.settle_s if self._settling() else cfg.stall_s)

    def _settling(self) -> bool:
        """Past the aim (or told to stop), or (on a desk known to let go early: a negative
        lead) moved and now close short of it: a silence of settle_s means at rest. Else only
        stall_s of silence ends the approach."""
        if self._landing():
            return True
        if not self._moved or self._aim_mm is None or self.lead_mm >= 0:
            return False
        height_mm = self._height_mm if self._height_mm is not None else self._start_mm
        return (self._aim_mm - height_mm) * self._direction <= self.config.short_ok_mm

    def _landing(self) -> bool:
        """The stop was sent, or the desk stands at or past the aim."""
        if self._stop_sent:
            return True
        height_mm = self._height_mm if self._height_mm is not None else self._start_mm
        return self._aim_mm is not None and (height_mm - self._aim_mm) * self._direction >= 0

    # -- events ----------------------------------------------------------------------------------
    def start(self, target_mm: int, now_s: float) -> Decision[C]:
        """Begin a move to `target_mm` (limits are the caller's job)."""
        if self._target_mm is not None:
            raise IllegalTransition(
                f"the desk is already moving to {format_height(self._target_mm)}; stop it first"
            )
        height_mm = self._height_mm
        if height_mm is None:
            raise IllegalTransition("the desk's height is not known yet; wait for its first report")
        if self._phase is Phase.MANUAL:
            self._phase = Phase.IDLE
        self._late = None
        if abs(height_mm - target_mm) <= self.config.tolerance_mm:
            self._quiet_until_s = now_s + self.settle_s
            return self._decision(outcome=Outcome.ARRIVED)
        self._target_mm = target_mm
        self._bound_s = now_s + self.config.move_timeout_s
        return self._decision(commands=self._approach(height_mm, now_s))

    def report(self, height_mm: int, now_s: float) -> Decision[C]:
        """The desk reported its height (a repeat of the last one counts: the desk is alive)."""
        previous = self._height_mm
        self._height_mm = height_mm
        changed = previous is not None and previous != height_mm
        gap_s = now_s - self._changed_at_s
        if changed and self._target_mm is not None and self._moved:
            self._intervals_s.append(gap_s)
        if changed:
            self._moving = True
            self._rest_at_s = now_s + self.settle_s
            self._changed_at_s = now_s
        if self._target_mm is not None:
            return self._report_in_move(height_mm, now_s)
        if changed and self._late_report(height_mm, gap_s, now_s):
            return self._decision()
        if changed and self._phase is Phase.IDLE and now_s >= self._quiet_until_s:
            self._phase = Phase.MANUAL
            return self._decision(manual=ManualEvent(height_mm, ended=False))
        return self._decision()

    def _report_in_move(self, height_mm: int, now_s: float) -> Decision[C]:
        cfg = self.config
        target_mm, aim_mm, direction = self._require_move()
        self._silence_from_s = now_s
        if (height_mm - self._start_mm) * direction > 0:
            self._moved = True
        if (height_mm - self._extreme_mm) * direction > 0:
            self._extreme_mm = height_mm
        elif (self._extreme_mm - height_mm) * direction > self.away_mm:
            return self._end(
                Outcome.MANUAL_PRESS,
                f"desk {self.name!r} moved away from {format_height(target_mm)} (to "
                f"{format_height(height_mm)}): someone is using its buttons",
                now_s,
            )
        commands: tuple[C, ...] = ()
        if not self._stop_sent and (height_mm - aim_mm) * direction >= 0:
            commands = self._stop_commands()
            self._stop_sent = True
            self._phase = Phase.LANDING
        goal_mm = self._backing_to_mm if self._backing_to_mm is not None else target_mm
        if self._stop_sent and (height_mm - goal_mm) * direction > cfg.runaway_mm:
            return self._end(
                Outcome.MANUAL_PRESS,
                f"desk {self.name!r} kept moving past {format_height(target_mm)} (to "
                f"{format_height(height_mm)}) after the stop: someone is holding its buttons",
                now_s,
                first=commands,
            )
        return self._decision(commands=commands)

    def sent(self, now_s: float) -> Decision[C]:
        """A command of the running move went out at `now_s` (sending takes time on a busy
        broker): the silence that says stuck or landed counts from then, not from the decision."""
        if self._target_mm is not None:
            self._silence_from_s = max(self._silence_from_s, now_s)
        return self._decision()

    def tick(self, now_s: float) -> Decision[C]:
        """Time has come to `now_s`; call it at the deadline of the last Decision."""
        if self.deadline_s is None:
            raise IllegalTransition(f"no deadline is pending while the desk is {self._phase.value}")
        rested = False
        manual: ManualEvent | None = None
        if _due(now_s, self._rest_at_s):
            self._rest_at_s = None
            self._moving = False
            rested = self._height_mm is not None
            if self._phase is Phase.MANUAL and self._height_mm is not None:
                self._phase = Phase.IDLE
                manual = ManualEvent(self._height_mm, ended=True)
        if self._target_mm is not None:
            if _due(now_s, self._silence_deadline_s()):
                decision = self._silent(now_s)
            elif _due(now_s, self._bound_s):
                decision = self._timed_out(now_s)
            else:
                decision = self._decision()
            return _with(decision, rested=rested)
        return self._decision(manual=manual, rested=rested)

    def stop(self, now_s: float) -> Decision[C]:
        """Stop the desk, whatever it does; a running move ends STOPPED."""
        if self._target_mm is not None:
            message = f"the move was stopped at {format_height(self._height_mm)}"
            return self._end(Outcome.STOPPED, message, now_s)
        return self._decision(commands=self._stop_commands())

    def link_lost(self, reason: str, now_s: float, *, silent: bool = False) -> Decision[C]:
        """The connection dropped (`reason` says how): a running move ends LINK_LOST, sending
        nothing. `silent`: no report can come any more, so the desk counts as at rest now."""
        if silent:
            self._moving = False
            self._rest_at_s = None
        if self._target_mm is None:
            return self._decision()
        self._finish(now_s)
        return self._decision(outcome=Outcome.LINK_LOST, message=reason)

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def away_mm(self) -> int:
        """Back this far from the farthest point of an approach: someone moves the desk."""
        return max(5, math.ceil(2 * self.commander.resolution_mm))

    def _require_move(self) -> tuple[int, int, int]:
        if self._target_mm is None or self._aim_mm is None:  # pragma: no cover - callers check
            raise IllegalTransition("no move is running")
        return self._target_mm, self._aim_mm, self._direction

    def _bounded_lead(self, lead_mm: float) -> float:
        limit = self.config.max_lead_mm
        return min(limit, max(-limit, lead_mm))

    def _approach(self, start_mm: int, now_s: float, *, back_off: bool = False) -> tuple[C, ...]:
        """Aim from `start_mm`: short of the target by the run-on (past it by a negative one),
        at least one step away; with `back_off`, away from the target by `learn_min_mm` (the
        desk will not make the small move left, so it comes again from there)."""
        cfg = self.config
        target_mm = self._target_mm
        if target_mm is None:  # pragma: no cover - callers set the target first
            raise IllegalTransition("no move is running")
        direction = 1 if target_mm > start_mm else -1
        aim = target_mm - direction * self.lead_mm
        self._backing_to_mm = None
        if back_off:
            direction = -direction
            aim = start_mm + direction * cfg.learn_min_mm
            self._backing_to_mm = round(min(max(aim, cfg.min_mm), cfg.max_mm))
        step = self.commander.resolution_mm
        if (aim - start_mm) * direction < step:
            aim = start_mm + direction * step
        farthest = target_mm - direction * min(self.lead_mm, 0.0)  # past it: only an early desk
        if (aim - farthest) * direction > 0 and not back_off:
            aim = farthest
        aim = min(max(aim, float(cfg.min_mm)), float(cfg.max_mm))
        command, aim_mm = self.commander.aim(aim, direction)
        self._phase = Phase.APPROACHING
        self._aim_mm = aim_mm
        self._direction = direction
        self._start_mm = self._extreme_mm = start_mm
        self._moved = self._stop_sent = False
        self._silence_from_s = now_s
        return (command,)

    def _silent(self, now_s: float) -> Decision[C]:
        """No report for settle_s (landing) or stall_s (approaching): landed, or stuck."""
        cfg = self.config
        target_mm, aim_mm, direction = self._require_move()
        height_mm = self._height_mm if self._height_mm is not None else self._start_mm
        short_mm = (aim_mm - height_mm) * direction
        backing = self._backing_to_mm is not None
        if not self._moved and self._corrections:
            early = self.lead_mm < 0  # a desk known to let go early: come again from farther
            if early and not backing and self._corrections < cfg.max_corrections:
                self._corrections += 1  # too small a step for it: back off and come again
                return self._decision(commands=self._approach(height_mm, now_s, back_off=True))
            self._finish(now_s)  # it moved well to get here: the step is too small for it
            if abs(height_mm - target_mm) <= cfg.tolerance_mm:  # a late report: it is there
                self._late = _Landed(height_mm, direction, False, now_s + cfg.late_window_s)
                return self._decision(outcome=Outcome.ARRIVED)
            message = (
                f"landed at {height_mm} mm, {height_mm - target_mm} mm from the target "
                f"{target_mm} mm: desk {self.name!r} did not move for a correction that small"
            )
            return self._decision(outcome=Outcome.ARRIVED, message=message)
        if not (self._landing() or (self._moved and short_mm <= cfg.short_ok_mm)):
            if not self._moved:
                message = (
                    f"desk {self.name!r} did not start moving towards "
                    f"{format_height(target_mm)} within {cfg.stall_s:g} s: something may be in "
                    f"the way, or it does not listen on {self.commander.listens_on}"
                )
            else:
                message = (
                    f"desk {self.name!r} stopped at {format_height(height_mm)}, short of "
                    f"{format_height(target_mm)}: something may be in the way, or it stopped "
                    "reporting its height"
                )
            return self._end(Outcome.OBSTRUCTION, message, now_s)
        taught = abs(height_mm - self._start_mm) >= cfg.learn_min_mm
        if taught:
            run_on_mm = (height_mm - aim_mm) * direction
            self.lead_mm = self._bounded_lead((self.lead_mm + run_on_mm) / 2)
        landed = _Landed(height_mm, direction, taught, now_s + cfg.late_window_s)
        if backing:  # backed off: now the approach, whatever the distance
            return self._decision(commands=self._approach(height_mm, now_s))
        if abs(height_mm - target_mm) <= cfg.tolerance_mm:
            self._finish(now_s)
            self._late = landed
            return self._decision(outcome=Outcome.ARRIVED)
        self._corrections += 1
        if self._corrections > cfg.max_corrections:
            self._finish(now_s)
            self._late = landed
            message = (
                f"landed at {height_mm} mm, {height_mm - target_mm} mm from the target "
                f"{target_mm} mm, after {cfg.max_corrections} corrections"
            )
            return self._decision(outcome=Outcome.ARRIVED, message=message)
        return self._decision(
            commands=self._approach(
                height_mm, now_s, back_off=self._small(abs(target_mm - height_mm))
            )
        )

    def _small(self, gap_mm: float) -> bool:
        """Whether a correction of `gap_mm` is smaller than the desk can make: on a desk that
        lets go early, inside twice its negative lead; on any desk, from the second correction
        on, within its smallest move (two steps and the run-on), where it would overshoot back
        and forth. Such a correction backs off first."""
        if self.lead_mm < 0:
            return gap_mm < 2 * -self.lead_mm + self._step
        return self._corrections >= 2 and gap_mm < 2 * self._step + self.lead_mm

    @property
    def _step(self) -> float:
        return self.commander.resolution_mm

    def _timed_out(self, now_s: float) -> Decision[C]:
        target_mm, _, _ = self._require_move()
        message = (
            f"the move to {format_height(target_mm)} took longer than "
            f"{self.config.move_timeout_s:g} s; desk {self.name!r} was told to stop at "
            f"{format_height(self._height_mm)}"
        )
        return self._end(Outcome.TIMEOUT, message, now_s)

    def _stop_commands(self) -> tuple[C, ...]:
        command = self.commander.stop(self._height_mm)
        return () if command is None else (command,)

    def _end(
        self, outcome: Outcome, message: str, now_s: float, *, first: tuple[C, ...] = ()
    ) -> Decision[C]:
        """End the running move with the stop."""
        self._finish(now_s)
        return self._decision(
            commands=first + self._stop_commands(), outcome=outcome, message=message
        )

    def _finish(self, now_s: float) -> None:
        self._phase = Phase.IDLE
        self._clear_move()
        self._quiet_until_s = now_s + self.settle_s

    def _late_report(self, height_mm: int, gap_s: float, now_s: float) -> bool:
        """Whether a change at rest is the last landing's late report; if so, learn from it."""
        cfg = self.config
        late = self._late
        if late is None or now_s > late.until_s or abs(height_mm - late.height_mm) > self.away_mm:
            return False
        interval_s = statistics.median(self._intervals_s) if self._intervals_s else 0.0
        wait_s = gap_s + interval_s + cfg.settle_margin_s
        self.settle_s = min(cfg.max_settle_s, max(self.settle_s, wait_s))
        if late.taught:  # the lead took half the run-on it saw; half of the rest was missed
            missed_mm = (height_mm - late.height_mm) * late.direction
            self.lead_mm = self._bounded_lead(self.lead_mm + missed_mm / 2)
        self._late = replace(late, height_mm=height_mm, taught=False)
        return True

    def _decision(
        self,
        *,
        commands: tuple[C, ...] = (),
        outcome: Outcome | None = None,
        manual: ManualEvent | None = None,
        message: str = "",
        rested: bool = False,
    ) -> Decision[C]:
        return Decision(
            commands=commands,
            deadline_s=self.deadline_s,
            outcome=outcome,
            manual=manual,
            message=message,
            height_mm=self._height_mm,
            rested=rested,
        )


@dataclass(frozen=True, slots=True)
class _Landed:
    """A landing whose late report may still come."""

    height_mm: int
    direction: int
    taught: bool  # it taught the lead (a long move)
    until_s: float


def _with(decision: Decision[C], *, rested: bool) -> Decision[C]:
    return replace(decision, rested=True) if rested else decision
