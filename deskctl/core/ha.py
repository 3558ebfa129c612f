"""Home Assistant over MQTT, pure: topics, discovery, the state and event JSON, and commands.

Design: the MQTT bridge (`deskctl.adapters.mqtt_bridge`) holds the connection; everything it
says or reads is decided here, from values, so it can be checked without a broker.
- `Topics` names every topic from the base topic `B`, the discovery prefix and the bridge id:
  `B/D/state`, `B/D/availability`, `B/D/event`, the command topics `B/D/<leaf>` and `B/all/<leaf>`,
  the bridge's own `B/bridge/<id>/availability` (the last will) and `B/bridge/<id>/desks` (the
  retained record of the desks it publishes, so other bridges leave them alone). Every service
  has an id of its own (`host_bridge_id`: host and user, unless set), so several share a broker
  (and `B/all/...`) without one's last will darkening another's desks; the id `default` keeps
  the topics of old, `B/bridge/availability` and `B/bridge/desks`. `topics_to_clear` names
  what a bridge published for desks it no longer has.
- `discovery_payload` is Home Assistant's device-based discovery (one retained message per desk on
  `<prefix>/device/<id>/config`): the device, the origin, both availability topics with
  `availability_mode: all`, and one component per entity, each reading the retained `B/D/state`
  JSON through a value template. Templates render `None` when a value is unknown, which Home
  Assistant shows as unknown.
- `state_payload` picks the state JSON out of the service's status; `event_payload` turns a service
  event into the `B/D/event` JSON (cues with id, title, steps, area and duration).
- `parse_command` turns any topic and any bytes into a `Request` (a service command) or a
  `Refusal` (one sentence saying why nothing moves); it never raises. `check_request` adds what
  depends on the desk now: its limits, whether it is connected, inhibited or held.
- `state_due_in_s` is the rate limit: a changed state goes out at once, but while the desk moves
  at most once per interval.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from deskctl.core.cues import Cue
from deskctl.core.units import MAX_DURATION_S, check_limits, parse_duration_s, parse_height_mm
from deskctl.errors import ConfigError, DurationError, HeightError

__all__ = [
    "COMMAND_LEAVES",
    "DEFAULT_BRIDGE_ID",
    "EVENT_TYPES",
    "DeskInfo",
    "LogBudget",
    "Refusal",
    "Request",
    "Topics",
    "check_desk_name",
    "check_request",
    "discovery_payload",
    "encode",
    "event_payload",
    "host_bridge_id",
    "is_profile_name",
    "parse_command",
    "parse_record",
    "record_payload",
    "state_changed",
    "state_due_in_s",
    "state_payload",
    "topics_to_clear",
]

DEFAULT_BRIDGE_ID = "default"
RESERVED_NAMES = ("all", "bridge")
COMMAND_LEAVES = (
    "height/set",
    "posture/set",
    "profile/set",
    "schedule/set",
    "inhibit/set",
    "action",
)
EVENT_TYPES = (
    "warning",
    "confirm",
    "cue",
    "move_started",
    "arrived",
    "manual_move",
    "obstruction",
    "held",
    "dropped",
    "error",
)
STATE_FIELDS = (
    "height_mm",
    "posture",
    "moving",
    "profile",
    "sit_mm",
    "stand_mm",
    "schedule",
    "next_change_at",
    "next_posture",
    "next_cue",
    "standing_today_s",
    "sitting_bout_s",
)
GROWING_FIELDS = ("standing_today_s", "sitting_bout_s")  # change every second by themselves
ONLINE, OFFLINE = "online", "offline"
MAX_PAYLOAD_BYTES = 256
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SLUG_OUT = re.compile(r"[^A-Za-z0-9_-]")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ACTIONS = ("stop", "skip", "snooze", "pause", "resume", "confirm")
_ON = ("on", "true")
_OFF = ("off", "false")


# -- topics ---------------------------------------------------------------------------------------
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
        return filters


# -- discovery ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeskInfo:
    """What Home Assistant's device registry shows about one desk."""

    name: str
    min_mm: int
    max_mm: int
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    hw_version: str | None = None


def _state_reader(topics: Topics, desk: str, template: str, **extra: Any) -> dict[str, Any]:
    return {"state_topic": topics.desk(desk, "state"), "value_template": template, **extra}


