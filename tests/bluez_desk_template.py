"""A LINAK desk as BlueZ shows it on D-Bus: a python-dbusmock template, loaded over bluez5.

This file runs inside the dbusmock process (tests/bluez_mock.py loads it with `AddTemplate` into a
mock started with the `bluez5` template). It adds an adapter (`hci0`, unless it exists), the desk
(`org.bluez.Device1`) and the desk's GATT objects as bluetoothd would after resolving services:
    service0010 99fa0001 control        char0011 0002 COMMAND (write)
                                         char0013 0003 ERROR (notify, CCCD desc0014)
    service0020 99fa0010 DPG            char0021 0011 DPG (write, notify, CCCD desc0022)
    service0030 99fa0020 reference out  char0031 0021 HEIGHT_SPEED (read, notify, CCCD desc0032)
                                         char0034 0029 MASK, char0036 002a DETECT_MASK (read)
    service0040 99fa0030 reference in   char0041 0031 REFERENCE_INPUT (write-without-response)
Methods behave as bluetoothd's do: `Device1.Connect` sets Connected then ServicesResolved,
`Disconnect` clears both and every Notifying; `GattCharacteristic1.ReadValue` answers the
characteristic's Value; `WriteValue` checks the flags against the write type; `StartNotify` and
`StopNotify` set Notifying; all of them fail with `org.bluez.Error.Failed: Not connected` while
the desk is not connected. What a write *does* is not decided here: dbusmock emits a
`MethodCalled` signal for every call, and the desk's motor (in the test process) listens.

The control object `/org/deskctl/TestDesk` (interface `org.deskctl.TestDesk`) is how the test
process plays the desk and injects faults:
- `Notify(char_path, value)`: the characteristic's Value becomes `value`; a PropertiesChanged
  signal carries it when notifications are on (as bluetoothd relays a notification).
- `SetFault(method, error_name, message)`: every later call of `method` (Connect, Pair,
  Disconnect, ReadValue, WriteValue, StartNotify) fails with that BlueZ error; `ClearFaults()`.
- `Drop()`: the radio link is lost (Connected and ServicesResolved become false).
Parameters of the template: `address` and `name` of the desk.
"""

# dbus-python has no type information; this module is loaded by dbusmock, not imported by tests.
from typing import Any

import dbus
from dbusmock import mockobject

DEVICE = "org.bluez.Device1"
SERVICE = "org.bluez.GattService1"
CHARACTERISTIC = "org.bluez.GattCharacteristic1"
DESCRIPTOR = "org.bluez.GattDescriptor1"
CONTROL = "org.deskctl.TestDesk"
CONTROL_PATH = "/org/deskctl/TestDesk"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
CCCD = "00002902-0000-1000-8000-00805f9b34fb"


def _uuid(short: int) -> str:
    return f"99fa{short:04x}-338a-1024-8a49-009c0215f78a"


# (service handle, service short uuid, [(char handle, char short uuid, flags)])
LAYOUT: list[tuple[int, int, list[tuple[int, int, list[str]]]]] = [
    (0x10, 0x0001, [(0x11, 0x0002, ["write"]), (0x13, 0x0003, ["notify"])]),
    (0x20, 0x0010, [(0x21, 0x0011, ["write", "notify"])]),
    (
        0x30,
        0x0020,
        [(0x31, 0x0021, ["read", "notify"]), (0x34, 0x0029, ["read"]), (0x36, 0x002A, ["read"])],
    ),
    (0x40, 0x0030, [(0x41, 0x0031, ["write-without-response"])]),
]


def _error(name: str, message: str) -> dbus.exceptions.DBusException:
    return dbus.exceptions.DBusException(message, name=name)


def _desk() -> Any:
    return mockobject.objects[mockobject.objects[CONTROL_PATH].device_path]


def _check(method: str, *, connected: bool = True) -> None:
    desk = _desk()
    fault = desk.faults.get(method)
    if fault is not None:
        raise _error(*fault)
    if connected and not desk.connected:
        raise _error("org.bluez.Error.Failed", "Not connected")


def _set_connected(desk: Any, connected: bool) -> None:
    desk.connected = connected
    desk.UpdateProperties(DEVICE, {"Connected": dbus.Boolean(connected)})
    if not connected:
        for path in desk.char_paths:
            char = mockobject.objects[path]
            if char.props[CHARACTERISTIC]["Notifying"]:
                char.UpdateProperties(CHARACTERISTIC, {"Notifying": dbus.Boolean(False)})
    desk.UpdateProperties(DEVICE, {"ServicesResolved": dbus.Boolean(connected)})


def _connect(desk: Any) -> None:
    _check("Connect", connected=False)
    if not desk.connected:  # bluetoothd answers a second client on a live link with success
        _set_connected(desk, True)


def _disconnect(desk: Any) -> None:
    _check("Disconnect", connected=False)
    if not desk.connected:
        raise _error("org.bluez.Error.NotConnected", "Not Connected")
    _set_connected(desk, False)


def _pair(desk: Any) -> None:
    _check("Pair", connected=False)
    if desk.props[DEVICE]["Paired"]:
        raise _error("org.bluez.Error.AlreadyExists", "Already Exists")
    if not desk.connected:
        _set_connected(desk, True)
    desk.UpdateProperties(DEVICE, {"Paired": dbus.Boolean(True), "Bonded": dbus.Boolean(True)})


def _read_value(char: Any, _options: Any) -> Any:
    _check("ReadValue")
    if "read" not in char.props[CHARACTERISTIC]["Flags"]:
        raise _error("org.bluez.Error.NotPermitted", "Read not permitted")
    return dbus.ByteArray(bytes(char.props[CHARACTERISTIC]["Value"]))


