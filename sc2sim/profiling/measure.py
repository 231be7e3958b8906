"""Run one pipeline on real samples: payload bytes, prediction, host stage times and stage counts.

Profiling is two passes over the test samples, for all the pipelines being profiled together:

1. **Stage times, the first ``timed`` samples** (:func:`timing_rounds`), by the protocol of
   :mod:`sc2sim.profiling.timing` (thread CPU time with one thread, warm-up, rounds that run every
   sample of every pipeline once, runs kept only in the host's fast state, per-sample minimum over
   rounds, rounds until the stage medians are stable). Each stage (mobile compute, encode, decode,
   edge compute) is timed at batch size 1. ``mobile_ms`` is compute + encode, ``edge_ms`` is
   decode + compute; ``mobile_encode_ms`` and ``edge_decode_ms`` are the codec parts. Samples beyond
   ``timed`` have NaN times (not measured): the simulator draws a request's times from the timed
   samples. With ``idle_gap_ms`` > 0 the CPU idles that long before every run, so each run starts
   like an isolated request rather than straight after the previous one (BENCHMARKS.md section 6).
2. **Bytes and accuracy, every sample** (:class:`~sc2sim.profiling.quality.QualityPass`).
   :meth:`Pipeline.mobile_batch` and :meth:`Pipeline.edge_batch` run each pipeline on batches
   (nothing is timed). Every payload is real bytes that the edge decodes and classifies, so
   ``payload_bytes``, ``pred`` and ``correct`` are measured on each sample. It runs after the
   timing, one pipeline per core side by side; with the optional timing gate on, some of its
   batches first fill the gate's waits for the host's fast state (in the timing thread).

The compute parts of both stages are also counted once (:func:`sc2sim.profiling.counting.count_work`):
``{mobile,edge}_{ops,kernels,bytes,weight_bytes,io_bytes,low_flops,low_bytes,low_weight_bytes,conv_outputs}``, what the device cost model
(:mod:`sc2sim.devices.cost_model`) needs besides FLOPs and codec time.

Batched and batch-1 convolutions may round the last float bit differently, so a pipeline that sends
raw or min-max-quantised features (``split:naive``) can produce slightly different bytes at batch 1.
The timing rounds record their own payload length and prediction in ``batch1_payload_bytes`` and
``batch1_pred`` (NaN where not timed), so that difference is measured, not hidden. Every timing
run must produce the same bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from sc2sim.data import ImageSet
from sc2sim.pipelines.base import Pipeline
from sc2sim.profiling.allocator import keep_freed_memory
from sc2sim.profiling.counting import WorkCount, count_work
from sc2sim.profiling.fast_state import FastStateGate
from sc2sim.profiling.flops import count_flops
from sc2sim.profiling.quality import QualityPass, quality_passes
from sc2sim.profiling.timing import Protocol, bootstrap_rel_ci, speed_probe_ms, timed_ms

COLUMNS = ["pipeline", "strategy", "sample", "label", "pred", "correct", "payload_bytes", "payload_only_bytes", "mobile_ms", "edge_ms",
           "mobile_encode_ms", "edge_decode_ms", "mobile_flops", "edge_flops", "mobile_params", "edge_params",
           "batch1_payload_bytes", "batch1_pred"]
WORK_COUNTS = ("ops", "kernels", "bytes", "weight_bytes", "io_bytes", "low_flops", "low_bytes", "low_weight_bytes",
               "conv_outputs")
"""Per-stage counts stored as ``mobile_<name>`` / ``edge_<name>`` columns (FLOPs are ``*_flops``)."""
COUNT_COLUMNS = [f"{side}_{c}" for side in ("mobile", "edge") for c in WORK_COUNTS]


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


@dataclass
class _Timed:
    """One pipeline's running state in :func:`timing_rounds`."""

    pipe: Pipeline
    best: np.ndarray
    first: list[bytes | None]
    preds: np.ndarray
    fast: np.ndarray
    medians: np.ndarray | None = None