def discovery_payload(
    topics: Topics, desk: DeskInfo, profiles: Sequence[str], *, sw_version: str
) -> dict[str, Any]:
    """The retained device-based discovery message for one desk (see Home Assistant's docs)."""
    name = desk.name
    dev = topics.device_id(name)
    device: dict[str, Any] = {"identifiers": [dev], "name": name}
    for key in ("manufacturer", "model", "sw_version", "hw_version"):
        value = getattr(desk, key)
        if value:
            device[key] = value

    def entity(key: str, platform: str, label: str, **config: Any) -> tuple[str, dict[str, Any]]:
        return key, {"platform": platform, "unique_id": f"{dev}_{key}", "name": label, **config}

    def button(key: str, label: str, topic_leaf: str, payload: str, icon: str) -> Any:
        return entity(
            key,
            "button",
            label,
            command_topic=topics.desk(name, topic_leaf),
            payload_press=payload,
            retain=False,
            icon=icon,
        )

    def switch(key: str, label: str, template: str, icon: str) -> Any:
        return entity(
            key,
            "switch",
            label,
            device_class="switch",
            command_topic=topics.desk(name, f"{key}/set"),
            payload_on="ON",
            payload_off="OFF",
            retain=False,
            icon=icon,
            **_state_reader(topics, name, template),
        )

    state = topics.desk(name, "state")
    components = dict(
        [
            entity(
                "height",
                "number",
                "Height",
                device_class="distance",
                unit_of_measurement="cm",
                min=desk.min_mm / 10,
                max=desk.max_mm / 10,
                step=0.1,
                mode="box",
                command_topic=topics.desk(name, "height/set"),
                retain=False,
                icon="mdi:arrow-expand-vertical",
                **_state_reader(
                    topics,
                    name,
                    "{{ none if value_json.height_mm is none else value_json.height_mm / 10 }}",
                ),
            ),
            entity(
                "profile",
                "select",
                "Profile",
                options=list(profiles),
                command_topic=topics.desk(name, "profile/set"),
                retain=False,
                icon="mdi:account-cog",
                json_attributes_topic=state,
                json_attributes_template=(
                    "{{ {'sit_mm': value_json.sit_mm, 'stand_mm': value_json.stand_mm} | tojson }}"
                ),
                **_state_reader(topics, name, "{{ value_json.profile }}"),
            ),
            button("sit", "Sit", "posture/set", "sit", "mdi:chair-rolling"),
            button("stand", "Stand", "posture/set", "stand", "mdi:human-handsup"),
            button("stop", "Stop", "action", "stop", "mdi:stop"),
            button("skip", "Skip next change", "action", "skip", "mdi:skip-next"),
            button("snooze", "Snooze next change", "action", "snooze", "mdi:alarm-snooze"),
            switch(
                "schedule",
                "Schedule",
                "{{ 'OFF' if value_json.schedule == 'off' else 'ON' }}",
                "mdi:calendar-clock",
            ),
            switch(
                "inhibit",
                "Inhibit moves",
                "{{ 'ON' if value_json.inhibited else 'OFF' }}",
                "mdi:hand-back-left",
            ),
            entity(
                "posture",
                "sensor",
                "Posture",
                device_class="enum",
                options=["sit", "stand", "away"],
                icon="mdi:human",
                **_state_reader(topics, name, "{{ value_json.posture }}"),
            ),
            entity(
                "next_change",
                "sensor",
                "Next change",
                device_class="timestamp",
                json_attributes_topic=state,
                json_attributes_template=(
                    "{{ {'posture': value_json.next_posture, 'cue': value_json.next_cue,"
                    " 'waiting_for': value_json.waiting_for,"
                    " 'waiting_until': value_json.waiting_until} | tojson }}"
                ),
                **_state_reader(topics, name, "{{ value_json.next_change_at }}"),
            ),
            entity(
                "standing_today",
                "sensor",
                "Standing today",
                device_class="duration",
                unit_of_measurement="s",
                state_class="total_increasing",
                icon="mdi:human-handsup",
                **_state_reader(topics, name, "{{ value_json.standing_today_s }}"),
            ),
            entity(
                "sitting_bout",
                "sensor",
                "Sitting bout",
                device_class="duration",
                unit_of_measurement="s",
                state_class="measurement",
                icon="mdi:chair-rolling",
                **_state_reader(topics, name, "{{ value_json.sitting_bout_s }}"),
            ),
            entity(
                "last_cue",
                "sensor",
                "Last cue",
                icon="mdi:yoga",
                json_attributes_topic=state,
                json_attributes_template="{{ (value_json.last_cue or {}) | tojson }}",
                **_state_reader(
                    topics,
                    name,
                    "{{ value_json.last_cue.title if value_json.last_cue else none }}",
                ),
            ),
            entity(
                "moving",
                "binary_sensor",
                "Moving",
                device_class="moving",
                payload_on="ON",
                payload_off="OFF",
                **_state_reader(topics, name, "{{ 'ON' if value_json.moving else 'OFF' }}"),
            ),
            entity(
                "connected",
                "binary_sensor",
                "Connected",
                device_class="connectivity",
                entity_category="diagnostic",
                payload_on="ON",
                payload_off="OFF",
                # only the bridge: the desk's own availability is what this entity shows
                availability=[_availability(topics.bridge_availability)],
                availability_mode="all",
                **_state_reader(topics, name, "{{ 'ON' if value_json.connected else 'OFF' }}"),
            ),
        ]
    )
    return {
        "device": device,
        "origin": {"name": "deskctl", "sw_version": sw_version},
        "availability": [
            _availability(topics.bridge_availability),
            _availability(topics.desk(name, "availability")),
        ],
        "availability_mode": "all",
        "qos": 1,
        "components": components,
    }


