"""Data flows one way: cli -> container -> runtime -> kernel/cgroups/net/rootfs (DESIGN.md).

Every module's imports are read with ast -- top-level, inside functions (lazy) and under
``if TYPE_CHECKING`` alike: a type-only import upward is still a dependency upward. A
module may import its own layer and those below it, never one above; and no two modules
import each other at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lxcpy"

# the longest matching prefix gives a module's layer; higher numbers are higher layers
LAYERS: dict[str, int] = {
    "lxcpy": 6,  # the package itself: the public face (lxcpy/__init__.py)
    "lxcpy.cli": 6, "lxcpy.oci": 6, "lxcpy.api": 6,  # the fronts
    "lxcpy.container": 5,  # the library face every front calls
    "lxcpy.storage.clone": 5, "lxcpy.storage.snapshot": 5,  # lxc-copy, lxc-snapshot: of containers
    "lxcpy.storage.removal": 4,  # destroy's removal of stores, snapshots and dependents
    "lxcpy.store": 4, "lxcpy.templates": 4,  # lxc-create's files and rootfs, for container
    "lxcpy.runtime": 3,  # supervisor, in-container set-up, init, attach
    "lxcpy.rootfs": 2, "lxcpy.net": 2, "lxcpy.cgroups": 2,  # what runtime drives
    "lxcpy.storage": 2,  # backing stores: mounted by rootfs, parsed by config
    "lxcpy.config": 2,  # the lxc.* language (its key table checks cgroup and store syntax)
    "lxcpy.kernel": 1,  # the only ctypes/libc caller
    "lxcpy.config.model": 0, "lxcpy.config.seccomp": 0,  # the typed config every layer reads
    "lxcpy.errors": 0, "lxcpy.paths": 0, "lxcpy.log": 0, "lxcpy._record": 0,
    "lxcpy.jsonlite": 0,
}

# Known and left, with the reason; anything else upward or circular fails.
ALLOWED: dict[tuple[str, str], str] = {
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            inside.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return inside


def imports(module: str) -> list[tuple[str, int, bool]]:
    """(imported lxcpy module, line, at run time) for every import statement of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            targets = subs or [base]  # `from lxcpy import kernel`: the submodule
        for target in targets:
            if target.startswith("lxcpy.") or target == "lxcpy":
                found.append((target, node.lineno, id(node) not in typing_only))
    return found


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module} has no layer: add it to LAYERS in {__file__}")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer(module)


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for module in sorted(MODULES):
        for target, line, _ in imports(module):
            if target == "lxcpy" or (module, target) in ALLOWED:
                continue
            if layer(target) > layer(module):
                upward.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line}: "
                              f"{module} (layer {layer(module)}) imports {target} "
                              f"(layer {layer(target)})")
    assert not upward, "\n".join(upward)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
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
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def run_time_edges() -> dict[str, set[str]]:
    """Module -> modules it imports at run time; a package's ``__init__`` importing its
    own submodules (and they it) is how a package is built, not a circle."""
    edges: dict[str, set[str]] = {}
    for module in MODULES:
        for target, _, at_run_time in imports(module):
            if not at_run_time or target == module or (module, target) in ALLOWED:
                continue
            if target.startswith(module + ".") or module.startswith(target + "."):
                continue
            edges.setdefault(module, set()).add(target)
    return edges


def test_no_two_modules_import_each_other() -> None:
    assert _cycles(run_time_edges()) == []


@pytest.mark.parametrize("pair", [
    ("lxcpy.container", "lxcpy.runtime.attach"), ("lxcpy.container", "lxcpy.runtime.wait"),
    ("lxcpy.container", "lxcpy.store"), ("lxcpy.container", "lxcpy.templates"),
    ("lxcpy.runtime.child", "lxcpy.runtime.init"),
])
def test_the_circles_of_issue_19_are_gone(pair: tuple[str, str]) -> None:
    """Each pair: the second never imports the first, not even for a type."""
    high, low = pair
    assert high not in {target for target, _, _ in imports(low)}


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a lazy import of the container from the kernel is caught."""
    assert layer("lxcpy.kernel.bpf") < layer("lxcpy.container")
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
