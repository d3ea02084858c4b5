"""The layering rules of docs/architecture.md, checked on the source: no import cycle (lazy
imports included), the library never imports the benchmark scripts, no long function, and
no module but the one process runner starts processes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 60
# The modules that may start a process, and why. Everything else goes through zoo.proc, so
# that every job has a time limit and its whole process group is ended with it.
MAY_START_PROCESSES = {
    "zoo.proc": "the one process runner: workers, and git for provenance",
    "zoo.daemon": "the fork server: a warm process forks each run it serves",
}
# What starts a process: these modules, and these functions of `os` and `asyncio`.
PROCESS_MODULES = ("subprocess", "multiprocessing", "concurrent.futures.process", "pty")
PROCESS_CALLS = ("fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp")
PROCESS_PREFIXES = ("exec", "spawn", "create_subprocess", "ProcessPool")


def _modules() -> dict[str, Path]:
    mods = {}
    for top, name in (("zoo", "zoo"), ("cli", "zoo.cli")):
        for path in (ROOT / top).rglob("*.py"):
            parts = [name, *path.relative_to(ROOT / top).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


def _imports(module: str, path: Path) -> set[str]:
    """Every module `module` imports, at its top or inside functions."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {}
    for module, path in mods.items():
        edges = set()
        for target in _imports(module, path):
            while target and target not in mods:  # the deepest module the name is in
                target = target.rpartition(".")[0]
            # a package and its own submodules are one unit, as Python imports them
            if target and not (target.startswith(module + ".") or module.startswith(target + ".")):
                edges.add(target)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_library_never_imports_the_benchmark_scripts():
    offenders = {
        m
        for m, path in _modules().items()
        for t in _imports(m, path)
        if t.split(".")[0] == "benchmarks"
    }
    assert offenders == set()


def test_no_function_is_longer_than_a_screen():
    long = []
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert long == []


def _starts_processes(source: str) -> list[str]:
    """What in `source` can start a process: an import of PROCESS_MODULES, or a function
    of PROCESS_CALLS or PROCESS_PREFIXES taken from os, asyncio or concurrent.futures."""
    owners = ("os", "asyncio", "concurrent.futures")
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            names += [a.name for a in node.names] if node.module in owners else []
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names = [node.attr] if node.value.id in owners else []
        for name in names:
            if name.split(".")[0] in PROCESS_MODULES or name in PROCESS_MODULES:
                found.append(name)
            elif name in PROCESS_CALLS or name.startswith(PROCESS_PREFIXES):
                found.append(name)
    return found


def test_only_the_process_runner_starts_processes():
    starters = {
        module: names
        for module, path in _modules().items()
        if module not in MAY_START_PROCESSES and (names := _starts_processes(path.read_text()))
    }
    assert starters == {}


def test_the_process_check_finds_every_way_to_start_one():
    source = """
import subprocess
from multiprocessing import Pool
from concurrent.futures import ProcessPoolExecutor
import os, asyncio
os.fork(); os.execv("x", []); os.system("x"); os.spawnl(0, "x")
asyncio.create_subprocess_exec("x")
os.path.join("a", "b"); os.environ.get("X")
from platform import system
"""
    assert _starts_processes(source) == [
        "subprocess", "multiprocessing", "ProcessPoolExecutor", "fork", "execv", "system",
        "spawnl", "create_subprocess_exec",
    ]  # fmt: skip
