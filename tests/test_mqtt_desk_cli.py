"""An ESPHome desk over MQTT, configured by name in the settings file, moved by the CLI.

`deskctl emulate esphome` plays the desk on a real mosquitto; `deskctl move` reads the broker
and the desk's topics from the settings and drives it, as a person would set it up.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli import cli_env, deskctl
from tests.mosquitto import Broker


def test_the_cli_drives_an_mqtt_desk_named_in_the_settings(
    tmp_path: Path, mosquitto: Broker
) -> None:
    emulator = subprocess.Popen(
        [
            sys.executable, "-m", "deskctl", "emulate", "esphome",
            "--host", mosquitto.host, "--port", str(mosquitto.port),
            "--prefix", "upsy-desky-test", "--preset", "upsy", "--time-scale", "10",
        ],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        first = emulator.stdout.readline()  # blocks until connected (or the emulator ends)
        assert first.startswith("# settings"), first
        config = tmp_path / "config"
        config.mkdir(exist_ok=True)
        (config / "settings.toml").write_text(
            f'[mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n\n'
            '[desks.office]\nlink = "mqtt"\nmin_mm = 650\nmax_mm = 1250\n\n'
            '[desks.office.mqtt]\npreset = "upsy"\nprefix = "upsy-desky-test"\n',
            encoding="utf-8",
        )
        done = deskctl(tmp_path, "move", "100cm", "--json", timeout_s=120)
        assert done.returncode == 0, done.stderr
        assert abs(json.loads(done.stdout)["height_mm"] - 1000) <= 3  # 0.1 in resolution
        refused = deskctl(tmp_path, "move", "130cm")
        assert refused.returncode == 2
        assert "1250 mm" in refused.stderr
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.communicate(timeout=30)
