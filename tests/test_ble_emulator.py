"""The real bleak client and scanner against the emulated LINAK desk, over Bumble's virtual radio.

Every scenario runs on virtual time (`run_virtual`): the radio is in process, so the seconds a
desk takes to move cost microseconds, and every wait is bounded by `asyncio.timeout`. One test
runs on the ordinary event loop to show the same parts work in real time (`--sim ble`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bumble.core import AdvertisingData

from deskctl.core.linak import (
    SERVICE_CONTROL,
    Char,
    Command,
    DpgCommand,
    HeightReport,
    decode_base_offset,
    decode_capabilities,
    decode_dpg_answer,
    decode_height_speed,
    encode_dpg_read,
    encode_dpg_write,
    encode_target,
)
from deskctl.links.linak import LinakLink
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.physics import IDEAL
from deskctl.testing.virtual_time import run_virtual
from tests.ble_harness import on_radio


def ideal_model(**kwargs: Any) -> DeskModel:
    """The ideal desk: these tests pin the emulator's bytes and exact landings."""
    return DeskModel(physics=IDEAL, **kwargs)


BOUND_S = 30.0  # virtual seconds: generous, yet a hang fails at once in real time


def virtual(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    run_virtual(scenario())


class Recorder:
    """Collects notifications (or advertisements) and lets a test wait for a condition on them."""

    def __init__(self) -> None:
        self.items: list[bytes] = []
        self._changed = asyncio.Event()

    def __call__(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        self.items.append(bytes(data))
        self._changed.set()

    @property
    def reports(self) -> list[HeightReport]:
        return [decode_height_speed(item) for item in self.items]

    async def wait_for(self, done: Callable[[list[bytes]], bool], bound_s: float = BOUND_S) -> None:
        async with asyncio.timeout(bound_s):
            while not done(self.items):
                self._changed.clear()
                await self._changed.wait()


@contextlib.asynccontextmanager
async def desk_on_radio(
    model: DeskModel | None = None, *, name: str = "Desk 1234"
) -> AsyncIterator[tuple[BumbleRadio, EmulatedDesk]]:
    radio = BumbleRadio()
    desk = EmulatedDesk(radio, model or ideal_model(), name=name)
    await desk.start()
    try:
        yield radio, desk
    finally:
        await desk.stop()
        await radio.close()


@contextlib.asynccontextmanager
async def connected(
    radio: BumbleRadio, desk: EmulatedDesk, on_lost: Callable[[], None] | None = None
) -> AsyncIterator[BleakClient]:
    client = BleakClient(
        desk.address,
        disconnected_callback=(lambda _client: on_lost()) if on_lost else None,
        timeout=5.0,
        backend=radio.client_backend,
    )
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()


async def hold_target(client: BleakClient, height_mm: int) -> None:
    """What a LINAK client does to move: wake, stop, then renew the target every 200 ms."""
    await client.write_gatt_char(Char.COMMAND.value, Command.WAKE.value)
    await client.write_gatt_char(Char.COMMAND.value, Command.STOP.value)
    while True:
        await client.write_gatt_char(Char.REFERENCE_INPUT.value, encode_target(height_mm))
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def holding(client: BleakClient, height_mm: int) -> AsyncIterator[None]:
    task = asyncio.create_task(hold_target(client, height_mm))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def landed_at(height_mm: int) -> Callable[[list[bytes]], bool]:
    def done(items: list[bytes]) -> bool:
        return bool(items) and decode_height_speed(items[-1]) == HeightReport(height_mm, 0)

    return done


def reached(items: list[bytes], height_mm: int) -> bool:
    return bool(items) and decode_height_speed(items[-1]).height_mm >= height_mm


async def read_height(client: BleakClient) -> HeightReport:
    return decode_height_speed(bytes(await client.read_gatt_char(Char.HEIGHT_SPEED.value)))


# -- scanning ---------------------------------------------------------------------------------
def test_scan_finds_the_desk_by_its_service_with_name_and_signal() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk):
            other = radio.add_device("Headphones")
            await other.power_on()
            await other.start_advertising(
                advertising_data=bytes(
                    AdvertisingData([(AdvertisingData.COMPLETE_LOCAL_NAME, b"Headphones")])
                ),
                advertising_interval_min=20.0,
                advertising_interval_max=20.0,
            )
            everything: dict[str, AdvertisementData] = {}
            desks: dict[str, AdvertisementData] = {}
            both_seen = asyncio.Event()

            def saw_any(device: BLEDevice, adv: AdvertisementData) -> None:
                everything[device.address] = adv
                if len(everything) == 2:
                    both_seen.set()

            def saw_desk(device: BLEDevice, adv: AdvertisementData) -> None:
                desks[device.address] = adv

            async with (
                BleakScanner(saw_desk, [SERVICE_CONTROL], backend=radio.scanner_backend),
                BleakScanner(saw_any, backend=radio.scanner_backend),
            ):
                async with asyncio.timeout(BOUND_S):
                    await both_seen.wait()

            assert list(desks) == [desk.address]
            adv = desks[desk.address]
            assert adv.local_name == "Desk 1234"
            assert adv.service_uuids == [SERVICE_CONTROL]
            assert -100 < adv.rssi < 0

    virtual(scenario)


@pytest.mark.parametrize(
    ("name", "advertised"),
    [
        ("Desk 1234", "Desk 1234"),
        ("Desk 7", "Desk 7"),
        ("Office desk by the window", "Office desk"),  # shortened to fit the advertisement
    ],
)
def test_scan_shows_the_desks_name(name: str, advertised: str) -> None:
    async def scenario() -> None:
        async with desk_on_radio(name=name) as (radio, desk):
            device = await BleakScanner.find_device_by_filter(
                lambda d, adv: adv.local_name is not None,
                timeout=BOUND_S,
                service_uuids=[SERVICE_CONTROL],
                backend=radio.scanner_backend,
            )
            assert device is not None
            assert (device.address, device.name) == (desk.address, advertised)

    virtual(scenario)


def test_two_desks_on_one_radio_are_told_apart_and_driven_separately() -> None:
    async def scenario() -> None:
        radio = BumbleRadio()
        left = EmulatedDesk(radio, ideal_model(height_mm=700), name="Desk 1111")
        right = EmulatedDesk(radio, ideal_model(height_mm=800), name="Desk 2222")
        async with left, right:
            seen: dict[str, str | None] = {}
            both = asyncio.Event()

            def saw(device: BLEDevice, adv: AdvertisementData) -> None:
                seen[device.address] = adv.local_name
                if len(seen) == 2:
                    both.set()

            async with BleakScanner(saw, [SERVICE_CONTROL], backend=radio.scanner_backend):
                async with asyncio.timeout(BOUND_S):
                    await both.wait()
            assert seen == {left.address: "Desk 1111", right.address: "Desk 2222"}

            async with connected(radio, left) as to_left, connected(radio, right) as to_right:
                reports = Recorder()
                await to_left.start_notify(Char.HEIGHT_SPEED.value, reports)
                async with holding(to_left, 720):
                    await reports.wait_for(landed_at(720))
                assert await read_height(to_right) == HeightReport(800, 0)
        await radio.close()

    virtual(scenario)


# -- connecting and reading -------------------------------------------------------------------
# The property bytes a real IDÅSEN serves (BlueZ GATT dumps), and bleak's names for their bits.
LINAK_CHARACTERISTICS = [
    (Char.COMMAND, 0x0C),
    (Char.ERROR, 0x12),
    (Char.DPG, 0x1E),
    (Char.HEIGHT_SPEED, 0x12),
    (Char.MASK, 0x02),
    (Char.DETECT_MASK, 0x02),
    (Char.REFERENCE_INPUT, 0x0C),
]
PROPERTY_BITS = {0x02: "read", 0x04: "write-without-response", 0x08: "write", 0x10: "notify"}


def property_names(properties: int) -> list[str]:
    assert properties & ~sum(PROPERTY_BITS) == 0
    return sorted(name for bit, name in PROPERTY_BITS.items() if properties & bit)


def test_connect_finds_every_linak_characteristic_in_its_service() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            assert client.name == "Desk 1234"
            for char, properties in LINAK_CHARACTERISTICS:
                found = client.services.get_characteristic(char.value)
                assert found is not None, char
                assert found.service_uuid == char.service
                assert sorted(found.properties) == property_names(properties), char

    virtual(scenario)


@pytest.mark.parametrize("height_mm", [620, 750, 1012, 1270])
def test_reading_height_speed_gives_the_desks_height(height_mm: int) -> None:
    async def scenario() -> None:
        model = ideal_model(height_mm=height_mm)
        async with desk_on_radio(model) as (radio, desk), connected(radio, desk) as client:
            assert await read_height(client) == HeightReport(height_mm, 0)

    virtual(scenario)


def test_pairing_when_asked_needs_the_desk_in_pairing_mode() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk):
            desk.pairable = False  # nobody held the desk's Bluetooth button
            client = BleakClient(desk.address, timeout=5.0, pair=True, backend=radio.client_backend)
            with pytest.raises(BleakError, match="Pairing failed"):
                await client.connect()
            assert not client.is_connected
            assert not desk.connected

            desk.pairable = True
            await client.connect()
            assert await read_height(client) == HeightReport(750, 0)
            await client.disconnect()

    virtual(scenario)