def _availability(topic: str) -> dict[str, str]:
    return {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}


# -- state and events ----------------------------------------------------------------------------
def state_payload(status: Mapping[str, Any], *, inhibited: bool) -> dict[str, Any]:
    """`B/D/state`: DESIGN.md's fields, plus inhibited, connected, held, paused_until,
    waiting_for, waiting_until, last_cue."""
    out = {key: _jsonable(status.get(key)) for key in STATE_FIELDS}
    out["moving"] = bool(status.get("moving"))
    out["inhibited"] = bool(inhibited)
    out["connected"] = bool(status.get("connected"))
    out["held"] = _jsonable(status.get("held"))
    out["paused_until"] = _jsonable(status.get("paused_until"))
    out["waiting_for"] = _jsonable(status.get("waiting_for"))
    out["waiting_until"] = _jsonable(status.get("waiting_until"))
    out["last_cue"] = _jsonable(status.get("last_cue"))
    return out


def state_changed(sent: Mapping[str, Any] | None, state: Mapping[str, Any]) -> bool:
    """Whether `state` holds anything new against the one last `sent` (None: none was).

    The durations that grow by themselves do not count; they go out with every other change
    and at each refresh.
    """
    if sent is None:
        return True
    return any(sent.get(k) != v for k, v in state.items() if k not in GROWING_FIELDS) or any(
        k not in state for k in sent
    )


def event_payload(
    desk: str, at: datetime, kind: str, fields: Mapping[str, Any]
) -> dict[str, Any] | None:
    """`B/D/event` for one service event; None for events that are state, not news."""
    if kind not in EVENT_TYPES:
        return None
    out: dict[str, Any] = {"type": kind, "desk": desk, "at": at.isoformat()}
    cue = fields.get("cue")
    if kind == "cue" and isinstance(cue, Cue):
        out.update(cue.to_full_json())
        out["change"] = _jsonable(fields.get("change"))
        return out
    for key, value in fields.items():
        out.setdefault(key, _jsonable(value))
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Cue):
        return value.to_full_json()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; anything that is not JSON becomes its string."""
    return json.dumps(_jsonable(payload), separators=(",", ":"), ensure_ascii=False).encode()


def state_due_in_s(*, moving: bool, since_last_s: float | None, interval_s: float) -> float:
    """How long to hold back a changed state: nothing when still, the rest of the interval while
    moving (`since_last_s` is the time since the last state went out, None if none did)."""
    if not moving or since_last_s is None:
        return 0.0
    return max(0.0, interval_s - since_last_s)


# -- the log ------------------------------------------------------------------------------------
@dataclass(slots=True)
class LogBudget:
    """Which of many like log lines to write: `burst` per `interval_s`, then a count of the rest.

    `take(now_s)` says whether to write a line now; `overdue(now_s)` gives the number of lines
    left out once their interval has ended (0 before that, or if none were), to be said in one
    line; `report_at()` is when that is due. Times are any monotonic seconds.
    """

    burst: int = 5
    interval_s: float = 60.0
    _start_s: float | None = None
    _written: int = 0
    _held: int = 0

    def take(self, now_s: float) -> bool:
        if self._start_s is None or now_s - self._start_s >= self.interval_s:
            self._start_s, self._written = now_s, 0  # call `overdue` first: it says the count
        if self._written < self.burst:
            self._written += 1
            return True
        self._held += 1
        return False

    def overdue(self, now_s: float, *, at_end: bool = False) -> int:
        """Lines left out in an interval that has ended (or in any, `at_end`); resets them."""
        if not self._held or self._start_s is None:
            return 0
        if not at_end and now_s - self._start_s < self.interval_s:
            return 0
        held, self._held, self._start_s = self._held, 0, None
        return held

    def report_at(self) -> float | None:
        return None if not self._held or self._start_s is None else self._start_s + self.interval_s


# -- the record of published desks ----------------------------------------------------------------
def record_payload(bridge_id: str, retained: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The retained record: for each desk, every retained topic the bridge published for it."""
    return {"bridge_id": bridge_id, "desks": {desk: list(t) for desk, t in retained.items()}}


