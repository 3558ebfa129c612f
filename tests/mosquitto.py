"""A real Debian `mosquitto` for tests: plain, or TLS with a password file.

Design: `run_mosquitto(folder)` writes a config into `folder` (a listener on a free loopback port,
no persistence, the log in `mosquitto.log`; `user root` when run as root, or mosquitto drops to
its own user and cannot read the files), starts the broker, waits (bounded) until its port accepts
connections, yields a `Broker` and kills it after. With `tls=True` it also makes a self-signed
certificate for `localhost`/`127.0.0.1` with the `openssl` CLI and a password file with
`mosquitto_passwd -b`; anonymous clients are then refused. If the port was taken between picking
and binding (another test won the race) it starts again on another port. `Broker.kill()` and
`Broker.restart()` play a broker crash and a broker restart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from deskctl.config.settings import MqttSettings

__all__ = ["Broker", "BrokerUnavailable", "run_mosquitto"]

HOST = "127.0.0.1"
USERNAME = "deskctl"
PASSWORD = "correct horse battery staple"
_READY_S = 10.0
_ATTEMPTS = 3


class BrokerUnavailable(RuntimeError):
    """mosquitto is not installed or would not start."""


@dataclass
class Broker:
    """A running test broker and how to reach it; `restart()` starts it again on its port."""

    host: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = None

    @property
    def tls(self) -> bool:
        return self.ca_file is not None

    def settings(self, **changes: object) -> MqttSettings:
        """`MqttSettings` that reach this broker (with its credentials), with `changes` applied."""
        settings = MqttSettings(
            host=self.host,
            port=self.port,
            tls=self.tls,
            ca_file=self.ca_file,
            username=self.username,
            password=SecretStr(self.password) if self.password is not None else None,
        )
        return settings.model_copy(update=changes)

    def client_args(self) -> list[str]:
        """The `mosquitto_pub`/`mosquitto_sub` options that reach this broker."""
        args = ["-h", self.host, "-p", str(self.port)]
        if self.ca_file is not None:
            args += ["--cafile", str(self.ca_file)]
        if self.username is not None and self.password is not None:
            args += ["-u", self.username, "-P", self.password]
        return args

    def kill(self) -> None:
        """Kill the broker at once (as a crash would); `restart()` brings it back."""
        _stop(self.process)

    def restart(self) -> None:
        """Kill the broker and start it again on the same port (retained messages are gone)."""
        _stop(self.process)
        process = _launch(self.folder)
        if not _wait_ready(process, self.port):
            _stop(process)
            raise BrokerUnavailable(f"mosquitto would not start again on port {self.port}")
        self.process = process

    def log(self) -> str:
        try:
            return (self.folder / "mosquitto.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def _program(name: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BrokerUnavailable(f"{name} is not installed; scripts/setup installs it")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "broker.crt", folder / "broker.key"
    subprocess.run(
        [_program("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def _make_password_file(folder: Path) -> Path:
    passwd = folder / "passwd"
    subprocess.run(
        [_program("mosquitto_passwd"), "-c", "-b", str(passwd), USERNAME, PASSWORD],
        check=True,
        capture_output=True,
        timeout=30,
    )
    passwd.chmod(0o600)
    return passwd


def _config(port: int, folder: Path, tls: tuple[Path, Path, Path] | None) -> str:
    lines = [
        f"listener {port} {HOST}",
        "persistence false",
        "set_tcp_nodelay true",  # no Nagle delay: tests run desks on a fast clock
        f"log_dest file {folder / 'mosquitto.log'}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    if tls is None:
        lines.append("allow_anonymous true")
    else:
        cert, key, passwd = tls
        lines += [
            f"cafile {cert}",
            f"certfile {cert}",
            f"keyfile {key}",
            f"password_file {passwd}",
            "allow_anonymous false",
        ]
    return "\n".join(lines) + "\n"


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    """True once the port accepts a connection; False if mosquitto exits first."""
    deadline = time.monotonic() + _READY_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.01)  # polling a port that is about to open, within a bound
    raise BrokerUnavailable(f"mosquitto did not open port {port} within {_READY_S:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def _launch(folder: Path) -> subprocess.Popen[bytes]:
    with open(folder / "stderr.log", "ab") as stderr:
        return subprocess.Popen(
            [_program("mosquitto"), "-c", str(folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


@contextmanager
def run_mosquitto(folder: Path, *, tls: bool = False) -> Iterator[Broker]:
    """A mosquitto in `folder`, plain or with TLS and a password, killed on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    files = None
    if tls:
        cert, key = _make_certificate(folder)
        files = (cert, key, _make_password_file(folder))
    for _ in range(_ATTEMPTS):
        port = _free_port()
        config = folder / "mosquitto.conf"
        config.write_text(_config(port, folder, files), encoding="utf-8")
        process = _launch(folder)
        try:
            ready = _wait_ready(process, port)
        except BaseException:
            _stop(process)
            raise
        if not ready:
            _stop(process)
            continue  # most likely the port was taken meanwhile: try another
        broker = Broker(
            host=HOST,
            port=port,
            folder=folder,
            process=process,
            ca_file=files[0] if files else None,
            username=USERNAME if tls else None,
            password=PASSWORD if tls else None,
        )
        try:
            yield broker
        finally:
            _stop(broker.process)
        return
    said = ""
    for name in ("stderr.log", "mosquitto.log"):
        with contextlib.suppress(OSError):
            said += (folder / name).read_text(encoding="utf-8", errors="replace")
    raise BrokerUnavailable(f"mosquitto would not start; it said: {said[-500:]}")
