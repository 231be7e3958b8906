"""Does the order of runs within a timing round change how well two cold profiles agree? -> benchmarks/timing_order.json

Run: ``.venv/bin/python benchmarks/bench_timing_order.py [--modes pipe,block10,rot5,sample] [--pairs 3] [--rounds 12]``
(about 40 s per process on 2 shared cores; modes x pairs x 2 processes).

Each process loads the default scenario's pipelines, warms up as the protocol does
(:mod:`sc2sim.profiling.timing`), and records **every** batch-1 run of ``--rounds`` rounds (no
estimator), with the runs of a round in one of these orders:

- ``pipe``: all timed samples of one pipeline, then the next (the protocol's order);
- ``blockN``: blocks of N samples, every pipeline's block in turn, each block after one untimed run
  that re-warms the caches for that pipeline;
- ``rotN``: blocks of N, their boundaries shifted by one sample every round (no extra runs);
- ``sample``: sample after sample, every pipeline in turn (each run follows another pipeline's).

Processes run in fresh interpreters, alternating modes (``pipe, block10, ..., pipe, block10, ...``)
so that the host's drift lands on every mode alike. Then, per mode, every pair of processes is
compared with the protocol's estimator (per-sample minimum over the first R rounds, stage median) at
R = 6 and ``--rounds``: stages within 5 %, median and largest difference; and the stage levels
(median over processes), which say whether an order measures something else.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def round_order(mode: str, pipes: int, k: int, r: int) -> list[tuple[int, int, bool]]:
    """The (pipeline, sample, timed) runs of round ``r`` in ``mode`` (module docstring)."""
    if mode == "pipe":
        return [(p, i, True) for p in range(pipes) for i in range(k)]
    if mode == "sample":
        return [(p, i, True) for i in range(k) for p in range(pipes)]
    if mode.startswith("block"):
        b = int(mode[5:])
        return [(p, i, j >= 0) for s in range(0, k, b) for p in range(pipes)
                for j, i in enumerate([max(s - 1, 0), *range(s, min(s + b, k))], -1)]
    if mode.startswith("rot"):
        b = int(mode[3:])
        starts = [0, *range(r % b or b, k, b)]
        ends = [*starts[1:], k]
        return [(p, i, True) for s, e in zip(starts, ends) for p in range(pipes) for i in range(s, e)]
    raise ValueError(f"mode {mode!r} — allowed: pipe, sample, blockN, rotN")


def child(mode: str, rounds: int, out: Path) -> None:
    """One process: every run's four stage times (ms) of ``rounds`` rounds in ``mode``, saved as .npy."""
    from sc2sim.data import load_dataset
    from sc2sim.pipelines import build_pipeline
    from sc2sim.profiling.measure import _time_sample, _Timed  # the protocol's own run of one sample
    from sc2sim.profiling.timing import Protocol, pinned_threads

    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    k = int(doc["timing_samples"])
    pipes = [build_pipeline(n) for n in doc["pipelines"]]
    images = load_dataset("fashion-mnist", "test").images[:k]
    proto, clock = Protocol(), time.thread_time_ns
    with pinned_threads(1):
        state = [_Timed(p, np.full((k, 4), np.inf), [None] * k, np.zeros(k, np.int64), np.zeros(k, np.int64)) for p in pipes]
        start = time.perf_counter()
        while time.perf_counter() - start < proto.warmup_s:
            for t in state:
                for i in range(min(k, proto.warmup_samples)):
                    _time_sample(t, i, images[i], clock)
        times = np.full((rounds, len(pipes), k, 4), np.nan)
        for r in range(rounds):
            for p, i, timed in round_order(mode, len(pipes), k, r):
                got = _time_sample(state[p], i, images[i], clock)
                if timed:
                    times[r, p, i] = got
    np.save(out, times)


def stage_medians(times: np.ndarray, rounds: int) -> np.ndarray:
    """The protocol's estimator on the first ``rounds`` rounds: (pipelines, 2) stage medians in ms."""
    best = times[:rounds].min(axis=0)
    return np.median(np.stack([best[..., 0] + best[..., 1], best[..., 2] + best[..., 3]], axis=-1), axis=1)


def agreement(a: np.ndarray, b: np.ndarray) -> dict:
    """Stages within 5 %, median and largest relative difference of two estimates."""
    d = (np.abs(b - a) / np.minimum(a, b)).ravel()
    return {"within_5pct": int((d <= 0.05).sum()), "median": float(np.median(d)), "max": float(d.max())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="pipe,block10,rot5,sample", help="orders to compare, comma-separated")
    ap.add_argument("--pairs", type=int, default=3, help="processes per mode = 2 x this (default 3)")
    ap.add_argument("--rounds", type=int, default=12, help="rounds recorded per process (default 12)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "timing_order.json")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), Path(args.child[2]))
        return 0
    modes = args.modes.split(",")
    for m in modes:
        round_order(m, 1, 1, 0)  # a bad mode fails before any timing
    runs: dict[str, list[np.ndarray]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for j in range(2 * args.pairs):
            for m in modes:
                path = Path(tmp) / f"{m}_{j}.npy"
                t0 = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--child", m, str(args.rounds), str(path)], check=True)
                runs[m].append(np.load(path))
                print(f"{m} process {j + 1}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    doc: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rounds": args.rounds, "modes": {}}
    for m, ts in runs.items():
        row: dict = {"processes": len(ts), "level_ms": np.median([stage_medians(t, args.rounds) for t in ts], axis=0).tolist()}
        for r in sorted({min(6, args.rounds), args.rounds}):
            pairs = [agreement(stage_medians(a, r), stage_medians(b, r)) for a, b in itertools.combinations(ts, 2)]
            row[f"rounds_{r}"] = {key: float(np.mean([p[key] for p in pairs])) for key in ("within_5pct", "median", "max")}
        doc["modes"][m] = row
        print(m, {k: v for k, v in row.items() if k.startswith("rounds_")})
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(doc, indent=1))
    tmp_out.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
