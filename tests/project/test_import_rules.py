"""The one-way house, from the code's own imports (parsed, never imported): pipeline ->
stages -> corpus; the student reads other stages only through files; no import circle.
Imports inside functions and under TYPE_CHECKING count: they are arrows all the same."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("corpus", "caption", "teacher", "augment", "student", "eval", "pipeline")
NAMESPACE = "cotpd."  # every project import goes through it; module names here drop it
# What each package may import besides itself; pipeline composes everything.
ALLOWED = {
    "corpus": set(),
    "caption": {"corpus"},
    "teacher": {"corpus"},
    "augment": {"corpus", "teacher"},
    "student": {"corpus", "eval.metrics"},  # eval's pure metrics, for dev-F1 selection
    "eval": {"corpus"},
    "pipeline": set(PACKAGES),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES
            for path in sorted((REPO / package).rglob("*.py"))}


def imported_modules(source: str, modules: set[str]) -> set[str]:
    """Every project module the source imports (written `cotpd.<module>`), wherever the
    import statement stands; `from package import module` counts as the module."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = f"{node.module}.".removeprefix(NAMESPACE).rstrip(".")
            names = [f"{module}.{alias.name}".lstrip(".") if f"{module}.{alias.name}".lstrip(".")
                     in modules else module for alias in node.names]
        else:
            continue
        for name in names:
            name = f"{name}.".removeprefix(NAMESPACE).rstrip(".")
            while name and name not in modules:  # `import a.b.c` of a package a.b
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported_modules(path.read_text(encoding="utf-8"), set(modules)) - {name}
            for name, path in modules.items()}


def allowed(importer: str, imported: str) -> bool:
    package, target = importer.split(".")[0], imported.split(".")[0]
    return target == package or any(imported == rule or imported.startswith(rule + ".")
                                     for rule in ALLOWED[package])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_parser_sees_lazy_and_type_checking_imports() -> None:
    modules = {"pipeline.config", "pipeline", "teacher.stage", "teacher", "corpus.files"}
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from cotpd.pipeline.config import RunConfig\n"
              "def f():\n    import cotpd.teacher.stage\n    from cotpd.corpus import files\n")
    assert imported_modules(source, modules) == {"pipeline.config", "teacher.stage",
                                                 "corpus.files"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_package_imports_only_what_its_layer_may() -> None:
    graph = import_graph()
    assert {"caption.stage", "student.train", "pipeline.sections"} <= set(graph)
    wrong = sorted(f"{importer} -> {imported}" for importer, targets in graph.items()
                   for imported in targets if not allowed(importer, imported))
    assert wrong == []


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "pipeline"])
def test_no_stage_imports_the_orchestrator(package: str) -> None:
    graph = import_graph()
    assert not [f"{m} -> {t}" for m, targets in graph.items() if m.split(".")[0] == package
                for t in targets if t.split(".")[0] == "pipeline"]


def test_there_is_no_import_circle() -> None:
    assert cycles(import_graph()) == []


def bare_imports(source: str) -> list[str]:
    """Imports of a stage package by its bare name (`import corpus`): outside the source tree
    that name is whatever other distribution owns it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [name for name in names if name.split(".")[0] in PACKAGES]
    return found


def test_every_project_import_goes_through_the_namespace() -> None:
    assert bare_imports("import corpus\nfrom cotpd.eval import metrics\nfrom eval.x import y\n"
                        ) == ["corpus", "eval.x"]
    sources = [path for folder in (*PACKAGES, "cotpd", "tests", "benchmarks")
               for path in sorted((REPO / folder).rglob("*.py"))]
    bare = [f"{path.relative_to(REPO)}: {name}" for path in sources
            for name in bare_imports(path.read_text(encoding="utf-8"))]
    assert bare == []
