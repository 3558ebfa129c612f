"""The LINAK desk protocol as bytes in, values out: no IO (see docs of h11 for the idea).

Design:
- `Char` names the GATT characteristics; their UUIDs are `99faXXXX-338a-1024-8a49-009c0215f78a`.
- Heights on the wire are uint16 LE in 0.1 mm above the desk's base (its lowest position); the codec
  converts to whole millimetres above the floor given `base_mm`, so nothing above it sees raw units.
- Speeds are int16 LE; only their sign and zero are trusted (the units differ between sources).
- DPG requests are framed `7F <cmd> 00` (read) and `7F <cmd> 80 <data>` (write); answers arrive as
  notifications `01 <len> <payload>`, byte 0 `0x01` meaning valid.
- Anything short, long or malformed raises `ProtocolError`, never IndexError or struct.error.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from deskctl.errors import ProtocolError

__all__ = [
    "CANCEL_TARGET",
    "DEFAULT_BASE_MM",
    "DEFAULT_TOP_MM",
    "RAW_MAX",
    "SERVICE_CONTROL",
    "Capabilities",
    "Char",
    "Command",
    "DpgCommand",
    "HeightReport",
    "decode_base_offset",
    "decode_capabilities",
    "decode_dpg_answer",
    "decode_height_speed",
    "decode_target",
    "encode_dpg_read",
    "encode_dpg_write",
    "encode_height_speed",
    "encode_target",
    "linak_uuid",
    "wake_user_id",
]

# A LINAK desk's mechanical travel (IDÅSEN, DPG1C): raw height 0 is its base, 620 mm above the
# floor, and its column tops out 650 mm (raw 6500) higher. `calibration_mm` moves the base of a
# desk that reads differently; the simulated and emulated desks are built with this travel.
DEFAULT_BASE_MM = 620
DEFAULT_TOP_MM = 1270
RAW_MAX = 0x7FFF  # largest target we ever encode; 0x8001 cancels a move


def linak_uuid(short: int) -> str:
    """The full 128-bit UUID of a LINAK service or characteristic from its 16-bit part."""
    return f"99fa{short:04x}-338a-1024-8a49-009c0215f78a"


SERVICE_CONTROL = linak_uuid(0x0001)
SERVICE_DPG = linak_uuid(0x0010)
SERVICE_REFERENCE_OUTPUT = linak_uuid(0x0020)
SERVICE_REFERENCE_INPUT = linak_uuid(0x0030)


class Char(enum.Enum):
    """GATT characteristics of a LINAK desk, valued by their UUID."""

    COMMAND = linak_uuid(0x0002)
    ERROR = linak_uuid(0x0003)
    DPG = linak_uuid(0x0011)
    HEIGHT_SPEED = linak_uuid(0x0021)
    MASK = linak_uuid(0x0029)
    DETECT_MASK = linak_uuid(0x002A)
    REFERENCE_INPUT = linak_uuid(0x0031)

    @property
    def service(self) -> str:
        return {
            Char.COMMAND: SERVICE_CONTROL,
            Char.ERROR: SERVICE_CONTROL,
            Char.DPG: SERVICE_DPG,
            Char.HEIGHT_SPEED: SERVICE_REFERENCE_OUTPUT,
            Char.MASK: SERVICE_REFERENCE_OUTPUT,
            Char.DETECT_MASK: SERVICE_REFERENCE_OUTPUT,
            Char.REFERENCE_INPUT: SERVICE_REFERENCE_INPUT,
        }[self]


class Command(bytes, enum.Enum):
    """Two-byte values written to `Char.COMMAND`."""

    UP = b"\x47\x00"
    DOWN = b"\x46\x00"
    STOP = b"\xff\x00"
    WAKE = b"\xfe\x00"


CANCEL_TARGET = b"\x01\x80"  # written to REFERENCE_INPUT, cancels a move-to


class DpgCommand(enum.IntEnum):
    CAPABILITIES = 0x80
    BASE_OFFSET = 0x81
    USER_ID = 0x86


@dataclass(frozen=True, slots=True)
class HeightReport:
    """One height+speed report: whole mm above the floor, and the speed's raw signed value."""

    height_mm: int
    speed: int

    @property
    def moving(self) -> bool:
        return self.speed != 0

    @property
    def direction(self) -> int:
        """+1 going up, -1 going down, 0 standing still."""
        return (self.speed > 0) - (self.speed < 0)


_HEIGHT_SPEED = struct.Struct("<Hh")


def _raw_to_mm(raw: int, base_mm: int) -> int:
    # 0.1 mm units, rounded half up to the nearest whole mm
    return base_mm + (raw + 5) // 10


