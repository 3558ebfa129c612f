"""A full simulated workday through the service, on virtual time: what the person lives through."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from deskctl.adapters.history_store import Store
from deskctl.config.settings import DeskSettings, Settings
from deskctl.core.stats import daily_stats
from deskctl.service.core import Service
from tests.service_harness import TZ, Recorded, run_service, sim

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=TZ)


def test_a_full_day_warns_before_every_move_and_cues_every_change() -> None:
    heights: list[int] = []

    async def day(service: Service, recorded: Recorded) -> None:
        link = sim(service)
        link.subscribe(lambda e: heights.append(getattr(e, "height_mm", 0) or link.height_mm or 0))
        await service.clock.sleep(11 * 3600)  # 08:00 to 19:00

    wall_start = time.perf_counter()
    recorded = run_service(MONDAY, day)
    wall_s = time.perf_counter() - wall_start
    assert wall_s < 60, "a simulated day must run in seconds"

    moves = recorded.of("move_started")
    warnings = recorded.of("warning")
    cues = recorded.of("cue")
    arrived = recorded.of("arrived")
    assert len(moves) >= 12
    assert len(arrived) == len(moves), "every move arrived"
    # every move is preceded by its warning, at least warn_s before, for the same posture
    for at, fields in moves:
        before = [(w_at, w) for w_at, w in warnings if w_at <= at]
        assert before, f"move at {at} had no warning"
        w_at, w = before[-1]
        assert timedelta(seconds=25) <= at - w_at <= timedelta(seconds=40)
        assert w["height_mm"] == fields["target_mm"]
    # every change of posture comes with a cue, and no cue repeats back to back
    assert len(cues) >= len(moves)
    ids = [f["cue"].id for _, f in cues]
    assert all(a != b for a, b in itertools.pairwise(ids))
    # nothing outside working hours
    for at, _ in moves:
        assert 8 <= at.astimezone(TZ).hour < 18
    # never outside the desk's limits
    assert all(620 <= h <= 1270 for h in heights)


def test_no_sitting_bout_is_longer_than_the_profile_allows() -> None:
    async def day(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(11 * 3600)

    recorded = run_service(MONDAY, day)
    postures = recorded.of("posture")
    assert postures, "the day recorded postures"
    longest = timedelta()
    for (at, fields), (next_at, _) in itertools.pairwise(postures):
        if fields["posture"] == "sit":
            longest = max(longest, next_at - at)
    assert timedelta(minutes=20) < longest <= timedelta(minutes=31)


@pytest.mark.usefixtures("sit_stand_30_15")
def test_stats_afterwards_match_the_day_that_happened(tmp_path: Path) -> None:
    async def day(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(11 * 3600)

    with Store(tmp_path / "history.sqlite3") as store:
        recorded = run_service(MONDAY, day, store=store)
        events = store.events("desk", MONDAY, MONDAY + timedelta(days=1))
    [stats] = daily_stats(events, MONDAY.date(), MONDAY.date(), TZ, MONDAY + timedelta(hours=11))
    arrived = recorded.of("arrived")
    assert stats.moves == len(arrived)
    cues = recorded.of("cue")
    assert stats.cues_shown == len(cues)
    # done: the desk went from one posture to the cue's; not the 09:00 and 13:30 sits, where it
    # already stood at sitting height
    assert stats.cues_done == sum(1 for _, fields in cues if fields["done"]) == len(cues) - 2
    # every arrival is a change but the day's first sit and the sit after lunch (as before it)
    assert stats.changes == len(arrived) - 2
    assert stats.away_s == 0, "lunch and the evening are not away: they are not working hours"
    assert stats.longest_sitting_bout_s <= 31 * 60
    # the default profile stands about 2 h 15 min in its 7.5 working hours
    assert 2 * 3600 <= stats.standing_s <= 2.5 * 3600
    assert 4.5 * 3600 <= stats.sitting_s <= 5.5 * 3600
    kinds = {e.kind for e in events}
    assert {"session", "posture", "move", "cue", "schedule", "height"} <= kinds


def test_two_desks_in_one_service_follow_their_own_profiles() -> None:
    settings = Settings(
        desks={
            "office": DeskSettings(link="sim"),
            "lab": DeskSettings(link="sim", profile="cornell-20-8-2"),
        }
    )

    async def day(service: Service, recorded: Recorded) -> None:
        assert set(service.desks) == {"office", "lab"}
        await service.clock.sleep(3 * 3600)

    recorded = run_service(MONDAY, day, settings=settings)
    moves = {
        desk: [at for d, at, kind, _ in recorded.events if d == desk and kind == "move_started"]
        for desk in ("office", "lab")
    }
    walks = [f for d, _, kind, f in recorded.events if d == "lab" and kind == "cue"]
    office_walks = [
        f"{at:%H:%M}"
        for d, at, kind, f in recorded.events
        if d == "office" and kind == "cue"
        if f["change"] == "away" and at < MONDAY.replace(hour=11)  # 11:00 ends the run
    ]
    # 09:00-11:59: the default sits 30, walks 3 (the desk stays) and stands 12; Cornell moves
    # every 20 and 8 minutes
    assert len(moves["lab"]) > len(moves["office"]) >= 4
    assert any(f["cue"].kind.value == "walk" for f in walks)
    assert office_walks == ["09:30", "10:15"], "a walk after every sitting bout"


def test_the_cues_given_are_the_ones_deskctl_plan_shows() -> None:
    from deskctl.config.cue_library import load_cues
    from deskctl.config.profile_library import load_profile
    from deskctl.core.planner import plan_with_cues

    planned = plan_with_cues(load_profile("default"), MONDAY.date(), TZ, load_cues())

    async def day(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep(11 * 3600)

    recorded = run_service(MONDAY, day)
    given = [f["cue"].id for _, f in recorded.of("cue")]
    assert given == [b.cue.id for b in planned if b.cue is not None]
