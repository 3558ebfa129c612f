"""Settings: one TOML file, overridden by `DESKCTL_…` environment variables, then by CLI flags.

Design: `Settings` is a pydantic-settings model. `load_settings(path)` reads the file named (or
`config_dir()/settings.toml`), lets the environment override it (nested keys joined by `__`, e.g.
`DESKCTL_MQTT__HOST`, `DESKCTL_DESKS__OFFICE__MAX_MM`), then the keyword overrides the CLI passes.
Any problem becomes one `ConfigError` sentence naming where it came from (the file or the variable),
the field and what is wrong. With no file at all the defaults stand, so `--simulate` always works.
"""

from __future__ import annotations

import binascii
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from deskctl.config import paths
from deskctl.config.desk_choice import (
    DEFAULT_DESK,
    SETTINGS_ENV_PREFIX,
    desk_name_problem,
    shown_key,
    unconfigured_desk,
)
from deskctl.config.files import shown_path
from deskctl.config.toml_files import read_toml
from deskctl.core.bridge_recipes import RECIPES, recipe_defaults
from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM
from deskctl.core.presets import parse_presets
from deskctl.core.steps import DEFAULT_GOAL, MAX_GOAL
from deskctl.core.units import parse_height_mm
from deskctl.errors import ConfigError, HeightError, InputError

__all__ = [
    "DEFAULT_DESK",
    "DEFAULT_MAX_MM",
    "DEFAULT_MIN_MM",
    "CalendarSettings",
    "DeskSettings",
    "MqttButton",
    "MqttDeskSettings",
    "MqttSettings",
    "NotifySettings",
    "PresenceSettings",
    "Settings",
    "StepsSettings",
    "desk_name_problem",
    "load_settings",
    "select_desk",
    "settings_path",
    "sim_choice",
]

# The soft limits a desk gets when its settings name none: the whole travel of a LINAK desk. Set
# `min_mm`/`max_mm` to keep a desk clear of a drawer or a window sill.
DEFAULT_MIN_MM, DEFAULT_MAX_MM = DEFAULT_BASE_MM, DEFAULT_TOP_MM
_ENV_PREFIX = SETTINGS_ENV_PREFIX


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _plain_topic(value: str | None) -> str | None:
    """A topic (or a part of one) that names exactly one topic: no MQTT wildcard, no NUL."""
    if value is not None:
        if "+" in value or "#" in value:
            raise ValueError(
                "must not hold + or #: they are MQTT wildcards, and a desk's topics name one "
                "topic each"
            )
        if "\x00" in value:
            raise ValueError("must not hold a NUL character")
    return value


_UNITS = Literal["in", "cm", "mm", "%"]
_PRESETS = Literal["upsy", "cover", "custom", "autonomous", "loctek", "jiecang-uart", "micropython"]


class MqttButton(_Strict):
    """A command a bridge takes: `payload` on `topic` (an ESPHome button takes `PRESS`)."""

    topic: str = Field(min_length=1)
    payload: str = Field("PRESS", min_length=1)

    _plain_topics = field_validator("topic")(_plain_topic)


