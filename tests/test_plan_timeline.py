"""`deskctl plan` draws every block of the day at any terminal width: Cornell's 2-minute walks
included, however narrow or wide the terminal (a line that cannot hold them all wraps)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from tests.cli import deskctl

DAY = ("--profile", "cornell-20-8-2", "--date", "2026-12-01", "--tz", "Europe/Berlin")
POSTURE_OF = {"▄": "sit", "█": "stand", "░": "away"}
LABEL = re.compile(r"^(\d\d:\d\d | {6})(.*?)( \d\d:\d\d)?$")


def timeline(out: str) -> list[list[str]]:
    """The drawn postures, one list per working span, each block's run of marks as one entry."""
    spans: list[list[str]] = []
    marks = ""
    for line in out.splitlines()[1:]:
        if "sit" in line:  # the legend ends the timeline
            break
        begins, drawn, ends = LABEL.match(line).groups()  # type: ignore[union-attr]
        assert set(drawn) <= set(POSTURE_OF), f"only marks between the times: {line!r}"
        marks = drawn if begins.strip() else marks + drawn
        if ends:
            spans.append([POSTURE_OF[mark] for mark, _ in itertools.groupby(marks)])
    return spans


@pytest.mark.parametrize("columns", [80, 40, 200, 20])
def test_every_block_of_cornells_day_is_drawn(tmp_path: Path, columns: int) -> None:
    planned = json.loads(deskctl(tmp_path, "plan", *DAY, "--json").stdout)["blocks"]
    drawn = deskctl(tmp_path, "plan", *DAY, COLUMNS=str(columns))
    assert drawn.returncode == 0, drawn.stderr
    spans = timeline(drawn.stdout)
    assert len(spans) == 2, "morning and afternoon"
    assert [p for span in spans for p in span] == [block["posture"] for block in planned]
    assert sum(span.count("away") for span in spans) == 15, "Cornell's 15 walks"
    lines = drawn.stdout.splitlines()[1:]
    for line in itertools.takewhile(lambda text: "sit" not in text, lines):
        assert len(line) <= columns, f"fits {columns} columns: {line!r}"
