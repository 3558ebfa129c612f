"""`deskctl run` with `[mqtt]` set: Home Assistant sees the desk and moves it.

The service runs as a person starts it (a subprocess, on the simulated desk); `mosquitto_sub` and
`mosquitto_pub` play Home Assistant against a real mosquitto. Waits are bounded reads.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from deskctl.adapters import control_client
from deskctl.adapters.mqtt_bridge import _this_host
from deskctl.core.ha import host_bridge_id
from tests.cli import cli_env, deskctl
from tests.mosquitto import Broker


def _settings(tmp_path: Path, broker: Broker, **mqtt: str) -> None:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    extra = "".join(f'{key} = "{value}"\n' for key, value in mqtt.items())
    (config / "settings.toml").write_text(
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n{extra}',
        encoding="utf-8",
    )


def _retained(broker: Broker, topic: str) -> str:
    """The retained message on `topic` (waits at most 10 s for it)."""
    done = subprocess.run(
        ["mosquitto_sub", *broker.client_args(), "-t", topic, "-C", "1", "-W", "10"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return done.stdout.strip()


def test_home_assistant_sees_the_desk_and_moves_it(tmp_path: Path, mosquitto: Broker) -> None:
    _settings(tmp_path, mosquitto)
    service = subprocess.Popen(
        [sys.executable, "-m", "deskctl", "run", "--simulate", "--from", "2026-11-30T07:00:00"],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sock = tmp_path / "run" / "control.sock"
    availability = f"deskctl/bridge/{host_bridge_id(*_this_host())}/availability"
    try:
        # the default bridge id is this host's and user's, the same in every process
        assert _retained(mosquitto, availability) == "online"
        discovery = json.loads(_retained(mosquitto, "homeassistant/device/+/config"))
        assert "deskctl/desk/availability" in json.dumps(discovery)
        deadline = time.monotonic() + 20  # the state follows once the desk has connected
        state = json.loads(_retained(mosquitto, "deskctl/desk/state"))
        while state["height_mm"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
            state = json.loads(_retained(mosquitto, "deskctl/desk/state"))
        assert state["height_mm"] == 750
        subprocess.run(
            ["mosquitto_pub", *mosquitto.client_args(), "-t", "deskctl/desk/height/set",
             "-m", "90cm"],
            check=True, timeout=10,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        state = control_client.call("status", path=sock)
        while time.monotonic() < deadline and (state["moving"] or state["height_mm"] != 900):
            time.sleep(0.1)
            state = control_client.call("status", path=sock)
        assert state["height_mm"] == 900
    finally:
        service.send_signal(signal.SIGTERM)
        out, _ = service.communicate(timeout=30)
    assert service.returncode == 0, out
    assert _retained(mosquitto, availability) == "offline"


def test_a_wrong_password_stops_the_service_with_one_sentence(
    tmp_path: Path, mosquitto_tls: Broker
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(
        f'[mqtt]\nhost = "{mosquitto_tls.host}"\nport = {mosquitto_tls.port}\ntls = true\n'
        f'ca_file = "{mosquitto_tls.ca_file}"\nusername = "{mosquitto_tls.username}"\n'
        'password = "not-the-password"\n',
        encoding="utf-8",
    )
    done = deskctl(tmp_path, "run", "--simulate", timeout_s=60)
    assert done.returncode != 0
    assert "password" in done.stderr
    assert "not-the-password" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
