"""Desk links: the `DeskLink` interface and its implementations (imported lazily by the CLI)."""

from deskctl.links.base import ConnectionChanged, DeskLink, HeightChanged, LinkEvent, ManualMove

__all__ = ["ConnectionChanged", "DeskLink", "HeightChanged", "LinkEvent", "ManualMove"]
