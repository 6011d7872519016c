"""The layering of docs/architecture.md holds: import-linter's contracts pass and catch a
back-up import (lazy ones too), no module imports itself in a circle, and no package imports
another package's private names."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp  # installed with import-linter

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "zhikong"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_import_contracts_are_kept() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_back_up_import_breaks_the_contract(tmp_path: Path) -> None:
    """A copy of the package where the clock (platform) lazily imports the app factory."""
    copy = tmp_path / "src" / "zhikong"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    clock = copy / "clock.py"
    clock.write_text(
        clock.read_text(encoding="utf-8")
        + "\n\ndef _factory() -> object:\n    from zhikong.app import create_app\n\n"
        "    return create_app\n",
        encoding="utf-8",
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    result = _lint_imports(tmp_path, env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "zhikong.clock is not allowed to import zhikong.app" in result.stdout


def private_imports(source: str, package: str) -> list[str]:
    """Private names (`_name`, or a path through a `_module`) that `source`, a module of the
    top-level package `package` (e.g. "code"), takes from another top-level package."""
    found: list[str] = []
    foreign_modules: set[str] = set()

    def private(part: str) -> bool:
        return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))

    def other(module: str) -> bool:
        parts = module.split(".")
        return parts[0] == "zhikong" and len(parts) > 1 and parts[1] != package

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "zhikong":
            for alias in node.names:
                if alias.name != package and private(alias.name):
                    found.append(f"zhikong.{alias.name}")
                elif alias.name != package:
                    foreign_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not other(node.module):
                continue
            if any(private(part) for part in node.module.split(".")):
                found.append(node.module)
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{node.module}.{alias.name}")
                else:
                    foreign_modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if other(alias.name):
                    if any(private(part) for part in alias.name.split(".")):
                        found.append(alias.name)
                    foreign_modules.add(alias.asname or alias.name)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and private(node.attr):
            target = node.value
            if isinstance(target, ast.Name) and target.id in foreign_modules:
                found.append(f"{target.id}.{node.attr}")
    return found


def _modules() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "store" and "migrations" in relative.parts:
            continue  # Alembic's scripts, not modules of the package
        yield path, relative.parts[0].removesuffix(".py")


def test_no_package_imports_another_packages_private_names() -> None:
    offences = [
        f"{path.relative_to(REPO)}: {name}"
        for path, package in _modules()
        for name in private_imports(path.read_text(encoding="utf-8"), package)
    ]
    assert offences == []


def test_the_private_name_check_finds_what_it_looks_for() -> None:
    source = """
from zhikong.code.recolour import _recolour_incremental, raise_codes
from zhikong.code import recolour
from zhikong.trace._internal import helper
import zhikong.rules._cache as cache
from zhikong.trace.scans import _zone

recolour._presence_sources.clear()
recolour.raise_codes()
"""
    assert private_imports(source, "trace") == [
        "zhikong.code.recolour._recolour_incremental",
        "zhikong.rules._cache",
        "recolour._presence_sources",
    ]
    assert private_imports("from zhikong import __version__\n", "cli") == []


def import_cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other in a circle (Tarjan's strongly connected
    components of more than one module)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(imports.get(module, ())):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(imports):
        if module not in order:
            visit(module)
    return cycles


def test_no_module_imports_itself_in_a_circle() -> None:
    graph = grimp.build_graph("zhikong", include_external_packages=False, cache_dir=None)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert import_cycles(imports) == []


def test_the_cycle_check_finds_a_circle() -> None:
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(imports) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
