"""The cue library, its TOML format, the loader, and the seeded picker."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.config.cue_library import load_cues, shipped_cues
from deskctl.core.cues import Area, Change, Cue, CuePicker, Kind, find_cue, parse_cues
from deskctl.errors import ConfigError, InputError

CORE_AREAS = (Area.LOWER_BACK, Area.HIPS, Area.UPPER_BACK, Area.NECK)
LIBRARY = shipped_cues()

# The day patterns of the shipped profiles: 30/15 sit/stand, and Cornell's sit 20, stand 8, move 2.
ALTERNATE = [Change.TO_STAND, Change.TO_SIT]
CORNELL = [Change.TO_STAND, Change.AWAY, Change.TO_SIT]


def day(pattern: Sequence[Change], picks: int, start: int = 0) -> list[Change]:
    return list(itertools.islice(itertools.cycle(pattern), start, start + picks))


def run(picker: CuePicker, changes: Sequence[Change]) -> list[Cue]:
    return [picker.pick(change) for change in changes]


def table(**overrides: object) -> dict[str, object]:
    cue: dict[str, object] = {
        "id": "neck-turns",
        "title": "Neck turns",
        "steps": ["Sit tall.", "Turn your head slowly."],
        "area": "neck",
        "kind": "mobility",
        "duration_s": 30,
        "suits": ["to_sit"],
    }
    cue.update(overrides)
    return {key: value for key, value in cue.items() if value is not None}


def make(cue_id: str, area: Area, kind: Kind = Kind.MOBILITY, *suits: Change) -> Cue:
    return Cue(
        id=cue_id,
        title=cue_id,
        steps=("One.", "Two."),
        area=area,
        kind=kind,
        duration_s=30,
        suits=frozenset(suits or (Change.TO_STAND, Change.TO_SIT)),
    )


# --- the shipped library -------------------------------------------------------------------------


def test_the_library_has_at_least_24_cues_covering_every_area_and_kind() -> None:
    assert len(LIBRARY) >= 24
    assert {cue.area for cue in LIBRARY} == set(Area)
    assert {cue.kind for cue in LIBRARY} == set(Kind)


def test_shipped_ids_are_unique() -> None:
    ids = [cue.id for cue in LIBRARY]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("cue", LIBRARY, ids=lambda cue: cue.id)
def test_every_shipped_cue_is_a_short_snack_with_a_few_steps(cue: Cue) -> None:
    assert 2 <= len(cue.steps) <= 5
    assert all(step.endswith(".") for step in cue.steps)
    assert cue.title[:1].isupper()
    if cue.kind is Kind.WALK:
        assert cue.suits == {Change.AWAY}
        assert cue.duration_s == 120
    else:
        assert Change.AWAY not in cue.suits
        assert 30 <= cue.duration_s <= 180


@pytest.mark.parametrize(("area", "change"), list(itertools.product(CORE_AREAS, ALTERNATE)))
def test_each_stiff_area_has_cues_for_standing_up_and_for_sitting_down(
    area: Area, change: Change
) -> None:
    assert len([cue for cue in LIBRARY if cue.area is area and change in cue.suits]) >= 2


def test_the_standing_prayer_stretch_is_done_at_the_raised_desk() -> None:
    cue = find_cue(LIBRARY, "standing-prayer-stretch")
    assert cue.suits == {Change.TO_STAND}
    assert (cue.area, cue.kind) == (Area.UPPER_BACK, Kind.STRETCH)
    assert "desk" in cue.steps[0]


def test_there_are_several_walks_including_stairs() -> None:
    walks = [cue for cue in LIBRARY if cue.kind is Kind.WALK]
    assert len(walks) >= 4
    assert any("stairs" in cue.title.lower() for cue in walks)


def test_to_json_is_the_short_form_plan_json_carries() -> None:
    cue = find_cue(LIBRARY, "chin-tucks")
    assert cue.to_json() == {
        "id": "chin-tucks",
        "title": "Chin tucks",
        "area": "neck",
        "duration_s": 30,
    }
    full = cue.to_full_json()
    assert full["kind"] == "mobility"
    assert full["suits"] == ["to_stand", "to_sit"]
    assert full["steps"] == list(cue.steps)


# --- the TOML format -----------------------------------------------------------------------------


def test_a_valid_document_parses_and_tidies_whitespace() -> None:
    [cue] = parse_cues({"cue": [table(title="  Neck   turns ")]}, "mine.toml")
    assert cue == Cue(
        id="neck-turns",
        title="Neck turns",
        steps=("Sit tall.", "Turn your head slowly."),
        area=Area.NECK,
        kind=Kind.MOBILITY,
        duration_s=30,
        suits=frozenset({Change.TO_SIT}),
    )


def test_an_empty_document_has_no_cues() -> None:
    assert parse_cues({}, "empty.toml") == []


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"title": None}, "title", "is missing"),
        ({"area": "shoulders"}, "area", "must be one of lower_back"),
        ({"duration_s": -30}, "duration_s", "between 1 and"),
        ({"duration_s": 0}, "duration_s", "between 1 and"),
        ({"duration_s": "30s"}, "duration_s", "whole number of seconds"),
        ({"duration_s": True}, "duration_s", "whole number of seconds"),
        ({"kind": "yoga"}, "kind", "must be one of mobility"),
        ({"suits": []}, "suits", "non-empty list"),
        ({"suits": ["to_stand", "lunch"]}, "suits", "must be one of to_stand"),
        ({"id": "Neck Turns"}, "id", "kebab-case"),
        ({"id": 7}, "id", "kebab-case"),
        ({"steps": []}, "steps", "list of short how-to lines"),
        ({"steps": ["Sit.", ""]}, "steps", "non-empty string"),
        ({"steps": "Sit tall."}, "steps", "list of short how-to lines"),
        ({"title": "x" * 81}, "title", "longer than 80"),
        ({"duration": 30}, "duration", "is not known"),
    ],
)
def test_a_broken_cue_names_the_source_the_field_and_the_problem(
    overrides: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_cues({"cue": [table(), table(**{"id": "second", **overrides})]}, "cues/mine.toml")
    message = str(caught.value)
    assert message.startswith("in cues/mine.toml, cue 2")
    assert f"field {field!r}" in message
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"cues": []}, "the key 'cues' is not known"),
        ({"cue": {"id": "x"}}, "must be a list of [[cue]] tables"),
        ({"cue": ["chin-tucks"]}, "cue 1 must be a table"),
        ({"cue": [table(), table()]}, "cue 2: the id 'neck-turns' is used twice"),
    ],
)
def test_a_broken_document_names_the_source(data: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=r"^in x\.toml") as caught:
        parse_cues(data, "x.toml")
    assert words in str(caught.value)


def test_find_cue_suggests_close_ids() -> None:
    with pytest.raises(InputError, match="did you mean chin-tucks"):
        find_cue(LIBRARY, "chin-tuck")
    with pytest.raises(InputError, match="cues list"):
        find_cue(LIBRARY, "zzzz")


# --- the loader ----------------------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


MY_CHIN_TUCKS = """
[[cue]]
id = "chin-tucks"
title = "My chin tucks"
steps = ["Sit tall.", "Tuck your chin gently."]
area = "neck"
kind = "mobility"
duration_s = 40
suits = ["to_sit"]

