"""Run one pipeline on real samples: payload bytes, prediction, host stage times and stage counts.

Profiling is two passes over the test samples:

1. **Bytes and accuracy, every sample.** :meth:`Pipeline.mobile_batch` and :meth:`Pipeline.edge_batch`
   run the pipeline on batches (torch may use every core: nothing is timed). Every payload is real
   bytes that the edge decodes and classifies, so ``payload_bytes``, ``pred`` and ``correct`` are
   measured on each sample.
2. **Stage times, the first ``timed`` samples**, by the protocol of :mod:`sc2sim.profiling.timing`
   (thread CPU time with one thread, warm-up, per-sample minimum over repeats, passes over the
   samples until the stage medians are stable). Each stage (mobile compute, encode, decode, edge compute) is timed
   at batch size 1. ``mobile_ms`` is compute + encode, ``edge_ms`` is decode + compute;
   ``mobile_encode_ms`` and ``edge_decode_ms`` are the codec parts. Samples beyond ``timed`` have
   NaN times (not measured): the simulator draws a request's times from the timed samples.
   With ``idle_gap_ms`` > 0 the CPU idles that long before every repeat, so each repeat starts like
   an isolated request rather than straight after the previous one (BENCHMARKS.md section 6).

The compute parts of both stages are also counted once (:func:`sc2sim.profiling.counting.count_work`):
``{mobile,edge}_{ops,kernels,bytes,weight_bytes,io_bytes,low_flops,low_bytes,low_weight_bytes}``, what the device cost model
(:mod:`sc2sim.devices.cost_model`) needs besides FLOPs and codec time.

Batched and batch-1 convolutions may round the last float bit differently, so a pipeline that sends
raw or min-max-quantised features (``split:naive``) can produce slightly different bytes at batch 1.
The timing pass records its own payload length and prediction in ``batch1_payload_bytes`` and
``batch1_pred`` (NaN where not timed), so that difference is measured, not hidden. Every timing
repeat must produce the same bytes.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from sc2sim.data import ImageSet
from sc2sim.pipelines.base import Pipeline
from sc2sim.profiling.counting import WorkCount, count_work
from sc2sim.profiling.flops import count_flops
from sc2sim.profiling.timing import Protocol, bootstrap_rel_ci, timed_ms

COLUMNS = ["pipeline", "strategy", "sample", "label", "pred", "correct", "payload_bytes", "payload_only_bytes", "mobile_ms", "edge_ms",
           "mobile_encode_ms", "edge_decode_ms", "mobile_flops", "edge_flops", "mobile_params", "edge_params",
           "batch1_payload_bytes", "batch1_pred"]
WORK_COUNTS = ("ops", "kernels", "bytes", "weight_bytes", "io_bytes", "low_flops", "low_bytes", "low_weight_bytes")
"""Per-stage counts stored as ``mobile_<name>`` / ``edge_<name>`` columns (FLOPs are ``*_flops``)."""
COUNT_COLUMNS = [f"{side}_{c}" for side in ("mobile", "edge") for c in WORK_COUNTS]
PIXELS_PER_BATCH = 4_000_000  # input values per batch in the bytes-and-accuracy pass (250 images of 28x28,
# 26 of 224x224x3: bounded memory for large models)


def stage_flops(pipe: Pipeline, image: np.ndarray) -> tuple[int, int]:
    """(mobile, edge) FLOPs for one image, counted by torch's FlopCounterMode (codecs count 0)."""
    payload: list[bytes] = []
    mobile = count_flops(lambda: payload.append(pipe.mobile(image)))
    edge = count_flops(lambda: pipe.edge(payload[0]))
    return mobile, edge


