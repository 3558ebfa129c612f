"""`LinakLink`: a LINAK desk driven through any `GattClient` (bleak, or the model in tests).

Design: all protocol decisions live in the pure `MoveController`; this class only carries them
out. Notifications and deadline timers feed the controller; each `Decision` it returns is applied
the same way: its writes go, in order, through one writer task; its deadline re-arms one timer;
a read it asks for reads HEIGHT_SPEED back (one at a time, in a task of its own) and hands the
answer to `read_back` (a real desk is quiet at rest, so arrival is decided on the height read
back, not on the last notification; an answer that comes after its move ended is dropped);
its manual-move note and outcome become events and the result of `move_to`. Connecting reads the
desk's own base height (DPG 0x81, plus the configured calibration) and wakes DPG1C/DPG1M
controllers (user id 0x86, then COMMAND wake). A dropped link ends a move with `LinkError` and the
controller forgets its target, so nothing resumes after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from deskctl.clocks.clock import Clock
from deskctl.core import linak
from deskctl.core.linak import Char, Command, DpgCommand
from deskctl.core.move import Decision, MoveConfig, MoveController, Phase, Write
from deskctl.errors import DeskctlError, LinkError, MoveError, ProtocolError
from deskctl.links.base import (
    ConnectionChanged,
    DeskLink,
    HeightChanged,
    ManualMove,
    Progress,
    drained,
)
from deskctl.links.deadline import DeadlineTimer
from deskctl.links.gatt import GattClient

__all__ = ["LinakLink"]

log = logging.getLogger(__name__)

_DPG_TIMEOUT_S = 2.0


class LinakLink(DeskLink):
    """A LINAK desk (IKEA IDÅSEN and other DPG desks) over a GATT client."""

    maker = "LINAK"
    model_name = "Desk over Bluetooth LE"

    def __init__(
        self,
        name: str,
        gatt: GattClient,
        clock: Clock,
        *,
        min_mm: int = linak.DEFAULT_BASE_MM,
        max_mm: int = linak.DEFAULT_TOP_MM,
        calibration_mm: int = 0,
        move_config: MoveConfig | None = None,
    ) -> None:
        super().__init__(name, clock, min_mm=min_mm, max_mm=max_mm)
        self.gatt = gatt
        self.calibration_mm = calibration_mm
        self.base_mm = linak.DEFAULT_BASE_MM + calibration_mm
        self._config = move_config or MoveConfig()
        self._controller = MoveController(self._config, base_mm=self.base_mm)
        self._writes: asyncio.Queue[Write] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._timer = DeadlineTimer(clock, self._on_deadline)
        self._move: asyncio.Future[int] | None = None
        self._progress: Progress | None = None
        self._dpg_answer: asyncio.Future[bytes] | None = None
        self._speed = 0
        self._reader: asyncio.Task[None] | None = None
        self._moves = 0  # counts moves started, so a read-back knows which move asked for it

    # -- state --------------------------------------------------------------------------------
    @property
    def height_mm(self) -> int | None:
        return self._controller.height_mm

    @property
    def moving(self) -> bool:
        return self._speed != 0

    @property
    def connected(self) -> bool:
        return self.gatt.is_connected

    # -- connection ---------------------------------------------------------------------------
    async def connect(self) -> None:
        await self.gatt.connect(self._on_disconnect)
        await self._stop_writer(drain=False)
        self._controller = MoveController(self._config, base_mm=self.base_mm)
        self._writes = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name=f"{self.name}-writer")
        try:
            await self._set_up()
        except (LinkError, ProtocolError) as exc:
            await self._stop_writer(drain=False)
            await self.gatt.disconnect()
            if isinstance(exc, LinkError):
                raise
            raise LinkError(
                f"desk {self.name!r} answered with bytes that make no sense: {exc}"
            ) from None
        self._emit(ConnectionChanged(True))

    async def _set_up(self) -> None:
        """Read the base height, wake the desk, and follow its height reports."""
        await self.gatt.subscribe(Char.DPG, self._on_dpg)
        base_payload = await self._dpg_read(DpgCommand.BASE_OFFSET)
        if base_payload is not None:
            self.base_mm = linak.decode_base_offset(base_payload) + self.calibration_mm
            self._controller = MoveController(self._config, base_mm=self.base_mm)
        await self._wake_up()
        await self.gatt.subscribe(Char.HEIGHT_SPEED, self._on_height)
        self._on_height(await self.gatt.read(Char.HEIGHT_SPEED))

    async def _wake_up(self) -> None:
        """Wake DPG1C/DPG1M controllers, which ignore moves until their user id says 1."""
        user_id = await self._dpg_read(DpgCommand.USER_ID)
        if user_id is not None:
            write_back = linak.wake_user_id(user_id)
            if write_back is not None:
                # a real desk answers the write with 01 00: wait for it, so that it is never
                # taken for the answer to the next DPG question
                await self._dpg_exchange(write_back, "the user id")
        await self.gatt.write(Char.COMMAND, Command.WAKE.value)

    async def _dpg_read(self, command: DpgCommand) -> bytes | None:
        """Ask the desk one DPG question; None if it does not answer or answers invalid."""
        return await self._dpg_exchange(linak.encode_dpg_read(command), f"DPG 0x{command:02x}")

    async def _dpg_exchange(self, request: bytes, what: str) -> bytes | None:
        """Write one DPG request and take the next DPG notification as its answer (None if it
        does not come in time or says invalid): one exchange at a time."""
        self._dpg_answer = asyncio.get_running_loop().create_future()
        await self.gatt.write(Char.DPG, request)
        try:
            async with asyncio.timeout(self.clock.real_seconds(_DPG_TIMEOUT_S)):
                return linak.decode_dpg_answer(await self._dpg_answer)
        except (TimeoutError, ProtocolError) as exc:
            log.info("%s: %s gave no usable answer (%s)", self.name, what, exc)
            return None
        finally:
            self._dpg_answer = None

    def _on_dpg(self, data: bytes) -> None:
        if self._dpg_answer is not None and not self._dpg_answer.done():
            self._dpg_answer.set_result(bytes(data))

    async def close(self) -> None:
        if self.gatt.is_connected and self._controller.phase in (Phase.STARTING, Phase.MOVING):
            with contextlib.suppress(LinkError):
                await self.stop()
        await self._stop_writer(drain=True)
        self._timer.disarm()
        await self._stop_reader()
        if self.gatt.is_connected:
            await self.gatt.disconnect()

    async def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _stop_writer(self, *, drain: bool) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if drain and not writer.done():
            await self._drained()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, LinkError):
            await writer

    def _on_disconnect(self) -> None:
        self._lost_move(self._controller.height_mm, self._controller.target_mm)
        self._apply(self._controller.link_lost(self.clock.monotonic()))
        self._speed = 0
        self._timer.disarm()
        self._moves += 1  # a read on its way belongs to no move now
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        self._emit(ConnectionChanged(False, "the desk dropped the link"))

    # -- moving -------------------------------------------------------------------------------
    async def _move_to(self, target_mm: int, progress: Progress | None) -> int:
        if not self.gatt.is_connected:
            raise LinkError(f"desk {self.name!r} is not connected")
        if self._move is not None and not self._move.done():
            raise MoveError("a move is already running; stop it first")
        self._move = asyncio.get_running_loop().create_future()
        self._progress = progress
        try:
            self._moves += 1
            self._apply(self._controller.start(target_mm, self.clock.monotonic()))
            return await self._move
        finally:
            self._progress = None
            self._move = None

    async def stop(self) -> None:
        if not self.gatt.is_connected:
            raise LinkError(f"desk {self.name!r} is not connected")
        self._apply(self._controller.stop(self.clock.monotonic()))
        if not await self._drained():
            raise LinkError(f"desk {self.name!r} did not take the stop in time")

    async def _drained(self) -> bool:
        return await drained(self._writes, self._writer)

    # -- applying decisions -------------------------------------------------------------------
    def _apply(self, decision: Decision) -> None:
        for write in decision.writes:
            self._writes.put_nowait(write)
        self._timer.arm(decision.deadline_s)
        if decision.read:  # the controller asks for one read at a time
            self._reader = asyncio.create_task(
                self._read_back(self._moves), name=f"{self.name}-read"
            )
        if decision.manual is not None:
            self._emit(ManualMove(decision.manual.height_mm, ended=decision.manual.ended))
        if decision.outcome is not None:
            self._finish(decision)

    def _finish(self, decision: Decision) -> None:
        move = self._move
        if move is None or move.done():
            return
        error = decision.error()
        if error is not None:
            move.set_exception(error)
        elif decision.height_mm is not None:
            move.set_result(decision.height_mm)
        else:  # pragma: no cover - the controller always knows the height when it arrives
            move.set_exception(LinkError("the desk arrived without reporting its height"))

    def _on_deadline(self) -> None:
        if self._controller.phase is not Phase.IDLE:
            self._apply(self._controller.tick(self.clock.monotonic()))

    async def _read_back(self, move: int) -> None:
        """Read the height characteristic back for move number `move` and hand it over."""
        try:
            data = await self.gatt.read(Char.HEIGHT_SPEED)
            report = linak.decode_height_speed(bytes(data), self.base_mm)
        except (LinkError, ProtocolError) as exc:
            if move == self._moves:
                self._fail_move(exc if isinstance(exc, LinkError) else LinkError(str(exc)))
            return
        if move != self._moves or not self._accept_report(report.height_mm):
            return
        if not report.moving:
            self._speed = 0
        self._apply(self._controller.read_back(report, self.clock.monotonic()))
        if self._controller.landing:
            self._speed = 0  # arrived creeping in: at rest to whoever asks
        elif report.moving:
            return  # an answer from on the way may be older than the last notification
        self._emit(HeightChanged(report.height_mm, self.moving))
        if self._progress is not None:
            self._progress(report.height_mm)

    def _on_height(self, data: bytes) -> None:
        try:
            report = linak.decode_height_speed(bytes(data), self.base_mm)
        except ProtocolError as exc:
            log.warning("%s: ignored a malformed height report: %s", self.name, exc)
            return
        if not self._accept_report(report.height_mm):
            return
        self._speed = report.speed
        self._apply(self._controller.report(report, self.clock.monotonic()))
        if self._controller.landing:
            self._speed = 0  # arrived creeping in: the last of its ramp is no motion to report
        self._emit(HeightChanged(report.height_mm, self.moving))
        if self._progress is not None:
            self._progress(report.height_mm)

    async def _write_loop(self) -> None:
        """Every decision's writes leave here, in order; a target only past `_check_target`."""
        while True:
            write = await self._writes.get()
            try:
                if write.char is Char.REFERENCE_INPUT:
                    target_mm = linak.decode_target(write.data, self.base_mm)
                    if target_mm is not None:  # None: the cancel value, which moves nothing
                        self._check_target(target_mm, "a move")
                await self.gatt.write(write.char, write.data)
            except (LinkError, MoveError, ProtocolError) as exc:
                self._fail_move(exc)
            finally:
                self._writes.task_done()

    def _fail_move(self, exc: DeskctlError) -> None:
        """A write failed: end the move with that error and ask the desk to stop."""
        if self._move is not None and not self._move.done():
            self._move.set_exception(exc)
        if self._controller.phase in (Phase.STARTING, Phase.MOVING):
            self._apply(self._controller.stop(self.clock.monotonic()))
