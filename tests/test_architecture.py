"""The layers of the package are a rule, not a habit: imports run downwards only, never in a
circle, and only the engines touch an engine library. CONTRIBUTING.md draws the same picture.

    moviedl (cli, cli_shared, terminal, output, api, ...) entry points
    moviedl.app                                       a command around its stage: session, lock, run record
    moviedl.stages                                    what each command does
    moviedl.checks                                    audits and value rules
    moviedl.engines | moviedl.storage                 SQL engines | where the bytes live
    moviedl.core                                      config, errors, contract, summary...

The imports are read from the source (every ``import``, at module level or inside a function,
``TYPE_CHECKING`` ones included), so a lazy import cannot hide a circle or a wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "moviedl"

#: top first; modules in one layer may import each other (siblings separated by "|" may not)
LAYERS: list[list[str]] = [
    ["moviedl.cli", "moviedl.cli_shared", "moviedl.terminal", "moviedl.output", "moviedl.api", "moviedl.__main__",
     "moviedl.glue_entry"],
    ["moviedl.app"],
    ["moviedl.stages"],
    ["moviedl.checks"],
    ["moviedl.engines", "moviedl.storage"],
    ["moviedl.core"],
]
ENGINE_LIBRARIES = {"duckdb", "pyspark", "py4j"}
MAX_LINES = 600
MAX_MODULES_PER_FOLDER = 12


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """Every moviedl module and outside library ``name`` imports (a ``from pkg import mod`` names
    the module ``pkg.mod`` when that is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES)
    return {m for m in found if m in MODULES or not m.startswith("moviedl")}


GRAPH = {name: {m for m in imports_of(name) if m in MODULES and m != name} for name in MODULES}


def layer_of(name: str) -> tuple[int, str]:
    for index, layer in enumerate(LAYERS):
        for part in layer:
            if name == part or name.startswith(part + "."):
                return index, part
    raise AssertionError(f"{name} is in no layer: add it to LAYERS and CONTRIBUTING.md")


def test_every_module_belongs_to_a_layer_and_there_are_at_most_seven() -> None:
    assert len(LAYERS) <= 7
    for name in MODULES:
        if name != "moviedl":  # the root holds only __version__ and imports nothing
            layer_of(name)
    assert GRAPH["moviedl"] == set()


def room_of(name: str) -> str:
    """A top-level module, or a first-level subpackage as a whole (``moviedl.stages``)."""
    parts = name.split(".")
    return ".".join(parts[:2])


def test_the_longest_import_chain_has_at_most_seven_floors() -> None:
    """Floors counted over rooms (top-level modules and subpackages): __main__ -> cli -> app ->
    stages -> checks -> engines -> core is seven; an eighth means a layer crept in."""
    edges = {room_of(n): set() for n in GRAPH if n != "moviedl"}
    for name, targets in GRAPH.items():
        if name != "moviedl":
            edges[room_of(name)] |= {room_of(t) for t in targets if t != "moviedl" and room_of(t) != room_of(name)}
    floors: dict[str, int] = {}

    def floor(room: str) -> int:
        if room not in floors:
            floors[room] = 1 + max((floor(t) for t in edges[room]), default=0)
        return floors[room]

    assert max(floor(r) for r in edges) <= 7, sorted(floors.items(), key=lambda kv: -kv[1])


def test_imports_run_down_the_layers_only() -> None:
    wrong = []
    for name, targets in GRAPH.items():
        if name == "moviedl":
            continue
        here, part = layer_of(name)
        for target in targets - {"moviedl"}:
            there, other = layer_of(target)
            up = there < here
            across = there == here and part != other and here > 0  # the entry points may share
            if up or across:
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports running up (or across independent siblings): " + ", ".join(sorted(wrong))


def test_no_import_circles() -> None:
    """Tarjan's strongly connected components over the module graph: each must be one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    assert not circles, circles


def test_only_the_engines_import_an_engine_library() -> None:
    wrong = {name: sorted({m.split(".")[0] for m in imports_of(name)} & ENGINE_LIBRARIES)
             for name in MODULES if not name.startswith("moviedl.engines")}
    assert not {k: v for k, v in wrong.items() if v}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_readable_in_one_sitting(name: str) -> None:
    lines = len(MODULES[name].read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"


def test_no_folder_holds_more_than_a_dozen_modules() -> None:
    folders: dict[Path, int] = {}
    for path in MODULES.values():
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
    crowded = {str(f.relative_to(ROOT)): n for f, n in folders.items() if n > MAX_MODULES_PER_FOLDER}
    assert not crowded


def test_the_rules_catch_what_they_forbid() -> None:
    """The checks above can fail: a made-up import up the layers is seen."""
    here, _ = layer_of("moviedl.core.config")
    there, _ = layer_of("moviedl.stages.refine.refine")
    assert there < here  # core importing a stage would run up
    assert layer_of("moviedl.engines.duck")[1] != layer_of("moviedl.storage.lake")[1]
