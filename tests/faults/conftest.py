"""The fault suite's summary: faults injected and inputs tried, per module (see tally.py)."""

from __future__ import annotations

import pytest

from tests.faults.tally import print_summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    print_summary(terminalreporter)
