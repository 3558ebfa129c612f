"""Test doubles shipped with deskctl, as httpx ships its mock transport.

- `virtual_time`: an event loop whose clock jumps ahead when all tasks wait;
- `desk_model`: a simulated LINAK desk (controller and motor), pure and stepped in time;
- `model_gatt`: a GATT client over the simulated desk, so the real LINAK link drives it;
- `ble_emulator` and `bleak_bumble`: the LINAK desk as a Bumble GATT server on a virtual radio,
  and a bleak backend over that radio, so the real `BleakClient` drives it (`--sim ble`);
- `esphome_desk`: an emulated ESPHome desk (Upsy Desky or cover) on an MQTT broker.
"""