# -- moving -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("start_mm", "target_mm"), [(750, 1100), (1100, 700), (700, 701)])
def test_targets_move_the_desk_and_reports_follow_it(start_mm: int, target_mm: int) -> None:
    async def scenario() -> None:
        model = ideal_model(height_mm=start_mm)
        async with desk_on_radio(model) as (radio, desk), connected(radio, desk) as client:
            reports = Recorder()
            await client.start_notify(Char.HEIGHT_SPEED.value, reports)
            async with holding(client, target_mm):
                await reports.wait_for(landed_at(target_mm))
            heights = [r.height_mm for r in reports.reports]
            direction = 1 if target_mm > start_mm else -1
            assert all((b - a) * direction >= 0 for a, b in itertools.pairwise(heights))
            assert all(r.direction in (0, direction) for r in reports.reports)
            assert await read_height(client) == HeightReport(target_mm, 0)

    virtual(scenario)


def test_a_hand_on_the_desks_buttons_is_reported() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            reports = Recorder()
            await client.start_notify(Char.HEIGHT_SPEED.value, reports)
            desk.press(+1)
            await reports.wait_for(lambda items: reached(items, 800))
            desk.press(0)
            await reports.wait_for(lambda items: decode_height_speed(items[-1]).speed == 0)
            assert reports.reports[-1].height_mm > 800
            assert all(r.direction >= 0 for r in reports.reports)

    virtual(scenario)


