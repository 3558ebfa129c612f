"""The Jiecang desk protocol (Uplift, Desky, DeskHaus, Omnidesk) as bytes in, values out: no IO.

Design (facts: ../shared/reference/JIECANG.md, docs/desks.md):
- A frame is `SYNC SYNC OP LEN PAYLOAD[LEN] CS 7E` with `CS = (OP + LEN + sum(PAYLOAD)) & 0xFF`;
  commands start `F1 F1` and reports `F2 F2` (one box is said to swap them, so either pair is
  taken on receive, and `encode` can swap on send).
- `Op` names every command deskctl may send, and `encode` takes nothing else: reset, calibration
  and limit setting (`HAZARDOUS_OPS`) cannot be encoded, so no code path can send them; no other
  module builds a frame (tests/test_jiecang_codec.py checks the source tree).
- `FrameReader.feed(chunk)` takes bytes as they come (several frames in one, one frame split
  across two, garbage before a frame) and returns the whole frames found, by the length byte (a
  payload may hold 7E); a frame with a wrong checksum or end byte is dropped and counted, and the
  reader resynchronises on the next sync pair. It never raises: a radio cannot make it fail, and
  it never holds more than one frame's worth of bytes. `ReportParser.reports(chunk)` decodes
  them (the emulated desk reads its commands with a `FrameReader` too).
- Heights in reports are tenths of the display unit (mm with a cm display, 0.1 in with an inch
  one); `DisplayUnit` converts, `guess_unit` applies the range rule when report 0E is missing.
  Limits (report 07) are always millimetres.
- Errors (report 02) carry their code as the display shows it (E01, H01, LOCK) and one sentence.
- `Variant` and `VARIANTS` are the four GATT layouts; `find_variant` picks one from the services
  a connected desk serves (an advertisement can name a different one).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from deskctl.errors import ProtocolError

__all__ = [
    "COMMAND_SYNC",
    "END",
    "HAZARDOUS_OPS",
    "MAX_PAYLOAD",
    "MOVE_TO_MAX",
    "REPORT_SYNC",
    "VARIANTS",
    "DisplayUnit",
    "ErrorReport",
    "FrameReader",
    "HeightReport",
    "LimitsReport",
    "MemoryReport",
    "Op",
    "Report",
    "ReportParser",
    "ResetReport",
    "UnitReport",
    "UnknownReport",
    "Variant",
    "checksum",
    "encode",
    "encode_move_to",
    "encode_report",
    "find_variant",
    "guess_unit",
    "is_jiecang_service",
    "recall_op",
    "save_op",
    "uuid16",
]

COMMAND_SYNC = 0xF1
REPORT_SYNC = 0xF2
END = 0x7E
MAX_PAYLOAD = 16  # the longest known report carries 4 bytes; a longer LEN is noise, not a frame
MOVE_TO_MAX = 0xFFFF


class Op(enum.IntEnum):
    """The commands deskctl sends; nothing else can be encoded."""

    WAKE = 0x00
    UP = 0x01  # one step, about 14 mm
    DOWN = 0x02
    SAVE_1 = 0x03
    SAVE_2 = 0x04
    RECALL_1 = 0x05
    RECALL_2 = 0x06
    REQUEST_SETTINGS = 0x07  # answered by reports 25-28 (memories) and 01 (height)
    REQUEST_LIMITS = 0x0C  # answered by report 07
    REQUEST_UNIT = 0x0E  # answered by report 0E (some FE60 boxes stay silent)
    MOVE_TO = 0x1B  # two bytes, big-endian; some boxes ignore it
    SAVE_3 = 0x25
    SAVE_4 = 0x26
    RECALL_3 = 0x27
    RECALL_4 = 0x28
    STOP = 0x2B


# Reset, calibration and limit setting: a controller that moves furniture by itself never sends
# them (one integration sends FE as a "handshake"; it is a reset).
HAZARDOUS_OPS = frozenset({0xFE, 0x10, 0x11, 0x12, 0x21, 0x22, 0x23})

_RECALL = (Op.RECALL_1, Op.RECALL_2, Op.RECALL_3, Op.RECALL_4)
_SAVE = (Op.SAVE_1, Op.SAVE_2, Op.SAVE_3, Op.SAVE_4)
_MEMORY_REPORTS = {0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4}


def recall_op(slot: int) -> Op:
    """The command that recalls memory `slot` (1-4)."""
    if slot not in range(1, 5):
        raise ProtocolError(f"a Jiecang desk has memory slots 1 to 4, not {slot}")
    return _RECALL[slot - 1]


def save_op(slot: int) -> Op:
    """The command that saves the current height to memory `slot` (1-4)."""
    if slot not in range(1, 5):
        raise ProtocolError(f"a Jiecang desk has memory slots 1 to 4, not {slot}")
    return _SAVE[slot - 1]


def checksum(op: int, payload: bytes) -> int:
    return (op + len(payload) + sum(payload)) & 0xFF


def encode(op: Op, payload: bytes = b"", *, swapped: bool = False) -> bytes:
    """One command frame (`F1 F1 …`, or `F2 F2 …` for a box that swaps the sync bytes)."""
    if not isinstance(op, Op):
        raise ProtocolError(f"0x{int(op):02X} is not a command deskctl sends to a Jiecang desk")
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"a Jiecang command carries at most {MAX_PAYLOAD} bytes")
    sync = REPORT_SYNC if swapped else COMMAND_SYNC
    return bytes((sync, sync, op, len(payload), *payload, checksum(op, payload), END))


def encode_report(op: int, payload: bytes = b"") -> bytes:
    """One report frame, as a box sends it (for the emulated desks)."""
    if not 0 <= op <= 0xFF or len(payload) > MAX_PAYLOAD:
        raise ProtocolError("a Jiecang report has a one-byte op and at most 16 bytes")
    return bytes((REPORT_SYNC, REPORT_SYNC, op, len(payload), *payload, checksum(op, payload), END))


class DisplayUnit(enum.Enum):
    """What the desk's display shows; height reports count tenths of it."""

    CM = "cm"
    INCH = "in"

    def to_mm(self, tenths: int) -> int:
        """Whole millimetres from a report's tenths."""
        return tenths if self is DisplayUnit.CM else round(tenths * 2.54)

    def from_mm(self, height_mm: int) -> int:
        """The report value (tenths of this unit) nearest `height_mm`."""
        return height_mm if self is DisplayUnit.CM else round(height_mm / 2.54)


