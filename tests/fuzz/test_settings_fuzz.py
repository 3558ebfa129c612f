"""Settings from any file and any environment: `Settings`, or one `ConfigError` sentence.

The files are generated documents with the sections a settings file has (desks, mqtt, notify,
presence),
their keys given good values, near-misses or any TOML type; cut-short documents; and bytes. The
environment fuzz sets one `DESKCTL_…` variable to any text. `load_settings` may only answer with
`Settings` or a `ConfigError` that names where the problem came from, on one line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deskctl.config.settings import Settings, load_settings
from deskctl.errors import ConfigError
from tests.faults.tally import counter
from tests.fuzz.strategies import TOML_VALUES, toml_text

TALLY = counter(__name__)

MM = st.one_of(st.integers(-10, 2100), st.sampled_from([650, 1250, 620, 1270]))
DESK: dict[str, st.SearchStrategy[Any]] = {
    "link": st.sampled_from(["sim", "ble", "mqtt", "bluetooth"]),
    "sim": st.sampled_from(["model", "ble", "real"]),
    "address": st.sampled_from(["AA:BB:CC:DD:EE:FF", "", "nope"]),
    "min_mm": MM,
    "max_mm": MM,
    "calibration_mm": st.integers(-300, 300),
    "profile": st.sampled_from(["default", "tall", ""]),
    "connect_timeout_s": st.floats(-1, 400),
    "pair": st.booleans(),
    "mqtt": st.fixed_dictionaries(
        {"preset": st.sampled_from(["upsy", "cover", "custom", "other"])},
        optional={
            "prefix": st.text(max_size=12),
            "cover_min_mm": MM,
            "cover_max_mm": MM,
            "state_topic": st.text(max_size=12),
            "command_topic": st.text(max_size=12),
            "stop_payload": st.text(max_size=6),
            "unit": st.sampled_from(["in", "cm", "mm", "ft"]),
            "decimals": st.integers(-1, 6),
            "tolerance_mm": st.integers(0, 60),
            "move_timeout_s": st.floats(-1, 700),
        },
    ),
}
MQTT: dict[str, st.SearchStrategy[Any]] = {
    "host": st.text(max_size=20),
    "port": st.integers(-1, 70000),
    "tls": st.booleans(),
    "tls_insecure": st.one_of(st.booleans(), st.sampled_from(["yes", "maybe", ""])),
    "ca_file": st.text(max_size=20),
    "username": st.text(max_size=10),
    "password": st.one_of(st.text(max_size=10), st.integers()),
    "base_topic": st.text(max_size=10),
    "discovery_prefix": st.text(max_size=10),
}
NOTIFY: dict[str, st.SearchStrategy[Any]] = {
    "terminal": st.booleans(),
    "desktop": st.booleans(),
    "mqtt": st.booleans(),
    "command": st.one_of(
        st.lists(st.text(max_size=10), max_size=3), st.just("notify-send hi; rm -rf ~")
    ),
}
PRESENCE: dict[str, st.SearchStrategy[Any]] = {
    "sources": st.lists(
        st.sampled_from(["mutter", "screensaver", "logind", "kde", ""]), max_size=4
    ),
    "away_after_s": st.one_of(st.floats(-10, 5000), st.sampled_from([30, 300, 3600])),
    "break_after_s": st.one_of(st.floats(-10, 20000), st.sampled_from([30, 600, 14400])),
}


@st.composite
def section(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> Any:
    if draw(st.integers(0, 19)) == 0:
        return draw(TOML_VALUES)
    table: dict[str, Any] = {}
    for key, values in fields.items():
        roll = draw(st.integers(0, 9))
        if roll < 4:
            table[key] = draw(values)
        elif roll == 4:
            table[key] = draw(TOML_VALUES)
    if draw(st.integers(0, 19)) == 0:
        table[draw(st.text(min_size=1, max_size=8))] = draw(TOML_VALUES)
    return table


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        names = draw(st.lists(st.text(min_size=1, max_size=10), max_size=3, unique=True))
        document["desks"] = {name: draw(section(DESK)) for name in names}
    if draw(st.booleans()):
        document["mqtt"] = draw(section(MQTT))
    if draw(st.booleans()):
        document["notify"] = draw(section(NOTIFY))
    if draw(st.booleans()):
        document["presence"] = draw(section(PRESENCE))
    if draw(st.integers(0, 9)) == 0:
        document[draw(st.text(min_size=1, max_size=8))] = draw(TOML_VALUES)
    return document


def _load(path: Path | None) -> Settings | ConfigError:
    try:
        return load_settings(path)
    except ConfigError as error:
        return error


def _check(result: Settings | ConfigError, origin: str) -> None:
    if isinstance(result, ConfigError):
        message = str(result)
        assert message.startswith(origin), message
        assert message.isprintable(), "one line, nothing that moves the cursor"
        assert "Traceback" not in message
        return
    for name, desk in result.desks.items():
        assert desk.min_mm < desk.max_mm, name
    if result.notify.command:
        assert isinstance(result.notify.command, list), "a hook is argv, never one shell line"
    presence = result.presence
    assert 30 <= presence.away_after_s <= presence.break_after_s, presence
    assert len(set(presence.sources)) == len(presence.sources), presence.sources


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("settings")


@settings(max_examples=300, deadline=None)
@given(
    content=st.one_of(
        documents().map(lambda d: toml_text(d).encode()),
        documents().map(lambda d: toml_text(d).encode()[:-5]),
        st.binary(max_size=200),
    )
)
@example(content=b"[desks]\noffice = " + b"[" * 5000 + b"]" * 5000)
@example(content=b"[mqtt]\nport = " + b"1" * 5000)
@example(content=b'[notify]\ncommand = "notify-send hi; touch /tmp/pwned"\n')
def test_any_settings_file_loads_or_is_one_sentence_naming_it(folder: Path, content: bytes) -> None:
    TALLY.tried()
    path = folder / "settings.toml"
    path.write_bytes(content)
    _check(_load(path), str(path))


VARIABLES = [
    "DESKCTL_DESKS",
    "DESKCTL_MQTT",
    "DESKCTL_NOTIFY",
    "DESKCTL_MQTT__PORT",
    "DESKCTL_MQTT__TLS_INSECURE",
    "DESKCTL_DESKS__OFFICE__MAX_MM",
    "DESKCTL_DESKS__OFFICE",
    "DESKCTL_NOTIFY__COMMAND",
    "DESKCTL_PRESENCE__SOURCES",
    "DESKCTL_PRESENCE__AWAY_AFTER_S",
]


@contextlib.contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(VARIABLES),
    value=st.one_of(
        st.text(max_size=40).filter(lambda t: "\x00" not in t),
        st.sampled_from(['{"office": {"link": "sim"}}', "[1,2", '{"a": ', "1e999", "true", "{}"]),
    ),
)
@example(name="DESKCTL_DESKS", value="[1,2")
def test_any_environment_value_loads_or_is_one_sentence_naming_the_variable(
    folder: Path, name: str, value: str
) -> None:
    TALLY.tried()
    path = folder / "empty.toml"
    path.write_text("")
    with environment(name, value):
        result = _load(path)
    if isinstance(result, ConfigError):
        assert str(result).split(":")[0] in (*VARIABLES, str(path)), str(result)
    _check(result, "" if isinstance(result, Settings) else str(result).split(":")[0])