def stage_work(pipe: Pipeline, image: np.ndarray) -> tuple[WorkCount, WorkCount]:
    """(mobile, edge) counts of the stages' compute parts for one image (codecs are timed, not counted)."""
    mods = pipe.models()
    x = pipe.mobile_compute(image)
    z = pipe.decode(pipe.encode(x))
    return (count_work(lambda: pipe.mobile_compute(image), mods.get("mobile", [])),
            count_work(lambda: pipe.edge_compute(z), mods.get("edge", [])))


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
                idle_gap_ms: float = 0.0, protocol: Protocol | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Stage times ``(k, 4)`` in ms (mobile compute, encode, decode, edge compute) at batch size 1 by the
    timing protocol, the batch-1 payload lengths and predictions, and what the protocol did (passes,
    final bootstrap interval). torch threads as the caller set them; with ``idle_gap_ms``, sleep that
    long before each repeat (an idle CPU, as between isolated requests)."""
    proto = protocol or Protocol(repeats=repeats)
    clock = proto.clock()
    k = len(images)
    best = np.full((k, 4), np.inf)
    nbytes = np.zeros(k, np.int64)
    preds = np.zeros(k, np.int64)
    first: list[bytes] = [b""] * k
    for _ in range(proto.warmup if k else 0):
        pipe.edge(pipe.mobile(images[0]))  # lazy init, allocator, codec tables, library primitives
    passes, ci, medians = 0, 0.0, None
    while k:
        for i in range(k):
            for r in range(proto.repeats):
                if idle_gap_ms > 0:
                    time.sleep(idle_gap_ms / 1e3)
                x, t0 = timed_ms(pipe.mobile_compute, images[i], clock)
                p, t1 = timed_ms(pipe.encode, x, clock)
                if passes == r == 0:
                    first[i] = p
                elif p != first[i]:
                    raise RuntimeError(f"{pipe.name}: sample {i} encoded to different bytes on repeat {r}")
                z, t2 = timed_ms(pipe.decode, p, clock)
                preds[i], t3 = timed_ms(pipe.edge_compute, z, clock)
                best[i] = np.minimum(best[i], (t0, t1, t2, t3))
            nbytes[i] = len(first[i])
            if on_sample and passes == 0:
                on_sample(1)
        passes += 1
        stage = np.stack([best[:, 0] + best[:, 1], best[:, 2] + best[:, 3]], axis=1)
        new_medians = np.median(stage, axis=0)
        ci = max(bootstrap_rel_ci(stage[:, 0]), bootstrap_rel_ci(stage[:, 1]))
        moved = (np.inf if medians is None else
                 float(np.max(np.abs(new_medians - medians) / np.maximum(new_medians, 1e-9))))
        medians = new_medians
        if (passes >= proto.min_passes and moved <= proto.target_ci / 2) or passes >= proto.max_passes:
            break
    return best, nbytes, preds, {"passes": passes, "ci": round(ci, 4), "last_move": round(moved, 4), "clock": proto.clock_name,
                                 "repeats_per_pass": proto.repeats, "estimator": "per-sample minimum, stage median"}


def measure_pipeline(pipe: Pipeline, data: ImageSet, repeats: int = 3, timed: int | None = None,
                     on_sample: Callable[[int], None] | None = None, idle_gap_ms: float = 0.0,
                     protocol: Protocol | None = None) -> pd.DataFrame:
    """Profile ``pipe`` on every sample of ``data`` (bytes, predictions) and time the first ``timed``
    samples (all when None): one row per sample with the columns of :data:`COLUMNS` and
    :data:`COUNT_COLUMNS`; ``df.attrs["timing"]`` says what the timing protocol did.

    ``on_sample(k)`` is called as work advances, ``k`` samples at a time; the total is
    ``len(data) + min(timed, len(data))``.
    """
    n = len(data)
    k = n if timed is None else min(int(timed), n)
    payloads, preds = quality_pass(pipe, data.images, on_sample)
    t_k, b1_bytes, b1_preds, timing = timing_pass(pipe, data.images[:k], repeats, on_sample, idle_gap_ms, protocol)
    times = np.full((n, 4), np.nan)
    times[:k] = t_k
    batch1_bytes, batch1_pred = np.full(n, np.nan), np.full(n, np.nan)
    batch1_bytes[:k], batch1_pred[:k] = b1_bytes, b1_preds
    mflops, eflops = stage_flops(pipe, data.images[0])
    mparams, eparams = stage_params(pipe)
    mwork, ework = stage_work(pipe, data.images[0])
    labels = data.labels.astype(np.int64)
    df = pd.DataFrame({
        "pipeline": pipe.name, "strategy": pipe.strategy, "sample": np.arange(n), "label": labels, "pred": preds,
        "correct": preds == labels, "payload_bytes": np.array([len(p) for p in payloads], np.int64),
        "payload_only_bytes": np.array([pipe.payload_only(p) for p in payloads], np.int64),
        "mobile_ms": times[:, 0] + times[:, 1], "edge_ms": times[:, 2] + times[:, 3],
        "mobile_encode_ms": times[:, 1], "edge_decode_ms": times[:, 2],
        "mobile_flops": mflops, "edge_flops": eflops, "mobile_params": mparams, "edge_params": eparams,
        "batch1_payload_bytes": batch1_bytes, "batch1_pred": batch1_pred,
        **{f"{side}_{c}": np.int64(getattr(w, c)) for side, w in (("mobile", mwork), ("edge", ework)) for c in WORK_COUNTS},
    })[COLUMNS + COUNT_COLUMNS]
    df.attrs["timing"] = timing
    return df
