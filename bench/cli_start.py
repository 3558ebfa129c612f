"""Figure 1, CLI start: `deskctl --help`, the commands that read no desk, and the commands a
running service answers, against the peers.

How: every command runs as a fresh process, as a person runs it, round after round (interleaved,
after two warm-up rounds), with its folders and HOME in a temporary directory:
- `python -c pass` on the same interpreter: the floor no Python CLI can beat;
- `deskctl --help`; the commands that read no desk (`plan`, `cues list`, `profile list`,
  `config path`), and `plan` and `profile list` again with a settings file as `deskctl init`
  writes it (one Bluetooth desk, its limits, profile and a preset; through `/usr/bin/env`, which
  sets `DESKCTL_CONFIG` for them alone); and `deskctl status`, `stand`, `inhibit off` and
  `profile use default` answered by a running `deskctl run --simulate` (started as a
  subprocess outside working hours, so it is idle);
- `idasen --help` and `linak-controller --help`, installed from PyPI into their own venvs under
  `~/.cache/deskctl-bench/peers/` (made once, then reused; `--peers-dir` moves them). A peer that
  cannot be installed is reported with the reason and left out.
Every command runs from bytecode, as a wheel installs it (`PYTHONPYCACHEPREFIX` in the temporary
directory, filled by the warm-up rounds), even where the shell sets PYTHONDONTWRITEBYTECODE.
Also the status round trip over the control socket from inside a running Python process (what
a status bar applet would pay), without any interpreter start.

Run: `.venv/bin/python bench/cli_start.py [--quick] [--runs N] [--no-peers]`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from _common import (
    BIN,
    Summary,
    bench_parser,
    deskctl_home,
    ms,
    print_table,
    ratio,
    running_service,
    socket_of,
    time_commands,
)

PEERS = {"idasen": "idasen", "linak-controller": "linak-controller"}  # PyPI name: command
IDLE_START = "2026-11-29T20:00"  # a Sunday evening: outside every shipped profile's hours
_INSTALL_TIMEOUT_S = 600
READ_NO_DESK = (("plan",), ("cues", "list"), ("profile", "list"), ("config", "path"))
WITH_SETTINGS = (("plan",), ("profile", "list"))  # with a settings file as `deskctl init` writes
SETTINGS = """[desks.office]
link = "ble"
address = "E8:5B:5B:24:22:E4"
min_mm = 650
max_mm = 1250
profile = "default"

[desks.office.presets]
focus = "105cm"
"""
SERVICE_ANSWERS = (("status",), ("stand",), ("inhibit", "off"), ("profile", "use", "default"))
FASTEST_PEER = "idasen --help"


def default_peers_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "deskctl-bench" / "peers"


def install_peer(package: str, command: str, peers_dir: Path) -> tuple[Path | None, str]:
    """The peer's command in its own venv (made on first use), and its version or why not."""
    venv = peers_dir / package
    python = venv / "bin" / "python"
    exe = venv / "bin" / command
    if not exe.exists():
        print(f"installing {package} from PyPI into {venv} ...", flush=True)
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", package],
        ]
        for argv in steps:
            try:
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT_S, check=False
                )
            except subprocess.TimeoutExpired:
                return None, f"`{' '.join(argv[-3:])}` took over {_INSTALL_TIMEOUT_S} s"
            if done.returncode != 0:
                tail = " / ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
                return None, f"`{' '.join(argv[-3:])}` failed: {tail}"
        if not exe.exists():
            return None, f"{package} installed no `{command}` command"
    version = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return exe, version or "unknown version"


def status_round_trips(sock: Path, runs: int) -> list[float]:
    """`call("status")` from this process: the socket round trip and the service's answer."""
    from deskctl.adapters.control_client import call

    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call("status", path=sock)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, help="runs per command (default 30, quick 10)")
    parser.add_argument("--no-peers", action="store_true", help="leave idasen and linak out")
    parser.add_argument("--peers-dir", type=Path, default=default_peers_dir())
    args = parser.parse_args()
    runs = args.runs or (10 if args.quick else 30)

    peers: dict[str, list[str]] = {}
    notes: list[str] = []
    if not args.no_peers:
        for package, command in PEERS.items():
            exe, detail = install_peer(package, command, args.peers_dir)
            if exe is None:
                print(f"{package}: not measured: {detail}")
                continue
            peers[f"{command} --help"] = [str(exe), "--help"]
            notes.append(f"{package} {detail}")

    with deskctl_home() as (root, env):
        (root / "home").mkdir()
        env["HOME"] = str(root / "home")  # a peer that writes a config on start writes it here
        env["XDG_CONFIG_HOME"] = str(root / "home" / ".config")
        # As installed from a wheel, every command runs from bytecode (pip compiles it): a shell
        # that forbids writing it would make deskctl, run from its source tree, compile on
        # every start; the warm-up rounds fill this cache for every command alike.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        settings = root / "settings.toml"
        settings.write_text(SETTINGS, encoding="utf-8")
        with_settings = ["/usr/bin/env", f"DESKCTL_CONFIG={settings}"]  # the service reads none
        service_args = ["--simulate", "--from", IDLE_START]
        with running_service(env, service_args, root / "service.log") as (_, ready_s):
            deskctl = str(BIN / "deskctl")
            commands = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "deskctl --help": [deskctl, "--help"],
                **{f"deskctl {' '.join(argv)}": [deskctl, *argv] for argv in READ_NO_DESK},
                **{
                    f"deskctl {' '.join(argv)} (settings file)": [*with_settings, deskctl, *argv]
                    for argv in WITH_SETTINGS
                },
                **{
                    f"deskctl {' '.join(argv)} (service running)": [deskctl, *argv]
                    for argv in SERVICE_ANSWERS
                },
                **peers,
            }
            samples = time_commands(commands, runs, env)
            trips = Summary.of(status_round_trips(socket_of(env), runs * 10))

    summaries = {label: Summary.of(values) for label, values in samples.items()}
    floor = summaries["python -c pass"].median
    ours = summaries["deskctl --help"].median
    peer = summaries.get(FASTEST_PEER)
    rows = [
        [
            label,
            ms(s.median),
            ms(s.p90),
            ms(s.p99),
            ratio(s.median, floor),
            ratio(s.median, ours),
            ratio(s.median, peer.median) if peer is not None and peer.n else "-",
        ]
        for label, s in summaries.items()
        if s.n
    ]
    print_table(
        f"CLI start: {runs} runs each, interleaved (wall time of the whole process)",
        ["command", "median ms", "p90 ms", "p99 ms", "x python", "x deskctl --help", "x idasen"],
        rows,
    )
    print(f"peers: {', '.join(notes) if notes else 'none measured'}")
    print(
        f"status round trip in process (no interpreter start), {trips.n} calls: "
        f"median {ms(trips.median, 2)} ms, p99 {ms(trips.p99, 2)} ms; "
        f"the service answered its socket {ready_s:.2f} s after `deskctl run` started"
    )
    for label in PEERS.values():
        peer = summaries.get(f"{label} --help")
        if peer is not None and peer.n:
            print(f"{label} --help takes {ratio(peer.median, ours)} the time of deskctl --help")


if __name__ == "__main__":
    main()
