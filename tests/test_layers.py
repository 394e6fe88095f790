"""The package's imports follow its pipeline one way, with no circles.

A module may import only its own layer or an earlier one: a later layer importing an
earlier one is the data flow; the reverse (or a circle) ties a low layer to everything
above it. Both module-level and function-level imports count: a deferred import still
couples the modules, it only hides the circle from Python.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

import bvverify

# Layer of a module by its folder (or top-level file) under the package, earliest first.
# The importers build ``QNetwork``s, so they come after the IR they import.
LAYERS: dict[str, int] = {
    "errors": -1,  # imports nothing of the package; everyone may raise its errors
    "runtimes": 0,
    "ir": 1,
    "importers": 2,
    "properties": 3,
    "bounds": 4,
    "attacks": 4,
    "encoders": 5,
    "backends": 6,
    "engines": 7,
    "cli": 8,
    "batch": 8,  # the batch runner (run-instances, dask): beside the CLI, which imports it
    "bundled": 8,  # the CLI's bundled model names and images
    "__main__": 8,
    "crosscheck": 8,  # bvverify crosscheck: the CLI command imports it, it imports no CLI
    "reports": 8,  # bvverify report and saved counterexamples: the CLI and crosscheck import it
    "vnnlib_standard": 8,  # the VNN-LIB 2.0 solver command line: the CLI imports it
    "testing": 9,  # users' test helpers (assertions, proof cache, strategies): above the engines and the facade
}
FACADE = 8  # the package's __init__: the public API; it may import anything, only the top may import it

# Known imports left out of the circle check, each with why. runtimes.base's profile lookup
# imports the runtimes package so the built-in profiles register themselves on first use,
# and each profile module imports base to register: a plugin registry, circular by design.
ALLOWED = {("bvverify.runtimes.base", "bvverify.runtimes"): "profile registry: lookup loads the built-in profiles"}


def _modules(pkg_dir: Path, pkg: str) -> dict[str, Path]:
    mods = {}
    for path in sorted(pkg_dir.rglob("*.py")):
        parts = [pkg, *path.relative_to(pkg_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _imports(mod: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every package module ``mod`` imports, anywhere in the file (``from P import n`` is
    module ``P.n`` when that is a module, else ``P``)."""
    here = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in mods:  # ``import P.m.attr`` style: the longest module prefix
                name = name.rpartition(".")[0]
            if name and name != mod:
                found.add(name)
    return found


def _layer(mod: str, pkg: str) -> int | None:
    if mod == pkg:
        return FACADE
    return LAYERS.get(mod.split(".")[1])


def _cycle_through(start: str, members: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest import cycle from ``start`` back to itself inside one strongly connected set."""
    prev: dict[str, str] = {}
    todo = deque([start])
    while todo:
        m = todo.popleft()
        for n in sorted(graph[m] & members):
            if n == start:
                path = [m]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if n not in prev:
                prev[n] = m
                todo.append(n)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - start is in a circle


def _circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected sets of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layer_problems(pkg_dir: Path, allowed: dict[tuple[str, str], str] | None = None) -> list[str]:
    """Every import against the layer order, every import circle, and every module without
    a layer, in the package at ``pkg_dir``; ``allowed`` edges skip the circle check."""
    pkg = pkg_dir.name
    mods = _modules(pkg_dir, pkg)
    graph = {m: _imports(m, p, mods) for m, p in mods.items()}
    problems = [f"{m}: no layer for its folder {m.split('.')[1]!r}" for m in mods if _layer(m, pkg) is None]
    for m, deps in sorted(graph.items()):
        lm = _layer(m, pkg)
        if m == pkg or lm is None:
            continue
        for d in sorted(deps):
            ld = _layer(d, pkg)
            if ld is not None and ld > lm:
                problems.append(f"{m} (layer {lm}) imports {d} (layer {ld})")
    for a, b in allowed or {}:
        if b not in graph.get(a, set()):
            problems.append(f"allowed import {a} -> {b} no longer exists: drop it from the list")
        else:
            graph[a] = graph[a] - {b}
    for comp in _circles(graph):
        start = min(comp)
        problems.append(f"import circle among {', '.join(sorted(comp))}: {' -> '.join(_cycle_through(start, comp, graph))}")
    return problems


def test_package_layers():
    problems = layer_problems(Path(bvverify.__file__).parent, ALLOWED)
    assert not problems, "\n".join(problems)


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / "fakepkg" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root / "fakepkg"


CLEAN = {
    "__init__.py": "from fakepkg.engines.run import go\n",
    "errors.py": "",
    "ir/__init__.py": "",
    "ir/graph.py": "from fakepkg.errors import E\n",
    "encoders/__init__.py": "",
    "encoders/a.py": "from fakepkg.ir import graph\nfrom . import b\n",
    "encoders/b.py": "import fakepkg.ir.graph\n",
    "engines/__init__.py": "",
    "engines/run.py": "from ..encoders.a import x\n",
}


def test_checker_passes_a_clean_package(tmp_path):
    assert layer_problems(_write(tmp_path, CLEAN)) == []


def test_checker_reports_a_deferred_import_of_a_later_layer(tmp_path):
    bad = dict(CLEAN, **{"ir/graph.py": "def save():\n    from fakepkg.encoders import c\n", "encoders/c.py": ""})
    assert layer_problems(_write(tmp_path, bad)) == ["fakepkg.ir.graph (layer 1) imports fakepkg.encoders.c (layer 5)"]


def test_checker_reports_a_circle_within_a_layer(tmp_path):
    bad = dict(CLEAN, **{"encoders/b.py": "def f():\n    from .a import g\n"})
    assert layer_problems(_write(tmp_path, bad)) == [
        "import circle among fakepkg.encoders.a, fakepkg.encoders.b: "
        "fakepkg.encoders.a -> fakepkg.encoders.b -> fakepkg.encoders.a"]


def test_checker_reports_an_unplaced_folder_and_a_stale_exemption(tmp_path):
    bad = dict(CLEAN, **{"plugins/__init__.py": ""})
    assert layer_problems(_write(tmp_path, bad), {("fakepkg.ir.graph", "fakepkg.errors"): "x",
                                                   ("fakepkg.ir.graph", "fakepkg.engines.run"): "y"}) == [
        "fakepkg.plugins: no layer for its folder 'plugins'",
        "allowed import fakepkg.ir.graph -> fakepkg.engines.run no longer exists: drop it from the list"]