def decode_height_speed(data: bytes, base_mm: int = DEFAULT_BASE_MM) -> HeightReport:
    """Decode a 4-byte `HEIGHT_SPEED` value or notification."""
    if len(data) != _HEIGHT_SPEED.size:
        raise ProtocolError(
            f"a height report is {_HEIGHT_SPEED.size} bytes, got {len(data)}: {data.hex(' ')!r}"
        )
    raw, speed = _HEIGHT_SPEED.unpack(data)
    return HeightReport(_raw_to_mm(raw, base_mm), speed)


def encode_height_speed(raw: int, speed: int) -> bytes:
    """Encode a height+speed value in wire units (used by the simulated and emulated desks)."""
    if not 0 <= raw <= 0xFFFF or not -0x8000 <= speed <= 0x7FFF:
        raise ProtocolError(f"height {raw} or speed {speed} does not fit a height report")
    return _HEIGHT_SPEED.pack(raw, speed)


def encode_target(height_mm: int, base_mm: int = DEFAULT_BASE_MM) -> bytes:
    """The `REFERENCE_INPUT` bytes that ask the desk to move to `height_mm` above the floor."""
    raw = (height_mm - base_mm) * 10
    if not 0 <= raw <= RAW_MAX:
        raise ProtocolError(f"{height_mm} mm is below the desk's base of {base_mm} mm or far above")
    return raw.to_bytes(2, "little")


def decode_target(data: bytes, base_mm: int = DEFAULT_BASE_MM) -> int | None:
    """Decode a `REFERENCE_INPUT` write: the target in mm, or None for the cancel value."""
    if len(data) != 2:
        raise ProtocolError(f"a move-to target is 2 bytes, got {len(data)}: {data.hex(' ')!r}")
    if data == CANCEL_TARGET:
        return None
    raw = int.from_bytes(data, "little")
    if raw > RAW_MAX:
        raise ProtocolError(f"move-to target {data.hex(' ')} is not a height")
    return _raw_to_mm(raw, base_mm)


def encode_dpg_read(command: DpgCommand) -> bytes:
    return bytes((0x7F, command, 0x00))


def encode_dpg_write(command: DpgCommand, data: bytes) -> bytes:
    return bytes((0x7F, command, 0x80)) + data


def decode_dpg_answer(data: bytes) -> bytes:
    """The payload of a DPG answer notification; raises if the desk marked it invalid."""
    if len(data) < 2:
        raise ProtocolError(f"a DPG answer is at least 2 bytes, got {len(data)}: {data.hex(' ')!r}")
    if data[0] != 0x01:
        raise ProtocolError(f"the desk refused a DPG request (answer {data.hex(' ')})")
    length = data[1]
    payload = data[2:]
    if len(payload) < length:
        raise ProtocolError(
            f"a DPG answer announced {length} bytes but carried {len(payload)}: {data.hex(' ')!r}"
        )
    return bytes(payload)


def decode_base_offset(payload: bytes) -> int:
    """The desk's base height in whole mm from the payload of DPG `0x81`.

    The payload is `<flag> <uint16 LE in 0.1 mm>`; the one dump on record is `01 66 18` -> 624.6 mm.
    """
    if len(payload) < 3:
        raise ProtocolError(f"a base-offset answer is 3 bytes, got {len(payload)}")
    raw = int.from_bytes(payload[1:3], "little")
    return (raw + 5) // 10


@dataclass(frozen=True, slots=True)
class Capabilities:
    memory_slots: int
    auto_up: bool
    auto_down: bool
    ble_allow: bool
    has_display: bool
    has_light: bool


def decode_capabilities(payload: bytes) -> Capabilities:
    """Decode the payload of DPG `0x80` (byte 0 is a bit field)."""
    if not payload:
        raise ProtocolError("a capabilities answer is empty")
    bits = payload[0]
    return Capabilities(
        memory_slots=bits & 0b111,
        auto_up=bool(bits & 0x08),
        auto_down=bool(bits & 0x10),
        ble_allow=bool(bits & 0x20),
        has_display=bool(bits & 0x40),
        has_light=bool(bits & 0x80),
    )


def wake_user_id(payload: bytes) -> bytes | None:
    """What to write back to DPG `0x86` to wake a DPG1C/DPG1M desk, or None if it is awake.

    The desk ignores moves until the first byte of its user id is 1.
    """
    if not payload:
        raise ProtocolError("a user-id answer is empty")
    if payload[0] == 1:
        return None
    return encode_dpg_write(DpgCommand.USER_ID, b"\x01" + payload[1:])
