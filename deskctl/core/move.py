"""One LINAK move-to as a pure state machine: events in, decisions out (no IO, like h11).

Design:
- The caller owns the radio and the clock. It feeds `start`, `report` (a decoded HEIGHT_SPEED
  notification), `tick`, `stop` and `link_lost`, each with the monotonic `now_s`. Every call returns
  a `Decision`: the writes to make in order, the next deadline (the newest Decision's deadline
  replaces any older one; None means cancel the timer), the outcome when a move just ended, a
  manual-move event, and one sentence for a person when the outcome is not ARRIVED.
- Phases: IDLE -start-> STARTING -motion-> MOVING -arrival-> STOPPING (landing: nothing written;
  for settle_s motion within tolerance_mm of the arrival is the desk finishing, farther is a
  manual move) -rest or settle_s-> IDLE; a move that fails or is stopped goes to STOPPING (stop
  written, the desk coasts) -rest or stop_coast_s-> IDLE. IDLE -motion->
  MANUAL (someone uses the desk's buttons) -rest-> IDLE. `link_lost` goes to IDLE from anywhere.
- A move writes COMMAND wake and stop, then the target on REFERENCE_INPUT, and rewrites the target
  every renew_s. It arrives when settle_reports zero-speed reports in a row end within tolerance_mm,
  or the desk rests there settle_s, or, at once, when the height read back at rest is within
  tolerance_mm, or when a report or read finds it creeping in: within tolerance_mm, slowing, at
  creep_speed or less (the end of its ramp, about 0.15 mm from rest; waiting for the rest would
  cost a read or two, 100-150 ms on a slow connection). Arrival writes nothing: the renewals stop
  and the desk holds (a target re-issued late may still nudge it: the landing).
- A real desk notifies only while it moves (it may send no zero-speed report at rest, and its
  last report may not be where it rests), and a radio loses reports: a Decision with `read` asks
  the caller to read HEIGHT_SPEED and hand the answer to `read_back`. Asked when a move goes
  quiet (quiet_s mid-move; back-to-back within near_mm of the target or at rest; at once on a
  zero-speed report; after a re-issue), when a manual move goes quiet, and while a stopped desk
  coasts; one at a time. A read at rest is the truth; a read that finds the desk moving judges
  nothing but a creep in (its answer may be older than the last notification).
- A busy machine is not an obstruction: the desk halts by itself hold_s after the last target it
  got. The controller knows when it decided each target write; when a report or tick comes more
  than hold_s after the write before the last one (the last may still be on its way), or a tick
  comes more than hold_s - renew_s after the last (its write would land too late), our renewal
  lapsed: it re-issues (COMMAND wake, the target; counted, at most max_reissues, and the overall
  bound is extended to the remaining distance) instead of judging. For hold_s after a re-issue a
  rest out of tolerance is not judged (those reports may predate the new target); a desk still at
  rest short when that window ends, with the target renewed in time, is an obstruction.
- Every other end writes COMMAND stop and REFERENCE_INPUT cancel (as the LINAK app does):
  OBSTRUCTION when the desk rests farther than short_mm from the target, or rests nearer but out of
  tolerance for settle_reports reports or settle_s; MANUAL_PRESS when it reverses away from the
  target, or ends up off_path_mm farther than its closest approach (it ran past the target);
  TIMEOUT without motion within start_timeout_s, or past the overall bound; STOPPED on `stop()`.
  LINK_LOST writes nothing (nothing can be sent) and forgets the target: no report resumes it.
- Choices: `start` is legal from IDLE and STOPPING (its own stop write halts the coasting desk);
  it answers ARRIVED with no writes only when the desk already rests exactly on the target (a 1 mm
  move is a move); a desk that will not stir for a step within tolerance arrives at the start
  timeout instead of failing. `stop` in MANUAL
  writes the stop but stays MANUAL, so the manual move still ends with the height the person chose.
  A tick before its deadline (less 1 µs of float slack) does nothing; a tick in IDLE or MANUAL
  (where no deadline was given) is illegal.
- An illegal event raises IllegalTransition and changes nothing: handlers check before they mutate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from deskctl.core.linak import (
    CANCEL_TARGET,
    DEFAULT_BASE_MM,
    Char,
    Command,
    HeightReport,
    encode_target,
)
from deskctl.core.units import format_duration, format_height
from deskctl.core.vocab import Outcome
from deskctl.errors import (
    ConfigError,
    DeskError,
    HeightError,
    IllegalTransition,
    LinkError,
    ManualOverride,
    MoveError,
    MoveTimeout,
    Obstruction,
    ProtocolError,
)

__all__ = [
    "Decision",
    "ManualEvent",
    "MoveConfig",
    "MoveController",
    "Phase",
    "Write",
    "outcome_error",
]


@dataclass(frozen=True, slots=True)
class MoveConfig:
    """The numbers that decide a move; the defaults suit an IKEA IDÅSEN."""

    renew_s: float = 0.3  # re-write the target this often (the desk stutters if not renewed ~1 s)
    tolerance_mm: int = 1  # a stop within this of the target is an arrival
    settle_reports: int = 3  # this many zero-speed reports in a row decide how the move ended
    settle_s: float = 1.0  # ...or at rest this long without further reports
    start_timeout_s: float = 3.0  # the desk must start moving within this
    short_mm: int = 10  # at rest farther than this from the target: obstruction at once
    off_path_mm: int = 5  # farther than the closest approach by this much: off the path
    min_speed_mm_s: float = 15.0  # bound = start + start_timeout_s + distance/min_speed + settle_s
    stop_coast_s: float = 2.0  # after a stop, motion is coasting (not a manual move) this long
    hold_s: float = 1.0  # the desk keeps moving this long after the last target, then halts
    max_reissues: int = 10  # a move re-issued more often than this (renewals late) ends
    quiet_s: float = 0.2  # in a move, no report this long: read the height back
    near_mm: int = 3  # this near the target (or at rest), read back after poll_s instead
    poll_s: float = 0.001  # near the target or at rest: read back-to-back (one at a time)
    creep_speed: int = 800  # raw (an IDÅSEN: 6200 at 38 mm/s): 4.9 mm/s, ~0.15 mm of ramp left

    def __post_init__(self) -> None:
        positive = {
            "renew_s": self.renew_s,
            "settle_reports": self.settle_reports,
            "settle_s": self.settle_s,
            "start_timeout_s": self.start_timeout_s,
            "off_path_mm": self.off_path_mm,
            "min_speed_mm_s": self.min_speed_mm_s,
            "stop_coast_s": self.stop_coast_s,
            "hold_s": self.hold_s,
            "quiet_s": self.quiet_s,
            "poll_s": self.poll_s,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"move setting {name} must be above zero, got {value}")
        if self.tolerance_mm < 0:
            raise ConfigError(
                f"move setting tolerance_mm must not be negative, got {self.tolerance_mm}"
            )
        if self.near_mm < 0:
            raise ConfigError(f"move setting near_mm must not be negative, got {self.near_mm}")
        if self.max_reissues < 0:
            raise ConfigError(
                f"move setting max_reissues must not be negative, got {self.max_reissues}"
            )
        if self.hold_s <= self.renew_s:
            raise ConfigError(
                f"move setting hold_s ({self.hold_s}) must be above renew_s ({self.renew_s}): "
                "the desk would halt between renewals"
            )
        if self.short_mm < self.tolerance_mm:
            raise ConfigError(
                f"move setting short_mm ({self.short_mm}) must not be below tolerance_mm "
                f"({self.tolerance_mm})"
            )


DEFAULT_CONFIG = MoveConfig()


@dataclass(frozen=True, slots=True)
class Write:
    """Bytes to write to one characteristic (without response)."""

    char: Char
    data: bytes


_WAKE = Write(Char.COMMAND, Command.WAKE.value)
_STOP = Write(Char.COMMAND, Command.STOP.value)
_CANCEL = Write(Char.REFERENCE_INPUT, CANCEL_TARGET)
_STOP_WRITES = (_STOP, _CANCEL)


class Phase(enum.Enum):
    IDLE = "idle"  # no move; the desk rests (or nothing is known)
    STARTING = "starting"  # move written, waiting for the desk to start
    MOVING = "moving"  # the desk is on its way to the target
    STOPPING = "stopping"  # stop written; motion is coasting
    MANUAL = "manual"  # the desk moves with nothing commanded: someone uses its buttons


@dataclass(frozen=True, slots=True)
class ManualEvent:
    """The desk started or ended a move nobody commanded; `height_mm` is where it stands."""

    height_mm: int
    ended: bool

    @property
    def kind(self) -> Literal["started", "ended"]:
        return "ended" if self.ended else "started"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the caller must do after an event."""

    writes: tuple[Write, ...] = ()
    deadline_s: float | None = None  # call tick() at this monotonic time; None: no tick needed
    outcome: Outcome | None = None  # set when a move just ended
    manual: ManualEvent | None = None  # the desk moves, or came to rest, with nothing commanded
    read: bool = False  # read the height back (HEIGHT_SPEED) and hand it to read_back()
    message: str = ""  # one sentence for a person when the outcome is not ARRIVED
    height_mm: int | None = None  # the last known height

    def error(self) -> DeskError | None:
        """The error a move that ended this way raises, or None if it arrived or goes on."""
        return outcome_error(self.outcome, self.message, self.height_mm)