class MqttDeskSettings(_Strict):
    """A desk bridge on the `[mqtt]` broker: its topics, payloads, units and landing.

    `preset = "upsy"` (Upsy Desky): `<prefix>/sensor/desk_height/state` and
    `<prefix>/number/target_desk_height/command`, in inches unless `unit` says otherwise.
    `preset = "cover"` (an ESPHome cover): `<prefix>/cover/<cover_id>/position/state` and
    `.../position/command` as 0..100 between `cover_min_mm` and `cover_max_mm`, STOP on
    `.../command`. The named recipes (`autonomous`, `loctek`, `jiecang-uart`, `micropython`;
    `core/bridge_recipes.py`) fill in the keys of a common bridge. `preset = "custom"` describes
    any bridge: `state_topic` is required, and a way to move (`command_topic`, `up` and `down`,
    or `memory` with `memory_heights`). Any key given here overrides the preset's. Availability
    is `<prefix>/status` (`online`/`offline`) for ESPHome nodes, or `availability_topic`.
    """

    preset: _PRESETS = "upsy"
    prefix: str | None = Field(None, min_length=1, description="the ESPHome node name")
    cover_id: str = Field("desk", min_length=1)
    state_topic: str | None = Field(None, min_length=1)
    command_topic: str | None = Field(None, min_length=1)
    availability_topic: str | None = Field(None, min_length=1)
    online_payload: str = Field("online", min_length=1)
    offline_payload: str = Field("offline", min_length=1)
    stop_topic: str | None = Field(None, min_length=1)
    stop_payload: str | None = None
    unit: _UNITS | None = None
    command_unit: _UNITS | None = None
    decimals: int | None = Field(None, ge=0, le=4)
    json_key: str | None = Field(None, min_length=1)
    cover_min_mm: int | None = Field(None, ge=0, le=2000)
    cover_max_mm: int | None = Field(None, ge=0, le=2000)
    scale: float = Field(1.0, gt=0, le=100)
    offset_mm: float = Field(0.0, ge=-1000, le=1000)
    moving_topic: str | None = Field(None, min_length=1)
    moving_payloads: list[str] = Field(default_factory=list)
    stopped_payloads: list[str] = Field(default_factory=list)
    up: MqttButton | None = None
    down: MqttButton | None = None
    step_repeat_s: float | None = Field(None, gt=0, le=5)
    step_mm: float = Field(10.0, gt=0, le=100)
    memory: list[MqttButton] = Field(default_factory=list, max_length=4)
    memory_heights: dict[int, str | int | float] = Field(default_factory=dict)
    wake: MqttButton | None = None
    tolerance_mm: int | None = Field(None, ge=1, le=50)
    stop_lead_mm: int = Field(5, ge=0, le=100)
    move_timeout_s: float = Field(60.0, gt=0, le=600)

    _plain_topics = field_validator(
        "prefix",
        "cover_id",
        "state_topic",
        "command_topic",
        "availability_topic",
        "stop_topic",
        "moving_topic",
    )(_plain_topic)

    @model_validator(mode="before")
    @classmethod
    def _recipe(cls, data: Any) -> Any:
        """A named recipe's keys, where the person wrote none."""
        if not isinstance(data, dict):
            return data
        prefix = data.get("prefix")
        defaults = recipe_defaults(
            str(data.get("preset", "")), prefix if isinstance(prefix, str) else None
        )
        return defaults | data

    @model_validator(mode="after")
    def _complete(self) -> MqttDeskSettings:
        if self.preset == "custom" or self.preset in RECIPES:
            self._complete_description()
        elif self.prefix is None and not (self.state_topic and self.command_topic):
            raise ValueError(
                f"preset {self.preset!r} needs the desk's prefix (its ESPHome node name, "
                "like upsy-desky-a1b2c3)"
            )
        if self.preset == "cover" or self.unit == "%" or self.command_unit == "%":
            if self.cover_min_mm is None or self.cover_max_mm is None:
                what = "preset 'cover'" if self.preset == "cover" else "unit '%'"
                raise ValueError(
                    f"{what} needs cover_min_mm and cover_max_mm "
                    "(the heights at position 0 and 100)"
                )
            if self.cover_min_mm >= self.cover_max_mm:
                raise ValueError(
                    f"cover_min_mm ({self.cover_min_mm}) must be below "
                    f"cover_max_mm ({self.cover_max_mm})"
                )
        if self.stop_payload is not None and self.stop_topic is None and self.preset != "cover":
            raise ValueError("stop_payload needs a stop_topic to send it to")
        if bool(self.moving_payloads or self.stopped_payloads) and self.moving_topic is None:
            raise ValueError("moving_payloads and stopped_payloads need a moving_topic")
        if self.memory_heights and self.stop_topic is None and self.command_topic is None:
            raise ValueError(
                "memory_heights needs a stop_topic: a memory recall runs by itself, and one "
                "that cannot be stopped is never sent"
            )
        for slot in self.memory_heights:
            if not 1 <= slot <= len(self.memory):
                raise ValueError(
                    f"memory_heights names slot {slot}, but memory lists "
                    f"{len(self.memory)} recall command(s)"
                )
        return self

    def _complete_description(self) -> None:
        """A described bridge (custom or a recipe): height feedback, and a safe way to move."""
        if self.preset == "micropython" and self.prefix is None and self.state_topic is None:
            raise ValueError("preset 'micropython' needs the bridge's prefix (its topic base)")
        if self.preset in RECIPES and self.prefix is None and self.preset != "micropython":
            raise ValueError(
                f"preset {self.preset!r} needs the desk's prefix (its ESPHome node name)"
            )
        if not self.state_topic:
            raise ValueError(
                "state_topic is missing: a bridge with no height feedback (a relay-only bridge) "
                "is not supported, since no closed-loop move is safe without it"
            )
        if (self.up is None) != (self.down is None):
            raise ValueError("up and down go together: give both step commands, or neither")
        stepped = self.up is not None and self.command_topic is None
        if stepped and self.stop_topic is None and self.step_repeat_s is None:
            raise ValueError(
                "up and down without a stop_topic need step_repeat_s: a box that keeps moving "
                "after one press must be told to stop"
            )
        if self.command_topic is None and self.up is None and not self.memory_heights:
            raise ValueError(
                "the desk has no way to move: give command_topic (a move-to), up and down "
                "(step commands), or memory with memory_heights"
            )

    @field_validator("memory_heights")
    @classmethod
    def _heights(cls, value: dict[int, str | int | float]) -> dict[int, str | int | float]:
        for slot, height in value.items():
            _memory_mm(slot, height)
        return value

    @property
    def memory_heights_mm(self) -> dict[int, int]:
        """The heights the memory slots hold, as slot -> mm (bounds: the desk's settings)."""
        return {slot: _memory_mm(slot, height) for slot, height in self.memory_heights.items()}


