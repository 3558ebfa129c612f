"""Desks behind an ESPHome Bluetooth proxy: the real links over bleak-esphome and aioesphomeapi,
through the emulated proxy (its native API on a loopback TCP socket, plaintext or noise), to the
emulated desks on Bumble's virtual radio.

Everything runs in this process on virtual time: the socket is real, and loopback hands each
write to the reader at once, so no wait runs ahead of the data.
"""

from __future__ import annotations

import asyncio
import base64
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aioesphomeapi.model import BluetoothProxyFeature

from deskctl.clocks.clock import Clock
from deskctl.config.settings import load_settings
from deskctl.errors import ConfigError, LinkError
from deskctl.links.auto import FamilyLink
from deskctl.links.base import ConnectionChanged, LinkEvent
from deskctl.links.ble import BleakGattClient, scan
from deskctl.links.esphome_proxy import ProxyTarget, proxy_backends
from deskctl.links.linak import LinakLink
from deskctl.sim.ble_emulator import EmulatedDesk
from deskctl.sim.bleak_bumble import BumbleRadio
from deskctl.sim.desk_model import DeskModel
from deskctl.sim.esphome_proxy import FEATURES, EmulatedProxy
from deskctl.sim.jiecang_emulator import EmulatedJiecangDesk
from deskctl.sim.jiecang_model import JiecangModel
from deskctl.testing.virtual_time import run_virtual

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


@dataclass
class Scene:
    radio: BumbleRadio
    desk: EmulatedDesk
    proxy: EmulatedProxy

    def target(self, key: str | None = None) -> ProxyTarget:
        return ProxyTarget("127.0.0.1", self.proxy.port, key)

    def link(self, key: str | None = None, address: str | None = None) -> LinakLink:
        client_backend = proxy_backends(self.target(key))[0]
        gatt = BleakGattClient(address or self.desk.address, timeout_s=5, backend=client_backend)
        return LinakLink("desk", gatt, Clock())


def behind_a_proxy(
    body: Callable[[Scene], Awaitable[None]],
    *,
    key: str | None = None,
    slots: int = 3,
    taken: int = 0,
) -> None:
    """Run `body` with a LINAK desk at 750 mm behind an emulated proxy, on virtual time."""

    async def main() -> None:
        radio = BumbleRadio()
        desk = EmulatedDesk(radio, DeskModel(height_mm=750), clock=Clock())
        async with desk, EmulatedProxy(radio, key=key, slots=slots, taken=taken) as proxy:
            await body(Scene(radio, desk, proxy))
        await radio.close()

    run_virtual(main())


@pytest.mark.parametrize("key", [None, KEY], ids=["plaintext", "noise"])
def test_moves_through_the_proxy_land_within_1_mm(key: str | None) -> None:
    rng = random.Random(16)
    targets = [620, 1270, 1000, 1001] + [rng.randint(620, 1270) for _ in range(8)]

    async def body(scene: Scene) -> None:
        link = scene.link(key)
        async with link:
            assert link.height_mm == 750
            for target_mm in targets:
                landed_mm = await link.move_to(target_mm)
                assert abs(landed_mm - target_mm) <= 1
                assert abs(scene.desk.model.height_mm - target_mm) <= 1, "the desk itself is off"
            assert scene.proxy.free == 2  # the link holds one of the three slots
        assert scene.proxy.free == 3  # and gives it back when it closes

    behind_a_proxy(body, key=key)


@pytest.mark.parametrize("key", [None, KEY], ids=["plaintext", "noise"])
def test_scan_through_the_proxy_lists_each_desk_with_its_family(key: str | None) -> None:
    async def body(scene: Scene) -> None:
        jiecang = EmulatedJiecangDesk(scene.radio, clock=Clock())
        async with jiecang:
            found = await scan(2.0, backend=proxy_backends(scene.target(key))[1])
        by_address = {d.address: d for d in found}
        assert set(by_address) == {scene.desk.address, jiecang.address}
        linak = by_address[scene.desk.address]
        assert (linak.name, linak.family) == ("Desk 1234", "linak")
        assert -100 < linak.rssi < 0
        assert by_address[jiecang.address].family == "jiecang"
        assert by_address[jiecang.address].variant == "FE60"

    behind_a_proxy(body, key=key)


def test_a_jiecang_desk_behind_the_proxy_is_recognised_and_moved() -> None:
    async def body(scene: Scene) -> None:
        jiecang = EmulatedJiecangDesk(scene.radio, JiecangModel(height_mm=750), clock=Clock())
        async with jiecang:
            client_backend = proxy_backends(scene.target())[0]
            link = FamilyLink(
                "desk", jiecang.address, Clock(), min_mm=650, max_mm=1290, backend=client_backend
            )
            async with link:
                assert link.family == "jiecang"
                landed_mm = await link.move_to(1000)
                assert abs(landed_mm - 1000) <= 1
                assert abs(jiecang.model.motor.pos_mm - 1000) <= 1

    behind_a_proxy(body)


