"""Point files: one finished sweep point per file under ``DIR/points/``, the done-markers of a
resumable run (``sc2sim sweep`` and ``sc2sim emulate`` write them; :func:`assemble_points` turns
them into the same result ``sc2sim run`` produces).

A point file holds the point's request records; its ``sc2sim`` metadata holds the key (see
:mod:`sc2sim.runs.keys`), the summary rows, the engines used, the request count and the wall time.
A file whose key matches is done; anything else (missing, unreadable, another key) is recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sc2sim.runs.columns import STRING_COLUMNS
from sc2sim.runs.folder import RunResult
from sc2sim.runs.keys import POINT_FORMAT, point_filename

POINTS_DIR = "points"


@dataclass
class PointResult:
    """One finished point: its records (all pipelines), summary rows and engine counts."""

    index: int
    label: str
    records: pd.DataFrame
    summary: list[dict]
    engines: dict[str, int]
    requests: int
    wall_s: float


@dataclass
class PointTodo:
    """A point still to compute: the point, its key and the file it will be written to."""

    point: Any
    key: str
    path: Path


def write_point(path: Path, res: PointResult, key: str) -> Path:
    """Write one finished point atomically (records; summary rows and key in the metadata)."""
    from sc2sim.tables import write_table

    meta = {"sweep_key": key, "format": POINT_FORMAT, "index": res.index, "label": res.label,
            "summary": res.summary, "engines": res.engines, "requests": res.requests, "wall_s": res.wall_s}
    return write_table(res.records, path, meta)


def read_point_meta(path: Path) -> dict | None:
    """The metadata of a point file, or None when it is missing or unreadable (then it is not done)."""
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(b"sc2sim")
        return json.loads(raw) if raw else None
    except Exception:  # noqa: BLE001 - an unreadable point file is simply not done
        return None


def pending_points(points: Iterable[Any], folder: Path, key_of: Callable[[Any], str]
                   ) -> tuple[list[PointTodo], list[str], dict[str, Path]]:
    """Split ``points`` into those to compute and those already done in ``folder``.

    Returns (to do, labels of the done ones, label -> file of every point).
    """
    todo, done, files = [], [], {}
    for p in points:
        key = key_of(p)
        path = folder / point_filename(p, key)
        files[p.label] = path
        meta = read_point_meta(path) if path.is_file() else None
        if meta is not None and meta.get("sweep_key") == key:
            done.append(p.label)
        else:
            todo.append(PointTodo(p, key, path))
    return todo, done, files


def assemble_points(files: list[Path]) -> RunResult:
    """Concatenate point files (in point order) into the RunResult ``sc2sim run`` would produce."""
    from pandas.api.types import union_categoricals

    from sc2sim.tables import read_table

    frames, summary, engines, n_req, wall = [], [], {}, 0, 0.0
    for path in files:
        df = read_table(path)
        meta = df.attrs.pop("sc2sim")
        frames.append(df)
        summary.extend(meta["summary"])
        for k, v in meta["engines"].items():
            engines[k] = engines.get(k, 0) + int(v)
        n_req += int(meta["requests"])
        wall += float(meta["wall_s"])
    if frames:
        records = pd.concat(frames, ignore_index=True)
        for col in STRING_COLUMNS:  # categories in order of first appearance, as in a single run
            if col in records.columns:
                records[col] = union_categoricals([f[col] for f in frames], sort_categories=False)
    else:
        records = pd.DataFrame()
    info = {"engines": engines, "requests": n_req, "wall_s": wall,
            "requests_per_s": n_req / wall if wall > 0 else float("nan")}
    return RunResult(records, pd.DataFrame(summary), info)