def guess_unit(tenths: int) -> DisplayUnit | None:
    """The range rule, for a desk that does not answer report 0E: 24.0-53.0 in or 650-1290 mm."""
    if 240 <= tenths <= 530:
        return DisplayUnit.INCH
    if 650 <= tenths <= 1290:
        return DisplayUnit.CM
    return None


def encode_move_to(
    target_mm: int, unit: DisplayUnit = DisplayUnit.CM, *, swapped: bool = False
) -> bytes:
    """Move to `target_mm`: big-endian millimetres, or tenths of an inch where the box counts in
    the display's unit (`unit=DisplayUnit.INCH`, for boxes known to want it)."""
    value = unit.from_mm(target_mm)
    if not 0 < value <= MOVE_TO_MAX:
        raise ProtocolError(f"{target_mm} mm cannot be sent as a Jiecang target")
    return encode(Op.MOVE_TO, value.to_bytes(2, "big"), swapped=swapped)


@dataclass(frozen=True, slots=True)
class HeightReport:
    tenths: int  # of the display unit

    def height_mm(self, unit: DisplayUnit) -> int:
        return unit.to_mm(self.tenths)


@dataclass(frozen=True, slots=True)
class LimitsReport:
    max_mm: int
    min_mm: int


@dataclass(frozen=True, slots=True)
class UnitReport:
    unit: DisplayUnit


@dataclass(frozen=True, slots=True)
class MemoryReport:
    slot: int  # 1-4
    tenths: int  # of the display unit


_ERRORS: dict[int, tuple[str, str]] = {
    **{
        code: (f"E{code:02d}", "the motor drew too much current: something may be in the way")
        for code in range(1, 5)
    },
    **{
        code: (f"E{code:02d}", "a height sensor in a leg failed; the desk needs a reset by hand")
        for code in range(7, 11)
    },
    0x0E: ("H01", "the motor is hot and needs about 16 minutes to cool down"),
    0x10: ("LOCK", "the desk's child lock is on; unlock it on the keypad"),
}


@dataclass(frozen=True, slots=True)
class ErrorReport:
    code: int

    @property
    def name(self) -> str:
        """As the desk's display shows it: E01, H01, LOCK (or E?? for a code not on record)."""
        return _ERRORS.get(self.code, (f"error 0x{self.code:02X}", ""))[0]

    @property
    def sentence(self) -> str:
        """One sentence a person can act on."""
        name, why = _ERRORS.get(self.code, (f"error 0x{self.code:02X}", ""))
        return f"the desk shows {name}: {why}" if why else f"the desk reports {name}"


@dataclass(frozen=True, slots=True)
class ResetReport:
    """The box needs a reset by hand (its display shows RST or ASr)."""


@dataclass(frozen=True, slots=True)
class UnknownReport:
    op: int
    payload: bytes


