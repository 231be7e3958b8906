"""Run one pipeline on real samples: payload bytes, prediction and host stage times.

Profiling is two passes over the test samples:

1. **Bytes and accuracy, every sample.** :meth:`Pipeline.mobile_batch` and :meth:`Pipeline.edge_batch`
   run the pipeline on batches (torch may use every core: nothing is timed). Every payload is real
   bytes that the edge decodes and classifies, so ``payload_bytes``, ``pred`` and ``correct`` are
   measured on each sample.
2. **Stage times, the first ``timed`` samples.** Each stage (mobile compute, encode, decode, edge
   compute) is timed with ``time.perf_counter`` at batch size 1 on every repeat; the table keeps the
   median over repeats. ``mobile_ms`` is compute + encode, ``edge_ms`` is decode + compute;
   ``mobile_encode_ms`` and ``edge_decode_ms`` are the codec parts. Samples beyond ``timed`` have
   NaN times (not measured): the simulator draws a request's times from the timed samples.
   With ``idle_gap_ms`` > 0 the CPU idles that long before every repeat, so each repeat starts like
   an isolated request rather than straight after the previous one. On this project's VM that
   matters: an edge stage of about 1.5 ms back to back takes about 2.7 ms after 200 ms of idling
   (BENCHMARKS.md section 6), which is what the emulator measures for requests 1 s apart.

Batched and batch-1 convolutions may round the last float bit differently, so a pipeline that sends
raw or min-max-quantised features (``split:naive``) can produce slightly different bytes at batch 1.
The timing pass records its own payload length and prediction in ``batch1_payload_bytes`` and
``batch1_pred`` (NaN where not timed), so that difference is measured, not hidden. Every timing
repeat must produce the same bytes.
"""

from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np
import pandas as pd
import torch

from sc2sim.data import ImageSet
from sc2sim.pipelines.base import Pipeline
from sc2sim.profiling.flops import count_flops

COLUMNS = ["pipeline", "strategy", "sample", "label", "pred", "correct", "payload_bytes", "payload_only_bytes", "mobile_ms", "edge_ms",
           "mobile_encode_ms", "edge_decode_ms", "mobile_flops", "edge_flops", "mobile_params", "edge_params",
           "batch1_payload_bytes", "batch1_pred"]
PIXELS_PER_BATCH = 4_000_000  # input values per batch in the bytes-and-accuracy pass (250 images of 28x28,
# 26 of 224x224x3: bounded memory for large models)


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


def quality_pass(pipe: Pipeline, images: np.ndarray, on_sample: Callable[[int], None] | None = None
                 ) -> tuple[list[bytes], np.ndarray]:
    """Payloads and predictions of every image, in batches, with torch on every core (untimed)."""
    old = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    payloads: list[bytes] = []
    preds = []
    per_image = int(np.prod(images.shape[1:])) or 1
    size = max(1, min(250, PIXELS_PER_BATCH // per_image))
    try:
        for i in range(0, len(images), size):
            batch = pipe.mobile_batch(images[i : i + size])
            payloads += batch
            preds.append(pipe.edge_batch(batch))
            if on_sample:
                on_sample(len(batch))
    finally:
        torch.set_num_threads(old)
    return payloads, np.concatenate(preds) if preds else np.zeros(0, np.int64)


def timing_pass(pipe: Pipeline, images: np.ndarray, repeats: int, on_sample: Callable[[int], None] | None = None,
                idle_gap_ms: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median stage times ``(k, 4)`` in ms (mobile compute, encode, decode, edge compute) at batch size 1,
    with the batch-1 payload lengths and predictions; torch threads as the caller set them. With
    ``idle_gap_ms``, sleep that long before each repeat (an idle CPU, as between isolated requests)."""
    k = len(images)
    times = np.zeros((k, 4))
    nbytes = np.zeros(k, np.int64)
    preds = np.zeros(k, np.int64)
    if k:
        pipe.edge(pipe.mobile(images[0]))  # warm-up: lazy init, allocator, codec tables
    for i in range(k):
        reps = np.zeros((repeats, 4))
        payload = b""
        for r in range(repeats):
            if idle_gap_ms > 0:
                time.sleep(idle_gap_ms / 1e3)
            x, reps[r, 0] = _timed(pipe.mobile_compute, images[i])
            p, reps[r, 1] = _timed(pipe.encode, x)
            if r == 0:
                payload = p
            elif p != payload:
                raise RuntimeError(f"{pipe.name}: sample {i} encoded to different bytes on repeat {r}")
            z, reps[r, 2] = _timed(pipe.decode, payload)
            preds[i], reps[r, 3] = _timed(pipe.edge_compute, z)
        nbytes[i] = len(payload)
        times[i] = np.median(reps, axis=0)
        if on_sample:
            on_sample(1)
    return times, nbytes, preds


def measure_pipeline(pipe: Pipeline, data: ImageSet, repeats: int = 3, timed: int | None = None,
                     on_sample: Callable[[int], None] | None = None, idle_gap_ms: float = 0.0) -> pd.DataFrame:
    """Profile ``pipe`` on every sample of ``data`` (bytes, predictions) and time the first ``timed``
    samples (all when None): one row per sample with the columns of :data:`COLUMNS`.

    ``on_sample(k)`` is called as work advances, ``k`` samples at a time; the total is
    ``len(data) + min(timed, len(data))``.
    """
    n = len(data)
    k = n if timed is None else min(int(timed), n)
    payloads, preds = quality_pass(pipe, data.images, on_sample)
    t_k, b1_bytes, b1_preds = timing_pass(pipe, data.images[:k], repeats, on_sample, idle_gap_ms)
    times = np.full((n, 4), np.nan)
    times[:k] = t_k
    batch1_bytes, batch1_pred = np.full(n, np.nan), np.full(n, np.nan)
    batch1_bytes[:k], batch1_pred[:k] = b1_bytes, b1_preds
    mflops, eflops = stage_flops(pipe, data.images[0])
    mparams, eparams = stage_params(pipe)
    labels = data.labels.astype(np.int64)
    return pd.DataFrame({
        "pipeline": pipe.name, "strategy": pipe.strategy, "sample": np.arange(n), "label": labels, "pred": preds,
        "correct": preds == labels, "payload_bytes": np.array([len(p) for p in payloads], np.int64),
        "payload_only_bytes": np.array([pipe.payload_only(p) for p in payloads], np.int64),
        "mobile_ms": times[:, 0] + times[:, 1], "edge_ms": times[:, 2] + times[:, 3],
        "mobile_encode_ms": times[:, 1], "edge_decode_ms": times[:, 2],
        "mobile_flops": mflops, "edge_flops": eflops, "mobile_params": mparams, "edge_params": eparams,
        "batch1_payload_bytes": batch1_bytes, "batch1_pred": batch1_pred,
    })[COLUMNS]
