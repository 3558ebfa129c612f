"""The MQTT broker plumbing that the MQTT desk link and the MQTT bridge share.

Design: `broker_client` makes the one kind of aiomqtt client both use (TLS checks the broker's
certificate and host name; `tls_insecure` skips only the host name, and `warn_tls_insecure` says
so); `broker_error` turns whatever aiomqtt raised into a `LinkError` with one sentence saying what
to check, and `login_refused` / `tls_failed` say which failures no retry can mend.
"""

from __future__ import annotations

import gc
import logging
import socket
import ssl
import warnings
from typing import TYPE_CHECKING

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.enums import MQTTErrorCode

from deskctl.errors import ConfigError, LinkError

if TYPE_CHECKING:
    from deskctl.config.settings import MqttSettings

__all__ = [
    "broker_client",
    "broker_error",
    "login_refused",
    "tls_failed",
    "warn_tls_insecure",
]

log = logging.getLogger(__name__)
# paho's own log (socket errors as a client disconnects): kept out of the terminal unless the
# application configures logging.
_CLIENT_LOG = logging.getLogger("deskctl.mqtt.client")
_CLIENT_LOG.addHandler(logging.NullHandler())

_NO_DELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
_LOGIN_CODES = (4, 0x86)  # CONNACK: bad user name or password (MQTT 3, MQTT 5)
_NOT_AUTHORISED_CODES = (5, 0x87)  # CONNACK: not authorised


def warn_tls_insecure(broker: MqttSettings, who: str) -> None:
    """Say out loud (a warning) that `who` connects with `tls_insecure` on, if it does."""
    if broker.tls_insecure:
        log.warning(
            "%s: mqtt tls_insecure is on: the broker's certificate is not checked against the "
            "host name %r, so whoever answers there can pose as the broker and drive the desk; "
            "prefer ca_file",
            who,
            broker.host,
        )


def _tls_context(broker: MqttSettings) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=str(broker.ca_file) if broker.ca_file else None)
        if broker.cert_file is not None:
            context.load_cert_chain(
                str(broker.cert_file), str(broker.key_file) if broker.key_file else None
            )
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"mqtt: the TLS files (ca_file, cert_file, key_file) cannot be used: {reason}"
        ) from None
    if broker.tls_insecure:
        context.check_hostname = False
    return context


def broker_client(
    broker: MqttSettings,
    *,
    client_id: str | None = None,
    will: aiomqtt.Will | None = None,
    timeout_s: float = 10.0,
    protocol: aiomqtt.ProtocolVersion | None = None,
) -> aiomqtt.Client:
    """An aiomqtt client for the configured broker (not yet connected; `async with` it)."""
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password.get_secret_value() if broker.password is not None else None,
        identifier=client_id,
        protocol=protocol,
        logger=_CLIENT_LOG,
        will=will,
        tls_context=_tls_context(broker) if broker.tls else None,
        timeout=timeout_s,
        socket_options=[_NO_DELAY],  # a stop must leave now, not wait for an ACK (Nagle)
    )


def _release_failed_tls_socket(exc: BaseException) -> None:
    """Close the socket of a failed TLS handshake now.

    paho-mqtt 2.2 drops that socket without closing it (the traceback of the handshake error
    still holds it), so each failed attempt (a reconnect loop with a wrong ca_file) would keep a
    file descriptor until the garbage collector runs, and then warn (ResourceWarning) in whatever
    code happens to run at that moment. The error is replaced by a LinkError sentence anyway.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        seen: set[int] = set()
        inner = exc.__cause__ or exc.__context__
        while inner is not None and id(inner) not in seen:
            seen.add(id(inner))
            inner.__traceback__ = None
            inner = inner.__cause__ or inner.__context__
        gc.collect()


def broker_error(
    exc: aiomqtt.MqttError, broker: MqttSettings, *, in_session: bool = False
) -> LinkError:
    """One sentence a person can act on, for whatever aiomqtt raised.

    `in_session`: the error came from a publish or subscribe of a connected session, so a code
    in it is the broker's answer to that, not a refused login: the connection is lost.
    """
    where = f"the MQTT broker at {broker.host}:{broker.port}"
    if in_session and _session_code(exc):
        return LinkError(f"lost the connection to {where} ({exc})")
    code = _connack_code(exc)  # a login refusal comes as the broker's reason code (CONNACK)
    if code in _LOGIN_CODES:
        return LinkError(
            f"{where} refused the user name or password; check username and password in "
            "the [mqtt] settings"
        )
    if code in _NOT_AUTHORISED_CODES:
        return LinkError(
            f"{where} refused this client as not authorised; check username and password "
            "in the [mqtt] settings and the broker's access rules"
        )
    text = str(exc)
    lowered = text.lower()
    if tls_failed(exc):
        _release_failed_tls_socket(exc)
        return LinkError(
            f"the TLS handshake with {where} failed ({text}); check ca_file and tls in the "
            "[mqtt] settings and that this port speaks TLS"
        )
    if "timed out" in lowered:
        return LinkError(
            f"{where} did not answer in time; check host, port and tls in the [mqtt] settings "
            "and the network"
        )
    if "refused" in lowered:
        return LinkError(
            f"cannot reach {where}: the connection was refused; check that the broker runs and "
            "that host and port in the [mqtt] settings are right"
        )
    if "name or service" in lowered or "nodename" in lowered or "resolution" in lowered:
        return LinkError(
            f"cannot find the MQTT broker's host {broker.host!r}; check host in the [mqtt] settings"
        )
    if "disconnected" in lowered:
        return LinkError(f"lost the connection to {where}; check that the broker still runs")
    return LinkError(
        f"cannot talk to {where} ({text or type(exc).__name__}); check that it runs and the "
        "[mqtt] settings"
    )


def _connack_code(exc: aiomqtt.MqttError) -> object:
    """The broker's reason code when it refused the connection, else None.

    paho's own client-side codes (MQTTErrorCode: 4 is "not connected", 5 "connection refused")
    share the numbers of a login refusal, so they are not the broker's.
    """
    if isinstance(exc, aiomqtt.MqttCodeError) and not isinstance(exc.rc, MQTTErrorCode):
        return getattr(exc.rc, "value", exc.rc)
    return None


def _session_code(exc: aiomqtt.MqttError) -> bool:
    """A publish or subscribe failed with a code (not the answer to connecting)."""
    return isinstance(exc, aiomqtt.MqttCodeError) and not isinstance(exc, MqttConnectError)


def login_refused(exc: aiomqtt.MqttError) -> bool:
    """The broker turned the credentials down while connecting (retrying cannot help)."""
    if not isinstance(exc, MqttConnectError):
        return False
    return _connack_code(exc) in _LOGIN_CODES + _NOT_AUTHORISED_CODES


def tls_failed(exc: aiomqtt.MqttError) -> bool:
    """The TLS handshake failed (a certificate, or a port that does not speak TLS)."""
    lowered = str(exc).lower()
    return "certificate" in lowered or "ssl" in lowered or "tls" in lowered
