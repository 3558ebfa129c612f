"""The profiles on disk, and which one each desk uses.

Design: shipped profiles are the `deskctl/profiles/*.toml` files inside the package (read through
`toml_files.shipped`, so they work from a wheel); a person's own are `config_dir()/profiles/*.toml`.
A profile's name is its file's stem, so a user file `default.toml` shadows the shipped `default`.
Each file is read by `deskctl.config.toml_files.read_toml` and parsed by
`deskctl.core.profile.parse_profile`; broken files raise `ConfigError` naming the file, the field
and the problem, but only when that profile is loaded or validated (one broken file does not hide
the others from `deskctl profile list`).

The choice made with `deskctl profile use NAME` is remembered per desk in
`state_dir()/profile.json` (`{"desk": "default", ...}`), written atomically. The active profile
of a desk is the remembered one, else the one its settings name, else `default`; the service
(`service_profile`) falls back to the latter two with a warning when the remembered one is gone
or broken, since a desk controller must start.

`set_heights` (`deskctl profile set sit|stand`) changes a profile's heights where a person's own
profiles live: a user profile's file is edited in place (only its `sit =` or `stand =` line,
comments and all else kept); a shipped profile is first copied to `config_dir()/profiles/`, so
`profile show` names the file that holds the heights, and the shipped files are never written.
Heights are checked against the desk's limits and sit below stand before anything is written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from deskctl.config import paths
from deskctl.config.files import write_file
from deskctl.config.toml_files import read_toml, shipped
from deskctl.core.profile import Profile, parse_profile
from deskctl.core.units import check_limits, format_height
from deskctl.errors import ConfigError, HeightError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from importlib.resources.abc import Traversable

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
    "set_heights",
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
    for entry in shipped("profiles").iterdir():
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


def _read(
    source: str, entry: Traversable, name: str, presets: Mapping[str, int] | None = None
) -> Profile:
    data = read_toml(source, entry)
    return parse_profile(data, name=name, source=source, presets=presets)


def load_profile(
    name: str, user_dir: Path | None = None, presets: Mapping[str, int] | None = None
) -> Profile:
    """The profile called `name`; an unknown name is a `ConfigError` listing the known ones.
    `presets` are those of the desk it is for: its sit and stand may name one of them."""
    known = find_profiles(user_dir)
    if name not in known:
        raise ConfigError(f"there is no profile {name!r}; the known ones are {', '.join(known)}")
    found = known[name]
    return _read(found.source, found.entry, name, presets)


def _read_state() -> dict[str, str]:
    import json  # here: the commands that only read a profile start faster without it

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


def remember_profile(name: str, desk: str, presets: Mapping[str, int] | None = None) -> Profile:
    """Check that the profile loads (for this desk, with its `presets`), then remember it for
    this desk; returns it."""
    profile = load_profile(name, presets=presets)
    state = _read_state()
    state[desk] = name
    import json

    text = json.dumps(state, indent=2, sort_keys=True) + "\n"
    write_file(state_file(), text, what="the chosen profile")
    return profile


def active_profile_name(desk: str, configured: str | None = None) -> str:
    """The remembered profile, else the one the desk's settings name, else `default`."""
    return remembered_profile(desk) or configured or DEFAULT_PROFILE


def active_profile(
    desk: str, configured: str | None = None, presets: Mapping[str, int] | None = None
) -> Profile:
    """The desk's active profile, loaded (see `active_profile_name`) with the desk's presets."""
    return load_profile(active_profile_name(desk, configured), presets=presets)


def service_profile(
    desk: str, configured: str | None = None, presets: Mapping[str, int] | None = None
) -> Profile:
    """The desk's active profile for the service, which must start: a remembered profile that
    is gone or broken (or a broken remembered-profiles file) is logged once as a warning and the
    configured one (else `default`) is used instead."""
    fallback = configured or DEFAULT_PROFILE
    try:
        remembered = remembered_profile(desk)
        if remembered is not None:
            return load_profile(remembered, presets=presets)
    except ConfigError as exc:
        import logging

        logging.getLogger("deskctl.service").warning(
            "%s: the remembered profile cannot be used (%s); using %r", desk, exc, fallback
        )
    return load_profile(fallback, presets=presets)


