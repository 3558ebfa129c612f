"""The waits between reconnect attempts, as pure code (the desk runner's and the MQTT bridge's)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(slots=True)
class Backoff:
    """Waits between attempts: the next one each time, then the last one again and again."""

    delays_s: tuple[float, ...]
    attempt: int = 0

    def next_s(self) -> float:
        """The wait before the next attempt."""
        delay_s = self.delays_s[min(self.attempt, len(self.delays_s) - 1)]
        self.attempt += 1
        return delay_s

    def reset(self) -> None:
        """An attempt worked: the next failure waits the first delay again."""
        self.attempt = 0
