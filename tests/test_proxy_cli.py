"""The CLI through an ESPHome Bluetooth proxy: `--sim proxy`, `deskctl emulate proxy` named in the
settings as a person would set it up, `scan --proxy`, and the sentences for bad input."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli import cli_env, deskctl

KEY = base64.b64encode(bytes(range(32))).decode()


def test_move_through_the_emulated_proxy_lands_within_1_mm(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "move", "110cm", "--sim", "proxy", "--json", timeout_s=120)
    assert done.returncode == 0, done.stderr
    assert abs(json.loads(done.stdout)["height_mm"] - 1100) <= 1


def test_scan_through_the_emulated_proxy_lists_the_desk(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "scan", "--sim", "proxy", "--timeout", "1", "--json")
    assert done.returncode == 0, done.stderr
    assert [(d["name"], d["family"]) for d in json.loads(done.stdout)] == [("Desk 1234", "linak")]


def test_a_desk_behind_an_encrypted_proxy_named_in_the_settings_is_found_and_moved(
    tmp_path: Path,
) -> None:
    emulator = subprocess.Popen(
        [
            sys.executable, "-m", "deskctl", "emulate", "proxy",
            "--port", "0", "--key", KEY, "--time-scale", "10",
        ],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        first = emulator.stdout.readline()  # blocks until the proxy listens (or it ends)
        assert first.startswith("# settings"), first
        settings = ""
        while not settings.rstrip().endswith(f'key = "{KEY}"'):
            line = emulator.stdout.readline()
            assert line, "the emulator ended before it printed the settings"
            settings += line
        port = next(
            line.split("=")[1].strip() for line in settings.splitlines() if line.startswith("port")
        )
        config = tmp_path / "config"
        config.mkdir(exist_ok=True)
        (config / "settings.toml").write_text(settings, encoding="utf-8")
        found = deskctl(
            tmp_path, "scan", "--proxy", f"127.0.0.1:{port}", "--timeout", "1", "--json",
            DESKCTL_PROXY_KEY=KEY,
        )  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert [d["family"] for d in json.loads(found.stdout)] == ["linak"]
        said = deskctl(
            tmp_path, "scan", "--proxy", f"127.0.0.1:{port}", "--timeout", "1",
            DESKCTL_PROXY_KEY=KEY,
        )  # fmt: skip
        assert said.stdout.splitlines()[-1] == (
            f'and the proxy: [desks.office.proxy] host = "127.0.0.1" port = {port} key = "..."'
        )
        done = deskctl(tmp_path, "move", "80cm", "--json", timeout_s=120)
        assert done.returncode == 0, done.stderr
        assert abs(json.loads(done.stdout)["height_mm"] - 800) <= 1
        wrong = deskctl(
            tmp_path, "scan", "--proxy", f"127.0.0.1:{port}", "--proxy-key",
            base64.b64encode(bytes(32)).decode(), "--timeout", "1",
        )  # fmt: skip
        assert wrong.returncode == 1
        assert wrong.stderr.strip() == (
            f"deskctl: the Bluetooth proxy at 127.0.0.1:{port} refused the encryption key: set "
            "key to the api: encryption: key from its ESPHome configuration."
        )
    finally:
        emulator.send_signal(signal.SIGINT)
        _, err = emulator.communicate(timeout=30)
    assert emulator.returncode == 0
    assert "Traceback" not in err


def test_a_proxy_key_without_a_proxy_is_one_sentence(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "scan", "--proxy-key", KEY)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "deskctl: --proxy-key goes with --proxy HOST, the proxy it unlocks."
    )


def test_a_malformed_key_for_the_emulated_proxy_is_one_sentence(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "emulate", "proxy", "--key", "secret")
    assert done.returncode == 2
    assert done.stderr.startswith("deskctl: --key is not an ESPHome API encryption key")
    assert len(done.stderr.strip().splitlines()) == 1


def test_config_show_hides_the_proxy_key(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.toml").write_text(
        '[desks.office]\nlink = "ble"\naddress = "C2:4B:1D:00:12:34"\n\n'
        f'[desks.office.proxy]\nhost = "desk-proxy.local"\nkey = "{KEY}"\n',
        encoding="utf-8",
    )
    done = deskctl(tmp_path, "config", "show", "--json")
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stdout
    proxy = json.loads(done.stdout)["settings"]["desks"]["office"]["proxy"]
    assert proxy == {
        "address_type": None,
        "host": "desk-proxy.local",
        "key": "**********",
        "port": 6053,
    }
