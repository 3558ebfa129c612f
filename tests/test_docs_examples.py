"""Every shell example in README.md and docs/*.md runs here, so the docs cannot drift.

The convention (docs/architecture.md, "Examples that run", says the same):
- In a ```sh or ```bash block every line is one command. In a ```console block the `$ ` lines are
  commands, and the lines under one are what it prints: each must appear in its output (stdout
  and stderr; the test's home folder reads `/home/me`).
- The comment after ` # ` on a command's line may state the result. `# exits N: words` means
  exit code N and those words in stderr; without it the command must exit 0. Text in double
  quotes (`"at 110.0 cm"`) must appear in the output, and a comment that starts with `{` lists
  fields the command's JSON output must have (`...` stands for the rest).
- A command that runs until Ctrl-C is in UNTIL_CTRL_C with what it shows once it is up; the
  test waits for that, presses Ctrl-C, and expects exit 0.
- A command that cannot run here (a real desk, the real systemd, apt, minutes of benchmarks) is
  in EXCUSED with a one-line reason; every other command runs. A new example is therefore either
  run or excused, and an excuse whose example is gone fails too.
- ```text blocks that show what deskctl prints are compared with what it really prints (the
  tests below); the others are in TEXT_EXCUSED with a reason.

How the commands run: with bash, in a folder of their own (the home folder, deskctl's config,
state and runtime folders inside the test's temporary folder), with one simulated desk `office`
in the settings and a private mosquitto. `deskctl` and `.venv/bin/deskctl` are this checkout's
CLI; a move of the simulated desk runs 10 times faster (`--time-scale 10`, so the whole file
stays under a minute). `mosquitto_pub`/`mosquitto_sub` reach the private broker whatever host
the line names, and `mosquitto_sub` ends after one message. The lines that speak MQTT go to one
`deskctl run` started for them, with its own state and runtime folders (so the CLI's direct
commands on the same desk never meet it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from deskctl.adapters import control_client
from deskctl.adapters.history_store import Store
from deskctl.adapters.notify.text import log_text
from deskctl.config.settings import DeskSettings, Settings
from deskctl.service.core import Service
from deskctl.service.events import notice_for
from tests.cli import cli_env, deskctl
from tests.mosquitto import Broker, run_mosquitto
from tests.service_harness import TZ, Recorded, run_service, sim

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = ("sh", "bash", "console")

# command (as written, without its comment) -> why it cannot run here
EXCUSED = {
    "bash scripts/demo": "installs with apt, then runs until Ctrl-C; test_the_demo_transcript_"
    "is_what_the_service_prints checks what it shows",
    "bash scripts/check": "installs with apt, then runs the whole suite (minutes); CI runs it",
    'deskctl scan --proxy desk-proxy.local --proxy-key "$PROXY_KEY"': "needs a real ESPHome "
    "proxy on the network; tests/test_proxy_cli.py scans through the emulated one",
    "deskctl init": "scans for a real Bluetooth desk and asks questions; tests/test_init.py "
    "drives the same path on the simulated and the emulated desk",
    "systemctl --user restart deskctl": "would restart the real user's service",
    'printf \'{"id":1,"cmd":"status"}\\n\' | socat - UNIX-CONNECT:'
    '"$XDG_RUNTIME_DIR/deskctl/control.sock"': "socat is not installed here; "
    "tests/test_control.py speaks the same protocol to the same socket",
    ".venv/bin/python bench/run_all.py": "every benchmark: about 16 minutes",
    ".venv/bin/python bench/run_all.py --quick": "about 3 1/2 minutes of benchmarks",
    ".venv/bin/python bench/run_all.py --only cli_start workday": "installs the peers from "
    "PyPI, then measures for minutes",
    ".venv/bin/pytest tests/faults tests/fuzz": "the whole fault and fuzz suite: minutes",
    ".venv/bin/pytest -m fault": "the whole fault suite: minutes",
    "#!/bin/sh": "a hook script's first line, not a command (the block is a script file)",
    '[ "$DESKCTL_KIND" = cue ] || exit 0': "a line of the hook script above",
    'printf \'%s\\n%s\\n\' "$DESKCTL_CUE_TITLE" "$DESKCTL_CUE_STEPS" | espeak-ng': "a line "
    "of the hook script above; espeak-ng speaks aloud",
}

# ```text blocks not compared with output: (file, first line) -> why
TEXT_EXCUSED = {
    ("docs/scaling.md", "room 2.14 (6 desks)"): "a drawing of an office, not output",
    ("docs/scaling.md", "user gw-r214"): "a mosquitto ACL file to copy, not output",
    ("docs/robustness.md", "fault and fuzz counts"): "the counts of a full fault run (minutes); "
    "the lead refreshes them from one",
}

# a command that runs until Ctrl-C: what it prints once it is up (then Ctrl-C must end it, exit 0)
UNTIL_CTRL_C = {
    "deskctl emulate esphome --host localhost --port 1883 --prefix upsy-desky-test "
    "--preset upsy": "emulating 'upsy-desky-test'",
    "deskctl emulate proxy --port 0 --key ZGVza2N0bC1leGFtcGxlLWFwaS1rZXktMzItYnl0ZXM=": (
        "emulating an ESPHome Bluetooth proxy"
    ),
}

# a command whose effect is checked beyond its exit code: command -> (status field, value)
EFFECTS = {
    "mosquitto_pub -t deskctl/office/inhibit/set -m ON": ("inhibited", True),
    "mosquitto_pub -h broker -t deskctl/all/inhibit/set -m ON": ("inhibited", True),
    "mosquitto_pub -t deskctl/all/posture/set -m stand": ("posture", "stand"),  # or on its way
}

# files the examples read, as a person following the docs would have them
FILES = {
    "my.toml": 'sit = "72cm"\nstand = "110cm"\n',
    "seated.toml": 'sit = "72cm"\nstand = "110cm"\ncycle = [\n'
    + '  { posture = "sit", minutes = 240 },\n' * 3
    + "]\n",
    "profiles/x.toml": 'sit = "72cm"\nstand = "110cm"\ncycle = [\n'
    '  { posture = "sit", minutes = 30 },\n  { posture = "stand", minutes = 0 },\n]\n',
}


@dataclass
class Example:
    file: str
    line: int
    lang: str
    text: str  # the command, or a text block's body
    comment: str = ""
    output: list[str] = field(default_factory=list)  # a console block's lines under a command

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def blocks(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line of the opening fence, language, body lines) of each fenced block."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if fence is None:
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        yield start, fence.group(1), body
        i += 1


def _split_comment(line: str) -> tuple[str, str]:
    """`cmd  # what it does` -> (cmd, what it does); a `#` inside quotes is part of the command."""
    for match in re.finditer(r"\s#\s|\s#$", line):
        before = line[: match.start()]
        if before.count("'") % 2 == 0 and before.count('"') % 2 == 0:
            return before.strip(), line[match.end() :].strip()
    return line.strip(), ""


def examples() -> list[Example]:
    found: list[Example] = []
    for path in DOCS:
        name = str(path.relative_to(ROOT))
        for start, lang, body in blocks(path):
            if lang == "text":
                found.append(Example(name, start, lang, "\n".join(body)))
            elif lang in SHELL:
                for offset, line in enumerate(body):
                    at = start + offset + 1
                    if lang == "console":
                        if line.startswith("$ "):
                            cmd, comment = _split_comment(line[2:])
                            found.append(Example(name, at, lang, cmd, comment))
                        elif found and found[-1].lang == "console" and line.strip():
                            found[-1].output.append(line)
                    elif line.strip() and (line.startswith("#!") or not line.startswith("#")):
                        cmd, comment = _split_comment(line)
                        found.append(Example(name, at, lang, cmd or line.strip(), comment))
    return found


ALL = examples()
COMMANDS = [e for e in ALL if e.lang in SHELL]
TEXTS = [e for e in ALL if e.lang == "text"]


# -- the world the commands run in --------------------------------------------------------------

_SHIM_DESKCTL = """#!{python}
import os, sys
args = sys.argv[1:]
if args[:1] in (["move"], ["sit"], ["stand"]) and "--time-scale" not in args:
    args += ["--time-scale", "10"]  # the simulated desk moves 10x faster: the file stays quick
