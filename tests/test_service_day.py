"""A full simulated workday through the service, on virtual time: what the person lives through."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta

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
