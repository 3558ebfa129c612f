"""The simulated desks deskctl ships: the desk model, its GATT client, the BLE and ESPHome
emulators, and the links that drive them (`--simulate`, `--sim ble`, `deskctl emulate`)."""
