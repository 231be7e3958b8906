"""``ensure_profile``: the profile table for some pipelines and samples, measuring only what is not cached."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

from sc2sim.ui import console as ui_console

from sc2sim.data import load_dataset
from sc2sim.pipelines import build_pipeline
from sc2sim.profiling.architecture import apply_published
from sc2sim.profiling.measure import measure_pipeline
from sc2sim.profiling.table import base_meta, cache_dir, cache_key, read_profile
from sc2sim.tables import write_table
from sc2sim.train.common import progress_bar


def ensure_profile(pipelines: list[str], samples: int | None, dataset: str = "fashion-mnist", data_dir: str | None = None,
                   repeats: int = 3, threads: int = 1, progress: bool = True, use_cache: bool = True,
                   timed: int | None = None, idle_gap_ms: float = 0.0) -> pd.DataFrame:
    """Profile table (one row per pipeline x sample) for the first ``samples`` test samples (None: all).

    Bytes and predictions are measured on every sample; stage times on the first ``timed`` samples
    (None: every sample), each repeat after ``idle_gap_ms`` of idling when > 0; see
    :mod:`sc2sim.profiling.measure`. Pipelines already profiled on at
    least that many samples (and timed samples) with the same weights, data, repeats, threads and host come
    from the cache; the rest are measured now and cached. The returned frame's ``attrs["sc2sim"]``
    holds the measurement metadata (threads, repeats, host, dataset, timed samples...).

    Architecture-only pipelines (``weights=none``) get their bytes and accuracy from their published
    card (:func:`sc2sim.profiling.architecture.apply_published`), never from untrained weights.
    """
    pipes = [build_pipeline(n) for n in dict.fromkeys(pipelines)]  # validates every name before any work
    data = load_dataset(dataset, "test", data_dir).head(samples)
    full_fp = load_dataset(dataset, "test", data_dir).fingerprint()
    n = len(data)
    k = n if timed is None else min(int(timed), n)
    frames, todo = [], []
    for pipe in pipes:
        gap = f"|idle_gap_ms={idle_gap_ms:g}" if idle_gap_ms > 0 else ""
        key = cache_key(f"{pipe.fingerprint()}|{json.dumps(pipe.params, sort_keys=True, default=str)}{gap}", full_fp,
                        repeats, threads)
        path = cache_dir() / f"{key}.parquet"  # resolved parameters too: a changed default is a new entry
        cached = read_profile(path) if use_cache and path.is_file() else None
        if cached is not None and len(cached) >= n and cached["mobile_ms"].iloc[:n].notna().sum() >= k:
            frames.append(cached.iloc[:n])  # at least as many samples and timed samples as asked
        else:
            todo.append((pipe, path))
    if todo:
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with progress_bar("profile", (n + k) * len(todo), progress) as bar:
                for pipe, path in todo:
                    bar.update(0, info=pipe.name)
                    df = measure_pipeline(pipe, data, repeats, timed=k, on_sample=lambda m: bar.update(0, advance=m),
                                          idle_gap_ms=idle_gap_ms)
                    write_table(df, path, base_meta(dataset, repeats, threads) | {"timed_samples": k, "idle_gap_ms": idle_gap_ms})
                    frames.append(df)
        finally:
            torch.set_num_threads(old)
    order = {p.name: i for i, p in enumerate(pipes)}
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["pipeline", "sample"], key=lambda c: c.map(order) if c.name == "pipeline" else c, kind="stable")
    table = table.reset_index(drop=True)
    timed_min = int(table.groupby("pipeline")["mobile_ms"].count().min())
    table.attrs["sc2sim"] = base_meta(dataset, repeats, threads) | {"samples": n, "timed_samples": timed_min,
                                                                    "idle_gap_ms": idle_gap_ms,
                                                                    "data_fingerprint": data.fingerprint()}
    return apply_published(table)


def summarize_profile(table: pd.DataFrame) -> pd.DataFrame:
    """One row per pipeline: accuracy, mean/p95 bytes, mean stage times (ms), FLOPs."""
    g = table.groupby("pipeline", sort=False)
    return pd.DataFrame({
        "samples": g.size(),
        "timed_samples": g["mobile_ms"].count(),
        "accuracy": g["correct"].mean(),
        "mean_bytes": g["payload_bytes"].mean(),
        "p95_bytes": g["payload_bytes"].quantile(0.95),
        "mean_payload_only_bytes": g["payload_only_bytes"].mean(),
        "mobile_ms": g["mobile_ms"].mean(),
        "edge_ms": g["edge_ms"].mean(),
        "mobile_encode_ms": g["mobile_encode_ms"].mean(),
        "edge_decode_ms": g["edge_decode_ms"].mean(),
        "mobile_mflops": g["mobile_flops"].first() / 1e6,
        "edge_mflops": g["edge_flops"].first() / 1e6,
    })


def print_profile_summary(table: pd.DataFrame, console: Console | None = None) -> None:
    """Print the per-pipeline summary as a rich table (with how times were measured)."""
    summary = summarize_profile(table)
    meta: dict[str, Any] = table.attrs.get("sc2sim", {})
    t = Table(title=f"profile: {meta.get('dataset', '?')}, {int(summary['samples'].max())} samples, "
                    f"{int(summary['timed_samples'].max())} timed, "
                    f"host {meta.get('host', '?')}, {meta.get('threads', '?')} thread(s), median of {meta.get('repeats', '?')}")
    for col in ("pipeline", "accuracy %", "mean B", "payload-only B", "p95 B", "mobile ms", "edge ms", "mobile MFLOPs", "edge MFLOPs"):
        t.add_column(col, justify="left" if col == "pipeline" else "right")
    for name, r in summary.iterrows():
        t.add_row(str(name), f"{r.accuracy * 100:.2f}", f"{r.mean_bytes:.1f}", f"{r.mean_payload_only_bytes:.1f}", f"{r.p95_bytes:.0f}", f"{r.mobile_ms:.3f}",
                  f"{r.edge_ms:.3f}", f"{r.mobile_mflops:.2f}", f"{r.edge_mflops:.2f}")
    (console or ui_console()).print(t)
