"""The package's import graph: no cycles, and no wing of experiments imports one above it.

Every ``import`` and ``from ... import`` of every module is read with :mod:`ast`, those
inside functions and ``if TYPE_CHECKING:`` blocks included, so a cycle cannot hide in a
function-level import. The experiments wings, lowest first (each may import only its own
wing and those below it, never the ``fade_rl.experiments`` package above them, nor the
package top ``fade_rl``, nor the CLI)::

    runs < sweeps < suite < reports

and nothing outside experiments and the CLI imports them (the package top ``fade_rl``
excepted: it re-exports ``NonFiniteGuard``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The experiments wings, lowest first.
WINGS = ("runs", "sweeps", "suite", "reports")
#: The package's layers (docs/architecture.md): a module imports its own package and the
#: packages of lower rank only; packages of one rank do not import each other.
LAYERS = {
    "_moved": 0,
    "strict": 0,
    "optim": 1,
    "envs": 1,
    "nets": 2,
    "algos": 3,
    "agents": 4,  # the deprecated alias of algos
    "methods": 4,
    "metrics": 4,
    "experiments": 5,
    "cli": 6,
}


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (a folder under ``root``): dotted name -> file."""
    names = {}
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _module_of(name: str, modules: Mapping[str, Path]) -> str | None:
    """The most specific module of ``modules`` that the dotted ``name`` lies in."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported(node: ast.AST, module: str, modules: Mapping[str, Path]) -> Iterator[str]:
    """The modules of ``modules`` that one import statement loads (``from a import b``:
    ``a.b`` when that is a module, else ``a``)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = module.split(".")
            if modules[module].name != "__init__.py":
                anchor.pop()
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    for name in names:
        target = _module_of(name, modules)
        if target is not None and target != module:
            yield target


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (anywhere in its code)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        graph[name] = {t for node in ast.walk(tree) for t in _imported(node, name, modules)}
    return graph


def find_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _wing(module: str, experiments: str) -> int | None:
    """The rank of ``module``'s wing in :data:`WINGS` (``None``: in no wing)."""
    rest = module.removeprefix(experiments + ".").split(".")
    if module.startswith(experiments + ".") and rest[0] in WINGS:
        return WINGS.index(rest[0])
    return None


def upward_imports(graph: Mapping[str, set[str]], top: str = "fade_rl") -> list[str]:
    """``"a -> b (why)"`` for every import of package ``top`` that goes up a layer."""
    experiments, cli = f"{top}.experiments", f"{top}.cli"
    bad = []
    for module, targets in sorted(graph.items()):
        in_experiments = module.startswith(experiments + ".")
        on_top = module in (top, experiments) or module.startswith(cli)
        for target in sorted(targets):
            wing, target_wing = _wing(module, experiments), _wing(target, experiments)
            if wing is not None and target_wing is not None and target_wing > wing:
                why = f"wing {WINGS[target_wing]} is above {WINGS[wing]}"
            elif in_experiments and (target in (top, experiments) or target.startswith(cli)):
                why = "a package above it"
            elif not (in_experiments or on_top) and target.startswith((experiments, cli)):
                why = "experiments and the CLI sit on top"
            else:
                continue
            bad.append(f"{module} -> {target} ({why})")
    return bad


def test_the_package_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph(ROOT, "fade_rl"))
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_imports_a_layer_above_it() -> None:
    bad = upward_imports(import_graph(ROOT, "fade_rl"))
    assert not bad, "upward imports:\n" + "\n".join(bad)


def layer_violations(graph: Mapping[str, set[str]], top: str = "fade_rl") -> list[str]:
    """``"a -> b"`` for every import of a package of :data:`LAYERS` that is not below it."""

    def package(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if len(parts) > 1 and parts[0] == top else None

    bad = []
    for module, targets in sorted(graph.items()):
        source = package(module)
        if source is None:  # the package top re-exports the public names
            continue
        for target in sorted(targets):
            dest = package(target)
            if dest is None or dest == source:
                continue
            if LAYERS.get(dest, 99) >= LAYERS.get(source, -1):
                bad.append(f"{module} -> {target}")
    return bad


def test_every_package_imports_only_the_layers_below_it() -> None:
    graph = import_graph(ROOT, "fade_rl")
    assert {m.split(".")[1] for m in graph if m.count(".")} <= set(LAYERS), "a new package: rank it"
    bad = layer_violations(graph)
    assert not bad, "imports of a layer that is not below:\n" + "\n".join(bad)


def test_a_layer_violation_is_found() -> None:
    graph = {"fade_rl.nets.a": {"fade_rl.algos.b"}, "fade_rl.methods.c": {"fade_rl.metrics.d"}}
    assert layer_violations(graph) == [
        "fade_rl.methods.c -> fade_rl.metrics.d",
        "fade_rl.nets.a -> fade_rl.algos.b",
    ]


def test_every_wing_is_a_package_that_says_what_it_holds() -> None:
    for wing in WINGS:
        init = ROOT / "fade_rl" / "experiments" / wing / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and " < ".join(WINGS) in doc, f"{init}: docstring must name the wing order"


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    """A package ``pkg`` whose experiments wings import each other both ways."""
    files = {
        "pkg/__init__.py": "",
        "pkg/experiments/__init__.py": "",
        "pkg/experiments/runs/__init__.py": "",
        "pkg/experiments/runs/a.py": "def f():\n    from pkg.experiments.reports import b\n",
        "pkg/experiments/reports/__init__.py": "",
        "pkg/experiments/reports/b.py": "from ..runs import a\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_a_function_level_cycle_and_an_upward_import_are_found(synthetic: Path) -> None:
    graph = import_graph(synthetic, "pkg")
    assert graph["pkg.experiments.runs.a"] == {"pkg.experiments.reports.b"}
    assert graph["pkg.experiments.reports.b"] == {"pkg.experiments.runs.a"}
    assert find_cycles(graph) == [["pkg.experiments.reports.b", "pkg.experiments.runs.a"]]
    assert upward_imports(graph, top="pkg") == [
        "pkg.experiments.runs.a -> pkg.experiments.reports.b (wing reports is above runs)"
    ]
