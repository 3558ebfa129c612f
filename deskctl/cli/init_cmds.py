"""`deskctl init` (also `deskctl config init`): the first run, ending at a working desk.

Design: one short guided path, every step of which a flag can answer for scripts. Scan for LINAK
and Jiecang desks over BLE (`--address` skips it; `--simulate` uses the simulated desk, `--sim
ble` an emulated LINAK desk and `--sim jiecang[:VARIANT]` an emulated Jiecang desk (its adapter's
GATT layout) on a virtual radio, found by the same scan and reached by the same bleak link, its
family read on connect, as a real one), pick one (one found: confirm it; several: a numbered
choice; each shown with its family), connect (a failure prints a short paragraph of pairing
help), then set the sit and stand heights: the person moves the desk
with its own buttons and presses Enter (the height the desk reports then is taken), or types a
height. The desk stays connected meanwhile, so its reports keep arriving; prompts are read on a
daemon thread, so Ctrl-C ends the command at once. Every height is checked against the desk's
limits and sit below stand (a prompt asks again; a flag is exit 2). Then the settings file is
written (0600 from its first byte, never over an existing one without `--force`, its path shown),
the heights go into the desk's profile as `deskctl profile set` saves them, and a systemd user
service is offered (`--no-service` skips it, `--yes` accepts it). Nothing is written before every
answer is in and checked.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deskctl.cli._app import app
from deskctl.cli._common import guard
from deskctl.cli.config_cmds import config_app

if TYPE_CHECKING:
    from deskctl.links.base import DeskLink
    from deskctl.links.ble import FoundDesk

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

PAIRING_HELP = (
    "To connect: switch the desk on and keep it near; close the vendor's phone app (the desk takes "
    "one connection at a time); if it asks for pairing, press its Bluetooth button until the "
    "light blinks and pair it once with `bluetoothctl` (`pair ADDRESS`, then `trust ADDRESS`), "
    "or set `pair = true` for the desk in the settings. Then run `deskctl init` again."
)


@dataclass
class _Answers:
    """What the flags already say; the rest is asked."""

    name: str
    address: str | None
    sit_mm: int | None
    stand_mm: int | None
    min_mm: int
    max_mm: int
    yes: bool
    sim: str | None  # None (a real desk), "model", "ble" or "jiecang"
    timeout_s: float
    variant: str | None = None  # --sim jiecang:VARIANT: the emulated adapter's GATT layout


@dataclass
class _Result:
    link: str
    sim: str | None
    address: str | None
    sit_mm: int
    stand_mm: int
    variant: str | None = None


def _described(desk: FoundDesk) -> str:
    """A desk found by the scan, as a person reads it: name, family (and adapter), address."""
    family = "LINAK" if desk.family == "linak" else "Jiecang"
    if desk.variant:
        family += f", {desk.variant} adapter"
    return f"{desk.name} ({family}, {desk.address}, {desk.rssi} dBm)"


def _say(text: str = "") -> None:
    print(text, flush=True)


async def _ask(prompt: str, *, default: str | None = None) -> str:
    """One line from the person, read on a daemon thread so the desk's reports keep arriving."""
    import asyncio
    import threading

    from deskctl.errors import InputError

    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def deliver(value: str | BaseException) -> None:
        if answer.done():
            return
        if isinstance(value, BaseException):
            answer.set_exception(value)
        else:
            answer.set_result(value)

    def read() -> None:
        try:
            text = typer.prompt(prompt, default=default or "", show_default=bool(default))
        except (typer.Abort, EOFError):
            value: str | BaseException = InputError(
                "the input ended before every question was answered; give the answers as "
                "flags (see deskctl init --help)"
            )
        except BaseException as exc:  # handed to the waiting task, which raises it
            value = exc
        else:
            value = str(text)
        loop.call_soon_threadsafe(deliver, value)

    threading.Thread(target=read, name="deskctl-init-prompt", daemon=True).start()
    return await answer


async def _confirm(prompt: str, *, default: bool) -> bool:
    hint = "[Y/n]" if default else "[y/N]"
    while True:
        text = (await _ask(f"{prompt} {hint}", default="")).strip().lower()
        if not text:
            return default
        if text in ("y", "yes"):
            return True
        if text in ("n", "no"):
            return False
        _say("Answer y or n.")