def _memory_mm(slot: int, height: str | int | float) -> int:
    """A memory slot's height as written (a bare number is cm) → mm; ValueError naming it."""
    if isinstance(height, bool):
        raise ValueError(f'slot {slot} must be a height like "72cm"')
    try:
        return height * 10 if isinstance(height, int) else parse_height_mm(str(height))
    except HeightError as exc:
        raise ValueError(f"slot {slot}: {exc}") from None


_SIM_KINDS = ("model", "ble", "jiecang", "proxy")
_SIM_VARIANTS = ("FE60", "FF12", "FF00", "00FF")


def sim_choice(text: str) -> dict[str, str]:
    """`--sim`'s word as desk settings: model, ble, jiecang, or jiecang:VARIANT (FE60, FF12,
    FF00, 00FF: the emulated adapter's GATT layout); InputError in one sentence otherwise."""
    kind, _, variant = text.partition(":")
    choice = {"sim": kind.lower()}
    if variant and kind.lower() == "jiecang" and variant.upper() in _SIM_VARIANTS:
        choice["sim_variant"] = variant.upper()
    elif variant or choice["sim"] not in _SIM_KINDS:
        raise InputError(
            "--sim takes 'model', 'ble', 'jiecang' (or jiecang:FE60, jiecang:FF12, "
            "jiecang:FF00, jiecang:00FF for the adapter's layout) or 'proxy', "
            f"not {text!r}"
        )
    return choice


_PROXY_KEY_BYTES = 32


class ProxySettings(_Strict):
    """An ESPHome Bluetooth proxy between this computer and a BLE desk (`[desks.NAME.proxy]`):
    its host, its native API port, and its API encryption key (`api: encryption: key` in its
    ESPHome configuration; leave it out for a proxy without encryption). `address_type` is the
    desk's ("public" or "random"), needed only when the proxy's scan is Home Assistant's."""

    host: str = Field(min_length=1)
    port: int = Field(6053, ge=1, le=65535)
    key: SecretStr | None = None
    address_type: Literal["public", "random"] | None = None

    @field_validator("key")
    @classmethod
    def _is_a_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        try:
            raw = binascii.a2b_base64(value.get_secret_value().strip(), strict_mode=True)
        except ValueError:
            raw = b""
        if len(raw) != _PROXY_KEY_BYTES:
            raise ValueError(
                "is not an ESPHome API encryption key: copy the proxy's api: encryption: key, "
                "the base64 text of 32 bytes (44 characters ending in =)"
            )
        return value


