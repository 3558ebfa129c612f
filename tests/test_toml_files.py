"""One TOML reader: a broken settings file and a broken profile get the same plain sentence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deskctl.config.profile_library import read_profile_file
from deskctl.config.settings import DEFAULT_MAX_MM, DEFAULT_MIN_MM, load_settings, select_desk
from deskctl.config.toml_files import MAX_BYTES
from deskctl.errors import ConfigError


def _folder(path: Path) -> None:
    path.mkdir()


BROKEN: list[tuple[str, Callable[[Path], object], str]] = [
    ("a folder", _folder, "cannot read the file: it is a folder"),
    (
        "not UTF-8",
        lambda p: p.write_bytes(b"sit = '\xff'\n"),
        "cannot read the file: it is not UTF-8",
    ),
    ("huge", lambda p: p.write_bytes(b"#" * (MAX_BYTES + 1)), "cannot read the file: it is larger"),
    ("bad TOML", lambda p: p.write_text("sit = [\n"), "is not valid TOML: "),
    (
        "too deep",
        lambda p: p.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n"),
        "nests too deeply",
    ),
]


@pytest.mark.parametrize(
    ("make", "reason"), [(m, r) for _, m, r in BROKEN], ids=[i for i, _, _ in BROKEN]
)
@pytest.mark.parametrize("read", [load_settings, read_profile_file], ids=["settings", "profile"])
def test_a_broken_file_is_one_sentence_naming_it(
    tmp_path: Path, make: Callable[[Path], object], reason: str, read: Callable[[Path], object]
) -> None:
    path = tmp_path / "file.toml"
    make(path)
    with pytest.raises(ConfigError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert reason in message
    assert "\n" not in message


def test_no_settings_file_means_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKCTL_CONFIG", str(tmp_path / "nothing-here.toml"))
    settings = load_settings()
    assert settings.desks == {}
    _, desk = select_desk(settings, None, simulate=True)
    assert (desk.min_mm, desk.max_mm) == (DEFAULT_MIN_MM, DEFAULT_MAX_MM) == (620, 1270)
