"""Security: secrets stay secret, TLS is never quietly unverified, the hook never runs a shell.

What is already elsewhere: the control socket's owner-only modes and its peer-uid refusal
(tests/test_control.py), `config show` masking a password from the file and from
`DESKCTL_MQTT__PASSWORD` (tests/test_config_cli.py), the hook's environment without
`DESKCTL_*` and shell metacharacters reaching it literally (tests/test_notify.py), the bridge's
warning for tls_insecure (tests/test_bridge.py). These add the rest, end to end:
- a running service (`deskctl run --simulate --verbose`, its hook, `deskctl status`, its history
  and state files) and `config show` with passwords in the file, in `DESKCTL_MQTT__PASSWORD` and
  inside `DESKCTL_MQTT` JSON: the secrets appear nowhere; a refused MQTT login never prints them;
- the settings file `config init` writes (where the password goes) is the owner's alone;
- TLS verifies host and certificate unless `tls_insecure = true` is set explicitly; even then
  the certificate chain is checked, and the MQTT desk link says so out loud, once;
- the command hook is an argv list: a string is refused, and one string holding a shell line is
  a program name that does not exist, never a shell.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deskctl.adapters import control_client
from deskctl.adapters.notify import Notice, NoticeKind, build_notifiers
from deskctl.clocks.clock import Clock
from deskctl.config.settings import MqttDeskSettings, MqttSettings, load_settings
from deskctl.errors import ConfigError, LinkError
from deskctl.links.mqtt_broker import broker_client
from deskctl.links.mqtt_desk import MqttDeskLink
from tests.cli import cli_env, deskctl
from tests.faults.tally import counter
from tests.mosquitto import Broker, _free_port

pytestmark = pytest.mark.fault
TALLY = counter(__name__)
FILE_SECRET = "file-secret-7d1e0b"
ENV_SECRET = "env-secret-5c2a99"
JSON_SECRET = "json-secret-31f4e2"
RECORD_ENV = (
    "import json, os, sys\nopen(sys.argv[1], 'a').write(json.dumps(dict(os.environ)) + '\\n')\n"
)


def _toml_string(text: str) -> str:
    return json.dumps(text)


def _settings_with_secrets(tmp_path: Path, hook_out: Path) -> Path:
    hook = tmp_path / "hook.py"
    hook.write_text(RECORD_ENV)
    command = [sys.executable, str(hook), str(hook_out)]
    path = tmp_path / "config" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[mqtt]\n"
        'host = "127.0.0.1"\n'
        f"port = {_free_port()}\n"  # nobody listens: any client that tries fails and logs it
        'username = "deskctl"\n'
        f"password = {_toml_string(FILE_SECRET)}\n"
        "[notify]\n"
        f"command = [{', '.join(_toml_string(arg) for arg in command)}]\n"
    )
    return path


def _wait_for(condition: str, check: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # a bounded wait for a condition, not a fixed sleep
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{condition} did not happen within {timeout_s:.0f} s")


def _everything_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _posture_at_rest(sock: Path) -> str | None:
    status = control_client.call("status", path=sock)
    return None if status["moving"] else status["posture"]


def test_secrets_reach_no_log_no_status_no_hook_no_file_and_no_config_show(tmp_path: Path) -> None:
    hook_out = tmp_path / "hook-env.jsonl"
    _settings_with_secrets(tmp_path, hook_out)
    env = cli_env(tmp_path, DESKCTL_MQTT__PASSWORD=ENV_SECRET)
    sock = tmp_path / "run" / "control.sock"
    service = subprocess.Popen(
        [sys.executable, "-m", "deskctl", "run", "--simulate", "--verbose", "--time-scale", "60",
         "--from", "2026-11-30T08:59:00+01:00"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for(
            "the control socket", lambda: sock.exists() and control_client.service_running(sock)
        )
        _wait_for("a notice through the hook", lambda: hook_out.exists() and hook_out.read_text())
        _wait_for(
            "the 09:00 change, done",  # this test is about secrets: no command meets that move
            lambda: _posture_at_rest(sock) == "sit",
        )
        control_client.call("move", args={"height_mm": 1000}, path=sock, timeout_s=30)
        status = deskctl(tmp_path, "status", "--json", DESKCTL_MQTT__PASSWORD=ENV_SECRET)
        assert status.returncode == 0, status.stderr
    finally:
        service.send_signal(signal.SIGTERM)
        log, _ = service.communicate(timeout=30)
    assert service.returncode == 0, log
    assert "Arrived at 100.0 cm" in log or "100.0 cm" in log, "the log did show the service working"
    as_json = json.dumps({"password": JSON_SECRET})
    shown = [
        deskctl(tmp_path, "config", "show", DESKCTL_MQTT__PASSWORD=ENV_SECRET),
        deskctl(tmp_path, "config", "show", "--json", DESKCTL_MQTT__PASSWORD=ENV_SECRET),
        deskctl(tmp_path, "config", "show", DESKCTL_MQTT=as_json),
        deskctl(tmp_path, "config", "show", "--json", DESKCTL_MQTT=as_json),
    ]
    assert all(done.returncode == 0 for done in shown), [d.stderr for d in shown]
    TALLY.tried(len(shown) + 3)
    places = {
        "the service's log": log,
        "deskctl status": status.stdout + status.stderr,
        "the hook's environment": hook_out.read_text(),
        **{f"config show #{n}": d.stdout + d.stderr for n, d in enumerate(shown)},
        "the state and history files": _everything_under(tmp_path / "state").decode("latin-1"),
        "the runtime folder": _everything_under(tmp_path / "run").decode("latin-1"),
    }
    for place, text in places.items():
        for secret in (FILE_SECRET, ENV_SECRET, JSON_SECRET):
            assert secret not in text, f"{secret} leaked into {place}"
    assert json.loads(shown[3].stdout)["environment"]["DESKCTL_MQTT"] == json.dumps(
        {"password": "**********"}
    )


def test_a_refused_mqtt_login_never_prints_the_password(
    tmp_path: Path, mosquitto_tls: Broker
) -> None:
    assert mosquitto_tls.ca_file is not None
    path = tmp_path / "config" / "settings.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "[mqtt]\n"
        f'host = "{mosquitto_tls.host}"\nport = {mosquitto_tls.port}\ntls = true\n'
        f"ca_file = {_toml_string(str(mosquitto_tls.ca_file))}\n"
        f'username = "deskctl"\npassword = {_toml_string(FILE_SECRET)}\n'
        '[desks.office]\nlink = "mqtt"\nmqtt = {preset = "upsy", prefix = "upsy-desky-x"}\n'
    )
    TALLY.fault()
    direct = deskctl(tmp_path, "status")  # no service: straight to the desk, refused
    assert direct.returncode == 1
    assert "check username and password" in direct.stderr
    service = subprocess.Popen(
        [sys.executable, "-m", "deskctl", "run"],
        env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert service.stdout is not None
        for line in service.stdout:
            lines.append(line)
            if "check username and password" in line:
                break
    finally:
        service.send_signal(signal.SIGTERM)
        rest, _ = service.communicate(timeout=30)
    log = "".join(lines) + rest
    assert "check username and password" in log
    assert FILE_SECRET not in log + direct.stdout + direct.stderr


def test_the_settings_file_config_init_writes_is_the_owners_alone(tmp_path: Path) -> None:
    done = deskctl(tmp_path, "config", "init", "--simulate", "--yes", "--no-service")
    assert done.returncode == 0, done.stderr
    mode = stat.S_IMODE((tmp_path / "config" / "settings.toml").stat().st_mode)
    assert mode & 0o077 == 0, f"the file that will hold the MQTT password is {oct(mode)}"


# --- TLS ------------------------------------------------------------------------------------------


def _context(**changes: object) -> ssl.SSLContext:
    client = broker_client(MqttSettings(host="broker", tls=True).model_copy(update=changes))
    context = client._client._ssl_context  # paho keeps the context it was given
    assert isinstance(context, ssl.SSLContext)
    return context


async def test_tls_checks_host_and_certificate_unless_tls_insecure_is_set_explicitly() -> None:
    verified = _context()
    assert verified.check_hostname is True
    assert verified.verify_mode is ssl.CERT_REQUIRED
    loose = _context(tls_insecure=True)
    assert loose.check_hostname is False
    assert loose.verify_mode is ssl.CERT_REQUIRED, "even then the certificate chain is checked"
    assert MqttSettings().tls_insecure is False


@pytest.mark.parametrize("value", ['"maybe"', '"of course"', "2", '""', "[]"])
def test_tls_insecure_takes_only_a_clear_yes_or_no(tmp_path: Path, value: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(f"[mqtt]\ntls = true\ntls_insecure = {value}\n")
    TALLY.tried()
    with pytest.raises(ConfigError, match=r"mqtt\.tls_insecure"):
        load_settings(path)


async def test_the_mqtt_desk_link_says_out_loud_once_that_tls_insecure_is_on(
    mosquitto_tls: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    broker = mosquitto_tls.settings(tls_insecure=True)
    desk = MqttDeskSettings(preset="upsy", prefix="upsy-desky-x")
    link = MqttDeskLink("office", broker, desk, Clock(scale=20.0))
    async with asyncio.timeout(30):
        await link.connect()
        await link.close()
        await link.connect()  # a reconnect does not say it again
        await link.close()
    said = [r.getMessage() for r in caplog.records if "tls_insecure is on" in r.getMessage()]
    assert len(said) == 1, said
    assert "office" in said[0]
    assert "pose as the broker" in said[0]


async def test_tls_insecure_still_refuses_a_certificate_nobody_trusts(
    mosquitto_tls: Broker,
) -> None:
    broker = mosquitto_tls.settings(tls_insecure=True, ca_file=None)  # self-signed, not trusted
    desk = MqttDeskSettings(preset="upsy", prefix="upsy-desky-x")
    link = MqttDeskLink("office", broker, desk, Clock(scale=20.0))
    TALLY.fault()
    with pytest.raises(LinkError, match="TLS handshake"):
        async with asyncio.timeout(30):
            await link.connect()


# --- the command hook ---------------------------------------------------------------------------


def test_a_hook_given_as_one_string_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[notify]\ncommand = "notify-send hi; touch pwned"\n')
    TALLY.tried()
    with pytest.raises(ConfigError, match=r"notify\.command"):
        load_settings(path)
    assert not (tmp_path / "pwned").exists()


async def test_a_shell_line_in_one_argv_entry_is_a_program_name_not_a_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "settings.toml"
    path.write_text('[notify]\nterminal = false\ncommand = ["touch pwned; touch also-pwned"]\n')
    settings = load_settings(path)
    TALLY.tried()
    notice = Notice(NoticeKind.ARRIVED, "office", "Arrived at 110.0 cm")
    async with asyncio.timeout(30), build_notifiers(settings.notify) as notifiers:
        notifiers.post(notice)
    assert sorted(os.listdir(tmp_path)) == ["settings.toml"], "no shell ran the line"
    assert "cannot be started" in caplog.text