async def _pick(found: list[FoundDesk], answers: _Answers) -> FoundDesk:
    """The desk to set up: one found is confirmed, several are a numbered choice."""
    from deskctl.errors import DeskError, InputError

    if not found:
        raise DeskError(
            "no desk found: is it switched on, near, and not connected to a phone? "
            "(or give its address with --address, or try deskctl init --simulate)"
        )
    if len(found) == 1:
        desk = found[0]
        _say(f"Found {_described(desk)}.")
        if answers.yes or await _confirm("Set up this desk?", default=True):
            return desk
        raise InputError("no desk chosen; run deskctl init again when yours is on and near")
    if answers.yes:
        addresses = ", ".join(d.address for d in found)
        raise InputError(f"{len(found)} desks found ({addresses}); choose one with --address")
    _say(f"Found {len(found)} desks:")
    for number, desk in enumerate(found, 1):
        _say(f"  {number}. {_described(desk)}")
    while True:
        text = (await _ask("Which one? (number)", default="1")).strip()
        if text.isdigit() and 1 <= int(text) <= len(found):
            return found[int(text) - 1]
        _say(f"Type a number from 1 to {len(found)}.")


def _check(posture: str, height_mm: int, answers: _Answers, sit_mm: int | None) -> None:
    from deskctl.core.units import check_limits, format_height
    from deskctl.errors import HeightError

    check_limits(height_mm, answers.min_mm, answers.max_mm)
    if posture == "stand" and sit_mm is not None and height_mm <= sit_mm:
        raise HeightError(
            f"the stand height ({format_height(height_mm)}) must be above the sit height "
            f"({format_height(sit_mm)})"
        )


async def _height(posture: str, link: DeskLink, answers: _Answers, sit_mm: int | None) -> int:
    """The posture's height: from the flag, or asked (Enter = where the desk is now)."""
    import asyncio

    from deskctl.core.units import format_height, parse_height_mm
    from deskctl.errors import DeskError, HeightError

    given = answers.sit_mm if posture == "sit" else answers.stand_mm
    if given is not None:
        _check(posture, given, answers, sit_mm)
        return given
    if answers.yes:
        raise HeightError(f"--yes needs --{posture} too (a height like 72cm)")
    what = "sitting" if posture == "sit" else "standing"
    example = "72cm" if posture == "sit" else "110cm"
    if answers.sim is not None:
        prompt = (
            f"{what.capitalize()} height: type it (like {example}), or press Enter for where "
            "the simulated desk is now"
        )
    else:
        prompt = (
            f"{what.capitalize()} height: move the desk with its buttons to where you work "
            f"{what}, then press Enter (or type a height, like {example})"
        )
    while True:
        text = await _ask(prompt, default="")
        try:
            if text.strip():
                height_mm = parse_height_mm(text.strip())
            else:
                await asyncio.sleep(0.3)  # the last report of a desk that just stopped
                if link.height_mm is None:
                    raise DeskError("the desk has not said how high it is; type the height")
                if link.moving:
                    raise DeskError("the desk is still moving; press Enter once it stands still")
                height_mm = link.height_mm
            _check(posture, height_mm, answers, sit_mm)
        except (HeightError, DeskError) as exc:
            _say(f"{str(exc).rstrip('.')}.")
            continue
        _say(f"  {posture}: {format_height(height_mm)}")
        return height_mm


async def _session(answers: _Answers) -> _Result:
    """Find, connect and ask; returns what to write. Nothing is written here."""
    import asyncio

    from deskctl.clocks.clock import Clock
    from deskctl.core.units import format_height
    from deskctl.errors import LinkError

    clock = Clock()
    async with contextlib.AsyncExitStack() as stack:
        backend: Any = None
        scanner: Any = None
        if answers.sim in ("ble", "jiecang"):
            from deskctl.sim.bleak_bumble import BumbleRadio

            radio = BumbleRadio()
            stack.push_async_callback(radio.close)
            if answers.sim == "ble":
                from deskctl.sim.ble_emulator import EmulatedDesk

                await stack.enter_async_context(EmulatedDesk(radio, clock=clock))
            else:
                from deskctl.sim.jiecang_emulator import EmulatedJiecangDesk
                from deskctl.sim.jiecang_links import variant_named

                variant = variant_named(answers.variant or "FE60")
                await stack.enter_async_context(
                    EmulatedJiecangDesk(radio, variant=variant, clock=clock)
                )
            backend, scanner = radio.client_backend, radio.scanner_backend
        link: DeskLink
        address = answers.address
        if answers.sim == "model":
            from deskctl.sim.links import SimLink

            _say("Using the simulated desk (nothing real moves).")
            link = SimLink(answers.name, clock, min_mm=answers.min_mm, max_mm=answers.max_mm)
        else:
            from deskctl.links.auto import FamilyLink
            from deskctl.links.ble import scan as ble_scan

            if address is None:
                where = "an emulated desk on a virtual radio" if scanner else "Bluetooth"
                _say(f"Looking for desks over {where} ({answers.timeout_s:g} s)...")
                try:
                    found = await ble_scan(answers.timeout_s, backend=scanner)
                except LinkError as exc:
                    raise LinkError(
                        f"{str(exc).rstrip('.')} (to try deskctl without a desk: "
                        "deskctl init --simulate)"
                    ) from None
                desk = await _pick(found, answers)
                address = desk.address
            link = FamilyLink(  # LINAK or Jiecang: read from the desk on connect
                answers.name,
                address,
                clock,
                min_mm=answers.min_mm,
                max_mm=answers.max_mm,
                backend=backend,
            )
            _say(f"Connecting to {address}...")
        try:
            await link.connect()
        except LinkError as exc:
            if answers.sim is None and address and address in str(exc):  # the desk, not BlueZ
                print(PAIRING_HELP, file=sys.stderr)
            raise
        stack.push_async_callback(link.close)
        for _ in range(20):  # the first height report follows the connection
            if link.height_mm is not None:
                break
            await asyncio.sleep(0.1)
        _say(f"Connected: the desk is at {format_height(link.height_mm)}.")
        sit_mm = await _height("sit", link, answers, None)
        stand_mm = await _height("stand", link, answers, sit_mm)
    if answers.sim is None:
        return _Result("ble", None, address, sit_mm, stand_mm)
    return _Result("sim", answers.sim, None, sit_mm, stand_mm, answers.variant)