if args[:2] == ["emulate", "esphome"]:  # whatever broker the doc names, the private one answers
    for option, value in (("--host", "127.0.0.1"), ("--port", {port!r})):
        if option in args:
            args[args.index(option) + 1] = value
os.execv({python!r}, [{python!r}, "-m", "deskctl", *args])
"""

_SHIM_MOSQUITTO = """#!{python}
import os, sys
args, out = sys.argv[1:], []
while args:
    arg = args.pop(0)
    if arg in ("-h", "-p"):
        args.pop(0)  # whatever the doc names, the test's private broker answers
    else:
        out.append(arg)
extra = ["-C", "1", "-W", "20"] if {program!r} == "mosquitto_sub" else []
os.execv({real!r}, [{real!r}, "-h", "127.0.0.1", "-p", {port!r}, *extra, *out])
"""


@dataclass
class World:
    home: Path
    env: dict[str, str]
    service_env: dict[str, str]
    broker: Broker
    service: subprocess.Popen[bytes] | None = None

    def run(self, cmd: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", cmd],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def run_until_ctrl_c(self, cmd: str, shows: str) -> list[str]:
        """Start `cmd`, wait (bounded) until it shows `shows`, press Ctrl-C: what went wrong."""
        out = self.home / "until-ctrl-c.out"
        with out.open("w") as sink:
            proc = subprocess.Popen(
                ["bash", "-c", f"exec {cmd}"], cwd=self.home, env=self.env, stdout=sink, stderr=sink
            )
            try:
                deadline = time.monotonic() + 30
                while shows not in out.read_text() and proc.poll() is None:
                    if time.monotonic() > deadline:
                        return [f"it did not show {shows!r} within 30 s: {out.read_text()!r}"]
                    time.sleep(0.05)
                proc.send_signal(signal.SIGINT)
                code = proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return [] if code == 0 else [f"exit {code} after Ctrl-C: {out.read_text()!r}"]

    def start_service(self) -> None:
        """`deskctl run` with the bridge on, once; returns when its state is on the broker."""
        if self.service is not None:
            return
        self.service = subprocess.Popen(
            [sys.executable, "-m", "deskctl", "run"],
            env=self.service_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        got = self.run("mosquitto_sub -t deskctl/office/state", self.service_env)
        assert got.returncode == 0, "the service's state never reached the broker"
        # The bridge publishes the state before it subscribes to commands: until an inhibit
        # shows, it is not listening yet. Then the desk is let go again, as the docs expect.
        for value, shown in (("ON", True), ("OFF", False)):
            deadline = time.monotonic() + 30
            while self.status().get("inhibited") is not shown:
                assert time.monotonic() < deadline, "the bridge never took a command"
                publish = f"mosquitto_pub -t deskctl/office/inhibit/set -m {value}"
                self.run(publish, self.service_env)
                time.sleep(0.2)

    def status(self) -> dict[str, object]:
        sock = Path(self.service_env["DESKCTL_RUNTIME_DIR"]) / "control.sock"
        answer: dict[str, object] = control_client.call("status", "office", path=sock)
        return answer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("docs")
    home, bin_dir = base / "me", base / "bin"
    for folder in (home / "profiles", bin_dir):
        folder.mkdir(parents=True)
    for name, text in FILES.items():
        (home / name).write_text(text, encoding="utf-8")
    with run_mosquitto(base / "mosquitto") as broker:
        config = home / ".config" / "deskctl"
        config.mkdir(parents=True)
        (config / "settings.toml").write_text(
            '[desks.office]\nlink = "sim"\nmin_mm = 650\nmax_mm = 1250\n\n'
            '[desks.office.presets]\nfocus = "105cm"\nreading = "80cm"\n\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n',
            encoding="utf-8",
        )
        shim = bin_dir / "deskctl"
        shim.write_text(
            _SHIM_DESKCTL.format(python=sys.executable, port=str(broker.port)), encoding="utf-8"
        )
        for program in ("mosquitto_pub", "mosquitto_sub"):
            real = shutil.which(program)
            assert real is not None, f"{program} is missing: run scripts/setup"
            (bin_dir / program).write_text(
                _SHIM_MOSQUITTO.format(
                    python=sys.executable, program=program, real=real, port=str(broker.port)
                ),
                encoding="utf-8",
            )
        for made_program in bin_dir.iterdir():
            made_program.chmod(0o755)
        (home / "bench").symlink_to(ROOT / "bench")  # the examples run from a clone
        venv_bin = home / ".venv" / "bin"
        venv_bin.mkdir(parents=True)
        (venv_bin / "deskctl").symlink_to(shim)
        (venv_bin / "python").symlink_to(sys.executable)
        env = cli_env(
            base,
            HOME=str(home),
            PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            DESKCTL_CONFIG_DIR=str(config),
            PYTHONPATH=str(ROOT),
            XDG_RUNTIME_DIR=str(base / "xdg"),
        )
        service_env = dict(
            env, DESKCTL_STATE_DIR=str(base / "svc-state"), DESKCTL_RUNTIME_DIR=str(base / "svc")
        )
        made = World(home, env, service_env, broker)
        try:
            yield made
        finally:
            if made.service is not None:
                made.service.terminate()
                try:
                    made.service.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    made.service.kill()
                    made.service.wait()


def _expected_exit(comment: str) -> tuple[int, str]:
    said = re.match(r"exits (\d+)(?::\s*(.*))?$", comment)
    if said is None:
        return 0, ""
    return int(said.group(1)), (said.group(2) or "").strip()


def _json_fields(comment: str) -> dict[str, object]:
    inner = comment.strip().removeprefix("{").removesuffix("}").replace("...", "")
    fields: dict[str, object] = json.loads("{" + inner.strip().rstrip(",").strip() + "}")
    return fields


def _check(world: World, example: Example) -> list[str]:
    """What is wrong with one command's run, as lines for the failure message."""
    if example.text in UNTIL_CTRL_C:
        return world.run_until_ctrl_c(example.text, UNTIL_CTRL_C[example.text])
    mqtt = example.text.startswith(("mosquitto_pub", "mosquitto_sub"))
    if mqtt:
        world.start_service()
    env = world.service_env if mqtt else world.env
    got = world.run(example.text, env)
    said = got.stdout + got.stderr
    problems = []
    code, words = _expected_exit(example.comment)
    if got.returncode != code:
        problems.append(f"exit {got.returncode}, the doc says {code}")
    if words and words not in got.stderr:
        problems.append(f"stderr lacks {words!r}")
    for quoted in re.findall(r'"([^"]+)"', example.comment):
        if not example.comment.startswith("{") and quoted not in said:
            problems.append(f"output lacks {quoted!r}")
    if example.comment.startswith("{"):
        printed = json.loads(got.stdout)
        for key, value in _json_fields(example.comment).items():
            if printed.get(key) != value:
                problems.append(f"JSON {key}={printed.get(key)!r}, the doc says {value!r}")
    home = str(world.home)
    for line in example.output:
        if line.strip() not in said.replace(home, "/home/me"):
            problems.append(f"output lacks the doc's line {line.strip()!r}")
    if example.text in EFFECTS and not problems:
        key, value = EFFECTS[example.text]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # a bounded wait for the service to act on it
            status = world.status()
            if status.get(key) == value or (key == "posture" and status.get("moving")):
                break
            time.sleep(0.05)
        else:
            problems.append(f"the service did not show {key}={value!r}: {world.status()}")
    if problems:
        problems.append(f"stdout: {got.stdout[-600:]!r}\nstderr: {got.stderr[-600:]!r}")
    return problems


