"""The vocabularies (`deskctl.core.vocab`) are the words the docs promise, and they say them.

A person or a program reading docs/control-socket.md or docs/stats.md learns the words a field
may hold; each documented list is the vocabulary's members, in its order, and each member is
its word wherever it is written (JSON, text, the history).
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path

import pytest

from deskctl.core.vocab import Outcome, Posture, ScheduleState, Waiting

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _row(doc: str, field: str) -> str:
    """The second column of the status table's row of `field` (the words, joined by ` / `)."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    match = re.search(rf"^\| `{field}` \| (`\w+`(?: / (?:`\w+`|null))+) \|", text, re.M)
    assert match, f"{doc} has no row of words for {field}"
    return match.group(1)


def _words(cell: str) -> list[str]:
    return re.findall(r"`(\w+)`", cell)


@pytest.mark.parametrize(
    ("doc", "field", "vocabulary"),
    [
        ("control-socket.md", "posture", Posture),
        ("control-socket.md", "next_posture", Posture),
        ("control-socket.md", "schedule", ScheduleState),
        ("control-socket.md", "waiting_for", Waiting),
    ],
)
def test_the_control_socket_documents_each_word(
    doc: str, field: str, vocabulary: type[StrEnum]
) -> None:
    documented = _words(_row(doc, field))
    assert sorted(documented) == sorted(vocabulary)


def test_the_history_documents_each_word() -> None:
    text = (DOCS / "stats.md").read_text(encoding="utf-8")
    outcomes = re.search(r"`outcome` \(([^)]*)\)", text)
    states = re.search(r"`state` \(([^)]*)\)", text)
    postures = re.search(r"`posture` \(([^)]*)\)", text)
    assert outcomes
    assert states
    assert postures
    assert _words(outcomes.group(1)) == list(Outcome)
    assert _words(states.group(1)) == list(ScheduleState)
    assert re.findall(r"`?(\w+)`?", postures.group(1)) == list(Posture)


@pytest.mark.parametrize("member", [*Posture, *Outcome, *ScheduleState, *Waiting])
def test_a_member_is_its_word_wherever_it_is_written(member: StrEnum) -> None:
    word = member.value
    assert member == word
    assert str(member) == f"{member}" == word
    assert json.dumps({"w": member}) == json.dumps({"w": word})
    assert type(member)(word) is member
