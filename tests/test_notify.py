"""Notifiers: what reaches the log, the user's command hook and the desktop, and what a failing
channel can and cannot do to the others.

The command hook tests run real programs (this Python, running a tiny script written per test);
the desktop tests talk D-Bus to a recording notification server on a private session bus.
Every wait is bounded; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from deskctl.adapters.notify import (
    Channel,
    CommandChannel,
    DesktopChannel,
    Notice,
    NoticeKind,
    Notifiers,
    TerminalChannel,
    build_notifiers,
    notice_env,
)
from deskctl.config.settings import NotifySettings
from deskctl.core.cues import Area, Change, Cue, Kind
from deskctl.errors import ConfigError
from deskctl.testing.virtual_time import run_virtual
from tests.dbus_recorder import (
    Closed,
    NotificationRecorder,
    private_session_bus,
    recording_server,
)

BOUND_S = 30.0  # no test here may hang: every await on the outside world sits under this

CUE = Cue(
    id="hip-flexor-stretch",
    title="Hip flexor stretch",
    steps=("Step one foot forward into a short lunge.", "Tuck the pelvis; hold 30 s a side."),
    area=Area.HIPS,
    kind=Kind.STRETCH,
    duration_s=60,
    suits=frozenset({Change.TO_STAND}),
)
CUE_NOTICE = Notice(NoticeKind.CUE, "office", "Stand up", body="The desk is at 110 cm.", cue=CUE)
WARNING = Notice(
    NoticeKind.WARNING,
    "office",
    "Standing up in 30 s",
    body="The desk moves to 110 cm.",
    cue=CUE,
    actions=("skip", "snooze"),
)


class Recording(Channel):
    """A channel that keeps what it is sent."""

    name = "recording"

    def __init__(self) -> None:
        self.got: list[Notice] = []
        self.arrived = asyncio.Event()

    async def send(self, notice: Notice) -> None:
        self.got.append(notice)
        self.arrived.set()


class Raising(Channel):
    name = "raising"

    async def send(self, notice: Notice) -> None:
        raise RuntimeError("the channel broke")


class Hanging(Channel):
    name = "hanging"

    async def send(self, notice: Notice) -> None:
        await asyncio.Event().wait()


def warnings_from(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# --- notices -------------------------------------------------------------------------------------


def test_a_notice_takes_its_kind_as_a_string_and_refuses_unknown_actions() -> None:
    assert Notice("cue", "office", "x").kind is NoticeKind.CUE  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'dance'"):
        Notice(NoticeKind.WARNING, "office", "x", actions=("dance",))


# --- terminal / log ------------------------------------------------------------------------------


async def test_the_log_shows_a_cue_on_one_record_with_its_steps_indented(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.notify")
    await TerminalChannel().send(CUE_NOTICE)
    [record] = caplog.records
    assert record.name == "deskctl.adapters.notify"
    assert record.getMessage().splitlines() == [
        "office: Stand up: The desk is at 110 cm.",
        "    Hip flexor stretch: hips, stretch, 1 min",
        "    1. Step one foot forward into a short lunge.",
        "    2. Tuck the pelvis; hold 30 s a side.",
    ]
    assert "\x1b" not in record.getMessage()


@pytest.mark.parametrize(
    ("kind", "level"),
    [
        (NoticeKind.WARNING, logging.INFO),
        (NoticeKind.CUE, logging.INFO),
        (NoticeKind.MOVE_STARTED, logging.INFO),
        (NoticeKind.ARRIVED, logging.INFO),
        (NoticeKind.MANUAL_MOVE, logging.INFO),
        (NoticeKind.OBSTRUCTION, logging.WARNING),
        (NoticeKind.ERROR, logging.ERROR),
    ],
)
async def test_the_log_level_follows_the_kind(
    caplog: pytest.LogCaptureFixture, kind: NoticeKind, level: int
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.notify")
    await TerminalChannel().send(Notice(kind, "office", "Something happened"))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (level, "office: Something happened")
    ]


async def test_a_warning_in_the_log_says_what_the_person_can_do(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="deskctl.adapters.notify")
    await TerminalChannel().send(WARNING)
    first = caplog.records[0].getMessage().splitlines()[0]
    assert first.endswith("(now: deskctl skip, deskctl snooze)")


# --- command hook --------------------------------------------------------------------------------

RECORD_ENV = """
import json, os, sys
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump({"argv": sys.argv[2:], "stdin": sys.stdin.read(),
               "env": {k: v for k, v in os.environ.items() if k.startswith("DESKCTL_")}}, out)