def test_every_shell_example_runs_as_the_docs_say(world: World) -> None:
    failures = []
    for example in COMMANDS:
        if example.text in EXCUSED:
            continue
        problems = _check(world, example)
        if problems:
            failures.append(f"{example.where}: $ {example.text}\n  " + "\n  ".join(problems))
    assert not failures, "\n\n".join(failures)


def test_every_excuse_names_an_example_that_is_there() -> None:
    written = {e.text for e in COMMANDS}
    assert set(EXCUSED) | set(UNTIL_CTRL_C) <= written, set(EXCUSED) - written
    assert len(COMMANDS) - sum(e.text in EXCUSED for e in COMMANDS) >= 40, "most examples run"
    shown = {(e.file, e.text.strip().splitlines()[0].strip()) for e in TEXTS}
    for (file, first), _why in TEXT_EXCUSED.items():
        assert any(f == file and first in line for f, line in shown), (file, first)


def _text_block(file: str, first: str) -> Example:
    found = [e for e in TEXTS if e.file == file and e.text.startswith(first)]
    assert len(found) == 1, f"{file} has no single ```text block starting {first!r}"
    return found[0]


def test_every_text_block_is_compared_or_excused() -> None:
    compared = {
        ("README.md", "08:59:30 desk: Time to sit"),
        ("docs/notifications.md", "office: Time to stand"),
        ("docs/notifications.md", "office: Time for a 2-minute walk"),
        ("docs/stats.md", "office · "),
        ("docs/cues.md", "deskctl: in /home/me/.config/deskctl/cues/mine.toml"),
    }
    for example in TEXTS:
        first = example.text.splitlines()[0].strip()
        known = compared | set(TEXT_EXCUSED)
        assert any(f == example.file and s in first for f, s in known), (
            f"{example.where}: a ```text block neither compared with output nor excused"
        )


