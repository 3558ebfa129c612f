"""The core stays pure: no IO, no asyncio, no clocks (DESIGN.md, Architecture).

An allow-list, not a deny-list: a core module may import the standard library modules named in
`ALLOWED_STDLIB`, the pure third-party libraries in `ALLOWED_THIRD_PARTY`, other core modules and
`deskctl.errors`, and nothing else. A new import (a `deskctl.clocks.clock`, a `zoneinfo` that reads
the disk) fails here until someone decides, in this file, that it is pure. The source check also
refuses calls that read a clock or do IO (`datetime.now()`, `open()`), which an allowed module
could still make.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "deskctl" / "core"
CORE_PACKAGE = "deskctl.core"

# Standard library modules that compute and do not touch the world (no files, sockets, clocks,
# processes, threads or randomness). `datetime` is here for its types and arithmetic; reading the
# clock with it is refused by FORBIDDEN_CALLS below. `zoneinfo` is not: it reads tzdata files.
ALLOWED_STDLIB = frozenset(
    {
        "__future__", "abc", "bisect", "collections", "collections.abc", "copy", "dataclasses",
        "datetime", "decimal", "difflib", "enum", "fractions", "functools", "hashlib", "heapq",
        "itertools", "json", "math", "operator", "re", "statistics", "string", "struct",
        "textwrap", "types", "typing", "unicodedata",
    }
)  # fmt: skip
# Third-party libraries the core may use, each with why it is pure.
ALLOWED_THIRD_PARTY: dict[str, str] = {}  # none: the core is the standard library and itself
ALLOWED_DESKCTL = frozenset({"deskctl.errors"})  # besides deskctl.core and its modules
FORBIDDEN_CALLS = {
    "open", "print", "input", "now", "today", "utcnow", "monotonic", "perf_counter",
    "__import__", "import_module", "eval", "exec",
}  # fmt: skip


def _core_files() -> list[Path]:
    files = sorted(CORE.rglob("*.py"))
    assert files, "no core modules found"
    return files


def _package_of(path: Path) -> str:
    """The package a core file's relative imports start from (`deskctl.core`, or below it)."""
    parts = path.resolve().relative_to(CORE).parent.parts
    return ".".join((CORE_PACKAGE, *parts))


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """The absolute names one import statement brings in (`from deskctl.config import paths` is
    `deskctl.config.paths`, `from ..x import y` is resolved against `package`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    if (ROOT / base.replace(".", "/")).is_dir():  # `from deskctl import errors`: names are modules
        return [f"{base}.{alias.name}" for alias in node.names]
    return [base]


def _allowed(name: str) -> bool:
    if name in ALLOWED_DESKCTL or name == CORE_PACKAGE or name.startswith(CORE_PACKAGE + "."):
        return True
    top = name.partition(".")[0]
    if top == "deskctl":
        return False
    return name in ALLOWED_STDLIB or top in ALLOWED_STDLIB or top in ALLOWED_THIRD_PARTY


def violations(source: str, filename: str, package: str = CORE_PACKAGE) -> list[str]:
    """Every import outside the allow-list and every forbidden call in one core module's source,
    function-local ones included."""
    tree = ast.parse(source, filename=filename)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found += [
                f"{filename}:{node.lineno} imports {name}"
                for name in _imported(node, package)
                if not _allowed(name)
            ]
        if isinstance(node, ast.Call):
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name)
                else (func.attr if isinstance(func, ast.Attribute) else "")
            )
            if called in FORBIDDEN_CALLS:
                found.append(f"{filename}:{node.lineno} calls {called}()")
    return found


def test_core_imports_only_what_the_allow_list_names_and_calls_no_clock_or_io() -> None:
    problems = [
        v
        for path in _core_files()
        for v in violations(path.read_text(encoding="utf-8"), path.name, _package_of(path))
    ]
    assert problems == []


def test_a_clock_or_any_other_deskctl_module_in_the_core_fails_the_check() -> None:
    bad = (
        "from deskctl.clocks.clock import Clock\n"
        "import deskctl.config.settings\n"
        "from deskctl.config import paths\n"
        "from ..adapters import mqtt_bridge\n"
        "from ..links.base import DeskLink\n"
        "def later() -> None:\n"
        "    import zoneinfo\n"  # not on the list: it reads tzdata files
        "    import asyncio\n"
    )
    assert violations(bad, "bad.py") == [
        "bad.py:1 imports deskctl.clocks.clock",
        "bad.py:2 imports deskctl.config.settings",
        "bad.py:3 imports deskctl.config.paths",
        "bad.py:4 imports deskctl.adapters.mqtt_bridge",
        "bad.py:5 imports deskctl.links.base",
        "bad.py:7 imports zoneinfo",
        "bad.py:8 imports asyncio",
    ]


def test_the_check_catches_a_clock_read_through_an_allowed_module() -> None:
    bad = "from datetime import datetime\nfrom time import monotonic\nx = datetime.now()\n"
    assert violations(bad, "bad.py") == ["bad.py:2 imports time", "bad.py:3 calls now()"]


def test_the_check_lets_the_allowed_imports_through() -> None:
    good = (
        "from __future__ import annotations\n"
        "import re\n"
        "from collections.abc import Mapping\n"
        "from deskctl.errors import ProtocolError\n"
        "from deskctl.core.units import parse_height_mm\n"
        "from deskctl.core import linak\n"
        "from . import move\n"
    )
    assert violations(good, "good.py") == []


def test_importing_the_core_loads_no_io_module() -> None:
    # nor pydantic: the core validates with plain Python, so `deskctl plan` starts quickly
    modules = [
        ".".join((_package_of(p), p.stem)) if p.stem != "__init__" else _package_of(p)
        for p in _core_files()
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in ('asyncio','bleak','aiomqtt','sqlite3','ssl','socket',"
        "'pydantic') if m in sys.modules)\nprint(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
