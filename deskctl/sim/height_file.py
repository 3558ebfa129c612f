"""Where a simulated desk stood when its last command ended, so the next one starts there.

Design: one small JSON file per simulated desk in the state folder (`sim-NAME.json`,
`{"height_mm": …}`). A file that is missing, unreadable or wrong gives `default_mm`; a height
outside the desk's travel is brought back into it. Writing is best effort: a simulated desk that
cannot remember its height starts at the default next time.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from deskctl.config import paths

__all__ = ["load_height_mm", "save_height_mm"]


def _file(name: str) -> Path:
    return paths.state_dir() / f"sim-{name}.json"


def load_height_mm(name: str, default_mm: int, low_mm: int, high_mm: int) -> int:
    try:
        with open(_file(name), encoding="utf-8") as file:
            height_mm = int(json.load(file)["height_mm"])
    except (OSError, ValueError, KeyError, TypeError):
        return default_mm
    return min(max(height_mm, low_mm), high_mm)


def save_height_mm(name: str, height_mm: int) -> None:
    with contextlib.suppress(OSError):
        paths.state_dir().mkdir(parents=True, exist_ok=True)
        with open(_file(name), "w", encoding="utf-8") as file:
            json.dump({"height_mm": height_mm}, file)
