"""Jiecang notifications: any bytes a radio can deliver, cut anywhere, fed to the report parser.

What a person relies on: whatever arrives, the parser answers a list of reports and never raises,
and the good frames among noise, merged or split notifications come out whole, in order, once.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from deskctl.core.jiecang import (
    DisplayUnit,
    HeightReport,
    LimitsReport,
    Report,
    ReportParser,
    UnitReport,
    encode_report,
)
from tests.faults.tally import counter

TALLY = counter(__name__)


REPORTS: dict[str, tuple[int, bytes, Report]] = {
    "height": (0x01, bytes((0x05, 0x06, 0x07)), HeightReport(1286)),
    "limits": (0x07, bytes((0x05, 0x14, 0x02, 0x8A)), LimitsReport(1300, 650)),
    "unit": (0x0E, b"\x01", UnitReport(DisplayUnit.INCH)),
}


def cut(data: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=600, deadline=None)
@given(data=st.binary(max_size=300), points=st.lists(st.integers(0, 400), max_size=12))
def test_any_bytes_cut_anywhere_never_make_the_parser_raise(data: bytes, points: list[int]) -> None:
    TALLY.tried()
    parser = ReportParser()
    for chunk in cut(data, points):
        assert isinstance(parser.reports(chunk), list)


@settings(max_examples=400, deadline=None)
@given(
    frames=st.lists(st.sampled_from(sorted(REPORTS)), min_size=1, max_size=8),
    noise=st.lists(
        st.binary(max_size=6).filter(lambda b: b"\xf2" not in b and b"\xf1" not in b),
        min_size=9,
        max_size=9,
    ),
    points=st.lists(st.integers(0, 200), max_size=10),
)
def test_good_frames_among_noise_come_out_whole_in_order_and_once(
    frames: list[str], noise: list[bytes], points: list[int]
) -> None:
    TALLY.tried()
    stream = (
        b"".join(noise[i] + encode_report(*REPORTS[name][:2]) for i, name in enumerate(frames))
        + noise[-1]
    )
    parser = ReportParser()
    found = [r for chunk in cut(stream, points) for r in parser.reports(chunk)]
    assert found == [REPORTS[name][2] for name in frames]
    assert parser.dropped == 0


@settings(max_examples=300, deadline=None)
@given(flip_at=st.integers(2, 8), bit=st.integers(0, 7))
def test_a_flipped_bit_never_becomes_a_different_height(flip_at: int, bit: int) -> None:
    TALLY.fault()
    frame = bytearray(encode_report(0x01, bytes((0x04, 0x6A, 0x07))))
    frame[flip_at] ^= 1 << bit
    reports = ReportParser().reports(bytes(frame))
    assert all(r == HeightReport(1130) or not isinstance(r, HeightReport) for r in reports)
