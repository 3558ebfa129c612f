"""Home Assistant over MQTT, pure: topics, discovery, the state and event JSON, and commands.

Design: the MQTT bridge (`deskctl.adapters.mqtt_bridge`) holds the connection; everything it
says or reads is decided here, from values, so it can be checked without a broker. One module
per job:
- `topics`: every topic of a bridge (`Topics`), and which desk names and bridge ids MQTT carries;
- `entities`: the table of a desk's Home Assistant entities, each described once;
- `discovery`: the retained discovery message of a desk, rendered from that table;
- `state`: the `B/D/state` and `B/D/event` JSON, and when a changed state goes out;
- `commands`: command topics and payloads into service commands, or one sentence why not;
- `records`: the record of the desks a bridge published, and what to clear when one leaves;
- `preset_buttons`: one button per preset of a desk, each on its own retained discovery topic.
The names the bridge uses are importable from this package too.
"""

from deskctl.core.ha.commands import (
    COMMAND_LEAVES,
    Refusal,
    Request,
    check_request,
    parse_command,
)
from deskctl.core.ha.discovery import DeskInfo, discovery_payload
from deskctl.core.ha.preset_buttons import desk_retained, preset_button_payload, preset_discovery
from deskctl.core.ha.records import parse_record, record_payload, topics_to_clear
from deskctl.core.ha.state import (
    EVENT_TYPES,
    encode,
    event_payload,
    state_changed,
    state_due_in_s,
    state_payload,
)
from deskctl.core.ha.topics import (
    DEFAULT_BRIDGE_ID,
    OFFLINE,
    ONLINE,
    Topics,
    check_desk_name,
    host_bridge_id,
    is_profile_name,
)

__all__ = [
    "COMMAND_LEAVES",
    "DEFAULT_BRIDGE_ID",
    "EVENT_TYPES",
    "OFFLINE",
    "ONLINE",
    "DeskInfo",
    "Refusal",
    "Request",
    "Topics",
    "check_desk_name",
    "check_request",
    "desk_retained",
    "discovery_payload",
    "encode",
    "event_payload",
    "host_bridge_id",
    "is_profile_name",
    "parse_command",
    "parse_record",
    "preset_button_payload",
    "preset_discovery",
    "record_payload",
    "state_changed",
    "state_due_in_s",
    "state_payload",
    "topics_to_clear",
]