# -- ```text blocks that show what deskctl prints ---------------------------------------------

MONDAY = datetime(2026, 11, 30, 8, 59, 20, tzinfo=TZ)  # when `deskctl run --simulate` starts


def _until(when: datetime) -> Callable[[Service, Recorded], Awaitable[None]]:
    async def script(service: Service, recorded: Recorded) -> None:
        await service.clock.sleep((when - service.clock.now()).total_seconds())

    return script


def _spoken(recorded: Recorded, *, stamped: bool = True) -> list[str]:
    """What the service's log shows of its notices, as `deskctl run` prints them."""
    lines = []
    for desk, at, kind, fields in recorded.events:
        notice = notice_for(desk, kind, fields)
        if notice is not None:
            first, *rest = log_text(notice).splitlines()
            lines += [f"{at:%H:%M:%S} {first}" if stamped else first, *rest]
    return lines


def _lines(example: Example) -> list[str]:
    return [line.rstrip() for line in example.text.splitlines() if line.strip()]


def test_the_demo_transcript_is_what_the_service_prints() -> None:
    shown = _lines(_text_block("README.md", "08:59:30 desk: Time to sit"))
    said = _spoken(run_service(MONDAY, _until(MONDAY.replace(hour=9, minute=34))))
    assert shown == said[: len(shown)], "\n".join(said)


