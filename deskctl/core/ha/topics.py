"""Every MQTT topic of one bridge, and which names may stand in one.

Design: `Topics` names every topic from the base topic `B`, the discovery prefix and the bridge
id: `B/D/state`, `B/D/availability`, `B/D/event`, the command topics `B/D/<leaf>` and
`B/all/<leaf>`, the bridge's own `B/bridge/<id>/availability` (the last will) and
`B/bridge/<id>/desks` (the retained record of the desks it publishes, so other bridges leave them
alone). Every service has an id of its own (`host_bridge_id`: host and user, unless set), so
several share a broker (and `B/all/...`) without one's last will darkening another's desks; the
id `default` keeps the topics of old, `B/bridge/availability` and `B/bridge/desks`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from deskctl.errors import ConfigError

__all__ = [
    "DEFAULT_BRIDGE_ID",
    "OFFLINE",
    "ONLINE",
    "RESERVED_NAMES",
    "Topics",
    "check_desk_name",
    "host_bridge_id",
    "is_profile_name",
]

DEFAULT_BRIDGE_ID = "default"
RESERVED_NAMES = ("all", "bridge")
ONLINE, OFFLINE = "online", "offline"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SLUG_OUT = re.compile(r"[^A-Za-z0-9_-]")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _check_topic_root(what: str, value: str) -> None:
    levels = value.split("/")
    if (
        not value
        or any(not level for level in levels)
        or any(c in value for c in "+#\x00")
        or value.startswith("$")
    ):
        raise ConfigError(
            f"mqtt: {what} {value!r} must be topic levels joined by '/', without '+', '#', "
            "empty levels or a leading '$'"
        )


def check_desk_name(name: str) -> str:
    """`name` if it can be one level of an MQTT topic and is not reserved; else `ConfigError`."""
    if not name or len(name) > 64 or any(c in name for c in "/+#\x00") or name.startswith("$"):
        raise ConfigError(
            f"desk {name!r}: the name must be 1 to 64 characters without '/', '+', '#' or a "
            "leading '$' to be used in MQTT topics; rename the desk in the settings"
        )
    if name.lower() in RESERVED_NAMES:
        raise ConfigError(
            f"desk {name!r}: the name is reserved on MQTT ({'/'.join(RESERVED_NAMES)} address "
            "the bridge and every desk); rename the desk in the settings"
        )
    return name


def is_profile_name(name: str) -> bool:
    """Whether `name` can be sent as a profile over MQTT (and offered by Home Assistant)."""
    return bool(_PROFILE_NAME.match(name))


def host_bridge_id(host: str, user: str, machine_id: str = "") -> str:
    """The default bridge id: the same at every start, and another for every host and user.

    Readable (`gw-r214-pi-3fa2c1`): the host's first label and the user name, with a short
    hash of the machine id, host and user, so that two machines both called `raspberrypi` with
    a user `pi` still differ.
    """

    def part(text: str) -> str:
        return _SLUG_OUT.sub("-", text.lower()).strip("-_")[:24] or "x"

    digest = hashlib.blake2s(f"{machine_id}\n{host}\n{user}".encode(), digest_size=3).hexdigest()
    return f"{part(host.split('.', maxsplit=1)[0])}-{part(user)}-{digest}"


def _slug(text: str) -> str:
    """`text` in Home Assistant's id alphabet [a-zA-Z0-9_-]; a changed one gets a short hash."""
    slug = _SLUG_OUT.sub("_", text)
    if slug == text:
        return slug
    digest = hashlib.blake2s(text.encode("utf-8"), digest_size=4).hexdigest()
    return f"{slug}_{digest}"


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic of one bridge; see the module docstring."""

    base: str = "deskctl"
    discovery_prefix: str = "homeassistant"
    bridge_id: str = DEFAULT_BRIDGE_ID

    def __post_init__(self) -> None:
        _check_topic_root("base_topic", self.base)
        _check_topic_root("discovery_prefix", self.discovery_prefix)
        if not _ID.match(self.bridge_id):
            raise ConfigError(
                f"mqtt: bridge id {self.bridge_id!r} must be 1 to 64 letters, digits, '_' or '-'"
            )

    @property
    def _bridge_root(self) -> str:
        if self.bridge_id == DEFAULT_BRIDGE_ID:
            return f"{self.base}/bridge"
        return f"{self.base}/bridge/{self.bridge_id}"

    @property
    def bridge_availability(self) -> str:
        return f"{self._bridge_root}/availability"

    @property
    def record(self) -> str:
        """The retained list of the desks this bridge published (to clear removed ones)."""
        return f"{self._bridge_root}/desks"

    @property
    def records(self) -> tuple[str, str]:
        """Filters matching every bridge's record on this base topic."""
        return f"{self.base}/bridge/desks", f"{self.base}/bridge/+/desks"

    @property
    def sync(self) -> str:
        """A private topic: the bridge's own echo there marks the end of the retained records."""
        return f"{self._bridge_root}/sync"

    @property
    def ha_status(self) -> str:
        """Home Assistant's birth and last will (`online`/`offline`)."""
        return f"{self.discovery_prefix}/status"

    def desk(self, desk: str, leaf: str) -> str:
        return f"{self.base}/{desk}/{leaf}"

    def device_id(self, desk: str) -> str:
        return f"{_slug(self.base)}_{_slug(desk)}"

    def discovery(self, desk: str) -> str:
        return f"{self.discovery_prefix}/device/{self.device_id(desk)}/config"

    def retained(self, desk: str) -> list[str]:
        """Every retained topic the bridge publishes for `desk` (cleared when it leaves)."""
        return [self.discovery(desk), self.desk(desk, "state"), self.desk(desk, "availability")]

    def command_filters(self, desks: Sequence[str]) -> list[str]:
        """The subscriptions that carry commands to these desks (and to every desk)."""
        filters: list[str] = []
        for target in [*desks, "all"]:
            filters += [self.desk(target, "+/set"), self.desk(target, "action")]
            filters += [self.desk(target, "release"), self.desk(target, "connect")]
        return filters
