"""Where two profiles' disagreement comes from: the timing protocol or the host -> benchmarks/profile_noise.json.

Run: ``.venv/bin/python benchmarks/bench_profile_noise.py [--processes 2] [--winners N] [--out benchmarks/profile_noise.json]``
(about 2-3 minutes per process on 2 shared cores).

Each of ``--processes`` fresh processes, one after the other, loads the default scenario's pipelines
**twice** (copy A, then the model cache is cleared and copy B is loaded: other tensors, other memory)
and times all of them in one run of the real protocol (:func:`sc2sim.profiling.measure.timing_rounds`,
default :class:`~sc2sim.profiling.timing.Protocol`, the scenario's ``timing_samples``), with each
pipeline's two copies next to each other in every round. Then:

- **A vs B in one process**: two independent loads measured at the same moments. Their difference
  is the protocol's own noise (estimator, samples, memory placement) at a fixed speed of the host.
- **process 1 vs process 2**, copy by copy: the reproducibility of ``bench_compute_model.py`` part 4
  (two cold profiles back to back), which adds whatever the host's speed did between them.

Where the first is small and the second large, no estimator inside a profile can close the gap: the
host ran at another speed for the whole of one profile.

**Does it change the answer?** (``--winners N``, another N x 1 minute) N more fresh processes each run
the default scenario from a cold profile cache (``sc2sim.run``, as ``make run`` does) and the winner of
every sweep point is compared between them, with its latency at the rule's statistic, by the
scenario's rule and by a latency-first one (the fastest pipeline at p95); and the close-call check
(``sc2sim run --close-margin``) is run on each profile at several margins, to see whether it marks
the points whose winner changed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("mobile_ms", "edge_ms")


def child(out: Path) -> None:
    """One process: both copies timed together; writes their stage medians (ms) and what the protocol did."""
    from sc2sim.data import load_dataset
    from sc2sim.models import bundle
    from sc2sim.pipelines import build_pipeline
    from sc2sim.profiling.measure import timing_rounds
    from sc2sim.profiling.timing import Protocol, host_load, pinned_threads

    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    names, k = doc["pipelines"], int(doc["timing_samples"])
    first = [build_pipeline(n) for n in names]
    bundle._load_cached.cache_clear()  # copy B gets its own weights in its own memory
    second = [build_pipeline(n) for n in names]
    pipes = [p for pair in zip(first, second) for p in pair]
    images = load_dataset("fashion-mnist", "test").images[:k]
    load = host_load()
    with pinned_threads(1):
        timed, info = timing_rounds(pipes, images, Protocol())
    medians = [[float(np.median(t[:, 0] + t[:, 1])), float(np.median(t[:, 2] + t[:, 3]))] for t, _, _ in timed]
    doc = {"pipelines": names, "copy_a": medians[0::2], "copy_b": medians[1::2], "load_before": load,
           "load_after": host_load(), "rounds": info["rounds"], "probe_ms": info["probe_ms"], "samples": k}
    out.write_text(json.dumps(doc))


MARGINS = (0.1, 0.2, 0.3, 0.4, 0.5)
"""Margins of the close-call check (``sc2sim run --close-margin``) recorded for every cold profile."""


def winners_child(out: Path) -> None:
    """One process: the default scenario from an empty profile cache; writes each point's winner and its
    latency (ms) by two rules, and the points the close-call check marks at each of :data:`MARGINS`."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        os.environ["SC2SIM_CACHE"] = cache
        from sc2sim.api import run, scenario_profile
        from sc2sim.runs.decision import Objective
        from sc2sim.scenario import load_scenario

        sc = load_scenario(ROOT / "scenarios" / "default.yaml")
        table, _ = scenario_profile(sc, None, progress=False)
        res = run(sc, profile=table)
        close = {str(m): sorted(b.loc[b["close"], "point"]) for m in MARGINS
                 for b in [run(sc, profile=table, close_margin=m).best()]}
    doc = {"close": close}
    for name, objective in (("scenario", None), ("latency_first", Objective(kind="latency", latency="p95"))):
        best = res.best(objective)
        doc[name] = {"points": best["point"].tolist(), "best": best["best"].tolist(),
                     "latency_ms": best["latency_ms"].round(3).tolist()}
    out.write_text(json.dumps(doc))


def compare_winners(a: dict, b: dict) -> dict:
    """Points whose winner differs between two runs, and the winners' latency differences where it does not."""
    same = [i for i, (x, y) in enumerate(zip(a["best"], b["best"])) if x == y]
    lat = np.array([abs(b["latency_ms"][i] / a["latency_ms"][i] - 1) for i in same])
    return {"points": len(a["best"]), "same_winner": len(same),
            "changed": [{"point": a["points"][i], "first": a["best"][i], "second": b["best"][i]}
                        for i in range(len(a["best"])) if i not in same],
            "winner_latency_diff_median": round(float(np.median(lat)), 4) if lat.size else None,
            "winner_latency_diff_max": round(float(lat.max()), 4) if lat.size else None}