def outcome_error(outcome: Outcome | None, message: str, height_mm: int | None) -> DeskError | None:
    """The error a move that ended with `outcome` raises (`message` says why), or None if it
    arrived or goes on."""
    match outcome:
        case Outcome.OBSTRUCTION:
            return Obstruction(message, height_mm)
        case Outcome.MANUAL_PRESS:
            return ManualOverride(message, height_mm)
        case Outcome.TIMEOUT:
            return MoveTimeout(message, height_mm)
        case Outcome.STOPPED:
            return MoveError(message, height_mm)
        case Outcome.LINK_LOST:
            return LinkError(message)
        case _:
            return None


_DUE_SLACK_S = 1e-6  # deadlines this close count as reached: sums of float seconds drift


def _due(now_s: float, at_s: float) -> bool:
    return now_s + _DUE_SLACK_S >= at_s


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


class MoveController:
    """The decisions of one desk's moves; see the module docstring."""

    def __init__(
        self, config: MoveConfig = DEFAULT_CONFIG, *, base_mm: int = DEFAULT_BASE_MM
    ) -> None:
        self.config = config
        self.base_mm = base_mm
        self._phase = Phase.IDLE
        self._height_mm: int | None = None
        self._moving = False  # the last report had a nonzero speed
        self._coast_until_s: float | None = None
        self._landed_mm: int | None = None  # arrived at this height, still landing
        self._speed = 0  # the last speed seen in a move (raw, unsigned)
        self._clear_move()

    def _clear_move(self) -> None:
        self._target_mm: int | None = None
        self._target_write = _CANCEL
        self._direction = 0  # +1 up, -1 down: the way to the target at start
        self._started_s = 0.0
        self._start_by_s = 0.0
        self._bound_s = 0.0
        self._renew_at_s = 0.0
        self._target_at_s = 0.0  # when the last target write was decided
        self._prev_target_at_s = 0.0  # ...and the one before it (the last may still be in flight)
        self._grace_until_s: float | None = None  # after a re-issue: rest short is not judged yet
        self._reissues = 0
        self._best_mm = 0  # the closest approach to the target so far
        self._start_mm = 0  # where the desk was when the move started
        self._rest_since_s: float | None = None
        self._rest_reports = 0
        self._report_at_s = 0.0  # the last report (notified or read back) in this move
        self._reading = False  # a read-back was asked for and has not come back

    # -- public state ----------------------------------------------------------------------------
    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def landing(self) -> bool:
        """Arrived, and for settle_s the desk may still finish (its last creep, or a nudge from a
        target re-issued late): its reports now are the landing (at rest to whoever asks)."""
        return self._phase is Phase.STOPPING and self._landed_mm is not None

    @property
    def target_mm(self) -> int | None:
        """The target of the running move (STARTING or MOVING), else None."""
        return self._target_mm

    @property
    def height_mm(self) -> int | None:
        """The last reported height, None before any report."""
        return self._height_mm

    @property
    def deadline_s(self) -> float | None:
        """When `tick` must be called next; None when no tick is needed."""
        if self._phase is Phase.STOPPING:  # coasting: quiet means read whether it rests
            if self._reading or not self._moving or self._coast_until_s is None:
                return self._coast_until_s
            return min(self._coast_until_s, self._report_at_s + self.config.quiet_s)
        if self._phase is Phase.MANUAL:  # quiet: read back whether the hand let go
            return None if self._reading else self._report_at_s + self.config.quiet_s
        if self._phase not in (Phase.STARTING, Phase.MOVING):
            return None
        deadline = min(self._renew_at_s, self._bound_s)
        if self._phase is Phase.STARTING:
            deadline = min(deadline, self._start_by_s)
        if self._rest_since_s is not None:
            deadline = min(deadline, self._rest_since_s + self.config.settle_s)
        if self._grace_until_s is not None:
            deadline = min(deadline, self._grace_until_s)
        if not self._reading:
            deadline = min(deadline, self._read_at_s())
        return deadline

    def _read_at_s(self) -> float:
        """When to read the height back if no report comes: soon near the target or at rest
        (a real desk goes quiet at rest), later mid-move (a notification or two lost)."""
        cfg = self.config
        near = (
            self._height_mm is not None
            and self._target_mm is not None
            and (abs(self._target_mm - self._height_mm) <= cfg.near_mm)
        )
        settling = self._phase is Phase.MOVING and (near or not self._moving)
        return self._report_at_s + (cfg.poll_s if settling else cfg.quiet_s)

    # -- events ----------------------------------------------------------------------------------
    def start(self, target_mm: int, now_s: float) -> Decision:
        """Begin a move to `target_mm` (limits are the caller's job; this checks it can be sent)."""
        if self._phase is Phase.MANUAL:
            raise IllegalTransition("the desk is being moved by hand; try again when it rests")
        if self._target_mm is not None:
            raise IllegalTransition(
                f"the desk is already moving to {format_height(self._target_mm)}; stop it first"
            )
        if self._height_mm is None:
            raise IllegalTransition("the desk's height is not known yet; wait for its first report")
        try:
            data = encode_target(target_mm, self.base_mm)
        except ProtocolError:
            raise HeightError(
                f"{format_height(target_mm)} cannot be sent to this desk, whose base is "
                f"{format_height(self.base_mm)}"
            ) from None
        distance = abs(target_mm - self._height_mm)
        if distance == 0 and not self._moving:
            return self._decision(outcome=Outcome.ARRIVED)
        cfg = self.config
        self._phase = Phase.STARTING
        self._coast_until_s = None
        self._landed_mm = None
        self._speed = 0
        self._target_mm = target_mm
        self._target_write = Write(Char.REFERENCE_INPUT, data)
        self._direction = _sign(target_mm - self._height_mm)
        self._started_s = now_s
        self._start_by_s = now_s + cfg.start_timeout_s
        self._bound_s = now_s + cfg.start_timeout_s + distance / cfg.min_speed_mm_s + cfg.settle_s
        self._renew_at_s = now_s + cfg.renew_s
        self._target_at_s = self._prev_target_at_s = now_s
        self._grace_until_s = None
        self._reissues = 0
        self._best_mm = distance
        self._start_mm = self._height_mm
        self._rest_since_s = None
        self._rest_reports = 0
        self._report_at_s = now_s
        self._reading = False
        return self._decision(writes=(_WAKE, _STOP, self._target_write))

    def read_back(self, report: HeightReport, now_s: float) -> Decision:
        """The height characteristic, read back as a Decision asked: where the desk is now.

        In a move it counts as a report, and a desk at rest within tolerance has arrived (the
        height read at rest is where it rests, whatever it last notified). Outside a move it only
        updates the height: a read that comes back after its move ended says nothing new.
        """
        if self._phase not in (Phase.STARTING, Phase.MOVING, Phase.MANUAL):
            self._reading = False
            if not report.moving:  # at rest: where it rests (a coasting desk has stopped)
                self._height_mm = report.height_mm
                self._moving = False
                if self._phase is Phase.STOPPING:
                    self._phase = Phase.IDLE
                    self._coast_until_s = None
            return self._decision()
        self._reading = False
        if report.moving and self._phase is not Phase.MANUAL:
            # still on its way. The answer was sampled when the read reached the desk and may
            # come after newer notifications (a busy loop, a slow radio): it moves nothing and
            # judges nothing (an older height would look like a desk leaving its path), unless
            # it found the desk creeping in.
            if self._phase is Phase.MOVING and self._creeping_in(report, now_s):
                self._height_mm = report.height_mm
                return self._landed(now_s)
            self._report_at_s = now_s
            self._moving = True
            self._phase = Phase.MOVING
            self._rest_since_s = None
            self._rest_reports = 0
            return self._decision()
        return self.report(report, now_s, read_back=True)

    def report(self, report: HeightReport, now_s: float, *, read_back: bool = False) -> Decision:
        """A height+speed report from the desk (notified; `read_back` when it was read)."""
        self._report_at_s = now_s
        self._height_mm = report.height_mm
        self._moving = report.moving
        phase = self._phase
        if phase is Phase.IDLE:
            if report.moving:
                self._phase = Phase.MANUAL
                self._reading = False
                return self._decision(manual=ManualEvent(report.height_mm, ended=False))
            return self._decision()
        if phase is Phase.MANUAL:
            if not report.moving:
                self._phase = Phase.IDLE
                self._reading = False
                return self._decision(manual=ManualEvent(report.height_mm, ended=True))
            return self._decision()
        if phase is Phase.STOPPING:
            if self._landed_mm is not None and report.moving:
                if abs(report.height_mm - self._landed_mm) <= self.config.tolerance_mm:
                    self._moving = False  # the last of its ramp
                    return self._decision()
                self._landed_mm = None  # not the landing: someone moves the desk
                self._phase = Phase.MANUAL
                self._coast_until_s = None
                return self._decision(manual=ManualEvent(report.height_mm, ended=False))
            if not report.moving:
                self._phase = Phase.IDLE
                self._coast_until_s = None
            return self._decision()
        return self._report_in_move(report, now_s, read_back)

    def _report_in_move(self, report: HeightReport, now_s: float, read_back: bool) -> Decision:
        cfg = self.config
        target_mm = self._require_target()
        self._report_at_s = now_s
        writes: tuple[Write, ...] = ()
        read = False
        if self._lapsed(now_s):
            reissued = self._reissue(now_s)
            if reissued.outcome is not None:
                return reissued
            writes, read = reissued.writes, reissued.read
        offset_mm = target_mm - report.height_mm
        distance = abs(offset_mm)
        best = self._best_mm
        self._best_mm = min(best, distance)
        if report.moving:
            if (
                self._phase is Phase.STARTING
                and report.direction == -self._direction
                and abs(report.height_mm - self._start_mm) <= cfg.tolerance_mm
            ):
                return self._decision(writes=writes, read=read)  # the last of a landing or coast
            was_moving = self._phase is Phase.MOVING
            self._phase = Phase.MOVING
            self._rest_since_s = None
            self._rest_reports = 0
            here = format_height(report.height_mm)
            if report.direction == -self._direction and _sign(offset_mm) == self._direction:
                return self._end(
                    Outcome.MANUAL_PRESS,
                    f"the desk turned back at {here} on its way to {format_height(target_mm)}: "
                    "someone is using its buttons",
                    now_s,
                )
            if distance > best + cfg.off_path_mm:
                return self._end(
                    Outcome.MANUAL_PRESS,
                    f"the desk left its path to {format_height(target_mm)} at {here}: "
                    "someone is using its buttons",
                    now_s,
                )
            if self._creeping_in(report, now_s) and was_moving:
                return self._landed(now_s)
            return self._decision(writes=writes, read=read)
        if (distance > 0 and self._phase is Phase.STARTING) or (
            distance > cfg.tolerance_mm and self._in_grace(now_s)
        ):
            # not started yet (only the start timeout applies), or re-issued after our renewal
            # lapsed: this rest may predate the new target, which gets hold_s to move the desk
            self._rest_since_s = None
            self._rest_reports = 0
            return self._decision(writes=writes, read=read)
        if distance > cfg.short_mm:
            return self._end(Outcome.OBSTRUCTION, self._short_message(report.height_mm), now_s)
        if self._rest_since_s is None:
            self._rest_since_s = now_s
        self._rest_reports += 1
        if self._rest_reports >= cfg.settle_reports or (read_back and distance <= cfg.tolerance_mm):
            return self._settled(now_s)
        # at rest: read back at once (where it rests, which its last report may not say)
        return self._decision(writes=writes, read=read or self._ask_read())

    def _creeping_in(self, report: HeightReport, now_s: float) -> bool:
        """The desk slows to a creep within tolerance of the target at the end of its ramp: it
        rests within a tenth of a millimetre of here, and waiting for the rest would cost a read
        or two (100-150 ms on a slow connection). Slowing: a tiny move starts at a creep too."""
        speed = abs(report.speed)
        before, self._speed = self._speed, speed
        return (
            speed <= self.config.creep_speed
            and speed < before
            and abs(self._require_target() - report.height_mm) <= self.config.tolerance_mm
            and not self._in_grace(now_s)
        )

    def _landed(self, now_s: float) -> Decision:
        """Arrived (at rest, or creeping in): no writes (the desk holds the target and finishes);
        for settle_s its reports within tolerance of here are the landing, farther ones a manual
        move."""
        self._landed_mm = self._height_mm
        self._moving = False
        self._phase = Phase.STOPPING
        self._coast_until_s = now_s + self.config.settle_s
        self._clear_move()
        return self._decision(outcome=Outcome.ARRIVED)

    def _ask_read(self) -> bool:
        if self._reading:
            return False
        self._reading = True
        return True

    def tick(self, now_s: float) -> Decision:
        """Time has come to `now_s`; call it at the deadline of the last Decision."""
        phase = self._phase
        if phase is Phase.IDLE:
            raise IllegalTransition(f"no deadline is pending while the desk is {phase.value}")
        if phase is Phase.MANUAL:  # quiet since its last report: did the hand let go?
            due = not self._reading and _due(now_s, self._report_at_s + self.config.quiet_s)
            return self._decision(read=due and self._ask_read())
        if phase is Phase.STOPPING:
            if self._coast_until_s is None or _due(now_s, self._coast_until_s):
                self._phase = Phase.IDLE
                self._coast_until_s = None
                return self._decision(read=self._moving and self._ask_read())
            quiet = _due(now_s, self._report_at_s + self.config.quiet_s)
            return self._decision(read=self._moving and quiet and self._ask_read())
        cfg = self.config
        target_mm = self._require_target()
        late = now_s - self._target_at_s > cfg.hold_s - cfg.renew_s  # the last write may be late
        if (late or self._lapsed(now_s)) and not _due(now_s, self._bound_s):
            return self._reissue(now_s)
        if self._grace_until_s is not None and _due(now_s, self._grace_until_s):
            self._grace_until_s = None
            resting = phase is Phase.MOVING and not self._moving
            if resting and abs(target_mm - self._require_height()) > cfg.tolerance_mm:
                return self._settled(now_s)  # at rest short for hold_s with a live target
        if self._rest_since_s is not None and _due(now_s, self._rest_since_s + cfg.settle_s):
            return self._settled(now_s)
        if phase is Phase.STARTING and _due(now_s, self._start_by_s):
            here_mm = self._height_mm
            if here_mm is not None and abs(target_mm - here_mm) <= cfg.tolerance_mm:
                return self._settled(now_s)  # a desk may not stir for a step within tolerance
            return self._end(
                Outcome.TIMEOUT,
                f"the desk did not start moving within {format_duration(cfg.start_timeout_s)}",
                now_s,
            )
        if _due(now_s, self._bound_s):
            return self._end(
                Outcome.TIMEOUT,
                f"the desk did not reach {format_height(target_mm)} within "
                f"{format_duration(self._bound_s - self._started_s)} "
                f"and was stopped at {format_height(self._height_mm)}",
                now_s,
            )
        writes: tuple[Write, ...] = ()
        if _due(now_s, self._renew_at_s):
            self._renewed(now_s)
            writes = (self._target_write,)
        read = not self._reading and _due(now_s, self._read_at_s()) and self._ask_read()
        return self._decision(writes=writes, read=read)

    def stop(self, now_s: float) -> Decision:
        """Stop the desk, whatever it does: COMMAND stop and REFERENCE_INPUT cancel."""
        if self._phase is Phase.MANUAL:
            return self._decision(writes=_STOP_WRITES)
        if self._target_mm is not None:
            message = (
                f"the move to {format_height(self._target_mm)} was stopped at "
                f"{format_height(self._height_mm)}"
            )
            return self._end(Outcome.STOPPED, message, now_s)
        self._phase = Phase.STOPPING
        self._coast_until_s = now_s + self.config.stop_coast_s
        self._landed_mm = None
        self._report_at_s = now_s
        return self._decision(writes=_STOP_WRITES)

    def link_lost(self, now_s: float) -> Decision:
        """The connection dropped: the move ends without writes and is never resumed."""
        phase = self._phase
        target_mm = self._target_mm
        self._phase = Phase.IDLE
        self._coast_until_s = None
        self._landed_mm = None
        self._moving = False
        self._clear_move()
        if target_mm is not None:
            return self._decision(
                outcome=Outcome.LINK_LOST,
                message=f"the connection to the desk dropped during the move to "
                f"{format_height(target_mm)}",
            )
        if phase is Phase.MANUAL and self._height_mm is not None:
            return self._decision(manual=ManualEvent(self._height_mm, ended=True))
        return self._decision()

    # -- helpers ---------------------------------------------------------------------------------
    def _renewed(self, now_s: float) -> None:
        self._prev_target_at_s, self._target_at_s = self._target_at_s, now_s
        self._renew_at_s = now_s + self.config.renew_s

    def _lapsed(self, now_s: float) -> bool:
        """Our renewal came late: the desk may have halted by itself (a busy machine, not it).

        The last target write may still be on its way, so the one before it is what the desk
        surely holds; more than hold_s since then and the desk may rightly have let go.
        """
        return now_s - self._prev_target_at_s > self.config.hold_s

    def _in_grace(self, now_s: float) -> bool:
        return self._grace_until_s is not None and not _due(now_s, self._grace_until_s)

    def _reissue(self, now_s: float) -> Decision:
        """Wake the desk and write the target again; the desk gets hold_s to move again."""
        cfg = self.config
        target_mm = self._require_target()
        if self._reissues >= cfg.max_reissues:
            return self._end(
                Outcome.TIMEOUT,
                f"the desk was stopped at {format_height(self._height_mm)} on its way to "
                f"{format_height(target_mm)}: this machine was too busy to renew the target in "
                f"time ({self._reissues + 1} times)",
                now_s,
            )
        self._reissues += 1
        self._renewed(now_s)
        self._prev_target_at_s = now_s
        self._grace_until_s = now_s + cfg.hold_s
        self._rest_since_s = None
        self._rest_reports = 0
        remaining = abs(target_mm - self._require_height())
        self._bound_s = max(
            self._bound_s,
            now_s + cfg.start_timeout_s + remaining / cfg.min_speed_mm_s + cfg.settle_s,
        )
        if self._phase is Phase.STARTING:
            self._start_by_s = max(self._start_by_s, now_s + cfg.start_timeout_s)
        # and read back where the desk is: its reports from the stall may be queued or lost
        return self._decision(writes=(_WAKE, self._target_write), read=self._ask_read())

    def _require_target(self) -> int:
        if self._target_mm is None:  # pragma: no cover - STARTING/MOVING always hold a target
            raise IllegalTransition("no move is running")
        return self._target_mm

    def _require_height(self) -> int:
        if self._height_mm is None:  # pragma: no cover - a move starts from a known height
            raise IllegalTransition("the desk's height is not known")
        return self._height_mm

    def _short_message(self, height_mm: int) -> str:
        target_mm = self._require_target()
        gap = target_mm - height_mm
        side = "short of" if _sign(gap) == self._direction else "past"
        return (
            f"the desk stopped {abs(gap)} mm {side} {format_height(target_mm)} at "
            f"{format_height(height_mm)}: something is in the way"
        )

    def _settled(self, now_s: float) -> Decision:
        """The desk rests: arrived if within tolerance, else stuck short of the target."""
        height_mm = self._require_height()
        target_mm = self._require_target()
        if abs(target_mm - height_mm) <= self.config.tolerance_mm:
            return self._landed(now_s)
        return self._end(Outcome.OBSTRUCTION, self._short_message(height_mm), now_s)

    def _end(self, outcome: Outcome, message: str, now_s: float) -> Decision:
        """End the running move with the stop writes; the desk coasts in STOPPING."""
        self._phase = Phase.STOPPING
        self._coast_until_s = now_s + self.config.stop_coast_s
        self._landed_mm = None
        self._clear_move()
        self._report_at_s = now_s  # quiet_s from now, a coasting desk is read back
        return self._decision(writes=_STOP_WRITES, outcome=outcome, message=message)

    def _decision(
        self,
        *,
        writes: tuple[Write, ...] = (),
        outcome: Outcome | None = None,
        manual: ManualEvent | None = None,
        message: str = "",
        read: bool = False,
    ) -> Decision:
        return Decision(
            writes=writes,
            deadline_s=self.deadline_s,
            outcome=outcome,
            manual=manual,
            message=message,
            height_mm=self._height_mm,
            read=read,
        )