@pytest.mark.parametrize(
    ("proxy_key", "link_key", "sentence"),
    [
        (KEY, OTHER_KEY, "refused the encryption key: set key to the api: encryption: key"),
        (KEY, None, "uses encryption: set key to the api: encryption: key"),
        (None, KEY, "does not use encryption: remove the key from the settings"),
    ],
    ids=["wrong-key", "no-key", "key-for-a-plaintext-proxy"],
)
def test_an_encryption_mismatch_is_one_sentence_and_moves_nothing(
    proxy_key: str | None, link_key: str | None, sentence: str
) -> None:
    async def body(scene: Scene) -> None:
        link = scene.link(link_key)
        with pytest.raises(LinkError) as caught:
            await link.connect()
        message = str(caught.value)
        assert message.startswith(f"the Bluetooth proxy at 127.0.0.1:{scene.proxy.port} ")
        assert sentence in message
        assert "\n" not in message
        assert not scene.desk.connected
        assert scene.desk.model.height_mm == 750

    behind_a_proxy(body, key=proxy_key)


def test_a_proxy_out_of_connection_slots_is_one_sentence_and_moves_nothing() -> None:
    async def body(scene: Scene) -> None:
        link = scene.link()
        with pytest.raises(LinkError) as caught:
            await link.connect()
        assert str(caught.value) == (
            f"the Bluetooth proxy Desk proxy (emulated) at 127.0.0.1:{scene.proxy.port} has no "
            "free connection slot (all 3 are in use by other devices or Home Assistant): free "
            "one, or raise the proxy's connection_slots, and try again"
        )
        assert not scene.desk.connected
        assert scene.desk.model.height_mm == 750

    behind_a_proxy(body, taken=3)


def test_a_slot_freed_while_the_link_waits_is_taken() -> None:
    async def body(scene: Scene) -> None:
        link = scene.link()
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, scene.proxy.set_taken, 2)  # another client lets go of one
        async with link:
            assert await link.move_to(900) == 900
            assert scene.proxy.free == 0

    behind_a_proxy(body, taken=3)


def test_no_proxy_at_the_address_is_one_sentence() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> None:
        client_backend = proxy_backends(ProxyTarget("127.0.0.1", port))[0]
        gatt = BleakGattClient("C0:DE:5C:00:00:01", timeout_s=5, backend=client_backend)
        with pytest.raises(LinkError) as caught:
            await LinakLink("desk", gatt, Clock()).connect()
        assert str(caught.value) == (
            f"no ESPHome device answered at 127.0.0.1:{port}: is the proxy powered and on the "
            "network, and is its API port right?"
        )

    run_virtual(main())


def test_a_desk_the_proxy_never_hears_is_one_sentence() -> None:
    async def body(scene: Scene) -> None:
        link = scene.link(address="C0:DE:5C:00:09:09")
        with pytest.raises(LinkError) as caught:
            await link.connect()
        message = str(caught.value)
        assert message.startswith(
            "the Bluetooth proxy Desk proxy (emulated) did not hear the desk at "
            "C0:DE:5C:00:09:09 advertising"
        )
        assert "\n" not in message
        assert scene.proxy.free == 3

    behind_a_proxy(body)


def test_the_proxy_going_away_ends_the_link_and_it_says_so() -> None:
    async def body(scene: Scene) -> None:
        link = scene.link()
        dropped: list[ConnectionChanged] = []
        gone = asyncio.Event()

        def on_event(event: LinkEvent) -> None:
            if isinstance(event, ConnectionChanged) and not event.connected:
                dropped.append(event)
                gone.set()

        async with link:
            link.subscribe(on_event)
            assert link.connected
            await scene.proxy.stop()  # the proxy reboots: its API session and the BLE link end
            async with asyncio.timeout(30):
                await gone.wait()
            assert not link.connected
            assert dropped[0].reason
            with pytest.raises(LinkError):
                await link.move_to(900)
        assert scene.desk.model.height_mm == 750

    behind_a_proxy(body)


def _settings(tmp_path: Path, proxy: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[desks.office]\nlink = "ble"\naddress = "C0:DE:5C:00:00:01"\n\n'
        f"[desks.office.proxy]\n{proxy}\n",
        encoding="utf-8",
    )
    return path


