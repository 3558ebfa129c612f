"""The pure core: values and `now` in, decisions and bytes out.

Nothing in this package does IO, reads a clock or imports asyncio, bleak, aiomqtt or sockets;
`tests/test_core_purity.py` enforces it.
"""
