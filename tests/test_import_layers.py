"""Lower layers never import upper ones (docs/architecture.md, "Layers").

Every module under deskctl/ is read with `ast`, and every import it makes counts: at the top,
inside a function, under `TYPE_CHECKING`. Each module belongs to one layer of `LAYERS` (the
longest prefix wins) and may import its own layer and the layers `MAY_IMPORT` names for it. The
violations that exist today are listed in `KNOWN` with the reason each is left; anything else
fails, and so does an entry of `KNOWN` that no longer happens (remove it when you fix it).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "deskctl"

# Layer: the modules in it (a name covers the module and everything below it; the longest wins).
LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("deskctl", "deskctl.errors"),  # the package (its version) and the error tree
    "core": ("deskctl.core",),  # pure decisions and codecs (tests/test_core_purity.py)
    "config": ("deskctl.config",),  # files a person writes and where deskctl keeps its own
    "settings": ("deskctl.config.settings",),  # the settings file's model, read by assembly
    "time": ("deskctl.clocks",),  # the injected clock, the local zone
    "links": ("deskctl.links",),  # one desk each: BLE (LINAK), MQTT (ESPHome)
    "broker": ("deskctl.links.mqtt_broker",),  # the MQTT client plumbing: MQTT desks, the bridge
    "sim": ("deskctl.sim",),  # the simulated desks the product ships, and their links
    "testing": ("deskctl.testing",),  # test-only helpers: virtual time
    "service": ("deskctl.service",),  # the owner task, the desks, the events
    "adapters": ("deskctl.adapters",),  # socket, MQTT bridge, history, notices, systemd
    "assembly": ("deskctl.service.assembly",),  # the composition root: settings to a service
    "cli": ("deskctl.cli", "deskctl.__main__"),  # the commands
}

_BELOW_SERVICE = frozenset({"base", "core", "config", "settings", "time", "broker", "links", "sim"})
# Layer: the layers it may import besides its own. The core imports nothing but the base.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "core": frozenset({"base"}),
    "config": frozenset({"base", "core"}),
    "settings": frozenset({"base", "core", "config"}),
    "time": frozenset({"base"}),
    "broker": frozenset({"base", "core", "config", "time"}),
    "links": frozenset({"base", "core", "config", "time", "broker"}),
    "sim": frozenset({"base", "core", "config", "time", "broker", "links"}),
    "testing": frozenset({"base", "core", "config", "time", "broker", "links", "sim"}),
    "service": _BELOW_SERVICE,
    # the adapters know the service by its interface: never a desk's link nor a simulated desk
    "adapters": frozenset({"base", "core", "config", "settings", "time", "broker", "service"}),
    "assembly": frozenset(LAYERS) - {"assembly", "cli", "testing"},
    "cli": frozenset(LAYERS) - {"cli"},
}

# (importer, imported): why it is still there. Each is a layering leak to fix, not a rule.
KNOWN: dict[tuple[str, str], str] = {
    ("deskctl.links.mqtt_desk", "deskctl.config.settings"): (
        "the MQTT desk takes MqttSettings/MqttDeskSettings as its broker and topic values"
    ),
    ("deskctl.links.mqtt_broker", "deskctl.config.settings"): (
        "the broker client is made from MqttSettings, for the MQTT desk link and the bridge"
    ),
    ("deskctl.sim.esphome_desk", "deskctl.config.settings"): (
        "the emulated ESPHome desk connects with MqttSettings, like the MQTT desk link"
    ),
    ("deskctl.service.core", "deskctl.adapters.history_store"): (
        "the owner reads and writes the history store directly, not through a port"
    ),
    ("deskctl.service.events", "deskctl.adapters.history_store"): (
        "the event sinks record into the history store directly"
    ),
    ("deskctl.service.events", "deskctl.adapters.notify"): (
        "the event sinks turn events into notices and hand them to the notifiers"
    ),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def deskctl_imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """The deskctl modules one module's source imports, wherever the import stands.

    `from deskctl.config import paths` is `deskctl.config.paths` (a module); `from deskctl import
    __version__` is `deskctl`; relative imports are resolved against `module`.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if _is_module(full) else base)
    return {name for name in found if name == "deskctl" or name.startswith("deskctl.")}


