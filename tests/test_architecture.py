"""docs/architecture.md's import rules, read from the source (no module is imported): no
circle between modules, no import from a higher floor, no folder reaching into another
algorithm family's. A change that breaks a rule fails here with the import that does."""

from __future__ import annotations

import ast
import pathlib
from typing import Dict, List, Set

import tf_maddpg

ROOT = pathlib.Path(tf_maddpg.__file__).parent

FLOORS = (  # (module prefix, floor): a module may import its own floor and those below
    ("tf_maddpg.config", 1), ("tf_maddpg.seeding", 1), ("tf_maddpg.signals", 1),
    ("tf_maddpg.lazy", 1), ("tf_maddpg.runtime", 1), ("tf_maddpg.inputs", 1),
    ("tf_maddpg.envs", 2), ("tf_maddpg.storage", 3), ("tf_maddpg.networks", 4),
    ("tf_maddpg.algorithms", 5), ("tf_maddpg.runs", 6), ("tf_maddpg.export", 6),
    ("tf_maddpg.training", 7), ("tf_maddpg.render", 8), ("tf_maddpg.sweep", 8),
    ("tf_maddpg.reference", 9), ("tf_maddpg.compare", 9), ("tf_maddpg.cli", 9),
    ("tf_maddpg.__main__", 10),
)
SHARED = ("registry", "base", "teams", "policy", "batches")
"""algorithms/ modules that every family and the floors above may import."""
BASES = {"matd3": {"maddpg"}, "ippo": {"ppo"}, "mappo": {"ppo"}, "happo": {"ppo"},
         "iql": {"value_based"}, "vdn": {"value_based"}, "qmix": {"value_based", "vdn"}}
"""The families an algorithm's folder builds on (MATD3 is MADDPG's variant, QMIX's
config extends VDN's)."""


def module_files() -> Dict[str, pathlib.Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the tf_maddpg modules it imports (at the top or inside functions)."""
    modules = module_files()
    edges: Dict[str, Set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([node.module] if node.module else []))
                names = [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module and not module.startswith(name + "."):
                    edges[module].add(name)
    return edges


def floor(module: str) -> int:
    return max((f for prefix, f in FLOORS if module == prefix or module.startswith(prefix + ".")),
               default=0)


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_another_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_every_module_has_a_floor_and_imports_only_its_floor_and_below():
    edges = import_graph()
    unplaced = [m for m in edges if m != "tf_maddpg" and floor(m) == 0]
    assert unplaced == [], "add these to FLOORS (and docs/architecture.md's table)"
    upward = [f"{a} ({floor(a)}) imports {b} ({floor(b)})" for a in sorted(edges)
              for b in sorted(edges[a]) if a != "tf_maddpg" and floor(b) > floor(a)]
    assert upward == []


def test_folders_use_the_registry_not_another_familys_modules():
    """training/, runs/ and sweep/ reach an algorithm through the registry (and the
    shared modules); an algorithm's folder imports only its own family's base."""
    wrong = []
    for module, imported in import_graph().items():
        for name in imported:
            parts = name.split(".")
            if len(parts) < 3 or parts[1] != "algorithms" or parts[2] in SHARED:
                continue
            family = parts[2]
            if module.startswith("tf_maddpg.algorithms."):
                own = module.split(".")[2]
                if own in ("registry", *SHARED) or family == own:
                    continue
                if family in BASES.get(own, ()):
                    continue
                wrong.append(f"{module} -> {name}")
            elif module.split(".")[1] in ("training", "runs", "sweep", "envs", "storage",
                                          "networks"):
                wrong.append(f"{module} -> {name}")
    assert wrong == []