def _write_value(char: Any, _value: Any, options: Any) -> None:
    _check("WriteValue")
    flags = char.props[CHARACTERISTIC]["Flags"]
    kind = str(options.get("type", "request"))
    needed = "write-without-response" if kind == "command" else "write"
    if needed not in flags:
        raise _error("org.bluez.Error.NotPermitted", "Write not permitted")


def _start_notify(char: Any) -> None:
    _check("StartNotify")
    flags = char.props[CHARACTERISTIC]["Flags"]
    if "notify" not in flags and "indicate" not in flags:
        raise _error("org.bluez.Error.NotSupported", "Operation is not supported")
    char.UpdateProperties(CHARACTERISTIC, {"Notifying": dbus.Boolean(True)})


def _stop_notify(char: Any) -> None:
    _check("StopNotify")
    char.UpdateProperties(CHARACTERISTIC, {"Notifying": dbus.Boolean(False)})


def _notify(_control: Any, path: str, value: Any) -> None:
    char = mockobject.objects[str(path)]
    data = dbus.Array([dbus.Byte(b) for b in bytes(value)], signature="y")
    char.props[CHARACTERISTIC]["Value"] = data
    if char.props[CHARACTERISTIC]["Notifying"]:
        char.EmitSignal(
            dbus.PROPERTIES_IFACE,
            "PropertiesChanged",
            "sa{sv}as",
            [CHARACTERISTIC, {"Value": data}, dbus.Array([], signature="s")],
        )


def _set_fault(_control: Any, method: str, name: str, message: str) -> None:
    _desk().faults[str(method)] = (str(name), str(message))


def _clear_faults(_control: Any) -> None:
    _desk().faults.clear()


def _drop(_control: Any) -> None:
    desk = _desk()
    if desk.connected:
        _set_connected(desk, False)


def _added(mock: Any, path: str) -> None:
    mock.EmitSignal(
        OBJECT_MANAGER,
        "InterfacesAdded",
        "oa{sa{sv}}",
        [dbus.ObjectPath(path), mockobject.objects[path].props],
    )


def load(mock: Any, parameters: Any) -> None:
    address = str(parameters.get("address", "C0:DE:5C:00:12:34"))
    name = str(parameters.get("name", "Desk 1234"))
    if "/org/bluez/hci0" not in mockobject.objects:
        mock.AddAdapter("hci0", "deskctl-test")
    device_path = str(mock.AddDevice("hci0", address, name))
    desk = mockobject.objects[device_path]
    desk.faults = {}
    desk.char_paths = []
    desk.props[DEVICE]["AddressType"] = dbus.String("random")
    desk.props[DEVICE]["Icon"] = dbus.String("")
    desk.props[DEVICE]["Bonded"] = dbus.Boolean(False)
    desk.props[DEVICE]["UUIDs"] = dbus.Array([_uuid(0x0001)], signature="s")
    # bluez5 gives these the wrong D-Bus types (arrays, not dicts); bluetoothd leaves out what
    # the advertisement does not carry
    for absent in ("ManufacturerData", "ServiceData", "AdvertisingData", "AdvertisingFlags"):
        desk.props[DEVICE].pop(absent, None)
    desk.AddMethods(
        DEVICE,
        [
            ("Connect", "", "", _connect),
            ("Disconnect", "", "", _disconnect),
            ("Pair", "", "", _pair),
        ],
    )
    for service_handle, service_uuid, chars in LAYOUT:
        service_path = f"{device_path}/service{service_handle:04x}"
        mock.AddObject(
            service_path,
            SERVICE,
            {
                "UUID": dbus.String(_uuid(service_uuid)),
                "Device": dbus.ObjectPath(device_path),
                "Primary": dbus.Boolean(True),
                "Includes": dbus.Array([], signature="o"),
                "Handle": dbus.UInt16(service_handle),
            },
            [],
        )
        _added(mock, service_path)
        for char_handle, char_uuid, flags in chars:
            char_path = f"{service_path}/char{char_handle:04x}"
            mock.AddObject(
                char_path,
                CHARACTERISTIC,
                {
                    "UUID": dbus.String(_uuid(char_uuid)),
                    "Service": dbus.ObjectPath(service_path),
                    "Value": dbus.Array([], signature="y"),
                    "Notifying": dbus.Boolean(False),
                    "Flags": dbus.Array(flags, signature="s"),
                    "Handle": dbus.UInt16(char_handle),
                    "MTU": dbus.UInt16(23),
                },
                [
                    ("ReadValue", "a{sv}", "ay", _read_value),
                    ("WriteValue", "aya{sv}", "", _write_value),
                    ("StartNotify", "", "", _start_notify),
                    ("StopNotify", "", "", _stop_notify),
                ],
            )
            desk.char_paths.append(char_path)
            _added(mock, char_path)
            if "notify" in flags:
                desc_path = f"{char_path}/desc{char_handle + 1:04x}"
                mock.AddObject(
                    desc_path,
                    DESCRIPTOR,
                    {
                        "UUID": dbus.String(CCCD),
                        "Characteristic": dbus.ObjectPath(char_path),
                        "Value": dbus.Array([], signature="y"),
                        "Flags": dbus.Array([], signature="s"),
                        "Handle": dbus.UInt16(char_handle + 1),
                    },
                    [],
                )
                _added(mock, desc_path)
    mock.AddObject(
        CONTROL_PATH,
        CONTROL,
        {},
        [
            ("Notify", "say", "", _notify),
            ("SetFault", "sss", "", _set_fault),
            ("ClearFaults", "", "", _clear_faults),
            ("Drop", "", "", _drop),
        ],
    )
    control = mockobject.objects[CONTROL_PATH]
    control.device_path = device_path
