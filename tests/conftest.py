"""Fixtures shared by the tests (helpers live in their own modules under tests/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.tally import add_rows, as_rows, print_summary
from tests.mosquitto import Broker, run_mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A real mosquitto on a free loopback port, anonymous, killed after the test."""
    with run_mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def mosquitto_tls(tmp_path: Path) -> Iterator[Broker]:
    """A real mosquitto with TLS (self-signed for 127.0.0.1) and a password file."""
    with run_mosquitto(tmp_path / "mosquitto-tls", tls=True) as broker:
        yield broker


@pytest.fixture(autouse=True)
def own_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own config, state and runtime folders: nothing of the person running
    the tests (a remembered profile, their history, a running service's socket) leaks in."""
    for kind in ("CONFIG", "STATE", "RUNTIME"):
        monkeypatch.setenv(f"DESKCTL_{kind}_DIR", str(tmp_path / "deskctl" / kind.lower()))
    monkeypatch.delenv("DESKCTL_CONFIG", raising=False)


@pytest.fixture
def sit_stand_30_15(own_folders: None, tmp_path: Path) -> None:
    """The desks `desk`, `office` and `lab` follow the 30:15 rhythm (sit 30, stand 15, no walk),
    as `deskctl profile use sit-stand-30-15` makes them, in the test's own state folder and in
    the one `tests.cli` gives the CLI: the tests of the service's mechanics (warnings, moves,
    skips, restarts at 09:30 and 09:45) were written on it, the default before it added a walk
    after each sitting bout."""
    from deskctl.config.profile_library import remember_profile

    with pytest.MonkeyPatch.context() as patch:
        for state_dir in (tmp_path / "deskctl" / "state", tmp_path / "state"):
            patch.setenv("DESKCTL_STATE_DIR", str(state_dir))
            for desk in ("desk", "office", "lab"):
                remember_profile("sit-stand-30-15", desk)


# -- the fault and fuzz counts (tests/faults/tally.py), also from pytest-xdist's workers --------
def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the counts to the controller
        workeroutput["tally"] = as_rows()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    add_rows(getattr(node, "workeroutput", {}).get("tally", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    print_summary(terminalreporter)