def test_the_log_example_is_what_the_service_logs(tmp_path: Path) -> None:
    office = Settings(desks={"office": DeskSettings()})
    after_the_walk = _until(MONDAY.replace(hour=9, minute=34))  # sit 30, walk 3, then stand
    day = _spoken(run_service(MONDAY, after_the_walk, settings=office), stamped=False)
    shown = _lines(_text_block("docs/notifications.md", "office: Time to stand"))
    assert any(day[i : i + len(shown)] == shown for i in range(len(day))), "\n".join(day)

    profiles = tmp_path / "deskctl" / "config" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "asking.toml").write_text('sit = "72cm"\nstand = "110cm"\nconfirm = true\n')

    async def obstructed(service: Service, recorded: Recorded) -> None:
        await _until(MONDAY.replace(hour=9, minute=29))(service, recorded)
        sim(service, "office").model.collision_mm = 900
        await _until(MONDAY.replace(hour=9, minute=35))(service, recorded)

    said = set()
    for profile in ("cornell-20-8-2", "asking"):
        settings = Settings(desks={"office": DeskSettings(profile=profile)})
        end = _until(MONDAY.replace(hour=9, minute=31))
        said |= set(_spoken(run_service(MONDAY, end, settings=settings), stamped=False))
    said |= set(_spoken(run_service(MONDAY, obstructed, settings=office), stamped=False))
    shown = _lines(_text_block("docs/notifications.md", "office: Time for a 2-minute walk"))
    assert set(shown) <= said, "\n".join(sorted(said))


