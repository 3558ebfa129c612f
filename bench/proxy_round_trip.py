"""Figure 10, an ESPHome Bluetooth proxy's cost: the round trip it adds to each GATT request, and
moves through it against moves over a local adapter.

How, part 1 (wall-clock time on this machine): the emulated LINAK desk on Bumble's virtual radio
with no radio timing (requests are answered at once), reached three ways with the real
`bleak.BleakClient`: over the local adapter (the Bumble backend), and through the emulated proxy
(`deskctl.sim.esphome_proxy`, its native API on a loopback TCP socket) with bleak-esphome's
backend, plaintext and noise-encrypted. The proxy's added round trip is the difference of the
medians: the API's framing and protobuf, the encryption, the socket, and the proxy's own bleak
request on the radio. Measured: a read of the height characteristic, a write with response (the
STOP command to a desk at rest), and a whole connect (session, device info, slots, advertisement,
connect, GATT database).
How, part 2 (virtual time, as bench/ble_moves.py): the same random moves with realistic physics
and radio timing (connection events every 15-50 ms, lost height notifications) over the local
adapter and through the proxy: landing error against the target, and arrival latency (from the
motor coming to rest to `move_to` returning). On a real proxy the Wi-Fi adds its own delay to
each request; part 1 shows what the protocol costs without it.

Run: `.venv/bin/python bench/proxy_round_trip.py [--quick] [--requests N] [--moves N]`.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable

from _common import Summary, bench_parser, machine, ms, print_table
from ble_moves import START_MM, Move, _measure, targets
from bleak import BleakClient

from deskctl.clocks.clock import Clock
from deskctl.core.linak import DEFAULT_BASE_MM, DEFAULT_TOP_MM, Char, Command
from deskctl.links.ble import BleakGattClient
from deskctl.links.esphome_proxy import ProxyTarget, proxy_backends
from deskctl.links.linak import LinakLink
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.esphome_proxy import EmulatedProxy
from deskctl.sim.physics import NO_RADIO, RADIO, REALISTIC, seeded
from deskctl.testing.virtual_time import run_virtual

KEY = base64.b64encode(bytes(range(32))).decode()
PATHS = ("local adapter", "proxy, plaintext", "proxy, noise")


async def _timed(
    samples: list[float], work: Callable[..., Awaitable[object]], *args: object, **kw: object
) -> None:
    start = time.perf_counter()
    await work(*args, **kw)
    samples.append(time.perf_counter() - start)


async def round_trips(requests: int, connects: int) -> dict[str, dict[str, Summary]]:
    """Each path's reads, writes and connects, taken in turns (one request on each path, then
    the next), so a busy moment on a shared machine hits every path alike."""
    radio = BumbleRadio(radio=NO_RADIO)
    desks = [
        EmulatedDesk(radio, DeskModel(height_mm=START_MM), name=f"Desk {n}", clock=Clock())
        for n in range(len(PATHS))
    ]
    plain = EmulatedProxy(radio)
    noise = EmulatedProxy(radio, key=KEY)
    samples: dict[str, dict[str, list[float]]] = {
        path: {"read": [], "write": [], "connect": []} for path in PATHS
    }
    for desk in desks:
        await desk.start()
    async with plain, noise:
        backends: dict[str, type] = {
            PATHS[0]: radio.client_backend,
            PATHS[1]: proxy_backends(ProxyTarget("127.0.0.1", plain.port))[0],
            PATHS[2]: proxy_backends(ProxyTarget("127.0.0.1", noise.port, KEY))[0],
        }
        address = {path: desk.address for path, desk in zip(PATHS, desks, strict=True)}
        for _ in range(connects):
            for path in PATHS:
                client = BleakClient(address[path], timeout=10.0, backend=backends[path])
                await _timed(samples[path]["connect"], client.connect)
                await client.disconnect()
        clients = {
            path: BleakClient(address[path], timeout=10.0, backend=backends[path]) for path in PATHS
        }
        for client in clients.values():
            await client.connect()
            for _ in range(3):  # warm up
                await client.read_gatt_char(Char.HEIGHT_SPEED.value)
        stop = Command.STOP.value
        for _ in range(requests):
            for path, client in clients.items():
                await _timed(samples[path]["read"], client.read_gatt_char, Char.HEIGHT_SPEED.value)
                await _timed(
                    samples[path]["write"],
                    client.write_gatt_char,
                    Char.COMMAND.value,
                    stop,
                    response=True,
                )
        for client in clients.values():
            await client.disconnect()
    for desk in desks:
        await desk.stop()
    await radio.close()
    return {
        path: {kind: Summary.of(values) for kind, values in kinds.items()}
        for path, kinds in samples.items()
    }


async def moves(path: str, plan: list[int], seed: int) -> list[Move]:
    clock = Clock()
    radio = BumbleRadio(radio=RADIO, rng=seeded(seed + 1))
    model = DeskModel(height_mm=START_MM, physics=REALISTIC, rng=seeded(seed))
    async with (
        EmulatedDesk(radio, model, clock=clock, step_s=0.01) as desk,
        EmulatedProxy(radio) as proxy,
    ):
        if path == "local adapter":
            backend: type = radio.client_backend
        else:
            backend = proxy_backends(ProxyTarget("127.0.0.1", proxy.port))[0]
        gatt = BleakGattClient(desk.address, timeout_s=10, backend=backend)
        link = LinakLink("bench", gatt, clock)
        await link.connect()
        try:
            return await _measure(link, model, clock, plan)
        finally:
            await link.close()


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, help="requests per path (default 300, quick 60)")
    parser.add_argument("--moves", type=int, help="random targets (default 60, quick 15)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    requests = args.requests or (60 if args.quick else 300)
    connects = 5 if args.quick else 15
    count = args.moves or (15 if args.quick else 60)
    print(machine())

    figures = asyncio.run(round_trips(requests, connects))
    local = figures["local adapter"]
    rows = []
    for path, summary in figures.items():
        row = [path]
        for kind in ("read", "write", "connect"):
            s = summary[kind]
            added = s.median - local[kind].median
            row += [ms(s.median, 2), ms(s.p90, 2), "-" if path == PATHS[0] else ms(added, 2)]
        rows.append(row)
    print_table(
        f"GATT round trips, wall clock, no radio timing: {requests} reads and writes, "
        f"{connects} connects per path",
        [
            "path",
            "read med ms",
            "p90",
            "added",
            "write med ms",
            "p90",
            "added",
            "connect med ms",
            "p90",
            "added",
        ],
        rows,
    )

    plan = targets(count, args.seed, DEFAULT_BASE_MM, DEFAULT_TOP_MM)
    rows = []
    for path in ("local adapter", "proxy, plaintext"):
        done = run_virtual(moves(path, plan, args.seed))
        errors = Summary.of([abs(m.rest_error_mm) for m in done])
        latency = Summary.of([m.latency_s * 1000 for m in done])
        rows.append(
            [
                path,
                str(len(done)),
                f"{errors.median:.2f}",
                f"{errors.high:.2f}",
                f"{latency.median:.0f}",
                f"{latency.p90:.0f}",
                f"{latency.high:.0f}",
            ]
        )
    print_table(
        f"Moves, virtual time, realistic desk and radio: {count} random targets, seed {args.seed}",
        [
            "path",
            "moves",
            "|rest-target| med mm",
            "max mm",
            "arrival latency med ms",
            "p90",
            "max",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
