"""Architecture-only profiles: measured times and FLOPs, published bytes and accuracy.

A pipeline built with ``weights=none`` (``sc2sim profile --weights none``) runs its architecture
with seeded random weights, so profiling measures real compute times and FLOPs, but the payload
sizes and predictions of untrained weights mean nothing. :func:`apply_published` therefore replaces,
on that pipeline's rows of a profile table:

* ``payload_bytes`` and ``payload_only_bytes`` by the card point's size (bytes = KB x ``kb_bytes``;
  a local pipeline keeps its measured 1-2 byte result);
* ``pred`` by -1 (no prediction) and ``correct`` by a fixed pattern whose mean is the card's top-1
  over the profiled samples (``floor((i + 1) a) - floor(i a)``, spread evenly, so any run of samples
  averages close to it; the exact card value is in the metadata and the what-if and reports use it);
* ``batch1_payload_bytes`` / ``batch1_pred`` (if present) by NaN;

and adds the columns ``bytes_source`` and ``accuracy_source`` (``measured`` or ``published``) to
every row, plus ``attrs["sc2sim"]["published"] = {pipeline: card point}`` (card, citation, method,
point, size, top-1). Times and FLOPs stay measured. Applying it twice changes nothing.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from sc2sim.cards import PublishedPoint

SOURCE_COLUMNS = ("bytes_source", "accuracy_source")


def correct_pattern(top1_pct: float, n: int) -> np.ndarray:
    """``n`` booleans whose mean is ``floor(n a) / n`` for ``a = top1_pct / 100``, evenly spread."""
    a = top1_pct / 100.0
    i = np.arange(n)
    return (np.floor((i + 1) * a) - np.floor(i * a)) >= 1


def published_points(names: list[str]) -> dict[str, PublishedPoint]:
    """Card points of the architecture-only pipelines among ``names`` (builds no model)."""
    from sc2sim.pipelines.imagenet import published_for

    out = {}
    for name in names:
        point = published_for(name)
        if point is not None:
            out[name] = point
    return out


def apply_published(table: pd.DataFrame) -> pd.DataFrame:
    """The profile table with card bytes and accuracy on architecture-only pipelines (module docstring).

    Returns ``table`` itself when it holds no architecture-only pipeline.
    """
    points = published_points([str(n) for n in dict.fromkeys(table["pipeline"])])
    meta = table.attrs.get("sc2sim", {})
    if not points or (set(SOURCE_COLUMNS) <= set(table.columns) and set(meta.get("published", {})) == set(points)):
        return table
    out = table.copy()
    out.attrs = copy.deepcopy(table.attrs)
    for col in SOURCE_COLUMNS:
        out[col] = "measured"
    for name, p in points.items():
        rows = out["pipeline"] == name
        n = int(rows.sum())
        if p.bytes is not None:
            out.loc[rows, ["payload_bytes", "payload_only_bytes"]] = p.bytes
            out.loc[rows, "bytes_source"] = p.kind
        out.loc[rows, "pred"] = -1
        out.loc[rows, "correct"] = correct_pattern(p.top1, n)
        out.loc[rows, "accuracy_source"] = p.kind
        for col in ("batch1_payload_bytes", "batch1_pred"):
            if col in out.columns:
                out.loc[rows, col] = np.nan
    out.attrs.setdefault("sc2sim", {})["published"] = {n: p.as_dict() for n, p in points.items()}
    return out