def diffs(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    """|b - a| / min(a, b) per stage, flattened."""
    x, y = np.asarray(a), np.asarray(b)
    return (np.abs(y - x) / np.minimum(x, y)).ravel()


def summary(d: np.ndarray) -> dict:
    """Within-5 % count, median and largest difference."""
    return {"within_5pct": int((d <= 0.05).sum()), "stages": int(d.size), "median": round(float(np.median(d)), 4),
            "max": round(float(d.max()), 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=2, help="fresh processes, one after the other (default 2; 0 with "
                                                             "--winners: part 2 only, part 1 kept from --out)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "profile_noise.json")
    ap.add_argument("--winners", type=int, default=0, metavar="N", help="also run the default scenario N >= 2 times "
                                                                          "from cold caches and compare each point's winner "
                                                                          "and close calls (default 0: skip)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--winners-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child or args.winners_child:
        child(args.child) if args.child else winners_child(args.winners_child)
        return 0
    if args.processes == 0:  # part 2 only: part 1 stays as the file has it
        old = json.loads(args.out.read_text())
        old["winners"] = _winners([_in_process("--winners-child", args.out, i) for i in range(max(2, args.winners))])
        _write(old, args.out)
        _print_winners(old["winners"])
        return 0
    runs = [_in_process("--child", args.out, i) for i in range(args.processes)]
    winners = [_in_process("--winners-child", args.out, i) for i in range(max(2, args.winners))] if args.winners else []
    within = [summary(diffs(r["copy_a"], r["copy_b"])) for r in runs]
    across = [{"pair": [i + 1, j + 1], "copy": c, **summary(diffs(runs[i][f"copy_{c}"], runs[j][f"copy_{c}"]))}
              for i in range(len(runs)) for j in range(i + 1, len(runs)) for c in "ab"]
    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
           "threads": 1, "processes": len(runs),
           "within_process": within, "across_processes": across, "runs": runs}
    if winners:
        doc["winners"] = _winners(winners)
    _write(doc, args.out)
    for i, w in enumerate(within, 1):
        print(f"process {i}, copy A vs copy B: {w['within_5pct']}/{w['stages']} within 5 %, median {100 * w['median']:.1f} %, "
              f"largest {100 * w['max']:.1f} %")
    for a in across:
        print(f"process {a['pair'][0]} vs {a['pair'][1]}, copy {a['copy'].upper()}: {a['within_5pct']}/{a['stages']} within 5 %, "
              f"median {100 * a['median']:.1f} %, largest {100 * a['max']:.1f} %")
    if winners:
        _print_winners(doc["winners"])
    return 0


def _winners(runs: list[dict]) -> dict:
    """Part 2: per objective, the first two runs compared and the points whose winner differs between
    any two runs; per close-call margin, the points marked in each run and how many runs marked each
    point that changed."""
    doc: dict = {"runs": runs}
    for name in ("scenario", "latency_first"):
        c = compare_winners(runs[0][name], runs[1][name])
        c["changed_in_any_pair"] = sorted({p for i, a in enumerate(runs) for b in runs[i + 1:]
                                           for p, x, y in zip(a[name]["points"], a[name]["best"], b[name]["best"]) if x != y})
        doc[name] = c
    changed = doc["scenario"]["changed_in_any_pair"]
    doc["close_calls"] = {m: {"marked_per_run": [len(r["close"][m]) for r in runs],
                              "points_ever_marked": sorted({p for r in runs for p in r["close"][m]}),
                              "changed_points_marked_in_runs": {p: sum(p in r["close"][m] for r in runs) for p in changed}}
                          for m in runs[0]["close"]}
    return doc


def _print_winners(w: dict) -> None:
    for name in ("scenario", "latency_first"):
        c = w[name]
        print(f"default scenario, first two cold profiles, {name} objective: the same winner at {c['same_winner']} of "
              f"{c['points']} points (its latency {100 * (c['winner_latency_diff_median'] or 0):.1f} % apart at the "
              f"median, {100 * (c['winner_latency_diff_max'] or 0):.1f} % at most); changed between any two of the "
              f"{len(w['runs'])} runs: {c['changed_in_any_pair'] or 'none'}")
    for m, c in w["close_calls"].items():
        print(f"close calls at margin {m}: marked per run {c['marked_per_run']}, points {c['points_ever_marked'] or 'none'}; "
              f"changed points marked in {c['changed_points_marked_in_runs'] or '-'} of {len(w['runs'])} runs")


def _write(doc: dict, out: Path) -> None:
    """Write ``doc`` to ``out`` atomically."""
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(out)


def _in_process(flag: str, out: Path, i: int) -> dict:
    """Run this script with ``flag`` in a fresh process; its JSON output, with the wall time."""
    tmp = out.with_suffix(f".part{i}.json")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, __file__, flag, str(tmp)], check=True)
    doc = json.loads(tmp.read_text()) | {"wall_s": round(time.perf_counter() - t0, 1)}
    tmp.unlink()
    print(f"{flag[2:]} process {i + 1}: {doc['wall_s']} s", file=sys.stderr)
    return doc


if __name__ == "__main__":
    raise SystemExit(main())