[[cue]]
id = "desk-push-ups"
title = "Desk push-ups"
steps = ["Hands on the desk.", "Lower your chest slowly and push back."]
area = "upper_back"
kind = "strength"
duration_s = 45
suits = ["to_stand"]
"""


def test_a_user_cue_shadows_the_shipped_one_and_new_ones_are_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path))
    write(tmp_path / "cues", "mine.toml", MY_CHIN_TUCKS)
    shipped = [cue.id for cue in LIBRARY]
    loaded = load_cues()
    assert [cue.id for cue in loaded] == [*shipped, "desk-push-ups"]
    mine = find_cue(loaded, "chin-tucks")
    assert (mine.title, mine.duration_s) == ("My chin tucks", 40)
    assert mine.suits == {Change.TO_SIT}


def test_without_a_user_folder_the_shipped_library_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_CONFIG_DIR", str(tmp_path / "nowhere"))
    assert load_cues() == LIBRARY


def test_a_broken_user_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", MY_CHIN_TUCKS.replace('"neck"', '"knees"'))
    with pytest.raises(ConfigError, match=r"field 'area' must be one of") as caught:
        load_cues(tmp_path)
    assert str(path) in str(caught.value)


def test_a_user_file_that_is_not_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", "[[cue]\nid = ")
    with pytest.raises(ConfigError, match="is not valid TOML") as caught:
        load_cues(tmp_path)
    assert str(path) in str(caught.value)


def test_the_same_id_in_two_user_files_names_both(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", MY_CHIN_TUCKS)
    write(tmp_path, "b.toml", MY_CHIN_TUCKS)
    with pytest.raises(
        ConfigError, match=r"'chin-tucks' is defined in both .*a\.toml and .*b\.toml"
    ):
        load_cues(tmp_path)


# --- the picker ----------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_day() -> None:
    changes = day(CORNELL, 30)
    first = run(CuePicker(LIBRARY, seed=42), changes)
    again = run(CuePicker(LIBRARY, seed=42), changes)
    assert [cue.id for cue in first] == [cue.id for cue in again]


def test_different_seeds_give_different_days() -> None:
    changes = day(ALTERNATE, 12)
    days = {
        tuple(cue.id for cue in run(CuePicker(LIBRARY, seed=seed), changes)) for seed in range(20)
    }
    assert len(days) >= 15


def test_each_pick_suits_its_change_and_away_is_a_walk() -> None:
    picker = CuePicker(LIBRARY, seed=3)
    for change in day(CORNELL, 60):
        cue = picker.pick(change)
        assert change in cue.suits
        assert (cue.kind is Kind.WALK) == (change is Change.AWAY)


def test_walks_rotate_through_all_of_them() -> None:
    picker = CuePicker(LIBRARY, seed=5)
    walks = {cue.id for cue in LIBRARY if cue.kind is Kind.WALK}
    assert {picker.pick(Change.AWAY).id for _ in walks} == walks


def test_a_walk_is_preferred_for_away_even_when_other_cues_suit_it() -> None:
    library = [
        make("neck-away", Area.NECK, Kind.MOBILITY, *Change),
        make("walk", Area.WHOLE_BODY, Kind.WALK, Change.AWAY),
    ]
    picker = CuePicker(library, seed=1)
    assert [picker.pick(Change.AWAY).id for _ in range(3)] == ["walk", "walk", "walk"]


@pytest.mark.parametrize("seed", range(5))
def test_no_repeat_even_when_a_preferred_area_is_due_twice(seed: int) -> None:
    library = [
        make("neck", Area.NECK),
        make("hips", Area.HIPS),
        make("walk", Area.WHOLE_BODY, Kind.WALK, Change.AWAY),
    ]
    picker = CuePicker(library, seed=seed, prefer_areas=[Area.NECK, Area.WHOLE_BODY])
    ids = [picker.pick(Change.TO_SIT).id for _ in range(10)]
    assert all(a != b for a, b in itertools.pairwise(ids))


def test_only_one_suitable_cue_is_repeated_rather_than_nothing() -> None:
    library = [make("neck", Area.NECK), make("walk", Area.WHOLE_BODY, Kind.WALK, Change.AWAY)]
    picker = CuePicker(library, seed=1)
    assert [picker.pick(Change.TO_SIT).id for _ in range(2)] == ["neck", "neck"]


changes_strategy = st.lists(st.sampled_from(list(Change)), min_size=2, max_size=40)
areas_strategy = st.lists(st.sampled_from(list(Area)), max_size=3, unique=True)
kinds_strategy = st.lists(st.sampled_from(list(Kind)), max_size=2, unique=True)


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(), changes=changes_strategy, areas=areas_strategy, kinds=kinds_strategy)
def test_no_cue_comes_twice_in_a_row(
    seed: int, changes: list[Change], areas: list[Area], kinds: list[Kind]
) -> None:
    picker = CuePicker(LIBRARY, seed=seed, prefer_areas=areas, prefer_kinds=kinds)
    ids = [cue.id for cue in run(picker, changes)]
    assert all(a != b for a, b in itertools.pairwise(ids))


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(),
    pattern=st.sampled_from([ALTERNATE, CORNELL]),
    start=st.integers(0, 2),
    areas=areas_strategy,
    kinds=kinds_strategy,
)
def test_every_stiff_area_comes_up_in_a_day_of_12_changes(
    seed: int, pattern: list[Change], start: int, areas: list[Area], kinds: list[Kind]
) -> None:
    picker = CuePicker(LIBRARY, seed=seed, prefer_areas=areas, prefer_kinds=kinds)
    assert {cue.area for cue in run(picker, day(pattern, 12, start))} >= set(CORE_AREAS)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(), pattern=st.sampled_from([ALTERNATE, CORNELL]))
def test_any_12_changes_in_a_row_cover_every_stiff_area(seed: int, pattern: list[Change]) -> None:
    areas = [cue.area for cue in run(CuePicker(LIBRARY, seed=seed), day(pattern, 36))]
    for start in range(len(areas) - 12 + 1):
        assert set(areas[start : start + 12]) >= set(CORE_AREAS)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(), pattern=st.sampled_from([ALTERNATE, CORNELL]))
def test_the_stiff_areas_stay_balanced_over_a_long_day(seed: int, pattern: list[Change]) -> None:
    counts = Counter(cue.area for cue in run(CuePicker(LIBRARY, seed=seed), day(pattern, 48)))
    core = [counts[area] for area in CORE_AREAS]
    assert max(core) - min(core) <= 2


def share(
    wanted: Area | Kind, prefer_areas: Sequence[Area] = (), prefer_kinds: Sequence[Kind] = ()
) -> float:
    """The fraction of picks in `wanted` over ten seeds of a 40-change alternating day."""
    picks = [
        cue
        for seed in range(10)
        for cue in run(
            CuePicker(LIBRARY, seed=seed, prefer_areas=prefer_areas, prefer_kinds=prefer_kinds),
            day(ALTERNATE, 40),
        )
    ]
    return sum(wanted in (cue.area, cue.kind) for cue in picks) / len(picks)


@pytest.mark.parametrize("area", sorted(Area))
def test_a_preferred_area_comes_up_more_often_but_not_exclusively(area: Area) -> None:
    plain = share(area)
    preferred = share(area, prefer_areas=[area])
    assert preferred > plain * 1.2
    assert preferred < 0.6


@pytest.mark.parametrize("kind", [Kind.MOBILITY, Kind.STRETCH, Kind.STRENGTH])
def test_a_preferred_kind_comes_up_more_often_but_not_exclusively(kind: Kind) -> None:
    plain = share(kind)
    preferred = share(kind, prefer_kinds=[kind])
    assert preferred > plain * 1.2
    assert preferred < 0.9


def picks_until_back(picker: CuePicker, cue_id: str, changes: Sequence[Change]) -> int:
    for count, change in enumerate(changes, start=1):
        if picker.pick(change).id == cue_id:
            return count
    return len(changes) + 1


@pytest.mark.parametrize("pattern", [ALTERNATE, CORNELL], ids=["alternate", "cornell"])
def test_a_skipped_cue_comes_back_sooner(pattern: list[Change]) -> None:
    later = day(pattern, 60, start=1)
    gaps_skipped, gaps_plain = [], []
    for seed in range(30):
        skipping, plain = CuePicker(LIBRARY, seed=seed), CuePicker(LIBRARY, seed=seed)
        first = skipping.pick(pattern[0])
        plain.pick(pattern[0])
        skipping.skipped(first.id)
        gaps_skipped.append(picks_until_back(skipping, first.id, later))
        gaps_plain.append(picks_until_back(plain, first.id, later))
    assert all(s <= p for s, p in zip(gaps_skipped, gaps_plain, strict=True))
    assert sum(gaps_skipped) * 2 < sum(gaps_plain)
    assert max(gaps_skipped) <= len(pattern)


def test_skipping_an_unknown_cue_changes_nothing() -> None:
    changes = day(CORNELL, 12)
    told, untold = CuePicker(LIBRARY, seed=9), CuePicker(LIBRARY, seed=9)
    told.skipped("no-such-cue")
    assert run(told, changes) == run(untold, changes)


def test_an_empty_library_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        CuePicker([], seed=1)


def test_a_library_without_a_cue_for_some_change_is_refused() -> None:
    with pytest.raises(ConfigError, match="no cue in the library suits 'away'"):
        CuePicker([make("neck", Area.NECK)], seed=1)