def parse_record(payload: bytes) -> dict[str, list[str]] | None:
    """A record from the broker, or None if it is empty or not one deskctl wrote."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    desks = data.get("desks") if isinstance(data, dict) else None
    if not isinstance(desks, dict):
        return None
    out: dict[str, list[str]] = {}
    for desk, topics in desks.items():
        if isinstance(topics, list) and all(isinstance(t, str) and t for t in topics):
            out[str(desk)] = list(topics)
    return out


def topics_to_clear(
    topics: Topics,
    published: Mapping[str, Sequence[str]] | None,
    current: Mapping[str, Sequence[str]],
    *,
    claimed: Collection[str] = (),
) -> list[str]:
    """Retained topics this bridge published before and not now (removed desks, moved topics).

    `published` is what this process remembers publishing itself, never what a record on the
    broker says (another service with the same bridge id writes that record too); `claimed`
    are the topics other bridges' records list now (a desk moved to another gateway): those
    stay. Only topics of the shapes the bridge publishes are named, discovery configs first, so Home
    Assistant drops a device before its state goes empty (no template renders an empty state).
    """
    if not published:
        return []
    keep = {topic for retained in current.values() for topic in retained} | set(claimed)
    gone = {topic for retained in published.values() for topic in retained} - keep
    return sorted(
        (t for t in gone if _ours(topics, t)), key=lambda t: (not _is_discovery(topics, t), t)
    )


def _is_discovery(topics: Topics, topic: str) -> bool:
    return topic.startswith(f"{topics.discovery_prefix}/")


def _ours(topics: Topics, topic: str) -> bool:
    if any(c in topic for c in "+#\x00"):
        return False
    levels = topic.split("/")
    if any(not level for level in levels):
        return False
    prefix = topics.discovery_prefix.split("/")
    if levels[: len(prefix)] == prefix:
        rest = levels[len(prefix) :]
        return len(rest) == 3 and rest[0] == "device" and rest[2] == "config"
    base = topics.base.split("/")
    if levels[: len(base)] == base:
        rest = levels[len(base) :]
        return (
            len(rest) == 2
            and rest[0] not in RESERVED_NAMES
            and rest[1]
            in (
                "state",
                "availability",
            )
        )
    return False


# -- commands -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """A command for the service: `command` and `args` as `Service.call` takes them.

    `target` is the desk, or None for every desk (`B/all/...`).
    """

    target: str | None
    command: str
    args: Mapping[str, Any] = field(default_factory=dict)
    topic: str = ""

    @property
    def moves(self) -> bool:
        return self.command in ("sit", "stand", "move")

    @property
    def height_mm(self) -> int | None:
        value = self.args.get("height_mm")
        return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class Refusal:
    """A command that cannot be done: nothing moves, and `reason` (one sentence) says why.

    `retained`: the command came with the retain flag, so it sits on the broker and the bridge
    clears it there (an empty retained message on its topic), as `reason` says.
    """

    target: str | None
    reason: str
    topic: str = ""
    retained: bool = False


def _split(topics: Topics, topic: str) -> tuple[str, str] | None:
    prefix = topics.base + "/"
    if not topic.startswith(prefix):
        return None
    target, sep, leaf = topic[len(prefix) :].partition("/")
    if not sep or not target or target == "bridge":
        return None
    return target, leaf


def _text(payload: bytes) -> str | Refusal:
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Refusal(None, f"the payload is too long ({len(payload)} bytes); commands are short")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(None, "the payload is not UTF-8 text")
    text = text.strip()
    if not text:
        return Refusal(None, "the payload is empty")
    if not text.isprintable():
        return Refusal(None, "the payload holds control characters")
    return text


def parse_command(
    topics: Topics,
    topic: str,
    payload: bytes,
    *,
    profiles: Collection[str],
    retained: bool = False,
) -> Request | Refusal | None:
    """A command topic and payload → `Request` or `Refusal`; None if `topic` carries no command.

    Never raises, whatever the bytes.
    """
    split = _split(topics, topic)
    if split is None:
        return None
    target_name, leaf = split
    if leaf not in COMMAND_LEAVES and not leaf.endswith("/set"):
        return None  # state, event, availability: not ours to read
    target = None if target_name == "all" else target_name
    if leaf not in COMMAND_LEAVES:
        known = ", ".join(COMMAND_LEAVES)
        return Refusal(target, f"{leaf!r} is not a command topic; the commands are {known}", topic)
    if retained:
        return Refusal(
            target,
            "a retained command is refused (it would run again at every reconnect) and cleared "
            "from the broker; publish commands without the retain flag",
            topic,
            retained=True,
        )
    text = _text(payload)
    if isinstance(text, Refusal):
        return Refusal(target, text.reason, topic)
    try:
        command, args = _command(leaf, text, profiles)
    except (HeightError, DurationError, ValueError) as exc:
        return Refusal(target, str(exc), topic)
    return Request(target, command, args, topic)


def _command(leaf: str, text: str, profiles: Collection[str]) -> tuple[str, dict[str, Any]]:
    word = text.lower()
    if leaf == "height/set":
        height_mm = parse_height_mm(text)
        if height_mm <= 0:
            raise HeightError(f"{text!r} is not a height above the floor")
        return "move", {"height": f"{height_mm}mm", "height_mm": height_mm}
    if leaf == "posture/set":
        if word in ("sit", "stand"):
            return word, {}
        raise ValueError(f"{_short(text)} is not a posture to move to; send sit or stand")
    if leaf == "profile/set":
        if is_profile_name(text) and text in profiles:
            return "profile_use", {"name": text}
        known = ", ".join(sorted(profiles)) or "none"
        raise ValueError(f"there is no profile {_short(text)}; the known ones are {known}")
    if leaf in ("schedule/set", "inhibit/set"):
        if word in _ON or word in _OFF:
            return leaf.removesuffix("/set"), {"on": word in _ON}
        raise ValueError(f"{_short(text)} is not a switch state; send ON or OFF")
    verb, _, rest = word.partition(" ")
    if verb not in _ACTIONS:
        raise ValueError(f"{_short(text)} is not an action; send one of {', '.join(_ACTIONS)}")
    rest = rest.strip()
    if not rest:
        return verb, {}
    if verb not in ("pause", "snooze"):
        raise ValueError(f"the action {verb} takes nothing after it")
    for_s = parse_duration_s(rest)
    if not 1 <= for_s <= MAX_DURATION_S:
        raise DurationError(f"a {verb} lasts from 1 second to 30 days, not {_short(rest)}")
    return verb, {"for": f"{round(for_s)}s"}


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def check_request(
    request: Request,
    status: Mapping[str, Any],
    *,
    min_mm: int,
    max_mm: int,
    sit_mm: int,
    stand_mm: int,
    inhibited: bool,
) -> Refusal | None:
    """What refuses a parsed command on one desk now; None if it may go to the service.

    A move must stay within the desk's limits, and waits while the desk is not connected, while
    inhibit is on (a meeting, nobody there) and while the schedule holds after an obstruction.
    """
    if not request.moves:
        return None
    desk = str(status.get("desk") or request.target or "the desk")

    def refuse(reason: str) -> Refusal:
        return Refusal(desk, reason, request.topic)

    target_mm = request.height_mm
    if target_mm is None:
        target_mm = sit_mm if request.command == "sit" else stand_mm
    try:
        check_limits(target_mm, min_mm, max_mm)
    except HeightError as exc:
        return refuse(str(exc))
    if not status.get("connected"):
        return refuse(f"desk {desk!r} is not connected, so it cannot move now")
    held = status.get("held")
    if held:
        return refuse(
            f"desk {desk!r} is on hold after {held}; send resume (or move it by hand) first"
        )
    if inhibited or status.get("schedule") == "inhibited":
        return refuse(f"desk {desk!r} is inhibited: turn inhibit OFF before moving it remotely")
    return None
