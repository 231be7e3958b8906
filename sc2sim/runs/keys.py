"""Point keys: the hash that names a sweep point's file, so a rerun reuses exactly the points whose
inputs did not change.

A key hashes everything a point's records and summary depend on: the point's concrete parameters
(label and index included), the pipeline list, samples, the profile rows of those pipelines, the
device profiles, the trace file's bytes, the engine (or emulation settings), the policy and
:data:`POINT_FORMAT`. A changed scenario, profile, device or trace file changes the key, so a stale
point is never reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

POINT_FORMAT = 2
"""Version of the point-file format and key recipe (bump when either changes)."""


def _json_default(v: Any) -> Any:
    if hasattr(v, "model_dump"):
        return v.model_dump(mode="json")
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return dataclasses.asdict(v)
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"cannot serialise {type(v).__name__}")


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys (dataclasses, pydantic models, paths and numpy values allowed)."""
    return json.dumps(obj, sort_keys=True, default=_json_default, separators=(",", ":"))


def file_sha(path: str | Path | None) -> str | None:
    """SHA-256 of a file's bytes (a trace's), None for no file."""
    return None if path is None else hashlib.sha256(Path(path).read_bytes()).hexdigest()


def profile_identity(rows: dict[str, Any]) -> str:
    """A hash of the profile rows a run uses: per pipeline, its name, strategy and every array field
    of its rows object (a dataclass such as :class:`sc2sim.sim.plan.PipelineRows`)."""
    h = hashlib.sha256()
    for name in sorted(rows):
        r = rows[name]
        h.update(f"{name}\0{r.strategy}\0".encode())
        for f in dataclasses.fields(r):
            v = getattr(r, f.name)
            if isinstance(v, np.ndarray):
                h.update(f.name.encode() + str(v.dtype).encode() + np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def point_key(point: Any, pipelines: list[str], samples: int | None, dataset: str, profile_id: str,
              devices: dict[str, Any], engine: str, trace_sha: str | None, policy: Any = None) -> str:
    """The 20-hex-digit key of one point (see the module docstring); ``devices`` maps ``host`` and
    the point's mobile and edge names to their profiles."""
    doc = {
        "format": POINT_FORMAT, "point": point, "pipelines": list(pipelines), "samples": samples,
        "dataset": dataset, "profile": profile_id, "engine": engine, "trace_sha": trace_sha, "policy": policy,
        "devices": {role: devices[name] for role, name in
                    (("host", "host"), ("mobile", point.mobile), ("edge", point.edge))},
    }
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()[:20]


def point_filename(point: Any, key: str) -> str:
    """``<index>-<safe label>-<key>.parquet``: sortable by point, readable, unique per key."""
    safe = re.sub(r"[^A-Za-z0-9._=+-]+", "_", point.label).strip("._") or "point"
    return f"{point.index:05d}-{safe[:80]}-{key}.parquet"
