"""The package layering, checked on the source: which package may import which, no import circles
(function-level imports included), and no torch on the runtime path.

Folder paths are not import paths (pyproject's package-dir mapping: distill/ -> adfusion_edge.distill,
export/ -> adfusion_edge.export, runtimes/ -> adfusion_edge.runtimes); FOLDERS below maps them.
docs/ARCHITECTURE.md explains the layers this file enforces.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"adfusion_edge": "adfusion_edge", "adfusion_edge.distill": "distill",
           "adfusion_edge.export": "export", "adfusion_edge.runtimes": "runtimes"}

# Unit -> the units it may import (itself always allowed). Lower layers first.
CORE_UNITS = ("core", "runtimes", "api")  # the runtime path: a base install runs bundles with these alone
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "runtimes": {"core"},
    "distill": set(),  # the face (distill/__init__.py) imports nothing
    "distill.data": {"core"},
    "distill.models": {"core"},
    "distill.evaluate": {"core", "distill.data", "distill.models"},
    "export": {"core", "runtimes", "distill.data", "distill.models", "distill.evaluate"},
    "distill.train": {"core", "distill.data", "distill.models", "distill.evaluate"},
    "distill.kd": {"core", "distill.data", "distill.models", "distill.evaluate", "distill.train"},
    "distill.prune": {"core", "distill.data", "distill.models", "distill.evaluate", "distill.train",
                      "distill.kd", "export"},
    "distill.compare": {"core", "runtimes", "distill.data", "distill.models", "distill.evaluate",
                        "distill.train", "distill.kd", "distill.prune", "export"},
    # The public face: Analyzer (and the package root that resolves it lazily) runs a bundle.
    "api": {"core", "runtimes"},
}
# The command line dispatches to every stage's cli.py (lazily, by module name), so it is above all.
ALLOWED["cli"] = set(ALLOWED)
HEAVY = ("torch", "transformers", "torch_pruning", "safetensors", "onnx", "onnxscript")
# The TorchScript backend runs .torchscript files with torch, imported when such a file is loaded.
TORCH_ON_LOAD = {"adfusion_edge.runtimes.torchscript_backend"}


def project_modules() -> dict[str, Path]:
    """Import name -> source file of every module of the installed namespace."""
    mods: dict[str, Path] = {}
    for prefix, folder in FOLDERS.items():
        for f in sorted((ROOT / folder).rglob("*.py")):
            parts = f.relative_to(ROOT / folder).with_suffix("").parts
            if prefix == "adfusion_edge" and parts and parts[0] in ("distill", "export", "runtimes"):
                continue
            name = ".".join((prefix, *parts))
            mods[name.removesuffix(".__init__")] = f
    return mods


def imports_of(path: Path, modname: str, known: set[str] | frozenset[str] = frozenset()
               ) -> Iterator[tuple[str, bool]]:
    """(imported module, at module level?) for every import statement in the file, at any depth.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module in ``known``
    (``from adfusion_edge import schema`` imports schema), else as importing ``pkg``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = modname.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
            yield from ((m, id(node) in top) for m in subs)
            if len(subs) < len(node.names):
                yield mod, id(node) in top


def unit(mod: str) -> str:
    parts = mod.split(".")
    if parts[:2] == ["adfusion_edge", "cli"] or mod == "adfusion_edge.__main__":
        return "cli"
    if mod in ("adfusion_edge", "adfusion_edge.analyzer"):
        return "api"
    if len(parts) >= 2 and parts[1] in ("runtimes", "export"):
        return parts[1]
    if len(parts) >= 2 and parts[1] == "distill":
        return "distill" if len(parts) == 2 else f"distill.{parts[2]}"
    return "core"


def graph() -> dict[str, set[str]]:
    mods = project_modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        for target, _ in imports_of(f, m, set(mods)):
            # The package root (``from adfusion_edge import __version__``) is not an edge: Python
            # initialises it before any submodule anyway, and it imports only core modules eagerly.
            if target in mods and target not in (m, "adfusion_edge"):
                edges[m].add(target)
    return edges


def test_every_project_module_is_classified():
    units = {unit(m) for m in project_modules()}
    assert units <= set(ALLOWED), f"new package without an import rule: {units - set(ALLOWED)}"


def test_packages_import_only_lower_layers():
    bad = []
    for m, targets in graph().items():
        for t in targets:
            a, b = unit(m), unit(t)
            if a != b and b not in ALLOWED[a]:
                bad.append(f"{m} ({a}) imports {t} ({b})")
    assert not bad, "imports against the layering (docs/ARCHITECTURE.md):\n" + "\n".join(sorted(bad))


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_cycle_finder_finds_a_function_level_circle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_including_function_level_imports():
    cycles = find_cycles(graph())
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_runtime_path_source_names_no_torch():
    bad = []
    for m, f in project_modules().items():
        if unit(m) not in CORE_UNITS:
            continue
        for target, at_top in imports_of(f, m):
            root = target.split(".")[0]
            if root in HEAVY and (at_top or m not in TORCH_ON_LOAD):
                bad.append(f"{m} imports {target}")
    assert not bad, "\n".join(bad)


def test_runtime_path_modules_import_without_torch():
    """Importing every runtime-path module loads none of the heavy packages."""
    names = sorted(m for m in project_modules() if unit(m) in CORE_UNITS and m != "adfusion_edge.__main__")
    code = ("import sys\n" + "".join(f"import {n}\n" for n in names)
            + f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("mod,expected", [("adfusion_edge.schema", "core"), ("adfusion_edge.cli.analyze", "cli"),
                                          ("adfusion_edge.distill.kd.cli", "distill.kd"),
                                          ("adfusion_edge.export.onnx_tools", "export"),
                                          ("adfusion_edge.formats", "core"), ("adfusion_edge.analyzer", "api")])
def test_unit_of(mod, expected):
    assert unit(mod) == expected
