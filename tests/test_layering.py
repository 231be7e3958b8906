"""Dependencies point one way: the simulator rooms never import torch, no module imports in a circle,
and no room imports a room above it (imports inside functions count too: they are dependencies)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "sc2sim"

LAYERS: list[set[str]] = [
    {"errors", "atomic", "ui"},
    {"config", "readers", "tables", "naming", "network"},
    {"devices", "cards", "data", "models", "runs"},
    {"scenario", "pipelines"},
    {"points", "profiling"},
    {"sim", "train"},
    {"emu", "report"},
    {"whatif"},
    {"api"},
    {"commands"},
    {"cli", "__init__"},
]
"""Rooms of the package from the bottom up: a room may import its own layer's rooms and lower ones."""


def _modules() -> dict[str, Path]:
    mods = {}
    for f in PKG.rglob("*.py"):
        parts = list(f.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        mods[".".join(parts)] = f
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> the sc2sim modules it imports anywhere in its source (``from pkg import name`` points
    at ``pkg.name`` when that is a module, else at ``pkg``)."""
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names if a.name.startswith("sc2sim")]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("sc2sim"):
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else resolve(node.module)
                           for a in node.names]
            graph[m].update(t for t in targets if t and t != m)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_rooms_import_only_their_layer_and_below():
    rank = {room: k for k, layer in enumerate(LAYERS) for room in layer}
    graph = import_graph()
    unknown = sorted({_room(m) for m in graph} - set(rank))
    assert not unknown, f"rooms missing from LAYERS: {unknown}"
    upward = sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts if rank[_room(t)] > rank[_room(m)])
    assert upward == []


def test_simulator_rooms_and_cli_import_without_torch():
    code = ("import sys, sc2sim.sim, sc2sim.scenario, sc2sim.points, sc2sim.runs, sc2sim.network, sc2sim.devices, "
            "sc2sim.naming, sc2sim.tables, sc2sim.config, sc2sim.report, sc2sim.whatif, sc2sim.cli, "
            "sc2sim.commands; assert 'torch' not in sys.modules, 'torch was imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