def _time_sample(t: _Timed, i: int, image: np.ndarray, clock: Callable[[], int]) -> tuple[float, float, float, float]:
    """One batch-1 run of sample ``i`` through ``t``'s four stages: their times in ms."""
    pipe = t.pipe
    x, t0 = timed_ms(pipe.mobile_compute, image, clock)
    p, t1 = timed_ms(pipe.encode, x, clock)
    if t.first[i] is None:
        t.first[i] = p
    elif p != t.first[i]:
        raise RuntimeError(f"{pipe.name}: sample {i} encoded to different bytes on a later run")
    z, t2 = timed_ms(pipe.decode, p, clock)
    t.preds[i], t3 = timed_ms(pipe.edge_compute, z, clock)
    return t0, t1, t2, t3


def timing_rounds(pipes: list[Pipeline], images: np.ndarray, protocol: Protocol,
                  on_sample: Callable[[int], None] | None = None, idle_gap_ms: float = 0.0,
                  filler: Callable[[], bool] | None = None) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], dict[str, Any]]:
    """Stage times at batch size 1 of every pipeline on ``images`` by the timing protocol (rounds).

    Returns, per pipeline, ``(times (k, 4) ms: mobile compute, encode, decode, edge compute; batch-1
    payload lengths; batch-1 predictions)``, and what the protocol did (rounds, final bootstrap
    interval, last move). The warm-up (``protocol.warmup`` rounds at least, of the first
    ``protocol.warmup_samples`` samples, for ``protocol.warmup_s`` seconds at least) is run but not
    kept. torch threads as the caller set them; with ``idle_gap_ms``, sleep that long before each run
    (an idle CPU, as between isolated requests). ``filler`` runs untimed work while the timing gate
    waits for the host's fast state (:class:`~sc2sim.profiling.fast_state.FastStateGate`). The
    process keeps its freed memory from here on (:mod:`~sc2sim.profiling.allocator`)."""
    allocator = keep_freed_memory()
    clock = protocol.clock()
    k = len(images)
    state = [_Timed(p, np.full((k, 4), np.inf), [None] * k, np.zeros(k, np.int64), np.zeros(k, np.int64)) for p in pipes]
    need = protocol.rounds  # with the gate on, runs per sample to keep in the fast state
    gated = protocol.gate and protocol.gate_budget_s > 0 and idle_gap_ms <= 0
    gate = FastStateGate(clock, protocol.gate_tolerance, protocol.gate_budget_s, gated, filler, runs=need * k * len(pipes))
    warm, start = 0, time.perf_counter()
    while k and state and (warm < protocol.warmup or (protocol.warmup and time.perf_counter() - start < protocol.warmup_s)):
        for t in state:
            for i in range(min(k, protocol.warmup_samples)):
                _time_sample(t, i, images[i], clock)
                if gate.enabled:
                    gate.probe_us()  # the gate learns the host's fast floor meanwhile
        warm += 1
    rounds, ci, moved, probes = 0, 0.0, np.inf, []
    history: list[dict[str, list[float]]] = []  # stage medians (mobile, edge ms) per pipeline after each round
    while k and state:
        probes.append(speed_probe_ms(clock))
        for t in state:
            for i in range(k):
                if gate.enabled and t.fast[i] >= need:
                    continue  # this sample has its runs in the fast state
                if idle_gap_ms > 0:
                    time.sleep(idle_gap_ms / 1e3)
                times, fast = gate.run(lambda: _time_sample(t, i, images[i], clock))
                t.best[i] = np.minimum(t.best[i], times)
                t.fast[i] += fast
                if on_sample and rounds == 0:
                    on_sample(1)
        rounds += 1
        moved, ci = 0.0, 0.0
        history.append({})
        for t in state:
            stage = np.stack([t.best[:, 0] + t.best[:, 1], t.best[:, 2] + t.best[:, 3]], axis=1)
            new = np.median(stage, axis=0)
            ci = max(ci, bootstrap_rel_ci(stage[:, 0]), bootstrap_rel_ci(stage[:, 1]))
            moved = max(moved, np.inf if t.medians is None else
                        float(np.max(np.abs(new - t.medians) / np.maximum(new, 1e-9))))
            t.medians = new
            history[-1][t.pipe.name] = [round(float(v), 5) for v in new]
        if gate.enabled and all((t.fast >= need).all() for t in state):
            break  # every sample of every pipeline has `need` runs bracketed by fast probes
        if (rounds >= protocol.rounds and moved <= protocol.target_ci / 2) or rounds >= protocol.max_rounds:
            break
    out = [(t.best, np.array([len(b) for b in t.first], np.int64), t.preds) for t in state]
    return out, {"rounds": rounds, "warmup_rounds": warm, "warmup_samples": min(k, protocol.warmup_samples),
                 "ci": round(ci, 4), "last_move": round(float(moved), 4), "clock": protocol.clock_name,
                 "allocator": allocator,
                 "min_rounds": protocol.rounds, "probe_ms": [round(p, 4) for p in probes],
                 "pipelines_interleaved": len(state), "gate": gate.stats(), "medians_by_round": history,
                 "estimator": "per-sample minimum over rounds" + (" of runs bracketed by fast probes" if gate.enabled else "")
                              + ", stage median"}


