"""`VirtualTimeLoop` with a hold: time jumps only once nothing the test waits for is in flight.

A peer in another thread (standing in for a broker in another process) sends a byte after 0.1 s
of real time, while the loop also has a timer a minute ahead. Without a hold, virtual time jumps
to the timer at once and the byte comes "a minute late"; held until the byte is in, it arrives
before any virtual time has passed, and the minute then passes at once.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

from deskctl.testing.virtual_time import run_virtual


async def _byte_or_minute(arrived: threading.Event) -> tuple[str, float]:
    """Which comes first, the peer's byte or a minute of loop time; and the loop time then."""
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    came: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        ours.recv(1)
        arrived.set()
        if not came.done():
            came.set_result(None)

    loop.add_reader(ours.fileno(), readable)
    peer = threading.Timer(0.1, lambda: theirs.send(b"x"))
    peer.start()
    start = loop.time()
    minute = asyncio.ensure_future(asyncio.sleep(60))
    try:
        done, _ = await asyncio.wait({came, minute}, return_when=asyncio.FIRST_COMPLETED)
        first = "byte" if came in done else "minute"
        at_s = loop.time() - start
        await minute
        return first, at_s
    finally:
        peer.join()
        loop.remove_reader(ours.fileno())
        ours.close()
        theirs.close()


def test_unheld_virtual_time_runs_ahead_of_a_peer() -> None:
    first, _ = run_virtual(_byte_or_minute(threading.Event()))
    assert first == "minute"


def test_held_virtual_time_waits_for_the_peer_then_jumps() -> None:
    arrived = threading.Event()
    started = time.monotonic()
    first, at_s = run_virtual(_byte_or_minute(arrived), hold=lambda: not arrived.is_set())
    assert (first, at_s) == ("byte", 0.0)
    assert time.monotonic() - started < 30, "the minute itself passed on virtual time"