def _line(code: str, comment: str) -> str:
    return f"{code:<33} # {comment}\n"


def settings_text(name: str, result: _Result, min_mm: int, max_mm: int) -> str:
    """The settings file `deskctl init` writes: the desk, and the rest commented out."""
    if result.link == "ble":
        reach = (
            _line('link = "ble"', "LINAK or Jiecang over Bluetooth LE")
            + _line(f'address = "{result.address}"', "from `deskctl scan`")
            + _line("# pair = true", "if the desk asks to be paired")
        )
    else:
        kind = {"ble": "an emulated LINAK desk, over bleak", "jiecang": "a Jiecang desk"}
        reach = _line('link = "sim"', "a simulated desk: nothing real moves") + _line(
            f'sim = "{result.sim}"', kind.get(result.sim or "", "the built-in model")
        )
        if result.variant:
            reach += _line(f'sim_variant = "{result.variant}"', "its adapter's GATT layout")
    return (
        "# deskctl settings, written by `deskctl init`. Every key can also be set with an\n"
        "# environment variable: DESKCTL_<SECTION>__<KEY>, e.g. DESKCTL_MQTT__HOST=broker.\n"
        "\n"
        f"[desks.{name}]\n"
        f"{reach}"
        + _line(f"min_mm = {min_mm}", "never commanded below this")
        + _line(f"max_mm = {max_mm}", "never commanded above this")
        + _line("# calibration_mm = 0", "added to the height the desk reports")
        + _line('# profile = "default"', "see `deskctl profile list`; its file holds the heights")
        + "\n"
        "# The MQTT broker, for Home Assistant and MQTT desks.\n"
        "# [mqtt]\n"
        '# host = "localhost"\n'
        "# port = 1883\n"
        "# tls = false\n"
        '# username = "deskctl"\n'
        '# password = "..."\n'
        '# base_topic = "deskctl"\n'
        '# discovery_prefix = "homeassistant"\n'
        "\n"
        "# Where cues and warnings go besides the log.\n"
        "[notify]\n"
        "terminal = true\n"
        "desktop = false\n"
        '# command = ["/usr/bin/espeak-ng"]  # run with the cue in DESKCTL_* environment '
        "variables\n"
    )


def write_private(file: Path, text: str, *, force: bool) -> None:
    """Write `file` owner-only from its first byte, whole or not at all; an existing one only
    with `force`."""
    from deskctl.config.files import shown_path, write_file
    from deskctl.errors import InputError

    if not force and file.exists():
        raise InputError(
            f"{shown_path(file)} already exists; edit it, or run deskctl init --force to replace it"
        )
    write_file(file, text, what="the settings", mode=0o600, exclusive=not force)


def _height_option(value: str | None, flag: str) -> int | None:
    from deskctl.core.units import parse_height_mm
    from deskctl.errors import HeightError

    if value is None:
        return None
    try:
        return parse_height_mm(value)
    except HeightError as exc:
        raise HeightError(f"{flag}: {exc}") from None


def _offer_service(
    file: Path, answers: _Answers, no_service: bool, ask: Callable[[], bool]
) -> None:
    from deskctl.adapters import systemd

    if no_service:
        _say("Start it when you like: deskctl run (or deskctl service install).")
        return
    if not (answers.yes or ask()):
        _say("Start it when you like: deskctl run (or deskctl service install).")
        return
    path, problem = systemd.install(file.resolve())
    _say(f"Wrote {path}.")
    if problem:
        _say(f"It is not enabled yet ({problem}); run: systemctl --user enable --now deskctl")
    else:
        _say("Enabled and started; follow it with: journalctl --user -u deskctl -f")