def test_the_stats_example_is_what_stats_prints(tmp_path: Path) -> None:
    state = tmp_path / "deskctl" / "state"
    monday = MONDAY.replace(day=23)
    for day, profile in ((monday, "default"), (monday.replace(day=24), "cornell-20-8-2")):
        settings = Settings(desks={"office": DeskSettings(profile=profile)})
        with Store(state / "history.sqlite3") as store:
            run_service(
                day, _until(day.replace(hour=17, minute=31)), settings=settings, store=store
            )
    got = deskctl(tmp_path / "deskctl", "stats", "--to", "2026-11-25", "--days", "4", COLUMNS="120")
    assert got.returncode == 0, got.stderr
    shown = _lines(_text_block("docs/stats.md", "office · "))
    assert shown == [line.rstrip() for line in got.stdout.splitlines() if line.strip()], got.stdout


def test_the_cue_file_error_is_what_deskctl_says(tmp_path: Path) -> None:
    home = tmp_path / "home" / "me"
    cues = home / ".config" / "deskctl" / "cues"
    cues.mkdir(parents=True)
    example = next(b for _, lang, b in blocks(ROOT / "docs" / "cues.md") if lang == "toml")
    cue = "\n".join(example)
    first = cue.replace('"desk-push-ups"', '"desk-push-ups-too"')
    (cues / "mine.toml").write_text(first + "\n" + cue.replace('"upper_back"', '"chest"'))
    got = deskctl(
        tmp_path,
        "cues",
        "list",
        HOME=str(home),
        DESKCTL_CONFIG_DIR=str(home / ".config" / "deskctl"),
    )
    assert got.returncode == 2
    shown = _text_block("docs/cues.md", "deskctl: in /home/me/").text.strip()
    assert got.stderr.replace(str(home), "/home/me").strip() == shown


# -- the README's shape, and what the docs point at ----------------------------------------------


