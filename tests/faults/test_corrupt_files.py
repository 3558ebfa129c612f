"""Corrupt settings, profile and cue files, met by every command that reads them.

Each file is broken the ways files get broken: cut short mid-write, a value of the wrong type,
binary garbage, values far too large (also more digits than Python turns into an int), a key
nobody knows, nesting deeper than the TOML parser recurses. Every CLI entry point that reads the
file, run as a person runs it (`deskctl.cli.main` with its own folders), must exit 2 (`run`: 78,
the configuration-error status its systemd unit does not restart after) with one sentence
that names the file: never a traceback, never a run that goes ahead. `run` runs in a subprocess
(a run that went ahead would never end by itself; a subprocess can be timed out); the commands
that end in a sentence run in this process, one after another, which is ten times quicker than
starting an interpreter for each.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deskctl.adapters.systemd import CONFIG_ERROR_EXIT
from tests.cli import cli_env, deskctl_in_process
from tests.faults.tally import counter

pytestmark = pytest.mark.fault
TALLY = counter(__name__)

DEEP = b"[" * 5000 + b"]" * 5000
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01garbage\x80\x81"
VALID_CUE = (
    b'[[cue]]\nid = "mine"\ntitle = "Mine"\nsteps = ["Do it."]\narea = "neck"\n'
    b'kind = "stretch"\nsuits = ["to_stand"]\n'
)

SETTINGS = {
    "truncated": b'[desks.office]\nlink = "si',
    "wrong-type": b'[desks.office]\nmin_mm = "low"\n',
    "binary": BINARY,
    "huge": b"[desks.office]\nmax_mm = 99999999999999999999999999\n",
    "digits": b"[mqtt]\nport = " + b"9" * 5000 + b"\n",
    "unknown-key": b'[desks.office]\ncolour = "red"\n',
    "deep": b"desks = " + DEEP + b"\n",
    "hook-as-string": b'[notify]\ncommand = "notify-send hi; rm -rf ~"\n',
}
PROFILES = {
    "truncated": b'sit = "72cm"\nstand = "110',
    "wrong-type": b'sit = true\nstand = "110cm"\n',
    "binary": BINARY,
    "huge": b'sit = "72cm"\nstand = "110cm"\nwarn_s = 99999999999999999999\n',
    "digits": b"sit = " + b"7" * 5000 + b'\nstand = "110cm"\n',
    "unknown-key": b'sit = "72cm"\nstand = "110cm"\ncolour = "red"\n',
    "deep": b'sit = "72cm"\nstand = "110cm"\ncycle = ' + DEEP + b"\n",
}
CUES = {
    "truncated": VALID_CUE[:40],
    "wrong-type": VALID_CUE + b'duration_s = "long"\n',
    "binary": BINARY,
    "huge": VALID_CUE + b"duration_s = 1000000000000000000\n",
    "digits": VALID_CUE + b"duration_s = " + b"1" * 5000 + b"\n",
    "unknown-key": VALID_CUE + b'duration_s = 60\ncolour = "red"\n',
    "deep": b"cue = " + DEEP + b"\n",
}

RUN = ["run", "--simulate", "--time-scale", "60", "--from", "2026-11-30T08:59"]
READERS = {  # every command that reads the file, with {file} standing for its path
    "settings": [["status", "--simulate"], ["plan"], RUN, ["config", "show"]],
    "profile": [["status", "--simulate"], ["plan"], ["profile", "validate", "{file}"], RUN],
    "cues": [["plan"], ["cues", "list"], RUN],
}
WHERE = {
    "settings": "config/settings.toml",
    "profile": "config/profiles/default.toml",
    "cues": "config/cues/mine.toml",
}
CASES = [
    pytest.param(kind, name, content, id=f"{kind}-{name}")
    for kind, table in (("settings", SETTINGS), ("profile", PROFILES), ("cues", CUES))
    for name, content in table.items()
]


def start_run(tmp_path: Path, args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "deskctl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(tmp_path),
        cwd=tmp_path,
    )


def finished(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        out, err = proc.communicate(timeout=60)  # a run that went ahead would never end
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(("kind", "name", "content"), CASES)
def test_every_reader_of_a_corrupt_file_exits_2_naming_it(
    tmp_path: Path, kind: str, name: str, content: bytes
) -> None:
    path = tmp_path / WHERE[kind]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    TALLY.fault()
    commands = [[arg.replace("{file}", str(path)) for arg in args] for args in READERS[kind]]
    run = start_run(tmp_path, RUN) if RUN in commands else None  # meanwhile, the others:
    done = {
        i: deskctl_in_process(tmp_path, *args) for i, args in enumerate(commands) if args != RUN
    }
    if run is not None:
        done[commands.index(RUN)] = finished(run)
    TALLY.tried(len(done))
    for index, args in enumerate(commands):
        result = done[index]
        said = f"deskctl {' '.join(args)}: {result.stderr!r}"
        # `run` says "configuration error" with its own status, which its systemd unit does not
        # restart after
        assert result.returncode == (CONFIG_ERROR_EXIT if args[0] == "run" else 2), said
        assert "Traceback" not in result.stderr + result.stdout, said
        lines = result.stderr.splitlines()
        assert len(lines) == 1, said
        assert lines[0].startswith("deskctl: "), said
        assert path.name in lines[0], f"the sentence names the file: {said}"
    assert not (tmp_path / "run" / "control.sock").exists(), "no service went ahead"
