"""Independent clients against the emulated LINAK desk: `idasen` and `linak-controller` from PyPI.

How: each peer runs in its own venv (the ones `bench/cli_start.py` installs under
`~/.cache/deskctl-bench/peers/`), in a process of its own, with its own bleak. That process also
runs deskctl's emulated desk (`EmulatedDesk`, the realistic desk model, on Bumble's virtual radio
with a real connection's timing, as `bench/ble_moves.py --path bumble` has it)
and puts deskctl and Bumble at the end of `sys.path`, so the peer's own packages win. The only
thing changed in the peer's world is bleak's backend selection (`bleak.get_platform_*_backend_type`
answers deskctl's Bumble backend): the peer's public entry points run unpatched.
- idasen: `IdasenDesk(address)` as a context manager: connect (it wakes the desk), `get_height`,
  `move_to_target`, then a move stopped after 1 s with `stop()`;
- linak-controller: its command line, `main()` with `--mac-address ADDRESS --move-to 1000`
  (connect, DPG capabilities, user id, base height, height, the move), then `--move-to 700`
  with its task cancelled after 1 s and a `Desk.stop()`.
For each: where the desk rests against the target, how long after the motor stopped the client
returned, and whether the desk stopped. On the virtual clock (desk time).

Run: `.venv/bin/python bench/peer_clients.py [--peers-dir DIR]`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS = {"idasen": "idasen", "linak-controller": "linak_controller"}
TARGETS_MM = (1000, 800, 1150, 700, 1050, 760, 1200, 900)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    parser.add_argument("--peers-dir", type=Path, default=Path(cache) / "deskctl-bench" / "peers")
    parser.add_argument("--drive", choices=sorted(PEERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        print(json.dumps(drive(args.drive)))
        return
    site = sysconfig.get_paths()["purelib"]  # where Bumble is installed for deskctl
    for peer in PEERS:
        python = args.peers_dir / peer / "bin" / "python"
        if not python.exists():
            print(f"{peer}: not installed under {args.peers_dir} (bench/cli_start.py installs it)")
            continue
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HOME": home, "DESKCTL_EXTRA_PATH": f"{ROOT}{os.pathsep}{site}"}
            env.pop("PYTHONPATH", None)
            done = subprocess.run(
                [str(python), __file__, "--drive", peer],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            print(f"{peer}: failed ({done.returncode})\n{done.stderr[-2000:]}")
            continue
        report(peer, json.loads(lines[-1]))


def report(peer: str, result: dict[str, Any]) -> None:
    print(f"{peer} {result['version']} (bleak {result['bleak']}):")
    for step in result["steps"]:
        print("  " + step)


# -- inside the peer's venv -----------------------------------------------------------------------
def drive(peer: str) -> dict[str, Any]:
    sys.path.extend(os.environ.get("DESKCTL_EXTRA_PATH", "").split(os.pathsep))
    from importlib.metadata import version

    from deskctl.testing.virtual_time import run_virtual

    steps: list[str] = []
    run_virtual(_drive(peer, steps))
    return {"version": version(peer), "bleak": version("bleak"), "steps": steps}


async def _drive(peer: str, steps: list[str]) -> None:
    import bleak

    from deskctl.clocks.clock import Clock
    from deskctl.sim.ble_emulator import EmulatedDesk
    from deskctl.sim.bleak_bumble import BumbleRadio
    from deskctl.sim.desk_model import DeskModel
    from deskctl.sim.physics import RADIO, REALISTIC, seeded

    radio = BumbleRadio(radio=RADIO, rng=seeded(8))  # the timing `ble_moves.py --path bumble` has
    model = DeskModel(height_mm=750, physics=REALISTIC, rng=seeded(7))
    clock = Clock()
    # the only change to the peer's world: bleak's backend selection answers deskctl's Bumble
    selection: Any = bleak
    selection.get_platform_client_backend_type = lambda: (radio.client_backend, "bumble")
    selection.get_platform_scanner_backend_type = lambda: (radio.scanner_backend, "bumble")
    async with EmulatedDesk(radio, model, clock=clock, step_s=0.01) as desk:
        probe = _Probe(model, clock, steps)
        if peer == "idasen":
            await _idasen(desk.address, probe)
        else:
            await _linak_controller(desk.address, probe)
        ordered = sorted(probe.latencies_ms)
        steps.append(
            f"returned after the motor stopped: median {ordered[len(ordered) // 2]:.0f} ms, "
            f"max {ordered[-1]:.0f} ms over {len(ordered)} moves"
        )
        steps.append(f"writes the desk got: {_kinds(desk.received)}")
        steps.append(f"connection intervals: {[round(i * 1000) for i in radio.intervals_s]} ms")
    await radio.close()


class _Probe:
    """What the desk did, seen from inside the emulator."""

    def __init__(self, model: Any, clock: Any, steps: list[str]) -> None:
        self.model, self.clock, self.steps = model, clock, steps
        self.latencies_ms: list[float] = []

    def rest_mm(self) -> float:
        return float(self.model.base_mm + self.model.height_raw / 10)

    def landed(self, what: str, target_mm: float, began_s: float) -> None:
        now_s = self.clock.monotonic()
        offset_s = now_s - self.model.now_s
        rested = self.model.rested_at_s
        moving = self.model.moving
        if not moving:
            self.latencies_ms.append((now_s - (rested + offset_s)) * 1000)
        after = "still moving" if moving else f"{(now_s - (rested + offset_s)) * 1000:.0f} ms"
        self.steps.append(
            f"{what}: returned after {now_s - began_s:.2f} s, {after} after the motor stopped; "
            f"the desk rests at {self.rest_mm():.1f} mm (target {target_mm:.1f})"
        )

    def since_ms(self, at_s: float) -> str:
        """How long after the clock time `at_s` the motor last came to rest."""
        rested_s = (self.model.rested_at_s or 0.0) + self.clock.monotonic() - self.model.now_s
        return f"{(rested_s - at_s) * 1000:.0f} ms"

    async def settle(self) -> None:
        while self.model.active:
            await self.clock.sleep(0.1)


async def _idasen(address: str, probe: _Probe) -> None:
    idasen = importlib.import_module("idasen")

    async with idasen.IdasenDesk(address) as desk:
        height_m = await desk.get_height()
        probe.steps.append(f"connect and get_height: {height_m * 1000:.1f} mm")
        for target_mm in TARGETS_MM:
            await probe.settle()
            began_s = probe.clock.monotonic()
            await desk.move_to_target(target_mm / 1000)
            probe.landed(f"move_to_target({target_mm / 1000})", target_mm, began_s)
        await probe.settle()
        probe.steps.append(
            f"after the desk let go: get_height {await desk.get_height() * 1000:.1f} mm"
        )
        move = asyncio.create_task(desk.move_to_target(0.7))
        await asyncio.sleep(1.0)
        stop_s = probe.clock.monotonic()
        await desk.stop()
        await move
        await probe.settle()
        probe.steps.append(
            f"stop() after 1 s of a move down: the desk rests at {probe.rest_mm():.1f} mm, "
            f"{probe.since_ms(stop_s)} after the stop call"
        )


async def _linak_controller(address: str, probe: _Probe) -> None:
    cli = importlib.import_module("linak_controller.main")

    for target_mm in TARGETS_MM:
        await probe.settle()
        sys.argv = ["linak-controller", "--mac-address", address, "--move-to", str(target_mm)]
        began_s = probe.clock.monotonic()
        await cli.main()  # connect, DPG set-up, read, move, stop, disconnect
        probe.landed(f"--move-to {target_mm}", target_mm, began_s)
    await probe.settle()
    probe.steps.append(f"after the desk let go it rests at {probe.rest_mm():.1f} mm")
    sys.argv = ["linak-controller", "--mac-address", address, "--move-to", "700"]
    config, _command = cli.get_config()
    desk = await cli.connect(config)
    move = asyncio.create_task(desk.move_to(_height(700, desk)))
    await asyncio.sleep(1.0)
    move.cancel()
    stop_s = probe.clock.monotonic()
    await desk.stop()
    await cli.disconnect(desk)
    await probe.settle()
    probe.steps.append(
        f"a move down cancelled after 1 s, then Desk.stop(): the desk rests at "
        f"{probe.rest_mm():.1f} mm, "
        f"{probe.since_ms(stop_s)} after the stop call"
    )


def _height(mm: int, desk: Any) -> Any:
    util = importlib.import_module("linak_controller.util")
    return util.Height(mm, desk.config["base_height"], True)


def _kinds(received: list[tuple[Any, bool]]) -> str:
    counts: dict[str, int] = {}
    for char, with_response in received:
        key = f"{char.name} {'request' if with_response else 'command'}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k} x{n}" for k, n in sorted(counts.items()))


if __name__ == "__main__":
    main()
