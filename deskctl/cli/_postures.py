"""How the CLI draws a posture in `plan` and `stats`: one mark and one colour each, and a legend.

Design: one table, keyed by `Posture`, so both charts and both legends agree; rich is imported
only when a legend is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskctl.core.vocab import Posture

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["MARK", "STYLE", "legend"]

MARK = {Posture.SIT: "▄", Posture.STAND: "█", Posture.AWAY: "░"}
STYLE = {Posture.SIT: "blue", Posture.STAND: "green", Posture.AWAY: "yellow"}


def legend(indent: int = 0) -> Text:
    """`▄▄ sit   ██ stand   ░░ away   ` after `indent` spaces; the caller adds its note."""
    from rich.text import Text

    line = Text(" " * indent)
    for posture in Posture:
        line.append(MARK[posture] * 2, style=STYLE[posture]).append(f" {posture}   ")
    return line
