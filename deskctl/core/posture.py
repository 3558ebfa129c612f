"""Which posture a height means, for a desk with known sit and stand heights.

Design: a height at or above the midpoint between the sit and stand heights is standing, below
it sitting. One rule, used for reports, manual moves and stats alike.
"""

from __future__ import annotations

from deskctl.core.vocab import DeskPosture, Posture

__all__ = ["posture_of"]


def posture_of(height_mm: int, sit_mm: int, stand_mm: int) -> DeskPosture:
    """`Posture.STAND` at or above the midpoint of `sit_mm` and `stand_mm`, else `Posture.SIT`."""
    low, high = sorted((sit_mm, stand_mm))
    return Posture.STAND if 2 * height_mm >= low + high else Posture.SIT