def _profile_frame(pipe: Pipeline, data: ImageSet, k: int, quality: tuple[list[bytes], np.ndarray],
                   timed: tuple[np.ndarray, np.ndarray, np.ndarray]) -> pd.DataFrame:
    """One pipeline's profile rows (:data:`COLUMNS` + :data:`COUNT_COLUMNS`) from its two passes."""
    payloads, preds = quality
    t_k, b1_bytes, b1_preds = timed
    n = len(data)
    times = np.full((n, 4), np.nan)
    times[:k] = t_k
    batch1_bytes, batch1_pred = np.full(n, np.nan), np.full(n, np.nan)
    batch1_bytes[:k], batch1_pred[:k] = b1_bytes, b1_preds
    mflops, eflops = stage_flops(pipe, data.images[0])
    mparams, eparams = stage_params(pipe)
    mwork, ework = stage_work(pipe, data.images[0])
    labels = data.labels.astype(np.int64)
    return pd.DataFrame({
        "pipeline": pipe.name, "strategy": pipe.strategy, "sample": np.arange(n), "label": labels, "pred": preds,
        "correct": preds == labels, "payload_bytes": np.array([len(p) for p in payloads], np.int64),
        "payload_only_bytes": np.array([pipe.payload_only(p) for p in payloads], np.int64),
        "mobile_ms": times[:, 0] + times[:, 1], "edge_ms": times[:, 2] + times[:, 3],
        "mobile_encode_ms": times[:, 1], "edge_decode_ms": times[:, 2],
        "mobile_flops": mflops, "edge_flops": eflops, "mobile_params": mparams, "edge_params": eparams,
        "batch1_payload_bytes": batch1_bytes, "batch1_pred": batch1_pred,
        **{f"{side}_{c}": np.int64(getattr(w, c)) for side, w in (("mobile", mwork), ("edge", ework)) for c in WORK_COUNTS},
    })[COLUMNS + COUNT_COLUMNS]


def measure_pipelines(pipes: list[Pipeline], data: ImageSet, timed: int | None = None, protocol: Protocol | None = None,
                      on_sample: Callable[[int], None] | None = None, idle_gap_ms: float = 0.0,
                      workers: int | None = None) -> list[pd.DataFrame]:
    """Profile every pipeline on every sample of ``data`` (bytes, predictions; :func:`quality_passes`)
    and time the first ``timed`` samples (all when None) of all of them together
    (:func:`timing_rounds`): one frame per pipeline, one row per sample, with the columns of
    :data:`COLUMNS` and :data:`COUNT_COLUMNS`; ``df.attrs["timing"]`` says what the protocol did.

    ``on_sample(k)`` is called as work advances, ``k`` samples at a time; the total is
    ``len(pipes) * (len(data) + min(timed, len(data)))``.
    """
    proto = protocol or Protocol()
    k = len(data) if timed is None else min(int(timed), len(data))
    with QualityPass(pipes, data.images, on_sample) as qp:  # with the gate on, batches fill its waits
        timed_out, info = timing_rounds(pipes, data.images[:k], proto, on_sample, idle_gap_ms, filler=qp.fill)
        quality = qp.finish(workers)
    frames = []
    for pipe, q, t in zip(pipes, quality, timed_out):
        df = _profile_frame(pipe, data, k, q, t)
        df.attrs["timing"] = dict(info)
        frames.append(df)
    return frames


def measure_pipeline(pipe: Pipeline, data: ImageSet, timed: int | None = None, protocol: Protocol | None = None,
                     on_sample: Callable[[int], None] | None = None, idle_gap_ms: float = 0.0) -> pd.DataFrame:
    """:func:`measure_pipelines` for one pipeline."""
    return measure_pipelines([pipe], data, timed, protocol, on_sample, idle_gap_ms)[0]
