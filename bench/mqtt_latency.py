"""MQTT command latency: a `B/D/height/set` publish to the first write on the desk link.

How: a mosquitto on a free loopback port (started here with the test suite's helper, unless
`--host`/`--port` name one), and the service with its MQTT bridge in a thread with its own
real-time event loop, on the simulated desk. Its desk link's GATT client is wrapped (the
`StampedGatt` of bench/_service.py) so every write the link sends is stamped with
`time.perf_counter()`, one clock for the whole process. This process, like Home Assistant,
publishes `deskctl/desk/height/set` from its own aiomqtt client and loop; timed from just before
the publish until the desk's GATT client sees the move's first write (COMMAND wake) and its first
target (REFERENCE_INPUT, the one that makes the motor run). The path: the publisher's client, the
broker, the bridge's reader, the command's parse, the desk worker's status round trip through the
service's owner task, the limit and inhibit checks, the owner task again, the move controller, the
link's writer task. Each sample waits for the desk's `arrived` event before the next publish.
Two publishers take turns, each subscribed to the desk's state and events as Home Assistant is:
one sets TCP_NODELAY on its socket, one keeps paho's default (Nagle's algorithm on), which can
hold a small PUBLISH back until the broker acknowledges the publisher's last small packet (its
PUBACK for the last event it got): up to the broker's delayed-ACK time, about 40 ms on Linux.
Moves alternate between 100.0 and 101.0 cm; two warm-up rounds are left out. The service's clock
runs `--time-scale` times faster (default 10) so the moves between samples are short; nothing on
the timed path waits on that clock. The clock starts on a Sunday evening, so the schedule never
moves the desk meanwhile. Prints median, p90 and p99; never asserts.

Run: `.venv/bin/python bench/mqtt_latency.py [--quick] [--runs N] [--time-scale X]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path

import aiomqtt
from _common import Summary, bench_parser, deskctl_home, ms, print_table
from _service import ServiceThread, StampedGatt

from deskctl.adapters.mqtt_bridge import run_bridge
from deskctl.config.settings import MqttSettings
from deskctl.service.core import Service

HEIGHTS = ("100.0", "101.0")
TOPIC = "deskctl/desk/height/set"
_WAIT_S = 30.0


@contextlib.asynccontextmanager
async def bridge_beside(
    mqtt: MqttSettings, service: Service, stop: asyncio.Event
) -> AsyncIterator[None]:
    """The service's MQTT bridge, until `stop` is set."""
    bridge = asyncio.create_task(run_bridge(service, mqtt, stop=stop))
    yield
    await bridge


PUBLISHERS = {
    "TCP_NODELAY": [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    "paho's default": [],
}


async def measure(
    mqtt: MqttSettings, gatt: StampedGatt, runs: int
) -> dict[str, list[tuple[float, float]]]:
    """(to the first write, to the first target) per move and publisher, in seconds: one
    publisher sets TCP_NODELAY, one keeps the default (Nagle's algorithm on), round by round."""
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in PUBLISHERS}
    heights = itertools.cycle(HEIGHTS)
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            label: await stack.enter_async_context(
                aiomqtt.Client(
                    mqtt.host,
                    mqtt.port,
                    identifier=f"deskctl-bench-{index}",
                    socket_options=options,
                )
            )
            for index, (label, options) in enumerate(PUBLISHERS.items())
        }
        for client in clients.values():  # each one reads the desk, as Home Assistant does
            await client.subscribe("deskctl/desk/event", qos=1)
            await client.subscribe("deskctl/desk/state", qos=1)
            await _until_ready(client)
        for index in range(runs + 2):
            for label, client in clients.items():
                height = next(heights)
                gatt.arm()
                start = time.perf_counter()
                await client.publish(TOPIC, height, qos=1)
                seen = await asyncio.to_thread(gatt.target_seen.wait, _WAIT_S)
                await _until_arrived(client, round(float(height) * 10))
                first, target = gatt.first_write, gatt.first_target
                if seen and first is not None and target is not None and index >= 2:
                    samples[label].append((first - start, target - start))
    return samples


async def _until_ready(client: aiomqtt.Client) -> None:
    """Until the bridge has published a state with a known height (the desk is connected)."""
    async with asyncio.timeout(_WAIT_S):
        async for message in client.messages:
            if message.topic.matches("deskctl/desk/state"):
                state = json.loads(_text(message.payload))
                if state.get("connected") and state.get("height_mm") is not None:
                    return


async def _until_arrived(client: aiomqtt.Client, height_mm: int) -> None:
    """Until the desk says it arrived at `height_mm` (older news in the queue is passed over)."""
    async with asyncio.timeout(_WAIT_S):
        async for message in client.messages:
            if message.topic.matches("deskctl/desk/event"):
                event = json.loads(_text(message.payload))
                if event.get("type") == "arrived" and event.get("height_mm") == height_mm:
                    return
                if event.get("type") in ("error", "obstruction", "manual_move"):
                    raise RuntimeError(f"the move did not arrive: {event}")


def _text(payload: object) -> str:
    return payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)


@contextlib.contextmanager
def broker(host: str | None, port: int) -> Iterator[MqttSettings]:
    """The broker named, or a mosquitto started for this run (the test suite's helper)."""
    if host is not None:
        yield MqttSettings(host=host, port=port)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.mosquitto import run_mosquitto

    with deskctl_home("deskctl-bench-broker-") as (folder, _), run_mosquitto(folder) as found:
        yield found.settings()


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, help="moves (default 100, quick 20)")
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--host", help="an MQTT broker to use (default: start a mosquitto)")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args()
    runs = args.runs or (20 if args.quick else 100)
    with deskctl_home() as (_, env), broker(args.host, args.port) as mqtt:
        os.environ.update(env)  # the in-process service keeps its files in the temp folder
        service = ServiceThread(args.time_scale, beside=partial(bridge_beside, mqtt))
        gatt = service.start()
        try:
            samples = asyncio.run(measure(mqtt, gatt, runs))
        finally:
            service.stop()
    rows = []
    for label, pairs in samples.items():
        for what, summary in (
            ("first write", Summary.of([p[0] for p in pairs])),
            ("first target", Summary.of([p[1] for p in pairs])),
        ):
            rows.append(
                [f"publisher with {label}: {what}", str(summary.n), ms(summary.median, 2),
                 ms(summary.p90, 2), ms(summary.p99, 2)]
            )  # fmt: skip
    print_table(
        "MQTT publish to the first write on the desk link "
        f"(broker on loopback, service and bridge in process, its clock x{args.time_scale:g})",
        ["path", "moves", "median ms", "p90 ms", "p99 ms"],
        rows,
    )


if __name__ == "__main__":
    main()
