"""The package's shape: no import cycles, and the trainer's loop in short named stages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mlsplab

SRC = Path(mlsplab.__file__).parent


# imports deferred on purpose, which may lead back to their module: the registry's entry points
# import the runners and report builders when called (and those read the registry); the chosen
# executor is imported when it is chosen
DEFERRED_BY_DESIGN = ("mlsplab.experiments.entrypoints", "mlsplab.executors")


def _module_imports(*, deferred: bool) -> dict[str, set[str]]:
    """Each mlsplab module -> the mlsplab modules it imports: when it is imported (top-level
    imports), or with ``deferred`` also inside its functions (except the modules of
    :data:`DEFERRED_BY_DESIGN`). Imports under ``TYPE_CHECKING`` never run."""
    names = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
        walk = deferred and name not in DEFERRED_BY_DESIGN
        for node in (ast.walk(tree) if walk else tree.body):
            if id(node) in typing_only:
                continue
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name].update(t for t in targets if t in names and t != name)
    return graph


@pytest.mark.parametrize("deferred", [False, True])
def test_no_import_cycles(deferred: bool) -> None:
    """None when modules are imported, nor through imports deferred into functions (such as
    q3/summary <-> q3/summary_ensembles once was)."""
    graph = _module_imports(deferred=deferred)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                cycles.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_fit_is_short_and_its_stages_are_named_functions() -> None:
    from mlsplab import fit_loop

    tree = ast.parse(Path(fit_loop.__file__).read_text(encoding="utf-8"))
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    fit = functions["fit"]
    assert fit.end_lineno - fit.lineno + 1 <= 85  # docstring included
    assert {"_resume", "train_epoch", "end_epoch", "save"} <= set(functions)
