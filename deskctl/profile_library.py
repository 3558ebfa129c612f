"""The profiles on disk, and which one each desk uses.

Design: shipped profiles are the `deskctl/profiles/*.toml` files inside the package (read through
importlib.resources, so they work from a wheel); a person's own are `config_dir()/profiles/*.toml`.
A profile's name is its file's stem, so a user file `default.toml` shadows the shipped `default`.
Each file is read by `deskctl.toml_files.read_toml` and parsed by
`deskctl.core.profile.parse_profile`; broken files raise `ConfigError` naming the file, the field
and the problem, but only when that profile is loaded or validated (one broken file does not hide
the others from `deskctl profile list`).

The choice made with `deskctl profile use NAME` is remembered per desk in
`state_dir()/profile.json` (`{"desk": "default", ...}`), written atomically. The active profile
of a desk is the remembered one, else the one its settings name, else `default`; the service
(`service_profile`) falls back to the latter two with a warning when the remembered one is gone
or broken, since a desk controller must start.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

from deskctl import paths
from deskctl.core.profile import Profile, parse_profile
from deskctl.errors import ConfigError
from deskctl.files import write_file
from deskctl.toml_files import read_toml

__all__ = [
    "DEFAULT_PROFILE",
    "ProfileFile",
    "active_profile",
    "active_profile_name",
    "find_profiles",
    "load_profile",
    "read_profile_file",
    "remember_profile",
    "remembered_profile",
    "service_profile",
    "state_file",
    "user_profile_dir",
]

DEFAULT_PROFILE = "default"


@dataclass(frozen=True, slots=True)
class ProfileFile:
    """Where a profile lives: its name, a path to show, and whether it came with deskctl."""

    name: str
    source: str
    origin: Literal["shipped", "user"]
    entry: Traversable
    shadows_shipped: bool = False


def user_profile_dir() -> Path:
    """The folder where a person's own profile files go."""
    return paths.config_dir() / "profiles"


def state_file() -> Path:
    """The file that remembers each desk's chosen profile."""
    return paths.state_dir() / "profile.json"


def find_profiles(user_dir: Path | None = None) -> dict[str, ProfileFile]:
    """Every profile by name, sorted; a user's file replaces the shipped one of the same name."""
    found: dict[str, ProfileFile] = {}
    for entry in (files("deskctl") / "profiles").iterdir():
        if entry.name.endswith(".toml"):
            name = entry.name.removesuffix(".toml")
            found[name] = ProfileFile(name, f"deskctl/profiles/{entry.name}", "shipped", entry)
    folder = user_profile_dir() if user_dir is None else user_dir
    if folder.is_dir():
        for path in folder.glob("*.toml"):
            name = path.stem
            found[name] = ProfileFile(name, str(path), "user", path, name in found)
    return dict(sorted(found.items()))


def read_profile_file(path: Path) -> Profile:
    """Read and validate one profile file anywhere (`deskctl profile validate`)."""
    return _read(str(path), path, path.stem)


def _read(source: str, entry: Traversable, name: str) -> Profile:
    return parse_profile(read_toml(source, entry), name=name, source=source)


def load_profile(name: str, user_dir: Path | None = None) -> Profile:
    """The profile called `name`; an unknown name is a `ConfigError` listing the known ones."""
    known = find_profiles(user_dir)
    if name not in known:
        raise ConfigError(f"there is no profile {name!r}; the known ones are {', '.join(known)}")
    found = known[name]
    return _read(found.source, found.entry, name)


def _read_state() -> dict[str, str]:
    path = state_file()
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ConfigError(
            f"{path}: not the remembered profiles deskctl writes; delete it and run "
            "`deskctl profile use NAME` again"
        )
    return data


def remembered_profile(desk: str) -> str | None:
    """The profile last chosen with `deskctl profile use` for this desk, if any."""
    return _read_state().get(desk)


def remember_profile(name: str, desk: str) -> Profile:
    """Check that the profile loads, then remember it for this desk; returns it."""
    profile = load_profile(name)
    state = _read_state()
    state[desk] = name
    text = json.dumps(state, indent=2, sort_keys=True) + "\n"
    write_file(state_file(), text, what="the chosen profile")
    return profile


def active_profile_name(desk: str, configured: str | None = None) -> str:
    """The remembered profile, else the one the desk's settings name, else `default`."""
    return remembered_profile(desk) or configured or DEFAULT_PROFILE


def active_profile(desk: str, configured: str | None = None) -> Profile:
    """The desk's active profile, loaded (see `active_profile_name`)."""
    return load_profile(active_profile_name(desk, configured))


def service_profile(desk: str, configured: str | None = None) -> Profile:
    """The desk's active profile for the service, which must start: a remembered profile that
    is gone or broken (or a broken remembered-profiles file) is logged once as a warning and the
    configured one (else `default`) is used instead."""
    fallback = configured or DEFAULT_PROFILE
    try:
        remembered = remembered_profile(desk)
        if remembered is not None:
            return load_profile(remembered)
    except ConfigError as exc:
        logging.getLogger("deskctl.service").warning(
            "%s: the remembered profile cannot be used (%s); using %r", desk, exc, fallback
        )
    return load_profile(fallback)
