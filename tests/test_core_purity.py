"""The core stays pure: no IO, no asyncio, no clocks (DESIGN.md, Architecture)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "deskctl" / "core"
FORBIDDEN_MODULES = {
    "asyncio",
    "bleak",
    "aiomqtt",
    "paho",
    "socket",
    "sqlite3",
    "time",
    "os",
    "io",
    "pathlib",
    "subprocess",
    "threading",
    "selectors",
    "ssl",
    "random",
    "shutil",
    "tempfile",
    "urllib",
    "http",
    "logging",
    "rich",
    "typer",
    "platformdirs",
    "deskctl.links",
    "deskctl.cli",
    "deskctl.testing",
}
FORBIDDEN_CALLS = {"open", "print", "input", "now", "today", "utcnow", "monotonic", "perf_counter"}


def _core_files() -> list[Path]:
    files = sorted(CORE.rglob("*.py"))
    assert files, "no core modules found"
    return files


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            for bad in FORBIDDEN_MODULES:
                if name == bad or name.startswith(bad + "."):
                    found.append(f"{path.name}:{getattr(node, 'lineno', 0)} imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            called = (
                func.id
                if isinstance(func, ast.Name)
                else (func.attr if isinstance(func, ast.Attribute) else "")
            )
            if called in FORBIDDEN_CALLS:
                found.append(f"{path.name}:{node.lineno} calls {called}()")
    return found


def test_core_source_has_no_io_imports_or_clock_calls() -> None:
    problems = [v for path in _core_files() for v in _violations(path)]
    assert problems == []


def test_the_checker_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom time import monotonic\nx = monotonic()\n")
    assert len(_violations(bad)) == 3


def test_importing_the_core_loads_no_io_module() -> None:
    # `socket` is not in this list: pydantic (profile and cue validation) loads email.utils, which
    # imports socket (and selectors) for host names; the source check above proves the core
    # never uses them.
    modules = ["deskctl.core." + p.stem for p in _core_files() if p.stem != "__init__"]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in ('asyncio','bleak','aiomqtt','sqlite3','ssl')"
        " if m in sys.modules)\nprint(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
