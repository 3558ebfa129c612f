"""How a notice reads: the log line and the desktop notification. Pure functions of the notice."""

from __future__ import annotations

from deskctl.adapters.notify.notice import Notice
from deskctl.core.cues import Cue
from deskctl.core.units import format_duration

__all__ = ["cue_heading", "desktop_text", "log_text"]

_INDENT = "    "


def cue_heading(cue: Cue) -> str:
    """`'Hip flexor stretch: hips, stretch, 1m'`."""
    area = cue.area.value.replace("_", " ")
    return f"{cue.title}: {area}, {cue.kind.value}, {format_duration(cue.duration_s)}"


def log_text(notice: Notice) -> str:
    """One log message: `desk: title: body (actions)`, then the cue and its steps indented."""
    line = f"{notice.desk}: {notice.title}"
    if notice.body:  # a question ("Ready to stand?") is followed by its body, not by a colon
        line += f" {notice.body}" if notice.title.endswith(("?", "!", ".")) else f": {notice.body}"
    if notice.actions:
        line += f" (now: {', '.join(f'deskctl {action}' for action in notice.actions)})"
    lines = [line]
    if notice.cue is not None:
        lines.append(_INDENT + cue_heading(notice.cue))
        lines.extend(
            f"{_INDENT}{number}. {step}" for number, step in enumerate(notice.cue.steps, start=1)
        )
    return "\n".join(lines)


def _escape(text: str) -> str:
    """Notification servers read a little HTML in the body; a cue's `&` or `<` stays literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def desktop_text(notice: Notice) -> tuple[str, str]:
    """(summary, body) for a desktop notification: the title, then the body and the cue's steps."""
    lines: list[str] = []
    if notice.body:
        lines.append(notice.body)
    if notice.cue is not None:
        lines.append(cue_heading(notice.cue))
        lines.extend(f"• {step}" for step in notice.cue.steps)
    return notice.title, _escape("\n".join(lines))
