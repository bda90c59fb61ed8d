"""Every import points down: a module imports its own room or a room on a floor below.

`LAYERS` is the one statement of the floors, ground first (docs/ARCHITECTURE.md opens with
what each holds). One room per floor, so an import between two rooms is either down or up,
never sideways. A module belongs to the longest room its name starts with: `fillstream.cli`
(the command line) is not `fillstream` (the engine). Every import counts, the late ones
inside functions too; the walk reads the sources with `ast` and runs nothing.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The floors, ground first: a module may import its own room and the rooms below it.
LAYERS = (
    "fillstream.settings",  # settings from the environment, Kafka client config, TOML tables
    "fillstream.schemas",  # the contracts: Avro records, serde, the topic catalog
    "fillstream.domain",  # the trading vocabulary: instruments, venues, ids, reports, time
    "fillstream.infra",  # the broker, topic provisioning, typed topic I/O, Kafka access
    "fillstream.connectors",  # the edges: venue adapters, the simulated venue, feeds
    "fillstream.streams",  # the pure cores, the stages and the processor loop
    "fillstream.analytics",  # TCA reports, audit, exports for analysts
    "fillstream",  # the engine: its config, processes, pipeline, replay, demo, bench
    "fillstream.api",  # the REST API
    "fillstream.cli",  # the command line
    "fillstream.__main__",  # `python -m fillstream`
)


def _floor(module: str) -> int:
    """The floor of `module`: that of the longest room its dotted name starts with."""
    rooms = [room for room in LAYERS if module == room or module.startswith(room + ".")]
    if not rooms:
        raise AssertionError(f"{module} is in no room of LAYERS")
    return LAYERS.index(max(rooms, key=len))


def _modules() -> dict[str, Path]:
    """Every module of the distribution, by name, from pyproject.toml's package-dir."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules: dict[str, Path] = {}
    for package, folder in tool["package-dir"].items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def _imports(module: str, path: Path, known: set[str]) -> Iterator[tuple[int, str]]:
    """(line, imported module) for each fillstream import in `path`, at any depth."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                yield node.lineno, whole if whole in known else base


def test_every_module_has_a_room() -> None:
    for module in _modules():
        _floor(module)


def test_every_import_points_down() -> None:
    modules = _modules()
    known = set(modules)
    wrong = []
    for module, path in sorted(modules.items()):
        floor = _floor(module)
        for line, imported in _imports(module, path, known):
            if imported != "fillstream" and not imported.startswith("fillstream."):
                continue
            if _floor(imported) > floor:
                where = path.relative_to(ROOT)
                wrong.append(
                    f"{where}:{line}: {module} ({LAYERS[floor]}) imports {imported}"
                    f" ({LAYERS[_floor(imported)]}), a floor above"
                )
    assert not wrong, "imports pointing up:\n" + "\n".join(wrong)


def test_no_module_reaches_itself_through_imports() -> None:
    """No file circle, late imports included: each module's imports, followed, never lead
    back to it (a cycle is reported as the path that closes it)."""
    modules = _modules()
    known = set(modules)
    graph = {
        module: sorted({i for _, i in _imports(module, path, known) if i in known} - {module})
        for module, path in modules.items()
    }
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(module) :]))
        if module in done:
            return
        for imported in graph[module]:
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
