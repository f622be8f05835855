"""The shape of the code, read from its own imports and definitions, so that it cannot silently come back.

Imports run one way: entrypoints (mutualaid) → flows, api → tasks → core → models. Inside tasks, `common`
imports no step, and the steps import each other without a cycle. Modules stay small enough to read.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each package, and the packages it may import (besides the standard library and third-party packages).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "models": frozenset({"models"}),
    "core": frozenset({"core", "models"}),
    "tasks": frozenset({"tasks", "core", "models"}),
    "flows": frozenset({"flows", "tasks", "core", "models"}),
    "api": frozenset({"api", "tasks", "core", "models"}),
    "mutualaid": frozenset({"mutualaid", "flows", "api", "tasks", "core", "models"}),
}
PACKAGES = frozenset(MAY_IMPORT)
MAX_MODULE_LINES = 300
LONG_FUNCTION_LINES = 40
MAX_LONG_FUNCTIONS = 10


def modules(package: str) -> Iterator[tuple[str, Path]]:
    """(dotted name, path) of every module of a top-level package."""
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imported(module: str, path: Path) -> set[str]:
    """The dotted names a module imports, anywhere in it (inside functions and TYPE_CHECKING blocks too)."""
    names: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def ours(name: str) -> str | None:
    """The project package a dotted name belongs to, or None for the standard library and third parties."""
    top = name.split(".")[0]
    return top if top in PACKAGES else None


def step_of(name: str) -> str | None:
    """The tasks sub-package (a step, or common) a dotted name lies in."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "tasks" else None


def existing_module(name: str) -> bool:
    """Whether a dotted name is a module or package of the project (and not a name imported from one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_run_one_way(package: str) -> None:
    wrong = [
        f"{module} imports {name}"
        for module, path in modules(package)
        for name in sorted(imported(module, path))
        if (target := ours(name)) is not None and target not in MAY_IMPORT[package]
    ]
    assert wrong == [], f"{package} may import only {sorted(MAY_IMPORT[package])}"


def step_graph() -> dict[str, set[str]]:
    """tasks sub-package → the tasks sub-packages it imports."""
    graph: dict[str, set[str]] = {}
    for module, path in modules("tasks"):
        step = step_of(module)
        if step is None:
            continue
        targets = {step_of(name) for name in imported(module, path) if existing_module(name)}
        graph.setdefault(step, set()).update(t for t in targets if t is not None and t != step)
    return graph


def test_every_step_has_its_room() -> None:
    steps = {"publicity", "registration", "eligibility", "funds", "claims", "approval", "disbursement", "disclosure"}
    assert steps <= set(step_graph())
    flows = {path.stem for _, path in modules("flows")}
    assert {"publicity", "registration", "eligibility", "funds", "claims", "approval"} <= flows
    assert {"disbursement", "disclosure"} <= flows


def test_common_imports_no_step() -> None:
    assert step_graph().get("common", set()) == set()


def test_steps_import_each_other_without_a_cycle() -> None:
    graph = step_graph()
    done: set[str] = set()

    def visit(step: str, trail: tuple[str, ...]) -> None:
        assert step not in trail, "cycle: " + " → ".join([*trail, step])
        if step in done:
            return
        for target in sorted(graph.get(step, set())):
            visit(target, (*trail, step))
        done.add(step)

    for step in sorted(graph):
        visit(step, ())


def app_modules() -> Iterator[tuple[str, Path]]:
    for package in sorted(PACKAGES):
        yield from modules(package)


def test_no_module_is_too_long_to_read() -> None:
    long = {
        module: lines
        for module, path in app_modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines"


def test_few_functions_are_long() -> None:
    long = sorted(
        (node.end_lineno - node.lineno + 1, f"{module}.{node.name}")
        for module, path in app_modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > LONG_FUNCTION_LINES
    )
    assert len(long) <= MAX_LONG_FUNCTIONS, f"functions over {LONG_FUNCTION_LINES} lines: {long}"


RECORD_TABLES = frozenset({"AuditEvent", "OutboxMessage"})


def test_only_the_gate_writes_the_record() -> None:
    """Audit rows and outbox events are written by models.states (and its writer) only: outside models nothing
    builds an AuditEvent or OutboxMessage or reaches for their tables."""
    found = []
    for package in sorted(PACKAGES - {"models"}):
        for module, path in modules(package):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                called = (
                    isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RECORD_TABLES
                )
                table = (
                    isinstance(node, ast.Attribute)
                    and node.attr == "__table__"
                    and isinstance(node.value, ast.Name)
                    and node.value.id in RECORD_TABLES
                )
                if called or table:
                    found.append(f"{module}:{node.lineno}")
    assert found == []


def test_the_rule_sees_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: an import from an entrypoint inside tasks is found, a relative one resolved."""
    source = tmp_path / "mod.py"
    source.write_text("from mutualaid.cli import app\nfrom . import sibling\n\ndef f():\n    import flows.claims\n")
    names = imported("tasks.claims.mod", source)
    assert {"mutualaid.cli", "tasks.claims.sibling", "flows.claims"} <= names
    assert {ours(n) for n in names} - {None} - MAY_IMPORT["tasks"] == {"mutualaid", "flows"}


def test_the_image_copies_every_package() -> None:
    """The Dockerfile copies each package one by one (never the local .venv or data/): a new one must be listed."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = {line.split()[1].rstrip("/") for line in dockerfile.splitlines() if line.startswith("COPY ")}
    assert copied >= PACKAGES