def _height_value(height_mm: int) -> str:
    """A height as a profile file writes it: `"108cm"`, `"108.5cm"`."""
    return f'"{height_mm / 10:g}cm"'


def _with_height(text: str, key: str, height_mm: int, source: str) -> str:
    """`text` with its top-level `key = ...` line set to `height_mm`, all else kept."""
    line_re = re.compile(
        rf"""^(\s*(?:{key}|"{key}"|'{key}')\s*=\s*)("[^"\n]*"|'[^'\n]*'|[0-9.]+)(.*)$"""
    )
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.lstrip().startswith("["):
            break  # a table begins: top-level keys come before it
        match = line_re.match(line)
        if match is not None:
            lines[index] = f"{match[1]}{_height_value(height_mm)}{match[3]}"
            if line.endswith("\n") and not lines[index].endswith("\n"):
                lines[index] += "\n"
            return "".join(lines)
    raise ConfigError(f"{source}: no `{key} = ...` line to change; edit the file by hand")


def set_heights(
    name: str,
    *,
    sit_mm: int | None = None,
    stand_mm: int | None = None,
    min_mm: int,
    max_mm: int,
) -> tuple[Profile, Path]:
    """Set profile `name`'s sit and/or stand height, in the person's own file; returns the
    profile as now saved and the file that holds it.

    Checks first, writes after: each height within `min_mm`..`max_mm` (HeightError), sit below
    stand (HeightError), and the edited file must read back as the same profile with the new
    heights (else ConfigError, nothing written). A shipped profile becomes a copy in
    `user_profile_dir()`, which from then on replaces it.
    """
    known = find_profiles()
    if name not in known:
        raise ConfigError(f"there is no profile {name!r}; the known ones are {', '.join(known)}")
    found = known[name]
    current = _read(found.source, found.entry, name)
    new_sit = current.sit_mm if sit_mm is None else sit_mm
    new_stand = current.stand_mm if stand_mm is None else stand_mm
    for posture, height_mm in (("sit", sit_mm), ("stand", stand_mm)):
        if height_mm is None:
            continue
        try:  # the desk's limits, checked as for every move
            check_limits(height_mm, min_mm, max_mm)
        except HeightError as exc:
            raise HeightError(f"a {posture} height of {exc}") from None
    if new_sit >= new_stand:
        changed = "sit" if sit_mm is not None else "stand"
        raise HeightError(
            f"the sit height ({format_height(new_sit)}) must be below the stand height "
            f"({format_height(new_stand)}) of profile {name!r}; "
            + ("lower the sit height" if changed == "sit" else "raise the stand height")
        )
    text = found.entry.read_text(encoding="utf-8")
    if found.origin == "shipped":
        text = (
            f"# Your copy of deskctl's profile {name!r}, made by `deskctl profile set`; it\n"
            f"# replaces the shipped one. Remove this file to go back to the shipped profile.\n"
            + text
        )
    target = (
        user_profile_dir() / f"{name}.toml" if found.origin == "shipped" else Path(found.source)
    )
    if sit_mm is not None:
        text = _with_height(text, "sit", sit_mm, found.source)
    if stand_mm is not None:
        text = _with_height(text, "stand", stand_mm, found.source)
    try:
        profile = parse_profile(tomllib.loads(text), name=name, source=str(target))
    except tomllib.TOMLDecodeError:
        profile = None
    expected = replace(current, sit_mm=new_sit, stand_mm=new_stand)
    if profile != expected:
        raise ConfigError(
            f"{found.source}: the heights could not be changed safely; edit it by hand"
        )
    write_file(target, text, what=f"profile {name!r}", mode=0o644)
    return expected, target
