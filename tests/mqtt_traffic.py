"""Virtual time beside a real mosquitto: time stands still while a message is on its way.

Design: a test whose desk and link share one event loop can run on virtual time
(`deskctl.testing.virtual_time`) if the loop never jumps ahead while the broker still carries
something for them: otherwise a deadline of the link would pass while a report is in flight, and
virtual time would make up a silence that never was. `MqttTraffic.watch(monkeypatch)` wraps
`aiomqtt.Client` for the test and counts what is in flight between the test's own clients:
- a delivery expected: a publish to a topic that one of the test's clients subscribed to
  (one per matching subscription), or a subscribe that matches a topic published with retain
  before; received when the client's message callback runs;
- a client connecting or disconnecting, and every call waiting for the broker's acknowledgement
  (aiomqtt's pending subscribes and publishes).
`busy()` is true while any of these is open: the loop's `hold`. A delivery that was counted
twice (a retained publish and a subscribe crossing on the broker) would hold time for good, so
after `STRAY_S` real seconds with only expected deliveries open and nothing arriving, they are
written off. Real time then is only the broker's own turnaround; every deadline of the desk and
the link runs on virtual time, the same in every run and on any machine.

    traffic = MqttTraffic.watch(monkeypatch)
    run_virtual(scenario(), hold=traffic.busy)
"""

from __future__ import annotations

import time
from typing import Any

import aiomqtt
import pytest
from paho.mqtt.client import MQTTMessage, topic_matches_sub

__all__ = ["STRAY_S", "MqttTraffic"]

STRAY_S = 0.5  # real seconds: an expected delivery not in by then was counted twice


class MqttTraffic:
    """What is in flight between a test's own MQTT clients; see the module docstring."""

    def __init__(self) -> None:
        self.expected = 0  # deliveries on their way to one of the clients
        self.opening = 0  # clients connecting or disconnecting
        self.clients: set[aiomqtt.Client] = set()
        self.filters: dict[aiomqtt.Client, list[str]] = {}
        self.retained: set[str] = set()
        self._stray_since: float | None = None

    @classmethod
    def watch(cls, monkeypatch: pytest.MonkeyPatch) -> MqttTraffic:
        """Count the traffic of every `aiomqtt.Client` made during the test."""
        traffic = cls()
        client = aiomqtt.Client
        enter, leave = client.__aenter__, client.__aexit__
        subscribe, publish, on_message = client.subscribe, client.publish, client._on_message

        async def traced_enter(self: aiomqtt.Client) -> aiomqtt.Client:
            traffic.opening += 1
            try:
                entered = await enter(self)
            finally:
                traffic.opening -= 1
            traffic.clients.add(self)
            return entered

        async def traced_leave(self: aiomqtt.Client, *args: Any) -> None:
            traffic.clients.discard(self)
            traffic.filters.pop(self, None)
            traffic.opening += 1
            try:
                await leave(self, *args)
            finally:
                traffic.opening -= 1

        async def traced_subscribe(self: aiomqtt.Client, topic: str, *args: Any, **kw: Any) -> Any:
            traffic.filters.setdefault(self, []).append(topic)
            traffic.expected += sum(topic_matches_sub(topic, t) for t in traffic.retained)
            return await subscribe(self, topic, *args, **kw)

        async def traced_publish(self: aiomqtt.Client, topic: str, *args: Any, **kw: Any) -> None:
            traffic.expected += traffic.subscribers(topic)
            retain = kw.get("retain", args[2] if len(args) > 2 else False)
            if retain:
                traffic.retained.add(topic)
            await publish(self, topic, *args, **kw)

        def traced_message(self: aiomqtt.Client, paho: Any, data: Any, msg: MQTTMessage) -> None:
            traffic.expected = max(0, traffic.expected - 1)
            traffic._stray_since = None  # something came: wait the whole while again
            on_message(self, paho, data, msg)

        monkeypatch.setattr(client, "__aenter__", traced_enter)
        monkeypatch.setattr(client, "__aexit__", traced_leave)
        monkeypatch.setattr(client, "subscribe", traced_subscribe)
        monkeypatch.setattr(client, "publish", traced_publish)
        monkeypatch.setattr(client, "_on_message", traced_message)
        return traffic

    def subscribers(self, topic: str) -> int:
        """How many subscriptions of the clients match `topic` (MQTT also delivers a client's
        own publishes to its own subscriptions)."""
        return sum(topic_matches_sub(f, topic) for fs in self.filters.values() for f in fs)

    def busy(self) -> bool:
        """Whether something is in flight: virtual time must wait for it."""
        acks = self.opening > 0 or any(
            next(iter(c._pending_calls), None) is not None for c in self.clients
        )
        if acks or self.expected == 0:
            self._stray_since = None
            return acks
        now = time.monotonic()
        if self._stray_since is None:
            self._stray_since = now
        elif now - self._stray_since > STRAY_S:
            self.expected, self._stray_since = 0, None  # counted twice: it is not coming
            return False
        return True
