"""A busy machine is not an obstruction: the event loop stalls mid-move, the desk lets go.

Issue 13. A LINAK desk keeps moving only while its target is renewed (the model, like the real
desk, drops a target 1 s after the last write and ramps down). When the process is starved, the
renewal comes late, the desk halts as it should, and deskctl used to see it at rest short of the
target and end the move as "something is in the way", which holds the schedule. Here the loop is
blocked 0.2-2 s mid-move (virtual time jumps while nothing of ours runs); the desk is a device of
its own and lives through the stall: its motor runs on the clock, its target lapses, its
notifications queue up. Every move must still land within 1 mm, with no obstruction; a real
collision is still an obstruction within 1 s, and the desk is stopped. The desk is the realistic
model (it rests up to 0.5 mm off its target, quiet at rest, its stop lags), so "within 1 mm" is
checked against where it rests, read back.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.linak import Char, Command
from deskctl.errors import Obstruction
from deskctl.links.linak import LinakLink
from deskctl.sim.desk_model import DeskModel, Notification
from deskctl.sim.model_gatt import ModelGattClient
from deskctl.testing.virtual_time import VirtualTimeLoop, run_virtual
from tests.faults.tally import counter

pytestmark = pytest.mark.fault
TALLY = counter(__name__)


class DeskBesideTheLoop(ModelGattClient):
    """The simulated desk as a device of its own: its motor keeps the clock's time, whatever we do.

    Every read, write and step first brings the model to the clock's now, so a write delayed by a
    stalled loop lands on a desk that lived through the stall. `stall()` blocks our loop: time
    jumps, the desk runs, and what it notified meanwhile waits, as notifications wait in the
    kernel; they are handed over first (as asyncio serves ready IO before overdue timers) or with
    the next write (the other order), by the caller's choice. `stall_in_write_s` stalls the loop
    inside the next target write instead: decided on time, it reaches the desk late.
    """

    def __init__(self, model: DeskModel, clock: Clock) -> None:
        super().__init__(model, clock, step_s=0.05)
        self._model_at_s: float | None = None
        self._queued: list[Notification] = []
        self.hit_at_s: float | None = None  # no later than the model's collision, once it hit
        self.stall_in_write_s: float | None = None
        self.let_go = 0  # stalls through which the desk let go of its target

    def _run_desk(self) -> None:
        now_s = self.clock.monotonic()
        if self._model_at_s is None:
            self._model_at_s = now_s
        was_obstructed = self.model.obstructed
        self._queued += self.model.advance(now_s - self._model_at_s)
        if self.model.obstructed and not was_obstructed:
            self.hit_at_s = self._model_at_s
        self._model_at_s = now_s

    def deliver(self) -> None:
        queued, self._queued = self._queued, []
        if not self._connected:
            return
        for char, data in queued:
            for callback in list(self._subscribers.get(char, ())):
                callback(data)

    async def read(self, char: Char) -> bytes:
        self._check()
        self._run_desk()
        self.deliver()
        return self.model.read(char)

    async def write(self, char: Char, data: bytes) -> None:
        self._check()
        if char is Char.REFERENCE_INPUT and self.stall_in_write_s is not None:
            self.stall(self.stall_in_write_s, notifications_first=False)
            self.stall_in_write_s = None
        self._run_desk()
        self.deliver()
        self.model.write(char, data)

    async def _run(self) -> None:
        while True:
            await self.clock.sleep(self.step_s)
            self._run_desk()
            self.deliver()

    def stall(self, seconds: float, *, notifications_first: bool) -> bool:
        """Block the loop `seconds`; True if the desk let go of its target meanwhile."""
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        loop.advance(seconds)  # nothing of ours runs: the loop is busy elsewhere
        self._run_desk()
        if notifications_first:
            self.deliver()
        renewed = [at_s for at_s, char, _ in self.model.writes if char is Char.REFERENCE_INPUT]
        lapsed = bool(renewed) and self.model.now_s > renewed[-1] + self.model.reference_hold_s
        self.let_go += lapsed
        return lapsed


def _stall_into(let_go: list[bool], desk: DeskBesideTheLoop, seconds: float) -> None:
    let_go.append(desk.stall(seconds, notifications_first=True))


async def _connected(model: DeskModel) -> tuple[LinakLink, DeskBesideTheLoop]:
    clock = Clock()
    desk = DeskBesideTheLoop(model, clock)
    link = LinakLink("desk", desk, clock, min_mm=620, max_mm=1270)
    await link.connect()
    return link, desk


def test_a_hundred_moves_with_the_loop_stalled_mid_move_land_without_a_false_obstruction() -> None:
    rng = random.Random(13)
    model = DeskModel(height_mm=750)
    let_go: list[int] = []

    async def main() -> None:
        async with asyncio.timeout(3600):  # virtual seconds
            await moves(*await _connected(model))

    async def moves(link: LinakLink, desk: DeskBesideTheLoop) -> None:
        for n in range(100):
            here_mm = model.height_mm
            target_mm = rng.choice([620, 1270]) if n < 4 else rng.randint(620, 1270)
            if abs(target_mm - here_mm) < 60:
                target_mm = 1270 if here_mm < 945 else 620
            travel_s = abs(target_mm - here_mm) / model.speed_max_mm_s
            stalls = []
            let_go_before = desk.let_go
            for _ in range(rng.choice((1, 1, 2))):
                at_s = rng.uniform(0.0, travel_s + 0.5)  # from the start to the landing
                seconds = rng.uniform(0.2, 2.0)
                how = rng.choice(("notifications first", "timers first", "in a write"))

                def blocked(seconds: float = seconds, how: str = how) -> None:
                    TALLY.fault()
                    if how == "in a write":
                        desk.stall_in_write_s = seconds
                    else:
                        desk.stall(seconds, notifications_first=how == "notifications first")

                stalls.append(asyncio.get_running_loop().call_later(at_s, blocked))
            TALLY.tried()
            try:
                landed_mm = await link.move_to(target_mm)
            except Obstruction as exc:
                pytest.fail(f"move {n} to {target_mm} mm: a busy machine read as: {exc}")
            for handle in stalls:
                handle.cancel()
            desk.stall_in_write_s = None
            if desk.let_go > let_go_before:
                let_go.append(n)
            await link.clock.sleep(2.0)  # the desk lets go of the target and rests
            assert not model.moving
            assert abs(landed_mm - target_mm) <= 1, f"move {n}"
            assert abs(model.height_mm - target_mm) <= 1, f"move {n}: where the desk rests"
            assert abs(model.height_mm - landed_mm) <= 1, f"move {n}: what the move said"
        await link.close()

    run_virtual(main())
    assert len(set(let_go)) >= 30, "the stalls made the desk halt mid-move often enough to matter"


@pytest.mark.parametrize("stall_s", [0.0, 1.5])
def test_a_real_collision_is_still_an_obstruction_within_1_s_and_the_desk_is_stopped(
    stall_s: float,
) -> None:
    rng = random.Random(int(stall_s * 10) + 1)
    model = DeskModel(height_mm=700)

    async def main() -> None:
        async with asyncio.timeout(3600):  # virtual seconds
            await moves(*await _connected(model))

    async def moves(link: LinakLink, desk: DeskBesideTheLoop) -> None:
        for _ in range(10):
            await link.move_to(700)
            await link.clock.sleep(2.0)
            model.collision_mm = rng.randint(800, 1150)
            desk.hit_at_s = None
            let_go: list[bool] = []
            if stall_s:  # a stall early in the move: the desk halts, then is re-issued
                loop = asyncio.get_running_loop()
                loop.call_later(0.5, _stall_into, let_go, desk, stall_s)
                TALLY.fault()
            TALLY.fault()
            with pytest.raises(Obstruction, match="something is in the way"):
                await link.move_to(1200)
            detected_s = link.clock.monotonic()
            assert let_go == ([True] if stall_s else [])
            assert desk.hit_at_s is not None
            assert detected_s - desk.hit_at_s <= 1.0, "the obstruction is seen within 1 s"
            stops = [
                at_s
                for at_s, char, data in model.writes
                if char is Char.COMMAND and data == Command.STOP.value and at_s >= desk.hit_at_s
            ]
            assert stops, "the desk was told to stop"
            await link.clock.sleep(2.0)
            assert not model.moving
            assert not model.obstructed  # the stop cleared the desk's collision latch
            assert abs(model.height_mm - model.collision_mm) <= 11  # it backed off, and stays
            model.collision_mm = None
        await link.close()

    run_virtual(main())