Report = (
    HeightReport
    | LimitsReport
    | UnitReport
    | MemoryReport
    | ErrorReport
    | ResetReport
    | UnknownReport
)


def _decode(op: int, payload: bytes) -> Report:
    n = len(payload)
    if op == 0x01 and n == 3:
        return HeightReport(int.from_bytes(payload[:2], "big"))
    if op == 0x07 and n == 4:
        return LimitsReport(int.from_bytes(payload[:2], "big"), int.from_bytes(payload[2:], "big"))
    if op == 0x0E and n == 1 and payload[0] in (0, 1):
        return UnitReport(DisplayUnit.CM if payload[0] == 0 else DisplayUnit.INCH)
    if op in _MEMORY_REPORTS and n == 2:
        return MemoryReport(_MEMORY_REPORTS[op], int.from_bytes(payload, "big"))
    if op == 0x02 and n == 1:
        return ErrorReport(payload[0])
    if op in (0x04, 0x40) and n == 0:
        return ResetReport()
    return UnknownReport(op, payload)


@dataclass
class FrameReader:
    """Whole frames `(op, payload)` out of bytes, whatever way the radio cut or joined them."""

    dropped: int = 0  # frames with a wrong checksum or end byte
    skipped_bytes: int = 0  # bytes that were no part of a frame
    _buffer: bytearray = field(default_factory=bytearray, repr=False)

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        buf = self._buffer
        buf += chunk
        frames: list[tuple[int, bytes]] = []
        while True:
            start = _sync_at(buf)
            if start < 0:  # keep a last byte that may begin a sync pair
                keep = 1 if buf and buf[-1] in (COMMAND_SYNC, REPORT_SYNC) else 0
                self._skip(len(buf) - keep)
                break
            self._skip(start)
            if len(buf) < 4:
                break
            op, length = buf[2], buf[3]
            if length > MAX_PAYLOAD:  # no frame is this long: a sync pair in noise
                self._skip(1)
                continue
            size = length + 6
            if len(buf) < size:
                break
            payload = bytes(buf[4 : 4 + length])
            if buf[size - 1] != END or buf[size - 2] != checksum(op, payload):
                self.dropped += 1
                self._skip(1)
                continue
            frames.append((op, payload))
            del buf[:size]
        return frames

    def _skip(self, n: int) -> None:
        if n > 0:
            self.skipped_bytes += n
            del self._buffer[:n]


class ReportParser(FrameReader):
    """Reports out of notification bytes (`FrameReader`'s frames, decoded)."""

    def reports(self, chunk: bytes) -> list[Report]:
        return [_decode(op, payload) for op, payload in self.feed(chunk)]


def _sync_at(buf: bytearray) -> int:
    """Where the first sync pair (F2 F2 or F1 F1) starts, or -1."""
    found = [i for i in (buf.find(b"\xf2\xf2"), buf.find(b"\xf1\xf1")) if i >= 0]
    return min(found) if found else -1


def uuid16(short: int) -> str:
    """A 16-bit Bluetooth UUID as the full 128-bit string bleak and Bumble use."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True, slots=True)
class Variant:
    """One GATT layout of a Jiecang Bluetooth adapter."""

    name: str  # the service's 16-bit UUID in hex, as people call the variant
    service: str
    write: str  # commands, written without response
    notify: str  # reports


def _variant(service: int, write: int, notify: int) -> Variant:
    return Variant(f"{service:04X}", uuid16(service), uuid16(write), uuid16(notify))


VARIANTS = (
    _variant(0xFE60, 0xFE61, 0xFE62),  # newer Uplift, Desky, DeskHaus (Lierda module)
    _variant(0xFF12, 0xFF01, 0xFF02),  # older Uplift; its other characteristics: never write
    _variant(0xFF00, 0xFF01, 0xFF02),  # some Uplift
    _variant(0x00FF, 0x01FF, 0x02FF),  # some Uplift
)


def find_variant(served: Mapping[str, Collection[str]]) -> Variant | None:
    """The variant a connected desk serves, from its GATT database (service UUID to its
    characteristic UUIDs); None when it is no Jiecang adapter."""
    lowered = {s.lower(): {c.lower() for c in chars} for s, chars in served.items()}
    for variant in VARIANTS:
        chars = lowered.get(variant.service)
        if chars is not None and {variant.write, variant.notify} <= chars:
            return variant
    return None


def is_jiecang_service(uuids: Collection[str]) -> bool:
    """Whether an advertisement names a Jiecang adapter's service (any of the four)."""
    wanted = {v.service for v in VARIANTS}
    return any(u.lower() in wanted for u in uuids)
