"""The Jiecang codec against every test vector in JIECANG.md, and the report parser's cases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deskctl.core.jiecang import (
    HAZARDOUS_OPS,
    VARIANTS,
    DisplayUnit,
    ErrorReport,
    HeightReport,
    LimitsReport,
    MemoryReport,
    Op,
    ReportParser,
    ResetReport,
    UnitReport,
    UnknownReport,
    encode,
    encode_move_to,
    find_variant,
    guess_unit,
    is_jiecang_service,
    recall_op,
    save_op,
    uuid16,
)
from deskctl.errors import ProtocolError

ROOT = Path(__file__).resolve().parent.parent


def wire(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("frame", "op"),
    [
        ("F1 F1 00 00 00 7E", Op.WAKE),
        ("F1 F1 01 00 01 7E", Op.UP),
        ("F1 F1 02 00 02 7E", Op.DOWN),
        ("F1 F1 2B 00 2B 7E", Op.STOP),
        ("F1 F1 05 00 05 7E", Op.RECALL_1),
        ("F1 F1 28 00 28 7E", Op.RECALL_4),
        ("F1 F1 07 00 07 7E", Op.REQUEST_SETTINGS),
        ("F1 F1 0C 00 0C 7E", Op.REQUEST_LIMITS),
    ],
)
def test_commands_are_the_bytes_the_desks_were_seen_to_take(frame: str, op: Op) -> None:
    assert encode(op) == wire(frame)


@pytest.mark.parametrize(
    ("frame", "target_mm"), [("F1 F1 1B 02 04 6A 8B 7E", 1130), ("F1 F1 1B 02 02 AD CC 7E", 685)]
)
def test_move_to_is_big_endian_millimetres_as_the_uplift_app_sends_it(
    frame: str, target_mm: int
) -> None:
    assert encode_move_to(target_mm) == wire(frame)


def test_move_to_in_tenths_of_an_inch_for_a_box_that_counts_in_its_display_unit() -> None:
    assert encode_move_to(792, DisplayUnit.INCH) == encode(Op.MOVE_TO, (312).to_bytes(2, "big"))


def test_a_box_that_swaps_its_sync_bytes_is_sent_f2_f2() -> None:
    assert encode(Op.STOP, swapped=True) == wire("F2 F2 2B 00 2B 7E")


def test_memory_slots_one_to_four_and_nothing_else() -> None:
    assert [recall_op(s) for s in range(1, 5)] == [0x05, 0x06, 0x27, 0x28]
    assert [save_op(s) for s in range(1, 5)] == [0x03, 0x04, 0x25, 0x26]
    for slot in (0, 5, -1):
        with pytest.raises(ProtocolError, match="memory slots 1 to 4"):
            recall_op(slot)


@pytest.mark.parametrize(
    ("frame", "report"),
    [
        ("F2 F2 01 03 05 06 07 16 7E", HeightReport(1286)),
        ("F2 F2 01 03 01 38 07 44 7E", HeightReport(312)),
        ("F2 F2 07 04 05 14 02 8A B0 7E", LimitsReport(max_mm=1300, min_mm=650)),
        ("F2 F2 0E 01 00 0F 7E", UnitReport(DisplayUnit.CM)),
        ("F2 F2 0E 01 01 10 7E", UnitReport(DisplayUnit.INCH)),
    ],
)
def test_reports_from_the_vectors(frame: str, report: object) -> None:
    parser = ReportParser()
    assert parser.reports(wire(frame)) == [report]
    assert (parser.dropped, parser.skipped_bytes) == (0, 0)


def test_a_height_in_the_display_unit_becomes_millimetres() -> None:
    assert HeightReport(1286).height_mm(DisplayUnit.CM) == 1286
    assert HeightReport(312).height_mm(DisplayUnit.INCH) == 792  # 31.2 in
    assert DisplayUnit.INCH.from_mm(792) == 312


@pytest.mark.parametrize(
    ("tenths", "unit"),
    [(240, DisplayUnit.INCH), (530, DisplayUnit.INCH), (650, DisplayUnit.CM),
     (1290, DisplayUnit.CM), (239, None), (600, None), (1291, None)],
)  # fmt: skip
def test_the_range_rule_guesses_the_unit_only_where_it_is_unambiguous(
    tenths: int, unit: DisplayUnit | None
) -> None:
    assert guess_unit(tenths) is unit


def test_the_wrong_checksum_seen_in_the_wild_is_dropped_and_counted() -> None:
    parser = ReportParser()
    assert parser.reports(wire("F1 F1 2B 00 27 7E")) == []
    assert parser.dropped == 1


def test_several_frames_in_one_notification() -> None:
    two = wire("F2 F2 01 03 05 06 07 16 7E F2 F2 0E 01 00 0F 7E")
    assert ReportParser().reports(two) == [HeightReport(1286), UnitReport(DisplayUnit.CM)]


def test_a_frame_split_across_notifications_is_whole_once_the_rest_arrives() -> None:
    parser = ReportParser()
    frame = wire("F2 F2 07 04 05 14 02 8A B0 7E")
    for cut in range(1, len(frame)):
        assert parser.reports(frame[:cut]) == []
        assert parser.reports(frame[cut:]) == [LimitsReport(1300, 650)]
    assert parser.dropped == 0


def test_garbage_before_a_frame_is_skipped() -> None:
    parser = ReportParser()
    assert parser.reports(wire("00 7E F2 13 F2 F2 01 03 05 06 07 16 7E")) == [HeightReport(1286)]
    assert parser.skipped_bytes == 4


def test_a_payload_holding_7e_is_read_by_its_length() -> None:
    frame = encode(Op.MOVE_TO, bytes((0x7E, 0x7E)))  # a command frame: F1 F1 is taken too
    assert ReportParser().reports(frame) == [UnknownReport(0x1B, b"\x7e\x7e")]


def test_a_bad_frame_does_not_hide_the_good_one_behind_it() -> None:
    bad = wire("F2 F2 01 03 05 06 07 99 7E")
    good = wire("F2 F2 01 03 05 07 07 17 7E")
    parser = ReportParser()
    assert parser.reports(bad + good) == [HeightReport(1287)]
    assert parser.dropped == 1


def test_a_sync_pair_in_noise_with_a_huge_length_does_not_stall_the_parser() -> None:
    parser = ReportParser()
    assert parser.reports(wire("F2 F2 01 FF")) == []
    assert parser.reports(wire("F2 F2 01 03 05 06 07 16 7E")) == [HeightReport(1286)]


@pytest.mark.parametrize(
    ("frame", "report", "name"),
    [
        ("F2 F2 02 01 01 04 7E", ErrorReport(1), "E01"),
        ("F2 F2 02 01 0A 0D 7E", ErrorReport(10), "E10"),
        ("F2 F2 02 01 0E 11 7E", ErrorReport(0x0E), "H01"),
        ("F2 F2 02 01 10 13 7E", ErrorReport(0x10), "LOCK"),
    ],
)
def test_errors_name_what_the_display_shows_and_say_what_to_do(
    frame: str, report: ErrorReport, name: str
) -> None:
    assert ReportParser().reports(wire(frame)) == [report]
    assert report.name == name
    assert name in report.sentence


def test_h01_says_the_motor_needs_about_sixteen_minutes() -> None:
    assert "about 16 minutes" in ErrorReport(0x0E).sentence


def test_memories_reset_and_unknown_reports() -> None:
    frames = wire("F2 F2 27 02 04 6A 97 7E F2 F2 04 00 04 7E F2 F2 40 00 40 7E F2 F2 33 00 33 7E")
    assert ReportParser().reports(frames) == [
        MemoryReport(3, 1130),
        ResetReport(),
        ResetReport(),
        UnknownReport(0x33, b""),
    ]


def test_no_hazardous_op_can_be_encoded() -> None:
    assert not HAZARDOUS_OPS & {int(op) for op in Op}
    for op in range(256):
        if op not in {int(o) for o in Op}:
            with pytest.raises(ProtocolError):
                encode(op)  # type: ignore[arg-type]


def test_no_module_but_the_codec_builds_a_jiecang_frame() -> None:
    """Frames come from `encode` only, so the hazardous ops stay unsendable everywhere."""
    pattern = re.compile(r"\\xf1\\xf1|0xF1,\s*0xF1|F1 ?F1|COMMAND_SYNC", re.IGNORECASE)
    codec = ROOT / "deskctl" / "core" / "jiecang.py"
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "deskctl").rglob("*.py")
        if path != codec and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_move_to_refuses_what_two_bytes_cannot_carry() -> None:
    for bad in (0, -5, 70_000):
        with pytest.raises(ProtocolError, match="cannot be sent"):
            encode_move_to(bad)


def test_the_variant_comes_from_the_gatt_database_not_the_advertisement() -> None:
    served = {uuid16(0xFF00): [uuid16(0xFF01), uuid16(0xFF02)], uuid16(0x180A): []}
    variant = find_variant(served)
    assert variant is not None
    assert variant.name == "FF00"
    assert is_jiecang_service([uuid16(0x00FF)])  # it advertised 00FF
    assert find_variant({uuid16(0x180A): [uuid16(0x2A29)]}) is None


def test_every_variant_is_found_by_its_own_characteristics() -> None:
    for variant in VARIANTS:
        served = {variant.service.upper(): [variant.write.upper(), variant.notify]}
        assert find_variant(served) == variant
