"""deskctl: a smart standing-desk controller.

The package is laid out as a functional core and an imperative shell:
- `deskctl.core`: pure decisions (units, the LINAK codec, the move controller, the planner, cues);
- `deskctl.links`: the `DeskLink` interface and its BLE, MQTT and simulated implementations;
- `deskctl.testing`: the simulated desk, shipped so users and tests can run without hardware;
- `deskctl.cli`: the `deskctl` command.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
