"""The presence sources against real D-Bus services on a private bus (dbus-daemon per test).

The services are tests/presence_fakes.py's GNOME idle monitor, ScreenSaver and logind; the test
plays the person (idle, input, lock) and the machine (sleep), and reads what the sources report.
Every wait is on an event, under a generous bound; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from deskctl.adapters.presence import NONE_AVAILABLE, PresenceChain, SourceUnavailable
from deskctl.adapters.presence.logind import LogindSource
from deskctl.adapters.presence.mutter import MutterIdleSource
from deskctl.adapters.presence.screensaver import ScreenSaverSource
from deskctl.adapters.presence.watch import PresenceWatch
from deskctl.clocks.clock import Clock
from deskctl.config.settings import PresenceSettings
from deskctl.core.presence import Belief, Event, PresenceModel, Signal, State
from tests.dbus_recorder import private_session_bus
from tests.presence_fakes import (
    PID_IN_SESSION,
    SESSION_ID,
    UID,
    FakeLogind,
    FakeMutter,
    FakeScreenSaver,
    Heard,
    serve,
)

AWAY_S = 300
WAIT_S = 10.0
POLL_S = 0.02  # the ScreenSaver poll, fast here so that the test does not wait seconds


@pytest.fixture
def address() -> Iterator[str]:
    with private_session_bus() as bus_address:
        yield bus_address


def not_logging_above_info(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno > logging.INFO]


# --- GNOME's idle monitor -----------------------------------------------------------------------


async def test_mutter_reports_active_then_idle_then_active_by_watches(address: str) -> None:
    mutter, heard = FakeMutter(idle_ms=1_000), Heard()
    async with (
        serve(mutter, address),
        PresenceChain([MutterIdleSource(AWAY_S, bus_address=address)], heard),
    ):
        assert await heard.count(1) == [(Signal.ACTIVE, 0)]
        [(interval_ms, idle_watch)] = mutter.called("AddIdleWatch")
        assert interval_ms == AWAY_S * 1000
        assert mutter.called("AddUserActiveWatch") == []  # nothing to wait for while active

        mutter.idle_for(AWAY_S * 1000)  # the idle watch fires
        assert await heard.count(2) == [(Signal.ACTIVE, 0), (Signal.IDLE, AWAY_S)]
        await mutter.wait_until(lambda: bool(mutter.active_watches))
        mutter.touch()  # the user-active watch fires
        assert (await heard.count(3))[-1] == (Signal.ACTIVE, 0)

        mutter.idle_for(AWAY_S * 1000 + 5_000)  # the same idle watch, kept, fires again
        assert (await heard.count(4))[-1] == (Signal.IDLE, AWAY_S + 5)
    assert len(mutter.called("AddIdleWatch")) == 1
    assert mutter.called("RemoveWatch")[0] == (idle_watch,)


async def test_mutter_already_idle_fires_at_once_and_reports_once(address: str) -> None:
    mutter, heard = FakeMutter(idle_ms=900_000), Heard()
    async with (
        serve(mutter, address),
        PresenceChain([MutterIdleSource(AWAY_S, bus_address=address)], heard),
    ):
        await mutter.wait_until(lambda: bool(mutter.active_watches))
        [(_interval, idle_watch)] = mutter.called("AddIdleWatch")
        mutter.touch()
        assert await heard.count(2) == [(Signal.IDLE, 900), (Signal.ACTIVE, 0)]
        assert idle_watch in mutter.idle_watches  # the watch was added while idle, and fired
        assert len(mutter.called("AddUserActiveWatch")) == 1  # one report, one active watch


async def test_mutter_close_removes_both_watches(address: str) -> None:
    mutter, heard = FakeMutter(), Heard()
    async with serve(mutter, address):
        async with PresenceChain([MutterIdleSource(AWAY_S, bus_address=address)], heard):
            await heard.count(1)
            mutter.idle_for(AWAY_S * 1000)
            await heard.count(2)  # reported once the active watch is in place
        await mutter.wait_until(lambda: len(mutter.called("RemoveWatch")) == 2)
        assert mutter.idle_watches == {}
        assert mutter.active_watches == set()


async def test_mutter_absent_is_one_sentence(address: str) -> None:
    source = MutterIdleSource(AWAY_S, bus_address=address)
    with pytest.raises(SourceUnavailable) as raised:
        await source.open()
    await source.close()
    assert str(raised.value) == (
        "org.gnome.Mutter.IdleMonitor does not answer on the session bus "
        "(org.freedesktop.DBus.Error.ServiceUnknown)"
    )
    assert raised.value.may_appear


# --- freedesktop ScreenSaver --------------------------------------------------------------------


async def test_screensaver_polls_the_idle_time_against_the_threshold(address: str) -> None:
    saver, heard = FakeScreenSaver(idle_s=3), Heard()
    source = ScreenSaverSource(AWAY_S, poll_s=POLL_S, bus_address=address)
    async with serve(saver, address), PresenceChain([source], heard):
        assert await heard.count(1) == [(Signal.ACTIVE, 0)]
        saver.idle_s = AWAY_S - 1
        await saver.wait_until(lambda: len(saver.called("GetSessionIdleTime")) >= 5)
        assert heard.signals == [(Signal.ACTIVE, 0)]  # below the threshold is still active
        saver.idle_s = AWAY_S
        assert (await heard.count(2))[-1] == (Signal.IDLE, AWAY_S)
        saver.idle_s = 0
        assert (await heard.count(3))[-1] == (Signal.ACTIVE, 0)
        assert len(saver.called("GetActive")) == 1


async def test_screensaver_locker_on_and_off(address: str) -> None:
    saver, heard = FakeScreenSaver(active=True), Heard()
    source = ScreenSaverSource(AWAY_S, poll_s=POLL_S, bus_address=address)
    async with serve(saver, address), PresenceChain([source], heard):
        assert await heard.count(2) == [(Signal.LOCKED, 0), (Signal.ACTIVE, 0)]
        saver.set_active(False)
        assert (await heard.count(3))[-1] == (Signal.UNLOCKED, 0)
        saver.set_active(True)
        assert (await heard.count(4))[-1] == (Signal.LOCKED, 0)


async def test_screensaver_on_gnome_answers_with_an_error_and_is_not_used(address: str) -> None:
    async with serve(FakeScreenSaver(gnome=True), address):
        with pytest.raises(
            SourceUnavailable, match=r"\(org.freedesktop.DBus.Error.NotSupported\)"
        ) as raised:
            await ScreenSaverSource(AWAY_S, bus_address=address).open()
    assert not raised.value.may_appear  # it is there, and will not do: never waited for


async def test_a_hung_service_cannot_hang_deskctl(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    saver, heard = FakeScreenSaver(), Heard()
    source = ScreenSaverSource(AWAY_S, poll_s=POLL_S, bus_address=address)
    source.call_timeout_s = 0.2  # 5 s in the product
    async with serve(saver, address), PresenceChain([source], heard) as chain:
        await heard.count(1)
        saver.hung = True
        await heard.until(lambda: heard.events[-1] == Event("screensaver", Signal.GONE))
        assert chain.absent["screensaver"] == (
            "org.freedesktop.ScreenSaver stopped answering "
            "(GetSessionIdleTime: no reply: within 0.2 s)"
        )
        assert chain.status() == NONE_AVAILABLE  # given up: a hung service is not waited on
        saver.unhang()


# --- logind -------------------------------------------------------------------------------------


def logind(address: str, **kwargs: object) -> LogindSource:
    kwargs.setdefault("environ", {"XDG_SESSION_ID": SESSION_ID})
    return LogindSource(bus_address=address, **kwargs)  # type: ignore[arg-type]


async def test_logind_lock_unlock_hint_and_sleep(address: str) -> None:
    fake, heard = FakeLogind(), Heard()
    async with serve(fake, address), PresenceChain([logind(address)], heard):
        assert await heard.count(1) == [(Signal.UNLOCKED, 0)]
        assert fake.called("GetSession") == [(SESSION_ID,)]
        fake.session.Lock()
        assert (await heard.count(2))[-1] == (Signal.LOCKED, 0)
        fake.session.Unlock()
        assert (await heard.count(3))[-1] == (Signal.UNLOCKED, 0)
        fake.session.set_locked_hint(True)
        assert (await heard.count(4))[-1] == (Signal.LOCKED, 0)
        fake.session.set_locked_hint(False)
        assert (await heard.count(5))[-1] == (Signal.UNLOCKED, 0)
        fake.PrepareForSleep(True)
        assert (await heard.count(6))[-1] == (Signal.SLEEPING, 0)
        fake.PrepareForSleep(False)
        assert (await heard.count(7))[-1] == (Signal.RESUMED, 0)


async def test_logind_a_lock_no_locker_confirms_is_taken_back(address: str) -> None:
    fake, heard = FakeLogind(), Heard()
    source = logind(address)
    source.lock_confirm_s = 0.05  # 10 s in the product
    async with serve(fake, address), PresenceChain([source], heard):
        await heard.count(1)
        fake.session.Lock()  # swaylock locks, and never says so, nor sends Unlock after
        assert await heard.count(3) == [(Signal.UNLOCKED, 0), (Signal.LOCKED, 0),
                                        (Signal.UNLOCKED, 0)]  # fmt: skip
        reads = len(fake.session.called("LockedHint"))
        fake.session.Lock()  # GNOME locks, and says so
        fake.session.set_locked_hint(True)
        await fake.session.wait_until(lambda: len(fake.session.called("LockedHint")) > reads)
        fake.session.set_locked_hint(False)  # the person unlocks: the first word since
        assert (await heard.count(6))[3:] == [(Signal.LOCKED, 0), (Signal.LOCKED, 0),
                                              (Signal.UNLOCKED, 0)]  # fmt: skip


async def test_logind_finds_the_session_of_this_process(address: str) -> None:
    fake, heard = FakeLogind(locked=True), Heard()
    source = logind(address, environ={}, pid=PID_IN_SESSION)
    async with serve(fake, address), PresenceChain([source], heard):
        assert await heard.count(1) == [(Signal.LOCKED, 0)]
    assert fake.called("GetSessionByPID") == [(PID_IN_SESSION,)]


async def test_logind_from_a_user_unit_finds_the_users_display_session(address: str) -> None:
    fake, heard = FakeLogind(), Heard()
    source = logind(address, environ={}, pid=1, uid=UID)
    async with serve(fake, address), PresenceChain([source], heard):
        assert await heard.count(1) == [(Signal.UNLOCKED, 0)]
        fake.session.Lock()
        assert (await heard.count(2))[-1] == (Signal.LOCKED, 0)
    assert fake.called("GetUser") == [(UID,)]


async def test_logind_with_no_session_watches_sleep_only(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    fake, heard = FakeLogind(display=False), Heard()
    source = logind(address, environ={}, pid=1, uid=UID)
    async with serve(fake, address), PresenceChain([source], heard) as chain:
        assert chain.available == ("logind",)
        fake.session.Lock()  # not the person's session as far as logind can tell: unheard
        fake.PrepareForSleep(True)
        assert await heard.count(1) == [(Signal.SLEEPING, 0)]
    assert "presence: logind found no session of this user; only sleep is watched" in [
        r.getMessage() for r in caplog.records
    ]


async def test_logind_absent(address: str) -> None:
    source = logind(address)
    with pytest.raises(SourceUnavailable, match=r"^org.freedesktop.login1 does not answer"):
        await source.open()
    await source.close()


# --- the chain ----------------------------------------------------------------------------------


async def test_the_chain_skips_the_absent_ones_saying_each_once(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    sources = [
        MutterIdleSource(AWAY_S, bus_address=address),
        ScreenSaverSource(AWAY_S, bus_address=address),
        logind(address),
    ]
    heard = Heard()
    async with serve(FakeLogind(), address), PresenceChain(sources, heard) as chain:
        assert chain.available == ("logind",)
        assert chain.status() == "presence from logind"
        assert set(chain.absent) == {"mutter", "screensaver"}
        await heard.count(1)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "presence: GNOME's idle monitor is not used: org.gnome.Mutter.IdleMonitor does not "
        "answer on the session bus (org.freedesktop.DBus.Error.ServiceUnknown)",
        "presence: the ScreenSaver service is not used: org.freedesktop.ScreenSaver does not "
        "answer on the session bus (org.freedesktop.DBus.Error.ServiceUnknown)",
    ]


async def test_the_chain_with_no_source_says_so_once(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    heard = Heard()
    sources = [MutterIdleSource(AWAY_S, bus_address=address), logind(address)]
    async with PresenceChain(sources, heard) as chain:
        assert chain.available == ()
        assert chain.status() == NONE_AVAILABLE
    assert not_logging_above_info(caplog) == [f"presence: {NONE_AVAILABLE}"]
    assert heard.events == []


async def test_the_chain_with_no_bus_at_all_says_why(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    source = MutterIdleSource(AWAY_S, bus_address="unix:path=/nonexistent/deskctl-test-bus")
    async with PresenceChain([source], Heard()) as chain:
        assert chain.absent["mutter"].startswith("the session bus cannot be reached (")


async def test_a_service_that_goes_away_mid_run_is_dropped(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    mutter, heard = FakeMutter(), Heard()
    model = PresenceModel()
    stamp = iter(range(1000, 2000))

    def feed(event: Event) -> None:
        heard(event)
        model.observe(event, mono_s=next(stamp), at=datetime(2026, 3, 2, 9, tzinfo=UTC))

    sources = [MutterIdleSource(AWAY_S, bus_address=address), logind(address)]
    async with (
        serve(FakeLogind(), address) as logind_bus,
        serve(mutter, address),
        PresenceChain(sources, feed) as chain,
    ):
        await heard.until(lambda: model.sources == ("mutter", "logind") or
                              model.sources == ("logind", "mutter"))  # fmt: skip
        mutter.idle_for(AWAY_S * 1000)
        await heard.until(lambda: model.belief.state is State.AWAY)
        logind_bus.disconnect()  # logind leaves mid-run
        await heard.until(lambda: model.sources == ("mutter",))
        assert chain.available == ("mutter",)
        assert heard.events[-1] == Event("logind", Signal.GONE)
        assert model.belief.reason == "GNOME's idle monitor saw no input for 5 min"
    lines = not_logging_above_info(caplog)
    assert lines[-1] == (
        "presence: logind went away (org.freedesktop.login1 left the system bus); "
        "it no longer counts"
    )


async def test_the_last_source_gone_makes_the_belief_unknown(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    model, heard = PresenceModel(), Heard()

    def feed(event: Event) -> None:
        heard(event)
        model.observe(event, mono_s=1.0, at=datetime(2026, 3, 2, 9, tzinfo=UTC))

    mutter = FakeMutter()
    async with serve(mutter, address) as mutter_bus:
        chain = PresenceChain([MutterIdleSource(AWAY_S, bus_address=address)], feed)
        async with chain:
            await heard.count(1)
            assert model.belief.state is State.PRESENT
            mutter_bus.disconnect()
            await heard.until(lambda: model.belief.state is State.UNKNOWN)
            assert chain.status() == NONE_AVAILABLE
    assert not_logging_above_info(caplog)[-1] == (
        "presence: no presence source is left, so the schedule runs on the clock"
    )


async def test_a_service_that_comes_later_joins_and_one_that_comes_back_is_followed_again(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    heard = Heard()
    async with PresenceChain([MutterIdleSource(AWAY_S, bus_address=address)], heard) as chain:
        assert not chain.available  # GNOME Shell is not up yet when deskctl starts
        first = FakeMutter()
        async with serve(first, address):
            assert await heard.count(1) == [(Signal.ACTIVE, 0)]
            assert chain.available == ("mutter",)
            assert chain.absent == {}
        await heard.until(lambda: heard.events[-1] == Event("mutter", Signal.GONE))
        assert chain.status() == NONE_AVAILABLE
        again = FakeMutter(idle_ms=AWAY_S * 1000)  # GNOME Shell restarted, the person away
        async with serve(again, address):
            await heard.count(3)
            assert heard.signals[2] == (Signal.IDLE, AWAY_S)
            assert len(again.called("AddIdleWatch")) == 1  # the watches are set up anew
            assert chain.available == ("mutter",)
    messages = [r.getMessage() for r in caplog.records]
    label = "GNOME's idle monitor"
    assert messages == [
        f"presence: {label} is not used: org.gnome.Mutter.IdleMonitor does not answer on the "
        "session bus (org.freedesktop.DBus.Error.ServiceUnknown)",
        f"presence: {NONE_AVAILABLE}",
        f"presence: {label} is there now; it counts",
        f"presence: {label} went away (org.gnome.Mutter.IdleMonitor left the session bus); "
        "it no longer counts",
        "presence: no presence source is left, so the schedule runs on the clock",
        f"presence: {label} is there now; it counts",
    ]


async def test_a_service_that_fails_while_there_stops_its_source_for_good(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.presence")
    mutter, heard = FakeMutter(broken=True), Heard()
    async with serve(mutter, address):
        chain = PresenceChain([MutterIdleSource(AWAY_S, bus_address=address)], heard)
        async with chain:
            await heard.until(lambda: heard.events == [Event("mutter", Signal.GONE)])
            assert chain.status() == NONE_AVAILABLE
            assert chain.absent["mutter"] == (
                "org.gnome.Mutter.IdleMonitor answered with an error (AddIdleWatch: "
                "org.gnome.Mutter.Error.Failed: the watch could not be added)"
            )
        assert len(mutter.called("AddIdleWatch")) == 1  # not tried again and again


# --- the watch: chain, model and clock together -------------------------------------------------


async def test_the_watch_stamps_events_and_says_when_the_belief_changes(address: str) -> None:
    changes = Changes()
    fake = FakeLogind()
    watch = PresenceWatch.from_settings(
        PresenceSettings(sources=["logind"]),
        Clock(),
        on_change=changes,
        system_bus=address,
        environ={"XDG_SESSION_ID": SESSION_ID},
    )
    async with serve(fake, address), watch:
        await changes.until(lambda: watch.belief.state is State.PRESENT)
        fake.session.Lock()
        await changes.until(lambda: watch.belief.state is State.AWAY)
        assert watch.away_stretch_s() >= 0
        assert watch.set_mode("present").reason == "home automation says present"
        with pytest.raises(ValueError, match="'maybe' is not one of present, away, auto"):
            watch.set_mode("maybe")
        snapshot = watch.snapshot()
    assert [(b.state, b.source) for b in changes.beliefs] == [
        (State.PRESENT, "logind"),
        (State.AWAY, "logind"),
        (State.PRESENT, "home"),
    ]
    assert snapshot == {
        "state": "present",
        "since": snapshot["since"],
        "source": "home",
        "reason": "home automation says present",
        "mode": "present",
        "sources": ["logind"],
        "chain": "presence from logind",
    }
    assert watch.last_stretch is not None
    assert not watch.counts_as_break(watch.last_stretch.away_s)


class Changes:
    """The beliefs a watch announces, waitable."""

    def __init__(self) -> None:
        self.beliefs: list[Belief] = []
        self._changed = asyncio.Event()

    def __call__(self, belief: Belief) -> None:
        self.beliefs.append(belief)
        self._changed.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()