"""


def script(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


async def run_hook(argv: list[str], notice: Notice, **kwargs: float) -> None:
    async with asyncio.timeout(BOUND_S):
        await CommandChannel(argv, **kwargs).send(notice)


async def test_the_hook_receives_every_field_of_a_cue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_MQTT__PASSWORD", "hunter2")
    monkeypatch.setenv("DESKCTL_CUE_ID", "stale-from-the-parent")
    out = tmp_path / "env.json"
    await run_hook([sys.executable, script(tmp_path, "hook.py", RECORD_ENV), str(out)], WARNING)
    seen = json.loads(out.read_text(encoding="utf-8"))
    assert seen["stdin"] == ""
    env = seen["env"]
    assert {k: v for k, v in env.items() if k != "DESKCTL_NOTICE_JSON"} == {
        "DESKCTL_KIND": "warning",
        "DESKCTL_DESK": "office",
        "DESKCTL_TITLE": "Standing up in 30 s",
        "DESKCTL_BODY": "The desk moves to 110 cm.",
        "DESKCTL_ACTIONS": "skip snooze",
        "DESKCTL_CUE_ID": "hip-flexor-stretch",
        "DESKCTL_CUE_TITLE": "Hip flexor stretch",
        "DESKCTL_CUE_STEPS": "Step one foot forward into a short lunge.\n"
        "Tuck the pelvis; hold 30 s a side.",
        "DESKCTL_CUE_AREA": "hips",
        "DESKCTL_CUE_KIND": "stretch",
        "DESKCTL_CUE_DURATION_S": "60",
    }
    whole = json.loads(env["DESKCTL_NOTICE_JSON"])
    assert whole["cue"]["steps"] == list(CUE.steps)
    assert whole["actions"] == ["skip", "snooze"]


def test_without_a_cue_the_cue_variables_are_empty_not_missing() -> None:
    env = notice_env(Notice(NoticeKind.ARRIVED, "office", "Arrived at 110 cm"))
    assert env["DESKCTL_KIND"] == "arrived"
    assert {env[k] for k in env if k.startswith("DESKCTL_CUE_")} == {""}
    assert json.loads(env["DESKCTL_NOTICE_JSON"])["cue"] is None


async def test_shell_metacharacters_reach_the_hook_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    title = (
        '$(touch by-subst); touch by-semicolon && echo "q" | cat > by-redirect `touch by-tick` *'
    )
    cue = Cue(CUE.id, title, ("a\x00b", "$HOME"), CUE.area, CUE.kind, 60, CUE.suits)
    notice = Notice(NoticeKind.CUE, "office; touch by-desk", title, cue=cue)
    out = tmp_path / "env.json"
    argv = [sys.executable, script(tmp_path, "hook.py", RECORD_ENV), str(out), "*", "$HOME;|&"]
    await run_hook(argv, notice)
    seen = json.loads(out.read_text(encoding="utf-8"))
    assert seen["argv"] == ["*", "$HOME;|&"]
    assert seen["env"]["DESKCTL_CUE_TITLE"] == title
    assert seen["env"]["DESKCTL_TITLE"] == title
    assert seen["env"]["DESKCTL_DESK"] == "office; touch by-desk"
    assert seen["env"]["DESKCTL_CUE_STEPS"] == "ab\n$HOME"  # a NUL cannot travel in the env
    assert sorted(os.listdir(tmp_path)) == ["env.json", "hook.py"]  # nothing was run


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (
            "import sys; sys.stderr.write('warming up\\nthe lamp is unplugged\\n'); sys.exit(3)",
            "exited with 3: the lamp is unplugged",
        ),
        ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", "was killed by signal 15"),
    ],
)
async def test_a_failing_hook_is_logged_once_per_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, program: str, expected: str
) -> None:
    argv = [sys.executable, script(tmp_path, "hook.py", program)]
    await run_hook(argv, CUE_NOTICE)
    await run_hook(argv, WARNING)
    lines = warnings_from(caplog)
    assert len(lines) == 2
    assert lines[0].endswith(expected)
    assert "(cue notice)" in lines[0]
    assert "(warning notice)" in lines[1]


async def test_a_hook_that_cannot_start_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await run_hook([str(tmp_path / "no-such-hook")], CUE_NOTICE)
    [line] = warnings_from(caplog)
    assert "cannot be started" in line
    assert "no-such-hook" in line


@pytest.mark.parametrize("argv", [[], [""], ["notify-send", ""]])
def test_a_bad_command_setting_is_a_config_error(argv: list[str]) -> None:
    with pytest.raises(ConfigError, match=r"notify\.command"):
        CommandChannel(argv)


HANGS = """
import os, subprocess, sys, time
child = subprocess.Popen(["sleep", "3600"])  # a grandchild holding our stderr open
with open(sys.argv[1], "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
time.sleep(3600)
"""


def exited(pid: int, timeout_s: float) -> bool:
    """Whether process `pid` has ended (a zombie counts), waiting at most `timeout_s`."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout_s)
        return bool(ready)
    finally:
        os.close(fd)


async def test_a_hanging_hook_is_killed_at_its_timeout_while_other_channels_deliver(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pids = tmp_path / "pids"
    hook = CommandChannel(
        [sys.executable, script(tmp_path, "hang.py", HANGS), str(pids)], timeout_s=2
    )
    other = Recording()
    notifiers = Notifiers([hook, other])
    async with asyncio.timeout(BOUND_S):
        sending = asyncio.create_task(notifiers.send(CUE_NOTICE))
        await other.arrived.wait()
        assert not sending.done()  # the other channel did not wait for the hook
        await sending
    assert other.got == [CUE_NOTICE]
    hook_pid, grandchild_pid = map(int, pids.read_text().split())
    try:
        assert exited(hook_pid, 5.0)
        assert exited(grandchild_pid, 5.0)
    finally:  # if the test failed, leave nothing running
        for pid in (hook_pid, grandchild_pid):
            with contextlib.suppress(ProcessLookupError):
                fd = os.pidfd_open(pid)
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                os.close(fd)
    [line] = warnings_from(caplog)
    assert "ran longer than 2 s and was killed" in line
    await notifiers.aclose()


# --- fan-out -------------------------------------------------------------------------------------


async def test_a_raising_channel_does_not_stop_the_others_or_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before, after = Recording(), Recording()
    async with Notifiers([before, Raising(), after]) as notifiers:
        async with asyncio.timeout(BOUND_S):
            await notifiers.send(CUE_NOTICE)
            await notifiers.send(WARNING)
    assert before.got == after.got == [CUE_NOTICE, WARNING]
    assert warnings_from(caplog) == [
        "the raising channel failed on the cue notice: RuntimeError: the channel broke",
        "the raising channel failed on the warning notice: RuntimeError: the channel broke",
    ]


def test_a_hanging_channel_is_given_up_at_the_timeout_and_the_lane_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[list[Notice], float]:
        other = Recording()
        notifiers = Notifiers([Hanging(), other], timeout_s=15)
        start = asyncio.get_running_loop().time()
        await notifiers.send(CUE_NOTICE)
        await notifiers.send(WARNING)
        took_s = asyncio.get_running_loop().time() - start
        await notifiers.aclose()
        return other.got, took_s

    got, took_s = run_virtual(scenario())
    assert got == [CUE_NOTICE, WARNING]
    assert took_s == pytest.approx(30, abs=0.01)  # virtual seconds: two notices, 15 s each
    assert warnings_from(caplog) == [
        "the hanging channel gave up on the cue notice after 15 s",
        "the hanging channel gave up on the warning notice after 15 s",
    ]


def test_post_returns_at_once_and_each_channel_gets_the_notices_in_order() -> None:
    class Slow(Recording):
        async def send(self, notice: Notice) -> None:
            await asyncio.sleep(5)
            await super().send(notice)

    async def scenario() -> tuple[list[Notice], list[Notice], float]:
        fast, slow = Recording(), Slow()
        notifiers = Notifiers([fast, slow])
        loop = asyncio.get_running_loop()
        start = loop.time()
        notices = [Notice(NoticeKind.ARRIVED, "office", f"notice {n}") for n in range(3)]
        for notice in notices:
            notifiers.post(notice)
        posted_s = loop.time() - start
        await notifiers.aclose(drain_s=60)
        return fast.got, slow.got, posted_s

    fast, slow, posted_s = run_virtual(scenario())
    assert posted_s == 0
    assert (
        [n.title for n in fast] == [n.title for n in slow] == ["notice 0", "notice 1", "notice 2"]
    )


def test_closing_stops_a_lane_that_would_not_drain(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[float, list[Notice]]:
        other = Recording()
        notifiers = Notifiers([Hanging(), other], timeout_s=300)
        notifiers.post(CUE_NOTICE)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await notifiers.aclose(drain_s=2)
        notifiers.post(WARNING)  # after closing: ignored, not an error
        return loop.time() - start, other.got

    took_s, got = run_virtual(scenario())
    assert took_s == pytest.approx(2, abs=0.01)
    assert got == [CUE_NOTICE]


def test_a_channel_far_behind_misses_notices_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[Notice]:
        other = Recording()
        notifiers = Notifiers([Hanging(), other], timeout_s=1, queue_max=2)
        for n in range(4):
            notifiers.post(Notice(NoticeKind.ARRIVED, "office", f"notice {n}"))
        await notifiers.aclose(drain_s=60)
        return other.got

    assert len(run_virtual(scenario())) == 2
    behind = [line for line in warnings_from(caplog) if "too far behind" in line]
    assert len(behind) == 2 * 2  # both lanes were full; each missed two


@pytest.mark.parametrize(
    ("settings", "with_mqtt", "names"),
    [
        (NotifySettings(), True, ["terminal", "mqtt"]),
        (NotifySettings(), False, ["terminal"]),
        (NotifySettings(terminal=False, mqtt=False), True, []),
        (
            NotifySettings(desktop=True, command=["notify-send", "deskctl"]),
            True,
            ["terminal", "desktop", "mqtt", "command"],
        ),
    ],
)
def test_build_notifiers_makes_the_channels_the_settings_ask_for(
    settings: NotifySettings, with_mqtt: bool, names: list[str]
) -> None:
    class Mqtt(Recording):
        name = "mqtt"

    notifiers = build_notifiers(settings, mqtt=Mqtt() if with_mqtt else None)
    assert [channel.name for channel in notifiers.channels] == names


# --- desktop -------------------------------------------------------------------------------------


async def test_without_desktop_notifier_the_channel_says_so_once_and_stays_quiet(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "desktop_notifier", None)  # import now raises ImportError
    channel = DesktopChannel()
    assert not channel.enabled
    for notice in (WARNING, CUE_NOTICE, CUE_NOTICE):
        await channel.send(notice)
    [line] = warnings_from(caplog)
    assert "desktop-notifier is not installed" in line
    assert "deskctl[notify]" in line


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with private_session_bus() as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address


@pytest.fixture
async def recorder(session_bus: str) -> AsyncIterator[NotificationRecorder]:
    async with recording_server(session_bus) as server:
        yield server


async def test_a_cue_reaches_the_notification_server(recorder: NotificationRecorder) -> None:
    channel = DesktopChannel()
    try:
        async with asyncio.timeout(BOUND_S):
            await channel.send(CUE_NOTICE)
    finally:
        await channel.aclose()
    [shown] = recorder.notified
    assert shown.app_name == "deskctl"
    assert shown.summary == "Stand up"
    assert shown.body.splitlines() == [
        "The desk is at 110 cm.",
        "Hip flexor stretch: hips, stretch, 1 min",
        "• Step one foot forward into a short lunge.",
        "• Tuck the pelvis; hold 30 s a side.",
    ]
    assert shown.hints["urgency"] == 1


@pytest.mark.parametrize(
    ("kind", "urgency"),
    [
        (NoticeKind.WARNING, 1),
        (NoticeKind.CUE, 1),
        (NoticeKind.OBSTRUCTION, 2),
        (NoticeKind.ERROR, 2),
        (NoticeKind.MOVE_STARTED, None),
        (NoticeKind.ARRIVED, None),
        (NoticeKind.MANUAL_MOVE, None),
    ],
)
async def test_which_kinds_pop_up_and_how_urgently(
    recorder: NotificationRecorder, kind: NoticeKind, urgency: int | None
) -> None:
    channel = DesktopChannel()
    try:
        async with asyncio.timeout(BOUND_S):
            await channel.send(Notice(kind, "office", "Something happened"))
            await channel.send(Notice(NoticeKind.CUE, "office", "Then this"))  # a marker
    finally:
        await channel.aclose()
    urgencies = [shown.hints["urgency"] for shown in recorder.notified]
    assert urgencies == ([] if urgency is None else [urgency]) + [1]


async def test_a_warning_offers_its_actions_and_a_press_reaches_the_service(
    recorder: NotificationRecorder,
) -> None:
    pressed: list[tuple[Notice, str]] = []
    got_press = asyncio.Event()

    def on_action(notice: Notice, action: str) -> None:
        pressed.append((notice, action))
        got_press.set()

    channel = DesktopChannel(on_action=on_action)
    try:
        async with asyncio.timeout(BOUND_S):
            await channel.send(WARNING)
            [shown] = recorder.notified
            assert {"skip": "Skip", "snooze": "Snooze"}.items() <= shown.action_keys().items()
            recorder.press(shown.id, "snooze")
            await got_press.wait()  # the signal comes back over the bus
    finally:
        await channel.aclose()
    assert pressed == [(WARNING, "snooze")]


async def test_the_next_notice_closes_the_desks_warning(recorder: NotificationRecorder) -> None:
    channel = DesktopChannel(on_action=lambda notice, action: None)
    try:
        async with asyncio.timeout(BOUND_S):
            await channel.send(WARNING)
            await channel.send(Notice(NoticeKind.MOVE_STARTED, "office", "Moving to 110 cm"))
            await recorder.wait_until(lambda: len(recorder.calls) == 2)
    finally:
        await channel.aclose()
    warning_id = recorder.notified[0].id
    assert recorder.calls[1] == Closed(warning_id)


async def test_with_no_notification_server_one_plain_line_is_logged(
    session_bus: str, caplog: pytest.LogCaptureFixture
) -> None:
    channel = DesktopChannel()
    try:
        async with asyncio.timeout(BOUND_S):
            await channel.send(CUE_NOTICE)
    finally:
        await channel.aclose()
    assert [(r.name, r.levelno) for r in caplog.records if r.levelno >= logging.WARNING] == [
        ("deskctl.adapters.notify", logging.WARNING)
    ]
    [line] = warnings_from(caplog)
    assert line.startswith("the desktop notification for the cue notice was not shown: ")
    assert "\n" not in line
