"""What a person reads when the service speaks, through the whole simulated service on virtual
time: a walk break says it is a walk (no desk move to "unknown"), a profile that asks first does
not announce a move it will not make and asks its question plainly, and one obstruction is one
notice that says "something is in the way" once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest

from deskctl.adapters.notify import Notice
from deskctl.adapters.notify import NoticeKind as K
from deskctl.adapters.notify.text import log_text
from deskctl.config.settings import DeskSettings, Settings
from deskctl.errors import Obstruction
from deskctl.service.core import Service
from deskctl.service.events import notice_for
from tests.service_harness import TZ, Recorded, run_service, sim

START = datetime(2026, 11, 30, 8, 58, tzinfo=TZ)  # a Monday, two minutes before work
CRITICAL = (K.OBSTRUCTION, K.ERROR)  # the kinds that stay on the desktop until dismissed


@pytest.fixture(autouse=True)
def own_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in ("CONFIG", "STATE", "RUNTIME"):
        monkeypatch.setenv(f"DESKCTL_{kind}_DIR", str(tmp_path / kind.lower()))


def at(hour: int, minute: int = 0) -> datetime:
    return START.replace(hour=hour, minute=minute)


def until(when: datetime) -> Callable[[Service, Recorded], Awaitable[None]]:
    async def script(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep((when - service.clock.now()).total_seconds())

    return script


def notices(recorded: Recorded) -> list[Notice]:
    said = (notice_for(desk, kind, fields) for desk, _, kind, fields in recorded.events)
    return [notice for notice in said if notice is not None]


def test_a_walk_break_is_announced_as_a_walk_without_a_desk_move() -> None:
    settings = Settings(desks={"desk": DeskSettings(profile="cornell-20-8-2")})
    recorded = run_service(START, until(at(9, 31)), settings=settings)
    warnings = [log_text(n) for n in notices(recorded) if n.kind is K.WARNING]
    walks = [text for text in warnings if "walk" in text]
    assert len(walks) == 1, warnings
    assert walks[0].startswith("desk: Time for a 2-minute walk: It starts at 09:28. Then: ")
    assert "moves" not in walks[0]
    assert "unknown" not in "\n".join(log_text(n) for n in notices(recorded))
    assert any(
        text.startswith("desk: Time to stand: The desk moves to 110.0 cm") for text in warnings
    )


def test_a_profile_that_asks_first_announces_no_move_and_asks_plainly(tmp_path: Path) -> None:
    profiles = tmp_path / "config" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "asking.toml").write_text('sit = "72cm"\nstand = "110cm"\nconfirm = true\n')
    settings = Settings(desks={"desk": DeskSettings(profile="asking")})
    recorded = run_service(START, until(at(9, 2)), settings=settings)
    warning, question = (log_text(n) for n in notices(recorded) if n.kind is K.WARNING)
    assert warning.startswith(
        "desk: Time to sit: At 09:00 deskctl asks before it moves the desk to 72.0 cm."
    ), warning
    assert "The desk moves" not in warning
    assert question.startswith("desk: Ready to sit? Confirm to move the desk to 72.0 cm."), question
    assert "(now: deskctl confirm, deskctl skip)" in question
    assert "?:" not in question


def _one_obstruction(service: Service, collision_mm: int) -> None:
    sim(service).model.collision_mm = collision_mm


@pytest.mark.usefixtures("sit_stand_30_15")
def test_one_obstruction_in_a_scheduled_move_is_one_critical_notice() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(at(9, 29))(service, recorded)
        _one_obstruction(service, 900)
        await until(at(9, 32))(service, recorded)

    recorded = run_service(START, script)
    assert len(recorded.of("obstruction")) == 1
    assert len(recorded.of("held")) == 1, "the schedule holds"
    critical = [n for n in notices(recorded) if n.kind in CRITICAL]
    assert len(critical) == 1, [log_text(n) for n in critical]
    text = log_text(critical[0])
    assert text.count("in the way") == 1, text
    assert text.startswith("desk: Safety stop: The desk stopped "), text
    assert text.endswith("The schedule holds until you run deskctl resume."), text


def test_an_obstruction_in_a_commanded_move_does_not_claim_a_hold() -> None:
    async def script(service: Service, recorded: Recorded) -> None:
        await until(at(9, 5))(service, recorded)
        _one_obstruction(service, 900)
        with pytest.raises(Obstruction):
            await service.call("stand")
        await until(at(9, 6))(service, recorded)

    recorded = run_service(START, script)
    critical = [n for n in notices(recorded) if n.kind in CRITICAL]
    assert len(critical) == 1
    text = log_text(critical[0])
    assert text.count("in the way") == 1, text
    assert "holds" not in text