def _prose(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of every line outside fenced blocks."""
    kept, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            kept.append((number, line))
    return kept


def test_the_readme_shows_a_newcomer_what_they_need_in_order() -> None:
    headings = [line[3:] for _, line in _prose(ROOT / "README.md") if line.startswith("## ")]
    assert headings[:7] == [
        "Two commands",
        "Pairing a real desk",
        "Home Assistant",
        "The CLI",
        "Profiles",
        "How it is built",
        "Performance",
    ]
    intro = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ")[0]
    assert "standing-desk controller" in intro


def test_every_heading_starts_its_own_line() -> None:
    """Markdown renders `## X` as a heading only at the start of a line."""
    for path in DOCS:
        for number, line in _prose(path):
            assert not re.search(r"\S\s+#{2,6} [A-Z]", line), f"{path.name}:{number}: {line}"


def test_no_command_hides_outside_a_block() -> None:
    """A `$ ` line outside a fenced block would escape the examples test."""
    for path in DOCS:
        for number, line in _prose(path):
            assert not line.lstrip().startswith("$ "), f"{path.name}:{number}: {line}"


def test_every_file_the_docs_name_is_there() -> None:
    for path in DOCS:
        for number, line in _prose(path):
            for match in re.finditer(
                r"(?<![\w/.~$-])((?:bench|scripts|tests|docs|deskctl|reference)/[\w./-]*\w)", line
            ):
                named = match.group(1)
                is_file = named.startswith(("bench/", "scripts/", "reference/")) or re.search(
                    r"\.(py|md|toml|sh)$", named
                )
                if is_file:
                    assert (ROOT / named).exists(), f"{path.name}:{number}: {named} is missing"


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    subs = getattr(command, "commands", None)
    if subs:
        for name, sub in subs.items():
            if not getattr(sub, "hidden", False):
                yield from _commands(sub, (*path, name))
    else:
        yield path


def _long_options(command: object) -> list[str]:
    return [
        opt
        for param in getattr(command, "params", [])
        if getattr(param, "param_type_name", "") == "option" and not getattr(param, "hidden", False)
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--") and opt != "--help"
    ]


def test_every_command_and_option_of_the_help_is_in_the_readme_or_the_docs() -> None:
    import typer

    from deskctl.cli._app import app

    root = typer.main.get_command(app)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cli = readme[readme.index("## The CLI") : readme.index("## Profiles")]
    rows = [line for line in cli.splitlines() if line.startswith("| `deskctl ")]
    everywhere = cli + "".join(p.read_text(encoding="utf-8") for p in DOCS[1:])
    missing = [opt for opt in _long_options(root) if opt not in cli]
    for path in _commands(root):
        *group, name = path
        prefix = " ".join(("deskctl", *group))
        in_rows = [row for row in rows if f"`{prefix} " in row]
        spans = [span for row in in_rows for span in re.findall(r"`([^`]+)`", row.split(" | ")[0])]
        if not any(span.startswith((f"{prefix} {name}", name)) for span in spans):
            missing.append(" ".join(path))
        command = root
        for part in path:
            command = command.commands[part]  # type: ignore[attr-defined]
        for opt in _long_options(command):
            if not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", everywhere):
                missing.append(f"{' '.join(path)} {opt}")
    assert not missing, f"in `deskctl ... --help` but not in the README's table or docs: {missing}"


def test_every_desk_command_takes_what_the_readme_promises() -> None:
    """ "The desk commands take `--desk NAME`, `--simulate` or `--sim ble`, `--config PATH` and
    `--json`": `status` and `stop` too (they refused `--sim`)."""
    import typer

    from deskctl.cli._app import app

    root = typer.main.get_command(app)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    promise = "The desk commands take\n`--desk NAME`"
    assert " ".join(promise.split()) in " ".join(readme.split())
    for name in ("sit", "stand", "move", "stop", "status"):
        options = _long_options(root.commands[name])  # type: ignore[attr-defined]
        for option in ("--desk", "--simulate", "--sim", "--config", "--json"):
            assert option in options, f"deskctl {name} lacks {option}"


def test_status_on_the_emulated_ble_desk_says_it_is_simulated(tmp_path: Path) -> None:
    got = deskctl(tmp_path, "status", "--sim", "ble")
    assert got.returncode == 0, got.stderr
    assert "(a simulated desk, not a real one)" in got.stdout


def _json_block(file: str, first: str) -> dict[str, Any]:
    """A ```json example as a value; `...` (more of the same) is left out."""
    found = [
        "\n".join(body)
        for _, lang, body in blocks(ROOT / file)
        if lang == "json" and body and body[0].startswith(first)
    ]
    assert len(found) == 1, f"{file} has no single ```json block starting {first!r}"
    shown: dict[str, Any] = json.loads(re.sub(r",\s*\.\.\.", "", found[0]))
    return shown


def test_the_plan_and_stats_json_examples_have_the_real_fields(tmp_path: Path) -> None:
    shown = _json_block("docs/profiles.md", '{"profile": "default", "date": "2026-11-30"')
    got = deskctl(tmp_path, "plan", "--date", "2026-11-30", "--json")
    assert got.returncode == 0, got.stderr
    plan = json.loads(got.stdout)
    assert set(shown) == set(plan)
    assert shown["blocks"] == plan["blocks"][: len(shown["blocks"])]

    shown = _json_block("docs/stats.md", '{"desk": "office"')
    got = deskctl(tmp_path, "stats", "--json", "--to", "2026-11-25", "--days", "2")
    assert got.returncode == 0, got.stderr
    stats = json.loads(got.stdout)
    assert set(shown) == set(stats)
    assert set(shown["days"][0]) == set(stats["days"][0])
    assert set(shown["totals"]) == set(stats["totals"])
