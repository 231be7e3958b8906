"""``sc2sim pipelines``: describe every registered family, its parameters and an example name."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from sc2sim.ui import console as ui_console


def describe_pipelines() -> list[dict[str, Any]]:
    """One dict per registered ``family:variant``: strategy, doc, parameters, header, example."""
    from sc2sim.pipelines.base import PIPELINES

    out = []
    for key, cls in sorted(PIPELINES.items()):
        params = {k: {"type": p.kind.__name__, "default": p.default, "allowed": p.allowed} for k, p in cls.PARAMS.items()}
        example = key + ("?" + "&".join(f"{k}={p.default}" for k, p in list(cls.PARAMS.items())[:2] if k != "model" and p.default != "") if params else "")
        out.append({"name": key, "strategy": cls.strategy, "doc": " ".join((cls.DOC or "").split()),
                    "params": params, "header": cls.HEADER, "example": example.rstrip("?")})
    return out


def print_pipelines(rows: list[dict[str, Any]], as_json: bool = False) -> None:
    """Print the description as a rich table, or as JSON for programs."""
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="sc2sim pipelines (registry names: FAMILY:VARIANT?key=value&...)")
    for col in ("name", "strategy", "parameters", "example", "what it is"):
        table.add_column(col, overflow="fold")
    for r in rows:
        params = ", ".join(f"{k}={v['default']} ({v['allowed']})" for k, v in r["params"].items()) or "-"
        table.add_row(r["name"], r["strategy"], params, r["example"], r["doc"])
    ui_console().print(table)
