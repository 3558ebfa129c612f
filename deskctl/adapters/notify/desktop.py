"""The desktop channel: notifications through desktop-notifier (D-Bus on Linux), an optional extra.

How it works:
- desktop-notifier is imported when the channel is made; if it is missing the channel logs one
  line saying how to get it and ignores every notice after that.
- What shows: warnings and cues (normal urgency), obstructions and errors (critical: they stay
  until dismissed, as the schedule is held until the person acts). Move started, arrived and
  manual moves are only logged: four pop-ups per change would teach people to ignore them all.
- A warning's actions become buttons when the channel has an `on_action` callback; pressing one
  calls `on_action(notice, action)`. The next notice for that desk closes the warning, so a stale
  Skip button does not linger after the move began.
- desktop-notifier never raises from a send: it logs a warning with a traceback and drops the
  notification. The channel notes success through the notification's dispatched callback and,
  while its own send runs (a context variable marks it), turns the library's warning into the
  reason of one plain log line of its own.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from deskctl.adapters.notify.notice import Channel, Notice, NoticeKind, OnAction
from deskctl.adapters.notify.text import desktop_text

__all__ = ["DesktopChannel"]

log = logging.getLogger("deskctl.adapters.notify")

_BACKEND_LOGGER = "desktop_notifier.backends.base"
_failures: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "deskctl_desktop_failures", default=None
)

# The kinds that pop up, with desktop-notifier's urgency name; the rest are only logged.
_URGENCY = {
    NoticeKind.WARNING: "Normal",
    NoticeKind.CUE: "Normal",
    NoticeKind.OBSTRUCTION: "Critical",
    NoticeKind.ERROR: "Critical",
}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _TakeFailures(logging.Filter):
    """Inside our own send, the library's warning becomes our failure reason instead of a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        sink = _failures.get()
        if sink is None or record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        sink.append(_describe(exc) if exc is not None else record.getMessage())
        return False


def _install_filter() -> None:
    backend_log = logging.getLogger(_BACKEND_LOGGER)
    if not any(isinstance(f, _TakeFailures) for f in backend_log.filters):
        backend_log.addFilter(_TakeFailures())


class DesktopChannel(Channel):
    """Desktop notifications; quietly off when desktop-notifier is not installed."""

    name = "desktop"

    def __init__(self, *, app_name: str = "deskctl", on_action: OnAction | None = None) -> None:
        self._on_action = on_action
        self._open_warning: dict[str, str] = {}  # desk -> identifier of its warning on screen
        self._lib: Any = None
        self._notifier: Any = None
        try:
            import desktop_notifier
        except ImportError:
            log.warning(
                "desktop notifications are off: the optional package desktop-notifier is not "
                "installed (pip install 'deskctl[notify]')"
            )
            return
        try:
            notifier = desktop_notifier.DesktopNotifier(app_name=app_name, app_icon=None)
        except Exception as exc:
            log.warning("desktop notifications are off: %s", _describe(exc))
            return
        self._lib = desktop_notifier
        self._notifier = notifier
        _install_filter()

    @property
    def enabled(self) -> bool:
        """False when desktop-notifier is missing."""
        return self._notifier is not None

    async def send(self, notice: Notice) -> None:
        if self._notifier is None:
            return
        if notice.kind is not NoticeKind.WARNING:
            await self._close_warning(notice.desk)
        urgency = _URGENCY.get(notice.kind)
        if urgency is None:
            return
        summary, body = desktop_text(notice)
        shown: list[bool] = []
        notification = self._lib.Notification(
            title=summary,
            message=body,
            urgency=self._lib.Urgency[urgency],
            buttons=self._buttons(notice),
            on_dispatched=lambda: shown.append(True),
        )
        failures: list[str] = []
        token = _failures.set(failures)
        try:
            identifier = await self._notifier.send_notification(notification)
        finally:
            _failures.reset(token)
        if not shown:
            reason = failures[0] if failures else "the notification server did not take it"
            log.warning(
                "the desktop notification for the %s notice was not shown: %s",
                notice.kind.value,
                reason,
            )
            return
        if notice.kind is NoticeKind.WARNING:
            self._open_warning[notice.desk] = str(identifier)

    def _buttons(self, notice: Notice) -> tuple[Any, ...]:
        if self._on_action is None:
            return ()
        return tuple(
            self._lib.Button(
                title=action.capitalize(),
                identifier=action,
                on_pressed=lambda action=action: self._pressed(notice, action),
            )
            for action in notice.actions
        )

    def _pressed(self, notice: Notice, action: str) -> None:
        if self._on_action is None:
            return
        try:
            self._on_action(notice, action)
        except Exception as exc:
            log.warning("the %s button of a desktop notification failed: %s", action, exc)

    async def _close_warning(self, desk: str) -> None:
        identifier = self._open_warning.pop(desk, None)
        if identifier is None:
            return
        try:
            await self._notifier.clear(identifier)
        except Exception as exc:  # already closed by the person, or the server went away
            log.debug("closing the %s warning notification: %s", desk, _describe(exc))

    async def aclose(self) -> None:
        """Disconnect from the session bus, if the backend connected."""
        bus = getattr(getattr(self._notifier, "_backend", None), "bus", None)
        if bus is not None:
            bus.disconnect()