# -- DPG --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("base_offset_raw", "answer", "base_mm"),
    [
        (6200, bytes.fromhex("01 03 01 38 18"), 620),
        (0x1866, bytes.fromhex("01 03 01 66 18"), 625),  # the dump in PROTOCOL.md: 624.6 mm
    ],
)
def test_dpg_base_offset_round_trip(base_offset_raw: int, answer: bytes, base_mm: int) -> None:
    async def scenario() -> None:
        model = ideal_model(base_offset_raw=base_offset_raw)
        async with desk_on_radio(model) as (radio, desk), connected(radio, desk) as client:
            answers = Recorder()
            await client.start_notify(Char.DPG.value, answers)
            await client.write_gatt_char(Char.DPG.value, encode_dpg_read(DpgCommand.BASE_OFFSET))
            await answers.wait_for(bool)
            assert answers.items == [answer]
            assert decode_base_offset(decode_dpg_answer(answers.items[0])) == base_mm

    virtual(scenario)


def test_dpg1c_desk_moves_only_after_the_wake_up() -> None:
    async def scenario() -> None:
        model = ideal_model(height_mm=750, needs_wake_up=True)
        async with desk_on_radio(model) as (radio, desk), connected(radio, desk) as client:
            reports = Recorder()
            await client.start_notify(Char.HEIGHT_SPEED.value, reports)
            async with holding(client, 900):
                await asyncio.sleep(2.0)  # virtual: ten renewals of the target, all ignored
            assert await read_height(client) == HeightReport(750, 0)
            assert reports.items == []

            answers = Recorder()
            await client.start_notify(Char.DPG.value, answers)
            await client.write_gatt_char(Char.DPG.value, encode_dpg_read(DpgCommand.USER_ID))
            await answers.wait_for(bool)
            user_id = decode_dpg_answer(answers.items[0])
            assert user_id[0] != 1
            woken = encode_dpg_write(DpgCommand.USER_ID, b"\x01" + user_id[1:])
            await client.write_gatt_char(Char.DPG.value, woken)
            async with holding(client, 900):  # starts with COMMAND wake
                await reports.wait_for(landed_at(900))

    virtual(scenario)


# -- faults -----------------------------------------------------------------------------------
def test_writing_the_user_id_is_answered_01_00_as_a_real_desk_does() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            answers = Recorder()
            await client.start_notify(Char.DPG.value, answers)
            user_id = b"\x01" + bytes(16)
            await client.write_gatt_char(
                Char.DPG.value, encode_dpg_write(DpgCommand.USER_ID, user_id)
            )
            await answers.wait_for(bool)  # a client that waits for the answer gets it
            assert answers.items == [bytes.fromhex("01 00")]
            await client.write_gatt_char(Char.DPG.value, encode_dpg_read(DpgCommand.USER_ID))
            await answers.wait_for(lambda items: len(items) == 2)
            assert decode_dpg_answer(answers.items[1]) == user_id

    virtual(scenario)


