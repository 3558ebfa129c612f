"""Notifiers: every warning, cue and move reaches the person on each channel they chose.

How it works:
- A `Notice` is a frozen value: its kind (`warning`, `cue`, `move_started`, `arrived`,
  `manual_move`, `obstruction`, `error`), the desk's name, a title and body the service wrote,
  for cues the core `Cue` itself, and for warnings the actions the person may take (`skip`,
  `snooze`).
- A `Channel` has one coroutine, `send(notice)`, and an optional `aclose()`. Shipped channels:
  `TerminalChannel` (one log record on the `deskctl.notify` logger, cue steps on indented lines,
  plain text so it fits journald), `DesktopChannel` (desktop-notifier, an optional extra: without
  it the channel says so once and stays quiet) and `CommandChannel` (the user's argv, run without
  a shell, the notice in `DESKCTL_*` environment variables, its process group killed at a timeout).
  A channel that fails logs one line and returns; it does not raise for an expected failure.
- `Notifiers` fans a notice out. Each channel has its own lane: a queue and a worker task, so
  notices reach a channel in the order they were posted, a slow or hanging channel delays only
  itself, and every delivery is bounded by `timeout_s`. An exception or timeout in one lane is
  logged once and never reaches another lane or the caller. `post(notice)` returns at once (the
  service's state task never waits on a notifier); `await send(notice)` waits until every channel
  delivered or failed; `aclose()` drains the lanes (bounded) and closes the channels.
- `build_notifiers(settings.notify)` builds the channels the settings ask for. Adding a channel
  is one subclass of `Channel` and one line there (the MQTT bridge passes its channel in).
"""

from __future__ import annotations

from deskctl.adapters.notify.command import CommandChannel, notice_env
from deskctl.adapters.notify.desktop import DesktopChannel
from deskctl.adapters.notify.fanout import Notifiers, build_notifiers
from deskctl.adapters.notify.notice import Channel, Notice, NoticeKind, OnAction
from deskctl.adapters.notify.terminal import TerminalChannel
from deskctl.adapters.notify.text import desktop_text, log_text

__all__ = [
    "Channel",
    "CommandChannel",
    "DesktopChannel",
    "Notice",
    "NoticeKind",
    "Notifiers",
    "OnAction",
    "TerminalChannel",
    "build_notifiers",
    "desktop_text",
    "log_text",
    "notice_env",
]
