"""Run one pipeline on real samples: payload bytes, prediction and host stage times.

Each stage (mobile compute, encode, decode, edge compute) is timed with ``time.perf_counter`` on every
repeat at batch size 1; the table keeps the median over repeats. ``mobile_ms`` is compute + encode,
``edge_ms`` is decode + compute; ``mobile_encode_ms`` and ``edge_decode_ms`` are the codec parts.
The first repeat's payload is decoded on the edge, and every repeat must produce the same bytes.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from sc2sim.data import ImageSet
from sc2sim.pipelines.base import Pipeline
from sc2sim.profiling.flops import count_flops

COLUMNS = ["pipeline", "strategy", "sample", "label", "pred", "correct", "payload_bytes", "payload_only_bytes", "mobile_ms", "edge_ms",
           "mobile_encode_ms", "edge_decode_ms", "mobile_flops", "edge_flops", "mobile_params", "edge_params"]


def _timed(fn: Callable, arg: object) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn(arg)
    return out, (time.perf_counter() - t0) * 1e3


def stage_flops(pipe: Pipeline, image: np.ndarray) -> tuple[int, int]:
    """(mobile, edge) FLOPs for one image, counted by torch's FlopCounterMode (codecs count 0)."""
    payload: list[bytes] = []
    mobile = count_flops(lambda: payload.append(pipe.mobile(image)))
    edge = count_flops(lambda: pipe.edge(payload[0]))
    return mobile, edge


def stage_params(pipe: Pipeline) -> tuple[int, int]:
    """(mobile, edge) parameter counts of the torch modules each side runs."""
    mods = pipe.models()
    count = lambda ms: int(sum(p.numel() for m in ms for p in m.parameters()))  # noqa: E731
    return count(mods["mobile"]), count(mods["edge"])


def measure_pipeline(pipe: Pipeline, data: ImageSet, repeats: int = 3,
                     on_sample: Callable[[], None] | None = None) -> pd.DataFrame:
    """Profile ``pipe`` on every sample of ``data``: one row per sample with the columns of :data:`COLUMNS`."""
    n = len(data)
    payload_bytes = np.zeros(n, np.int64)
    payload_only = np.zeros(n, np.int64)
    preds = np.zeros(n, np.int64)
    times = np.zeros((n, 4))  # mobile compute, encode, decode, edge compute (median ms)
    pipe.edge(pipe.mobile(data.images[0]))  # warm-up: lazy init, allocator, codec tables
    for i in range(n):
        image = data.images[i]
        reps = np.zeros((repeats, 4))
        payload = b""
        for r in range(repeats):
            x, reps[r, 0] = _timed(pipe.mobile_compute, image)
            p, reps[r, 1] = _timed(pipe.encode, x)
            if r == 0:
                payload = p
            elif p != payload:
                raise RuntimeError(f"{pipe.name}: sample {i} encoded to different bytes on repeat {r}")
            z, reps[r, 2] = _timed(pipe.decode, payload)
            pred, reps[r, 3] = _timed(pipe.edge_compute, z)
        payload_bytes[i], preds[i], payload_only[i] = len(payload), pred, pipe.payload_only(payload)
        times[i] = np.median(reps, axis=0)
        if on_sample:
            on_sample()
    mflops, eflops = stage_flops(pipe, data.images[0])
    mparams, eparams = stage_params(pipe)
    labels = data.labels.astype(np.int64)
    return pd.DataFrame({
        "pipeline": pipe.name, "strategy": pipe.strategy, "sample": np.arange(n), "label": labels, "pred": preds,
        "correct": preds == labels, "payload_bytes": payload_bytes, "payload_only_bytes": payload_only,
        "mobile_ms": times[:, 0] + times[:, 1], "edge_ms": times[:, 2] + times[:, 3],
        "mobile_encode_ms": times[:, 1], "edge_decode_ms": times[:, 2],
        "mobile_flops": mflops, "edge_flops": eflops, "mobile_params": mparams, "edge_params": eparams,
    })[COLUMNS]
