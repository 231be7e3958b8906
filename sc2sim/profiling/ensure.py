"""``ensure_profile``: the profile table for some pipelines and samples, measuring only what is not cached."""

from __future__ import annotations

import json
import sys
import uuid

import pandas as pd

from sc2sim.data import load_dataset
from sc2sim.pipelines import build_pipeline
from sc2sim.profiling.architecture import apply_published
from sc2sim.profiling.fast_state import gate_note
from sc2sim.profiling.measure import COUNT_COLUMNS, measure_pipelines
from sc2sim.profiling.table import base_meta, cache_dir, cache_key, read_profile
from sc2sim.profiling.timing import (MIN_ROUNDS, NOW, Protocol, busy_note, drift_note, host_load, mixed_runs_note,
                                     pinned_threads)
from sc2sim.tables import write_table
from sc2sim.ui import progress_bar


def ensure_profile(pipelines: list[str], samples: int | None, dataset: str = "fashion-mnist", data_dir: str | None = None,
                   repeats: int = MIN_ROUNDS, threads: int = 1, progress: bool = True, use_cache: bool = True,
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
        complete = cached is not None and set(COUNT_COLUMNS) <= set(cached.columns)  # older entries lack the counts
        if complete and len(cached) >= n and cached["mobile_ms"].iloc[:n].notna().sum() >= k:
            frames.append(cached.iloc[:n])  # at least as many samples and timed samples as asked
        else:
            todo.append((pipe, path))
    timing: dict[str, dict] = {}
    for frame in frames:
        timing[str(frame["pipeline"].iloc[0])] = dict(frame.attrs.get("sc2sim", {}).get("timing", {}), cached=True)
    load_before = load_after = None
    if todo:
        protocol = Protocol(threads=threads, rounds=repeats, max_rounds=max(repeats, Protocol.max_rounds))
        run = uuid.uuid4().hex[:12]  # the pipelines timed together share it (mixed_runs_note)
        load_before = host_load()
        with pinned_threads(threads), progress_bar("profile", (n + k) * len(todo), progress) as bar:
            bar.update(0, info=", ".join(p.name for p, _ in todo))
            dfs = measure_pipelines([p for p, _ in todo], data, timed=k, protocol=protocol,
                                    on_sample=lambda m: bar.update(0, advance=m), idle_gap_ms=idle_gap_ms)
        for (pipe, path), df in zip(todo, dfs):
            timing[pipe.name] = dict(df.attrs.pop("timing"), load_before=load_before, load_after=host_load(), run=run)
            write_table(df, path, base_meta(dataset, repeats, threads) | {"timed_samples": k, "idle_gap_ms": idle_gap_ms,
                                                                           "timing": timing[pipe.name]})
            frames.append(df)
        load_after = host_load()
        info = timing[todo[0][0].name]
        for note in (busy_note(load_before, load_after), gate_note(info.get("gate", {})), drift_note(info.get("probe_ms", []))):
            if note:
                print(f"sc2sim: {note}", file=sys.stderr)
    runs = {name: info.get("run") if info.get("cached") else NOW for name, info in timing.items()}
    note = mixed_runs_note(runs) if k else None  # nothing timed, nothing to compare
    if note:
        print(f"sc2sim: {note}", file=sys.stderr)
    order = {p.name: i for i, p in enumerate(pipes)}
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["pipeline", "sample"], key=lambda c: c.map(order) if c.name == "pipeline" else c, kind="stable")
    table = table.reset_index(drop=True)
    timed_min = int(table.groupby("pipeline")["mobile_ms"].count().min())
    table.attrs["sc2sim"] = base_meta(dataset, repeats, threads) | {"samples": n, "timed_samples": timed_min,
                                                                    "idle_gap_ms": idle_gap_ms,
                                                                    "data_fingerprint": data.fingerprint(),
                                                                    "timing": timing, "load_before": load_before,
                                                                    "load_after": load_after}
    return apply_published(table)
