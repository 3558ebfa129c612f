"""`deskctl run -v` logs deskctl's own events; the libraries' debug (MQTT packet traces) only
with `-vv`. The service runs as a person starts it, with the MQTT bridge on a real mosquitto."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import cli_env
from tests.mosquitto import Broker

PACKET_TRACE = "Sending CONNECT"  # paho's debug line for every connection


def _run_until_online(tmp_path: Path, broker: Broker, *flags: str) -> str:
    """Start `deskctl run --simulate FLAGS` with the bridge; stop it once the bridge is online;
    return everything it logged."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "settings.toml").write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n', encoding="utf-8"
    )
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deskctl",
            "run",
            "--simulate",
            "--from",
            "2026-11-30T07:00",
            *flags,
        ],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # a bounded wait for the bridge's retained "online" (its id is made from host and user)
        done = subprocess.run(
            ["mosquitto_sub", *broker.client_args(), "-t", "deskctl/bridge/+/availability", "-C",
             "1", "-W", "30"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.stdout.strip() == "online", done.stderr
    finally:
        service.send_signal(signal.SIGTERM)
        out, _ = service.communicate(timeout=30)
    assert service.returncode == 0, out
    return out


@pytest.mark.parametrize(("flags", "traced"), [(("-v",), False), (("-vv",), True)])
def test_v_logs_deskctl_events_and_vv_adds_the_mqtt_packet_traces(
    tmp_path: Path, mosquitto: Broker, flags: tuple[str, ...], traced: bool
) -> None:
    log = _run_until_online(tmp_path, mosquitto, *flags)
    assert "desk session {'state': 'start'}" in log, "deskctl's own debug events are there"
    assert (PACKET_TRACE in log) is traced, log[-2000:]
