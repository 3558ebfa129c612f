"""The Jiecang link drives the simulated box end to end, on virtual time.

These run the real link (codec, landing machine, writer task, timers) against the simulated box
through the in-process byte pipe, so what they show holds for any `PipeGatt` the link is given.
Heights are checked on the box itself (`model.motor.pos_mm`), not only as the link says them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from deskctl.clocks.clock import Clock
from deskctl.core.jiecang import VARIANTS, DisplayUnit, FrameReader, Op
from deskctl.errors import (
    DeskError,
    HeightError,
    LinkError,
    ManualOverride,
    MoveError,
    Obstruction,
)
from deskctl.links.base import ConnectionChanged, LinkEvent, ManualMove
from deskctl.links.jiecang import JiecangLink
from deskctl.sim.jiecang_gatt import ModelPipeGatt
from deskctl.sim.jiecang_links import SimJiecangLink
from deskctl.sim.jiecang_model import JiecangModel
from deskctl.testing.virtual_time import run_virtual

Body = Callable[[SimJiecangLink], Awaitable[None]]


def on_sim(body: Body, **options: object) -> None:
    async def main() -> None:
        link = SimJiecangLink(
            "desk",
            Clock(),
            min_mm=650,
            max_mm=1300,
            persist=False,
            seed=3,
            **options,  # type: ignore[arg-type]
        )
        async with link:
            await body(link)

    run_virtual(main())


def sent_ops(model: JiecangModel) -> list[int]:
    return [op for _, op, _ in model.writes]


def random_targets(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    return [1100, 700, 1000, 1001, 1290] + [rng.randint(660, 1290) for _ in range(n - 5)]


@pytest.mark.parametrize("unit", [DisplayUnit.CM, DisplayUnit.INCH])
def test_moves_with_1b_land_within_a_millimetre(unit: DisplayUnit) -> None:
    misses: list[float] = []

    async def body(link: SimJiecangLink) -> None:
        assert link.unit is unit
        for target_mm in random_targets(11, 40):
            landed_mm = await link.move_to(target_mm)
            misses.append(abs(link.model.motor.pos_mm - target_mm))
            assert abs(landed_mm - target_mm) <= (1 if unit is DisplayUnit.CM else 2)
        assert link.move_to_works is True
        assert Op.UP not in sent_ops(link.model), "a box that knows 1B is not stepped"

    on_sim(body, unit=unit)
    assert max(misses) <= 1.0


def test_an_inch_box_takes_1b_in_millimetres_and_lands_100_random_moves_within_a_millimetre() -> (
    None
):
    """A box whose display shows inches reports tenths of an inch (2.54 mm apart), but its
    move-to (1B) takes millimetres: every 1B carries the target in mm, the box lands within a
    millimetre of it, and the height deskctl says is the report's, as near the truth as tenths
    of an inch can be (1.27 mm, and the rounding to a whole mm)."""
    misses: list[float] = []

    async def body(link: SimJiecangLink) -> None:
        assert link.unit is DisplayUnit.INCH
        rng = random.Random(1401)
        for _ in range(100):
            target_mm = rng.randint(651, 1299)
            sent = len(link.model.writes)
            landed_mm = await link.move_to(target_mm)
            true_mm = link.model.motor.pos_mm
            misses.append(abs(true_mm - target_mm))
            move_tos = [p for _, op, p in link.model.writes[sent:] if op == Op.MOVE_TO]
            assert move_tos == [target_mm.to_bytes(2, "big")], "1B carries the target in mm"
            assert landed_mm == link.height_mm
            assert abs(landed_mm - true_mm) <= 1.27 + 0.5
        # a memory slot holds tenths of an inch too: recalled, it lands where it was saved
        await link.move_to(1042)
        await link.save(2)
        await link.move_to(800)
        assert link.slot_mm(2) is not None
        assert abs(link.slot_mm(2) - 1042) <= 1  # type: ignore[operator]
        await link.recall(2)
        assert abs(link.model.motor.pos_mm - 1042) <= 1.0

    on_sim(body, unit=DisplayUnit.INCH)
    assert len(misses) == 100
    assert max(misses) <= 1.0, f"{sum(m > 1.0 for m in misses)} of 100 moves more than 1 mm off"


@pytest.mark.parametrize("unit", [DisplayUnit.CM, DisplayUnit.INCH])
def test_a_box_that_ignores_1b_is_stepped_to_within_half_a_step(unit: DisplayUnit) -> None:
    misses: list[float] = []

    async def body(link: SimJiecangLink) -> None:
        for target_mm in random_targets(12, 40):
            await link.move_to(target_mm)
            misses.append(abs(link.model.motor.pos_mm - target_mm))
        assert link.move_to_works is False
        assert sent_ops(link.model).count(Op.MOVE_TO) == 1, "1B is tried once, then remembered"

    on_sim(body, unit=unit, move_to=False)
    # half a step: a landing is judged with the report's error allowed for (inch tenths are
    # 2.54 mm apart), so one that looks inside is inside
    assert max(misses) <= 7.0


def test_a_memory_slot_holding_the_target_is_recalled_when_1b_is_ignored() -> None:
    async def body(link: SimJiecangLink) -> None:
        link.model.memories_mm[2] = 1105  # memory 3, as a person saved it
        await link._ask(Op.REQUEST_SETTINGS, type(None))  # read the memories again
        assert link.memories.get(3) == 1105
        await link.move_to(1105)
        assert Op.RECALL_3 in sent_ops(link.model)
        assert Op.UP not in sent_ops(link.model)
        assert abs(link.model.motor.pos_mm - 1105) <= 1.0

    on_sim(body, move_to=False)


def test_connect_reads_the_variant_limits_memories_and_unit() -> None:
    for variant in VARIANTS:

        async def body(link: SimJiecangLink, variant: object = variant) -> None:
            assert link.variant is variant
            assert link.box_limits == (650, 1300)
            assert link.height_mm == 750
            assert sent_ops(link.model)[:2] == [Op.WAKE, Op.REQUEST_LIMITS]

        on_sim(body, variant=variant)


def test_the_display_unit_setting_overrides_the_box_and_the_range_rule() -> None:
    async def body(link: SimJiecangLink) -> None:
        assert link.unit is DisplayUnit.INCH

    on_sim(body, unit=DisplayUnit.INCH, unit_setting=DisplayUnit.INCH)


def test_a_box_that_does_not_answer_the_unit_is_read_by_the_range_rule() -> None:
    async def main() -> None:
        model = JiecangModel(height_mm=800, unit=DisplayUnit.INCH, answers_unit=False)
        link = JiecangLink("desk", ModelPipeGatt(model, Clock()), Clock(), min_mm=650, max_mm=1300)
        async with link:
            assert link.unit is DisplayUnit.INCH
            assert link.height_mm is not None
            assert abs(link.height_mm - 800) <= 2

    run_virtual(main())


def test_a_gatt_database_of_another_family_is_refused_in_one_sentence() -> None:
    class Other(ModelPipeGatt):
        def services(self) -> dict[str, list[str]]:
            return {
                "99fa0001-338a-1024-8a49-009c0215f78a": ["99fa0002-338a-1024-8a49-009c0215f78a"]
            }

    async def main() -> None:
        link = JiecangLink("desk", Other(JiecangModel(), Clock()), Clock(), min_mm=650, max_mm=1300)
        with pytest.raises(LinkError, match="no Jiecang desk"):
            await link.connect()
        assert not link.connected

    run_virtual(main())


def test_merged_and_split_notifications_are_read_whole() -> None:
    async def body(link: SimJiecangLink) -> None:
        link.sim_gatt.merge = True
        await link.move_to(1000)
        link.sim_gatt.merge, link.sim_gatt.split = False, True
        await link.move_to(800)
        assert abs(link.model.motor.pos_mm - 800) <= 1.0

    on_sim(body)


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (0x0E, MoveError, "about 16 minutes"),
        (0x10, MoveError, "child lock"),
        (0x01, Obstruction, "E01"),
    ],
)
def test_an_error_report_ends_the_move_with_its_sentence(
    code: int, error: type[MoveError], words: str
) -> None:
    async def body(link: SimJiecangLink) -> None:
        async def trip() -> None:
            await link.clock.sleep(2.0)
            link.model.error(code)

        task = asyncio.create_task(trip())
        with pytest.raises(error, match=words):
            await link.move_to(1200)
        await task
        assert link.last_error is not None
        assert link.last_error.code == code

    on_sim(body)


def test_a_move_refused_by_the_child_lock_says_so() -> None:
    async def body(link: SimJiecangLink) -> None:
        link.model.locked = True
        with pytest.raises(MoveError, match="child lock"):
            await link.move_to(1000)
        assert link.move_to_works is None, "a locked box says nothing about 1B"

    on_sim(body)


def test_a_hand_on_the_paddle_against_the_move_is_a_manual_override() -> None:
    async def body(link: SimJiecangLink) -> None:
        async def hand() -> None:
            await link.clock.sleep(3.0)
            link.model.press(-1)
            link.sim_gatt.poke()

        task = asyncio.create_task(hand())
        with pytest.raises(ManualOverride):
            await link.move_to(1250)
        await task
        assert Op.STOP in sent_ops(link.model)

    on_sim(body)


def test_a_paddle_move_at_rest_is_seen_as_a_manual_move() -> None:
    events: list[LinkEvent] = []

    async def body(link: SimJiecangLink) -> None:
        link.subscribe(events.append)
        link.model.press(+1)
        link.sim_gatt.poke()
        await link.clock.sleep(2.0)
        link.model.press(0)
        await link.clock.sleep(5.0)
        assert link.height_mm is not None
        assert abs(link.height_mm - link.model.height_mm) <= 1, "read back where it rests"

    on_sim(body)
    manual = [e for e in events if isinstance(e, ManualMove)]
    assert [m.ended for m in manual] == [False, True]


def test_a_link_lost_mid_move_ends_it_and_is_reported() -> None:
    events: list[LinkEvent] = []

    async def body(link: SimJiecangLink) -> None:
        link.subscribe(events.append)

        async def cut() -> None:
            await link.clock.sleep(2.0)
            link.sim_gatt.drop()

        task = asyncio.create_task(cut())
        with pytest.raises(LinkError, match="dropped"):
            await link.move_to(1200)
        await task
        assert not link.connected

    on_sim(body)
    assert ConnectionChanged(False, "the desk dropped the link") in events


def test_stop_sends_2b() -> None:
    async def body(link: SimJiecangLink) -> None:
        link.model.writes.clear()
        await link.stop()
        assert sent_ops(link.model)[-1] == Op.STOP

    on_sim(body)


def test_after_a_quiet_spell_the_box_is_woken_before_a_command() -> None:
    async def body(link: SimJiecangLink) -> None:
        assert link.model.sleep_after_s is not None
        await link.clock.sleep(link.model.sleep_after_s + 60.0)  # asleep: it ignores all but 00
        link.model.writes.clear()
        await link.move_to(1000)
        assert sent_ops(link.model)[0] == Op.WAKE
        assert link.move_to_works is True, "woken first, the box took the 1B"
        assert abs(link.model.motor.pos_mm - 1000) <= 1.0

    on_sim(body)


def test_nothing_but_safe_commands_ever_reaches_the_box() -> None:
    async def body(link: SimJiecangLink) -> None:
        for target_mm in random_targets(13, 12):
            await link.move_to(target_mm)
        await link.stop()
        assert link.model.hazards == []
        assert set(sent_ops(link.model)) <= {int(op) for op in Op}
        reader = FrameReader()
        for _, op, payload in link.model.writes:
            assert reader.feed(bytes((0xF1, 0xF1, op, len(payload), *payload))) == []

    on_sim(body, move_to=False)


def test_the_box_s_memory_slots_save_recall_and_refuse_what_they_cannot() -> None:
    async def body(link: SimJiecangLink) -> None:
        assert link.memory_slots == 4
        await link.move_to(1040)
        await link.save(2)
        assert link.slot_mm(2) == 1040
        assert link.model.memories_mm[1] == 1040
        await link.move_to(720)
        landed_mm = await link.recall(2)
        assert abs(landed_mm - 1040) <= 1
        assert abs(link.model.motor.pos_mm - 1040) <= 1.0
        assert Op.RECALL_2 in sent_ops(link.model)
        with pytest.raises(DeskError, match="has not said what height its memory slot 3 holds"):
            await link.recall(3)
        with pytest.raises(DeskError, match="memory slots 1 to 4, not 5"):
            await link.save(5)

    on_sim(body)


def test_a_memory_slot_outside_the_configured_limits_is_never_recalled() -> None:
    async def body(link: SimJiecangLink) -> None:
        await link.move_to(1250)
        await link.save(1)  # the box keeps 1250; this desk is configured up to 1200
        link.max_mm = 1200
        sent = len(link.model.writes)
        with pytest.raises(HeightError):
            await link.recall(1)
        assert Op.RECALL_1 not in sent_ops(link.model)[sent:]

    on_sim(body)
