"""Today's steps in the service, on virtual time: the count reaches every desk's status and the
cue at a walking break, the history keeps it for `stats`, and it starts again at local midnight."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters.history_store import Store
from deskctl.config.settings import DeskSettings, Settings, StepsSettings
from deskctl.core.stats import daily_stats
from deskctl.errors import InputError
from deskctl.service.commands import SetSteps, parse_command
from deskctl.service.core import Service
from deskctl.service.events import notice_for
from tests.service_harness import TZ, Recorded, run_service

MONDAY = datetime(2026, 11, 30, 8, 59, tzinfo=TZ)


async def until(service: Service, hh: int, mm: int, *, days: int = 0) -> None:
    when = MONDAY.replace(hour=hh, minute=mm) + timedelta(days=days)
    await service.clock.sleep((when - service.clock.now()).total_seconds())


def test_todays_steps_reach_the_status_the_walk_cue_and_the_history_and_end_at_midnight(
    tmp_path: Path,
) -> None:
    """The default walks at 09:30 after the first sitting bout; the count came at 09:10."""
    seen: dict[str, Any] = {}

    async def day(service: Service, recorded: Recorded) -> None:
        await until(service, 9, 10)
        answer = await service.submit(SetSteps("office", 5200))
        assert not isinstance(answer, tuple)
        seen["answer"] = answer.steps_today
        seen["both"] = {name: s.steps_today for name, s in service.snapshot().items()}
        await until(service, 23, 59)
        seen["late"] = service.snapshot()["office"].steps_today
        await until(service, 0, 1, days=1)
        seen["next day"] = service.snapshot()["office"]

    settings = Settings(
        desks={"office": DeskSettings(link="sim"), "lab": DeskSettings(link="sim")},
        steps=StepsSettings(goal=10000),
    )
    with Store(tmp_path / "history.sqlite3") as store:
        recorded = run_service(MONDAY, day, settings=settings, store=store)
        events = store.events("office", MONDAY, MONDAY + timedelta(days=2))
    assert seen["answer"] == 5200
    assert seen["both"] == {"office": 5200, "lab": 5200}, "the count is the person's"
    assert seen["late"] == 5200
    assert seen["next day"].steps_today is None, "a new day starts with no count"
    assert seen["next day"].steps_goal == 10000

    cues = [(at, f) for d, at, kind, f in recorded.events if d == "office" and kind == "cue"]
    before, walk = cues[0], next(c for c in cues if c[1]["change"] == "away")
    assert f"{walk[0]:%H:%M}" == "09:30"
    assert (walk[1]["steps_today"], walk[1]["steps_goal"]) == (5200, 10000)
    notice = notice_for("office", "cue", walk[1])
    assert notice is not None
    assert notice.body == "5,200 of 10,000 steps today, 4,800 to go."
    assert "steps_today" not in before[1], "a cue before the count came, not a walk: no steps"
    sitting = next(f for _, f in cues[1:] if f["change"] == "to_sit")
    quiet = notice_for("office", "cue", sitting)
    assert quiet is not None
    assert quiet.body == ""

    monday, tuesday = daily_stats(
        events, MONDAY.date(), MONDAY.date() + timedelta(days=1), TZ, MONDAY + timedelta(days=2)
    )
    assert (monday.steps, monday.steps_goal) == (5200, 10000)
    assert (tuesday.steps, tuesday.steps_goal) == (0, 0)


def test_a_walk_before_any_count_says_nothing_of_steps() -> None:
    async def morning(service: Service, recorded: Recorded) -> None:
        await until(service, 9, 31)

    recorded = run_service(MONDAY, morning)
    walk = next(f for _, f in recorded.of("cue") if f["change"] == "away")
    assert "steps_today" not in walk
    notice = notice_for("desk", "cue", walk)
    assert notice is not None
    assert notice.body == ""


@pytest.mark.parametrize("count", [-1, 200_001, 52.5, "5200", True, None])
def test_a_step_count_on_the_control_socket_is_a_whole_number_in_range(count: object) -> None:
    with pytest.raises(InputError, match="a step count is a whole number from 0 to 200,000"):
        parse_command("steps", "desk", {"count": count})


def test_a_good_step_count_is_the_command() -> None:
    assert parse_command("steps", "desk", {"count": 0}) == SetSteps("desk", 0)


def test_status_says_todays_steps_against_the_goal_once_a_count_came() -> None:
    from deskctl.cli.service_calls import status_lines

    state = {"desk": "office", "height_mm": 720, "posture": "sit", "connected": True}
    assert not any("steps" in line for line in status_lines({**state, "steps_goal": 8000}))
    with_count = status_lines({**state, "steps_today": 5200, "steps_goal": 8000})
    assert "  5,200 of 8,000 steps today, 2,800 to go" in with_count
    reached = status_lines({**state, "steps_today": 8400, "steps_goal": 8000})
    assert "  8,400 of 8,000 steps today: the goal is reached" in reached
