"""The cue library on disk: the cues shipped in the package plus the user's own.

Design: shipped cues are the `deskctl/cues/*.toml` files inside the package (read through
`toml_files.shipped`, so they work from a wheel); the user's are `config_dir()/cues/*.toml`.
Each file is read by `config.toml_files.read_toml` and parsed by `deskctl.core.cues.parse_cues`.
A user cue with the id of a shipped one replaces it in place; new user cues follow the shipped
ones. The same id twice among the shipped files, or twice among the user's files, is a
`ConfigError` naming both files. Files are read in name order, so the library's order (and with
it every seeded pick) is stable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from deskctl.config import paths
from deskctl.config.toml_files import read_toml, shipped
from deskctl.core.cues import Cue, parse_cues
from deskctl.errors import ConfigError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["load_cues", "shipped_cues", "user_cue_dir"]


def user_cue_dir() -> Path:
    """The folder where a person's own cue files go."""
    return paths.config_dir() / "cues"


def shipped_cues() -> list[Cue]:
    """The cues that come with deskctl."""
    folder = shipped("cues")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    return _read_all([(f"deskctl/cues/{entry.name}", entry) for entry in entries])


def load_cues(user_dir: Path | None = None) -> list[Cue]:
    """Shipped cues, with the user's cues (default `user_cue_dir()`) replacing or adding to them."""
    folder = user_cue_dir() if user_dir is None else user_dir
    library = {cue.id: cue for cue in shipped_cues()}
    if folder.is_dir():
        own = _read_all([(str(path), path) for path in sorted(folder.glob("*.toml"))])
        for cue in own:
            library[cue.id] = cue
    return list(library.values())


def _read_all(entries: list[tuple[str, Traversable]]) -> list[Cue]:
    """Every cue of these files; an id defined in two of them is an error naming both."""
    cues: list[Cue] = []
    defined_in: dict[str, str] = {}
    for source, entry in entries:
        for cue in _read_one(source, entry):
            if cue.id in defined_in:
                raise ConfigError(
                    f"the cue {cue.id!r} is defined in both {defined_in[cue.id]} and {source}"
                )
            defined_in[cue.id] = source
            cues.append(cue)
    return cues


def _read_one(source: str, entry: Traversable) -> list[Cue]:
    return parse_cues(read_toml(source, entry), source)