@guard
def init(
    address: Annotated[
        str | None, typer.Option("--address", help="The desk's Bluetooth address (skips the scan).")
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="The desk's name in the settings and in MQTT topics.")
    ] = "desk",
    sit: Annotated[
        str | None, typer.Option("--sit", help="Sitting height, like 72cm (else asked).")
    ] = None,
    stand: Annotated[
        str | None, typer.Option("--stand", help="Standing height, like 110cm (else asked).")
    ] = None,
    min_height: Annotated[
        str | None,
        typer.Option(
            "--min", help="Never move the desk below this height (default: a LINAK desk's lowest)."
        ),
    ] = None,
    max_height: Annotated[
        str | None,
        typer.Option(
            "--max", help="Never move the desk above this height (default: a LINAK desk's highest)."
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Ask nothing: accept the desk found and the service."),
    ] = False,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Set up the built-in simulated desk.")
    ] = False,
    sim: Annotated[
        str | None,
        typer.Option(
            "--sim",
            help="Simulate the desk: 'model' (= --simulate), 'ble' (a LINAK desk over bleak) or "
            "'jiecang' (a Jiecang desk over bleak; jiecang:FF12 picks its adapter's layout).",
        ),
    ] = None,
    no_service: Annotated[
        bool, typer.Option("--no-service", help="Do not offer the systemd user service.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing settings file.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.5, max=120, help="Seconds to scan.")
    ] = 5.0,
    config: Annotated[Path | None, typer.Option("--config", help="Settings file to write.")] = None,
) -> None:
    """First run: find your desk, set your sit and stand heights, write the settings."""
    import asyncio

    from deskctl.config.profile_library import active_profile_name, load_profile, set_heights
    from deskctl.config.settings import DEFAULT_MAX_MM, DEFAULT_MIN_MM, settings_path, sim_choice
    from deskctl.core.units import format_height
    from deskctl.errors import InputError

    choice = None if sim is None else sim_choice(sim)
    kind = choice["sim"] if choice else ("model" if simulate else None)
    if kind is not None and address is not None:
        raise InputError("--address is for a real desk; leave it out with --simulate or --sim")
    if not _NAME.match(name):
        raise InputError(f"{name!r} is not a desk name; use letters, digits, '-' and '_'")
    answers = _Answers(
        name=name,
        address=address,
        sit_mm=_height_option(sit, "--sit"),
        stand_mm=_height_option(stand, "--stand"),
        min_mm=_height_option(min_height, "--min") or DEFAULT_MIN_MM,
        max_mm=_height_option(max_height, "--max") or DEFAULT_MAX_MM,
        yes=yes,
        sim=kind,
        timeout_s=timeout,
        variant=None if choice is None else choice.get("sim_variant"),
    )
    if answers.min_mm >= answers.max_mm:
        raise InputError(
            f"--min ({format_height(answers.min_mm)}) must be below "
            f"--max ({format_height(answers.max_mm)})"
        )
    if answers.sit_mm is not None:  # flags are checked before anything is scanned or connected
        _check("sit", answers.sit_mm, answers, None)
    if answers.stand_mm is not None:
        _check("stand", answers.stand_mm, answers, answers.sit_mm)
    file = config or settings_path()
    if file.exists() and not force:
        raise InputError(
            f"{file} already exists; edit it, or run deskctl init --force to replace it"
        )
    profile_name = active_profile_name(name, None)
    profile = load_profile(profile_name)  # a broken profile is said before any question
    if answers.yes and answers.sit_mm is None and answers.stand_mm is None:
        answers.sit_mm, answers.stand_mm = profile.sit_mm, profile.stand_mm  # keep the profile's

    result = asyncio.run(_session(answers))
    write_private(file, settings_text(name, result, answers.min_mm, answers.max_mm), force=force)
    _say(f"Wrote {file} (only you can read it).")
    if (result.sit_mm, result.stand_mm) != (profile.sit_mm, profile.stand_mm):
        _saved, where = set_heights(
            profile_name,
            sit_mm=result.sit_mm,
            stand_mm=result.stand_mm,
            min_mm=answers.min_mm,
            max_mm=answers.max_mm,
        )
        _say(
            f"Profile {profile_name!r}: sit {format_height(result.sit_mm)}, stand "
            f"{format_height(result.stand_mm)} (saved in {where})."
        )
    else:
        _say(
            f"Profile {profile_name!r} keeps sit {format_height(result.sit_mm)}, stand "
            f"{format_height(result.stand_mm)}."
        )
    if result.link == "sim":
        _say("A simulated desk: try deskctl stand, deskctl status, or deskctl run.")
        return

    def ask() -> bool:
        return typer.confirm("Run deskctl in the background now, as a systemd user service?", True)

    _offer_service(file, answers, no_service, ask)
    _say("Done. Try: deskctl stand, then deskctl sit.")


app.command("init")(init)
config_app.command("init")(init)
