"""The layers of app/: imports run only downward, and none hides inside a function.

A domain may import the kernel modules, every domain's tables (`app.<domain>.models`, which
import nothing but the kernel and other tables), and the domains below it in LAYERS. A new
domain has to be placed in LAYERS, which is the map CONTRIBUTING.md describes.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"

# Modules every layer may use; they import no domain.
KERNEL = {
    "config",
    "db",
    "dbtypes",
    "errors",
    "timeutil",
    "freetext",
    "versioned",
    "csvexport",
    "limits",
    "headers",
    "storage",
    "migrate",
}
# Low to high.
LAYERS = [
    "users",
    "auth",
    "ranges",
    "scope",
    "audit",
    "accounts",
    "jobs",
    "scorecards",
    "reviews",
    "calls",
    "alerts",
    "topics",
    "teams",
    "incentives",
    "shopper",
    "privacy",
    "dashboards",
    "coaching",
    "web",
    "worker",
    "main",
    "cli",
]
MODELS = "tables"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """What a module belongs to: a kernel module, the tables, or a domain of LAYERS."""
    parts = module.split(".")
    if len(parts) == 1:
        return "app"
    if parts[1] == "models" or (len(parts) > 2 and parts[2] == "models"):
        return MODELS
    return parts[1]


def _imports(tree: ast.Module) -> list[tuple[ast.stmt, str]]:
    found: list[tuple[ast.stmt, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "app":
                found += [(node, f"app.{a.name}") for a in node.names]
            elif node.module.startswith("app."):
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists()
                    found.append((node, candidate if is_module else node.module))
        elif isinstance(node, ast.Import):
            found += [(node, a.name) for a in node.names if a.name.startswith("app.")]
    return found


def _edges() -> tuple[list[str], list[tuple[str, str, str]]]:
    local, edges = [], []
    for path in sorted(APP.rglob("*.py")):
        module = _module(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(n) for n in tree.body}
        for node, target in _imports(tree):
            if id(node) not in top_level:
                local.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
            edges.append((module, target, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return local, edges


def test_no_function_local_imports_of_app() -> None:
    local, _ = _edges()
    assert not local, "move these imports to the top of their module:\n" + "\n".join(local)


def test_every_domain_has_a_place_in_the_layers() -> None:
    units = {_unit(_module(p)) for p in APP.rglob("*.py")} - {"app", MODELS}
    unplaced = units - KERNEL - set(LAYERS)
    assert not unplaced, f"add to LAYERS (and CONTRIBUTING.md): {sorted(unplaced)}"


def test_imports_only_run_downward() -> None:
    _, edges = _edges()
    rank = {name: i for i, name in enumerate(LAYERS)}
    wrong = []
    for source, target, where in edges:
        a, b = _unit(source), _unit(target)
        if a == b or b in KERNEL:
            continue
        if a in KERNEL:
            wrong.append(f"{where}: kernel module {source} imports {target}")
        elif a == MODELS:
            wrong.append(f"{where}: tables import {target}; they may use the kernel only")
        elif b == MODELS:
            continue
        elif a == "app" or b == "app":
            continue  # app/__init__.py
        elif rank[b] > rank[a]:
            wrong.append(f"{where}: {a} imports {target}, a layer above it ({b})")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_upward_import() -> None:
    """The walk itself: an upward import in a scratch tree is reported."""
    tree = ast.parse("from app.web.render import render\n\ndef f():\n    from app.calls import x\n")
    found = _imports(tree)
    assert [t for _, t in found] == ["app.web.render", "app.calls"]
    assert _unit("app.web.render") == "web" and _unit("app.calls.models") == MODELS
    assert rank_of("web") > rank_of("calls")


def rank_of(name: str) -> int:
    return LAYERS.index(name)


def test_imports_of_app_are_absolute() -> None:
    """Relative imports (`from .x import y`) would slip past the walk above."""
    relative = [
        f"{p.relative_to(ROOT)}:{n.lineno}"
        for p in sorted(APP.rglob("*.py"))
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(n, ast.ImportFrom) and n.level > 0
    ]
    assert not relative, relative
