"""The packages form layers and every import points down (or stays in its layer).

Lowest first; a module may import its own layer and the layers below, never one above. The
project's README ("The design") explains what each layer holds. Imports inside functions
count too: a lazy import is still a dependency. Tests import anything.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from config.station import PROJECT_DIR

#: Lowest first. Same-layer imports are allowed; the module-cycle test keeps them acyclic.
LAYERS: list[frozenset[str]] = [
    frozenset({"ocppj", "config"}),                   # OCPP-J framing/schemas; config schema
    frozenset({"messages"}),                          # OCPP models, internal actor messages
    frozenset({"ports"}),                             # what blocks may depend on
    frozenset({"storage", "evse_hw"}),                # repositories; the EVSE driver interface
    frozenset({"device_model", "smart_charging", "simulators"}),
    frozenset({"blocks"}),                            # the functional blocks
    frozenset({"station"}),                           # session shell, composition root, EVSE logic
    frozenset({"actors", "api"}),                     # actor shells, control API
    frozenset({"app", "run", "tools", "bench"}),      # entry points
]

#: (importing module, imported module) pairs allowed to point up. Keep it empty.
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset()

#: Module cycles known and not yet untied. api.openapi reads the route table and the error
#: model of api.server, which builds its document from api.openapi (lazy imports both ways).
KNOWN_CYCLES: list[list[str]] = [["api.openapi", "api.server"]]

LAYER_OF = {package: index for index, layer in enumerate(LAYERS) for package in layer}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PROJECT_DIR.rglob("*.py")):
        relative = path.relative_to(PROJECT_DIR)
        if relative.parts[0] not in LAYER_OF and relative.stem not in LAYER_OF:
            continue                                  # tests, migrations, virtualenvs, ...
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Project modules ``name`` imports (the module itself, or its package if not a module)."""
    out = set()
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            # ``from pkg import mod`` imports a module when pkg.mod is one.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    return LAYER_OF[module.split(".")[0]]


def test_every_package_has_a_layer():
    top = {p.name for p in PROJECT_DIR.iterdir()
           if p.is_dir() and (p / "__init__.py").exists() and p.name != "tests"}
    assert top <= LAYER_OF.keys(), f"give these packages a layer: {sorted(top - LAYER_OF.keys())}"


def test_the_scan_sees_the_blocks_importing_the_ports():
    # Guards the scanner itself: a broken resolver would make every layer test pass.
    assert "ports.outcome" in GRAPH["blocks.provisioning"]


@pytest.mark.parametrize("layer", range(len(LAYERS)), ids=lambda i: "+".join(sorted(LAYERS[i])))
def test_imports_point_down(layer):
    upward = sorted(
        (module, target) for module, targets in GRAPH.items() if _layer(module) == layer
        for target in targets
        if _layer(target) > layer and (module, target) not in ALLOWED_UPWARD)
    assert not upward, "imports of a higher layer:\n" + "\n".join(f"  {a} -> {b}" for a, b in upward)


def test_no_import_cycles_between_modules():
    cycles = [component for component in _strongly_connected(GRAPH)
              if len(component) > 1 and component not in KNOWN_CYCLES]
    assert not cycles, f"modules importing each other: {cycles}"


def test_no_import_cycles_between_packages():
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        packages.setdefault(module.split(".")[0], set()).update(
            t.split(".")[0] for t in targets if t.split(".")[0] != module.split(".")[0])
    cycles = [component for component in _strongly_connected(packages) if len(component) > 1]
    assert not cycles, f"packages importing each other: {cycles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the module graph is a few hundred nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components
