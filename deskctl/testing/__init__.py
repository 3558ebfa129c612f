"""Test doubles shipped with deskctl, as httpx ships its mock transport.

- `virtual_time`: an event loop whose clock jumps ahead when all tasks wait;
- `desk_model`: a simulated LINAK desk (controller and motor), pure and stepped in time;
- `model_gatt`: a GATT client over the simulated desk, so the real LINAK link drives it.
"""
