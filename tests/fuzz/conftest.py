"""The fuzz suite prints the same counts as the fault suite (see tests/faults/tally.py)."""

from __future__ import annotations

import pytest

from tests.faults.tally import print_summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    print_summary(terminalreporter)
