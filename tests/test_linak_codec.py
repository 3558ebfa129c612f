"""The LINAK codec against the byte vectors in reference/PROTOCOL.md.

Every vector is written out as hex, as a sniffer would show it, so a table row reads like the
protocol notes. Malformed input must always come out as `ProtocolError`, never as an IndexError
or struct.error: hypothesis feeds arbitrary bytes to every decoder to make sure.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskctl.core.linak import (
    CANCEL_TARGET,
    DEFAULT_BASE_MM,
    RAW_MAX,
    SERVICE_CONTROL,
    Capabilities,
    Char,
    Command,
    DpgCommand,
    HeightReport,
    decode_base_offset,
    decode_capabilities,
    decode_dpg_answer,
    decode_height_speed,
    decode_target,
    encode_dpg_read,
    encode_dpg_write,
    encode_height_speed,
    encode_target,
    linak_uuid,
    wake_user_id,
)
from deskctl.errors import ProtocolError


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


# --- UUIDs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("char", "uuid", "service"),
    [
        (
            Char.COMMAND,
            "99fa0002-338a-1024-8a49-009c0215f78a",
            "99fa0001-338a-1024-8a49-009c0215f78a",
        ),
        (
            Char.ERROR,
            "99fa0003-338a-1024-8a49-009c0215f78a",
            "99fa0001-338a-1024-8a49-009c0215f78a",
        ),
        (Char.DPG, "99fa0011-338a-1024-8a49-009c0215f78a", "99fa0010-338a-1024-8a49-009c0215f78a"),
        (
            Char.HEIGHT_SPEED,
            "99fa0021-338a-1024-8a49-009c0215f78a",
            "99fa0020-338a-1024-8a49-009c0215f78a",
        ),
        (Char.MASK, "99fa0029-338a-1024-8a49-009c0215f78a", "99fa0020-338a-1024-8a49-009c0215f78a"),
        (
            Char.DETECT_MASK,
            "99fa002a-338a-1024-8a49-009c0215f78a",
            "99fa0020-338a-1024-8a49-009c0215f78a",
        ),
        (
            Char.REFERENCE_INPUT,
            "99fa0031-338a-1024-8a49-009c0215f78a",
            "99fa0030-338a-1024-8a49-009c0215f78a",
        ),
    ],
)
def test_characteristics_have_the_linak_uuids_and_services(
    char: Char, uuid: str, service: str
) -> None:
    assert char.value == uuid
    assert char.service == service


def test_the_advertised_control_service_and_uuid_helper() -> None:
    assert SERVICE_CONTROL == "99fa0001-338a-1024-8a49-009c0215f78a"
    assert linak_uuid(0x2A) == "99fa002a-338a-1024-8a49-009c0215f78a"


# --- height + speed reports ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "base_mm", "height_mm", "speed"),
    [
        ("00 00 00 00", 620, 620, 0),  # raw 0 is the base
        ("66 18 00 00", 620, 1245, 0),  # 6246 = 624.6 mm above base -> 625
        ("66 18 00 00", 625, 1250, 0),  # same report, base height read from the desk
        ("64 19 00 00", 620, 1270, 0),  # 6500: the top of an IDÅSEN
        ("e8 03 00 00", 620, 720, 0),  # 1000 = 100.0 mm
        ("01 00 00 00", 620, 620, 0),  # 0.1 mm rounds down
        ("04 00 00 00", 620, 620, 0),  # 0.4 mm rounds down
        ("05 00 00 00", 620, 621, 0),  # 0.5 mm rounds up
        ("09 00 00 00", 620, 621, 0),  # 0.9 mm rounds up
        ("0f 00 00 00", 620, 622, 0),  # 1.5 mm rounds up
        ("ff ff 00 00", 620, 7174, 0),  # the largest raw value still decodes
        ("e8 03 38 18", 620, 720, 6200),  # moving up at full speed
        ("e8 03 c8 e7", 620, 720, -6200),  # moving down: negative speed
        ("e8 03 ff ff", 620, 720, -1),
        ("e8 03 00 80", 620, 720, -32768),
        ("e8 03 ff 7f", 620, 720, 32767),
    ],
)
def test_height_speed_reports_decode_to_whole_mm_above_the_floor(
    wire: str, base_mm: int, height_mm: int, speed: int
) -> None:
    assert decode_height_speed(hx(wire), base_mm=base_mm) == HeightReport(height_mm, speed)


def test_the_default_base_is_620_mm() -> None:
    assert DEFAULT_BASE_MM == 620
    assert decode_height_speed(hx("00 00 00 00")).height_mm == 620


@pytest.mark.parametrize(
    ("speed", "moving", "direction"),
    [(0, False, 0), (1, True, 1), (6200, True, 1), (-1, True, -1), (-6200, True, -1)],
)
def test_only_the_sign_of_the_speed_is_used(speed: int, moving: bool, direction: int) -> None:
    report = HeightReport(720, speed)
    assert report.moving is moving
    assert report.direction == direction


@pytest.mark.parametrize(
    ("raw", "speed", "wire"),
    [(0, 0, "00 00 00 00"), (6246, 0, "66 18 00 00"), (1000, -6200, "e8 03 c8 e7")],
)
def test_height_speed_encodes_in_wire_units(raw: int, speed: int, wire: str) -> None:
    assert encode_height_speed(raw, speed) == hx(wire)


@pytest.mark.parametrize(("raw", "speed"), [(-1, 0), (0x10000, 0), (0, 0x8000), (0, -0x8001)])
def test_height_speed_that_does_not_fit_is_refused(raw: int, speed: int) -> None:
    with pytest.raises(ProtocolError):
        encode_height_speed(raw, speed)


@pytest.mark.parametrize(
    "wire", ["", "00", "00 00", "00 00 00", "00 00 00 00 00", "66 18 00 00 00 00"]
)
def test_height_reports_of_the_wrong_size_are_protocol_errors(wire: str) -> None:
    with pytest.raises(ProtocolError, match="4 bytes"):
        decode_height_speed(hx(wire))


# --- move-to target and commands -------------------------------------------------------------


@pytest.mark.parametrize(
    ("height_mm", "base_mm", "wire"),
    [
        (620, 620, "00 00"),
        (621, 620, "0a 00"),
        (720, 620, "e8 03"),
        (1245, 620, "6a 18"),
        (1270, 620, "64 19"),
        (1245, 625, "38 18"),
        (3896, 620, "f8 7f"),  # the largest target the codec encodes
    ],
)
def test_move_to_targets_encode_and_decode(height_mm: int, base_mm: int, wire: str) -> None:
    assert encode_target(height_mm, base_mm=base_mm) == hx(wire)
    assert decode_target(hx(wire), base_mm=base_mm) == height_mm


@pytest.mark.parametrize(
    ("height_mm", "base_mm"), [(619, 620), (0, 620), (-720, 620), (624, 625), (3897, 620)]
)
def test_targets_out_of_range_are_refused(height_mm: int, base_mm: int) -> None:
    with pytest.raises(ProtocolError):
        encode_target(height_mm, base_mm=base_mm)


def test_the_cancel_value_decodes_to_none() -> None:
    assert hx("01 80") == CANCEL_TARGET
    assert decode_target(hx("01 80")) is None


@pytest.mark.parametrize(
    ("wire", "height_mm"),
    [("05 00", 621), ("04 00", 620), ("66 18", 1245), ("ff 7f", 620 + 3277)],
)
def test_targets_that_are_not_whole_mm_round_half_up(wire: str, height_mm: int) -> None:
    assert decode_target(hx(wire)) == height_mm


@pytest.mark.parametrize("wire", ["", "00", "00 00 00", "01 80 00", "00 80", "02 80", "ff ff"])
def test_malformed_targets_are_protocol_errors(wire: str) -> None:
    with pytest.raises(ProtocolError):
        decode_target(hx(wire))


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (Command.UP, "47 00"),
        (Command.DOWN, "46 00"),
        (Command.STOP, "ff 00"),
        (Command.WAKE, "fe 00"),
    ],
)
def test_command_values(command: Command, wire: str) -> None:
    assert bytes(command) == hx(wire)
    assert command == hx(wire)
    assert Command(hx(wire)) is command


# --- DPG framing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (DpgCommand.CAPABILITIES, "7f 80 00"),
        (DpgCommand.BASE_OFFSET, "7f 81 00"),
        (DpgCommand.USER_ID, "7f 86 00"),
    ],
)
def test_dpg_reads_are_framed_7f_cmd_00(command: DpgCommand, wire: str) -> None:
    assert encode_dpg_read(command) == hx(wire)


@pytest.mark.parametrize(
    ("command", "data", "wire"),
    [
        (DpgCommand.USER_ID, "01", "7f 86 80 01"),
        (DpgCommand.USER_ID, "01 11 22 33", "7f 86 80 01 11 22 33"),
        (DpgCommand.CAPABILITIES, "", "7f 80 80"),
    ],
)
def test_dpg_writes_are_framed_7f_cmd_80_data(command: DpgCommand, data: str, wire: str) -> None:
    assert encode_dpg_write(command, hx(data)) == hx(wire)


@pytest.mark.parametrize(
    ("wire", "payload"),
    [
        ("01 03 01 66 18", "01 66 18"),  # the base-offset dump on record
        ("01 00", ""),
        ("01 01 2b", "2b"),
        ("01 01 2b 00", "2b 00"),  # bytes past the announced length are kept (like the sources)
    ],
)
def test_dpg_answers_yield_their_payload(wire: str, payload: str) -> None:
    assert decode_dpg_answer(hx(wire)) == hx(payload)


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ("", "at least 2 bytes"),
        ("01", "at least 2 bytes"),
        ("00 03 01 66 18", "refused"),  # byte 0 is not the valid flag
        ("02 03 01 66 18", "refused"),
        ("ff 00", "refused"),
        ("01 05 01 66 18", "announced 5 bytes"),  # announced length longer than the payload
        ("01 01", "announced 1 bytes"),
    ],
)
def test_malformed_dpg_answers_are_protocol_errors(wire: str, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        decode_dpg_answer(hx(wire))


# --- DPG payloads ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "base_mm"),
    [
        ("01 66 18", 625),  # 624.6 mm, rounded
        ("01 38 18", 620),  # 620.0 mm
        ("01 6c 17", 600),  # 599.6 mm
        ("01 6b 17", 600),  # 599.5 mm rounds up
        ("01 6a 17", 599),  # 599.4 mm rounds down
    ],
)
def test_base_offset_in_whole_mm(payload: str, base_mm: int) -> None:
    assert decode_base_offset(hx(payload)) == base_mm


def test_the_base_offset_dump_on_record_is_625_mm() -> None:
    assert decode_base_offset(decode_dpg_answer(hx("01 03 01 66 18"))) == 625


@pytest.mark.parametrize("payload", ["", "01", "01 66"])
def test_short_base_offsets_are_protocol_errors(payload: str) -> None:
    with pytest.raises(ProtocolError):
        decode_base_offset(hx(payload))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("00", Capabilities(0, False, False, False, False, False)),
        ("07", Capabilities(7, False, False, False, False, False)),
        ("03", Capabilities(3, False, False, False, False, False)),
        ("08", Capabilities(0, True, False, False, False, False)),
        ("10", Capabilities(0, False, True, False, False, False)),
        ("20", Capabilities(0, False, False, True, False, False)),
        ("40", Capabilities(0, False, False, False, True, False)),
        ("80", Capabilities(0, False, False, False, False, True)),
        ("ff", Capabilities(7, True, True, True, True, True)),
        ("24 01", Capabilities(4, False, False, True, False, False)),  # byte 1 is not a capability
    ],
)
def test_capabilities_bit_fields(payload: str, expected: Capabilities) -> None:
    assert decode_capabilities(hx(payload)) == expected


def test_empty_capabilities_are_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode_capabilities(b"")


@pytest.mark.parametrize(
    ("payload", "write_back"),
    [
        ("01", None),  # already awake
        ("01 00 00 00", None),
        ("00", "7f 86 80 01"),
        ("00 11 22", "7f 86 80 01 11 22"),  # the rest of the user id is kept
        ("02 aa", "7f 86 80 01 aa"),
        ("ff", "7f 86 80 01"),
    ],
)
def test_wake_user_id_writes_back_first_byte_1(payload: str, write_back: str | None) -> None:
    expected = None if write_back is None else hx(write_back)
    assert wake_user_id(hx(payload)) == expected


def test_an_empty_user_id_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        wake_user_id(b"")


# --- properties ------------------------------------------------------------------------------

DECODERS: list[Callable[[bytes], object]] = [
    decode_height_speed,
    decode_target,
    decode_dpg_answer,
    decode_base_offset,
    decode_capabilities,
    wake_user_id,
]


@pytest.mark.parametrize("decode", DECODERS, ids=lambda f: f.__name__)
@given(data=st.binary(max_size=24))
def test_any_bytes_decode_to_a_value_or_a_protocol_error(
    decode: Callable[[bytes], object], data: bytes
) -> None:
    message = ""
    try:
        decode(data)
    except ProtocolError as error:
        message = str(error)
    assert "\n" not in message


BASES = st.integers(min_value=560, max_value=700)


@given(base_mm=BASES, above_mm=st.integers(min_value=0, max_value=RAW_MAX // 10))
def test_every_valid_target_round_trips(base_mm: int, above_mm: int) -> None:
    height_mm = base_mm + above_mm
    wire = encode_target(height_mm, base_mm=base_mm)
    assert len(wire) == 2
    assert wire != CANCEL_TARGET
    assert decode_target(wire, base_mm=base_mm) == height_mm


@given(base_mm=BASES, height_mm=st.integers())
def test_a_target_either_round_trips_or_is_refused(base_mm: int, height_mm: int) -> None:
    try:
        wire = encode_target(height_mm, base_mm=base_mm)
    except ProtocolError:
        assert not base_mm <= height_mm <= base_mm + RAW_MAX // 10
    else:
        assert decode_target(wire, base_mm=base_mm) == height_mm


@given(
    base_mm=BASES,
    raw=st.integers(min_value=0, max_value=0xFFFF),
    speed=st.integers(min_value=-0x8000, max_value=0x7FFF),
)
def test_height_reports_round_trip_to_the_nearest_mm(base_mm: int, raw: int, speed: int) -> None:
    report = decode_height_speed(encode_height_speed(raw, speed), base_mm=base_mm)
    assert report.speed == speed
    # the nearest whole mm; a tie (x.5 mm) goes up
    assert -5 < (report.height_mm - base_mm) * 10 - raw <= 5