def test_a_proxy_in_the_settings_reaches_its_host_port_and_key(tmp_path: Path) -> None:
    settings = load_settings(
        _settings(tmp_path, f'host = "desk-proxy.local"\nport = 6054\nkey = "{KEY}"')
    )
    proxy = settings.desks["office"].proxy
    assert proxy is not None
    assert (proxy.host, proxy.port, proxy.address_type) == ("desk-proxy.local", 6054, None)
    assert proxy.key is not None
    assert proxy.key.get_secret_value() == KEY
    assert KEY not in repr(settings)  # a secret, as the broker's password is


def test_a_broken_key_in_the_settings_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_settings(tmp_path, 'host = "desk-proxy.local"\nkey = "not-a-key"'))
    message = str(caught.value)
    assert "key" in message
    assert "is not an ESPHome API encryption key" in message
    assert "not-a-key" not in message


def test_a_desk_pairs_through_the_proxy() -> None:
    async def body(scene: Scene) -> None:
        client_backend = proxy_backends(scene.target())[0]
        gatt = BleakGattClient(scene.desk.address, timeout_s=5, pair=True, backend=client_backend)
        async with LinakLink("desk", gatt, Clock()) as link:
            assert await link.move_to(1000) == 1000

    behind_a_proxy(body)


def test_a_desk_that_refuses_pairing_through_the_proxy_says_to_hold_its_button() -> None:
    async def body(scene: Scene) -> None:
        scene.desk.pairable = False
        client_backend = proxy_backends(scene.target())[0]
        gatt = BleakGattClient(scene.desk.address, timeout_s=5, pair=True, backend=client_backend)
        with pytest.raises(LinkError) as caught:
            await LinakLink("desk", gatt, Clock()).connect()
        assert str(caught.value).startswith(
            f"pairing with {scene.desk.address} failed: hold the desk's Bluetooth button"
        )
        assert scene.desk.model.height_mm == 750
        assert scene.proxy.free == 3

    behind_a_proxy(body)


def test_pairing_through_a_proxy_too_old_to_pair_is_one_sentence() -> None:
    async def main() -> None:
        radio = BumbleRadio()
        desk = EmulatedDesk(radio, DeskModel(height_mm=750), clock=Clock())
        old = FEATURES & ~BluetoothProxyFeature.PAIRING
        async with desk, EmulatedProxy(radio, features=old) as proxy:
            client_backend = proxy_backends(ProxyTarget("127.0.0.1", proxy.port))[0]
            gatt = BleakGattClient(desk.address, timeout_s=5, pair=True, backend=client_backend)
            with pytest.raises(LinkError) as caught:
                await LinakLink("desk", gatt, Clock()).connect()
            assert str(caught.value) == (
                f"the Bluetooth proxy Desk proxy (emulated) at 127.0.0.1:{proxy.port} cannot "
                "pair with a desk (its ESPHome is older than 2024.3): install a newer ESPHome on "
                "it, or set pair = false if the desk does not need pairing"
            )
            assert proxy.free == 3
        await radio.close()

    run_virtual(main())


def test_an_address_that_is_no_bluetooth_address_is_one_sentence() -> None:
    async def body(scene: Scene) -> None:
        with pytest.raises(LinkError) as caught:
            await scene.link(address="office-desk").connect()
        assert str(caught.value) == (
            "'office-desk' is not a Bluetooth address (six pairs of hex digits, like "
            "C2:4B:1D:00:12:34): see `deskctl scan --proxy HOST`"
        )

    behind_a_proxy(body)


@pytest.mark.parametrize(
    ("features", "sentence"),
    [
        (
            BluetoothProxyFeature(0),
            "is no Bluetooth proxy deskctl can use: add bluetooth_proxy: active: true",
        ),
        (
            FEATURES & ~BluetoothProxyFeature.ACTIVE_CONNECTIONS,
            "is not a Bluetooth proxy that connects to devices: set bluetooth_proxy: active: true",
        ),
    ],
    ids=["no-proxy", "passive-proxy"],
)
def test_an_esphome_device_that_cannot_connect_to_the_desk_is_one_sentence(
    features: BluetoothProxyFeature, sentence: str
) -> None:
    async def main() -> None:
        radio = BumbleRadio()
        desk = EmulatedDesk(radio, DeskModel(height_mm=750), clock=Clock())
        async with desk, EmulatedProxy(radio, features=features) as proxy:
            client_backend = proxy_backends(ProxyTarget("127.0.0.1", proxy.port))[0]
            gatt = BleakGattClient(desk.address, timeout_s=5, backend=client_backend)
            with pytest.raises(LinkError) as caught:
                await LinakLink("desk", gatt, Clock()).connect()
            assert str(caught.value).startswith(
                f"the ESPHome device at 127.0.0.1:{proxy.port} (Desk proxy (emulated)) {sentence}"
            )
            assert not desk.connected
        await radio.close()

    run_virtual(main())
