"""Figures are not drawn again when nothing they show has changed.

Drawing is most of a report's time, and a warm ``make run`` re-simulates the same seeded scenario into
the same folder, so its figures come out identical. :func:`content_key` hashes what the figures are
made of: the summary rows, the request records the report reads, the run metadata (less its creation
time and host), the latency statistic, the objective, the report's own source code and matplotlib's
version. ``figures/.report-cache.json`` records the key of the figures on disk with each figure's
title, note, check results and the SHA-256 of its PNG; :func:`cached_figures` returns them only when
the key matches and every PNG is intact and its SVG present.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from sc2sim.report.render import Figure

CACHE_FILE = ".report-cache.json"
_SOURCES = ("report", "runs/decision.py", "runs/columns.py")  # code whose change changes the figures


def _frame_digest(h: Any, df: pd.DataFrame) -> None:
    """Feed a frame into ``h`` column by column: numeric columns as their raw bytes, categoricals as
    categories plus codes, anything else as JSON text (the default study's 288,000 records and summary: about 30 ms)."""
    import numpy as np

    h.update("\x1f".join(map(str, df.columns)).encode())
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            h.update(json.dumps(list(map(str, col.cat.categories))).encode())
            h.update(np.ascontiguousarray(col.cat.codes.to_numpy()).tobytes())
        elif isinstance(col.dtype, np.dtype) and col.dtype.kind in "biuf":
            h.update(col.dtype.str.encode())
            h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
        else:
            h.update(col.to_json(orient="values", default_handler=str).encode())


def _code_digest() -> str:
    from importlib.metadata import PackageNotFoundError, version

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for src in _SOURCES:
        for f in sorted((root / src).glob("*.py")) if (root / src).is_dir() else [root / src]:
            h.update(f.name.encode() + f.read_bytes())
    try:
        h.update(version("matplotlib").encode())
    except PackageNotFoundError:
        pass
    return h.hexdigest()


def content_key(summary: pd.DataFrame, records: pd.DataFrame, meta: dict[str, Any], *parts: Any) -> str:
    """SHA-256 over everything the figures are drawn from (``parts``: the statistic, the objective, ...)."""
    h = hashlib.sha256(_code_digest().encode())
    _frame_digest(h, summary)
    _frame_digest(h, records)
    h.update(json.dumps({k: v for k, v in meta.items() if k not in ("created", "host")}, sort_keys=True,
                        default=str).encode())
    h.update(repr(parts).encode())
    return h.hexdigest()


def cached_figures(fig_dir: str | Path, key: str) -> list[Figure] | None:
    """The figures on disk in ``fig_dir`` if they were drawn from inputs with ``key`` (else None)."""
    d = Path(fig_dir)
    try:
        doc = json.loads((d / CACHE_FILE).read_text(encoding="utf-8"))
        if doc.get("key") != key:
            return None
        out = []
        for e in doc["figures"]:
            png = (d / f"{e['key']}.png").read_bytes()
            if hashlib.sha256(png).hexdigest() != e["png_sha256"] or not (d / f"{e['key']}.svg").is_file():
                return None
            out.append(Figure(e["key"], e["title"], e["note"], png, b"", list(e.get("problems", []))))
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_cache(fig_dir: str | Path, key: str, figures: list[Figure]) -> Path:
    """Record that the figures now in ``fig_dir`` were drawn from inputs with ``key``."""
    from sc2sim.atomic import atomic_write_text

    doc = {"key": key, "figures": [{"key": f.key, "title": f.title, "note": f.note, "problems": f.problems,
                                    "png_sha256": hashlib.sha256(f.png).hexdigest()} for f in figures]}
    return atomic_write_text(Path(fig_dir) / CACHE_FILE, json.dumps(doc, indent=1))
