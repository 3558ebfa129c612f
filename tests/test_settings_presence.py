"""The `[presence]` settings: the sources and the thresholds, and one sentence for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskctl.config.settings import PresenceSettings, load_settings
from deskctl.core.presence import Thresholds
from deskctl.errors import ConfigError


def load(tmp_path: Path, text: str) -> PresenceSettings:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path).presence


def test_by_default_every_source_is_tried_with_five_and_ten_minutes(tmp_path: Path) -> None:
    presence = load(tmp_path, "")
    assert presence.sources == ["mutter", "screensaver", "logind"]
    assert (presence.away_after_s, presence.break_after_s) == (300, 600)
    assert Thresholds(presence.away_after_s, presence.break_after_s) == Thresholds()


def test_a_file_chooses_the_sources_and_thresholds(tmp_path: Path) -> None:
    presence = load(
        tmp_path,
        '[presence]\nsources = ["logind"]\naway_after_s = 120\nbreak_after_s = 900\n',
    )
    assert presence == PresenceSettings(sources=["logind"], away_after_s=120, break_after_s=900)


def test_no_sources_turns_presence_off(tmp_path: Path) -> None:
    assert load(tmp_path, "[presence]\nsources = []\n").sources == []


def test_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_PRESENCE__SOURCES", '["mutter", "logind"]')
    monkeypatch.setenv("DESKCTL_PRESENCE__AWAY_AFTER_S", "180")
    presence = load(tmp_path, '[presence]\nsources = ["screensaver"]\naway_after_s = 600\n')
    assert (presence.sources, presence.away_after_s) == (["mutter", "logind"], 180)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[presence]\nsources = ["mutter", "mutter"]\n',
            "presence.sources: names 'mutter' more than once; name each source once",
        ),
        (
            '[presence]\nsources = ["kde"]\n',
            "presence.sources.0: Input should be 'mutter', 'screensaver', 'logind', 'x11' or "
            "'wayland'",
        ),
        (
            "[presence]\naway_after_s = 900\n",
            "presence: break_after_s (600) must be at least away_after_s (900): a break is an "
            "away stretch, and idle time becomes away only after away_after_s",
        ),
        (
            "[presence]\naway_after_s = 5\n",
            "presence.away_after_s: Input should be greater than or equal to 30",
        ),
        ("[presence]\nidle_s = 5\n", "presence.idle_s: is not a known setting"),
    ],
)
def test_a_mistake_is_one_sentence_naming_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert str(raised.value) == f"{tmp_path / 'settings.toml'}: {message}"


@pytest.mark.parametrize("variable", ["DESKCTL_PRESENCE__SOURCES", "DESKCTL_NOTIFY__COMMAND"])
def test_a_list_variable_that_is_not_json_is_named_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "mutter")
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, "")
    assert (
        str(raised.value) == f'{variable}: is not valid JSON; write a list in JSON, like ["a", "b"]'
    )


def test_thresholds_out_of_order_from_the_environment_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_PRESENCE__AWAY_AFTER_S", "900")
    with pytest.raises(
        ConfigError, match=r"^DESKCTL_PRESENCE__AWAY_AFTER_S: presence: break_after_s"
    ):
        load(tmp_path, "")
