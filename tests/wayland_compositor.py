"""A tiny Wayland compositor for the Wayland presence source's tests: pywayland's server API on a
private socket, offering `wl_seat` and (unless told not to) `ext_idle_notifier_v1`.

It runs libwayland's own event loop in a thread of its own (pywayland gives no way to watch that
loop's fd from asyncio); everything server-side happens in that thread. The test plays the
person through a pipe the loop watches: `touch()` is input (each notification that was idle
sends `resumed`, and each one's timeout starts again), `close()` stops the compositor, which
closes every client's connection. `already_idle` makes a new notification idle at once. Each
notification's timeout is a timer of the compositor's loop, in real time: a compositor's idle
clock cannot be warped.

Two gaps in pywayland's server side (0.4.19) are bridged here: libwayland hands a request the
resource's implementation, where pywayland put nothing (`_dispatch_requests`), and pywayland
cannot read a `new_id` argument (it builds a client proxy from it), so the one request that has
one here, `get_idle_notification`, is read by `_NewNotification`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from pywayland import lib
from pywayland.protocol.ext_idle_notify_v1 import ExtIdleNotificationV1, ExtIdleNotifierV1
from pywayland.protocol.wayland import WlSeat
from pywayland.server.display import Display
from pywayland.server.eventloop import EventLoop

__all__ = ["Compositor"]

WAIT_S = 10.0


class _NewNotification:
    """`get_idle_notification(id: new_id, timeout: uint, seat: object)` read as (id, timeout)."""

    def __init__(self, message: Any) -> None:
        self.name = message.name

    def c_to_arguments(self, args_ptr: Any) -> list[int]:
        return [int(args_ptr[0].n), int(args_ptr[1].u)]


def _dispatch_requests(resource: Any) -> None:
    """Have libwayland hand `resource`'s requests to its pywayland dispatcher: pywayland gives
    its handle as the resource's data, but libwayland passes the implementation."""
    lib.wl_resource_set_dispatcher(
        resource._ptr,
        lib.dispatcher_func,
        resource._handle,
        resource._handle,
        lib.resource_destroy_func,
    )


class _Notification:
    def __init__(self, loop: EventLoop, resource: Any, timeout_ms: int) -> None:
        _dispatch_requests(resource)
        self.resource = resource
        self.timeout_ms = timeout_ms
        self.idle = False
        self.timer = loop.add_timer(self._timed_out, None)
        resource.dispatcher["destroy"] = self._destroyed

    def start(self) -> None:
        self.timer.timer_update(max(1, self.timeout_ms))

    def _timed_out(self, _data: Any) -> int:
        self.go_idle()
        return 0

    def go_idle(self) -> None:
        if not self.idle and self.resource is not None:
            self.idle = True
            self.resource.idled()

    def touched(self) -> None:
        if self.resource is None:
            return
        if self.idle:
            self.idle = False
            self.resource.resumed()
        self.start()

    def _destroyed(self, resource: Any) -> None:
        self.timer.timer_update(0)
        self.resource = None
        resource.destroy()  # still kept by the compositor: libwayland calls its handle now


class Compositor:
    def __init__(self, runtime_dir: Path, *, idle_notify: bool = True) -> None:
        self.socket = runtime_dir / "wayland-test"
        self.idle_notify = idle_notify
        self.already_idle = False
        self.timeouts_ms: list[int] = []  # what each notification asked for
        self.asked = threading.Event()  # a notification was asked for
        self._ready = threading.Event()
        self._read_fd, self._write_fd = os.pipe()
        self._thread = threading.Thread(target=self._serve, name="wayland-compositor")
        self._notifications: list[_Notification] = []
        # every resource made, kept until the display is gone: libwayland calls back into each
        # one's pywayland handle when it destroys it, and a handle whose object was collected
        # makes cffi abort the process
        self._resources: list[Any] = []

    def __enter__(self) -> Compositor:
        self._thread.start()
        if not self._ready.wait(WAIT_S):
            raise TimeoutError("the test compositor did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
        os.close(self._read_fd)

    def _serve(self) -> None:
        display = Display()
        display.add_socket(str(self.socket))
        loop = display.get_event_loop()
        seat: Any = WlSeat.global_class(display, 1)
        seat.bind_func = self._resources.append
        globals_ = [seat]
        if self.idle_notify:
            notifier: Any = ExtIdleNotifierV1.global_class(display, 1)
            notifier.bind_func = lambda resource: self._bound(loop, resource)
            globals_.append(notifier)

        def command(_fd: int, _mask: int, _data: Any) -> int:
            what = os.read(self._read_fd, 1)
            if what == b"t":
                for notification in self._notifications:
                    notification.touched()
            elif what in (b"q", b""):
                display.terminate()
            return 0

        loop.add_fd(self._read_fd, command, EventLoop.FdMask.WL_EVENT_READABLE, None)
        self._ready.set()
        display.run()
        for notification in self._notifications:
            notification.timer.remove()
        display.destroy()
        self._notifications.clear()
        self._resources.clear()
        del globals_

    def _bound(self, loop: EventLoop, resource: Any) -> None:
        self._resources.append(resource)
        _dispatch_requests(resource)
        messages = list(resource.dispatcher.messages)
        messages[1] = _NewNotification(messages[1])
        resource.dispatcher.messages = messages

        def get_idle_notification(notifier: Any, new_id: int, timeout_ms: int) -> None:
            client = lib.wl_resource_get_client(notifier._ptr)
            made = ExtIdleNotificationV1.resource_class(client, notifier.version, new_id)
            self._resources.append(made)
            notification = _Notification(loop, made, timeout_ms)
            self._notifications.append(notification)
            self.timeouts_ms.append(timeout_ms)
            if self.already_idle:
                notification.go_idle()
            else:
                notification.start()
            self.asked.set()

        resource.dispatcher["get_idle_notification"] = get_idle_notification
        resource.dispatcher["destroy"] = lambda r: r.destroy()

    def touch(self) -> None:
        """Input from the person."""
        os.write(self._write_fd, b"t")

    def close(self) -> None:
        """The compositor goes away: every client's connection closes."""
        if self._write_fd >= 0:
            os.write(self._write_fd, b"q")
            os.close(self._write_fd)
            self._write_fd = -1
        self._thread.join(WAIT_S)
