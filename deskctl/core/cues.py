"""Mobility cues: what a person does at each change of posture, and which one comes next.

Design:
- A `Cue` is a frozen value: id (kebab-case), title, 2-5 how-to steps, body `Area`, `Kind`,
  `duration_s` and the changes (`Change`) it suits. `parse_cues` validates one TOML document
  (`[[cue]]` tables) and raises `ConfigError` naming the source, the cue, the field and the problem.
- `CuePicker` chooses the cue for each change, deterministically from a seed (no `random`: a
  splitmix64 hash of the seed and a label gives every tie-break, so the same seed always gives the
  same day). Each pick:
  1. candidates: cues whose `suits` holds the change (for `away`, the walks among them, if any),
     minus the cue picked last time, so nothing repeats back to back;
  2. the area, by smooth weighted round robin over the candidates' areas: each pick every eligible
     area gains its weight in credit, the richest area wins and pays the sum of the weights. The
     four stiff areas (docs/cues.md, the evidence) weigh 2, `whole_body` 1, a preferred area one
     more, so every area comes round within a few picks and preferred ones more often;
  3. the cue within the area: a skipped cue first, then the one shown least recently (a preferred
     kind counts as twice as stale), ties broken by the seeded hash.
  `skipped(id)` marks the cue: at the next change it suits (never straight after itself) its area
  wins and it comes first there, so it comes back sooner instead of dropping out of the rotation;
  the area still pays for the turn, so the balance holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from deskctl.errors import ConfigError, InputError

__all__ = [
    "DURATION_MAX_S",
    "STEPS_MAX",
    "Area",
    "Change",
    "Cue",
    "CuePicker",
    "Kind",
    "find_cue",
    "parse_cues",
]


class Area(StrEnum):
    """The body area a cue works on; the first four stiffen most from long sitting."""

    LOWER_BACK = "lower_back"
    HIPS = "hips"
    UPPER_BACK = "upper_back"
    NECK = "neck"
    WHOLE_BODY = "whole_body"


class Kind(StrEnum):
    """What sort of movement a cue is."""

    MOBILITY = "mobility"
    STRETCH = "stretch"
    STRENGTH = "strength"
    WALK = "walk"


class Change(StrEnum):
    """The change of posture a cue goes with."""

    TO_STAND = "to_stand"
    TO_SIT = "to_sit"
    AWAY = "away"


DURATION_MAX_S = 1800
STEPS_MAX = 8
TITLE_MAX = 80
STEP_MAX_CHARS = 200
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ID_MAX = 64
E = TypeVar("E", bound=StrEnum)
_FIELDS = ("id", "title", "steps", "area", "kind", "duration_s", "suits")


@dataclass(frozen=True)
class Cue:
    """One movement snack. Build them with `parse_cues`, which checks every field."""

    id: str
    title: str
    steps: tuple[str, ...]
    area: Area
    kind: Kind
    duration_s: int
    suits: frozenset[Change]

    def to_json(self) -> dict[str, object]:
        """The short form `deskctl plan --json` carries: id, title, area, duration_s."""
        return {
            "id": self.id,
            "title": self.title,
            "area": self.area.value,
            "duration_s": self.duration_s,
        }

    def to_full_json(self) -> dict[str, object]:
        """Every field, for events, hooks and `deskctl cues show --json`; suits in a fixed order."""
        return {
            **self.to_json(),
            "kind": self.kind.value,
            "steps": list(self.steps),
            "suits": [change.value for change in Change if change in self.suits],
        }


# --- parsing -------------------------------------------------------------------------------------


def parse_cues(data: Mapping[str, object], source: str) -> list[Cue]:
    """The cues of one TOML document (`[[cue]]` tables); errors name source, cue and field."""
    unknown = sorted(set(data) - {"cue"})
    if unknown:
        raise ConfigError(
            f"in {source}, the key {unknown[0]!r} is not known; cues go in [[cue]] tables"
        )
    raw = data.get("cue", [])
    if not isinstance(raw, list):
        raise ConfigError(f"in {source}, 'cue' must be a list of [[cue]] tables")
    cues: list[Cue] = []
    seen: set[str] = set()
    for number, table in enumerate(raw, start=1):
        cue = _parse_one(table, source, number)
        if cue.id in seen:
            raise ConfigError(f"in {source}, cue {number}: the id {cue.id!r} is used twice")
        seen.add(cue.id)
        cues.append(cue)
    return cues


class _Where:
    """Builds the one-sentence error for a field of one cue."""

    def __init__(self, source: str, number: int, cue_id: str | None) -> None:
        named = f" ({cue_id!r})" if cue_id else ""
        self.prefix = f"in {source}, cue {number}{named}"

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.prefix}: field {name!r} {problem}")


def _parse_one(table: object, source: str, number: int) -> Cue:
    if not isinstance(table, Mapping):
        raise ConfigError(f"in {source}, cue {number} must be a table ([[cue]])")
    raw_id = table.get("id")
    where = _Where(source, number, raw_id if isinstance(raw_id, str) else None)
    for name in sorted(table):
        if name not in _FIELDS:
            raise where.error(str(name), f"is not known; a cue has {', '.join(_FIELDS)}")
    for name in _FIELDS:
        if name not in table:
            raise where.error(name, "is missing")
    return Cue(
        id=_parse_id(table["id"], where),
        title=_parse_text(table["title"], "title", TITLE_MAX, where),
        steps=_parse_steps(table["steps"], where),
        area=_parse_choice(Area, table["area"], "area", where),
        kind=_parse_choice(Kind, table["kind"], "kind", where),
        duration_s=_parse_duration(table["duration_s"], where),
        suits=_parse_suits(table["suits"], where),
    )


def _parse_id(value: object, where: _Where) -> str:
    if not isinstance(value, str) or len(value) > _ID_MAX or not _ID.match(value):
        raise where.error("id", f"must be kebab-case like 'neck-turns', not {value!r}")
    return value


def _parse_text(value: object, name: str, limit: int, where: _Where) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.error(name, "must be a non-empty string")
    text = " ".join(value.split())
    if len(text) > limit:
        raise where.error(name, f"is longer than {limit} characters")
    return text


def _parse_steps(value: object, where: _Where) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise where.error("steps", "must be a list of short how-to lines")
    if len(value) > STEPS_MAX:
        raise where.error("steps", f"has {len(value)} lines; keep it to {STEPS_MAX} or fewer")
    return tuple(_parse_text(step, "steps", STEP_MAX_CHARS, where) for step in value)


def _parse_choice(enum: type[E], value: object, name: str, where: _Where) -> E:
    allowed = ", ".join(member.value for member in enum)
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    raise where.error(name, f"must be one of {allowed}, not {value!r}")


def _parse_duration(value: object, where: _Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error("duration_s", f"must be a whole number of seconds, not {value!r}")
    if not 1 <= value <= DURATION_MAX_S:
        raise where.error("duration_s", f"must be between 1 and {DURATION_MAX_S} s, not {value}")
    return value


def _parse_suits(value: object, where: _Where) -> frozenset[Change]:
    if not isinstance(value, list) or not value:
        allowed = ", ".join(change.value for change in Change)
        raise where.error("suits", f"must be a non-empty list of {allowed}")
    return frozenset(_parse_choice(Change, item, "suits", where) for item in value)


def find_cue(library: Sequence[Cue], cue_id: str) -> Cue:
    """The cue with this id; `InputError` with close matches when there is none."""
    import difflib

    wanted = cue_id.strip().lower()
    for cue in library:
        if cue.id == wanted:
            return cue
    ids = [cue.id for cue in library]
    close = [cue.id for cue in library if wanted and wanted in f"{cue.id} {cue.title.lower()}"]
    close += difflib.get_close_matches(wanted, ids, n=3, cutoff=0.6)
    unique = list(dict.fromkeys(close))[:3]
    hint = f"; did you mean {', '.join(unique)}?" if unique else "; `deskctl cues list` shows them"
    raise InputError(f"there is no cue {cue_id!r}{hint}")


# --- picking -------------------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_CORE_AREAS = (Area.LOWER_BACK, Area.HIPS, Area.UPPER_BACK, Area.NECK)
_BASE_WEIGHT = {area: (2 if area in _CORE_AREAS else 1) for area in Area}


def _mix(value: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit hash of a 64-bit value."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def _noise(seed: int, *labels: str) -> int:
    """A deterministic pseudo-random 64-bit number for `seed` and the labels (FNV-1a, then mix)."""
    value = _mix(seed & _MASK64)
    for label in labels:
        text_hash = 0xCBF29CE484222325
        for byte in label.encode():
            text_hash = ((text_hash ^ byte) * 0x100000001B3) & _MASK64
        value = _mix(value ^ text_hash)
    return value


@dataclass
class _State:
    credit: dict[Area, int]
    last_shown: dict[str, int] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    last_id: str | None = None
    count: int = 0


class CuePicker:
    """Chooses the cue for each change of posture; see the module docstring for the rules."""

    def __init__(
        self,
        library: Sequence[Cue],
        *,
        seed: int,
        prefer_areas: Sequence[Area] = (),
        prefer_kinds: Sequence[Kind] = (),
    ) -> None:
        if not library:
            raise ConfigError("the cue library is empty; there is nothing to suggest at a change")
        for change in Change:
            if not any(change in cue.suits for cue in library):
                raise ConfigError(
                    f"no cue in the library suits {change.value!r}; add one with that in 'suits'"
                )
        self._library = tuple(library)
        self._ids = {cue.id for cue in library}
        self._seed = seed
        self._weight = {
            area: _BASE_WEIGHT[area] + (1 if area in prefer_areas else 0) for area in Area
        }
        self._prefer_kinds = frozenset(prefer_kinds)
        # A seeded head start below one weight, so different seeds open with different areas.
        self._state = _State(
            credit={area: _noise(seed, "start", area) % self._weight[area] for area in Area}
        )

    def pick(self, change: Change) -> Cue:
        """The cue for this change. Same seed and same calls give the same answers."""
        state = self._state
        candidates = self._candidates(change)
        area = self._pick_area(candidates)
        chosen = max(
            (cue for cue in candidates if cue.area == area),
            key=lambda cue: (cue.id in state.skipped, self._staleness(cue), self._tie(cue.id)),
        )
        state.skipped.discard(chosen.id)
        state.last_shown[chosen.id] = state.count
        state.last_id = chosen.id
        state.count += 1
        return chosen

    def skipped(self, cue_id: str) -> None:
        """The person skipped this cue: it comes back sooner. Unknown ids are ignored."""
        if cue_id not in self._ids:
            return
        self._state.skipped.add(cue_id)

    def _candidates(self, change: Change) -> list[Cue]:
        suitable = [cue for cue in self._library if change in cue.suits]
        if change is Change.AWAY:
            walks = [cue for cue in suitable if cue.kind is Kind.WALK]
            suitable = walks or suitable
        fresh = [cue for cue in suitable if cue.id != self._state.last_id]
        return fresh or suitable

    def _pick_area(self, candidates: Sequence[Cue]) -> Area:
        credit = self._state.credit
        eligible = [area for area in Area if any(cue.area == area for cue in candidates)]
        for area in eligible:
            credit[area] += self._weight[area]
        due = {cue.area for cue in candidates if cue.id in self._state.skipped}
        area = max(due or eligible, key=lambda a: (credit[a], self._tie("area", a)))
        credit[area] -= sum(self._weight[a] for a in eligible)
        return area

    def _staleness(self, cue: Cue) -> int:
        stale = self._state.count - self._state.last_shown.get(cue.id, -1)
        return stale * 2 if cue.kind in self._prefer_kinds else stale

    def _tie(self, *labels: str) -> int:
        return _noise(self._seed, "tie", *labels)
