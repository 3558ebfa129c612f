"""The terminal/log channel: one plain-text record per notice on the `deskctl.notify` logger.

Plain text always (no colour codes): the handler decides how it looks, and under systemd the
record lands in the journal as is, with its level (obstructions warn, errors are errors).
Each record carries `extra` fields `notice_kind` and `desk` for handlers that want them.
"""

from __future__ import annotations

import logging

from deskctl.adapters.notify.notice import Channel, Notice, NoticeKind
from deskctl.adapters.notify.text import log_text

__all__ = ["LOGGER_NAME", "TerminalChannel"]

LOGGER_NAME = "deskctl.adapters.notify"

_LEVEL = {
    NoticeKind.OBSTRUCTION: logging.WARNING,
    NoticeKind.ERROR: logging.ERROR,
}


class TerminalChannel(Channel):
    """Logs every notice, one record each."""

    name = "terminal"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(LOGGER_NAME)

    async def send(self, notice: Notice) -> None:
        self._log.log(
            _LEVEL.get(notice.kind, logging.INFO),
            "%s",
            log_text(notice),
            extra={"notice_kind": notice.kind.value, "desk": notice.desk},
        )