class DeskSettings(_Strict):
    """One desk: how to reach it and how far it may move."""

    link: Literal["ble", "mqtt", "sim"] = "sim"
    sim: Literal["model", "ble", "jiecang", "proxy"] = "model"
    # --sim jiecang: the emulated adapter's GATT variant
    sim_variant: Literal["FE60", "FF12", "FF00", "00FF"] = "FE60"
    address: str | None = None
    # link = "ble": which protocol the desk speaks; "auto" reads it from the desk on connect
    protocol: Literal["auto", "linak", "jiecang"] = "auto"
    display_unit: Literal["cm", "in"] | None = None  # a Jiecang desk's display, when it won't say
    min_mm: int = Field(DEFAULT_MIN_MM, ge=0, le=2000)
    max_mm: int = Field(DEFAULT_MAX_MM, ge=0, le=2000)
    calibration_mm: int = Field(0, ge=-200, le=200)
    profile: str | None = None
    connect_timeout_s: float = Field(20.0, gt=0, le=300)
    pair: bool = False
    mqtt: MqttDeskSettings | None = None
    # link = "ble" through an ESPHome Bluetooth proxy instead of this computer's adapter
    proxy: ProxySettings | None = None
    # named heights, as written (`[desks.office.presets] focus = "105cm"`); `preset_heights`
    presets: dict[str, str | int | float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _limits_in_order(self) -> DeskSettings:
        if self.min_mm >= self.max_mm:
            raise ValueError(f"min_mm ({self.min_mm}) must be below max_mm ({self.max_mm})")
        parse_presets(self.presets, self.min_mm, self.max_mm)  # one sentence if one is wrong
        if self.link == "ble" and not self.address:
            raise ValueError("a desk with link = 'ble' needs an address (see `deskctl scan`)")
        if self.mqtt is not None:
            for slot, height_mm in self.mqtt.memory_heights_mm.items():
                if not self.min_mm <= height_mm <= self.max_mm:
                    raise ValueError(
                        f"mqtt.memory_heights.{slot} ({height_mm} mm) lies outside the desk's "
                        f"limits of {self.min_mm}..{self.max_mm} mm"
                    )
        if self.proxy is not None and self.link != "ble":
            raise ValueError(
                f"a proxy table is for a desk with link = 'ble' (reached through the proxy), "
                f"not link = {self.link!r}"
            )
        if self.link == "mqtt" and self.mqtt is None:
            raise ValueError(
                "a desk with link = 'mqtt' needs an mqtt table with its preset and prefix "
                '(like [desks.NAME.mqtt] preset = "upsy", prefix = "upsy-desky-a1b2c3")'
            )
        return self

    @property
    def preset_heights(self) -> dict[str, int]:
        """The presets as name -> mm, in the order written (checked when the settings load)."""
        return parse_presets(self.presets, self.min_mm, self.max_mm)


_MQTT_MAX_BYTES = 65535
_MQTT_ROOT_MAX_BYTES = 1024
_MQTT_ROOTS = ("base_topic", "discovery_prefix")


class MqttSettings(_Strict):
    """The MQTT broker, for the Home Assistant bridge and MQTT desks."""

    host: str = "localhost"
    port: int = Field(1883, ge=1, le=65535)
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False
    username: str | None = None
    password: SecretStr | None = None
    client_id: str | None = None
    base_topic: str = Field("deskctl", min_length=1)
    bridge_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")  # None: host and user
    discovery_prefix: str = Field("homeassistant", min_length=1)

    @field_validator("username", "password", "client_id", "base_topic", "discovery_prefix")
    @classmethod
    def _fits_mqtt(
        cls, value: str | SecretStr | None, info: ValidationInfo
    ) -> str | SecretStr | None:
        """MQTT carries a user name, a password, a client id and a topic in at most 65,535
        bytes of UTF-8 (and all but the password without NUL); a longer one would fail inside
        the client at every connect. A topic root leaves room for the topics built on it."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None:
            return value
        size = len(text.encode("utf-8", "surrogatepass"))
        if info.field_name in _MQTT_ROOTS and size > _MQTT_ROOT_MAX_BYTES:
            raise ValueError(
                f"is {size:,} bytes long; a topic root may have at most "
                f"{_MQTT_ROOT_MAX_BYTES:,}, to leave room for the topics built on it"
            )
        if size > _MQTT_MAX_BYTES:
            raise ValueError(
                f"is {size:,} bytes long, and MQTT carries at most {_MQTT_MAX_BYTES:,}; "
                "use a shorter one"
            )
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("holds a NUL character, which MQTT does not allow")
        return value

    _plain_topics = field_validator("base_topic", "discovery_prefix")(_plain_topic)


class NotifySettings(_Strict):
    """Where cues and warnings go besides the log."""

    terminal: bool = True
    desktop: bool = False
    mqtt: bool = True
    command: list[str] = Field(default_factory=list)

    @field_validator("command")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        """An argv list the system can start: no word holds NUL (it failed at every cue)."""
        for index, word in enumerate(value):
            if "\x00" in word:
                raise ValueError(
                    f"word {index} holds a NUL character, which a command line cannot carry"
                )
        return value


PresenceSource = Literal["mutter", "screensaver", "logind", "x11", "wayland"]
_PRESENCE_SOURCES: tuple[PresenceSource, ...] = ("mutter", "screensaver", "logind")


class PresenceSettings(_Strict):
    """Is the person at the desk (docs/presence.md): the sources to ask, in order, and the two
    thresholds. An empty `sources` list turns presence off: the schedule runs on the clock."""

    sources: list[PresenceSource] = Field(default_factory=lambda: list(_PRESENCE_SOURCES))
    away_after_s: float = Field(300.0, ge=30, le=3600)
    break_after_s: float = Field(600.0, ge=30, le=4 * 3600)

    @field_validator("sources")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"names {twice[0]!r} more than once; name each source once")
        return value

    @model_validator(mode="after")
    def _break_after_away(self) -> PresenceSettings:
        if self.break_after_s < self.away_after_s:
            raise ValueError(
                f"break_after_s ({self.break_after_s:g}) must be at least away_after_s "
                f"({self.away_after_s:g}): a break is an away stretch, and idle time becomes "
                "away only after away_after_s"
            )
        return self


class CalendarSettings(_Strict):
    """Meetings hold the desk still (docs/meetings.md): the calendars to read (files or http(s)
    addresses of iCalendar documents), how often, and whether all-day events count."""

    sources: list[str] = Field(default_factory=list)
    refresh_s: float = Field(300.0, ge=30, le=24 * 3600)
    all_day: bool = False

    @field_validator("sources")
    @classmethod
    def _each_a_place(cls, value: list[str]) -> list[str]:
        for index, source in enumerate(value):
            text = source.strip()
            if not text or not text.isprintable():
                raise ValueError(f"source {index} is empty or holds control characters")
            scheme, sep, _rest = text.partition("://")
            if sep and scheme.lower() not in ("http", "https"):
                raise ValueError(
                    f"source {index} ({text[:60]!r}) is neither a file nor an http(s) address"
                )
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"names {twice[0]!r} more than once; name each calendar once")
        return [source.strip() for source in value]


class StepsSettings(_Strict):
    """Steps (docs/home-assistant.md): the daily goal a step count handed in over MQTT is shown
    against; 8,000, the low end of the source article's 8,000 to 12,000 a day."""

    goal: int = Field(DEFAULT_GOAL, ge=1000, le=MAX_GOAL)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=_ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    desks: dict[str, DeskSettings] = Field(default_factory=dict)
    mqtt: MqttSettings | None = None
    notify: NotifySettings = Field(default_factory=NotifySettings)
    presence: PresenceSettings = Field(default_factory=PresenceSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    steps: StepsSettings = Field(default_factory=StepsSettings)


class _FileSource(PydanticBaseSettingsSource):
    """The TOML file's contents, parsed by `load_settings`."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def settings_path() -> Path:
    """Where the settings file is: `DESKCTL_CONFIG` if set, else the user's config dir."""
    return paths.settings_file()


def _warn_if_exposed(path: Path, data: dict[str, Any]) -> None:
    """A settings file with a password should be the owner's alone; say so if it is not."""
    mqtt = data.get("mqtt")
    if not (isinstance(mqtt, dict) and mqtt.get("password")):
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        logging.getLogger("deskctl.config.settings").warning(
            "%s holds a password and others may read it; run: chmod 600 %s", path, path
        )


def _origin(loc: tuple[int | str, ...], path: Path) -> str:
    """Name the environment variable behind a field if one is set, else one set inside it (a
    table's own check, like `presence`'s thresholds, fails on the table), else the file."""
    parts = [str(p) for p in loc]
    for n in range(len(parts), 0, -1):
        name = _ENV_PREFIX + "__".join(parts[:n]).upper()
        if any(key.upper() == name for key in os.environ):
            return name
    if parts:
        inside = _ENV_PREFIX + "__".join(parts).upper() + "__"
        nested = sorted(key.upper() for key in os.environ if key.upper().startswith(inside))
        if nested:
            return nested[0]
    return str(path)


def _unparsed_nested(section: str) -> str | None:
    """The `SECTION__KEY` variable that broke a section's JSON, when the section's own variable
    is not set (`DESKCTL_PRESENCE__SOURCES=mutter`: a list is read as JSON); else None."""
    names = {key.upper(): key for key in os.environ}
    if section in names:
        return None
    for upper, key in sorted(names.items()):
        if upper.startswith(section + "__"):
            try:
                json.loads(os.environ[key])
            except ValueError:
                return key
    return None


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """The effective settings: the file, then `DESKCTL_…` variables, then `overrides`."""
    file = path or settings_path()
    if path is not None and not path.exists():
        raise ConfigError(f"{path}: no such settings file")
    data = read_toml(shown_path(file), file, missing_ok=True)
    _warn_if_exposed(file, data)

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _FileSource(settings_cls, data))

    try:
        settings = _FromFile(**overrides)
    except SettingsError as exc:  # an environment variable that should hold JSON does not
        found = re.search(r'field "(\w+)"', str(exc))
        if found is None:
            raise ConfigError("a DESKCTL_ environment variable is not valid JSON") from None
        variable = _ENV_PREFIX + found.group(1).upper()
        nested = _unparsed_nested(variable)
        if nested is not None:
            raise ConfigError(
                f'{nested}: is not valid JSON; write a list in JSON, like ["a", "b"]'
            ) from None
        raise ConfigError(
            f"{variable}: is not valid JSON; set one key at a time instead, like "
            f"{variable}__KEY=value"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        field = ".".join(shown_key(p) for p in loc) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "is not a known setting"
        raise ConfigError(f"{_origin(loc, file)}: {field}: {message}") from None
    for name in settings.desks:
        problem = desk_name_problem(name)
        if problem is not None:
            where = _origin(("desks", name), file)
            raise ConfigError(f"{where}: desks.{shown_key(name)}: {problem}")
    return settings


def select_desk(
    settings: Settings, name: str | None, *, simulate: bool = False
) -> tuple[str, DeskSettings]:
    """The desk a command is for: `name`, or the only one configured, or the simulated default."""
    if name is not None:
        if name in settings.desks:
            desk = settings.desks[name]
            return name, desk.model_copy(update={"link": "sim"}) if simulate else desk
        unconfigured_desk(name)  # a name that cannot name a desk is refused first
        if simulate:
            return name, DeskSettings()
        if not settings.desks:
            raise ConfigError(
                f"no desk named {name!r} is configured; add it to {settings_path()} "
                "or use --simulate"
            )
        known = ", ".join(sorted(settings.desks))
        raise ConfigError(f"no desk named {name!r} is configured; the desks are: {known}")
    if len(settings.desks) == 1:
        only, desk = next(iter(settings.desks.items()))
        return only, desk.model_copy(update={"link": "sim"}) if simulate else desk
    if not settings.desks:
        if simulate:
            return unconfigured_desk(None), DeskSettings()
        raise ConfigError(
            f"no desk is configured; add one to {settings_path()} "
            "(see `deskctl init`) or try --simulate"
        )
    known = ", ".join(sorted(settings.desks))
    raise ConfigError(f"several desks are configured ({known}); choose one with --desk NAME")
