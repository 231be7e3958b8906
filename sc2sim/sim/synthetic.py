"""Synthetic profile tables for tests and benchmarks (no models, no torch).

The numbers are plausible for 28x28 Fashion-MNIST pipelines on the reference host (a teacher CNN of
about 20 MFLOPs taking about 2 ms, codec files of a few hundred bytes) but are *made up*: never use
them for conclusions, only to exercise the simulator.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

# name -> (mean payload bytes, accuracy, mobile ms, mobile encode ms, mobile MFLOPs, edge ms, edge decode ms, edge MFLOPs)
_SHAPES = {
    "local:teacher": (1, 0.93, 2.0, 0.0, 20.0, 0.0, 0.0, 0.0),
    "local:light": (1, 0.88, 0.4, 0.0, 2.0, 0.0, 0.0, 0.0),
    "offload:png": (600, 0.93, 0.15, 0.12, 0.0, 2.2, 0.1, 20.0),
    "offload:jpeg?quality=50": (330, 0.925, 0.12, 0.1, 0.0, 2.15, 0.08, 20.0),
    "offload:webp?quality=50": (236, 0.924, 0.2, 0.18, 0.0, 2.2, 0.12, 20.0),
    "offload:avif?quality=50": (270, 0.923, 1.5, 1.45, 0.0, 2.5, 0.4, 20.0),
    "offload:learned?lmbda=0.0067": (132, 0.92, 0.9, 0.3, 3.8, 2.3, 0.4, 22.6),
    "split:sc2?beta=0.003": (72, 0.9, 0.9, 0.3, 2.3, 1.5, 0.2, 19.7),
    "split:naive?bits=2&stage=3": (249, 0.93, 1.3, 0.1, 18.8, 0.2, 0.05, 0.0),
}


def synthetic_profile(pipelines: list[str] | None = None, samples: int = 200, seed: int = 0) -> pd.DataFrame:
    """A profile table in the project's schema for ``pipelines`` x ``samples`` synthetic samples."""
    rng = np.random.default_rng(seed)
    names = pipelines or list(_SHAPES)
    labels = rng.integers(0, 10, samples)
    frames = []
    for k, name in enumerate(names):
        strategy = name.split(":", 1)[0]
        b, acc, m_ms, enc, m_mf, e_ms, dec, e_mf = _SHAPES.get(name, (400 + 50 * k, 0.9, 0.3, 0.2, 0.0, 2.0, 0.1, 20.0))
        correct = rng.random(samples) < acc
        pred = np.where(correct, labels, (labels + 1 + rng.integers(0, 9, samples)) % 10)
        jitter = rng.lognormal(0.0, 0.05, samples)
        payload = np.ones(samples, np.int64) if strategy == "local" else np.maximum(8, rng.normal(b, 0.15 * b, samples)).astype(np.int64)
        frames.append(pd.DataFrame({
            "pipeline": name, "strategy": strategy, "sample": np.arange(samples), "label": labels, "pred": pred,
            "correct": correct, "payload_bytes": payload,
            "mobile_ms": m_ms * jitter, "edge_ms": e_ms * jitter, "mobile_encode_ms": enc * jitter,
            "edge_decode_ms": dec * jitter, "mobile_flops": np.full(samples, int(m_mf * 1e6)),
            "edge_flops": np.full(samples, int(e_mf * 1e6)), "mobile_params": 0, "edge_params": 0,
        }))
    table = pd.concat(frames, ignore_index=True)
    table.attrs["sc2sim"] = {"threads": 1, "repeats": 1, "host": "synthetic", "dataset": "synthetic"}
    return table


def write_profile_parquet(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a profile table with its ``sc2sim`` metadata (for ``sc2sim run --profile``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.Table.from_pandas(table, preserve_index=False)
    meta = json.dumps(table.attrs.get("sc2sim", {})).encode()
    t = t.replace_schema_metadata({**(t.schema.metadata or {}), b"sc2sim": meta})
    buf = io.BytesIO()
    pq.write_table(t, buf)
    Path(path).write_bytes(buf.getvalue())
    return Path(path)
