"""The layering rules, checked by reading every import (module level and function level):

* golden/ imports nothing from hdl/, synth/ or testbenches/;
* hdl/ imports nothing from golden/ or testbenches/;
* the product, tpegen/ and synth/, imports nothing from testbenches/;
* the parameter layer (tpegen.params, tpegen.formats, tpegen.config) imports nothing from
  golden/, hdl/ or synth/: the registry is what ties them together;
* no two modules import each other, directly or through others (no cycles), counting
  function-local imports too, so that a cycle cannot hide in one.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tpegen", "hdl", "golden", "synth", "testbenches")


def _module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path):
    """Project modules imported by ``path`` (absolute and relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return {m for m in found if m.split(".")[0] in PACKAGES}


def _graph():
    modules = {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            while imported and imported not in modules:     # `from pkg import name`
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


GRAPH = _graph()

RULES = [
    ("golden", ("hdl", "synth", "testbenches")),
    ("hdl", ("golden", "testbenches")),
    ("tpegen", ("testbenches",)),
    ("synth", ("testbenches",)),
    ("tpegen.params", ("golden", "hdl", "synth", "tpegen.registry")),
    ("tpegen.formats", ("golden", "hdl", "synth", "tpegen.registry", "tpegen.config")),
    ("tpegen.config", ("golden", "hdl", "synth", "tpegen.registry")),
]


def _violations(graph, source, forbidden):
    bad = []
    for module, targets in graph.items():
        if module != source and not module.startswith(source + "."):
            continue
        for target in targets:
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                bad.append(f"{module} imports {target}")
    return sorted(bad)


@pytest.mark.parametrize("source,forbidden", RULES, ids=[r[0] for r in RULES])
def test_layering(source, forbidden):
    assert _violations(GRAPH, source, forbidden) == []


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    # package __init__ modules re-export their submodules; an __init__ importing its own
    # submodule is not a cycle of the layering
    graph = {m: {t for t in ts if not (m and t.startswith(m + "."))}
             for m, ts in GRAPH.items()}
    assert _cycles(graph) == []


def test_checker_catches_a_planted_violation():
    """The rules can fail: a planted golden -> hdl import and a planted cycle are found."""
    planted = {**GRAPH, "golden.mac": GRAPH["golden.mac"] | {"hdl.mac"}}
    assert _violations(planted, "golden", ("hdl",)) == ["golden.mac imports hdl.mac"]
    assert _cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == [["x", "y", "z"]]
