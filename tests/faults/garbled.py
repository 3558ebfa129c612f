"""A simulated LINAK desk that sometimes sends garbage instead of its notifications.

Design: `GarbledDesk` is the ordinary `DeskModel` (so the motor, the limits and the real bytes it
receives are unchanged) whose outgoing notifications are each replaced, with a given probability
and a seeded RNG, by random bytes of a random length (often the right 4 bytes with random values,
which decode to any height and speed). Height reports and DPG answers have their own
probabilities, so a test can garble the reports and leave the connection's set-up intact.
`garbled` counts what it replaced.
"""

from __future__ import annotations

import random

from deskctl.core.linak import Char
from deskctl.sim.desk_model import DeskModel, Notification, Stamped

__all__ = ["GarbledDesk"]

_LENGTHS = (0, 1, 2, 3, 4, 4, 4, 4, 5, 8, 20)


class GarbledDesk(DeskModel):
    def __init__(
        self, seed: int, *, height_p: float = 0.3, dpg_p: float = 0.0, height_mm: int = 750
    ) -> None:
        super().__init__(height_mm=height_mm)
        self.rng = random.Random(seed)
        self.height_p = height_p
        self.dpg_p = dpg_p
        self.garbled = 0

    def advance_stamped(self, dt_s: float) -> list[Stamped]:
        return [(at_s, self._garble(*sent)) for at_s, sent in super().advance_stamped(dt_s)]

    def _garble(self, char: Char, data: bytes) -> Notification:
        p = self.height_p if char is Char.HEIGHT_SPEED else self.dpg_p
        if self.rng.random() >= p:
            return char, data
        self.garbled += 1
        length = self.rng.choice(_LENGTHS)
        return char, bytes(self.rng.randrange(256) for _ in range(length))