def count_is(n: int) -> Callable[[list[bytes]], bool]:
    return lambda items: len(items) == n


def test_dpg_answers_come_in_the_real_desks_format() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            assert bytes(await client.read_gatt_char(Char.DPG.value)) == bytes.fromhex("01 00")
            answers = Recorder()
            await client.start_notify(Char.DPG.value, answers)
            requests = [
                encode_dpg_read(DpgCommand.CAPABILITIES),
                encode_dpg_read(DpgCommand.USER_ID),
                bytes.fromhex("7f 99 00"),  # a command the desk does not know
            ]
            for n, request in enumerate(requests, start=1):
                await client.write_gatt_char(Char.DPG.value, request)
                await answers.wait_for(count_is(n))
            capabilities, user_id, unknown = answers.items
            assert capabilities == bytes.fromhex("01 02 23 01")  # an IDÅSEN's
            assert decode_capabilities(decode_dpg_answer(capabilities)).memory_slots == 3
            assert user_id == bytes.fromhex("01 11") + bytes(17)
            assert unknown == bytes.fromhex("0b 00")
            assert bytes(await client.read_gatt_char(Char.DPG.value)) == unknown
            assert bytes(await client.read_gatt_char(Char.ERROR.value)) == b""

    virtual(scenario)


@pytest.mark.parametrize(
    ("char", "data", "response", "with_response"),
    [
        (Char.COMMAND, Command.STOP.value, None, True),  # bleak's choice: "write" is offered
        (Char.COMMAND, Command.STOP.value, False, False),
        (Char.REFERENCE_INPUT, encode_target(750), None, True),
        (Char.REFERENCE_INPUT, encode_target(750), False, False),
        (Char.DPG, encode_dpg_read(DpgCommand.USER_ID), None, True),
        (Char.DPG, encode_dpg_read(DpgCommand.USER_ID), False, False),
    ],
)
def test_a_client_that_omits_the_write_type_gets_bleaks_choice_from_the_properties(
    char: Char, data: bytes, response: bool | None, with_response: bool
) -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            await client.write_gatt_char(char.value, data, response=response)
            # the desk takes writes in order: once a write request is answered, all came in
            await client.write_gatt_char(Char.COMMAND.value, Command.WAKE.value, response=True)
            assert desk.received == [(char, with_response), (Char.COMMAND, True)]

    virtual(scenario)


def test_deskctls_link_writes_the_target_without_response_and_the_rest_with() -> None:
    async def body(link: LinakLink, desk: EmulatedDesk) -> None:
        await link.connect()
        assert await link.move_to(800) == 800
        kinds = {
            char: {with_response for c, with_response in desk.received if c is char}
            for char in Char
        }
        assert kinds[Char.REFERENCE_INPUT] == {False}
        assert kinds[Char.COMMAND] == {True}
        assert kinds[Char.DPG] == {True}

    on_radio(body)


def test_speed_is_reported_in_the_desks_own_unit_and_0_only_at_rest() -> None:
    async def scenario() -> None:
        model = ideal_model(height_mm=620)
        async with desk_on_radio(model) as (radio, desk), connected(radio, desk) as client:
            reports = Recorder()
            await client.start_notify(Char.HEIGHT_SPEED.value, reports)
            async with holding(client, 1270):
                await reports.wait_for(landed_at(1270))
            speeds = [r.speed for r in reports.reports]
            assert 6100 <= max(speeds) <= 6250  # an IDÅSEN's full speed, not 3800
            assert all(speed != 0 for speed in speeds[:-1])  # moving until the last report
            assert speeds[-1] == 0

    virtual(scenario)


def test_a_dropped_link_fires_the_disconnected_callback_and_the_desk_comes_back() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk):
            lost = asyncio.Event()
            async with connected(radio, desk, on_lost=lost.set) as client:
                await desk.drop_link()
                async with asyncio.timeout(BOUND_S):
                    await lost.wait()
                assert not client.is_connected
                assert not desk.connected
                with pytest.raises(BleakError):
                    await client.read_gatt_char(Char.HEIGHT_SPEED.value)
                await client.connect()  # the desk advertises again
                assert await read_height(client) == HeightReport(750, 0)

    virtual(scenario)


def test_a_read_in_flight_when_the_link_drops_raises_a_bleak_error() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            read = asyncio.create_task(client.read_gatt_char(Char.HEIGHT_SPEED.value))
            await desk.drop_link()
            with pytest.raises(BleakError):  # not CancelledError, not a hang
                async with asyncio.timeout(BOUND_S):
                    await read

    virtual(scenario)


