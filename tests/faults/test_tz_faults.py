"""TZ in every form the C library reads: the schedule keeps the time `date` shows, or says why not.

Each form runs the real `deskctl` in a subprocess with that TZ: `plan --json` shows the offsets,
and they are the ones the C library gives the same instant under the same TZ (`time.localtime`'s
`tm_gmtoff`, asked in a subprocess of its own); a simulated `deskctl run` and `deskctl status`
agree with `plan`. A TZ nothing can read is what the C library makes of it (UTC), said once in one
sentence. Found by issue 10 (docs/robustness.md): a POSIX rule, `TZ=` or an unknown name was
silently replaced by /etc/localtime, and the schedule ran hours off.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from deskctl.clocks.localzone import local_tz
from tests.cli import deskctl, deskctl_in_process
from tests.faults.tally import counter
from tests.service_process import start_service

pytestmark = pytest.mark.fault
TALLY = counter(__name__)

WINTER, SUMMER = "2026-01-14", "2026-07-15"  # Wednesdays: the default profile works 09:00-17:30
# TZ, the offset in winter and in summer, whether it is a zone nothing can read
FORMS = [
    ("EST5EDT,M3.2.0,M11.1.0", "-05:00", "-04:00", False),
    ("<+0530>-5:30", "+05:30", "+05:30", False),
    (":Europe/Berlin", "+01:00", "+02:00", False),
    ("", "+00:00", "+00:00", False),
    ("Mars/Olympus", "+00:00", "+00:00", True),
]
IDS = ["posix-rule", "posix-quoted", "colon-name", "empty", "unknown"]


def libc_offset(tz: str, instant: datetime) -> str:
    """The offset the C library gives `instant` under `TZ=tz`, like +05:30."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, time; print(time.localtime(int(sys.argv[1])).tm_gmtoff)",
            str(int(instant.timestamp())),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": tz},
    )
    minutes = int(done.stdout) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def tz_warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if "is not a time zone" in line]


@pytest.mark.parametrize(("tz", "winter", "summer", "unknown"), FORMS, ids=IDS)
def test_plan_keeps_the_time_the_c_library_keeps(
    tmp_path: Path, tz: str, winter: str, summer: str, unknown: bool
) -> None:
    for day, offset in ((WINTER, winter), (SUMMER, summer)):
        TALLY.tried()
        done = deskctl(tmp_path, "plan", "--json", "--date", day, TZ=tz)  # warns once a process
        assert done.returncode == 0, done.stderr
        start = json.loads(done.stdout)["blocks"][0]["start"]
        assert start == f"{day}T09:00:00{offset}", f"TZ={tz!r}"
        assert libc_offset(tz, datetime.fromisoformat(start)) == offset, "as the C library says"
        warnings = tz_warnings(done.stderr)
        assert len(warnings) == (1 if unknown else 0), done.stderr
        if unknown:
            assert warnings[0] == (
                "TZ='Mars/Olympus' is not a time zone deskctl can read; "
                "using UTC, as the C library does"
            )


@pytest.mark.parametrize(("tz", "winter", "summer", "unknown"), FORMS, ids=IDS)
def test_the_running_service_and_status_keep_the_same_time_as_plan(
    tmp_path: Path, tz: str, winter: str, summer: str, unknown: bool
) -> None:
    TALLY.tried()
    proc = start_service(tmp_path, "--from", "2026-12-02T08:00", TZ=tz)  # 08:00 in that zone
    try:
        status = deskctl(tmp_path, "status", "--json", TZ=tz)
        assert status.returncode == 0, status.stderr
        next_change_at = json.loads(status.stdout)["next_change_at"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    plan = deskctl_in_process(tmp_path, "plan", "--json", "--date", "2026-12-02", TZ=tz)
    first = json.loads(plan.stdout)["blocks"][0]["start"]
    assert next_change_at == first == f"2026-12-02T09:00:00{winter}", f"TZ={tz!r}"
    assert len(tz_warnings(out)) == (1 if unknown else 0), out


def test_an_empty_tz_is_utc_whatever_the_system_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    TALLY.tried(2)
    monkeypatch.setattr(os, "readlink", lambda path: "/usr/share/zoneinfo/Asia/Tokyo")
    monkeypatch.delenv("TZ", raising=False)
    assert str(local_tz()) == "Asia/Tokyo", "no TZ: the system's zone (/etc/localtime)"
    monkeypatch.setenv("TZ", "")
    assert str(local_tz()) == "UTC", "TZ= (empty) is UTC, as the C library reads it"


@pytest.mark.parametrize(
    ("tz", "offset"), [("EST5EDT,M3.2.0,M11.1.0", "-05:00"), ("<-03>3", "-03:00")]
)
def test_plan_tz_takes_a_posix_rule_and_refuses_nonsense_in_one_sentence(
    tmp_path: Path, tz: str, offset: str
) -> None:
    TALLY.tried(2)
    done = deskctl_in_process(tmp_path, "plan", "--json", "--date", WINTER, "--tz", tz)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["blocks"][0]["start"] == f"{WINTER}T09:00:00{offset}"
    bad = deskctl_in_process(tmp_path, "plan", "--date", WINTER, "--tz", "Mars/Olympus")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "is not a time zone" in bad.stderr