def layer_of(module: str) -> str:
    best, best_len = "", -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            covers = module == prefix or (prefix != "deskctl" and module.startswith(prefix + "."))
            if covers and len(prefix) > best_len:
                best, best_len = layer, len(prefix)
    assert best, f"{module} is in no layer: add it to LAYERS in {__file__}"
    return best


def violations(imports: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) for each import that goes against MAY_IMPORT."""
    found: set[tuple[str, str]] = set()
    for module, targets in imports.items():
        mine = layer_of(module)
        for target in targets:
            theirs = layer_of(target)
            if theirs != mine and theirs not in MAY_IMPORT[mine]:
                found.add((module, target))
    return found


def _tree_imports() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    return {
        module_name(path): deskctl_imports(
            path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
        )
        for path in files
    }


def test_every_module_is_in_a_layer_and_every_layer_has_its_rules() -> None:
    assert set(MAY_IMPORT) == set(LAYERS)
    for module in _tree_imports():
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own_except_the_known_leaks() -> None:
    found = violations(_tree_imports())
    new = sorted(found - set(KNOWN))
    assert new == [], "imports against the layers (docs/architecture.md): " + ", ".join(
        f"{a} -> {b}" for a, b in new
    )
    fixed = sorted(set(KNOWN) - found)
    assert fixed == [], f"no longer happen; remove from KNOWN: {fixed}"


def test_the_core_imports_no_config_clock_or_adapter() -> None:
    imports = {
        "deskctl.core.x": {"deskctl.core.units", "deskctl.errors", "deskctl.clocks.clock"},
        "deskctl.core.y": {
            "deskctl.config.settings",
            "deskctl.config.paths",
            "deskctl.adapters.history_store",
        },
    }
    assert violations(imports) == {
        ("deskctl.core.x", "deskctl.clocks.clock"),
        ("deskctl.core.y", "deskctl.config.settings"),
        ("deskctl.core.y", "deskctl.config.paths"),
        ("deskctl.core.y", "deskctl.adapters.history_store"),
    }


def test_a_function_local_or_type_only_import_counts_too() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from deskctl.service.core import Service\n"
        "def later() -> None:\n"
        "    from deskctl.adapters import mqtt_bridge\n"
        "    from ..cli import _app\n"
    )
    imports = {"deskctl.links.x": deskctl_imports(source, "deskctl.links.x")}
    assert imports["deskctl.links.x"] == {
        "deskctl.service.core",
        "deskctl.adapters.mqtt_bridge",
        "deskctl.cli._app",
    }
    assert violations(imports) == {
        ("deskctl.links.x", "deskctl.service.core"),
        ("deskctl.links.x", "deskctl.adapters.mqtt_bridge"),
        ("deskctl.links.x", "deskctl.cli._app"),
    }


def test_upper_layers_may_import_lower_ones() -> None:
    imports = {
        "deskctl.cli.x": {
            "deskctl.adapters.mqtt_bridge",
            "deskctl.testing.virtual_time",
            "deskctl.config.settings",
        },
        "deskctl.adapters.mqtt_bridge": {
            "deskctl.service.core",
            "deskctl.core.ha",
            "deskctl.config.paths",
            "deskctl.links.mqtt_broker",
        },
        "deskctl.links.x": {"deskctl.core.linak", "deskctl.clocks.clock", "deskctl.config.paths"},
        "deskctl.testing.x": {"deskctl.links.base", "deskctl.sim.desk_model"},
        "deskctl.service.assembly": {"deskctl.adapters.notify", "deskctl.sim.links"},
    }
    assert violations(imports) == set()


def test_the_adapters_reach_no_desk_link() -> None:
    """A socket or a bridge drives desks through the service's interface only."""
    imports = {"deskctl.adapters.x": {"deskctl.links.base", "deskctl.sim.links"}}
    assert violations(imports) == {
        ("deskctl.adapters.x", "deskctl.links.base"),
        ("deskctl.adapters.x", "deskctl.sim.links"),
    }