def test_a_desk_out_of_reach_times_out_until_it_is_back() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk):
            async with connected(radio, desk):
                await desk.drop_link(away_s=10.0)
            client = BleakClient(desk.address, timeout=3.0, backend=radio.client_backend)
            with pytest.raises(TimeoutError):
                await client.connect()
            await asyncio.sleep(10.0)  # virtual: the desk is back in reach now
            await client.connect()
            assert client.is_connected
            await client.disconnect()

    virtual(scenario)


def test_a_drop_mid_move_lets_the_motor_run_down_unseen() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk):
            lost = asyncio.Event()
            async with connected(radio, desk, on_lost=lost.set) as client:
                reports = Recorder()
                await client.start_notify(Char.HEIGHT_SPEED.value, reports)
                mover = asyncio.create_task(hold_target(client, 1200))
                await reports.wait_for(lambda items: len(items) >= 5)
                await desk.drop_link()
                async with asyncio.timeout(BOUND_S):
                    await lost.wait()
                with pytest.raises(BleakError):  # the next renewal of the target fails
                    async with asyncio.timeout(BOUND_S):
                        await mover
            seen = len(reports.items)
            async with asyncio.timeout(BOUND_S):
                await desk.at_rest()
            assert len(reports.items) == seen
            assert 750 < desk.model.height_mm < 1200  # without renewals the target lapsed

    virtual(scenario)


def test_refused_writes_raise_a_bleak_error_and_reach_nothing() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            desk.refuse_writes = True
            with pytest.raises(BleakGATTProtocolError) as refused:
                await client.write_gatt_char(Char.COMMAND.value, Command.UP.value)
            assert refused.value.code == BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED
            with pytest.raises(BleakGATTProtocolError):  # a write request is answered no
                await client.write_gatt_char(Char.REFERENCE_INPUT.value, encode_target(900))
            # a write without response has no answer: it is dropped
            await client.write_gatt_char(
                Char.REFERENCE_INPUT.value, encode_target(900), response=False
            )
            await client.write_gatt_char(Char.COMMAND.value, Command.UP.value, response=False)
            await asyncio.sleep(1.0)  # virtual: long enough for a move to show
            assert desk.model.writes == []
            assert await read_height(client) == HeightReport(750, 0)

            desk.refuse_writes = False
            await client.write_gatt_char(Char.COMMAND.value, Command.STOP.value)
            assert [char for _, char, _ in desk.model.writes] == [Char.COMMAND]

    virtual(scenario)


def test_a_desk_that_stops_notifying_still_moves_and_answers_reads() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            reports = Recorder()
            await client.start_notify(Char.HEIGHT_SPEED.value, reports)
            desk.notifying = False
            await client.write_gatt_char(Char.COMMAND.value, Command.STOP.value)
            for _ in range(10):  # two seconds of renewals: enough for 20 mm
                await client.write_gatt_char(Char.REFERENCE_INPUT.value, encode_target(770))
                await asyncio.sleep(0.2)
            async with asyncio.timeout(BOUND_S):
                await desk.at_rest()
            assert await read_height(client) == HeightReport(770, 0)
            assert reports.items == []

    virtual(scenario)


def test_a_collision_stops_the_desk_and_it_backs_off() -> None:
    async def scenario() -> None:
        async with desk_on_radio() as (radio, desk), connected(radio, desk) as client:
            desk.collision_mm = 700
            reports = Recorder()
            await client.start_notify(Char.HEIGHT_SPEED.value, reports)
            async with holding(client, 650):
                await reports.wait_for(
                    lambda items: any(decode_height_speed(i).direction > 0 for i in items)
                )
                await reports.wait_for(lambda items: decode_height_speed(items[-1]).speed == 0)
            lowest = min(r.height_mm for r in reports.reports)
            assert lowest == 700
            assert 705 <= reports.reports[-1].height_mm <= 715

    virtual(scenario)


# -- real time --------------------------------------------------------------------------------
async def test_the_same_parts_work_on_the_ordinary_event_loop() -> None:
    async with desk_on_radio() as (radio, desk), asyncio.timeout(10.0):
        device = await BleakScanner.find_device_by_address(
            desk.address, timeout=5.0, backend=radio.scanner_backend
        )
        assert device is not None
        async with connected(radio, desk) as client:
            reports = Recorder()
            await client.start_notify(Char.HEIGHT_SPEED.value, reports)
            async with holding(client, 760):
                await reports.wait_for(landed_at(760), bound_s=5.0)
